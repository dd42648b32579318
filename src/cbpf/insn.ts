/**
 * The two models of a classic BPF instruction: SockFilter is `struct sock_filter` as
 * stored (constants.ts); CbpfInsn is what it means, decoded once, for consumers that
 * switch on `kind` (the checker's messages, the eBPF converter, a compiler emitting
 * code). The opcodes that decode are exactly those the kernel accepts
 * (chk_code_allowed() in net/core/filter.c); any other code decodes to "unknown" so
 * that decoding is total and the listing can print libpcap's `unimp`.
 *
 * Fields an instruction does not use: k is kept everywhere (as `k`, optional where the
 * instruction ignores it), because libpcap's optimizer leaves stale values there (a
 * `tax` with k = 5) and `tcpdump -dd` prints them; jt/jf of non-jumps are dropped
 * (encode() writes 0, as BPF_STMT does; libpcap never sets them).
 */
import { DecodeError, EncodeError, assertNever } from "../errors/index.js";
import * as C from "./constants.js";
import type { SockFilter } from "./constants.js";

export type Reg = "a" | "x";
export type LoadSize = 1 | 2 | 4;
export type CbpfAluOp = "add" | "sub" | "mul" | "div" | "mod" | "and" | "or" | "xor" | "lsh" | "rsh";
export type CbpfJmpCond = "jeq" | "jgt" | "jge" | "jset";
/** Second operand: the constant k (BPF_K) or the index register X (BPF_X). */
export type Src = "k" | "x";

export type CbpfInsn =
  /** A = P[k : size] (big-endian), BPF_LD|size|BPF_ABS. */
  | { readonly kind: "ld_abs"; readonly size: LoadSize; readonly k: number }
  /** A = P[X + k : size], BPF_LD|size|BPF_IND. */
  | { readonly kind: "ld_ind"; readonly size: LoadSize; readonly k: number }
  /** A or X = wire length, BPF_LD|BPF_W|BPF_LEN / BPF_LDX|BPF_W|BPF_LEN. */
  | { readonly kind: "ld_len"; readonly dst: Reg; readonly k?: number }
  /** A or X = k, BPF_LD|BPF_IMM / BPF_LDX|BPF_IMM. */
  | { readonly kind: "ld_imm"; readonly dst: Reg; readonly k: number }
  /** A or X = M[k], BPF_LD|BPF_MEM / BPF_LDX|BPF_MEM. */
  | { readonly kind: "ld_mem"; readonly dst: Reg; readonly k: number }
  /** X = 4 * (P[k] & 0xf), BPF_LDX|BPF_B|BPF_MSH (the IPv4 header length idiom). */
  | { readonly kind: "ldx_msh"; readonly k: number }
  /** M[k] = A (BPF_ST) or X (BPF_STX). */
  | { readonly kind: "st"; readonly src: Reg; readonly k: number }
  /** A = A op (k or X), BPF_ALU|op|src (k is ignored, but kept, with src x). */
  | { readonly kind: "alu"; readonly op: CbpfAluOp; readonly src: Src; readonly k: number }
  /** A = -A, BPF_ALU|BPF_NEG. */
  | { readonly kind: "neg"; readonly k?: number }
  /** pc += k, BPF_JMP|BPF_JA (k is u32; libpcap reads it signed, the kernel does not). */
  | { readonly kind: "ja"; readonly k: number }
  /** pc += (A cond (k or X)) ? jt : jf, BPF_JMP|cond|src. */
  | { readonly kind: "jmp"; readonly cond: CbpfJmpCond; readonly src: Src; readonly k: number; readonly jt: number; readonly jf: number }
  /** return k (BPF_RET|BPF_K) or A (BPF_RET|BPF_A). */
  | { readonly kind: "ret"; readonly src: "k" | "a"; readonly k: number }
  /** X = A, BPF_MISC|BPF_TAX. */
  | { readonly kind: "tax"; readonly k?: number }
  /** A = X, BPF_MISC|BPF_TXA. */
  | { readonly kind: "txa"; readonly k?: number }
  /** A code the kernel does not accept; kept verbatim. */
  | { readonly kind: "unknown"; readonly code: number; readonly jt: number; readonly jf: number; readonly k: number };

export type CbpfInsnKind = CbpfInsn["kind"];

const ALU: ReadonlyArray<readonly [number, CbpfAluOp]> = [
  [C.BPF_ADD, "add"],
  [C.BPF_SUB, "sub"],
  [C.BPF_MUL, "mul"],
  [C.BPF_DIV, "div"],
  [C.BPF_MOD, "mod"],
  [C.BPF_AND, "and"],
  [C.BPF_OR, "or"],
  [C.BPF_XOR, "xor"],
  [C.BPF_LSH, "lsh"],
  [C.BPF_RSH, "rsh"],
];
const JMP: ReadonlyArray<readonly [number, CbpfJmpCond]> = [
  [C.BPF_JEQ, "jeq"],
  [C.BPF_JGT, "jgt"],
  [C.BPF_JGE, "jge"],
  [C.BPF_JSET, "jset"],
];
const SIZE_OF: Readonly<Record<number, LoadSize>> = { [C.BPF_W]: 4, [C.BPF_H]: 2, [C.BPF_B]: 1 };
export const sizeBits = (size: LoadSize): number => (size === 4 ? C.BPF_W : size === 2 ? C.BPF_H : C.BPF_B);
const aluBits = (op: CbpfAluOp): number => ALU.find((a) => a[1] === op)![0];
const jmpBits = (cond: CbpfJmpCond): number => JMP.find((j) => j[1] === cond)![0];

/** struct sock_filter -> meaning. Total: codes the kernel rejects become "unknown". */
export function decodeInsn(f: SockFilter): CbpfInsn {
  const { code, jt, jf } = f;
  const k = f.k >>> 0;
  if (code > 0xff) return { kind: "unknown", code, jt, jf, k };
  switch (C.BPF_CLASS(code)) {
    case C.BPF_LD:
    case C.BPF_LDX: {
      const dst: Reg = C.BPF_CLASS(code) === C.BPF_LD ? "a" : "x";
      const size = SIZE_OF[C.BPF_SIZE(code)];
      switch (C.BPF_MODE(code)) {
        case C.BPF_ABS:
        case C.BPF_IND:
          if (dst === "a" && size !== undefined) return { kind: C.BPF_MODE(code) === C.BPF_ABS ? "ld_abs" : "ld_ind", size, k };
          break;
        case C.BPF_LEN:
          if (C.BPF_SIZE(code) === C.BPF_W) return k === 0 ? { kind: "ld_len", dst } : { kind: "ld_len", dst, k };
          break;
        case C.BPF_IMM:
          if (C.BPF_SIZE(code) === C.BPF_W) return { kind: "ld_imm", dst, k };
          break;
        case C.BPF_MEM:
          if (C.BPF_SIZE(code) === C.BPF_W) return { kind: "ld_mem", dst, k };
          break;
        case C.BPF_MSH:
          if (dst === "x" && C.BPF_SIZE(code) === C.BPF_B) return { kind: "ldx_msh", k };
          break;
      }
      break;
    }
    case C.BPF_ST:
    case C.BPF_STX:
      if ((code & 0xf8) === 0) return { kind: "st", src: code === C.BPF_ST ? "a" : "x", k };
      break;
    case C.BPF_ALU: {
      if (code === (C.BPF_ALU | C.BPF_NEG)) return k === 0 ? { kind: "neg" } : { kind: "neg", k };
      const op = ALU.find((a) => a[0] === C.BPF_OP(code));
      if (op !== undefined) return { kind: "alu", op: op[1], src: C.BPF_SRC(code) === C.BPF_X ? "x" : "k", k };
      break;
    }
    case C.BPF_JMP: {
      if (code === (C.BPF_JMP | C.BPF_JA)) return { kind: "ja", k };
      const cond = JMP.find((j) => j[0] === C.BPF_OP(code));
      if (cond !== undefined) return { kind: "jmp", cond: cond[1], src: C.BPF_SRC(code) === C.BPF_X ? "x" : "k", k, jt, jf };
      break;
    }
    case C.BPF_RET:
      if (code === (C.BPF_RET | C.BPF_K)) return { kind: "ret", src: "k", k };
      if (code === (C.BPF_RET | C.BPF_A)) return { kind: "ret", src: "a", k };
      break;
    case C.BPF_MISC:
      if (code === (C.BPF_MISC | C.BPF_TAX)) return k === 0 ? { kind: "tax" } : { kind: "tax", k };
      if (code === (C.BPF_MISC | C.BPF_TXA)) return k === 0 ? { kind: "txa" } : { kind: "txa", k };
      break;
  }
  return { kind: "unknown", code, jt, jf, k };
}

function u8(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 255) throw new EncodeError(`${what} ${v} does not fit in 8 bits (0-255)`);
  return v;
}
function u32(v: number): number {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new EncodeError(`k ${v} does not fit in 32 bits`);
  return v >>> 0;
}

/** Meaning -> struct sock_filter (unused fields 0). */
export function encodeInsn(insn: CbpfInsn): SockFilter {
  const s = (code: number, k = 0): SockFilter => ({ code, jt: 0, jf: 0, k: u32(k) });
  switch (insn.kind) {
    case "ld_abs":
      return s(C.BPF_LD | sizeBits(insn.size) | C.BPF_ABS, insn.k);
    case "ld_ind":
      return s(C.BPF_LD | sizeBits(insn.size) | C.BPF_IND, insn.k);
    case "ld_len":
      return s((insn.dst === "a" ? C.BPF_LD : C.BPF_LDX) | C.BPF_W | C.BPF_LEN, insn.k ?? 0);
    case "ld_imm":
      return s((insn.dst === "a" ? C.BPF_LD : C.BPF_LDX) | C.BPF_IMM, insn.k);
    case "ld_mem":
      return s((insn.dst === "a" ? C.BPF_LD : C.BPF_LDX) | C.BPF_MEM, insn.k);
    case "ldx_msh":
      return s(C.BPF_LDX | C.BPF_B | C.BPF_MSH, insn.k);
    case "st":
      return s(insn.src === "a" ? C.BPF_ST : C.BPF_STX, insn.k);
    case "alu":
      return s(C.BPF_ALU | aluBits(insn.op) | (insn.src === "x" ? C.BPF_X : C.BPF_K), insn.k);
    case "neg":
      return s(C.BPF_ALU | C.BPF_NEG, insn.k ?? 0);
    case "ja":
      return s(C.BPF_JMP | C.BPF_JA, insn.k);
    case "jmp":
      return {
        code: C.BPF_JMP | jmpBits(insn.cond) | (insn.src === "x" ? C.BPF_X : C.BPF_K),
        jt: u8(insn.jt, "jt"),
        jf: u8(insn.jf, "jf"),
        k: u32(insn.k),
      };
    case "ret":
      return s(C.BPF_RET | (insn.src === "a" ? C.BPF_A : C.BPF_K), insn.k);
    case "tax":
      return s(C.BPF_MISC | C.BPF_TAX, insn.k ?? 0);
    case "txa":
      return s(C.BPF_MISC | C.BPF_TXA, insn.k ?? 0);
    case "unknown":
      if (!Number.isInteger(insn.code) || insn.code < 0 || insn.code > 0xffff) throw new EncodeError(`code ${insn.code} does not fit in 16 bits`);
      return { code: insn.code, jt: u8(insn.jt, "jt"), jf: u8(insn.jf, "jf"), k: u32(insn.k) };
    default:
      return assertNever(insn, "cBPF instruction");
  }
}

export const decodeProgram = (prog: readonly SockFilter[]): CbpfInsn[] => prog.map(decodeInsn);
export const encodeProgram = (insns: readonly CbpfInsn[]): SockFilter[] => insns.map(encodeInsn);

export type ByteOrder = "little" | "big";

/** Bytes (an array of struct sock_filter, in `order`) -> instructions. */
export function fromBytes(bytes: Uint8Array, order: ByteOrder = "little"): SockFilter[] {
  if (bytes.length % 8 !== 0) throw new DecodeError(Math.floor(bytes.length / 8), `cBPF program length ${bytes.length} is not a multiple of 8 bytes`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = order === "little";
  const out: SockFilter[] = [];
  for (let o = 0; o < bytes.length; o += 8) {
    out.push({ code: v.getUint16(o, le), jt: bytes[o + 2]!, jf: bytes[o + 3]!, k: v.getUint32(o + 4, le) });
  }
  return out;
}

/** Instructions -> bytes (struct sock_filter array). */
export function toBytes(prog: readonly SockFilter[], order: ByteOrder = "little"): Uint8Array {
  const out = new Uint8Array(prog.length * 8);
  const v = new DataView(out.buffer);
  const le = order === "little";
  prog.forEach((f, i) => {
    const o = i * 8;
    if (!Number.isInteger(f.code) || f.code < 0 || f.code > 0xffff) throw new EncodeError(`insn ${i}: code ${f.code} does not fit in 16 bits`);
    v.setUint16(o, f.code, le);
    out[o + 2] = u8(f.jt, "jt");
    out[o + 3] = u8(f.jf, "jf");
    v.setUint32(o + 4, u32(f.k), le);
  });
  return out;
}
