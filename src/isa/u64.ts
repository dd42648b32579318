/**
 * All conversions between the representations of 64-bit eBPF values live here:
 * bigint (model, assembler, verifier), and lo/hi 32-bit halves (the interpreter's
 * registers and memory). Nothing else in the code base calls BigInt.asUintN.
 */

export const U64_MASK = (1n << 64n) - 1n;

export const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
export const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
export const u32 = (x: bigint): bigint => BigInt.asUintN(32, x);
export const s32 = (x: bigint): bigint => BigInt.asIntN(32, x);

/** 64-bit value from its two 32-bit halves (each taken as an unsigned 32-bit pattern). */
export function fromHalves(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Low 32 bits as a signed int32 (the interpreter's register representation). */
export function loOf(x: bigint): number {
  return Number(BigInt.asIntN(32, x));
}

/** High 32 bits as a signed int32. */
export function hiOf(x: bigint): number {
  return Number(BigInt.asIntN(32, x >> 32n));
}

/** Formats as the kernel and llvm-objdump print hex: 0x-prefixed, lower case, no padding. */
export function hex(x: bigint | number): string {
  const v = typeof x === "bigint" ? x : BigInt(x);
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}
