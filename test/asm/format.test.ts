import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assemble, disassemble, formatLlvm, formatUbpf, formatXlated } from "../../src/asm/index.js";
import { decodeProgram, encodeProgram, type Insn } from "../../src/isa/index.js";
import { decodeLlvm14 } from "../../src/asm/llvm14.js";
import { everyInstruction } from "./corpus.js";
import { hex } from "./helpers.js";

/** The single instruction the kernel-syntax text assembles to. */
const one = (text: string): Insn => {
  const p = assemble(text, { syntax: "llvm" });
  assert.equal(p.length, 1);
  return p[0]!;
};

describe("formatLlvm", () => {
  // Texts checked against llvm-objdump 14 (and the LLVM 17+ spellings for v4).
  const same = [
    "r0 = 1", "w1 += w2", "r1 = -r1", "w1 = -w1", "r0 s>>= 3", "r4 &= 65311", "w0 = w1", "r1 = -2147483648",
    "if r2 > r6 goto +68", "if w1 > 5 goto +1", "if w1 s< w2 goto -2", "if r1 == -1 goto +0", "goto -32768",
    "r1 = *(u32 *)(r10 - 4)", "r1 = *(u64 *)(r10 - 8)", "*(u64 *)(r10 - 8) = r1", "*(u8 *)(r1 + 32767) = r2",
    "lock *(u64 *)(r0 + 0) += r1", "lock *(u32 *)(r1 + 0) += w2", "lock *(u64 *)(r1 + 8) ^= r2",
    "r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)", "w3 = atomic_fetch_or((u32 *)(r1 - 4), w3)",
    "r0 = xchg_64(r1 + 0, r0)", "w0 = xchg32_32(r1 + 0, w0)", "r0 = cmpxchg_64(r1 + 0, r0, r2)", "w0 = cmpxchg32_32(r1 + 0, w0, w2)",
    "call 1", "exit", "r1 = 0 ll", "r1 = -1 ll", "r1 = 1234605616436508552 ll", "r0 = *(u8 *)skb[12]", "r0 = *(u16 *)skb[r1]",
    "r1 = be16 r1", "r1 = le64 r1",
    // LLVM 17+ spellings of what LLVM 14 does not know.
    "w0 = (s8)w1", "r0 = (s16)r1", "r0 = (s32)r1", "r0 = *(s8 *)(r1 + 0)", "r0 s/= r1", "r0 s%= 3", "r1 %= r2",
    "r1 = bswap16 r1", "gotol +5", "callx r1", "*(u32 *)(r1 + 0) = 5", "if r1 & r2 goto +1", "if w1 & 3 goto +1",
    // tsbpf spellings where LLVM's text is ambiguous.
    "call local +3", "call local -1", "call kfunc 7", "call kfunc 7, 2", "r0 = *(u32 *)skb[r1 + 4]", "ld_pseudo\tr1, 1, 3", "ld_pseudo\tr1, 2, 3, 8",
  ];
  for (const text of same) it(JSON.stringify(text), () => assert.equal(formatLlvm(one(text)), text));

  it("normalises other spellings", () => {
    assert.equal(formatLlvm(one("if r1 > 0x10 goto +3")), "if r1 > 16 goto +3");
    assert.equal(formatLlvm(one("r1 = 0xffffffff")), "r1 = -1");
    assert.equal(formatLlvm(one("r1 = map_fd(3) ll")), "ld_pseudo\tr1, 1, 3");
    assert.equal(formatLlvm(one("r1 = map[id:3][0]+8")), "ld_pseudo\tr1, 2, 3, 8");
    assert.equal(formatLlvm(one("r1 = map_fd(-3)")), "ld_pseudo\tr1, 1, 4294967293");
    assert.equal(formatLlvm(one("call pc+3")), "call local +3");
    assert.equal(formatLlvm(one("lock *(u32 *)(r1 + 0) += r2")), "lock *(u32 *)(r1 + 0) += w2");
  });
  it("alu32 uses w registers for narrow loads and stores", () => {
    assert.equal(formatLlvm(one("r1 = *(u32 *)(r2 + 0)"), { alu32: true }), "w1 = *(u32 *)(r2 + 0)");
    assert.equal(formatLlvm(one("*(u8 *)(r1 - 4) = r2"), { alu32: true }), "*(u8 *)(r1 - 4) = w2");
    assert.equal(formatLlvm(one("r1 = *(u64 *)(r2 + 0)"), { alu32: true }), "r1 = *(u64 *)(r2 + 0)");
  });
  it("llvm14 mode reproduces llvm-objdump 14's lossy and unknown texts", () => {
    const v14 = (t: string): string => formatLlvm(one(t), { llvm14: true });
    assert.equal(v14("r1 s/= r2"), "r1 /= r2");
    assert.equal(v14("r1 = (s8)r2"), "r1 = r2");
    assert.equal(v14("r1 %= r2"), "<unknown>");
    assert.equal(v14("call local +3"), "call 3");
    assert.equal(v14("callx r5"), "callx r0");
    assert.equal(v14("r0 = *(u8 *)skb[r1 + 4]"), "r0 = *(u8 *)skb[r1]");
    assert.equal(v14("ld_pseudo r1, 2, 3, 8"), "ld_pseudo\tr1, 2, 3");
    assert.equal(v14("w1 = atomic_fetch_add((u32 *)(r0 + 0), w1)"), "lock *(u32 *)(r0 + 0) += r1");
    assert.equal(formatLlvm(one("w1 = atomic_fetch_add((u32 *)(r0 + 0), w1)"), { llvm14: true, alu32: true }), "w1 = atomic_fetch_add((u32 *)(r0 + 0), w1)");
    assert.equal(v14("lock *(u32 *)(r0 + 0) |= w1"), "<unknown>");
    for (const t of ["gotol +1", "r1 = bswap32 r1", "if r1 & 1 goto +0", "*(u8 *)(r1 + 0) = 1", "r1 = *(s32 *)(r1 + 0)"]) assert.equal(v14(t), "<unknown>");
  });
});

describe("formatUbpf", () => {
  const same = [
    "mov %r0, 1", "mov32 %r1, -1", "add %r1, %r2", "neg32 %r3", "sdiv %r1, %r2", "smod32 %r1, 3", "movsx864 %r1, %r2",
    "movsx1632 %r1, %r2", "le16 %r1", "be64 %r1", "bswap32 %r1", "ldxw %r0, [%r1+2]", "ldxsb %r0, [%r10-1]", "ldxdw %r0, [%r1]",
    "stw [%r1+2], 5", "stxdw [%r10-8], %r3", "lddw %r0, 0x1122334455667788", "lddw %r1, map_fd(3)", "lddw %r1, map_value(3, 8)",
    "lddw %r1, btf_id(7)", "lddw %r1, btf_id(7, 2)", "lddw %r1, func(-3)", "lddw %r1, map_idx(0)", "lddw %r1, map_idx_value(1, 0)",
    "lock add [%r10-8], %r1", "lock fetch xor32 [%r10-4], %r3", "lock xchg [%r1], %r2", "lock cmpxchg32 [%r1+4], %r2",
    "jeq %r1, 17, +1", "jset32 %r1, %r2, -3", "ja +3", "ja32 -70000", "call 5", "call local +2", "call runtime 7", "call runtime 7, -1", "call %r2",
    "exit", "ldabsh 12", "ldindw %r1, -4",
  ];
  for (const text of same) {
    it(text, () => {
      const p = assemble(text, { syntax: "ubpf" });
      assert.equal(formatUbpf(p[0]!), text);
    });
  }
});

describe("formatXlated (kernel/bpf/disasm.c)", () => {
  const cases: Array<[string, string]> = [
    ["r0 = 0", "(b7) r0 = 0"],
    ["r1 = *(u32 *)(r1 + 0)", "(61) r1 = *(u32 *)(r1 +0)"],
    ["*(u64 *)(r10 - 8) = r1", "(7b) *(u64 *)(r10 -8) = r1"],
    ["*(u32 *)(r10 - 8) = -1", "(62) *(u32 *)(r10 -8) = -1"],
    ["if r1 > 0x10 goto +3", "(25) if r1 > 0x10 goto pc+3"],
    ["if w1 s< -1 goto -2", "(c6) if w1 s< 0xffffffff goto pc-2"],
    ["if r1 & r2 goto +0", "(4d) if r1 & r2 goto pc+0"],
    ["goto -1", "(05) goto pc-1"],
    ["gotol +70000", "(06) gotol pc+70000"],
    ["w1 += w2", "(0c) w1 += w2"],
    ["w1 = -w1", "(84) w1 = -w1"],
    ["r1 s/= -3", "(37) r1 s/= -3"],
    ["r1 s%= r2", "(9f) r1 s%= r2"],
    ["r1 = (s16)r2", "(bf) r1 = (s16)r2"],
    ["w1 = (s8)w2", "(bc) w1 = (s8)w2"],
    ["r1 = be16 r1", "(dc) r1 = be16 r1"],
    ["r1 = le32 r1", "(d4) r1 = le32 r1"],
    ["r1 = bswap64 r1", "(d7) r1 = bswap64 r1"],
    ["r0 = *(s8 *)(r1 + 2)", "(91) r0 = *(s8 *)(r1 +2)"],
    ["r0 = *(u8 *)skb[12]", "(30) r0 = *(u8 *)skb[12]"],
    ["r0 = *(u16 *)skb[r2 + 4]", "(48) r0 = *(u16 *)skb[r2 + 4]"],
    ["lock *(u32 *)(r1 + 0) += w2", "(c3) lock *(u32 *)(r1 +0) += r2"],
    ["lock *(u64 *)(r1 - 8) |= r2", "(db) lock *(u64 *)(r1 -8) |= r2"],
    ["r2 = atomic_fetch_and((u64 *)(r1 + 0), r2)", "(db) r2 = atomic64_fetch_and((u64 *)(r1 +0), r2)"],
    ["w2 = atomic_fetch_xor((u32 *)(r1 + 0), w2)", "(c3) r2 = atomic_fetch_xor((u32 *)(r1 +0), r2)"],
    ["r2 = xchg_64(r1 + 0, r2)", "(db) r2 = atomic64_xchg((u64 *)(r1 +0), r2)"],
    ["w0 = cmpxchg32_32(r1 + 0, w0, w2)", "(c3) r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r2)"],
    ["call 1", "(85) call unknown#1"],
    ["call local +3", "(85) call pc+3"],
    ["call kfunc 9", "(85) call kernel-function#9"],
    ["exit", "(95) exit"],
    ["r1 = 0x1122334455667788 ll", "(18) r1 = 0x1122334455667788"],
    ["r1 = -1 ll", "(18) r1 = 0xffffffffffffffff"],
    ["r1 = map[id:5]", "(18) r1 = map[id:5]"],
    ["r1 = map[id:5][0]+8", "(18) r1 = map[id:5][0]+8"],
    ["r1 = map[idx:2]+4", "(18) r1 = map[idx:2]+4"],
    ["r1 = func(-4)", "(18) r1 = subprog[-4]"],
    ["r1 = map_idx(2)", "(18) r1 = 0x2"],
    ["r1 = btf_id(7, 1)", "(18) r1 = 0x100000007"],
  ];
  for (const [asm, want] of cases) it(want, () => assert.equal(formatXlated(one(asm)), want));

  it("resolves helper and kfunc names when given", () => {
    const names: Record<number, string> = { 1: "bpf_map_lookup_elem" };
    assert.equal(formatXlated(one("call 1"), { helperName: (id) => names[id] }), "(85) call bpf_map_lookup_elem#1");
    assert.equal(formatXlated(one("call 2"), { helperName: (id) => names[id] }), "(85) call unknown#2");
    assert.equal(formatXlated(one("call kfunc 9"), { kfuncName: () => "bpf_obj_new_impl" }), "(85) call bpf_obj_new_impl#9");
  });
  it("prints raw ld_imm64 values in kernel mode", () => {
    assert.equal(formatXlated(one("r1 = map[id:5]"), { imm: "kernel" }), "(18) r1 = 0x5");
  });
});

describe("disassemble", () => {
  const prog = encodeProgram(assemble("r0 = 1\nr1 = 2 ll\nif r0 > r1 goto -3\nexit", { syntax: "llvm" }));
  it("llvm style", () => {
    assert.deepEqual(disassemble(prog), ["r0 = 1", "r1 = 2 ll", "if r0 > r1 goto -3", "exit"]);
    assert.deepEqual(disassemble(prog, { listing: true }), [
      "       0:\tb7 00 00 00 01 00 00 00\tr0 = 1",
      "       1:\t18 01 00 00 02 00 00 00 00 00 00 00 00 00 00 00\tr1 = 2 ll",
      "       3:\t2d 10 fd ff 00 00 00 00\tif r0 > r1 goto -3",
      "       4:\t95 00 00 00 00 00 00 00\texit",
    ]);
  });
  it("xlated style", () => {
    assert.deepEqual(disassemble(prog, { style: "xlated" }), ["0: (b7) r0 = 1", "1: (18) r1 = 0x2", "3: (2d) if r0 > r1 goto pc-3", "4: (95) exit"]);
    assert.deepEqual(disassemble(prog, { style: "xlated", indexFormat: "bpftool" })[3], "   4: (95) exit");
  });
  it("ubpf style", () => {
    assert.deepEqual(disassemble(prog, { style: "ubpf" }), ["mov %r0, 1", "lddw %r1, 0x2", "jgt %r0, %r1, -3", "exit"]);
  });
  it("takes Insn[] too", () => {
    assert.deepEqual(disassemble(decodeProgram(prog), { style: "ubpf" }), disassemble(prog, { style: "ubpf" }));
  });
  it("marks bytes that do not decode, or throws with strict", () => {
    const bad = Uint8Array.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0, 0x18, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(disassemble(bad), ["<unknown>", "exit", "<unknown>"]);
    assert.deepEqual(disassemble(bad, { style: "xlated" })[0], "0: (ff) <unknown>");
    assert.throws(() => disassemble(bad, { strict: true }), /unknown opcode ff/);
  });
  it("reads big-endian bytes", () => {
    const be = encodeProgram(assemble("r1 = r2\nexit", { syntax: "llvm" }), "big");
    assert.deepEqual(disassemble(be, { byteOrder: "big" }), ["r1 = r2", "exit"]);
  });
});

describe("formatLlvm llvm14 mode agrees with the raw LLVM 14 decoder", () => {
  it("for every opcode variant, with and without alu32", () => {
    for (const insn of everyInstruction()) {
      const bytes = encodeProgram([{ ...insn, pc: 0 }]);
      for (const alu32 of [false, true]) {
        assert.equal(formatLlvm(insn, { llvm14: true, alu32 }), decodeLlvm14(bytes, "little", alu32).text, formatLlvm(insn));
      }
    }
  });
});

describe("every opcode round-trips through both syntaxes", () => {
  const prog = everyInstruction();
  const bytes = hex(encodeProgram(prog));
  it(`llvm (${prog.length} instructions)`, () => {
    for (const alu32 of [false, true]) {
      const text = prog.map((i) => formatLlvm(i, { alu32 })).join("\n");
      assert.equal(hex(encodeProgram(assemble(text, { syntax: "llvm" }))), bytes);
    }
  });
  it("ubpf", () => {
    assert.equal(hex(encodeProgram(assemble(prog.map(formatUbpf).join("\n"), { syntax: "ubpf" }))), bytes);
  });
  it("each instruction alone", () => {
    for (const insn of prog) {
      const want = hex(encodeProgram([{ ...insn, pc: 0 }]));
      assert.equal(hex(encodeProgram(assemble(formatLlvm(insn), { syntax: "llvm" }))), want, formatLlvm(insn));
      assert.equal(hex(encodeProgram(assemble(formatUbpf(insn), { syntax: "ubpf" }))), want, formatUbpf(insn));
    }
  });
});
