// Listing corner cases (libpcap 1.10 bpf_image), and the -dd / -ddd parsers.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { TsbpfError } from "../../src/errors/index.js";
import * as C from "../../src/cbpf/constants.js";
import { BPF_JUMP, BPF_STMT, formatC, formatDecimal, formatInsn, formatListing, fromBytes, parseC, parseDecimal, parseProgramText, toBytes } from "../../src/cbpf/index.js";

test("bpf_image corner cases", () => {
  const line = (code: number, k: number, n = 0, jt = 0, jf = 0): string => formatInsn({ code, jt, jf, k: k >>> 0 }, n);
  assert.equal(line(C.BPF_RET | C.BPF_K, 262144), "(000) ret      #262144");
  assert.equal(line(C.BPF_RET | C.BPF_A, 0), "(000) ret      ");
  assert.equal(line(C.BPF_MISC | C.BPF_TAX, 5, 17), "(017) tax      ");
  assert.equal(line(C.BPF_LD | C.BPF_W | C.BPF_ABS, 0xffffffff), "(000) ld       [-1]");
  assert.equal(line(C.BPF_LD | C.BPF_H | C.BPF_ABS, C.SKF_AD_OFF + C.SKF_AD_PROTOCOL), "(000) ldh      [proto]");
  assert.equal(line(C.BPF_LD | C.BPF_B | C.BPF_ABS, C.SKF_AD_OFF + C.SKF_AD_VLAN_TAG_PRESENT), "(000) ldb      [vlanp]");
  assert.equal(line(C.BPF_LD | C.BPF_W | C.BPF_ABS, C.SKF_AD_OFF + 1), "(000) ld       [-4095]");
  assert.equal(line(C.BPF_LD | C.BPF_W | C.BPF_IND, C.SKF_AD_OFF + C.SKF_AD_PROTOCOL), "(000) ld       [x + -4096]");
  assert.equal(line(C.BPF_LD | C.BPF_IMM, 0xffffffff), "(000) ld       #0xffffffff");
  assert.equal(line(C.BPF_LDX | C.BPF_W | C.BPF_LEN, 0), "(000) ldx      #pktlen");
  assert.equal(line(C.BPF_LDX | C.BPF_B | C.BPF_MSH, 14), "(000) ldxb     4*([14]&0xf)");
  assert.equal(line(C.BPF_ALU | C.BPF_AND | C.BPF_K, 0xf0), "(000) and      #0xf0");
  assert.equal(line(C.BPF_ALU | C.BPF_SUB | C.BPF_K, 0xffffffff), "(000) sub      #-1");
  assert.equal(line(C.BPF_JMP | C.BPF_JA, 4, 18), "(018) ja       23");
  assert.equal(line(C.BPF_JMP | C.BPF_JA, -15, 18), "(018) ja       4");
  assert.equal(line(C.BPF_JMP | C.BPF_JSET | C.BPF_X, 0, 1000, 255, 0), "(1000) jset     x                jt 1256\tjf 1001");
  assert.equal(line(0xff, 0), "(000) unimp    0xff");
  assert.equal(line(C.BPF_JMP | 0x50, 1, 3, 1, 2), "(003) unimp    0x55             jt 5\tjf 6"); // a JMP-class code prints jt/jf
  assert.equal(formatListing([]), "");
});

test("-dd and -ddd formats", () => {
  const prog = [BPF_STMT(C.BPF_LD | C.BPF_H | C.BPF_ABS, 12), BPF_JUMP(C.BPF_JMP | C.BPF_JEQ | C.BPF_K, 0x800, 0, 1), BPF_STMT(C.BPF_RET | C.BPF_K, 0xffffffff), BPF_STMT(C.BPF_RET | C.BPF_K, 0)];
  assert.equal(formatC(prog), "{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n{ 0x6, 0, 0, 0xffffffff },\n{ 0x6, 0, 0, 0x00000000 },\n");
  assert.equal(formatDecimal(prog), "4\n40 0 0 12\n21 0 1 2048\n6 0 0 4294967295\n6 0 0 0\n");
  assert.deepEqual(parseC(formatC(prog)), prog);
  assert.deepEqual(parseDecimal(formatDecimal(prog)), prog);
  // iptables' xt_bpf --bytecode form, and the C source form with comments and octal/decimal.
  assert.deepEqual(parseDecimal("4,40 0 0 12,21 0 1 2048,6 0 0 4294967295,6 0 0 0"), prog);
  assert.deepEqual(parseProgramText("4,40 0 0 12,21 0 1 2048,6 0 0 4294967295,6 0 0 0\n"), prog);
  const src = `struct sock_filter code[] = {
  /* load the ethertype */ { 0x28, 0, 0, 12 },
  { 0x15, 0, 01, 0x800 }, // IPv4?
  { 0x6, 0, 0, 0xffffffffU }, { 6, 0, 0, 0 }
};`;
  assert.deepEqual(parseProgramText(src), prog);
});

test("parse errors name the line", () => {
  const bad: [string, RegExp, number][] = [
    ["{ 0x28, 0, 0, 12 },\n{ 0x15, 0, 1 },", /line 2: expected \{ code, jt, jf, k \}/, 2],
    ["{ 0x28, 0, 0, 12 },\n\n{ 0x15, 0, 256, 1 },", /line 3: jf 256 does not fit/, 3],
    ["{ 0x28, zz, 0, 12 }", /line 1: bad jt "zz"/, 1],
    ["{ 0x10000, 0, 0, 0 }", /code 0x10000 does not fit/, 1],
    ["{ 0, 0, 0, 0x100000000 }", /k 0x100000000 does not fit/, 1],
    ["3\n6 0 0 0\n6 0 0 0", /count says 3 instructions, but 2 follow/, 3],
    ["2\n6 0 0\n6 0 0 0", /line 2: expected "code jt jf k"/, 2],
    ["1 2\n6 0 0 0", /first number must be the instruction count/, 1],
    ["1\n6 0 0 -1", /decimal numbers/, 2],
    ["", /empty program text/, 1],
    ["nonsense", /first number must be|not an integer/, 1],
  ];
  for (const [text, msg, line] of bad) {
    assert.throws(
      () => parseProgramText(text),
      (e: unknown) => e instanceof TsbpfError && e.code === "ECBPF" && msg.test(e.message) && (e as { line?: number }).line === line,
      text,
    );
  }
});

test("fuzz: parsers and byte decoding accept or throw ECBPF/EDECODE, never crash", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      try {
        const p = parseProgramText(s);
        formatListing(p);
      } catch (e) {
        assert.ok(e instanceof TsbpfError && e.code === "ECBPF", String(e));
      }
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
      try {
        const p = fromBytes(b);
        assert.deepEqual(toBytes(p), b);
        formatListing(p);
      } catch (e) {
        assert.ok(e instanceof TsbpfError && e.code === "EDECODE", String(e));
      }
    }),
    { numRuns: 2000 },
  );
});
