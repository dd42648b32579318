/**
 * Predecoding for the interpreter: the decoded instructions become flat typed arrays
 * indexed by slot, with one micro-op number per slot. Micro-ops are the kernel opcode
 * bytes, normalised so the hot loop has fewer cases:
 *
 *  - BPF_K forms become their BPF_X twins: each immediate gets its own read-only
 *    "constant register" (index >= 11) holding the imm sign-extended to 64 bits, so
 *    `r1 += 5` and `r1 += r2` run the same code. ST becomes STX the same way, and
 *    ld_imm64 becomes a 64-bit move from a constant register.
 *  - Operations that hide in other fields (sdiv/smod, movsx, byte swaps, local and
 *    kfunc calls) and the traps get the synthetic numbers OP_* >= 0x100 below, kept
 *    dense: V8 compiles a switch into a jump table only when its case range is small
 *    relative to the number of cases, and the interpreter's dispatch depends on that.
 *  - Slot `length` is a trap: jumps that leave the program and falling off its end
 *    land there. The second slot of ld_imm64 traps too (jump into the middle).
 */
import * as C from "../isa/index.js";
import type { Insn } from "../isa/index.js";
import { assertNever } from "../errors/index.js";
import { FUNC_PTR_TAG_HI } from "./helpers.js";

export const OP_SDIV64 = 0x100;
export const OP_SMOD64 = 0x101;
export const OP_SDIV32 = 0x102;
export const OP_SMOD32 = 0x103;
export const OP_MOVSX8_64 = 0x104;
export const OP_MOVSX16_64 = 0x105;
export const OP_MOVSX32_64 = 0x106;
export const OP_MOVSX8_32 = 0x107;
export const OP_MOVSX16_32 = 0x108;
export const OP_LE16 = 0x109;
export const OP_LE32 = 0x10a;
export const OP_LE64 = 0x10b;
/** be16/32/64 and bswap16/32/64 are the same operation on a little-endian machine. */
export const OP_BE16 = 0x10c;
export const OP_BE32 = 0x10d;
export const OP_BE64 = 0x10e;
export const OP_CALL_LOCAL = 0x10f;
export const OP_CALL_KFUNC = 0x110;
export const OP_TRAP_END = 0x111;
export const OP_TRAP_LDIMM64_HALF = 0x112;

/** Highest constant register index `word` can carry (19 bits). */
const MAX_CONST_REG = (1 << 19) - 1;

/** Number of real registers; constant registers follow them. */
export const NUM_REGS = 11;

export interface PredecodedProgram {
  /** Instructions in slot order (ld_imm64 occupies two slots, listed once). */
  readonly insns: readonly Insn[];
  /** Slot count. */
  readonly length: number;
  /** Instruction at each slot index (undefined for the second half of ld_imm64). */
  readonly bySlot: ReadonlyArray<Insn | undefined>;
  readonly op: Uint16Array;
  /** op | dst << 9 | src << 13, one load per instruction in the interpreter's dispatch. */
  readonly word: Uint32Array;
  readonly dst: Uint8Array;
  /** Source register, or the constant register holding the immediate. */
  readonly src: Uint32Array;
  readonly off: Int32Array;
  readonly imm: Int32Array;
  /** Jump / local-call target slot (== length when out of range). */
  readonly target: Int32Array;
  /** Initial register file: r0-r10 then one constant register per immediate. */
  readonly constLo: Int32Array;
  readonly constHi: Int32Array;
}

export function predecode(insns: readonly Insn[]): PredecodedProgram {
  let length = 0;
  for (const i of insns) length += i.kind === "ld_imm64" ? 2 : 1;
  const n = length + 1;
  const op = new Uint16Array(n).fill(OP_TRAP_END);
  const dst = new Uint8Array(n);
  const src = new Uint32Array(n);
  const off = new Int32Array(n);
  const imm = new Int32Array(n);
  const target = new Int32Array(n).fill(length);
  const consts: Array<[number, number]> = [];
  const bySlot: Array<Insn | undefined> = new Array(length).fill(undefined);
  // Equal immediates share one constant register: the index must fit the 19 bits it
  // has in `word`, and a 1M-instruction program can hold that many immediates.
  const constIndex = new Map<string, number>();
  const konst = (lo: number, hi: number): number => {
    const key = `${lo},${hi}`;
    let i = constIndex.get(key);
    if (i === undefined) {
      consts.push([lo, hi]);
      i = NUM_REGS + consts.length - 1;
      if (i > MAX_CONST_REG) throw new RangeError(`more than ${MAX_CONST_REG - NUM_REGS + 1} distinct immediates: the interpreter cannot hold this program (use the JIT)`);
      constIndex.set(key, i);
    }
    return i;
  };
  const konstImm = (v: number): number => konst(v, v >> 31);
  const jumpTo = (pc: number, delta: number): number => {
    const t = pc + 1 + delta;
    return t >= 0 && t < length ? t : length;
  };

  for (const insn of insns) {
    const pc = insn.pc;
    bySlot[pc] = insn;
    switch (insn.kind) {
      case "alu": {
        const cls = insn.alu64 ? C.BPF_ALU64 : C.BPF_ALU;
        dst[pc] = insn.dst;
        src[pc] = insn.src.kind === "reg" ? insn.src.reg : konstImm(insn.src.imm);
        switch (insn.op) {
          case "neg":
            op[pc] = cls | C.BPF_NEG;
            break;
          case "sdiv":
            op[pc] = insn.alu64 ? OP_SDIV64 : OP_SDIV32;
            break;
          case "smod":
            op[pc] = insn.alu64 ? OP_SMOD64 : OP_SMOD32;
            break;
          case "movsx": {
            const w = insn.extWidth ?? 8;
            op[pc] = insn.alu64 ? (w === 8 ? OP_MOVSX8_64 : w === 16 ? OP_MOVSX16_64 : OP_MOVSX32_64) : w === 8 ? OP_MOVSX8_32 : OP_MOVSX16_32;
            break;
          }
          default: {
            const bits = C.ALU_OPS.find((a) => a[1] === insn.op)![0];
            op[pc] = cls | bits | C.BPF_X;
          }
        }
        break;
      }
      case "end": {
        const w = insn.width === 16 ? 0 : insn.width === 32 ? 1 : 2;
        op[pc] = (insn.order === "le" ? OP_LE16 : OP_BE16) + w;
        dst[pc] = insn.dst;
        break;
      }
      case "jmp": {
        const bits = C.JMP_CONDS.find((j) => j[1] === insn.cond)![0];
        op[pc] = (insn.jmp32 ? C.BPF_JMP32 : C.BPF_JMP) | bits | C.BPF_X;
        dst[pc] = insn.dst;
        src[pc] = insn.src.kind === "reg" ? insn.src.reg : konstImm(insn.src.imm);
        target[pc] = jumpTo(pc, insn.off);
        break;
      }
      case "ja":
        op[pc] = C.BPF_JMP | C.BPF_JA;
        target[pc] = jumpTo(pc, insn.off);
        break;
      case "ld_imm64":
        op[pc] = C.BPF_LD | C.BPF_IMM | C.BPF_DW;
        dst[pc] = insn.dst;
        // PTR_TO_FUNC becomes a tagged slot index (helpers.ts); map pseudo forms must have
        // been resolved to addresses by the loader, so their value is loaded as it stands.
        src[pc] = insn.pseudo === "func" ? konst(jumpTo(pc, insn.imm), FUNC_PTR_TAG_HI) : konst(C.loOf(insn.value), C.hiOf(insn.value));
        op[pc + 1] = OP_TRAP_LDIMM64_HALF;
        imm[pc] = C.LD_IMM64_PSEUDOS.indexOf(insn.pseudo);
        target[pc] = insn.pseudo === "func" ? jumpTo(pc, insn.imm) : length;
        break;
      case "ld_abs":
      case "ld_ind":
        op[pc] = (insn.kind === "ld_abs" ? C.BPF_ABS : C.BPF_IND) | C.sizeField(insn.size);
        src[pc] = insn.src;
        imm[pc] = insn.imm;
        break;
      case "ldx":
        op[pc] = C.BPF_LDX | (insn.signed ? C.BPF_MEMSX : C.BPF_MEM) | C.sizeField(insn.size);
        dst[pc] = insn.dst;
        src[pc] = insn.src;
        off[pc] = insn.off;
        break;
      case "st":
      case "stx":
        op[pc] = C.BPF_STX | C.BPF_MEM | C.sizeField(insn.size);
        dst[pc] = insn.dst;
        src[pc] = insn.kind === "stx" ? insn.src : konstImm(insn.imm);
        off[pc] = insn.off;
        break;
      case "atomic":
        op[pc] = C.BPF_STX | C.BPF_ATOMIC | C.sizeField(insn.size);
        dst[pc] = insn.dst;
        src[pc] = insn.src;
        off[pc] = insn.off;
        imm[pc] = C.ATOMIC_IMMS.find((a) => a[1] === insn.op && a[2] === insn.fetch)![0];
        break;
      case "call":
        op[pc] = insn.target === "helper" ? C.BPF_JMP | C.BPF_CALL : insn.target === "local" ? OP_CALL_LOCAL : OP_CALL_KFUNC;
        imm[pc] = insn.imm;
        if (insn.target === "local") target[pc] = jumpTo(pc, insn.imm);
        break;
      case "callx":
        op[pc] = C.BPF_JMP | C.BPF_CALL | C.BPF_X;
        src[pc] = insn.reg;
        break;
      case "exit":
        op[pc] = C.BPF_JMP | C.BPF_EXIT;
        break;
      default:
        assertNever(insn, "instruction");
    }
  }
  const constLo = new Int32Array(NUM_REGS + consts.length);
  const constHi = new Int32Array(NUM_REGS + consts.length);
  consts.forEach(([lo, hi], i) => {
    constLo[NUM_REGS + i] = lo;
    constHi[NUM_REGS + i] = hi;
  });
  const word = new Uint32Array(n);
  for (let i = 0; i < n; i++) word[i] = (op[i]! | (dst[i]! << 9) | (src[i]! << 13)) >>> 0;
  return { insns, length, bySlot, op, word, dst, src, off, imm, target, constLo, constHi };
}
