/**
 * One instruction in the kernel/LLVM syntax, as llvm-objdump prints it.
 *
 * Default (lossless) mode: the text of llvm-objdump 14 (`llvm-objdump -d`,
 * BPF target, default features) wherever that text identifies the instruction;
 * the LLVM 17+ spelling for what LLVM 14 cannot print (`r1 s/= r2`,
 * `r1 %= r2`, `r0 = (s8)r1`, `r0 = *(s8 *)(r1 + 0)`, `r1 = bswap16 r1`,
 * `gotol +5`, `*(u32 *)(r1 + 0) = 5`, `if r1 & r2 goto +1`, 32-bit atomics with
 * w registers); and a tsbpf spelling where LLVM's text is ambiguous:
 * `call local +3` and `call kfunc 5` (`call kfunc 5, 2` with a module BTF
 * index in off; LLVM prints `call 3` for all three call kinds), `ld_pseudo r1, 2, 3, 8` (a fourth operand for a non-zero second-slot
 * imm, which LLVM drops), `r0 = *(u8 *)skb[r1 + 4]` (LLVM drops the imm of an
 * indirect packet load), `callx r1` with the register in dst_reg (LLVM 14 reads
 * it from imm). Every string reassembles (assemble(..., {syntax: "llvm"})) to
 * the same bytes.
 *
 * `llvm14: true`: exactly what llvm-objdump 14 prints, including its lossy and
 * wrong texts and `<unknown>` for the opcodes it does not decode. objdump()
 * uses this mode. `alu32: true` mirrors `--mattr=+alu32` (sub-64-bit loads and
 * stores and 32-bit atomics name w registers).
 */
import { assertNever } from "../errors/index.js";
import type { AluOp, Insn, JmpCond } from "../isa/index.js";
import { LD_IMM64_PSEUDOS } from "../isa/index.js";

export interface LlvmFormatOptions {
  /** Reproduce llvm-objdump 14 exactly (lossy where it is lossy, `<unknown>` where it cannot decode). Default false. */
  readonly llvm14?: boolean;
  /** Mirror `llvm-objdump --mattr=+alu32`. Default false. */
  readonly alu32?: boolean;
}

export const UNKNOWN = "<unknown>";

const ALU_TEXT: Readonly<Record<Exclude<AluOp, "mov" | "neg" | "movsx">, string>> = {
  add: "+=", sub: "-=", mul: "*=", div: "/=", sdiv: "s/=", or: "|=", and: "&=", lsh: "<<=", rsh: ">>=",
  mod: "%=", smod: "s%=", xor: "^=", arsh: "s>>=",
};

export const JMP_TEXT: Readonly<Record<JmpCond, string>> = {
  jeq: "==", jne: "!=", jgt: ">", jge: ">=", jlt: "<", jle: "<=", jsgt: "s>", jsge: "s>=", jslt: "s<", jsle: "s<=", jset: "&",
};

const ATOMIC_TEXT = { add: "+=", or: "|=", and: "&=", xor: "^=" } as const;

const sizeType = (size: number): string => `u${size * 8}`;
/** `(r10 - 8)`, `(r1 + 0)`. */
const addr = (base: number, off: number): string => `r${base} ${off < 0 ? "-" : "+"} ${Math.abs(off)}`;
/** `+3`, `-2`, `+0`. */
export const rel = (off: number): string => (off < 0 ? `${off}` : `+${off}`);

export function formatLlvm(insn: Insn, options: LlvmFormatOptions = {}): string {
  const v14 = options.llvm14 === true;
  const alu32 = options.alu32 === true;
  switch (insn.kind) {
    case "alu": {
      const w = insn.alu64 ? "r" : "w";
      const d = `${w}${insn.dst}`;
      const s = insn.src.kind === "reg" ? `${w}${insn.src.reg}` : `${insn.src.imm}`;
      switch (insn.op) {
        case "neg":
          return `${d} = -${d}`;
        case "mov":
          return `${d} = ${s}`;
        case "movsx":
          // LLVM 14 ignores `off` and prints a plain move.
          return v14 ? `${d} = ${s}` : `${d} = (s${insn.extWidth ?? 0})${s}`;
        case "mod":
        case "smod":
          // LLVM 14 has no BPF_MOD instruction.
          return v14 ? UNKNOWN : `${d} ${ALU_TEXT[insn.op]} ${s}`;
        case "sdiv":
          return `${d} ${v14 ? "/=" : "s/="} ${s}`;
        default:
          return `${d} ${ALU_TEXT[insn.op]} ${s}`;
      }
    }
    case "end":
      if (insn.order === "bswap" && v14) return UNKNOWN;
      return `r${insn.dst} = ${insn.order}${insn.width} r${insn.dst}`;
    case "jmp": {
      if (insn.cond === "jset" && v14) return UNKNOWN;
      const w = insn.jmp32 ? "w" : "r";
      const s = insn.src.kind === "reg" ? `${w}${insn.src.reg}` : `${insn.src.imm}`;
      return `if ${w}${insn.dst} ${JMP_TEXT[insn.cond]} ${s} goto ${rel(insn.off)}`;
    }
    case "ja":
      if (insn.long) return v14 ? UNKNOWN : `gotol ${rel(insn.off)}`;
      return `goto ${rel(insn.off)}`;
    case "call":
      if (v14 || insn.target === "helper") return `call ${insn.imm}`;
      if (insn.target === "local") return `call local ${rel(insn.imm)}`;
      return insn.off ? `call kfunc ${insn.imm}, ${insn.off}` : `call kfunc ${insn.imm}`;
    case "callx":
      // LLVM 14 takes the register from imm, which is 0 in every valid callx.
      return v14 ? "callx r0" : `callx r${insn.reg}`;
    case "exit":
      return "exit";
    case "ld_imm64": {
      if (insn.pseudo === "imm") return `r${insn.dst} = ${BigInt.asIntN(64, insn.value)} ll`;
      const src = LD_IMM64_PSEUDOS.indexOf(insn.pseudo);
      const base = `ld_pseudo\tr${insn.dst}, ${src}, ${insn.imm >>> 0}`;
      return v14 || insn.imm2 === 0 ? base : `${base}, ${insn.imm2 >>> 0}`;
    }
    case "ld_abs":
      return `r0 = *(${sizeType(insn.size)} *)skb[${insn.imm}]`;
    case "ld_ind":
      if (v14 || insn.imm === 0) return `r0 = *(${sizeType(insn.size)} *)skb[r${insn.src}]`;
      return `r0 = *(${sizeType(insn.size)} *)skb[r${insn.src} ${insn.imm < 0 ? "-" : "+"} ${Math.abs(insn.imm)}]`;
    case "ldx": {
      if (insn.signed) return v14 ? UNKNOWN : `r${insn.dst} = *(s${insn.size * 8} *)(${addr(insn.src, insn.off)})`;
      const w = alu32 && insn.size !== 8 ? "w" : "r";
      return `${w}${insn.dst} = *(${sizeType(insn.size)} *)(${addr(insn.src, insn.off)})`;
    }
    case "st":
      return v14 ? UNKNOWN : `*(${sizeType(insn.size)} *)(${addr(insn.dst, insn.off)}) = ${insn.imm}`;
    case "stx": {
      const w = alu32 && insn.size !== 8 ? "w" : "r";
      return `*(${sizeType(insn.size)} *)(${addr(insn.dst, insn.off)}) = ${w}${insn.src}`;
    }
    case "atomic":
      return formatAtomic(insn, v14, alu32);
    default:
      return assertNever(insn, "instruction");
  }
}

function formatAtomic(insn: Extract<Insn, { kind: "atomic" }>, v14: boolean, alu32: boolean): string {
  const m = `${addr(insn.dst, insn.off)}`;
  if (insn.size === 4 && v14 && !alu32) {
    // Without alu32, LLVM 14 decodes only the 32-bit add, and reads the fetch variant as the plain add.
    return insn.op === "add" ? `lock *(u32 *)(${m}) += r${insn.src}` : UNKNOWN;
  }
  const w = insn.size === 4 ? "w" : "r";
  const t = sizeType(insn.size);
  switch (insn.op) {
    case "xchg":
      return insn.size === 8 ? `r${insn.src} = xchg_64(${m}, r${insn.src})` : `w${insn.src} = xchg32_32(${m}, w${insn.src})`;
    case "cmpxchg":
      return insn.size === 8 ? `r0 = cmpxchg_64(${m}, r0, r${insn.src})` : `w0 = cmpxchg32_32(${m}, w0, w${insn.src})`;
    default:
      if (!insn.fetch) return `lock *(${t} *)(${m}) ${ATOMIC_TEXT[insn.op]} ${w}${insn.src}`;
      return `${w}${insn.src} = atomic_fetch_${insn.op}((${t} *)(${m}), ${w}${insn.src})`;
  }
}
