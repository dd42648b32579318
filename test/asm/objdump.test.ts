import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { assemble, objdump } from "../../src/asm/index.js";
import { ElfError } from "../../src/errors/index.js";
import { parseElf, sectionByName, STB_GLOBAL, STT_FUNC, STT_NOTYPE, STT_OBJECT } from "../../src/elf/index.js";
import { decodeAt, decodeRaw, encodeProgram, rawToBytes, type RawInsn } from "../../src/isa/index.js";
import { buildElf, type BuildSymbol } from "../elf/build-elf.js";
import { EVERY_INSN_OBJECT, GOLDEN_DIR, benchObjects, everyInstructionElf, llvmObjdump14 } from "./corpus.js";
import { hex } from "./helpers.js";

const tool = llvmObjdump14();
const NO_TOOL = "llvm-objdump 14 is not installed";

/** Runs the real llvm-objdump on `elf` written as `name` in a temporary directory. */
function liveObjdump(elf: Uint8Array, name: string, extra: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-objdump-"));
  try {
    writeFileSync(join(dir, name), elf);
    return execFileSync(tool!, ["-d", ...extra, name], { cwd: dir, encoding: "utf8", maxBuffer: 1 << 26 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Compares line by line first, so a failure names the first differing line. */
function sameText(actual: string, expected: string, what: string): void {
  const a = actual.split("\n");
  const e = expected.split("\n");
  for (let i = 0; i < Math.max(a.length, e.length); i++) assert.equal(a[i], e[i], `${what}: line ${i + 1} differs`);
  assert.equal(actual, expected);
}

describe("objdump: bench objects", () => {
  const objs = benchObjects();
  if (objs.length === 0) it.skip("../shared/bench/obj not found (set TSBPF_SHARED)", () => {});
  for (const path of objs) {
    const name = basename(path);
    it(`${name} equals the golden llvm-objdump output`, () => {
      const golden = join(GOLDEN_DIR, "objdump", `${name}.txt`);
      assert.ok(existsSync(golden), `missing golden ${golden}: run scripts/update-golden.ts`);
      sameText(objdump(readFileSync(path), name), readFileSync(golden, "utf8"), name);
    });
    it(`${name} equals live llvm-objdump`, (t) => {
      if (tool === undefined) return t.skip(NO_TOOL);
      const live = execFileSync(tool, ["-d", name], { cwd: dirname(path), encoding: "utf8" });
      sameText(objdump(readFileSync(path), name), live, name);
    });
    it(`${name}: the listing reassembles to the section bytes`, () => {
      const bytes = readFileSync(path);
      const xdp = sectionByName(parseElf(bytes), "xdp")!;
      assert.equal(hex(encodeProgram(assemble(objdump(bytes, name), { syntax: "llvm" }))), hex(xdp.data));
    });
  }
});

describe("objdump: every opcode", () => {
  for (const [golden, alu32] of [["llvm14-every-insn.txt", false], ["llvm14-every-insn-alu32.txt", true]] as const) {
    it(`equals the golden ${golden}`, () => {
      sameText(objdump(everyInstructionElf(), EVERY_INSN_OBJECT, { alu32 }), readFileSync(join(GOLDEN_DIR, golden), "utf8"), golden);
    });
    it(`equals live llvm-objdump${alu32 ? " --mattr=+alu32" : ""}`, (t) => {
      if (tool === undefined) return t.skip(NO_TOOL);
      const elf = everyInstructionElf();
      sameText(objdump(elf, EVERY_INSN_OBJECT, { alu32 }), liveObjdump(elf, EVERY_INSN_OBJECT, alu32 ? ["--mattr=+alu32"] : []), "live");
    });
  }
  it("big-endian objects print the same text with their own bytes", (t) => {
    const be = objdump(everyInstructionElf("big"), EVERY_INSN_OBJECT);
    const le = objdump(everyInstructionElf(), EVERY_INSN_OBJECT);
    const text = (s: string): string[] => s.split("\n").map((l) => l.replace(/\t[0-9a-f ]+\t/, "\t"));
    assert.deepEqual(text(be), text(le));
    assert.notEqual(be, le);
    if (tool === undefined) return t.skip(NO_TOOL);
    sameText(be, liveObjdump(everyInstructionElf("big"), EVERY_INSN_OBJECT), "big-endian");
  });
});

describe("objdump: layout rules", () => {
  const code = encodeProgram(assemble("r0 = 1\nr1 = 2 ll\ngoto -4\nif r1 > 2 goto +1\nexit\ngoto -1", { syntax: "llvm" }));
  const cases: Array<[string, BuildSymbol[]]> = [
    ["no symbols: a dummy named after the section", []],
    ["symbol at 0 plus labels, two at one address", [
      { name: "main", section: "prog", type: STT_FUNC, bind: STB_GLOBAL },
      { name: "LBB0_2", section: "prog", value: 32 },
      { name: "LBB0_1", section: "prog", value: 32 },
    ]],
    ["first symbol not at 0, one inside ld_imm64, one past the end", [
      { name: "late", section: "prog", value: 24 },
      { name: "mid", section: "prog", value: 16 },
      { name: "beyond", section: "prog", value: 1000, type: STT_NOTYPE },
    ]],
    ["a data symbol inside code", [{ name: "table", section: "prog", value: 8, size: 11, type: STT_OBJECT }, { name: "after", section: "prog", value: 19 }]],
  ];
  for (const [what, symbols] of cases) {
    it(what, (t) => {
      const elf = buildElf({ sections: [{ name: "prog", data: code }, { name: ".text", data: new Uint8Array(0) }], symbols });
      const ours = objdump(elf, "t.o");
      assert.match(ours, /^\nt\.o:\tfile format elf64-bpf\n\nDisassembly of section prog:\n/);
      assert.doesNotMatch(ours, /section \.text/);
      if (tool === undefined) return t.skip(NO_TOOL);
      sameText(ours, liveObjdump(elf, "t.o"), what);
    });
  }
  it("skips runs of zero bytes and prints truncated instructions byte by byte", (t) => {
    const r0 = [0xb7, 0, 0, 0, 1, 0, 0, 0];
    const exit = [0x95, 0, 0, 0, 0, 0, 0, 0];
    const data = Uint8Array.from([...r0, ...new Array(13).fill(0), ...exit, 0x18, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const elf = buildElf({ sections: [{ name: "prog", data }] });
    const ours = objdump(elf, "z.o");
    assert.match(ours, /\t\t\.\.\.\n/);
    if (tool === undefined) return t.skip(NO_TOOL);
    sameText(ours, liveObjdump(elf, "z.o"), "zeros");
  });
  it("throws ElfError on a broken object", () => {
    assert.throws(() => objdump(Uint8Array.from([1, 2, 3]), "x.o"), ElfError);
    assert.throws(() => objdump(buildElf({ machine: 62, sections: [{ name: ".text", data: new Uint8Array(8) }] }), "x.o"), /not an eBPF object/);
  });
});

describe("objdump: random bytes against live llvm-objdump", () => {
  /** Random slots biased towards the opcodes and field values LLVM's decoder distinguishes. */
  const randomCode = (seed: number, slots: number): Uint8Array => {
    const out = new Uint8Array(slots * 8);
    const hot = [0x18, 0xdb, 0xc3, 0xbf, 0xbc, 0x3f, 0x97, 0xd4, 0xdc, 0xd7, 0x85, 0x8d, 0x95, 0x05, 0x06, 0x71, 0x61, 0x91, 0x20, 0x40, 0x87];
    fc.sample(
      fc.record({ b: fc.uint8Array({ minLength: 8, maxLength: 8 }), shape: fc.nat(7), hotCode: fc.constantFrom(...hot), useHot: fc.boolean(), imm: fc.constantFrom(0, 1, 16, 32, 64, 0x41, 0xe1, 0xf1, 0xae) }),
      { numRuns: slots, seed },
    ).forEach(({ b, shape, hotCode, useHot, imm }, k) => {
      if (shape < 3) b[2] = b[3] = 0;
      if (shape % 2 === 1) {
        b[4] = imm;
        b[5] = b[6] = b[7] = 0;
      }
      if (shape === 7) b[1]! &= 0x99;
      if (useHot) b[0] = hotCode;
      out.set(b, k * 8);
    });
    return out;
  };
  for (const [order, alu32] of [["little", false], ["little", true], ["big", false]] as const) {
    it(`${order}-endian${alu32 ? ", --mattr=+alu32" : ""}: 6000 random slots`, (t) => {
      if (tool === undefined) return t.skip(NO_TOOL);
      const elf = buildElf({ byteOrder: order, sections: [{ name: "prog", data: randomCode(alu32 ? 11 : order === "big" ? 12 : 10, 6000) }] });
      sameText(objdump(elf, "rand.o", { alu32 }), liveObjdump(elf, "rand.o", alu32 ? ["--mattr=+alu32"] : []), "random bytes");
    });
  }
});

describe("objdump: random programs against live llvm-objdump", () => {
  it("agrees on random valid instructions, symbols and truncated blocks (fast-check)", (t) => {
    if (tool === undefined) return t.skip(NO_TOOL);
    /** A random slot the kernel decoder accepts (ld_imm64 comes with its second slot). */
    const slot = fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: -32768, max: 32767 }), fc.integer(), fc.integer(), fc.nat(5))
      .map(([code, dst, src, off, imm, imm2, pick]): RawInsn[] => {
        const offs = [0, 0, 1, 8, 16, 32];
        const imms = [0, 1, 16, 32, 64, imm];
        const r: RawInsn = { code, dst, src, off: pick < 3 ? offs[pick]! : off, imm: imms[pick]! };
        return code === 0x18 ? [{ ...r, src: src % 7, off: 0 }, { code: 0, dst: 0, src: 0, off: 0, imm: imm2 }] : [r];
      })
      .filter((raw) => {
        try {
          decodeAt(raw, 0);
          return true;
        } catch {
          return false;
        }
      });
    const runs: Array<{ raws: RawInsn[][]; syms: number[] }> = fc.sample(
      fc.record({ raws: fc.array(slot, { minLength: 1, maxLength: 120 }), syms: fc.array(fc.nat(200), { maxLength: 6 }) }),
      { numRuns: 12, seed: 20240611 },
    );
    for (const { raws, syms } of runs) {
      const bytes = rawToBytes(raws.flat());
      const symbols: BuildSymbol[] = syms.map((s, i) => ({ name: `L${i}`, section: "prog", value: (s % (bytes.length / 8)) * 8 }));
      const elf = buildElf({ sections: [{ name: "prog", data: bytes }], symbols });
      sameText(objdump(elf, "r.o"), liveObjdump(elf, "r.o"), "random program");
      // Sanity: the program decodes with the kernel decoder too.
      assert.ok(decodeRaw(bytes).length > 0);
    }
  });
});
