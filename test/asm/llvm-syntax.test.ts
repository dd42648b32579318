import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AsmErrorList, assemble } from "../../src/asm/index.js";
import { parseElf, sectionByName } from "../../src/elf/index.js";
import { encodeProgram } from "../../src/isa/index.js";
import { asmFails, bytesOf, hex } from "./helpers.js";

const L = (text: string): string => bytesOf(text, "llvm");

describe("llvm syntax: instructions", () => {
  const cases: Array<[string, string]> = [
    ["r0 = 1", "b7 00 00 00 01 00 00 00"],
    ["w1 += w2", "0c 21 00 00 00 00 00 00"],
    ["r1 = -r1", "87 01 00 00 00 00 00 00"],
    ["w1 = -w1", "84 01 00 00 00 00 00 00"],
    ["r0 s>>= 3", "c7 00 00 00 03 00 00 00"],
    ["w3 s>>= w4", "cc 43 00 00 00 00 00 00"],
    ["r4 &= 65311", "57 04 00 00 1f ff 00 00"],
    ["r1 <<= 3", "67 01 00 00 03 00 00 00"],
    ["r1 >>= r2", "7f 21 00 00 00 00 00 00"],
    ["r1 ^= -1", "a7 01 00 00 ff ff ff ff"],
    ["r1 |= 0x7fffffff", "47 01 00 00 ff ff ff 7f"],
    ["r1 *= 0xffffffff", "27 01 00 00 ff ff ff ff"],
    ["r1 -= -2147483648", "17 01 00 00 00 00 00 80"],
    ["r1 /= 3", "37 01 00 00 03 00 00 00"],
    ["r1 %= r2", "9f 21 00 00 00 00 00 00"],
    ["r1 s/= r2", "3f 21 01 00 00 00 00 00"],
    ["w1 s%= 3", "94 01 01 00 03 00 00 00"],
    ["r0 = (s8)r1", "bf 10 08 00 00 00 00 00"],
    ["r0 = (s16)r1", "bf 10 10 00 00 00 00 00"],
    ["r0 = (s32)r1", "bf 10 20 00 00 00 00 00"],
    ["w0 = (s8)w1", "bc 10 08 00 00 00 00 00"],
    ["w0 = w1", "bc 10 00 00 00 00 00 00"],
    ["r10 = r0", "bf 0a 00 00 00 00 00 00"],
    ["w1 = -1", "b4 01 00 00 ff ff ff ff"],
    ["r1 = be16 r1", "dc 01 00 00 10 00 00 00"],
    ["r1 = le32 r1", "d4 01 00 00 20 00 00 00"],
    ["r1 = le64 r1", "d4 01 00 00 40 00 00 00"],
    ["r1 = bswap16 r1", "d7 01 00 00 10 00 00 00"],
    ["r1 = bswap64 r1", "d7 01 00 00 40 00 00 00"],
    ["r1 = *(u32 *)(r10 - 4)", "61 a1 fc ff 00 00 00 00"],
    ["r2 = *(u64 *)(r1 - 32768)", "79 12 00 80 00 00 00 00"],
    ["r2 = *(u8 *)(r1 + 32767)", "71 12 ff 7f 00 00 00 00"],
    ["w2 = *(u16 *)(r1 + 0x10)", "69 12 10 00 00 00 00 00"],
    ["r0 = *(s8 *)(r1 + 0)", "91 10 00 00 00 00 00 00"],
    ["r0 = *(s16 *)(r1 + 2)", "89 10 02 00 00 00 00 00"],
    ["r0 = *(s32 *)(r1)", "81 10 00 00 00 00 00 00"],
    ["*(u64 *)(r10 - 8) = r1", "7b 1a f8 ff 00 00 00 00"],
    ["*(u32 *)(r1 + 0) = w2", "63 21 00 00 00 00 00 00"],
    ["*(u32 *)(r1 + 0) = 5", "62 01 00 00 05 00 00 00"],
    ["*(u64 *)(r1 + 0) = -5", "7a 01 00 00 fb ff ff ff"],
    ["*(u8 *)(r10 - 1) = 255", "72 0a ff ff ff 00 00 00"],
    ["lock *(u64 *)(r0 + 0) += r1", "db 10 00 00 00 00 00 00"],
    ["lock *(u64 *)(r0 + 8) |= r1", "db 10 08 00 40 00 00 00"],
    ["lock *(u64 *)(r0 - 8) &= r1", "db 10 f8 ff 50 00 00 00"],
    ["lock *(u64 *)(r0 + 0) ^= r1", "db 10 00 00 a0 00 00 00"],
    ["lock *(u32 *)(r1 + 0) += w2", "c3 21 00 00 00 00 00 00"],
    ["lock *(u32 *)(r1 + 0) += r2", "c3 21 00 00 00 00 00 00"],
    ["r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)", "db 01 00 00 01 00 00 00"],
    ["w0 = atomic_fetch_add((u32 *)(r1 + 0), w0)", "c3 01 00 00 01 00 00 00"],
    ["r3 = atomic_fetch_or((u64 *)(r1 - 8), r3)", "db 31 f8 ff 41 00 00 00"],
    ["r3 = atomic_fetch_and((u64 *)(r1 + 0), r3)", "db 31 00 00 51 00 00 00"],
    ["w3 = atomic_fetch_xor((u32 *)(r1 + 0), w3)", "c3 31 00 00 a1 00 00 00"],
    ["r3 = atomic64_fetch_xor((u64 *)(r1 +0), r3)", "db 31 00 00 a1 00 00 00"],
    ["r0 = xchg_64(r1 + 0, r0)", "db 01 00 00 e1 00 00 00"],
    ["w0 = xchg32_32(r1 + 0, w0)", "c3 01 00 00 e1 00 00 00"],
    ["r0 = cmpxchg_64(r1 + 0, r0, r2)", "db 21 00 00 f1 00 00 00"],
    ["w0 = cmpxchg32_32(r1 + 0, w0, w2)", "c3 21 00 00 f1 00 00 00"],
    ["r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)", "db 21 00 00 f1 00 00 00"],
    ["r2 = atomic_xchg((u32 *)(r1 -4), r2)", "c3 21 fc ff e1 00 00 00"],
    ["if r1 > 0x10 goto +3", "25 01 03 00 10 00 00 00"],
    ["if w1 s< w2 goto -2", "ce 21 fe ff 00 00 00 00"],
    ["if r1 & r2 goto +1", "4d 21 01 00 00 00 00 00"],
    ["if w1 & 3 goto +1", "46 01 01 00 03 00 00 00"],
    ["if r1 == -1 goto +0", "15 01 00 00 ff ff ff ff"],
    ["if r1 != r2 goto pc+5", "5d 21 05 00 00 00 00 00"],
    ["if r1 s>= 7 goto -32768", "75 01 00 80 07 00 00 00"],
    ["if r1 <= r2 goto +32767", "bd 21 ff 7f 00 00 00 00"],
    ["if r1 >= 1 goto +1", "35 01 01 00 01 00 00 00"],
    ["if r1 < 1 goto +1", "a5 01 01 00 01 00 00 00"],
    ["if r1 s> 1 goto +1", "65 01 01 00 01 00 00 00"],
    ["if r1 s<= 1 goto +1", "d5 01 01 00 01 00 00 00"],
    ["goto +3", "05 00 03 00 00 00 00 00"],
    ["goto 3", "05 00 03 00 00 00 00 00"],
    ["goto -1", "05 00 ff ff 00 00 00 00"],
    ["gotol +5", "06 00 00 00 05 00 00 00"],
    ["gotol -70000", "06 00 00 00 90 ee fe ff"],
    ["call 1", "85 00 00 00 01 00 00 00"],
    ["call -1", "85 00 00 00 ff ff ff ff"],
    ["call local +3", "85 10 00 00 03 00 00 00"],
    ["call pc-2", "85 10 00 00 fe ff ff ff"],
    ["call kfunc 7", "85 20 00 00 07 00 00 00"],
    ["call kfunc 7, 2", "85 20 02 00 07 00 00 00"],
    ["callx r1", "8d 01 00 00 00 00 00 00"],
    ["call r5", "8d 05 00 00 00 00 00 00"],
    ["exit", "95 00 00 00 00 00 00 00"],
    ["r0 = *(u8 *)skb[12]", "30 00 00 00 0c 00 00 00"],
    ["r0 = *(u32 *)skb[-12]", "20 00 00 00 f4 ff ff ff"],
    ["r0 = *(u16 *)skb[r1]", "48 10 00 00 00 00 00 00"],
    ["r0 = *(u32 *)skb[r1 + 4]", "40 10 00 00 04 00 00 00"],
    ["r0 = *(u8 *)skb[r7 - 4]", "50 70 00 00 fc ff ff ff"],
    ["r1 = 0x1122334455667788 ll", "18 01 00 00 88 77 66 55 | 00 00 00 00 44 33 22 11"],
    ["r1 = -1 ll", "18 01 00 00 ff ff ff ff | 00 00 00 00 ff ff ff ff"],
    ["r1 = 18446744073709551615 ll", "18 01 00 00 ff ff ff ff | 00 00 00 00 ff ff ff ff"],
    ["r1 = -9223372036854775808 ll", "18 01 00 00 00 00 00 00 | 00 00 00 00 00 00 00 80"],
    ["r1 = 0 ll", "18 01 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00"],
  ];
  for (const [text, want] of cases) {
    it(text, () => assert.equal(L(text), want));
  }
});

describe("llvm syntax: ld_imm64 pseudo forms", () => {
  const cases: Array<[string, string]> = [
    ["r1 = map_fd(3) ll", "18 11 00 00 03 00 00 00 | 00 00 00 00 00 00 00 00"],
    ["r1 = map_fd(3)", "18 11 00 00 03 00 00 00 | 00 00 00 00 00 00 00 00"],
    ["r1 = map[id:3]", "18 11 00 00 03 00 00 00 | 00 00 00 00 00 00 00 00"],
    ["r1 = map[fd:3] ll", "18 11 00 00 03 00 00 00 | 00 00 00 00 00 00 00 00"],
    ["r1 = map_value(3, 8) ll", "18 21 00 00 03 00 00 00 | 00 00 00 00 08 00 00 00"],
    ["r1 = map[id:3][0]+8", "18 21 00 00 03 00 00 00 | 00 00 00 00 08 00 00 00"],
    ["r2 = btf_id(77)", "18 32 00 00 4d 00 00 00 | 00 00 00 00 00 00 00 00"],
    ["r2 = btf_id(77, 5)", "18 32 00 00 4d 00 00 00 | 00 00 00 00 05 00 00 00"],
    ["r2 = func(+3)", "18 42 00 00 03 00 00 00 | 00 00 00 00 00 00 00 00"],
    ["r2 = subprog[-2]", "18 42 00 00 fe ff ff ff | 00 00 00 00 00 00 00 00"],
    ["r3 = map_idx(0)", "18 53 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00"],
    ["r3 = map[idx:1]", "18 53 00 00 01 00 00 00 | 00 00 00 00 00 00 00 00"],
    ["r3 = map_idx_value(1, 16)", "18 63 00 00 01 00 00 00 | 00 00 00 00 10 00 00 00"],
    ["r3 = map[idx:1]+16", "18 63 00 00 01 00 00 00 | 00 00 00 00 10 00 00 00"],
    ["ld_pseudo r1, 1, 3", "18 11 00 00 03 00 00 00 | 00 00 00 00 00 00 00 00"],
    ["ld_pseudo\tr1, 2, 4294967293, 8", "18 21 00 00 fd ff ff ff | 00 00 00 00 08 00 00 00"],
  ];
  for (const [text, want] of cases) it(text, () => assert.equal(L(text), want));

  it("func() and subprog[] take labels", () => {
    assert.equal(L("r1 = func(f)\nexit\nf:\nexit"), "18 41 00 00 02 00 00 00 | 00 00 00 00 00 00 00 00 | 95 00 00 00 00 00 00 00 | 95 00 00 00 00 00 00 00");
    assert.equal(L("f: r0 = 0\nr1 = subprog[f]"), "b7 00 00 00 00 00 00 00 | 18 41 00 00 fe ff ff ff | 00 00 00 00 00 00 00 00");
  });
});

describe("llvm syntax: labels, comments, objdump listings", () => {
  it("resolves labels backwards and forwards, counting ld_imm64 as two slots", () => {
    const text = "loop:\n  r1 = 0 ll\n  if r1 == 0 goto out\n  goto loop\nout: exit";
    assert.equal(L(text), "18 01 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00 | 15 01 01 00 00 00 00 00 | 05 00 fc ff 00 00 00 00 | 95 00 00 00 00 00 00 00");
  });
  it("resolves call local and gotol labels", () => {
    assert.equal(L("call local f\nexit\nf: gotol f"), "85 10 00 00 01 00 00 00 | 95 00 00 00 00 00 00 00 | 06 00 00 00 ff ff ff ff");
  });
  it("accepts ; # // comments and blank lines", () => {
    assert.equal(L("; header\nr0 = 1 # one\n\n// two\nexit ; done"), "b7 00 00 00 01 00 00 00 | 95 00 00 00 00 00 00 00");
  });
  it("reassembles llvm-objdump lines (index, bytes, <LBB> annotations, headers)", () => {
    const listing = [
      "",
      "flow_count.o:\tfile format elf64-bpf",
      "",
      "Disassembly of section xdp:",
      "",
      "0000000000000000 <flow_count>:",
      "       0:\t61 16 04 00 00 00 00 00\tr6 = *(u32 *)(r1 + 4)",
      "       7:\t2d 62 44 00 00 00 00 00\tif r2 > r6 goto +68 <LBB0_18>",
      "      50:\t18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00\tr1 = 0 ll",
      "      57:\t05 00 0b 00 00 00 00 00\tgoto +11 <LBB0_14>",
      "0000000000000260 <LBB0_18>:",
      "      76:\t95 00 00 00 00 00 00 00\texit",
    ].join("\n");
    assert.equal(
      L(listing),
      "61 16 04 00 00 00 00 00 | 2d 62 44 00 00 00 00 00 | 18 01 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00 | 05 00 0b 00 00 00 00 00 | 95 00 00 00 00 00 00 00",
    );
  });
  it("accepts CRLF line ends and several labels on one line", () => {
    assert.equal(L("a: b:\r\nexit\r\ngoto a"), "95 00 00 00 00 00 00 00 | 05 00 fe ff 00 00 00 00");
  });
  it("returns no instructions for an empty program", () => {
    assert.deepEqual(assemble("", { syntax: "llvm" }), []);
    assert.deepEqual(assemble("  ; nothing\n\n", { syntax: "llvm" }), []);
  });
  it("assigns pc per slot", () => {
    assert.deepEqual(assemble("r1 = 1 ll\nexit", { syntax: "llvm" }).map((i) => i.pc), [0, 2]);
  });
});

describe("llvm syntax: errors name line, column and what was expected", () => {
  it("unknown instruction", () => void asmFails("r0 = 1\nfoo r1", "llvm", 2, 1, /unknown instruction "foo"/));
  it("bad operator", () => void asmFails("r0 ? 1", "llvm", 1, 4, /unexpected character "\?"/));
  it("register out of range", () => void asmFails("r11 = 1", "llvm", 1, 1, /register r11 does not exist/));
  it("mixed widths", () => void asmFails("w1 += r2", "llvm", 1, 7, /differ in width/));
  it("immediate out of range", () => void asmFails("r1 = 4294967296", "llvm", 1, 6, /does not fit in 32 bits; write "r1 = 4294967296 ll"/));
  it("immediate out of range in an ALU op", () => void asmFails("w1 += -2147483649", "llvm", 1, 7, /does not fit in 32 bits/));
  it("offset out of range", () => void asmFails("r1 = *(u8 *)(r2 + 32768)", "llvm", 1, 19, /does not fit in 16 bits/));
  it("missing goto", () => void asmFails("if r1 > 2 jump +1", "llvm", 1, 11, /expected "goto"/));
  it("unknown label", () => void asmFails("goto nowhere\nexit", "llvm", 1, 6, /unknown label "nowhere"/));
  it("duplicate label", () => void asmFails("a: exit\na: exit", "llvm", 2, 1, /already defined on line 1/));
  it("jump too far", () => void asmFails("goto +40000", "llvm", 1, 6, /does not fit in 16 bits/));
  it("trailing garbage", () => void asmFails("exit now", "llvm", 1, 6, /unexpected "now"/));
  it("neg of another register", () => void asmFails("r1 = -r2", "llvm", 1, 7, /expected "r1"/));
  it("64-bit ld_imm64 into w", () => void asmFails("w1 = 1 ll", "llvm", 1, 1, /64-bit register/));
  it("helper by name", () => void asmFails("call bpf_map_lookup_elem", "llvm", 1, 6, /by name/));
  it("<unknown> from objdump", () => void asmFails("  3:\t06 00 00 00 00 00 00 00\t<unknown>", "llvm", 1, 30, /could not decode/));
  it("bad access type", () => void asmFails("r1 = *(u128 *)(r1 + 0)", "llvm", 1, 8, /access type/));
  it("cmpxchg must use r0", () => void asmFails("r1 = cmpxchg_64(r1 + 0, r1, r2)", "llvm", 1, 1, /r0/));
  it("collects one error per line", () => {
    const e = asmFails("r0 = 1\nbad1\nr0 = 2\nbad2 x\n", "llvm", 2, 1, /unknown instruction "bad1"/);
    assert.ok(e instanceof AsmErrorList);
    assert.deepEqual(e.errors.map((x) => [x.line, x.column]), [[2, 1], [4, 1]]);
    assert.match(e.message, /and 1 more error/);
  });
  it("shows the source line and a caret", () => {
    const e = asmFails("  r1 = *(u64 *)(r2 + 0x10000)", "llvm", 1, 22, /offset 65536 does not fit/);
    assert.ok(e.message.endsWith("\n    r1 = *(u64 *)(r2 + 0x10000)\n  " + " ".repeat(21) + "^"), e.message);
  });
});

describe("llvm syntax agrees with llvm-mc", () => {
  // The subset llvm-mc 14 parses (it knows no v4 instructions, no jset, no st imm, no atomic_fetch spelled with parentheses).
  const program = [
    "r0 = 1", "w1 += w2", "r1 = -r1", "w1 = -w1", "r0 s>>= 3", "r1 = *(u32 *)(r10 - 4)", "*(u64 *)(r10 - 8) = r1",
    "lock *(u64 *)(r0 + 0) += r1", "if r1 > 0x10 goto +3", "if w1 s< w2 goto -2", "goto +3", "call 1",
    "r1 = 0x1122334455667788 ll", "exit", "r0 = *(u8 *)skb[12]", "r0 = *(u16 *)skb[r1]", "r1 = be16 r1", "r1 = le32 r1",
    "r4 &= 65311", "if w1 > 5 goto +1", "r2 = *(u64 *)(r1 - 32768)", "r1 = 0xffffffff", "r1 = 2147483648", "w3 = w4",
    "r5 /= r6", "w7 >>= 31", "r8 <<= r9", "r0 = r10", "if r1 s<= -5 goto -1", "lock *(u32 *)(r2 + 4) += w3",
  ].join("\n");
  it("for the common subset", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-mc-"));
    try {
      writeFileSync(join(dir, "p.s"), program + "\n");
      try {
        execFileSync("llvm-mc", ["-triple", "bpfel", "-mattr=+alu32", "-filetype=obj", "p.s", "-o", "p.o"], { cwd: dir, stdio: "ignore" });
      } catch {
        return t.skip("llvm-mc with the BPF target is not installed");
      }
      const elf = parseElf(readFileSync(join(dir, "p.o")));
      const text = sectionByName(elf, ".text")!;
      assert.equal(hex(encodeProgram(assemble(program, { syntax: "llvm" }))), hex(text.data));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
