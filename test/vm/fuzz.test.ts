// Whatever the bytes: decoding either succeeds or throws a TsbpfError, and running
// ends in exit or a fault within the budget, never a host exception or a hang.
// TSBPF_FUZZ_RUNS scales the number of cases (default 2000).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { TsbpfError } from "../../src/errors/index.js";
import { decodeAt, decodeProgram, decodeRaw, encodeProgram, OPCODES, type RawInsn } from "../../src/isa/index.js";
import { AddressSpace, Machine, helperTable } from "../../src/vm/index.js";

const RUNS = Number(process.env.TSBPF_FUZZ_RUNS ?? 2000);
const space = new AddressSpace();
const helpers = helperTable([{ id: 1, name: "id", fn: (a) => a }]);

test("decoder: random bytes decode or raise a TsbpfError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        decodeProgram(bytes);
      } catch (e) {
        assert.ok(e instanceof TsbpfError, String(e));
      }
    }),
    { numRuns: RUNS },
  );
});

test("decoder: every decodable slot re-encodes to the same bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      let insns;
      try {
        insns = decodeProgram(bytes);
      } catch {
        return;
      }
      assert.deepEqual(encodeProgram(insns), bytes);
    }),
    { numRuns: RUNS * 5 },
  );
});

// Random slots biased towards valid opcodes with small registers and offsets.
const validCodes = OPCODES.flatMap((o, code) => (o === undefined ? [] : [code]));
const slot = fc.record({
  code: fc.oneof(fc.constantFrom(...validCodes), fc.integer({ min: 0, max: 255 })),
  dst: fc.integer({ min: 0, max: 10 }),
  src: fc.integer({ min: 0, max: 10 }),
  off: fc.oneof(fc.integer({ min: -8, max: 8 }), fc.integer({ min: -512, max: 512 }), fc.integer({ min: -32768, max: 32767 })),
  imm: fc.oneof(fc.integer({ min: -4, max: 64 }), fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.constantFrom(0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 16, 32, 64)),
});

function decodable(raw: RawInsn[]): RawInsn[] {
  const out: RawInsn[] = [];
  for (let pc = 0; pc < raw.length; pc++) {
    try {
      const insn = decodeAt(raw, pc);
      out.push(raw[pc]!);
      if (insn.kind === "ld_imm64") out.push(raw[++pc]!);
    } catch {
      // dropped
    }
  }
  return out;
}

test("interpreter: random instruction streams end in exit or fault within the budget", () => {
  fc.assert(
    fc.property(fc.array(slot, { minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 64 }), (slots, mem) => {
      const raw = decodable(slots);
      if (raw.length === 0) return;
      const insns = decodeProgram(raw);
      const m = new Machine(insns, space, { budget: 5000, helpers });
      const region = space.mapBytes(mem.length > 0 ? mem : new Uint8Array(1), { name: "mem", kind: "mem" });
      try {
        m.reset({ r1: BigInt(region.start), r2: BigInt(mem.length) });
        const res = m.run();
        assert.ok(res.status === "exit" || res.status === "fault");
        assert.ok(res.executed <= 5000);
      } finally {
        space.unmap(region);
        m.close();
      }
    }),
    { numRuns: RUNS },
  );
});

test("decodeRaw rejects a length that is not a multiple of 8 with the slot index", () => {
  assert.throws(() => decodeRaw(new Uint8Array(12)), (e: unknown) => e instanceof TsbpfError && /insn 1: program length 12/.test(e.message));
});
