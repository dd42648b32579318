// The opcode table, field checks with the kernel's wording, and the table-driven
// guarantee that the interpreter has a case for every opcode.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DecodeError } from "../../src/errors/index.js";
import { decodeAt, decodeProgram, encodeInsn, OPCODES, rawToBytes, type RawInsn } from "../../src/isa/index.js";
import { AddressSpace, Machine, helperTable } from "../../src/vm/index.js";

const raw = (code: number, dst = 0, src = 0, off = 0, imm = 0): RawInsn => ({ code, dst, src, off, imm });
const decodeErr = (slots: RawInsn[]): string => {
  try {
    decodeProgram(slots);
  } catch (e) {
    assert.ok(e instanceof DecodeError);
    return e.message;
  }
  assert.fail("expected a DecodeError");
};

test("opcode table: counts per class and names", () => {
  const valid = OPCODES.filter((o) => o !== undefined);
  const byKind = new Map<string, number>();
  for (const o of valid) byKind.set(o!.kind, (byKind.get(o!.kind) ?? 0) + 1);
  // ALU: 13 ops x 2 sources - neg|X, for 2 classes = 50; end: le, be (ALU) + bswap (ALU64) = 3
  assert.equal(byKind.get("alu"), 50);
  assert.equal(byKind.get("end"), 3);
  assert.equal(byKind.get("jmp"), 44);
  assert.equal(byKind.get("ldx"), 7);
  assert.equal(byKind.get("atomic"), 2);
  assert.equal(OPCODES[0x07]!.name, "BPF_ALU64|BPF_ADD|BPF_K");
  assert.equal(OPCODES[0xdb]!.name, "BPF_STX|BPF_ATOMIC|BPF_DW");
  assert.equal(OPCODES[0x8d]!.name, "BPF_JMP|BPF_CALL|BPF_X");
  assert.equal(OPCODES[0xdf], undefined); // ALU64|END|TO_BE does not exist
  assert.equal(OPCODES[0x8f], undefined); // NEG|X does not exist
});

test("decode errors use the kernel's wording and name the instruction", () => {
  assert.equal(decodeErr([raw(0x95), raw(0xff)]), "insn 1: unknown opcode ff");
  assert.equal(decodeErr([raw(0x07, 0, 1, 0, 1)]), "insn 0: BPF_ALU uses reserved fields");
  assert.equal(decodeErr([raw(0x0f, 0, 1, 0, 1)]), "insn 0: BPF_ALU uses reserved fields");
  assert.equal(decodeErr([raw(0x2f, 0, 1, 1, 0)]), "insn 0: BPF_ALU uses reserved fields"); // off=1 only for div/mod
  assert.equal(decodeErr([raw(0x87, 0, 0, 0, 1)]), "insn 0: BPF_NEG uses reserved fields");
  assert.equal(decodeErr([raw(0xd4, 0, 0, 0, 8)]), "insn 0: BPF_END uses reserved fields");
  assert.equal(decodeErr([raw(0xbc, 0, 1, 32, 0)]), "insn 0: BPF_MOV uses reserved fields"); // movsx 32 needs ALU64 (check_alu_op says BPF_MOV)
  assert.equal(decodeErr([raw(0x05, 1, 0, 0, 0)]), "insn 0: BPF_JA uses reserved fields");
  assert.equal(decodeErr([raw(0x95, 0, 0, 0, 1)]), "insn 0: BPF_EXIT uses reserved fields");
  assert.equal(decodeErr([raw(0x85, 1, 0, 0, 1)]), "insn 0: BPF_CALL uses reserved fields");
  assert.equal(decodeErr([raw(0x1d, 0, 1, 0, 5)]), "insn 0: BPF_JMP/JMP32 uses reserved fields");
  assert.equal(decodeErr([raw(0x61, 0, 1, 0, 5)]), "insn 0: BPF_LDX uses reserved fields");
  assert.equal(decodeErr([raw(0x62, 0, 1, 0, 5)]), "insn 0: BPF_ST uses reserved fields");
  assert.equal(decodeErr([raw(0x63, 0, 1, 0, 5)]), "insn 0: BPF_STX uses reserved fields");
  assert.equal(decodeErr([raw(0xdb, 0, 1, 0, 0x02)]), "insn 0: BPF_ATOMIC uses invalid atomic opcode 02");
  // A first half in the last slot: the kernel's check_subprogs() runs first and sees no exit there.
  assert.equal(decodeErr([raw(0x18, 0, 0, 0, 1)]), "insn 0: last insn is not an exit or jmp");
  assert.equal(decodeErr([raw(0xb7), raw(0x95), raw(0x18, 0, 0, 0, 1)]), "insn 2: last insn is not an exit or jmp");
  // 8- and 16-bit BPF_ATOMIC exist for load-acquire/store-release only (check_atomic_rmw).
  assert.equal(decodeErr([raw(0xd3, 10, 1, -8, 0)]), "insn 0: invalid atomic operand size");
  assert.equal(decodeErr([raw(0xcb, 10, 1, -8, 0xe1)]), "insn 0: invalid atomic operand size");
  assert.equal(decodeErr([raw(0xd3, 10, 1, -8, 0x100)]), "insn 0: unknown opcode d3");
  assert.equal(decodeErr([raw(0x18, 0, 0, 0, 1), raw(0x07)]), "insn 0: invalid bpf_ld_imm64 insn");
  assert.equal(decodeErr([raw(0x18, 0, 7, 0, 1), raw(0)]), "insn 0: unrecognized bpf_ld_imm64 insn (src_reg 7)");
  assert.equal(decodeErr([raw(0xbf, 11, 1)]), "insn 0: R11 is invalid");
  assert.equal(decodeErr([raw(0x20, 1, 0, 0, 0)]), "insn 0: BPF_LD_[ABS|IND] uses reserved fields");
});

test("v4 variants decode to distinct operations", () => {
  const one = (r: RawInsn) => decodeAt([r, raw(0)], 0);
  assert.deepEqual(one(raw(0x3f, 1, 2, 1)), { kind: "alu", pc: 0, op: "sdiv", alu64: true, dst: 1, src: { kind: "reg", reg: 2 } });
  assert.deepEqual(one(raw(0x94, 1, 0, 1, 3)), { kind: "alu", pc: 0, op: "smod", alu64: false, dst: 1, src: { kind: "imm", imm: 3 } });
  assert.equal((one(raw(0xbf, 1, 2, 16)) as { extWidth?: number }).extWidth, 16);
  assert.deepEqual(one(raw(0xd7, 1, 0, 0, 32)), { kind: "end", pc: 0, order: "bswap", width: 32, dst: 1 });
  assert.deepEqual(one(raw(0x06, 0, 0, 0, -5)), { kind: "ja", pc: 0, off: -5, long: true });
  assert.deepEqual(one(raw(0x91, 1, 2, -3)), { kind: "ldx", pc: 0, size: 1, signed: true, dst: 1, src: 2, off: -3 });
  assert.deepEqual(one(raw(0xc3, 1, 2, 8, 0xf1)), { kind: "atomic", pc: 0, size: 4, op: "cmpxchg", fetch: true, dst: 1, src: 2, off: 8 });
  assert.deepEqual(one(raw(0x85, 0, 1, 0, 7)), { kind: "call", pc: 0, target: "local", imm: 7 });
  assert.deepEqual(one(raw(0x8d, 3)), { kind: "callx", pc: 0, reg: 3 });
});

test("big-endian objects swap the register nibbles", () => {
  const le = rawToBytes([raw(0xbf, 1, 2)], "little");
  const be = rawToBytes([raw(0xbf, 1, 2)], "big");
  assert.equal(le[1], 0x21);
  assert.equal(be[1], 0x12);
  assert.deepEqual(decodeProgram(be, "big"), decodeProgram(le, "little"));
});

test("every opcode in the table runs in the interpreter (no missing case)", () => {
  const space = new AddressSpace();
  const helpers = helperTable([{ id: 1, name: "one", fn: () => 1n }]);
  for (const info of OPCODES) {
    if (info === undefined) continue;
    // Build a valid instance of the opcode that touches only the stack.
    let slots: RawInsn[];
    switch (info.kind) {
      case "alu": slots = [raw(info.code, 1, info.source === "X" ? 2 : 0, 0, info.source === "X" || info.op === "neg" ? 0 : 3)]; break;
      case "end": slots = [raw(info.code, 1, 0, 0, 32)]; break;
      case "jmp": slots = [raw(info.code, 1, info.source === "X" ? 2 : 0, 0, info.source === "X" ? 0 : 1)]; break;
      case "ja": slots = [raw(info.code)]; break;
      case "call": slots = info.source === "X" ? [raw(0xb7, 3, 0, 0, 1), raw(info.code, 3)] : [raw(info.code, 0, 0, 0, 1)]; break;
      case "exit": slots = []; break;
      case "ld_imm64": slots = [raw(info.code, 1, 0, 0, 5), raw(0, 0, 0, 0, 6)]; break;
      case "ld_abs": case "ld_ind": continue; // need a socket-filter context (skb)
      case "ldx": slots = [raw(0xbf, 2, 10), raw(info.code, 1, 2, -8)]; break;
      case "st": slots = [raw(info.code, 10, 0, -8, 7)]; break;
      case "stx": slots = [raw(info.code, 10, 1, -8)]; break;
      case "atomic": slots = [raw(0x7a, 10, 0, -8, 1), raw(info.code, 10, 1, -8, 0x01)]; break;
    }
    const prog: RawInsn[] = [raw(0xb7, 1, 0, 0, 9), raw(0xb7, 2, 0, 0, 4), ...slots, raw(0xb7, 0, 0, 0, 0), raw(0x95)];
    const insns = decodeProgram(prog);
    assert.deepEqual(insns.flatMap(encodeInsn), prog, info.name);
    const m = new Machine(insns, space, { helpers });
    const res = m.run();
    m.close();
    assert.equal(res.status, "exit", `${info.name}: ${res.status === "fault" ? res.fault.message : ""}`);
  }
});
