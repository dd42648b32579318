/**
 * A deliberately simple BigInt model of RFC 9669 ALU and jump semantics, written
 * from the RFC's text, used as the oracle for the interpreter's fast lo/hi code.
 */
import type { AluOp, JmpCond } from "../../src/isa/index.js";

const M64 = (1n << 64n) - 1n;
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const u32 = (x: bigint): bigint => BigInt.asUintN(32, x);
const s32 = (x: bigint): bigint => BigInt.asIntN(32, x);

/** dst op src, where src is already the operand value (an imm is sign-extended by the caller). */
export function refAlu(op: AluOp, alu64: boolean, dst: bigint, src: bigint, extWidth?: 8 | 16 | 32): bigint {
  if (alu64) {
    const a = u64(dst);
    const b = u64(src);
    switch (op) {
      case "add": return u64(a + b);
      case "sub": return u64(a - b);
      case "mul": return u64(a * b);
      case "div": return b === 0n ? 0n : a / b;
      case "sdiv": return b === 0n ? 0n : u64(s64(a) / s64(b));
      case "mod": return b === 0n ? a : a % b;
      case "smod": return b === 0n ? a : u64(s64(a) % s64(b));
      case "or": return a | b;
      case "and": return a & b;
      case "xor": return a ^ b;
      case "lsh": return u64(a << (b & 63n));
      case "rsh": return a >> (b & 63n);
      case "arsh": return u64(s64(a) >> (b & 63n));
      case "neg": return u64(-a);
      case "mov": return b;
      case "movsx": return u64(BigInt.asIntN(extWidth!, b));
    }
  }
  const a = u32(dst);
  const b = u32(src);
  switch (op) {
    case "add": return u32(a + b);
    case "sub": return u32(a - b);
    case "mul": return u32(a * b);
    case "div": return b === 0n ? 0n : a / b;
    case "sdiv": return b === 0n ? 0n : u32(s32(a) / s32(b));
    case "mod": return b === 0n ? a : a % b;
    case "smod": return b === 0n ? a : u32(s32(a) % s32(b));
    case "or": return a | b;
    case "and": return a & b;
    case "xor": return a ^ b;
    case "lsh": return u32(a << (b & 31n));
    case "rsh": return a >> (b & 31n);
    case "arsh": return u32(s32(a) >> (b & 31n));
    case "neg": return u32(-a);
    case "mov": return b;
    case "movsx": return u32(BigInt.asIntN(extWidth!, b));
  }
  return M64;
}

export function refCond(cond: JmpCond, jmp32: boolean, dst: bigint, src: bigint): boolean {
  const a = jmp32 ? u32(dst) : u64(dst);
  const b = jmp32 ? u32(src) : u64(src);
  const sa = jmp32 ? s32(a) : s64(a);
  const sb = jmp32 ? s32(b) : s64(b);
  switch (cond) {
    case "jeq": return a === b;
    case "jne": return a !== b;
    case "jgt": return a > b;
    case "jge": return a >= b;
    case "jlt": return a < b;
    case "jle": return a <= b;
    case "jsgt": return sa > sb;
    case "jsge": return sa >= sb;
    case "jslt": return sa < sb;
    case "jsle": return sa <= sb;
    case "jset": return (a & b) !== 0n;
  }
}

export function refSwap(order: "le" | "be" | "bswap", width: 16 | 32 | 64, v: bigint): bigint {
  const w = BigInt(width);
  const x = BigInt.asUintN(width, v);
  if (order === "le") return x;
  let out = 0n;
  for (let i = 0n; i < w; i += 8n) out = (out << 8n) | ((x >> i) & 0xffn);
  return out;
}

/** Values that break carries, signs and widths. */
export const EDGE_VALUES: readonly bigint[] = [
  0n, 1n, 2n, 3n, 7n, 31n, 32n, 33n, 63n, 64n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn,
  0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x1_0000_0001n, 0x7fffffffffffffffn,
  0x8000000000000000n, 0xffffffffffffffffn, 0xfffffffffffffffen, 0x8000000000000001n,
  0xffffffff00000000n, 0x00000000ffffffffn, 0x123456789abcdef0n, 0xfedcba9876543210n,
];
