/**
 * Tristate numbers ("tnums"), following kernel/bpf/tnum.c: a 64-bit value whose
 * bits are each known 0, known 1 or unknown. `value` holds the known 1 bits,
 * `mask` the unknown ones; value & mask is always 0. Pure functions; nothing here
 * knows about instructions or registers.
 *
 * Representation: each 64-bit word is two int32 bit patterns, high (`vh`, `mh`)
 * and low (`vl`, `ml`), so that the verifier's hot paths run on small integers
 * instead of bigints (no allocation per operation, no BigInt.asUintN). `value` and
 * `mask` give the words as unsigned bigints, for messages and tests.
 */

export class Tnum {
  // `declare`d, assigned in the constructor: class field declarations would first
  // define each field as undefined, and V8 would then not keep them as small integers.
  /** value, high and low 32 bits (int32 bit patterns) */
  declare readonly vh: number;
  declare readonly vl: number;
  /** mask, high and low 32 bits (int32 bit patterns) */
  declare readonly mh: number;
  declare readonly ml: number;
  constructor(vh: number, vl: number, mh: number, ml: number) {
    this.vh = vh;
    this.vl = vl;
    this.mh = mh;
    this.ml = ml;
  }
  /** The known-one bits, as an unsigned 64-bit bigint. */
  get value(): bigint {
    return pairToBig(this.vh, this.vl);
  }
  /** The unknown bits, as an unsigned 64-bit bigint. */
  get mask(): bigint {
    return pairToBig(this.mh, this.ml);
  }
}

// ---- 64-bit words as int32 pairs (shared with bounds.ts) ----------------------------

/** Unsigned 64-bit bigint of a (high, low) pair. */
export const pairToBig = (h: number, l: number): bigint => (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0);
/** Signed 64-bit bigint of a (high, low) pair. */
export const pairToSBig = (h: number, l: number): bigint => (BigInt(h | 0) << 32n) | BigInt(l >>> 0);
/** High 32 bits of x mod 2^64, as an int32 bit pattern. */
export const bigHi = (x: bigint): number => Number(BigInt.asIntN(32, x >> 32n));
/** Low 32 bits of x, as an int32 bit pattern. */
export const bigLo = (x: bigint): number => Number(BigInt.asIntN(32, x));
/** Mask of the low n bits of a 32-bit word (0 <= n <= 32). */
export const lowBits32 = (n: number): number => (n >= 32 ? -1 : ((1 << n) - 1) | 0);

/** Unsigned a < b on pairs. */
export const ult = (ah: number, al: number, bh: number, bl: number): boolean => (ah !== bh ? ah >>> 0 < bh >>> 0 : al >>> 0 < bl >>> 0);
/** Unsigned a <= b on pairs. */
export const ule = (ah: number, al: number, bh: number, bl: number): boolean => (ah !== bh ? ah >>> 0 < bh >>> 0 : al >>> 0 <= bl >>> 0);
/** Signed a < b on pairs. */
export const slt = (ah: number, al: number, bh: number, bl: number): boolean => (ah !== bh ? (ah | 0) < (bh | 0) : al >>> 0 < bl >>> 0);
/** Signed a <= b on pairs. */
export const sle = (ah: number, al: number, bh: number, bl: number): boolean => (ah !== bh ? (ah | 0) < (bh | 0) : al >>> 0 <= bl >>> 0);

/** Results of the pair operations below (a module-level out-parameter: no allocation). */
export const out = { h: 0, l: 0 };

/** out = a + b mod 2^64; returns the carry out of bit 63. */
export function add64(ah: number, al: number, bh: number, bl: number): number {
  const lo = (al >>> 0) + (bl >>> 0);
  const c = lo > 0xffffffff ? 1 : 0;
  const hi = (ah >>> 0) + (bh >>> 0) + c;
  out.h = hi | 0;
  out.l = lo | 0;
  return hi > 0xffffffff ? 1 : 0;
}

/** out = a - b mod 2^64. */
export function sub64(ah: number, al: number, bh: number, bl: number): void {
  const lo = (al >>> 0) - (bl >>> 0);
  const borrow = lo < 0 ? 1 : 0;
  out.h = (ah - bh - borrow) | 0;
  out.l = lo | 0;
}

/** out = a * b mod 2^64. */
export function mul64(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  out.l = ((mid << 16) | (p00 & 0xffff)) | 0;
  const hiLo = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + Math.floor(mid / 65536);
  out.h = (hiLo + Math.imul(ah, bl) + Math.imul(al, bh)) | 0;
}

/** out = a << s (0 <= s < 64). */
export function shl64(h: number, l: number, s: number): void {
  if (s === 0) {
    out.h = h;
    out.l = l;
  } else if (s < 32) {
    out.h = (h << s) | (l >>> (32 - s));
    out.l = l << s;
  } else {
    out.h = l << (s - 32);
    out.l = 0;
  }
}

/** out = a >> s, logical (0 <= s < 64). */
export function shr64(h: number, l: number, s: number): void {
  if (s === 0) {
    out.h = h;
    out.l = l;
  } else if (s < 32) {
    out.l = (l >>> s) | (h << (32 - s));
    out.h = (h >>> s) | 0;
  } else {
    out.l = (h >>> (s - 32)) | 0;
    out.h = 0;
  }
}

/** out = a >> s, arithmetic (0 <= s < 64). */
export function sar64(h: number, l: number, s: number): void {
  if (s === 0) {
    out.h = h;
    out.l = l;
  } else if (s < 32) {
    out.l = (l >>> s) | (h << (32 - s));
    out.h = h >> s;
  } else {
    out.l = h >> (s - 32);
    out.h = h >> 31;
  }
}

/** fls64(): index (1-based) of the highest set bit, 0 for 0. */
export const fls64 = (h: number, l: number): number => (h !== 0 ? 64 - Math.clz32(h) : l !== 0 ? 32 - Math.clz32(l) : 0);

// ---- tnums ---------------------------------------------------------------------------

/** A tnum from unsigned 64-bit bigints (value & mask must be 0). */
export const tnum = (value: bigint, mask: bigint): Tnum => new Tnum(bigHi(value), bigLo(value), bigHi(mask), bigLo(mask));
export const tnumConst = (v: bigint): Tnum => new Tnum(bigHi(v), bigLo(v), 0, 0);
/** A constant from a pair. */
export const tnumConstPair = (h: number, l: number): Tnum => new Tnum(h | 0, l | 0, 0, 0);
export const TNUM_UNKNOWN: Tnum = new Tnum(0, 0, -1, -1);
export const TNUM_ZERO: Tnum = new Tnum(0, 0, 0, 0);
export const tnumUnknown = (): Tnum => TNUM_UNKNOWN;

/** tnum_range() on pairs: smallest tnum containing every value in [min, max] (unsigned). */
export function tnumRangePair(minH: number, minL: number, maxH: number, maxL: number): Tnum {
  const bits = fls64(minH ^ maxH, minL ^ maxL);
  if (bits > 63) return TNUM_UNKNOWN;
  const dh = bits > 32 ? lowBits32(bits - 32) : 0;
  const dl = bits >= 32 ? -1 : lowBits32(bits);
  return new Tnum(minH & ~dh, minL & ~dl, dh, dl);
}

/** Smallest tnum containing every value in [min, max] (unsigned). */
export const tnumRange = (min: bigint, max: bigint): Tnum => tnumRangePair(bigHi(min), bigLo(min), bigHi(max), bigLo(max));

export function tnumLshift(a: Tnum, shift: number): Tnum {
  shl64(a.vh, a.vl, shift);
  const vh = out.h, vl = out.l;
  shl64(a.mh, a.ml, shift);
  return new Tnum(vh, vl, out.h, out.l);
}

export function tnumRshift(a: Tnum, shift: number): Tnum {
  shr64(a.vh, a.vl, shift);
  const vh = out.h, vl = out.l;
  shr64(a.mh, a.ml, shift);
  return new Tnum(vh, vl, out.h, out.l);
}

/** Arithmetic right shift at `width` bits (32: the low 32 bits as s32, result zero-extended). */
export function tnumArshift(a: Tnum, shift: number, width: 32 | 64): Tnum {
  if (width === 32) return new Tnum(0, a.vl >> shift, 0, a.ml >> shift);
  sar64(a.vh, a.vl, shift);
  const vh = out.h, vl = out.l;
  sar64(a.mh, a.ml, shift);
  return new Tnum(vh, vl, out.h, out.l);
}

export function tnumAdd(a: Tnum, b: Tnum): Tnum {
  add64(a.mh, a.ml, b.mh, b.ml);
  const smh = out.h, sml = out.l;
  add64(a.vh, a.vl, b.vh, b.vl);
  const svh = out.h, svl = out.l;
  add64(smh, sml, svh, svl);
  const muh = (out.h ^ svh) | a.mh | b.mh;
  const mul = (out.l ^ svl) | a.ml | b.ml;
  return new Tnum(svh & ~muh, svl & ~mul, muh, mul);
}

export function tnumSub(a: Tnum, b: Tnum): Tnum {
  sub64(a.vh, a.vl, b.vh, b.vl);
  const dvh = out.h, dvl = out.l;
  add64(dvh, dvl, a.mh, a.ml);
  const ah = out.h, al = out.l;
  sub64(dvh, dvl, b.mh, b.ml);
  const muh = (ah ^ out.h) | a.mh | b.mh;
  const mul = (al ^ out.l) | a.ml | b.ml;
  return new Tnum(dvh & ~muh, dvl & ~mul, muh, mul);
}

export const tnumNeg = (a: Tnum): Tnum => tnumSub(TNUM_ZERO, a);

export function tnumAnd(a: Tnum, b: Tnum): Tnum {
  const vh = a.vh & b.vh;
  const vl = a.vl & b.vl;
  return new Tnum(vh, vl, (a.vh | a.mh) & (b.vh | b.mh) & ~vh, (a.vl | a.ml) & (b.vl | b.ml) & ~vl);
}

export function tnumOr(a: Tnum, b: Tnum): Tnum {
  const vh = a.vh | b.vh;
  const vl = a.vl | b.vl;
  return new Tnum(vh, vl, (a.mh | b.mh) & ~vh, (a.ml | b.ml) & ~vl);
}

export function tnumXor(a: Tnum, b: Tnum): Tnum {
  const muh = a.mh | b.mh;
  const mul = a.ml | b.ml;
  return new Tnum((a.vh ^ b.vh) & ~muh, (a.vl ^ b.vl) & ~mul, muh, mul);
}

/** Multiplication as tnum_mul() (the "half-multiply" accumulation of kernel >= 5.19). */
export function tnumMul(a: Tnum, b: Tnum): Tnum {
  let avh = a.vh, avl = a.vl, amh = a.mh, aml = a.ml;
  let bvh = b.vh, bvl = b.vl, bmh = b.mh, bml = b.ml;
  mul64(a.vh, a.vl, b.vh, b.vl);
  const accV = new Tnum(out.h, out.l, 0, 0);
  let accM: Tnum = TNUM_ZERO;
  while ((avh | avl | amh | aml) !== 0) {
    if ((avl & 1) !== 0) accM = tnumAdd(accM, new Tnum(0, 0, bmh, bml));
    else if ((aml & 1) !== 0) accM = tnumAdd(accM, new Tnum(0, 0, bvh | bmh, bvl | bml));
    shr64(avh, avl, 1);
    avh = out.h; avl = out.l;
    shr64(amh, aml, 1);
    amh = out.h; aml = out.l;
    shl64(bvh, bvl, 1);
    bvh = out.h; bvl = out.l;
    shl64(bmh, bml, 1);
    bmh = out.h; bml = out.l;
  }
  return tnumAdd(accV, accM);
}

/** Bits known in either (a and b must describe the same value). */
export function tnumIntersect(a: Tnum, b: Tnum): Tnum {
  const muh = a.mh & b.mh;
  const mul = a.ml & b.ml;
  return new Tnum((a.vh | b.vh) & ~muh, (a.vl | b.vl) & ~mul, muh, mul);
}

/** Keeps the low `size` bytes. */
export function tnumCast(a: Tnum, size: number): Tnum {
  if (size >= 8) return a;
  if (size >= 4) {
    const h = lowBits32(size * 8 - 32);
    return new Tnum(a.vh & h, a.vl, a.mh & h, a.ml);
  }
  const l = lowBits32(size * 8);
  return new Tnum(0, a.vl & l, 0, a.ml & l);
}

export const tnumIsConst = (a: Tnum): boolean => (a.mh | a.ml) === 0;
export const tnumIsUnknown = (a: Tnum): boolean => (a.mh & a.ml) === -1;
export const tnumEquals = (a: Tnum, b: Tnum): boolean => a.vh === b.vh && a.vl === b.vl && a.mh === b.mh && a.ml === b.ml;

export function tnumIsAligned(a: Tnum, size: number): boolean {
  if (size === 0) return true;
  // size - 1 as a 64-bit mask; sizes are small.
  const m = size - 1;
  return ((a.vl | a.ml) & m) === 0 && (m <= 0xffffffff || ((a.vh | a.mh) & Math.floor(m / 4294967296)) === 0);
}

/** Whether every value of b is a value of a. */
export function tnumIn(a: Tnum, b: Tnum): boolean {
  if ((b.mh & ~a.mh) !== 0 || (b.ml & ~a.ml) !== 0) return false;
  return a.vh === (b.vh & ~a.mh) && a.vl === (b.vl & ~a.ml);
}

export const tnumSubreg = (a: Tnum): Tnum => new Tnum(0, a.vl, 0, a.ml);
export const tnumClearSubreg = (a: Tnum): Tnum => new Tnum(a.vh, 0, a.mh, 0);
export const tnumWithSubreg = (reg: Tnum, subreg: Tnum): Tnum => tnumOr(tnumClearSubreg(reg), tnumSubreg(subreg));
export const tnumConstSubreg = (a: Tnum, v: bigint): Tnum => tnumWithSubreg(a, tnumConstPair(0, bigLo(v)));
export const tnumSubregIsConst = (a: Tnum): boolean => a.ml === 0;

/** tnum_strn(): "0x5", "17" (decimal up to U16_MAX), or "(0x0; 0xff)". */
export function tnumStr(a: Tnum): string {
  if (tnumIsConst(a)) return a.value <= 0xffffn ? a.value.toString() : `0x${a.value.toString(16)}`;
  return `(0x${a.value.toString(16)}; 0x${a.mask.toString(16)})`;
}

/** Whether the concrete 64-bit value x (taken modulo 2^64) is a member of a. */
export function tnumContains(a: Tnum, x: bigint): boolean {
  const h = bigHi(x);
  const l = bigLo(x);
  return (h & ~a.mh) === a.vh && (l & ~a.ml) === a.vl;
}

/** The bytes of a 32-bit pattern reversed (swab32). */
const swab32 = (x: number): number => ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);

/**
 * tnum_bswap16/32/64(): the low `width` bits with their bytes reversed (value and
 * mask alike, as each bit's knowledge moves with the bit); the bits above are 0.
 */
export function tnumBswap(a: Tnum, width: 16 | 32 | 64): Tnum {
  if (width === 64) return new Tnum(swab32(a.vl), swab32(a.vh), swab32(a.ml), swab32(a.mh));
  if (width === 32) return new Tnum(0, swab32(a.vl), 0, swab32(a.ml));
  return new Tnum(0, swab32(a.vl) >>> 16, 0, swab32(a.ml) >>> 16);
}
