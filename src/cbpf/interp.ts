/**
 * The classic BPF interpreter, with libpcap's bpf_filter() semantics
 * (pcap_filter_with_aux_data() in libpcap 1.10 bpf_filter.c):
 *
 * - a packet load that does not fit in the captured bytes ends the program with 0
 *   (reject), whatever the width; `ld #pktlen` reads the wire length;
 * - division or modulo by X == 0 ends the program with 0;
 * - a shift by X >= 32 gives 0 (a shift by a constant uses the low 5 bits, as x86 does);
 * - `ja` is signed (libpcap's protochain code jumps backwards); a backward jump is
 *   counted, and a program exceeding `maxBackwardJumps` throws instead of hanging;
 * - the result is the return value: 0 rejects, anything else is the snap length.
 * Ancillary loads (SKF_AD_OFF + x) are ordinary packet loads here, i.e. out of bounds,
 * as in libpcap without aux data.
 *
 * The program is validated (libpcap's pcap_validate_filter(), plus "every opcode is
 * one the interpreter executes") and predecoded once into an Int32Array, four words per
 * instruction: an internal opcode, the operand, and the jump targets as word indices.
 * A and X are kept as int32 (V8's fastest number representation); unsigned comparisons
 * use operands pre-biased by 0x80000000. Predecoding also
 * - fuses a packet load with the conditional jump after it (one dispatch instead of
 *   two; the jump keeps its own slot for the jumps that land on it),
 * - threads jumps to `ret #k` (the jump returns at once),
 * - turns loads whose offset can never be in a packet (k >= 2^31) into `ret #0`,
 * - adds a slot that zeroes M[] per run only when check_load_and_stores cannot prove
 *   that every read follows a write (libpcap would read stale stack memory).
 * Measured on mixed-10k: about 2-3x libpcap's bpf_filter per packet; the JS-compiled
 * engine (jsgen.ts) is at or below libpcap's figures.
 */
import { CbpfError } from "../errors/index.js";
import * as C from "./constants.js";
import type { SockFilter } from "./constants.js";
import { findFilterError, findUninitMem, isKernelOpcode } from "./check.js";

// Internal opcodes, dense so that the switch compiles to a jump table; a const enum, so
// that the case labels are literals after compilation (what V8's bytecode generator
// turns into a SwitchOnSmi jump table).
const enum Op {
  RET_K = 0,
  RET_A = 1,
  RET_0 = 2,
  LD_W_ABS = 3,
  LD_H_ABS = 4,
  LD_B_ABS = 5,
  LD_W_IND = 6,
  LD_H_IND = 7,
  LD_B_IND = 8,
  LD_LEN = 9,
  LDX_LEN = 10,
  LD_IMM = 11,
  LDX_IMM = 12,
  LD_MEM = 13,
  LDX_MEM = 14,
  LDX_MSH = 15,
  ST = 16,
  STX = 17,
  JA = 18,
  JEQ_K = 19,
  JGT_K = 20,
  JGE_K = 21,
  JSET_K = 22,
  JEQ_X = 23,
  JGT_X = 24,
  JGE_X = 25,
  JSET_X = 26,
  ADD_K = 27,
  SUB_K = 28,
  MUL_K = 29,
  DIV_K = 30,
  MOD_K = 31,
  AND_K = 32,
  OR_K = 33,
  XOR_K = 34,
  LSH_K = 35,
  RSH_K = 36,
  ADD_X = 37,
  SUB_X = 38,
  MUL_X = 39,
  DIV_X = 40,
  MOD_X = 41,
  AND_X = 42,
  OR_X = 43,
  XOR_X = 44,
  LSH_X = 45,
  RSH_X = 46,
  NEG = 47,
  TAX = 48,
  TXA = 49,
  JA_BACK = 50,
  LDW_JEQ = 51,
  LDW_JGT = 52,
  LDW_JGE = 53,
  LDW_JSET = 54,
  LDH_JEQ = 55,
  LDH_JGT = 56,
  LDH_JGE = 57,
  LDH_JSET = 58,
  LDB_JEQ = 59,
  LDB_JGT = 60,
  LDB_JGE = 61,
  LDB_JSET = 62,
  LDHI_JEQ = 63,
  LDHI_JSET = 64,
  LDBI_JEQ = 65,
  LDBI_JSET = 66,
  CLEAR_MEM = 67,
}

const BIAS = 0x80000000 | 0;

const ALU_K: Readonly<Record<number, number>> = {
  [C.BPF_ADD]: Op.ADD_K, [C.BPF_SUB]: Op.SUB_K, [C.BPF_MUL]: Op.MUL_K, [C.BPF_DIV]: Op.DIV_K, [C.BPF_MOD]: Op.MOD_K,
  [C.BPF_AND]: Op.AND_K, [C.BPF_OR]: Op.OR_K, [C.BPF_XOR]: Op.XOR_K, [C.BPF_LSH]: Op.LSH_K, [C.BPF_RSH]: Op.RSH_K,
};
const JMP_K: Readonly<Record<number, number>> = { [C.BPF_JEQ]: Op.JEQ_K, [C.BPF_JGT]: Op.JGT_K, [C.BPF_JGE]: Op.JGE_K, [C.BPF_JSET]: Op.JSET_K };

const FUSE: ReadonlyMap<number, number> = new Map(
  (
    [
      [Op.LD_W_ABS, Op.JEQ_K, Op.LDW_JEQ], [Op.LD_W_ABS, Op.JGT_K, Op.LDW_JGT], [Op.LD_W_ABS, Op.JGE_K, Op.LDW_JGE], [Op.LD_W_ABS, Op.JSET_K, Op.LDW_JSET],
      [Op.LD_H_ABS, Op.JEQ_K, Op.LDH_JEQ], [Op.LD_H_ABS, Op.JGT_K, Op.LDH_JGT], [Op.LD_H_ABS, Op.JGE_K, Op.LDH_JGE], [Op.LD_H_ABS, Op.JSET_K, Op.LDH_JSET],
      [Op.LD_B_ABS, Op.JEQ_K, Op.LDB_JEQ], [Op.LD_B_ABS, Op.JGT_K, Op.LDB_JGT], [Op.LD_B_ABS, Op.JGE_K, Op.LDB_JGE], [Op.LD_B_ABS, Op.JSET_K, Op.LDB_JSET],
      [Op.LD_H_IND, Op.JEQ_K, Op.LDHI_JEQ], [Op.LD_H_IND, Op.JSET_K, Op.LDHI_JSET], [Op.LD_B_IND, Op.JEQ_K, Op.LDBI_JEQ], [Op.LD_B_IND, Op.JSET_K, Op.LDBI_JSET],
    ] as const
  ).map(([a, b, f]) => [a * 256 + b, f]),
);

export interface InterpreterOptions {
  /** Backward `ja` executions allowed per run before it throws (default 1,000,000). */
  readonly maxBackwardJumps?: number;
}

/**
 * A predecoded program. `run()` is the hot path: no allocation, no exception unless a
 * loop exceeds the backward-jump budget.
 */
export class CbpfProgram {
  readonly engine = "interp" as const;
  readonly length: number;
  private readonly code: Int32Array;
  private readonly mem = new Int32Array(C.BPF_MEMWORDS);
  private readonly maxBack: number;

  constructor(prog: readonly SockFilter[], opts: InterpreterOptions = {}) {
    const e = findFilterError(prog);
    if (e !== undefined) throw e;
    const bad = prog.findIndex((f) => !isKernelOpcode(f.code));
    if (bad >= 0) throw new CbpfError("unknown_opcode", `unknown opcode 0x${prog[bad]!.code.toString(16)}`, { pc: bad });
    this.length = prog.length;
    this.maxBack = opts.maxBackwardJumps ?? 1_000_000;
    // Scratch memory is zeroed per run (by a CLEAR_MEM prologue slot) unless
    // check_load_and_stores proves every read follows a write.
    const forwardOnly = prog.every((f, i) => f.code !== (C.BPF_JMP | C.BPF_JA) || i + 1 + (f.k | 0) > i);
    const base = forwardOnly && findUninitMem(prog) === undefined ? 0 : 1;
    // Word index of instruction i; jump targets are stored as word indices too.
    const at = (i: number): number => (i + base) * 4;
    const code = new Int32Array(at(prog.length));
    if (base === 1) code[0] = Op.CLEAR_MEM;
    prog.forEach((f, i) => {
      const [op, k] = predecode(f);
      const ja = f.code === (C.BPF_JMP | C.BPF_JA);
      const w = at(i);
      code[w] = op;
      code[w + 1] = k;
      code[w + 2] = at(ja ? i + 1 + (f.k | 0) : i + 1 + f.jt);
      code[w + 3] = ja ? 0 : at(i + 1 + f.jf);
    });
    // Jump threading: a conditional jump whose target is `ret #k` stores ~target and
    // returns at once; a `ja` to `ret #k` becomes that ret.
    const isRetK = (w: number): boolean => code[w] === Op.RET_K;
    for (let i = 0; i < prog.length; i++) {
      const w = at(i);
      const op = code[w]!;
      if (op >= Op.JEQ_K && op <= Op.JSET_X) {
        if (isRetK(code[w + 2]!)) code[w + 2] = ~code[w + 2]!;
        if (isRetK(code[w + 3]!)) code[w + 3] = ~code[w + 3]!;
      } else if (op === Op.JA && isRetK(code[w + 2]!)) {
        const t = code[w + 2]!;
        code.set(code.subarray(t, t + 4), w);
      }
    }
    // Superinstructions: load + conditional jump on k.
    for (let i = 0; i + 1 < prog.length; i++) {
      const fused = FUSE.get(code[at(i)]! * 256 + code[at(i + 1)]!);
      if (fused !== undefined) code[at(i)] = fused;
    }
    this.code = code;
  }

  private loopLimit(word: number): never {
    throw new CbpfError("loop_limit", `more than ${this.maxBack} backward jumps in one run`, { pc: (word >> 2) - (this.code[0] === Op.CLEAR_MEM ? 1 : 0) });
  }

  /**
   * Runs the filter over one packet: `caplen` captured bytes at `pkt[offset..]`, of
   * `wirelen` bytes on the wire. Returns the filter's u32 result (0 = reject).
   */
  run(pkt: Uint8Array, wirelen: number, caplen: number, offset: number): number {
    const code = this.code;
    const mem = this.mem;
    let back = this.maxBack;
    let A = 0;
    let X = 0;
    let pc = 0;
    for (;;) {
      const i = pc;
      switch (code[i]) {
        case Op.RET_K:
          return code[i + 1]! >>> 0;
        case Op.RET_A:
          return A >>> 0;
        case Op.RET_0:
          return 0;
        case Op.LD_W_ABS: {
          const k = code[i + 1]!;
          if (k + 4 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 24) | (pkt[o + 1]! << 16) | (pkt[o + 2]! << 8) | pkt[o + 3]!;
          pc += 4;
          continue;
        }
        case Op.LD_H_ABS: {
          const k = code[i + 1]!;
          if (k + 2 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 8) | pkt[o + 1]!;
          pc += 4;
          continue;
        }
        case Op.LD_B_ABS: {
          const k = code[i + 1]!;
          if (k >= caplen) return 0;
          A = pkt[offset + k]!;
          pc += 4;
          continue;
        }
        case Op.LD_W_IND: {
          const k = X + code[i + 1]!;
          if (X < 0 || k + 4 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 24) | (pkt[o + 1]! << 16) | (pkt[o + 2]! << 8) | pkt[o + 3]!;
          pc += 4;
          continue;
        }
        case Op.LD_H_IND: {
          const k = X + code[i + 1]!;
          if (X < 0 || k + 2 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 8) | pkt[o + 1]!;
          pc += 4;
          continue;
        }
        case Op.LD_B_IND: {
          const k = X + code[i + 1]!;
          if (X < 0 || k >= caplen) return 0;
          A = pkt[offset + k]!;
          pc += 4;
          continue;
        }
        case Op.LD_LEN:
          A = wirelen | 0;
          pc += 4;
          continue;
        case Op.LDX_LEN:
          X = wirelen | 0;
          pc += 4;
          continue;
        case Op.LD_IMM:
          A = code[i + 1]!;
          pc += 4;
          continue;
        case Op.LDX_IMM:
          X = code[i + 1]!;
          pc += 4;
          continue;
        case Op.LD_MEM:
          A = mem[code[i + 1]!]!;
          pc += 4;
          continue;
        case Op.LDX_MEM:
          X = mem[code[i + 1]!]!;
          pc += 4;
          continue;
        case Op.LDX_MSH: {
          const k = code[i + 1]!;
          if (k >= caplen) return 0;
          X = (pkt[offset + k]! & 0xf) << 2;
          pc += 4;
          continue;
        }
        case Op.ST:
          mem[code[i + 1]!] = A;
          pc += 4;
          continue;
        case Op.STX:
          mem[code[i + 1]!] = X;
          pc += 4;
          continue;
        case Op.JA:
          pc = code[i + 2]!;
          continue;
        case Op.JA_BACK:
          if (--back < 0) return this.loopLimit(pc);
          pc = code[i + 2]!;
          continue;
        case Op.JEQ_K: {
          const t = A === code[i + 1] ? code[i + 2]! : code[i + 3]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.JGT_K: {
          const t = (A ^ BIAS) > code[i + 1]! ? code[i + 2]! : code[i + 3]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.JGE_K: {
          const t = (A ^ BIAS) >= code[i + 1]! ? code[i + 2]! : code[i + 3]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.JSET_K: {
          const t = (A & code[i + 1]!) !== 0 ? code[i + 2]! : code[i + 3]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.JEQ_X: {
          const t = A === X ? code[i + 2]! : code[i + 3]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.JGT_X: {
          const t = (A ^ BIAS) > (X ^ BIAS) ? code[i + 2]! : code[i + 3]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.JGE_X: {
          const t = (A ^ BIAS) >= (X ^ BIAS) ? code[i + 2]! : code[i + 3]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.JSET_X: {
          const t = (A & X) !== 0 ? code[i + 2]! : code[i + 3]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.ADD_K:
          A = (A + code[i + 1]!) | 0;
          pc += 4;
          continue;
        case Op.SUB_K:
          A = (A - code[i + 1]!) | 0;
          pc += 4;
          continue;
        case Op.MUL_K:
          A = Math.imul(A, code[i + 1]!);
          pc += 4;
          continue;
        case Op.DIV_K:
          A = ((A >>> 0) / (code[i + 1]! >>> 0)) | 0;
          pc += 4;
          continue;
        case Op.MOD_K:
          A = ((A >>> 0) % (code[i + 1]! >>> 0)) | 0;
          pc += 4;
          continue;
        case Op.AND_K:
          A &= code[i + 1]!;
          pc += 4;
          continue;
        case Op.OR_K:
          A |= code[i + 1]!;
          pc += 4;
          continue;
        case Op.XOR_K:
          A ^= code[i + 1]!;
          pc += 4;
          continue;
        case Op.LSH_K:
          A <<= code[i + 1]!;
          pc += 4;
          continue;
        case Op.RSH_K:
          A = (A >>> code[i + 1]!) | 0;
          pc += 4;
          continue;
        case Op.ADD_X:
          A = (A + X) | 0;
          pc += 4;
          continue;
        case Op.SUB_X:
          A = (A - X) | 0;
          pc += 4;
          continue;
        case Op.MUL_X:
          A = Math.imul(A, X);
          pc += 4;
          continue;
        case Op.DIV_X:
          if (X === 0) return 0;
          A = ((A >>> 0) / (X >>> 0)) | 0;
          pc += 4;
          continue;
        case Op.MOD_X:
          if (X === 0) return 0;
          A = ((A >>> 0) % (X >>> 0)) | 0;
          pc += 4;
          continue;
        case Op.AND_X:
          A &= X;
          pc += 4;
          continue;
        case Op.OR_X:
          A |= X;
          pc += 4;
          continue;
        case Op.XOR_X:
          A ^= X;
          pc += 4;
          continue;
        case Op.LSH_X:
          A = (X >>> 0) < 32 ? A << X : 0;
          pc += 4;
          continue;
        case Op.RSH_X:
          A = (X >>> 0) < 32 ? (A >>> X) | 0 : 0;
          pc += 4;
          continue;
        case Op.NEG:
          A = -A | 0;
          pc += 4;
          continue;
        case Op.TAX:
          X = A;
          pc += 4;
          continue;
        case Op.TXA:
          A = X;
          pc += 4;
          continue;
        case Op.LDW_JEQ: {
          const k = code[i + 1]!;
          if (k + 4 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 24) | (pkt[o + 1]! << 16) | (pkt[o + 2]! << 8) | pkt[o + 3]!;
          const t = A === code[i + 5] ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDW_JGT: {
          const k = code[i + 1]!;
          if (k + 4 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 24) | (pkt[o + 1]! << 16) | (pkt[o + 2]! << 8) | pkt[o + 3]!;
          const t = (A ^ BIAS) > code[i + 5]! ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDW_JGE: {
          const k = code[i + 1]!;
          if (k + 4 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 24) | (pkt[o + 1]! << 16) | (pkt[o + 2]! << 8) | pkt[o + 3]!;
          const t = (A ^ BIAS) >= code[i + 5]! ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDW_JSET: {
          const k = code[i + 1]!;
          if (k + 4 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 24) | (pkt[o + 1]! << 16) | (pkt[o + 2]! << 8) | pkt[o + 3]!;
          const t = (A & code[i + 5]!) !== 0 ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDH_JEQ: {
          const k = code[i + 1]!;
          if (k + 2 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 8) | pkt[o + 1]!;
          const t = A === code[i + 5] ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDH_JGT: {
          const k = code[i + 1]!;
          if (k + 2 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 8) | pkt[o + 1]!;
          const t = (A ^ BIAS) > code[i + 5]! ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDH_JGE: {
          const k = code[i + 1]!;
          if (k + 2 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 8) | pkt[o + 1]!;
          const t = (A ^ BIAS) >= code[i + 5]! ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDH_JSET: {
          const k = code[i + 1]!;
          if (k + 2 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 8) | pkt[o + 1]!;
          const t = (A & code[i + 5]!) !== 0 ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDB_JEQ: {
          const k = code[i + 1]!;
          if (k >= caplen) return 0;
          A = pkt[offset + k]!;
          const t = A === code[i + 5] ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDB_JGT: {
          const k = code[i + 1]!;
          if (k >= caplen) return 0;
          A = pkt[offset + k]!;
          const t = (A ^ BIAS) > code[i + 5]! ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDB_JGE: {
          const k = code[i + 1]!;
          if (k >= caplen) return 0;
          A = pkt[offset + k]!;
          const t = (A ^ BIAS) >= code[i + 5]! ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDB_JSET: {
          const k = code[i + 1]!;
          if (k >= caplen) return 0;
          A = pkt[offset + k]!;
          const t = (A & code[i + 5]!) !== 0 ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDHI_JEQ: {
          const k = X + code[i + 1]!;
          if (X < 0 || k + 2 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 8) | pkt[o + 1]!;
          const t = A === code[i + 5] ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDHI_JSET: {
          const k = X + code[i + 1]!;
          if (X < 0 || k + 2 > caplen) return 0;
          const o = offset + k;
          A = (pkt[o]! << 8) | pkt[o + 1]!;
          const t = (A & code[i + 5]!) !== 0 ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDBI_JEQ: {
          const k = X + code[i + 1]!;
          if (X < 0 || k >= caplen) return 0;
          A = pkt[offset + k]!;
          const t = A === code[i + 5] ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.LDBI_JSET: {
          const k = X + code[i + 1]!;
          if (X < 0 || k >= caplen) return 0;
          A = pkt[offset + k]!;
          const t = (A & code[i + 5]!) !== 0 ? code[i + 6]! : code[i + 7]!;
          if (t < 0) return code[~t + 1]! >>> 0;
          pc = t;
          continue;
        }
        case Op.CLEAR_MEM:
          mem.fill(0);
          pc += 4;
          continue;
        default:
          return this.loopLimit(-4);
      }
    }
  }

  /** Runs over a whole buffer: the packet is all of `pkt`, wire length defaults to its length. */
  runPacket(pkt: Uint8Array, wirelen: number = pkt.length): number {
    return this.run(pkt, wirelen, pkt.length, 0);
  }

  /** run() != 0, for a PacketRecord-like packet (no copy of its bytes). */
  matches(p: { readonly buffer: Uint8Array; readonly dataOffset: number; readonly caplen: number; readonly len: number }): boolean {
    return this.run(p.buffer, p.len, p.caplen, p.dataOffset) !== 0;
  }
}

/** struct sock_filter -> [internal opcode, operand word]. Loads that can never fit become Op.RET_0. */
function predecode(f: SockFilter): [number, number] {
  const k = f.k >>> 0;
  // Offsets at or above 2^31 can never be within a Uint8Array's captured bytes:
  // such a load always fails, i.e. returns 0.
  const far = k > 0x7fffffff - 4;
  switch (f.code) {
    case C.BPF_RET | C.BPF_K: return [Op.RET_K, k | 0];
    case C.BPF_RET | C.BPF_A: return [Op.RET_A, 0];
    case C.BPF_LD | C.BPF_W | C.BPF_ABS: return far ? [Op.RET_0, 0] : [Op.LD_W_ABS, k];
    case C.BPF_LD | C.BPF_H | C.BPF_ABS: return far ? [Op.RET_0, 0] : [Op.LD_H_ABS, k];
    case C.BPF_LD | C.BPF_B | C.BPF_ABS: return far ? [Op.RET_0, 0] : [Op.LD_B_ABS, k];
    case C.BPF_LD | C.BPF_W | C.BPF_IND: return far ? [Op.RET_0, 0] : [Op.LD_W_IND, k];
    case C.BPF_LD | C.BPF_H | C.BPF_IND: return far ? [Op.RET_0, 0] : [Op.LD_H_IND, k];
    case C.BPF_LD | C.BPF_B | C.BPF_IND: return far ? [Op.RET_0, 0] : [Op.LD_B_IND, k];
    case C.BPF_LDX | C.BPF_MSH | C.BPF_B: return far ? [Op.RET_0, 0] : [Op.LDX_MSH, k];
    case C.BPF_LD | C.BPF_W | C.BPF_LEN: return [Op.LD_LEN, 0];
    case C.BPF_LDX | C.BPF_W | C.BPF_LEN: return [Op.LDX_LEN, 0];
    case C.BPF_LD | C.BPF_IMM: return [Op.LD_IMM, k | 0];
    case C.BPF_LDX | C.BPF_IMM: return [Op.LDX_IMM, k | 0];
    case C.BPF_LD | C.BPF_MEM: return [Op.LD_MEM, k];
    case C.BPF_LDX | C.BPF_MEM: return [Op.LDX_MEM, k];
    case C.BPF_ST: return [Op.ST, k];
    case C.BPF_STX: return [Op.STX, k];
    case C.BPF_JMP | C.BPF_JA: return [(k | 0) < 0 ? Op.JA_BACK : Op.JA, 0];
    case C.BPF_ALU | C.BPF_NEG: return [Op.NEG, 0];
    case C.BPF_MISC | C.BPF_TAX: return [Op.TAX, 0];
    case C.BPF_MISC | C.BPF_TXA: return [Op.TXA, 0];
  }
  if (C.BPF_CLASS(f.code) === C.BPF_ALU) {
    const base = ALU_K[C.BPF_OP(f.code)]!;
    return C.BPF_SRC(f.code) === C.BPF_X ? [base + (Op.ADD_X - Op.ADD_K), 0] : [base, k | 0];
  }
  const base = JMP_K[C.BPF_OP(f.code)]!;
  if (C.BPF_SRC(f.code) === C.BPF_X) return [base + (Op.JEQ_X - Op.JEQ_K), 0];
  // jgt/jge compare biased values; jeq/jset use k as is.
  return [base, base === Op.JGT_K || base === Op.JGE_K ? (k ^ BIAS) | 0 : k | 0];
}
