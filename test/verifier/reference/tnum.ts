/**
 * REFERENCE MODEL (tests only): src/verifier/tnum.ts as it was on unsigned bigints,
 * a line-by-line transcription of kernel/bpf/tnum.c. The verifier now runs on int32
 * pairs; test/verifier/reference.test.ts checks that both give identical results.
 * Width conversions use masks instead of BigInt.asUintN/asIntN (same values): Node 20's
 * optimising compiler can crash on phis of BigInt.asUintN(64, ...) results.
 *
 * Tristate numbers ("tnums"), following kernel/bpf/tnum.c: a 64-bit value whose
 * bits are each known 0, known 1 or unknown. `value` holds the known 1 bits,
 * `mask` the unknown ones; value & mask is always 0. Values are unsigned 64-bit
 * bigints. Pure functions; nothing here knows about instructions or registers.
 */

export interface Tnum {
  readonly value: bigint;
  readonly mask: bigint;
}

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;
const u64 = (x: bigint): bigint => x & M64;
const s64 = (x: bigint): bigint => ((x & M64) >> 63n ? (x & M64) - (1n << 64n) : x & M64);
const s32 = (x: bigint): bigint => ((x & M32) >> 31n ? (x & M32) - (1n << 32n) : x & M32);

export const tnumConst = (v: bigint): Tnum => ({ value: u64(v), mask: 0n });
export const TNUM_UNKNOWN: Tnum = { value: 0n, mask: M64 };
export const tnumUnknown = (): Tnum => TNUM_UNKNOWN;

/** Smallest tnum containing every value in [min, max] (unsigned). */
export function tnumRange(min: bigint, max: bigint): Tnum {
  min = u64(min);
  max = u64(max);
  const chi = min ^ max;
  const bits = chi === 0n ? 0 : chi.toString(2).length; // fls64
  if (bits > 63) return TNUM_UNKNOWN;
  const delta = (1n << BigInt(bits)) - 1n;
  return { value: min & ~delta & M64, mask: delta };
}

export const tnumLshift = (a: Tnum, shift: number): Tnum => ({ value: u64(a.value << BigInt(shift)), mask: u64(a.mask << BigInt(shift)) });
export const tnumRshift = (a: Tnum, shift: number): Tnum => ({ value: a.value >> BigInt(shift), mask: a.mask >> BigInt(shift) });

/** Arithmetic right shift at `width` bits (32: the low 32 bits as s32, result zero-extended). */
export function tnumArshift(a: Tnum, shift: number, width: 32 | 64): Tnum {
  const s = BigInt(shift);
  if (width === 32) {
    const v = s32(a.value) >> s;
    const m = s32(a.mask) >> s;
    return { value: v & M32, mask: m & M32 };
  }
  return { value: u64(s64(a.value) >> s), mask: u64(s64(a.mask) >> s) };
}

export function tnumAdd(a: Tnum, b: Tnum): Tnum {
  const sm = u64(a.mask + b.mask);
  const sv = u64(a.value + b.value);
  const sigma = u64(sm + sv);
  const chi = sigma ^ sv;
  const mu = chi | a.mask | b.mask;
  return { value: sv & ~mu & M64, mask: mu };
}

export function tnumSub(a: Tnum, b: Tnum): Tnum {
  const dv = u64(a.value - b.value);
  const alpha = u64(dv + a.mask);
  const beta = u64(dv - b.mask);
  const chi = alpha ^ beta;
  const mu = chi | a.mask | b.mask;
  return { value: dv & ~mu & M64, mask: mu };
}

export const tnumNeg = (a: Tnum): Tnum => tnumSub(tnumConst(0n), a);

export function tnumAnd(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return { value: v, mask: alpha & beta & ~v & M64 };
}

export function tnumOr(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask | b.mask;
  return { value: v, mask: mu & ~v & M64 };
}

export function tnumXor(a: Tnum, b: Tnum): Tnum {
  const v = a.value ^ b.value;
  const mu = a.mask | b.mask;
  return { value: v & ~mu & M64, mask: mu };
}

/** Multiplication as tnum_mul() (the "half-multiply" accumulation of kernel >= 5.19). */
export function tnumMul(a: Tnum, b: Tnum): Tnum {
  let av = a.value;
  let am = a.mask;
  let bv = b.value;
  let bm = b.mask;
  let accV = u64(a.value * b.value);
  let accM: Tnum = tnumConst(0n);
  while (av !== 0n || am !== 0n) {
    if ((av & 1n) !== 0n) accM = tnumAdd(accM, { value: 0n, mask: bm });
    else if ((am & 1n) !== 0n) accM = tnumAdd(accM, { value: 0n, mask: bv | bm });
    av >>= 1n;
    am >>= 1n;
    bv = u64(bv << 1n);
    bm = u64(bm << 1n);
  }
  return tnumAdd({ value: accV, mask: 0n }, accM);
}

/** Bits known in either (a and b must describe the same value). */
export function tnumIntersect(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return { value: v & ~mu & M64, mask: mu };
}

/** Keeps the low `size` bytes. */
export function tnumCast(a: Tnum, size: number): Tnum {
  if (size >= 8) return a;
  const m = (1n << BigInt(size * 8)) - 1n;
  return { value: a.value & m, mask: a.mask & m };
}

/** swab16/32/64 of the low `width` bits. */
function swab(x: bigint, width: number): bigint {
  let out = 0n;
  for (let i = 0; i < width / 8; i++) out = (out << 8n) | ((x >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** tnum_bswap16/32/64(). */
export const tnumBswap = (a: Tnum, width: 16 | 32 | 64): Tnum => ({ value: swab(a.value, width), mask: swab(a.mask, width) });

export const tnumIsConst = (a: Tnum): boolean => a.mask === 0n;
export const tnumIsUnknown = (a: Tnum): boolean => a.mask === M64;
export const tnumEquals = (a: Tnum, b: Tnum): boolean => a.value === b.value && a.mask === b.mask;

export function tnumIsAligned(a: Tnum, size: number): boolean {
  if (size === 0) return true;
  return ((a.value | a.mask) & BigInt(size - 1)) === 0n;
}

/** Whether every value of b is a value of a. */
export function tnumIn(a: Tnum, b: Tnum): boolean {
  if ((b.mask & ~a.mask & M64) !== 0n) return false;
  return a.value === (b.value & ~a.mask & M64);
}

export const tnumSubreg = (a: Tnum): Tnum => tnumCast(a, 4);
export const tnumClearSubreg = (a: Tnum): Tnum => tnumLshift(tnumRshift(a, 32), 32);
export const tnumWithSubreg = (reg: Tnum, subreg: Tnum): Tnum => tnumOr(tnumClearSubreg(reg), tnumSubreg(subreg));
export const tnumConstSubreg = (a: Tnum, v: bigint): Tnum => tnumWithSubreg(a, tnumConst(v & M32));
export const tnumSubregIsConst = (a: Tnum): boolean => (a.mask & M32) === 0n;

/** tnum_strn(): "0x5", "17" (decimal up to U16_MAX), or "(0x0; 0xff)". */
export function tnumStr(a: Tnum): string {
  if (a.mask === 0n) return a.value <= 0xffffn ? a.value.toString() : `0x${a.value.toString(16)}`;
  return `(0x${a.value.toString(16)}; 0x${a.mask.toString(16)})`;
}

/** Every value the tnum stands for, at `bits` width (for tests at small widths). */
export function tnumContains(a: Tnum, x: bigint): boolean {
  return (u64(x) & ~a.mask & M64) === a.value;
}
