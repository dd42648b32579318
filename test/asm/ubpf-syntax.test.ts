import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assemble, detectSyntax } from "../../src/asm/index.js";
import { asmFails, bytesOf } from "./helpers.js";

const U = (text: string): string => bytesOf(text, "ubpf");

describe("ubpf syntax: instructions (FORMAT.md (b))", () => {
  const cases: Array<[string, string]> = [
    // The verified examples of FORMAT.md.
    ["ldxw %r0, [%r1+2]", "61 10 02 00 00 00 00 00"],
    ["stxdw [%r10-8], %r3", "7b 3a f8 ff 00 00 00 00"],
    ["jeq %r1, 0x11, +1", "15 01 01 00 11 00 00 00"],
    // ALU, both classes, both sources.
    ["mov %r0, 1", "b7 00 00 00 01 00 00 00"],
    ["mov32 %r0, 0xffffffff", "b4 00 00 00 ff ff ff ff"],
    ["mov %r0, 0x80000000", "b7 00 00 00 00 00 00 80"],
    ["mov %r0, -2147483648", "b7 00 00 00 00 00 00 80"],
    ["add %r1, %r2", "0f 21 00 00 00 00 00 00"],
    ["add64 %r1, %r2", "0f 21 00 00 00 00 00 00"],
    ["sub32 %r1, 3", "14 01 00 00 03 00 00 00"],
    ["mul %r1, -1", "27 01 00 00 ff ff ff ff"],
    ["div32 %r1, %r2", "3c 21 00 00 00 00 00 00"],
    ["sdiv %r1, %r2", "3f 21 01 00 00 00 00 00"],
    ["sdiv32 %r1, 3", "34 01 01 00 03 00 00 00"],
    ["or %r1, 1", "47 01 00 00 01 00 00 00"],
    ["and32 %r1, %r9", "5c 91 00 00 00 00 00 00"],
    ["lsh %r1, 63", "67 01 00 00 3f 00 00 00"],
    ["rsh32 %r1, %r2", "7c 21 00 00 00 00 00 00"],
    ["neg %r3", "87 03 00 00 00 00 00 00"],
    ["neg32 %r3", "84 03 00 00 00 00 00 00"],
    ["mod %r1, %r2", "9f 21 00 00 00 00 00 00"],
    ["smod %r1, %r2", "9f 21 01 00 00 00 00 00"],
    ["smod32 %r1, -3", "94 01 01 00 fd ff ff ff"],
    ["xor %r1, %r2", "af 21 00 00 00 00 00 00"],
    ["arsh32 %r1, 1", "c4 01 00 00 01 00 00 00"],
    ["movsx864 %r1, %r2", "bf 21 08 00 00 00 00 00"],
    ["movsx1664 %r1, %r2", "bf 21 10 00 00 00 00 00"],
    ["movsx3264 %r1, %r2", "bf 21 20 00 00 00 00 00"],
    ["movsx832 %r1, %r2", "bc 21 08 00 00 00 00 00"],
    ["movsx1632 %r1, %r2", "bc 21 10 00 00 00 00 00"],
    ["le16 %r1", "d4 01 00 00 10 00 00 00"],
    ["be64 %r1", "dc 01 00 00 40 00 00 00"],
    ["swap32 %r1", "d7 01 00 00 20 00 00 00"],
    ["bswap16 %r1", "d7 01 00 00 10 00 00 00"],
    // Memory.
    ["ldxb %r0, [%r1]", "71 10 00 00 00 00 00 00"],
    ["ldxh %r0, [%r1+0x2]", "69 10 02 00 00 00 00 00"],
    ["ldxdw %r0, [%r10-32768]", "79 a0 00 80 00 00 00 00"],
    ["ldxsb %r0, [%r1+1]", "91 10 01 00 00 00 00 00"],
    ["ldxsh %r0, [%r1+1]", "89 10 01 00 00 00 00 00"],
    ["ldxsw %r0, [%r1+1]", "81 10 01 00 00 00 00 00"],
    ["stb [%r10-1], 0xff", "72 0a ff ff ff 00 00 00"],
    ["sth [%r10-2], -1", "6a 0a fe ff ff ff ff ff"],
    ["stw [%r1+4], 5", "62 01 04 00 05 00 00 00"],
    ["stdw [%r1], 0x7fffffff", "7a 01 00 00 ff ff ff 7f"],
    ["stxb [%r1 + 2], %r3", "73 31 02 00 00 00 00 00"],
    ["stxw [%r1+2], %r3", "63 31 02 00 00 00 00 00"],
    ["lddw %r0, 0x1122334455667788", "18 00 00 00 88 77 66 55 | 00 00 00 00 44 33 22 11"],
    ["lddw %r0, 0xFFFFFFFFFFFFFFFF", "18 00 00 00 ff ff ff ff | 00 00 00 00 ff ff ff ff"],
    ["lddw %r0, -2", "18 00 00 00 fe ff ff ff | 00 00 00 00 ff ff ff ff"],
    ["lddw %r0, 2147483648", "18 00 00 00 00 00 00 80 | 00 00 00 00 00 00 00 00"],
    ["lddw %r0, 18446744073709551615", "18 00 00 00 ff ff ff ff | 00 00 00 00 ff ff ff ff"],
    ["lddw %r1, map_fd(3)", "18 11 00 00 03 00 00 00 | 00 00 00 00 00 00 00 00"],
    ["lddw %r1, map_value(3, 8)", "18 21 00 00 03 00 00 00 | 00 00 00 00 08 00 00 00"],
    ["lddw %r1, map[id:3][0]+8", "18 21 00 00 03 00 00 00 | 00 00 00 00 08 00 00 00"],
    ["ldabsb 12", "30 00 00 00 0c 00 00 00"],
    ["ldindw %r1, 4", "40 10 00 00 04 00 00 00"],
    // Atomics.
    ["lock add [%r10-8], %r1", "db 1a f8 ff 00 00 00 00"],
    ["lock add32 [%r10-4], %r1", "c3 1a fc ff 00 00 00 00"],
    ["lock fetch add [%r10-8], %r1", "db 1a f8 ff 01 00 00 00"],
    ["lock or [%r10-8], %r1", "db 1a f8 ff 40 00 00 00"],
    ["lock fetch and32 [%r10-4], %r3", "c3 3a fc ff 51 00 00 00"],
    ["lock xor [%r10-8], %r1", "db 1a f8 ff a0 00 00 00"],
    ["lock xchg [%r10-8], %r1", "db 1a f8 ff e1 00 00 00"],
    ["lock xchg32 [%r10-8], %r1", "c3 1a f8 ff e1 00 00 00"],
    ["lock cmpxchg [%r10-8], %r1", "db 1a f8 ff f1 00 00 00"],
    ["lock cmpxchg32 [%r10-8], %r1", "c3 1a f8 ff f1 00 00 00"],
    // Jumps and calls.
    ["jne %r1, %r2, -1", "5d 21 ff ff 00 00 00 00"],
    ["jset32 %r1, 0x80000000, +0", "46 01 00 00 00 00 00 80"],
    ["jsle32 %r1, %r2, +32767", "de 21 ff 7f 00 00 00 00"],
    ["jlt %r1, 1, +1", "a5 01 01 00 01 00 00 00"],
    ["ja +3", "05 00 03 00 00 00 00 00"],
    ["ja32 -1", "06 00 00 00 ff ff ff ff"],
    ["call 5", "85 00 00 00 05 00 00 00"],
    ["call helper 5", "85 00 00 00 05 00 00 00"],
    ["call local +2", "85 10 00 00 02 00 00 00"],
    ["call runtime 7", "85 20 00 00 07 00 00 00"],
    ["call runtime 7, 3", "85 20 03 00 07 00 00 00"],
    ["call %r2", "8d 02 00 00 00 00 00 00"],
    ["call helper %r2", "8d 02 00 00 00 00 00 00"],
    ["exit", "95 00 00 00 00 00 00 00"],
    // Lexing: no comma, trailing comma, comment.
    ["mov %r0 1", "b7 00 00 00 01 00 00 00"],
    ["mov %r0, 1 # one", "b7 00 00 00 01 00 00 00"],
  ];
  for (const [text, want] of cases) it(text, () => assert.equal(U(text), want));
});

describe("ubpf syntax: labels", () => {
  it("the first exit is labelled `exit`", () => {
    assert.equal(U("jeq %r1, 0, exit\nmov %r0, 1\nexit\nexit"), "15 01 01 00 00 00 00 00 | b7 00 00 00 01 00 00 00 | 95 00 00 00 00 00 00 00 | 95 00 00 00 00 00 00 00");
  });
  it("an explicit exit label wins", () => {
    assert.equal(U("ja exit\nexit\nexit:\nexit"), "05 00 01 00 00 00 00 00 | 95 00 00 00 00 00 00 00 | 95 00 00 00 00 00 00 00");
  });
  it("labels count lddw as two slots and fix up call local and ja32 in imm", () => {
    assert.equal(
      U("lddw %r0, 1\ncall local func1\nja32 done\nfunc1:\nmov %r0, 2\nexit\ndone:\nexit"),
      "18 00 00 00 01 00 00 00 | 00 00 00 00 00 00 00 00 | 85 10 00 00 01 00 00 00 | 06 00 00 00 02 00 00 00 | b7 00 00 00 02 00 00 00 | 95 00 00 00 00 00 00 00 | 95 00 00 00 00 00 00 00",
    );
  });
  it("a label may share a line with an instruction", () => {
    assert.equal(U("L1: mov %r0, 0\nja L1"), "b7 00 00 00 00 00 00 00 | 05 00 fe ff 00 00 00 00");
  });
});

describe("ubpf syntax: errors", () => {
  it("bare number as jump target is a label name", () => void asmFails("ja 5", "ubpf", 1, 4, /unknown label "5"|jump target/));
  it("decimal immediate above 2^31-1", () => void asmFails("mov %r0, 4294967295", "ubpf", 1, 10, /signed 32-bit/));
  it("hex immediate above 0xffffffff", () => void asmFails("mov %r0, 0x100000000", "ubpf", 1, 10, /at most 0xffffffff/));
  it("register out of range", () => void asmFails("mov %r11, 1", "ubpf", 1, 5, /%r11 does not exist/));
  it("not a register", () => void asmFails("mov r1, 1", "ubpf", 1, 5, /expected a register/));
  it("operand count", () => void asmFails("add %r1", "ubpf", 1, 8, /expected 2 operands/));
  it("too many operands", () => void asmFails("exit %r0", "ubpf", 1, 6, /expected 0 operands/));
  it("unknown mnemonic", () => void asmFails("mov %r0, 1\nfrob %r1", "ubpf", 2, 1, /unknown mnemonic "frob"/));
  it("bad memory operand", () => void asmFails("ldxw %r0, [r1+2]", "ubpf", 1, 11, /memory operand/));
  it("offset out of range", () => void asmFails("ldxw %r0, [%r1+40000]", "ubpf", 1, 11, /does not fit in 16 bits/));
  it("unknown label", () => void asmFails("jeq %r0, 0, nowhere\nexit", "ubpf", 1, 13, /unknown label "nowhere"/));
  it("duplicate label", () => void asmFails("a:\na:\nexit", "ubpf", 2, 1, /already defined/));
  it("lock without operation", () => void asmFails("lock [%r1], %r2", "ubpf", 1, 6, /atomic operation/));
  it("movsx3232", () => void asmFails("movsx3232 %r1, %r2", "ubpf", 1, 1, /does not exist/));
  it("unclosed bracket", () => void asmFails("ldxw %r0, [%r1+2", "ubpf", 1, 17, /unclosed/));
});

describe("detectSyntax", () => {
  it("recognises both syntaxes", () => {
    assert.equal(detectSyntax("mov %r0, 1\nexit"), "ubpf");
    assert.equal(detectSyntax("# c\nlddw r0, 1"), "ubpf");
    assert.equal(detectSyntax("L1:\n  jeq r1, 0, +1"), "ubpf");
    assert.equal(detectSyntax("r0 = 1\nexit"), "llvm");
    assert.equal(detectSyntax("exit"), "llvm");
    assert.equal(detectSyntax("call 1\nexit"), "llvm");
    assert.equal(detectSyntax("  0:\tb7 00 00 00 01 00 00 00\tr0 = 1"), "llvm");
  });
  it("auto assembles either", () => {
    assert.deepEqual(assemble("mov %r0, 1\nexit"), assemble("r0 = 1\nexit"));
  });
});
