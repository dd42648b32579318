// The interpreter's libpcap semantics, instruction by instruction, and a differential
// fuzz: random programs on random packets give the same result in the predecoded
// interpreter, in a plain reference model of bpf_filter(), (for kernel-valid
// programs) in the converted eBPF, and in the JIT engine (always: it keeps libpcap's
// semantics where the kernel's differ).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CbpfError } from "../../src/errors/index.js";
import * as C from "../../src/cbpf/constants.js";
import { BPF_JUMP, BPF_STMT, CbpfProgram, JIT_PCAP_VERDICTS, JitFilter, compileToJs, convertToEbpf, findClassicError, generateJs, type SockFilter } from "../../src/cbpf/index.js";
import { evalConverted } from "./ebpf-eval.js";

const { BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_ALU, BPF_JMP, BPF_RET, BPF_MISC, BPF_W, BPF_H, BPF_B, BPF_ABS, BPF_IND, BPF_MEM, BPF_LEN, BPF_MSH, BPF_IMM, BPF_K, BPF_X, BPF_A } = C;

/**
 * Set by reference() when an indirect load's X + k passed 2^32: libpcap rejects the
 * packet, while the kernel's converted code adds in 64 bits and hands the sum to
 * bpf_skb_load_helper_*()'s `int offset`, which wraps it (net/core/filter.c).
 */
let indirectOffsetWrapped = false;

/** bpf_filter() written as plainly as possible (the reference model). */
function reference(prog: readonly SockFilter[], p: Uint8Array, wirelen: number, buflen: number): number {
  let A = 0;
  let X = 0;
  const mem = new Array<number>(16).fill(0);
  const load = (k: number, size: number): number | undefined => {
    if (k + size > buflen) return undefined;
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + p[k + i]!;
    return v;
  };
  for (let pc = 0, steps = 0; steps < 100_000; steps++) {
    const { code, jt, jf } = prog[pc]!;
    const k = prog[pc]!.k >>> 0;
    const cls = code & 7;
    if (cls === BPF_RET) return (code & 0x18) === BPF_A ? A : k;
    if (cls === BPF_LD || cls === BPF_LDX) {
      const mode = code & 0xe0;
      const size = { [BPF_W]: 4, [BPF_H]: 2, [BPF_B]: 1 }[code & 0x18]!;
      let v: number | undefined;
      if (mode === BPF_ABS) v = load(k, size);
      else if (mode === BPF_IND) {
        if (X + k >= 2 ** 32) indirectOffsetWrapped = true;
        v = load(X + k, size);
      }
      else if (mode === BPF_MSH) v = load(k, 1) === undefined ? undefined : (load(k, 1)! & 0xf) * 4;
      else if (mode === BPF_LEN) v = wirelen;
      else if (mode === BPF_IMM) v = k;
      else v = mem[k]!;
      if (v === undefined) return 0;
      if (cls === BPF_LD) A = v;
      else X = v;
    } else if (cls === BPF_ST) mem[k] = A;
    else if (cls === BPF_STX) mem[k] = X;
    else if (cls === BPF_MISC) {
      if (code === (BPF_MISC | C.BPF_TAX)) X = A;
      else A = X;
    } else if (cls === BPF_ALU) {
      const b = code & BPF_X ? X : k;
      switch (code & 0xf0) {
        case C.BPF_ADD: A = (A + b) >>> 0; break;
        case C.BPF_SUB: A = (A - b) >>> 0; break;
        case C.BPF_MUL: A = Number((BigInt(A) * BigInt(b)) & 0xffffffffn); break;
        case C.BPF_DIV: if (b === 0) return 0; A = Math.floor(A / b); break;
        case C.BPF_MOD: if (b === 0) return 0; A = A % b; break;
        case C.BPF_AND: A = (A & b) >>> 0; break;
        case C.BPF_OR: A = (A | b) >>> 0; break;
        case C.BPF_XOR: A = (A ^ b) >>> 0; break;
        case C.BPF_LSH: A = b >= 32 ? 0 : Number((BigInt(A) << BigInt(b)) & 0xffffffffn); break;
        case C.BPF_RSH: A = b >= 32 ? 0 : Math.floor(A / 2 ** b); break;
        case C.BPF_NEG: A = (0x100000000 - A) % 0x100000000; break;
      }
    } else {
      if ((code & 0xf0) === C.BPF_JA) {
        pc += 1 + (k | 0);
        continue;
      }
      const b = code & BPF_X ? X : k;
      const t = { [C.BPF_JEQ]: A === b, [C.BPF_JGT]: A > b, [C.BPF_JGE]: A >= b, [C.BPF_JSET]: (A & b) !== 0 }[code & 0xf0]!;
      pc += 1 + (t ? jt : jf);
      continue;
    }
    pc++;
  }
  throw new Error("reference: step limit");
}

const pkt = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff);
const run = (prog: SockFilter[], bytes = pkt, wirelen = bytes.length, caplen = bytes.length): number => new CbpfProgram(prog).run(bytes, wirelen, caplen, 0);
const RETA = BPF_STMT(BPF_RET | BPF_A, 0);

test("packet loads are big-endian; a load past the captured bytes returns 0", () => {
  assert.equal(run([BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0), RETA]), ((pkt[0]! << 24) | (pkt[1]! << 16) | (pkt[2]! << 8) | pkt[3]!) >>> 0);
  assert.equal(run([BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 62), RETA]), (pkt[62]! << 8) | pkt[63]!);
  assert.equal(run([BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 63), BPF_STMT(BPF_RET | BPF_K, 7)]), 0);
  assert.equal(run([BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 20), BPF_STMT(BPF_RET | BPF_K, 7)], pkt, 64, 20), 0); // caplen 20
  assert.equal(run([BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 19), BPF_STMT(BPF_RET | BPF_K, 7)], pkt, 64, 20), 7);
  assert.equal(run([BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0xfffffffe), BPF_STMT(BPF_RET | BPF_K, 7)]), 0);
  // [x + k] with X + k overflowing 32 bits is out of bounds, not a wrap to a small offset.
  const ind = [BPF_STMT(BPF_LDX | BPF_IMM, 0xffffffff), BPF_STMT(BPF_LD | BPF_B | BPF_IND, 2), BPF_STMT(BPF_RET | BPF_K, 7)];
  assert.equal(run(ind), 0);
  assert.equal(run([BPF_STMT(BPF_LDX | BPF_IMM, 10), BPF_STMT(BPF_LD | BPF_H | BPF_IND, 4), RETA]), (pkt[14]! << 8) | pkt[15]!);
  assert.equal(run([BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14), BPF_STMT(BPF_MISC | C.BPF_TXA, 0), RETA]), (pkt[14]! & 0xf) * 4);
  // Ancillary offsets are just far packet offsets for libpcap (no aux data).
  assert.equal(run([BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (C.SKF_AD_OFF + C.SKF_AD_PROTOCOL) >>> 0), BPF_STMT(BPF_RET | BPF_K, 7)]), 0);
});

test("ld #pktlen is the wire length; ret returns k or A as u32", () => {
  assert.equal(run([BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0), RETA], pkt, 1514, 64), 1514);
  assert.equal(run([BPF_STMT(BPF_LDX | BPF_W | BPF_LEN, 0), BPF_STMT(BPF_MISC | C.BPF_TXA, 0), RETA], pkt, 99, 64), 99);
  assert.equal(run([BPF_STMT(BPF_RET | BPF_K, 0xffffffff)]), 0xffffffff);
  assert.equal(run([BPF_STMT(BPF_LD | BPF_IMM, 0x80000000), RETA]), 0x80000000);
});

test("arithmetic: u32 wrap, division by X = 0 returns 0, shifts by X >= 32 give 0", () => {
  const alu = (a: number, op: number, b: number, viaX: boolean): number =>
    run(
      viaX
        ? [BPF_STMT(BPF_LDX | BPF_IMM, b), BPF_STMT(BPF_LD | BPF_IMM, a), BPF_STMT(BPF_ALU | op | BPF_X, 0), RETA]
        : [BPF_STMT(BPF_LD | BPF_IMM, a), BPF_STMT(BPF_ALU | op | BPF_K, b), RETA],
    );
  assert.equal(alu(0xffffffff, C.BPF_ADD, 2, false), 1);
  assert.equal(alu(1, C.BPF_SUB, 2, true), 0xffffffff);
  assert.equal(alu(0x10000, C.BPF_MUL, 0x10001, false), 0x10000);
  assert.equal(alu(0xfffffffe, C.BPF_DIV, 3, true), 0x55555554);
  assert.equal(alu(0xffffffff, C.BPF_MOD, 10, false), 5);
  assert.equal(alu(7, C.BPF_DIV, 0, true), 0); // the whole program returns 0
  assert.equal(alu(7, C.BPF_MOD, 0, true), 0);
  assert.equal(alu(1, C.BPF_LSH, 31, true), 0x80000000);
  assert.equal(alu(1, C.BPF_LSH, 32, true), 0);
  assert.equal(alu(0x80000000, C.BPF_RSH, 31, false), 1);
  assert.equal(alu(0x80000000, C.BPF_RSH, 33, true), 0);
  assert.equal(alu(0xf0f0f0f0, C.BPF_XOR, 0xffffffff, false), 0x0f0f0f0f);
  assert.equal(run([BPF_STMT(BPF_LD | BPF_IMM, 1), BPF_STMT(BPF_ALU | C.BPF_NEG, 0), RETA]), 0xffffffff);
  assert.equal(run([BPF_STMT(BPF_LD | BPF_IMM, 0x80000000), BPF_STMT(BPF_ALU | C.BPF_NEG, 0), RETA]), 0x80000000);
});

test("unsigned comparisons and jset", () => {
  const cmp = (a: number, op: number, b: number): number =>
    run([BPF_STMT(BPF_LD | BPF_IMM, a), BPF_JUMP(BPF_JMP | op | BPF_K, b, 0, 1), BPF_STMT(BPF_RET | BPF_K, 1), BPF_STMT(BPF_RET | BPF_K, 2)]);
  assert.equal(cmp(0xffffffff, C.BPF_JGT, 1), 1);
  assert.equal(cmp(1, C.BPF_JGT, 0xffffffff), 2);
  assert.equal(cmp(0x80000000, C.BPF_JGE, 0x80000000), 1);
  assert.equal(cmp(0x7fffffff, C.BPF_JGE, 0x80000000), 2);
  assert.equal(cmp(0x80000000, C.BPF_JEQ, 0x80000000), 1);
  assert.equal(cmp(6, C.BPF_JSET, 1), 2);
});

test("scratch memory; backward jumps; a runaway loop throws instead of hanging", () => {
  assert.equal(run([BPF_STMT(BPF_LD | BPF_IMM, 5), BPF_STMT(BPF_ST, 15), BPF_STMT(BPF_LD | BPF_IMM, 0), BPF_STMT(BPF_LD | BPF_MEM, 15), RETA]), 5);
  // Count down from 3 with a backward ja (libpcap allows it; protochain needs it).
  const loop = [
    BPF_STMT(BPF_LD | BPF_IMM, 3),
    BPF_JUMP(BPF_JMP | C.BPF_JEQ | BPF_K, 0, 2, 0),
    BPF_STMT(BPF_ALU | C.BPF_SUB | BPF_K, 1),
    BPF_STMT(BPF_JMP | C.BPF_JA, -3),
    BPF_STMT(BPF_RET | BPF_K, 42),
  ];
  assert.equal(run(loop), 42);
  const forever = [BPF_STMT(BPF_LD | BPF_IMM, 0), BPF_STMT(BPF_JMP | C.BPF_JA, -1), RETA];
  assert.throws(() => new CbpfProgram(forever, { maxBackwardJumps: 1000 }).run(pkt, 64, 64, 0), (e: unknown) => e instanceof CbpfError && e.reason === "loop_limit" && e.pc === 1);
  // A read of a never-written cell (libpcap: whatever is on its stack) reads 0 here, every run.
  const p = new CbpfProgram([BPF_STMT(BPF_LD | BPF_MEM, 3), BPF_JUMP(BPF_JMP | C.BPF_JEQ | BPF_K, 0, 0, 1), BPF_STMT(BPF_ST, 3), RETA]);
  assert.equal(p.run(pkt, 64, 64, 0), 0);
  assert.equal(p.run(pkt, 64, 64, 0), 0);
});

test("the constructor rejects what libpcap would not run", () => {
  assert.throws(() => new CbpfProgram([]), { code: "ECBPF" });
  assert.throws(() => new CbpfProgram([BPF_STMT(BPF_LD | BPF_H | BPF_IMM, 0), RETA]), (e: unknown) => e instanceof CbpfError && e.reason === "unknown_opcode");
  assert.throws(() => new CbpfProgram([BPF_STMT(BPF_JMP | C.BPF_JA, 5), RETA]), (e: unknown) => e instanceof CbpfError && e.reason === "jump_out_of_range");
  assert.throws(() => new CbpfProgram([BPF_STMT(BPF_ALU | C.BPF_DIV | BPF_K, 0), RETA]), (e: unknown) => e instanceof CbpfError && e.reason === "div_by_zero");
});

test("matches() and runPacket() take a packet without copying", () => {
  const p = new CbpfProgram([BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 1), RETA]);
  const buf = Uint8Array.of(9, 9, 9, 0xab, 0xcd);
  assert.equal(p.matches({ buffer: buf, dataOffset: 3, caplen: 2, len: 2 }), true);
  assert.equal(p.run(buf, 2, 2, 3), 0xcd);
  assert.equal(p.runPacket(buf), 9);
});

// ---- differential fuzz ----

const aluOps = [C.BPF_ADD, C.BPF_SUB, C.BPF_MUL, C.BPF_DIV, C.BPF_MOD, C.BPF_AND, C.BPF_OR, C.BPF_XOR, C.BPF_LSH, C.BPF_RSH];
const u32 = fc.oneof(fc.constantFrom(0, 1, 2, 14, 31, 32, 0x7fffffff, 0x80000000, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 80 }));
/** One instruction at position i of n (jumps forward and in range; the last is a ret). */
const insnAt = (i: number, n: number): fc.Arbitrary<SockFilter> => {
  if (i === n - 1) return fc.oneof(fc.constant(RETA), u32.map((k) => BPF_STMT(BPF_RET | BPF_K, k)));
  const room = n - i - 2;
  const off = fc.integer({ min: 0, max: Math.min(room, 255) });
  const small = fc.integer({ min: 0, max: 90 });
  const mem = fc.integer({ min: 0, max: 15 });
  return fc.oneof(
    fc.tuple(fc.constantFrom(BPF_W, BPF_H, BPF_B), fc.constantFrom(BPF_ABS, BPF_IND), small).map(([s, m, k]) => BPF_STMT(BPF_LD | s | m, k)),
    small.map((k) => BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, k)),
    fc.constantFrom(BPF_LD, BPF_LDX).map((c) => BPF_STMT(c | BPF_W | BPF_LEN, 0)),
    fc.tuple(fc.constantFrom(BPF_LD, BPF_LDX), u32).map(([c, k]) => BPF_STMT(c | BPF_IMM, k)),
    fc.tuple(fc.constantFrom(BPF_LD, BPF_LDX), mem).map(([c, k]) => BPF_STMT(c | BPF_MEM, k)),
    fc.tuple(fc.constantFrom(BPF_ST, BPF_STX), mem).map(([c, k]) => BPF_STMT(c, k)),
    fc.tuple(fc.constantFrom(...aluOps), fc.constantFrom(BPF_K, BPF_X), u32).map(([op, src, k]) => {
      if (src === BPF_K && (op === C.BPF_DIV || op === C.BPF_MOD) && k === 0) k = 3;
      if (src === BPF_K && (op === C.BPF_LSH || op === C.BPF_RSH)) k &= 31;
      return BPF_STMT(BPF_ALU | op | src, src === BPF_X ? 0 : k);
    }),
    fc.constantFrom(BPF_STMT(BPF_ALU | C.BPF_NEG, 0), BPF_STMT(BPF_MISC | C.BPF_TAX, 0), BPF_STMT(BPF_MISC | C.BPF_TXA, 0)),
    off.map((k) => BPF_STMT(BPF_JMP | C.BPF_JA, k)),
    fc.tuple(fc.constantFrom(C.BPF_JEQ, C.BPF_JGT, C.BPF_JGE, C.BPF_JSET), fc.constantFrom(BPF_K, BPF_X), u32, off, off).map(([op, src, k, jt, jf]) =>
      BPF_JUMP(BPF_JMP | op | src, src === BPF_X ? 0 : k, jt, jf),
    ),
  );
};
const programArb = fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => insnAt(i, n))));
const packetArb = fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 100 }), fc.integer({ min: 0, max: 2000 }));
const shiftsByX = (p: readonly SockFilter[]): boolean => p.some((f) => f.code === (BPF_ALU | C.BPF_LSH | BPF_X) || f.code === (BPF_ALU | C.BPF_RSH | BPF_X));

test("fuzz: interpreter = JS-compiled = reference model = converted eBPF", () => {
  let converted = 0;
  fc.assert(
    fc.property(programArb, fc.array(packetArb, { minLength: 1, maxLength: 5 }), (prog, pkts) => {
      const p = new CbpfProgram(prog);
      const js = compileToJs(prog);
      assert.ok(js !== undefined, "forward-only programs always compile to JS");
      const kernelOk = findClassicError(prog) === undefined;
      const conv = kernelOk ? convertToEbpf(prog) : undefined;
      for (const [bytes, extra] of pkts) {
        const wirelen = bytes.length + extra;
        indirectOffsetWrapped = false;
        const want = reference(prog, bytes, wirelen, bytes.length);
        assert.equal(p.run(bytes, wirelen, bytes.length, 0), want);
        assert.equal(js(bytes, wirelen, bytes.length, 0), want);
        // With the packet in the middle of a larger buffer.
        const big = new Uint8Array(bytes.length + 20).fill(0xee);
        big.set(bytes, 7);
        assert.equal(p.run(big, wirelen, bytes.length, 7), want);
        assert.equal(js(big, wirelen, bytes.length, 7), want);
        // The kernel's eBPF differs from libpcap only for shifts by X >= 32 (it masks the
        // count) and for indirect loads whose X + k wraps (see indirectOffsetWrapped).
        if (conv !== undefined && !shiftsByX(prog) && !indirectOffsetWrapped) {
          assert.equal(evalConverted(conv.insns, bytes, bytes.length, 0, { len: wirelen }), want);
          converted++;
        }
      }
    }),
    { numRuns: 3000 },
  );
  assert.ok(converted > 500, `only ${converted} converted runs`);
});

test("an indirect load whose X + k wraps: libpcap rejects, the kernel's int offset wraps (found by the fuzz, seed -947762082)", () => {
  // X = 0xffffffff, A = P[X + 1:4]: libpcap checks X > buflen - k and returns 0; the
  // converted program adds in 64 bits and bpf_skb_load_helper_32() takes an int, so it
  // reads P[0:4].
  const prog = [BPF_STMT(BPF_LDX | BPF_IMM, 0xffffffff), BPF_STMT(BPF_LD | BPF_W | BPF_IND, 1), RETA];
  const bytes = Uint8Array.of(0, 0, 0, 1);
  assert.equal(new CbpfProgram(prog).run(bytes, 4, 4, 0), 0);
  assert.equal(compileToJs(prog)!(bytes, 4, 4, 0), 0);
  assert.equal(evalConverted(convertToEbpf(prog).insns, bytes, 4, 0, { len: 4 }), 1);
});

test("JS engine: backward jumps stay on the interpreter; the source is plain", () => {
  const loop = [BPF_STMT(BPF_LD | BPF_IMM, 1), BPF_JUMP(BPF_JMP | C.BPF_JEQ | BPF_K, 0, 1, 0), BPF_STMT(BPF_JMP | C.BPF_JA, -3), RETA];
  assert.equal(generateJs(loop), undefined);
  assert.equal(compileToJs(loop), undefined);
  const src = generateJs([BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12), BPF_JUMP(BPF_JMP | C.BPF_JEQ | BPF_K, 0x800, 0, 1), BPF_STMT(BPF_RET | BPF_K, 65535), BPF_STMT(BPF_RET | BPF_K, 0)])!;
  assert.match(src, /if \(14 > caplen\) return 0; A = \(p\[o \+ 12\] << 8\) \| p\[o \+ 12 \+ 1\];/);
  assert.match(src, /if \(!\(A === 2048\)\) \{ return 0; \}/);
  assert.throws(() => generateJs([]), { code: "ECBPF" });
});

/** Loads anywhere in the u32 range: ancillary offsets, X + k past 2^32. */
const jitInsnAt = (i: number, n: number): fc.Arbitrary<SockFilter> =>
  i === n - 1
    ? insnAt(i, n)
    : fc.oneof(
        { weight: 4, arbitrary: insnAt(i, n) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom(BPF_W, BPF_H, BPF_B), fc.constantFrom(BPF_ABS, BPF_IND), u32).map(([s, m, k]) => BPF_STMT(BPF_LD | s | m, k)) },
        { weight: 1, arbitrary: fc.constantFrom(BPF_STMT(BPF_LDX | BPF_IMM, 0xffffffff), BPF_STMT(BPF_LDX | BPF_IMM, 33), BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, (C.SKF_AD_OFF + C.SKF_AD_PROTOCOL) >>> 0)) },
      );
const jitProgramArb = fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => jitInsnAt(i, n))));

test("fuzz: JIT engine = reference model, one packet at a time and in a block (shifts by X >= 32, wrapping X + k, ancillary offsets included)", () => {
  fc.assert(
    fc.property(jitProgramArb, fc.array(packetArb, { minLength: 1, maxLength: 5 }), (prog, pkts) => {
      const f = new JitFilter(prog);
      try {
        const want = pkts.map(([bytes, extra]) => reference(prog, bytes, bytes.length + extra, bytes.length));
        pkts.forEach(([bytes, extra], i) => assert.equal(f.run(bytes, bytes.length + extra, bytes.length, 0), want[i], `packet ${i}`));
        const all = new Uint8Array(pkts.reduce((s, [b]) => s + b.length + 1, 0));
        const offs: number[] = [];
        let at = 1;
        for (const [b] of pkts) {
          all.set(b, at);
          offs.push(at);
          at += b.length;
        }
        const out = new Uint32Array(pkts.length);
        f.runBlock(all, pkts.length, offs, pkts.map(([b]) => b.length), pkts.map(([b, e]) => b.length + e), out);
        assert.deepEqual(Array.from(out), want);
      } finally {
        f.close();
      }
    }),
    { numRuns: 1500 },
  );
});

test("JIT engine: libpcap's semantics where the kernel's conversion differs", () => {
  const pkt = Uint8Array.from({ length: 64 }, (_, i) => i);
  const jit = (prog: SockFilter[], bytes = pkt, wirelen = 64): number => new JitFilter(prog).run(bytes, wirelen, bytes.length, 0);
  // X + k wraps 2^32: libpcap rejects (the kernel would read P[0:4]).
  assert.equal(jit([BPF_STMT(BPF_LDX | BPF_IMM, 0xffffffff), BPF_STMT(BPF_LD | BPF_W | BPF_IND, 1), RETA], Uint8Array.of(0, 0, 0, 1), 4), 0);
  assert.equal(jit([BPF_STMT(BPF_LDX | BPF_IMM, 10), BPF_STMT(BPF_LD | BPF_H | BPF_IND, 4), RETA]), (14 << 8) | 15);
  // Shifts by X >= 32 give 0 (eBPF would shift by X & 31).
  for (const op of [C.BPF_LSH, C.BPF_RSH]) {
    assert.equal(jit([BPF_STMT(BPF_LDX | BPF_IMM, 33), BPF_STMT(BPF_LD | BPF_IMM, 0xf0f0), BPF_STMT(BPF_ALU | op | BPF_X, 0), RETA]), 0);
    assert.equal(jit([BPF_STMT(BPF_LDX | BPF_IMM, 4), BPF_STMT(BPF_LD | BPF_IMM, 0xf0f0), BPF_STMT(BPF_ALU | op | BPF_X, 0), RETA]), op === C.BPF_LSH ? 0xf0f00 : 0xf0f);
  }
  // Ancillary offsets are out of the capture (the kernel would read skb->protocol).
  assert.equal(jit([BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (C.SKF_AD_OFF + C.SKF_AD_PROTOCOL) >>> 0), BPF_STMT(BPF_RET | BPF_K, 7)]), 0);
  // Bounds: the last byte, one past it; the wire length.
  assert.equal(jit([BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 63), RETA]), 63);
  assert.equal(jit([BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 63), BPF_STMT(BPF_RET | BPF_K, 7)]), 0);
  assert.equal(jit([BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0), RETA], pkt, 1514), 1514);
  // M[] read before written is 0, every run.
  const f = new JitFilter([BPF_STMT(BPF_LD | BPF_MEM, 3), BPF_STMT(BPF_ALU | C.BPF_ADD | BPF_K, 1), BPF_STMT(BPF_ST, 3), RETA]);
  assert.equal(f.run(pkt, 64, 64, 0), 1);
  assert.equal(f.run(pkt, 64, 64, 0), 1);
  // A loop runs (the kernel refuses it) and is bounded like the interpreter's.
  const loop = [BPF_STMT(BPF_LD | BPF_IMM, 1), BPF_JUMP(BPF_JMP | C.BPF_JEQ | BPF_K, 0, 1, 0), BPF_STMT(BPF_JMP | C.BPF_JA, -3), RETA];
  assert.throws(() => new JitFilter(loop, { maxBackwardJumps: 1000 }).run(pkt, 64, 64, 0), (e: unknown) => e instanceof CbpfError && e.reason === "loop_limit");
  const count = [BPF_STMT(BPF_LD | BPF_IMM, 5), BPF_JUMP(BPF_JMP | C.BPF_JEQ | BPF_K, 0, 2, 0), BPF_STMT(BPF_ALU | C.BPF_SUB | BPF_K, 1), BPF_STMT(BPF_JMP | C.BPF_JA, -3), BPF_STMT(BPF_RET | BPF_K, 9)];
  assert.equal(jit(count), 9);
});

test("JIT engine: the pcap walk stops at the end, an incomplete record, a caplen over the limit, a full verdict array, and reports loops", () => {
  // Records: 16-byte header (caplen at 8, len at 12) and caplen bytes; the program returns len + P[0].
  const prog = [BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0), BPF_STMT(BPF_MISC | C.BPF_TAX, 0), BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0), BPF_STMT(BPF_ALU | C.BPF_ADD | BPF_X, 0), RETA];
  const f = new JitFilter(prog);
  const n = JIT_PCAP_VERDICTS + 10;
  const bytes = f.ioBuffer(n * 17 + 40);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = 0;
  for (let i = 0; i < n; i++, at += 17) {
    v.setUint32(at + 8, 1, true);
    v.setUint32(at + 12, 100 + (i % 7), true);
    bytes[at + 16] = i & 0xff;
  }
  const all = at;
  assert.equal(f.filterPcapRecords(bytes, 0, all, 262144), JIT_PCAP_VERDICTS); // the verdict array is full
  const out = f.pcapVerdicts();
  for (const i of [0, 1, 255, 256, JIT_PCAP_VERDICTS - 1]) assert.equal(out[i], 100 + (i % 7) + (i & 0xff), `record ${i}`);
  assert.equal(f.filterPcapRecords(bytes, JIT_PCAP_VERDICTS * 17, all, 262144), 10);
  assert.equal(f.filterPcapRecords(bytes, JIT_PCAP_VERDICTS * 17, all - 1, 262144), 9); // the last record is cut
  assert.equal(f.filterPcapRecords(bytes, all - 17, all - 17 + 15, 262144), 0); // not even a header
  v.setUint32(17 * 3 + 8, 2, true); // record 3 claims 2 bytes (and so swallows a byte of record 4)
  assert.equal(f.filterPcapRecords(bytes, 0, all, 1), 3); // over the limit of 1
  assert.throws(() => f.filterPcapRecords(new Uint8Array(64), 0, 64, 10), RangeError);
  f.close();
  const loop = [BPF_STMT(BPF_LD | BPF_IMM, 1), BPF_JUMP(BPF_JMP | C.BPF_JEQ | BPF_K, 0, 1, 0), BPF_STMT(BPF_JMP | C.BPF_JA, -3), RETA];
  const g = new JitFilter(loop, { maxBackwardJumps: 100 });
  const b = g.ioBuffer(64);
  new DataView(b.buffer, b.byteOffset).setUint32(8, 4, true);
  assert.throws(() => g.filterPcapRecords(b, 0, 20, 100), (e: unknown) => e instanceof CbpfError && e.reason === "loop_limit");
});

test("JIT engine: packets outside their buffer are refused, not read", () => {
  const f = new JitFilter([BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0), RETA]);
  const bytes = Uint8Array.of(1, 2, 3, 4);
  assert.throws(() => f.run(bytes, 10, 5, 0), RangeError);
  assert.throws(() => f.run(bytes, 10, 1, -1), RangeError);
  assert.throws(() => f.runBlock(bytes, 2, [0, 3], [1, 2], [1, 2], new Uint32Array(2)), /packet 1: \[3, \+2\) outside the 4-byte buffer/);
  const out = new Uint32Array(2);
  f.runBlock(bytes, 2, [0, 3], [1, 1], [1, 1], out);
  assert.deepEqual(Array.from(out), [1, 4]);
  f.close();
});
