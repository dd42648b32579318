// The shape of convertToEbpf()'s output, instruction by instruction, against
// bpf_convert_filter() (net/core/filter.c), and a run of `ip and tcp port 8080`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CbpfError } from "../../src/errors/index.js";
import { encodeProgram, type Insn } from "../../src/isa/index.js";
import * as C from "../../src/cbpf/constants.js";
import { BPF_JUMP, BPF_STMT, SKB_PROTOCOL, SKB_VLAN_TCI, convertToEbpf, type SockFilter } from "../../src/cbpf/index.js";
import { evalConverted } from "./ebpf-eval.js";

/** Insns without their pc, in a compact text form for comparisons. */
function show(insns: readonly Insn[]): string[] {
  return insns.map((i) => {
    const src = (s: { kind: "imm"; imm: number } | { kind: "reg"; reg: number }): string => (s.kind === "imm" ? String(s.imm) : `r${s.reg}`);
    switch (i.kind) {
      case "alu":
        return `${i.alu64 ? "" : "w:"}r${i.dst} ${i.op} ${i.op === "neg" ? "" : src(i.src)}`.trim();
      case "jmp":
        return `if r${i.dst} ${i.cond} ${src(i.src)} goto ${i.off}`;
      case "ja":
        return `goto ${i.off}`;
      case "ld_abs":
        return `r0 = abs${i.size}[${i.imm}]`;
      case "ld_ind":
        return `r0 = ind${i.size}[r${i.src} + ${i.imm}]`;
      case "ldx":
        return `r${i.dst} = *(u${i.size * 8} *)(r${i.src} ${i.off})`;
      case "stx":
        return `*(u${i.size * 8} *)(r${i.dst} ${i.off}) = r${i.src}`;
      case "end":
        return `r${i.dst} = ${i.order}${i.width}`;
      case "call":
        return `call ${i.imm}`;
      case "exit":
        return "exit";
      default:
        return i.kind;
    }
  });
}
const PROLOGUE = ["w:r0 xor r0", "w:r7 xor r7", "r6 mov r1"];
const conv = (prog: SockFilter[]): string[] => show(convertToEbpf(prog).insns).slice(3);

test("prologue, ret, and the pc of every instruction", () => {
  const out = convertToEbpf([BPF_STMT(C.BPF_RET | C.BPF_K, 0xffffffff)]);
  assert.deepEqual(show(out.insns), [...PROLOGUE, "w:r0 mov -1", "exit"]);
  out.insns.forEach((i, n) => assert.equal(i.pc, n));
  assert.deepEqual(out.addrs, [3]);
  assert.deepEqual(conv([BPF_STMT(C.BPF_RET | C.BPF_A, 0)]), ["exit"]);
  // The output encodes as valid eBPF.
  assert.equal(encodeProgram(out.insns).length, 5 * 8);
});

test("loads, stores, moves", () => {
  const prog = [
    BPF_STMT(C.BPF_LD | C.BPF_W | C.BPF_ABS, 26),
    BPF_STMT(C.BPF_LD | C.BPF_B | C.BPF_IND, 14),
    BPF_STMT(C.BPF_LD | C.BPF_W | C.BPF_LEN, 0),
    BPF_STMT(C.BPF_LDX | C.BPF_W | C.BPF_LEN, 0),
    BPF_STMT(C.BPF_LD | C.BPF_IMM, 0x80000000),
    BPF_STMT(C.BPF_LDX | C.BPF_IMM, 7),
    BPF_STMT(C.BPF_ST, 0),
    BPF_STMT(C.BPF_STX, 15),
    BPF_STMT(C.BPF_LD | C.BPF_MEM, 15),
    BPF_STMT(C.BPF_LDX | C.BPF_MEM, 0),
    BPF_STMT(C.BPF_MISC | C.BPF_TAX, 0),
    BPF_STMT(C.BPF_MISC | C.BPF_TXA, 0),
    BPF_STMT(C.BPF_RET | C.BPF_A, 0),
  ];
  assert.deepEqual(conv(prog), [
    "r0 = abs4[26]",
    "r0 = ind1[r7 + 14]",
    "r0 = *(u32 *)(r6 0)",
    "r7 = *(u32 *)(r6 0)",
    "w:r0 mov -2147483648",
    "w:r7 mov 7",
    "*(u32 *)(r10 -4) = r0",
    "*(u32 *)(r10 -64) = r7",
    "r0 = *(u32 *)(r10 -64)",
    "r7 = *(u32 *)(r10 -4)",
    "r7 mov r0",
    "r0 mov r7",
    "exit",
  ]);
  assert.equal(convertToEbpf(prog).stackDepth, 64);
});

test("ldxb 4*([k]&0xf) keeps A, as the kernel's sequence does", () => {
  assert.deepEqual(conv([BPF_STMT(C.BPF_LDX | C.BPF_B | C.BPF_MSH, 14), BPF_STMT(C.BPF_RET | C.BPF_A, 0)]), [
    "r7 mov r0",
    "r0 = abs1[14]",
    "w:r0 and 15",
    "w:r0 lsh 2",
    "r2 mov r7",
    "r7 mov r0",
    "r0 mov r2",
    "exit",
  ]);
});

test("ALU: 32-bit ops; div/mod by X guarded by a zero test", () => {
  assert.deepEqual(
    conv([
      BPF_STMT(C.BPF_ALU | C.BPF_ADD | C.BPF_K, 5),
      BPF_STMT(C.BPF_ALU | C.BPF_LSH | C.BPF_X, 0),
      BPF_STMT(C.BPF_ALU | C.BPF_NEG, 0),
      BPF_STMT(C.BPF_ALU | C.BPF_DIV | C.BPF_X, 0),
      BPF_STMT(C.BPF_ALU | C.BPF_MOD | C.BPF_K, 7),
      BPF_STMT(C.BPF_RET | C.BPF_A, 0),
    ]),
    ["w:r0 add 5", "w:r0 lsh r7", "w:r0 neg", "w:r7 mov r7", "if r7 jne 0 goto 2", "w:r0 xor r0", "exit", "w:r0 div r7", "w:r0 mod 7", "exit"],
  );
});

test("conditional jumps: the kernel's three shapes, and constants with bit 31 set", () => {
  const ret = [BPF_STMT(C.BPF_RET | C.BPF_K, 1), BPF_STMT(C.BPF_RET | C.BPF_K, 0)];
  // jf == 0: one jump to jt.
  assert.deepEqual(conv([BPF_JUMP(C.BPF_JMP | C.BPF_JGT | C.BPF_K, 10, 1, 0), ...ret]), ["if r0 jgt 10 goto 2", "w:r0 mov 1", "exit", "w:r0 mov 0", "exit"]);
  // jt == 0: inverted (jeq -> jne, jgt -> jle, jge -> jlt).
  assert.deepEqual(conv([BPF_JUMP(C.BPF_JMP | C.BPF_JEQ | C.BPF_K, 10, 0, 1), ...ret]).slice(0, 1), ["if r0 jne 10 goto 2"]);
  assert.deepEqual(conv([BPF_JUMP(C.BPF_JMP | C.BPF_JGT | C.BPF_X, 0, 0, 1), ...ret]).slice(0, 1), ["if r0 jle r7 goto 2"]);
  assert.deepEqual(conv([BPF_JUMP(C.BPF_JMP | C.BPF_JGE | C.BPF_K, 10, 0, 1), ...ret]).slice(0, 1), ["if r0 jlt 10 goto 2"]);
  // jset cannot be inverted: jset + goto.
  assert.deepEqual(conv([BPF_JUMP(C.BPF_JMP | C.BPF_JSET | C.BPF_K, 4, 0, 1), ...ret]).slice(0, 2), ["if r0 jset 4 goto 1", "goto 2"]);
  // Both non-zero: jump + goto.
  const three = [BPF_JUMP(C.BPF_JMP | C.BPF_JEQ | C.BPF_K, 1, 1, 2), ...ret, BPF_STMT(C.BPF_RET | C.BPF_K, 2)];
  assert.deepEqual(conv(three).slice(0, 2), ["if r0 jeq 1 goto 3", "goto 4"]);
  // k = 0xffffffff: moved into w2 (zero-extended) first.
  assert.deepEqual(conv([BPF_JUMP(C.BPF_JMP | C.BPF_JEQ | C.BPF_K, 0xffffffff, 1, 0), ...ret]).slice(0, 2), ["w:r2 mov -1", "if r0 jeq r2 goto 2"]);
  // ja.
  assert.deepEqual(conv([BPF_STMT(C.BPF_JMP | C.BPF_JA, 1), ...ret]).slice(0, 1), ["goto 2"]);
});

test("ancillary loads read struct __sk_buff; unsupported ones are rejected", () => {
  const anc = (x: number): SockFilter[] => [BPF_STMT(C.BPF_LD | C.BPF_H | C.BPF_ABS, (C.SKF_AD_OFF + x) >>> 0), BPF_STMT(C.BPF_RET | C.BPF_A, 0)];
  assert.deepEqual(conv(anc(C.SKF_AD_PROTOCOL)), [`r0 = *(u32 *)(r6 ${SKB_PROTOCOL})`, "r0 = be16", "exit"]);
  assert.deepEqual(conv(anc(C.SKF_AD_VLAN_TAG)), [`r0 = *(u32 *)(r6 ${SKB_VLAN_TCI})`, "exit"]);
  assert.deepEqual(conv(anc(C.SKF_AD_RANDOM)), ["r1 mov r6", "r2 mov r0", "r3 mov r7", "call 7", "exit"]);
  assert.deepEqual(conv(anc(C.SKF_AD_ALU_XOR_X)), ["w:r0 xor r7", "exit"]);
  assert.throws(() => convertToEbpf(anc(C.SKF_AD_HATYPE)), (e: unknown) => e instanceof CbpfError && e.reason === "unsupported_extension" && e.pc === 0);
  // Evaluated with a context: protocol is stored big-endian in memory, as skb->protocol.
  const insns = convertToEbpf(anc(C.SKF_AD_PROTOCOL)).insns;
  assert.equal(evalConverted(insns, new Uint8Array(0), 0, 0, { len: 60, fields: { [SKB_PROTOCOL]: 0x0008 } }), 0x0800);
});

test("the kernel's checker runs first unless disabled", () => {
  const back = [BPF_STMT(C.BPF_LD | C.BPF_IMM, 1), BPF_STMT(C.BPF_JMP | C.BPF_JA, -2), BPF_STMT(C.BPF_RET | C.BPF_A, 0)];
  assert.throws(() => convertToEbpf(back), (e: unknown) => e instanceof CbpfError && e.reason === "jump_out_of_range");
  assert.deepEqual(show(convertToEbpf(back, { check: false }).insns).slice(3), ["w:r0 mov 1", "goto -2", "exit"]);
  assert.throws(() => convertToEbpf([], { check: false }), { code: "ECBPF" });
});

test("ip and tcp port 8080, run on hand-made packets", () => {
  // tcpdump -dd 'ip and tcp port 8080' (cbpf/017.dd)
  const prog: SockFilter[] = [
    [0x28, 0, 0, 12], [0x15, 0, 10, 0x800], [0x30, 0, 0, 23], [0x15, 0, 8, 6], [0x28, 0, 0, 20], [0x45, 6, 0, 0x1fff],
    [0xb1, 0, 0, 14], [0x48, 0, 0, 14], [0x15, 2, 0, 8080], [0x48, 0, 0, 16], [0x15, 0, 1, 8080], [0x6, 0, 0, 262144], [0x6, 0, 0, 0],
  ].map(([code, jt, jf, k]) => ({ code: code!, jt: jt!, jf: jf!, k: k! }));
  const insns = convertToEbpf(prog).insns;
  const frame = (ethertype: number, proto: number, dport: number, fragOff = 0): Uint8Array => {
    const b = new Uint8Array(54);
    b[12] = ethertype >> 8;
    b[13] = ethertype & 0xff;
    b[14] = 0x45;
    b[20] = fragOff >> 8;
    b[21] = fragOff & 0xff;
    b[23] = proto;
    b[36] = dport >> 8;
    b[37] = dport & 0xff;
    return b;
  };
  const verdict = (p: Uint8Array, caplen = p.length): number => evalConverted(insns, p, caplen, 0, { len: p.length });
  assert.equal(verdict(frame(0x800, 6, 8080)), 262144);
  assert.equal(verdict(frame(0x800, 17, 8080)), 0);
  assert.equal(verdict(frame(0x800, 6, 80)), 0);
  assert.equal(verdict(frame(0x86dd, 6, 8080)), 0);
  assert.equal(verdict(frame(0x800, 6, 8080, 0x0001)), 0); // a non-first fragment
  assert.equal(verdict(frame(0x800, 6, 8080), 37), 0); // truncated before the port: LD_IND out of bounds
});
