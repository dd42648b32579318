/**
 * Scalar value tracking: a tnum plus unsigned/signed 64-bit and 32-bit ranges,
 * kept in sync the way kernel/bpf/verifier.c does (reg_bounds_sync(),
 * __reg32_deduce_bounds(), __reg64_deduce_bounds(), __reg_deduce_mixed_bounds(),
 * __reg_bound_offset()), the scalar transfer functions of
 * adjust_scalar_min_max_vals() (scalar{32,}_min_max_{add,sub,mul,and,or,xor,lsh,rsh,arsh}),
 * coerce_reg_to_size(), zext_32_to_64(), and the branch logic of
 * is_scalar_branch_taken() and regs_refine_cond_op().
 *
 * Pure functions: a Bounds is immutable. Nothing here knows about instructions,
 * registers or pointers.
 *
 * Representation (for speed: the verifier runs these for every instruction): every
 * field is an int32 bit pattern. 64-bit quantities are (high, low) pairs — the tnum
 * (vh, vl, mh, ml), smin/smax/umin/umax as sminH/sminL ... umaxH/umaxL — and the
 * 32-bit ones are single words: smin32/smax32 are the s32 values themselves,
 * umin32/umax32 the u32 values' bit patterns (`>>> 0` gives the value). Arithmetic
 * wraps as the kernel's u64/s64/u32/s32 C arithmetic does. The getters smin, smax,
 * umin, umax, s32min, s32max, u32min, u32max and var give the fields as bigints and
 * a Tnum, for messages, logs and tests.
 */
import {
  Tnum, add64, bigHi, bigLo, fls64, lowBits32, mul64, out, pairToBig, pairToSBig, sar64, shl64, shr64,
  sle, slt, sub64, tnumAdd, tnumBswap, tnumCast, tnumMul, tnumSub, ule, ult,
} from "./tnum.js";

export const U64_MAX = (1n << 64n) - 1n;
export const S64_MAX = (1n << 63n) - 1n;
export const S64_MIN = -(1n << 63n);
export const U32_MAX = 0xffffffffn;
export const S32_MAX = 0x7fffffffn;
export const S32_MIN = -0x80000000n;

const I32_MIN = -0x80000000;
const I32_MAX = 0x7fffffff;

export class Bounds {
  // `declare`d, assigned in the constructor (see Tnum): all fields stay small integers.
  declare readonly vh: number;
  declare readonly vl: number;
  declare readonly mh: number;
  declare readonly ml: number;
  declare readonly sminH: number;
  declare readonly sminL: number;
  declare readonly smaxH: number;
  declare readonly smaxL: number;
  declare readonly uminH: number;
  declare readonly uminL: number;
  declare readonly umaxH: number;
  declare readonly umaxL: number;
  declare readonly smin32: number;
  declare readonly smax32: number;
  declare readonly umin32: number;
  declare readonly umax32: number;
  constructor(
    vh: number, vl: number, mh: number, ml: number, sminH: number, sminL: number, smaxH: number, smaxL: number,
    uminH: number, uminL: number, umaxH: number, umaxL: number, smin32: number, smax32: number, umin32: number, umax32: number,
  ) {
    this.vh = vh; this.vl = vl; this.mh = mh; this.ml = ml;
    this.sminH = sminH; this.sminL = sminL; this.smaxH = smaxH; this.smaxL = smaxL;
    this.uminH = uminH; this.uminL = uminL; this.umaxH = umaxH; this.umaxL = umaxL;
    this.smin32 = smin32; this.smax32 = smax32; this.umin32 = umin32; this.umax32 = umax32;
  }
  get var(): Tnum {
    return new Tnum(this.vh, this.vl, this.mh, this.ml);
  }
  get smin(): bigint {
    return pairToSBig(this.sminH, this.sminL);
  }
  get smax(): bigint {
    return pairToSBig(this.smaxH, this.smaxL);
  }
  get umin(): bigint {
    return pairToBig(this.uminH, this.uminL);
  }
  get umax(): bigint {
    return pairToBig(this.umaxH, this.umaxL);
  }
  get s32min(): bigint {
    return BigInt(this.smin32);
  }
  get s32max(): bigint {
    return BigInt(this.smax32);
  }
  get u32min(): bigint {
    return BigInt(this.umin32 >>> 0);
  }
  get u32max(): bigint {
    return BigInt(this.umax32 >>> 0);
  }
}

/** Bounds as bigints (u64/u32 fields unsigned, s64/s32 fields signed), as tests and messages see them. */
export interface BigBounds {
  readonly var: { readonly value: bigint; readonly mask: bigint };
  readonly smin: bigint;
  readonly smax: bigint;
  readonly umin: bigint;
  readonly umax: bigint;
  readonly s32min: bigint;
  readonly s32max: bigint;
  readonly u32min: bigint;
  readonly u32max: bigint;
}

/** A Bounds from bigints (each taken modulo its width). */
export function fromBig(b: BigBounds): Bounds {
  return new Bounds(
    bigHi(b.var.value), bigLo(b.var.value), bigHi(b.var.mask), bigLo(b.var.mask),
    bigHi(b.smin), bigLo(b.smin), bigHi(b.smax), bigLo(b.smax), bigHi(b.umin), bigLo(b.umin), bigHi(b.umax), bigLo(b.umax),
    bigLo(b.s32min), bigLo(b.s32max), bigLo(b.u32min), bigLo(b.u32max),
  );
}

/** The fields of a Bounds as bigints. */
export function toBig(b: Bounds): BigBounds {
  return { var: { value: b.var.value, mask: b.var.mask }, smin: b.smin, smax: b.smax, umin: b.umin, umax: b.umax, s32min: b.s32min, s32max: b.s32max, u32min: b.u32min, u32max: b.u32max };
}

/** Mutable working copy (internal): the transfer functions load, update and store one. */
class W {
  vh = 0; vl = 0; mh = 0; ml = 0;
  sminH = 0; sminL = 0; smaxH = 0; smaxL = 0;
  uminH = 0; uminL = 0; umaxH = 0; umaxL = 0;
  smin32 = 0; smax32 = 0; umin32 = 0; umax32 = 0;
}

function load(w: W, b: Bounds): W {
  w.vh = b.vh; w.vl = b.vl; w.mh = b.mh; w.ml = b.ml;
  w.sminH = b.sminH; w.sminL = b.sminL; w.smaxH = b.smaxH; w.smaxL = b.smaxL;
  w.uminH = b.uminH; w.uminL = b.uminL; w.umaxH = b.umaxH; w.umaxL = b.umaxL;
  w.smin32 = b.smin32; w.smax32 = b.smax32; w.umin32 = b.umin32; w.umax32 = b.umax32;
  return w;
}

function store(w: W): Bounds {
  return new Bounds(
    w.vh, w.vl, w.mh, w.ml, w.sminH, w.sminL, w.smaxH, w.smaxL, w.uminH, w.uminL, w.umaxH, w.umaxL,
    w.smin32, w.smax32, w.umin32, w.umax32,
  );
}

const W1 = new W();
const W2 = new W();

export const UNKNOWN: Bounds = new Bounds(0, 0, -1, -1, I32_MIN, 0, I32_MAX, -1, 0, 0, -1, -1, I32_MIN, I32_MAX, 0, -1);

/** __mark_reg_known() on a pair. */
export function knownPair(h: number, l: number): Bounds {
  h |= 0;
  l |= 0;
  return new Bounds(h, l, 0, 0, h, l, h, l, h, l, h, l, l, l, l, l);
}

/** __mark_reg_known(): exactly `v` (any bigint, taken modulo 2^64). */
export const known = (v: bigint): Bounds => knownPair(bigHi(v), bigLo(v));

/** A known constant from a 32-bit immediate: sign-extended to 64 bits, or zero-extended. */
export const knownImm = (imm: number, signExtend: boolean): Bounds => knownPair(signExtend ? imm >> 31 : 0, imm);

export const ZERO: Bounds = knownPair(0, 0);

export const isConst = (b: Bounds): boolean => (b.mh | b.ml) === 0;
export const isConst32 = (b: Bounds): boolean => b.ml === 0;
/** Known to be exactly 0. */
export const isZero = (b: Bounds): boolean => (b.mh | b.ml | b.vh | b.vl) === 0;
export const isUnknown = (b: Bounds): boolean =>
  (b.mh & b.ml) === -1 && b.sminH === I32_MIN && b.sminL === 0 && b.smaxH === I32_MAX && b.smaxL === -1 && (b.uminH | b.uminL) === 0 &&
  (b.umaxH & b.umaxL) === -1 && b.smin32 === I32_MIN && b.smax32 === I32_MAX && b.umin32 === 0 && b.umax32 === -1;

/**
 * A 64-bit field as a double (hi * 2^32 + lo): exact up to 2^53 in magnitude and
 * monotonic beyond, so comparisons against thresholds below 2^53 are exact.
 */
export const sminNum = (b: Bounds): number => b.sminH * 4294967296 + (b.sminL >>> 0);
export const smaxNum = (b: Bounds): number => b.smaxH * 4294967296 + (b.smaxL >>> 0);
export const uminNum = (b: Bounds): number => (b.uminH >>> 0) * 4294967296 + (b.uminL >>> 0);
export const umaxNum = (b: Bounds): number => (b.umaxH >>> 0) * 4294967296 + (b.umaxL >>> 0);
/** The tnum value as a signed double (exact when the value fits 53 bits). */
export const valueSNum = (b: Bounds): number => b.vh * 4294967296 + (b.vl >>> 0);
export const valueUNum = (b: Bounds): number => (b.vh >>> 0) * 4294967296 + (b.vl >>> 0);
/** smin is S64_MIN (unbounded below). */
export const sminUnbounded = (b: Bounds): boolean => b.sminH === I32_MIN && b.sminL === 0;

/** Whether some concrete value satisfies every component (false for dead branches). */
export function isConsistent(b: Bounds): boolean {
  return sle(b.sminH, b.sminL, b.smaxH, b.smaxL) && ule(b.uminH, b.uminL, b.umaxH, b.umaxL) && b.smin32 <= b.smax32 && b.umin32 >>> 0 <= b.umax32 >>> 0;
}

/** Whether concrete 64-bit value x (taken modulo 2^64) is described by b. */
export function contains(b: Bounds, x: bigint): boolean {
  const h = bigHi(x);
  const l = bigLo(x);
  return (h & ~b.mh) === b.vh && (l & ~b.ml) === b.vl && ule(b.uminH, b.uminL, h, l) && ule(h, l, b.umaxH, b.umaxL) &&
    sle(b.sminH, b.sminL, h, l) && sle(h, l, b.smaxH, b.smaxL) && b.umin32 >>> 0 <= l >>> 0 && l >>> 0 <= b.umax32 >>> 0 &&
    b.smin32 <= l && l <= b.smax32;
}

// ---- working-struct helpers ------------------------------------------------------------

const mark64Unbounded = (r: W): void => {
  r.sminH = I32_MIN; r.sminL = 0; r.smaxH = I32_MAX; r.smaxL = -1;
  r.uminH = 0; r.uminL = 0; r.umaxH = -1; r.umaxL = -1;
};
const mark32Unbounded = (r: W): void => {
  r.smin32 = I32_MIN; r.smax32 = I32_MAX; r.umin32 = 0; r.umax32 = -1;
};

/** umin32 = max(umin32, x), umax32 = min(umax32, y), unsigned. */
const umin32Max = (r: W, x: number): void => {
  if (r.umin32 >>> 0 < x >>> 0) r.umin32 = x | 0;
};
const umax32Min = (r: W, y: number): void => {
  if (y >>> 0 < r.umax32 >>> 0) r.umax32 = y | 0;
};
const smin32Max = (r: W, x: number): void => {
  if (r.smin32 < (x | 0)) r.smin32 = x | 0;
};
const smax32Min = (r: W, y: number): void => {
  if ((y | 0) < r.smax32) r.smax32 = y | 0;
};
const uminMax = (r: W, h: number, l: number): void => {
  if (ult(r.uminH, r.uminL, h, l)) { r.uminH = h | 0; r.uminL = l | 0; }
};
const umaxMin = (r: W, h: number, l: number): void => {
  if (ult(h, l, r.umaxH, r.umaxL)) { r.umaxH = h | 0; r.umaxL = l | 0; }
};
const sminMax = (r: W, h: number, l: number): void => {
  if (slt(r.sminH, r.sminL, h, l)) { r.sminH = h | 0; r.sminL = l | 0; }
};
const smaxMin = (r: W, h: number, l: number): void => {
  if (slt(h, l, r.smaxH, r.smaxL)) { r.smaxH = h | 0; r.smaxL = l | 0; }
};

function update32(r: W): void {
  const v = r.vl, m = r.ml;
  smin32Max(r, v | (m & I32_MIN));
  smax32Min(r, v | (m & I32_MAX));
  umin32Max(r, v);
  umax32Min(r, v | m);
}

function update64(r: W): void {
  sminMax(r, r.vh | (r.mh & I32_MIN), r.vl);
  smaxMin(r, r.vh | (r.mh & I32_MAX), r.vl | r.ml);
  uminMax(r, r.vh, r.vl);
  umaxMin(r, r.vh | r.mh, r.vl | r.ml);
}

function updateAll(r: W): void {
  update32(r);
  update64(r);
}

function deduce32(r: W): void {
  if (r.uminH === r.umaxH) {
    umin32Max(r, r.uminL);
    umax32Min(r, r.umaxL);
    if ((r.uminL | 0) <= (r.umaxL | 0)) {
      smin32Max(r, r.uminL);
      smax32Min(r, r.umaxL);
    }
  }
  if (r.sminH === r.smaxH) {
    if (r.sminL >>> 0 <= r.smaxL >>> 0) {
      umin32Max(r, r.sminL);
      umax32Min(r, r.smaxL);
    }
    if ((r.sminL | 0) <= (r.smaxL | 0)) {
      smin32Max(r, r.sminL);
      smax32Min(r, r.smaxL);
    }
  }
  if (((r.uminH + 1) | 0) === r.umaxH && (r.uminL | 0) < 0 && (r.umaxL | 0) >= 0) {
    smin32Max(r, r.uminL);
    smax32Min(r, r.umaxL);
  }
  if (((r.sminH + 1) | 0) === r.smaxH && (r.sminL | 0) < 0 && (r.smaxL | 0) >= 0) {
    smin32Max(r, r.sminL);
    smax32Min(r, r.smaxL);
  }
  if (r.umin32 <= r.umax32) {
    smin32Max(r, r.umin32);
    smax32Min(r, r.umax32);
  }
  if (r.smin32 >>> 0 <= r.smax32 >>> 0) {
    umin32Max(r, r.smin32);
    umax32Min(r, r.smax32);
  }
}

function deduce64(r: W): void {
  if (sle(r.uminH, r.uminL, r.umaxH, r.umaxL)) {
    sminMax(r, r.uminH, r.uminL);
    smaxMin(r, r.umaxH, r.umaxL);
  }
  if (ule(r.sminH, r.sminL, r.smaxH, r.smaxL)) {
    uminMax(r, r.sminH, r.sminL);
    umaxMin(r, r.smaxH, r.smaxL);
  } else if (ult(r.umaxH, r.umaxL, r.sminH, r.sminL)) {
    r.sminH = r.uminH; r.sminL = r.uminL;
    umaxMin(r, r.smaxH, r.smaxL);
  } else if (ult(r.smaxH, r.smaxL, r.uminH, r.uminL)) {
    r.smaxH = r.umaxH; r.smaxL = r.umaxL;
    uminMax(r, r.sminH, r.sminL);
  }
}

function deduceMixed(r: W): void {
  uminMax(r, r.uminH, r.umin32);
  umaxMin(r, r.umaxH, r.umax32);
  sminMax(r, r.sminH, r.umin32);
  smaxMin(r, r.smaxH, r.umax32);
  // smin >= S32_MIN && smax <= S32_MAX: both fit in an s32.
  const sminFits = r.sminH === (r.sminL >> 31);
  const smaxFits = r.smaxH === (r.smaxL >> 31);
  const sminGe = sminFits || r.sminH >= 0;
  const smaxLe = smaxFits || r.smaxH < 0;
  if (r.smin32 >= 0 && sminGe && smaxLe) {
    const lo = r.smin32, hi = r.smax32;
    r.sminH = lo >> 31; r.sminL = lo;
    r.smaxH = hi >> 31; r.smaxL = hi;
    r.uminH = lo >> 31; r.uminL = lo;
    r.umaxH = hi >> 31; r.umaxL = hi;
    intersectRange(r, r.sminH, r.sminL, r.smaxH, r.smaxL);
  }
}

/** r.var = tnum_intersect(r.var, tnum_range(min, max)). */
function intersectRange(r: W, minH: number, minL: number, maxH: number, maxL: number): void {
  const bits = fls64(minH ^ maxH, minL ^ maxL);
  let th: number, tl: number, dh: number, dl: number;
  if (bits > 63) {
    th = 0; tl = 0; dh = -1; dl = -1;
  } else {
    dh = bits > 32 ? lowBits32(bits - 32) : 0;
    dl = bits >= 32 ? -1 : lowBits32(bits);
    th = minH & ~dh;
    tl = minL & ~dl;
  }
  const muh = r.mh & dh;
  const mul = r.ml & dl;
  r.vh = (r.vh | th) & ~muh;
  r.vl = (r.vl | tl) & ~mul;
  r.mh = muh;
  r.ml = mul;
}

function deduce(r: W): void {
  deduce32(r);
  deduce64(r);
  deduceMixed(r);
}

function boundOffset(r: W): void {
  // v64 = var ∩ range(umin, umax); v32 = subreg(v64) ∩ range(u32min, u32max); var = high(v64) | v32.
  intersectRange(r, r.uminH, r.uminL, r.umaxH, r.umaxL);
  const bits = 32 - Math.clz32(r.umin32 ^ r.umax32);
  const dl = lowBits32(bits);
  const tl = r.umin32 & ~dl;
  const mul = r.ml & dl;
  r.vl = (r.vl | tl) & ~mul;
  r.ml = mul;
}

function syncW(r: W): void {
  updateAll(r);
  deduce(r);
  deduce(r);
  boundOffset(r);
  updateAll(r);
}

/** reg_bounds_sync(). */
export function sync(b: Bounds): Bounds {
  const r = load(W1, b);
  syncW(r);
  return store(r);
}

/** Bounds derived from a tnum alone (then synced). */
export function fromTnum(t: Tnum): Bounds {
  const r = load(W1, UNKNOWN);
  r.vh = t.vh; r.vl = t.vl; r.mh = t.mh; r.ml = t.ml;
  syncW(r);
  return store(r);
}

/** [min, max] unsigned. */
export function fromURange(lo: bigint, hi: bigint): Bounds {
  const r = load(W1, UNKNOWN);
  r.vh = 0; r.vl = 0; r.mh = -1; r.ml = -1;
  intersectRange(r, bigHi(lo), bigLo(lo), bigHi(hi), bigLo(hi));
  r.uminH = bigHi(lo); r.uminL = bigLo(lo); r.umaxH = bigHi(hi); r.umaxL = bigLo(hi);
  syncW(r);
  return store(r);
}

/** Sets r to the kernel's unsynced zext_32_to_64() of r. */
function zext32W(r: W): void {
  r.vh = 0; r.mh = 0;
  r.uminH = 0; r.uminL = r.umin32;
  r.umaxH = 0; r.umaxL = r.umax32;
  r.smaxH = 0;
  r.smaxL = r.smin32 >= 0 && r.smax32 >= 0 ? r.smax32 : -1;
  r.sminH = 0;
  r.sminL = r.smin32 >= 0 ? r.smin32 : 0;
}

/** zext_32_to_64(): the result of a 32-bit operation (not synced). */
export function zext32(b: Bounds): Bounds {
  const r = load(W1, b);
  zext32W(r);
  return store(r);
}

/** Sets r to coerce_reg_to_size() of r (synced). */
function coerceW(r: W, size: number): void {
  const bits = size * 8;
  // mask of the low `bits` bits, as a pair
  const mH = bits > 32 ? lowBits32(bits - 32) : 0;
  const mL = bits >= 32 ? -1 : lowBits32(bits);
  r.vh &= mH; r.vl &= mL; r.mh &= mH; r.ml &= mL;
  if ((r.uminH & ~mH) === (r.umaxH & ~mH) && (r.uminL & ~mL) === (r.umaxL & ~mL)) {
    r.uminH &= mH; r.uminL &= mL;
    r.umaxH &= mH; r.umaxL &= mL;
  } else {
    r.uminH = 0; r.uminL = 0;
    r.umaxH = mH; r.umaxL = mL;
  }
  r.sminH = r.uminH; r.sminL = r.uminL;
  r.smaxH = r.umaxH; r.smaxL = r.umaxL;
  if (size < 4) mark32Unbounded(r);
  syncW(r);
}

/** coerce_reg_to_size(): keep the low `size` bytes (zero-extending loads, 32-bit moves). */
export function coerceToSize(b: Bounds, size: number): Bounds {
  if (size >= 8) return b;
  const r = load(W1, b);
  coerceW(r, size);
  return store(r);
}

/**
 * scalar_byte_swap() then reg_bounds_sync(), for BPF_END: with `swap` (bswap, or
 * to_be on a little-endian host) var_off's bytes are reversed and every range
 * forgotten, to be re-derived from the tnum; 16- and 32-bit forms then keep only
 * the low bytes (coerce_reg_to_size); le64 on a little-endian host changes nothing.
 */
export function byteSwap(b: Bounds, width: 16 | 32 | 64, swap: boolean): Bounds {
  const r = load(W1, b);
  if (swap) {
    const t = tnumBswap(new Tnum(r.vh, r.vl, r.mh, r.ml), width);
    r.vh = t.vh; r.vl = t.vl; r.mh = t.mh; r.ml = t.ml;
    mark64Unbounded(r);
    mark32Unbounded(r);
  }
  if (width < 64) coerceW(r, width / 8);
  else syncW(r);
  return store(r);
}

/** Sets r to the sign extension of the low `size` bytes of b (synced). */
function signExtendW(r: W, b: Bounds, size: 1 | 2 | 4): void {
  const bits = size * 8;
  const mask = lowBits32(bits);
  const sign = size === 4 ? I32_MIN : 1 << (bits - 1);
  // t = tnum_cast(b.var, size): low word only.
  const tv = b.vl & mask;
  const tm = b.ml & mask;
  if (tm === 0) {
    const v = size === 4 ? tv | 0 : (tv << (32 - bits)) >> (32 - bits);
    load(r, knownPair(v >> 31, v));
    return;
  }
  load(r, UNKNOWN);
  if ((tm & sign) === 0) {
    if ((tv & sign) !== 0) {
      r.vh = -1; r.vl = tv | ~mask; r.mh = 0; r.ml = tm;
    } else {
      r.vh = 0; r.vl = tv; r.mh = 0; r.ml = tm;
    }
  } else {
    r.vh = 0; r.vl = tv; r.mh = -1; r.ml = tm | ~mask;
  }
  // smin = -sign, smax = sign - 1
  const smin = size === 4 ? I32_MIN : -(1 << (bits - 1));
  const smax = size === 4 ? I32_MAX : (1 << (bits - 1)) - 1;
  r.sminH = -1; r.sminL = smin;
  r.smaxH = 0; r.smaxL = smax;
  // The range survives when the low bytes form one range on the same side of the sign bit.
  if (b.uminH === b.umaxH && (b.uminL & ~mask) === (b.umaxL & ~mask)) {
    const lo = (b.uminL & mask) >>> 0;
    const hi = (b.umaxL & mask) >>> 0;
    const signU = sign >>> 0;
    if (hi < signU || lo >= signU) {
      const slo = lo >= signU ? lo - 2 * signU : lo;
      const shi = hi >= signU ? hi - 2 * signU : hi;
      r.sminH = slo < 0 ? -1 : 0; r.sminL = slo | 0;
      r.smaxH = shi < 0 ? -1 : 0; r.smaxL = shi | 0;
    }
  }
  syncW(r);
}

/** Sign extension of the low `size` bytes to 64 bits (ldsx, movsx). */
export function signExtend(b: Bounds, size: 1 | 2 | 4): Bounds {
  const r = W1;
  signExtendW(r, b, size);
  return store(r);
}

/** Sign extension then truncation to 32 bits, zero-extended (movsx in 32-bit ALU). */
export function signExtend32(b: Bounds, size: 1 | 2): Bounds {
  const r = W1;
  signExtendW(r, b, size);
  syncW(r);
  zext32W(r);
  syncW(r);
  return store(r);
}

// ---- ALU -----------------------------------------------------------------------------

export type ScalarAluOp = "add" | "sub" | "mul" | "and" | "or" | "xor" | "lsh" | "rsh" | "arsh";

/** s32 a + b overflows. */
const addOv32 = (a: number, b: number): boolean => {
  const x = a + b;
  return x !== (x | 0);
};

function add32(d: W, s: Bounds): void {
  if (addOv32(d.smin32, s.smin32) || addOv32(d.smax32, s.smax32)) {
    d.smin32 = I32_MIN; d.smax32 = I32_MAX;
  } else {
    d.smin32 = (d.smin32 + s.smin32) | 0; d.smax32 = (d.smax32 + s.smax32) | 0;
  }
  if ((d.umin32 >>> 0) + (s.umin32 >>> 0) > 0xffffffff || (d.umax32 >>> 0) + (s.umax32 >>> 0) > 0xffffffff) {
    d.umin32 = 0; d.umax32 = -1;
  } else {
    d.umin32 = (d.umin32 + s.umin32) | 0; d.umax32 = (d.umax32 + s.umax32) | 0;
  }
}

/** Signed overflow of the pair addition whose operands' high words are ah, bh and result's rh. */
const sAddOv = (ah: number, bh: number, rh: number): boolean => ((ah ^ rh) & (bh ^ rh)) < 0;
/** Signed overflow of a - b (high words), result rh. */
const sSubOv = (ah: number, bh: number, rh: number): boolean => ((ah ^ bh) & (ah ^ rh)) < 0;

function add64B(d: W, s: Bounds): void {
  add64(d.sminH, d.sminL, s.sminH, s.sminL);
  const loH = out.h, loL = out.l;
  const ov1 = sAddOv(d.sminH, s.sminH, loH);
  add64(d.smaxH, d.smaxL, s.smaxH, s.smaxL);
  const ov2 = sAddOv(d.smaxH, s.smaxH, out.h);
  if (ov1 || ov2) {
    d.sminH = I32_MIN; d.sminL = 0; d.smaxH = I32_MAX; d.smaxL = -1;
  } else {
    d.sminH = loH; d.sminL = loL; d.smaxH = out.h; d.smaxL = out.l;
  }
  const c1 = add64(d.uminH, d.uminL, s.uminH, s.uminL);
  const uloH = out.h, uloL = out.l;
  const c2 = add64(d.umaxH, d.umaxL, s.umaxH, s.umaxL);
  if (c1 || c2) {
    d.uminH = 0; d.uminL = 0; d.umaxH = -1; d.umaxL = -1;
  } else {
    d.uminH = uloH; d.uminL = uloL; d.umaxH = out.h; d.umaxL = out.l;
  }
}

function sub32(d: W, s: Bounds): void {
  if (addOv32(d.smin32, -s.smax32) || addOv32(d.smax32, -s.smin32)) {
    d.smin32 = I32_MIN; d.smax32 = I32_MAX;
  } else {
    const lo = (d.smin32 - s.smax32) | 0;
    d.smax32 = (d.smax32 - s.smin32) | 0;
    d.smin32 = lo;
  }
  if (d.umin32 >>> 0 < s.umax32 >>> 0) {
    d.umin32 = 0; d.umax32 = -1;
  } else {
    const lo = (d.umin32 - s.umax32) | 0;
    d.umax32 = (d.umax32 - s.umin32) | 0;
    d.umin32 = lo;
  }
}

function sub64B(d: W, s: Bounds): void {
  sub64(d.sminH, d.sminL, s.smaxH, s.smaxL);
  const loH = out.h, loL = out.l;
  const ov1 = sSubOv(d.sminH, s.smaxH, loH);
  sub64(d.smaxH, d.smaxL, s.sminH, s.sminL);
  const ov2 = sSubOv(d.smaxH, s.sminH, out.h);
  if (ov1 || ov2) {
    d.sminH = I32_MIN; d.sminL = 0; d.smaxH = I32_MAX; d.smaxL = -1;
  } else {
    d.sminH = loH; d.sminL = loL; d.smaxH = out.h; d.smaxL = out.l;
  }
  if (ult(d.uminH, d.uminL, s.umaxH, s.umaxL)) {
    d.uminH = 0; d.uminL = 0; d.umaxH = -1; d.umaxL = -1;
  } else {
    sub64(d.uminH, d.uminL, s.umaxH, s.umaxL);
    const uloH = out.h, uloL = out.l;
    sub64(d.umaxH, d.umaxL, s.uminH, s.uminL);
    d.umaxH = out.h; d.umaxL = out.l;
    d.uminH = uloH; d.uminL = uloL;
  }
}

function mul32(d: W, s: Bounds): void {
  if ((d.umax32 >>> 0) * (s.umax32 >>> 0) > 0xffffffff) {
    d.umin32 = 0; d.umax32 = -1;
  } else {
    d.umin32 = Math.imul(d.umin32, s.umin32);
    d.umax32 = Math.imul(d.umax32, s.umax32);
  }
  const p0 = d.smin32 * s.smin32, p1 = d.smin32 * s.smax32, p2 = d.smax32 * s.smin32, p3 = d.smax32 * s.smax32;
  if (p0 !== (p0 | 0) || p1 !== (p1 | 0) || p2 !== (p2 | 0) || p3 !== (p3 | 0)) {
    d.smin32 = I32_MIN; d.smax32 = I32_MAX;
  } else {
    d.smin32 = Math.min(p0, p1, p2, p3) | 0;
    d.smax32 = Math.max(p0, p1, p2, p3) | 0;
  }
}

function mul64B(d: W, s: Bounds): void {
  // 128-bit products: through bigints (rare: only non-constant multiplications get here).
  const umax = pairToBig(d.umaxH, d.umaxL) * s.umax;
  if (umax > U64_MAX) {
    d.uminH = 0; d.uminL = 0; d.umaxH = -1; d.umaxL = -1;
  } else {
    mul64(d.uminH, d.uminL, s.uminH, s.uminL);
    d.uminH = out.h; d.uminL = out.l;
    d.umaxH = bigHi(umax); d.umaxL = bigLo(umax);
  }
  const dsmin = pairToSBig(d.sminH, d.sminL), dsmax = pairToSBig(d.smaxH, d.smaxL);
  const p = [dsmin * s.smin, dsmin * s.smax, dsmax * s.smin, dsmax * s.smax];
  if (p.some((x) => BigInt.asIntN(64, x) !== x)) {
    d.sminH = I32_MIN; d.sminL = 0; d.smaxH = I32_MAX; d.smaxL = -1;
  } else {
    const lo = p.reduce((a, b) => (a < b ? a : b));
    const hi = p.reduce((a, b) => (a > b ? a : b));
    d.sminH = bigHi(lo); d.sminL = bigLo(lo); d.smaxH = bigHi(hi); d.smaxL = bigLo(hi);
  }
}

function signedFromUnsigned32(d: W): void {
  if (d.umin32 <= d.umax32) {
    d.smin32 = d.umin32; d.smax32 = d.umax32;
  } else {
    d.smin32 = I32_MIN; d.smax32 = I32_MAX;
  }
}
function signedFromUnsigned64(d: W): void {
  if (sle(d.uminH, d.uminL, d.umaxH, d.umaxL)) {
    d.sminH = d.uminH; d.sminL = d.uminL; d.smaxH = d.umaxH; d.smaxL = d.umaxL;
  } else {
    d.sminH = I32_MIN; d.sminL = 0; d.smaxH = I32_MAX; d.smaxL = -1;
  }
}
/** tnum_with_subreg(var, const v), 32-bit ranges exactly v. */
function setKnown32(d: W, v: number): void {
  d.vl = v; d.ml = 0;
  d.smin32 = d.smax32 = v;
  d.umin32 = d.umax32 = v;
}
function setKnown64(d: W, h: number, l: number): void {
  d.vh = h; d.vl = l; d.mh = 0; d.ml = 0;
  d.sminH = d.smaxH = d.uminH = d.umaxH = h;
  d.sminL = d.smaxL = d.uminL = d.umaxL = l;
  d.smin32 = d.smax32 = d.umin32 = d.umax32 = l;
}

function and32(d: W, s: Bounds): void {
  if (s.ml === 0 && d.ml === 0) return setKnown32(d, d.vl);
  d.umin32 = d.vl;
  umax32Min(d, s.umax32);
  signedFromUnsigned32(d);
}
function and64(d: W, s: Bounds): void {
  if ((s.mh | s.ml) === 0 && (d.mh | d.ml) === 0) return setKnown64(d, d.vh, d.vl);
  d.uminH = d.vh; d.uminL = d.vl;
  umaxMin(d, s.umaxH, s.umaxL);
  signedFromUnsigned64(d);
  updateAll(d);
}
function or32(d: W, s: Bounds): void {
  if (s.ml === 0 && d.ml === 0) return setKnown32(d, d.vl);
  umin32Max(d, s.umin32);
  d.umax32 = d.vl | d.ml;
  signedFromUnsigned32(d);
}
function or64(d: W, s: Bounds): void {
  if ((s.mh | s.ml) === 0 && (d.mh | d.ml) === 0) return setKnown64(d, d.vh, d.vl);
  uminMax(d, s.uminH, s.uminL);
  d.umaxH = d.vh | d.mh; d.umaxL = d.vl | d.ml;
  signedFromUnsigned64(d);
  updateAll(d);
}
function xor32(d: W, s: Bounds): void {
  if (s.ml === 0 && d.ml === 0) return setKnown32(d, d.vl);
  d.umin32 = d.vl;
  d.umax32 = d.vl | d.ml;
  signedFromUnsigned32(d);
}
function xor64(d: W, s: Bounds): void {
  if ((s.mh | s.ml) === 0 && (d.mh | d.ml) === 0) return setKnown64(d, d.vh, d.vl);
  d.uminH = d.vh; d.uminL = d.vl;
  d.umaxH = d.vh | d.mh; d.umaxL = d.vl | d.ml;
  signedFromUnsigned64(d);
  updateAll(d);
}

/** __scalar32_min_max_lsh(): shift amounts umin <= umax, both < 64. */
function lsh32Bounds(d: W, umin: number, umax: number): void {
  d.smin32 = I32_MIN;
  d.smax32 = I32_MAX;
  if (umax > 31 || d.umax32 >>> 0 > 2 ** (31 - umax)) {
    d.umin32 = 0; d.umax32 = -1;
  } else {
    d.umin32 <<= umin; d.umax32 <<= umax;
  }
}
function lsh32(d: W, s: Bounds): void {
  const umin = s.umin32 >>> 0;
  const sv = d.vl, sm = d.ml;
  lsh32Bounds(d, umin, s.umax32 >>> 0);
  d.vh = 0; d.mh = 0;
  d.vl = sv << umin; d.ml = sm << umin;
  mark64Unbounded(d);
  update32(d);
}
function lsh64B(d: W, s: Bounds): void {
  // Shift amounts: a constant below 64 (rangeComputable), so the low words.
  const umin = s.uminL >>> 0;
  const umax = s.umaxL >>> 0;
  const by32 = s.uminH === 0 && s.umaxH === 0 && umin === 32 && umax === 32;
  if (by32 && d.smax32 >= 0) { d.smaxH = d.smax32; d.smaxL = 0; } else { d.smaxH = I32_MAX; d.smaxL = -1; }
  if (by32 && d.smin32 >= 0) { d.sminH = d.smin32; d.sminL = 0; } else { d.sminH = I32_MIN; d.sminL = 0; }
  const k = 63 - umax; // 1 << k as a pair
  const kh = k >= 32 ? 1 << (k - 32) : 0;
  const kl = k >= 32 ? 0 : 1 << k;
  if (ult(kh, kl, d.umaxH, d.umaxL)) {
    d.uminH = 0; d.uminL = 0; d.umaxH = -1; d.umaxL = -1;
  } else {
    shl64(d.uminH, d.uminL, umin);
    d.uminH = out.h; d.uminL = out.l;
    shl64(d.umaxH, d.umaxL, umax);
    d.umaxH = out.h; d.umaxL = out.l;
  }
  lsh32Bounds(d, umin, umax);
  shl64(d.vh, d.vl, umin);
  d.vh = out.h; d.vl = out.l;
  shl64(d.mh, d.ml, umin);
  d.mh = out.h; d.ml = out.l;
  updateAll(d);
}
function rsh32(d: W, s: Bounds): void {
  const umin = s.umin32 >>> 0, umax = s.umax32 >>> 0;
  d.smin32 = I32_MIN;
  d.smax32 = I32_MAX;
  d.vh = 0; d.mh = 0;
  d.vl = (d.vl >>> umin) | 0; d.ml = (d.ml >>> umin) | 0;
  d.umin32 = (d.umin32 >>> umax) | 0;
  d.umax32 = (d.umax32 >>> umin) | 0;
  mark64Unbounded(d);
  update32(d);
}
function rsh64B(d: W, s: Bounds): void {
  const umin = s.uminL >>> 0, umax = s.umaxL >>> 0;
  d.sminH = I32_MIN; d.sminL = 0; d.smaxH = I32_MAX; d.smaxL = -1;
  shr64(d.vh, d.vl, umin);
  d.vh = out.h; d.vl = out.l;
  shr64(d.mh, d.ml, umin);
  d.mh = out.h; d.ml = out.l;
  shr64(d.uminH, d.uminL, umax);
  d.uminH = out.h; d.uminL = out.l;
  shr64(d.umaxH, d.umaxL, umin);
  d.umaxH = out.h; d.umaxL = out.l;
  mark32Unbounded(d);
  updateAll(d);
}
function arsh32(d: W, s: Bounds): void {
  const sh = s.umin32 >>> 0;
  d.smin32 >>= sh;
  d.smax32 >>= sh;
  d.vh = 0; d.mh = 0;
  d.vl >>= sh; d.ml >>= sh;
  d.umin32 = 0;
  d.umax32 = -1;
  mark64Unbounded(d);
  update32(d);
}
function arsh64B(d: W, s: Bounds): void {
  const sh = s.uminL >>> 0;
  sar64(d.sminH, d.sminL, sh);
  d.sminH = out.h; d.sminL = out.l;
  sar64(d.smaxH, d.smaxL, sh);
  d.smaxH = out.h; d.smaxL = out.l;
  sar64(d.vh, d.vl, sh);
  d.vh = out.h; d.vl = out.l;
  sar64(d.mh, d.ml, sh);
  d.mh = out.h; d.ml = out.l;
  d.uminH = 0; d.uminL = 0; d.umaxH = -1; d.umaxL = -1;
  mark32Unbounded(d);
  updateAll(d);
}

/**
 * Whether adjust_scalar_min_max_vals() computes a range for `op` with this source
 * (is_safe_to_compute_dst_reg_range()); when not, the result is unknown.
 */
export function rangeComputable(op: ScalarAluOp | "div" | "mod" | "sdiv" | "smod", src: Bounds, alu32: boolean): boolean {
  switch (op) {
    case "add": case "sub": case "mul": case "and": case "or": case "xor":
      return true;
    case "lsh": case "rsh": case "arsh":
      if (alu32) return src.ml === 0 && src.umax32 >>> 0 < 32;
      return (src.mh | src.ml) === 0 && src.umaxH === 0 && src.umaxL >>> 0 < 64;
    default:
      return false;
  }
}

const ZEXT_UNKNOWN = zext32(UNKNOWN);
const SYNCED_ZEXT_UNKNOWN = sync(ZEXT_UNKNOWN);

/** out = dst op src on 64-bit constants (shift amounts below 64). */
function foldConst64(op: ScalarAluOp, dh: number, dl: number, sh: number, sl: number): void {
  switch (op) {
    case "add": add64(dh, dl, sh, sl); break;
    case "sub": sub64(dh, dl, sh, sl); break;
    case "mul": mul64(dh, dl, sh, sl); break;
    case "and": out.h = dh & sh; out.l = dl & sl; break;
    case "or": out.h = dh | sh; out.l = dl | sl; break;
    case "xor": out.h = dh ^ sh; out.l = dl ^ sl; break;
    case "lsh": shl64(dh, dl, sl); break;
    case "rsh": shr64(dh, dl, sl); break;
    case "arsh": sar64(dh, dl, sl); break;
  }
}

function foldConst32(op: ScalarAluOp, d: number, s: number): number {
  switch (op) {
    case "add": return (d + s) | 0;
    case "sub": return (d - s) | 0;
    case "mul": return Math.imul(d, s);
    case "and": return d & s;
    case "or": return d | s;
    case "xor": return d ^ s;
    case "lsh": return d << s;
    case "rsh": return (d >>> s) | 0;
    case "arsh": return d >> s;
  }
}

/**
 * dst = dst <op> src on scalars, as adjust_scalar_min_max_vals() computes it
 * (32-bit results zero-extended); unknown when the range is not computable or the
 * source's bounds are inconsistent.
 */
export function scalarAlu(op: ScalarAluOp | "div" | "mod" | "sdiv" | "smod", dst: Bounds, src: Bounds, alu32: boolean): Bounds {
  // Constant folding: two constants whose every field is the constant (as known() and
  // sync() make them) give the constant result, which is what the general path computes
  // (its ranges are sound, so syncing them with the constant tnum leaves the constant).
  if (op !== "div" && op !== "mod" && op !== "sdiv" && op !== "smod" && rangeComputable(op, src, alu32)) {
    if (alu32) {
      if (src.ml === 0 && dst.ml === 0 && isExact32(dst) && isExact32(src)) return knownPair(0, foldConst32(op, dst.vl, src.vl));
    } else if ((src.mh | src.ml | dst.mh | dst.ml) === 0 && isExact64(dst) && isExact64(src)) {
      foldConst64(op, dst.vh, dst.vl, src.vh, src.vl);
      return knownPair(out.h, out.l);
    }
  }
  return scalarAluGeneral(op, dst, src, alu32);
}

/** scalarAlu() without constant folding (the kernel's computation, step by step). */
export function scalarAluGeneral(op: ScalarAluOp | "div" | "mod" | "sdiv" | "smod", dst: Bounds, src: Bounds, alu32: boolean): Bounds {
  if (alu32) {
    const srcKnown = src.ml === 0;
    if ((srcKnown && (src.smin32 !== src.smax32 || src.umin32 !== src.umax32)) || src.smin32 > src.smax32 || src.umin32 >>> 0 > src.umax32 >>> 0) {
      return ZEXT_UNKNOWN;
    }
  } else {
    const srcKnown = (src.mh | src.ml) === 0;
    if ((srcKnown && (src.sminH !== src.smaxH || src.sminL !== src.smaxL || src.uminH !== src.umaxH || src.uminL !== src.umaxL)) ||
      slt(src.smaxH, src.smaxL, src.sminH, src.sminL) || ult(src.umaxH, src.umaxL, src.uminH, src.uminL)) {
      return UNKNOWN;
    }
  }
  if (!rangeComputable(op, src, alu32)) return alu32 ? SYNCED_ZEXT_UNKNOWN : UNKNOWN;
  const aop = op as ScalarAluOp;
  const d = load(W1, dst);
  switch (aop) {
    case "add":
      add32(d, src);
      if (!alu32) add64B(d, src);
      tnumOpW(d, src, 0);
      break;
    case "sub":
      sub32(d, src);
      if (!alu32) sub64B(d, src);
      tnumOpW(d, src, 1);
      break;
    case "mul":
      tnumOpW(d, src, 2);
      mul32(d, src);
      if (!alu32) mul64B(d, src);
      break;
    case "and":
      d.vh &= src.vh; d.vl &= src.vl;
      d.mh = (dst.vh | dst.mh) & (src.vh | src.mh) & ~d.vh;
      d.ml = (dst.vl | dst.ml) & (src.vl | src.ml) & ~d.vl;
      and32(d, src);
      if (!alu32) and64(d, src);
      break;
    case "or":
      d.vh |= src.vh; d.vl |= src.vl;
      d.mh = (dst.mh | src.mh) & ~d.vh;
      d.ml = (dst.ml | src.ml) & ~d.vl;
      or32(d, src);
      if (!alu32) or64(d, src);
      break;
    case "xor":
      d.mh = dst.mh | src.mh; d.ml = dst.ml | src.ml;
      d.vh = (dst.vh ^ src.vh) & ~d.mh; d.vl = (dst.vl ^ src.vl) & ~d.ml;
      xor32(d, src);
      if (!alu32) xor64(d, src);
      break;
    case "lsh":
      if (alu32) lsh32(d, src); else lsh64B(d, src);
      break;
    case "rsh":
      if (alu32) rsh32(d, src); else rsh64B(d, src);
      break;
    case "arsh":
      if (alu32) arsh32(d, src); else arsh64B(d, src);
      break;
  }
  if (alu32) zext32W(d);
  syncW(d);
  return store(d);
}

/** Every field of a constant's bounds is that constant (as known() makes them). */
function isExact64(b: Bounds): boolean {
  const h = b.vh, l = b.vl;
  return b.sminH === h && b.sminL === l && b.smaxH === h && b.smaxL === l && b.uminH === h && b.uminL === l && b.umaxH === h && b.umaxL === l &&
    b.smin32 === l && b.smax32 === l && b.umin32 === l && b.umax32 === l;
}
/** The 32-bit fields of a subregister constant are that constant. */
function isExact32(b: Bounds): boolean {
  const l = b.vl;
  return b.smin32 === l && b.smax32 === l && b.umin32 === l && b.umax32 === l;
}

/** d.var = tnum_add/sub/mul(d.var, src.var) (op 0, 1, 2). */
function tnumOpW(d: W, s: Bounds, op: 0 | 1 | 2): void {
  const a = new Tnum(d.vh, d.vl, d.mh, d.ml);
  const b = new Tnum(s.vh, s.vl, s.mh, s.ml);
  const t = op === 0 ? tnumAdd(a, b) : op === 1 ? tnumSub(a, b) : tnumMul(a, b);
  d.vh = t.vh; d.vl = t.vl; d.mh = t.mh; d.ml = t.ml;
}

/** Negation (0 - x). */
export const scalarNeg = (b: Bounds, alu32: boolean): Bounds => scalarAlu("sub", ZERO, b, alu32);

// ---- pointers ------------------------------------------------------------------------

/**
 * The variable offset of ptr +/- off (adjust_ptr_min_max_vals() for a non-constant
 * or large offset): 64-bit ranges with the overflow rules, the tnum sum or difference,
 * 32-bit fields of the pointer unchanged (ptrBounds() then drops them).
 */
export function ptrAddSub(pb: Bounds, ob: Bounds, sub: boolean): Bounds {
  const d = load(W1, pb);
  if (sub) sub64B(d, ob);
  else add64B(d, ob);
  tnumOpW(d, ob, sub ? 1 : 0);
  return store(d);
}

let ptrIn: Bounds | undefined;
let ptrOut: Bounds | undefined;

/** Pointers carry no 32-bit bounds: b with unbounded 32-bit ranges, synced. */
export function ptrBounds(b: Bounds): Bounds {
  // Bounds are immutable: the last answer is reused for the same object (a pointer
  // moved by constants keeps its variable part, usually the same Bounds).
  if (b === ptrIn) return ptrOut!;
  const d = load(W1, b);
  mark32Unbounded(d);
  syncW(d);
  ptrIn = b;
  ptrOut = store(d);
  return ptrOut;
}

// ---- branches ------------------------------------------------------------------------

export type CondOp = "jeq" | "jne" | "jgt" | "jge" | "jlt" | "jle" | "jsgt" | "jsge" | "jslt" | "jsle" | "jset" | "jset_rev";

const FLIP: Record<CondOp, CondOp> = {
  jeq: "jeq", jne: "jne", jset: "jset", jset_rev: "jset_rev",
  jgt: "jlt", jlt: "jgt", jge: "jle", jle: "jge", jsgt: "jslt", jslt: "jsgt", jsge: "jsle", jsle: "jsge",
};
const REV: Record<CondOp, CondOp> = {
  jeq: "jne", jne: "jeq", jset: "jset_rev", jset_rev: "jset",
  jgt: "jle", jle: "jgt", jge: "jlt", jlt: "jge", jsgt: "jsle", jsle: "jsgt", jsge: "jslt", jslt: "jsge",
};
/** `a op b` == `b flip(op) a`. */
export const flipOp = (op: CondOp): CondOp => FLIP[op];
/** The condition of the fall-through branch. */
export const revOp = (op: CondOp): CondOp => REV[op];

/** 32-bit range comparisons: the u32 fields as unsigned values. */
const u = (x: number): number => x >>> 0;

/** is_scalar_branch_taken(): 1 taken, 0 not taken, -1 unknown. */
export function branchTaken(r1: Bounds, r2: Bounds, op: CondOp, jmp32: boolean): 1 | 0 | -1 {
  return jmp32 ? branchTaken32(r1, r2, op) : branchTaken64(r1, r2, op);
}

function jsetTaken(t1v: number, t1m: number, t1vh: number, t1mh: number, c: number, ch: number): 1 | 0 | -1 {
  if (((~t1m & t1v & c) | (~t1mh & t1vh & ch)) !== 0) return 1;
  if ((((t1m | t1v) & c) | ((t1mh | t1vh) & ch)) === 0) return 0;
  return -1;
}

function branchTaken32(r1: Bounds, r2: Bounds, op: CondOp): 1 | 0 | -1 {
  const umin1 = u(r1.umin32), umax1 = u(r1.umax32), smin1 = r1.smin32, smax1 = r1.smax32;
  const umin2 = u(r2.umin32), umax2 = u(r2.umax32), smin2 = r2.smin32, smax2 = r2.smax32;
  switch (op) {
    case "jeq":
    case "jne": {
      const eq = op === "jeq" ? 1 : 0;
      if (r1.ml === 0 && r2.ml === 0) return r1.vl === r2.vl ? eq : ((1 - eq) as 0 | 1);
      if (umin1 > umax2 || umax1 < umin2) return (1 - eq) as 0 | 1;
      if (smin1 > smax2 || smax1 < smin2) return (1 - eq) as 0 | 1;
      return -1;
    }
    case "jset":
    case "jset_rev": {
      let res: 1 | 0 | -1;
      if (r2.ml === 0) res = jsetTaken(r1.vl, r1.ml, 0, 0, r2.vl, 0);
      else if (r1.ml === 0) res = jsetTaken(r2.vl, r2.ml, 0, 0, r1.vl, 0);
      else return -1;
      if (op === "jset_rev" && res !== -1) return res === 1 ? 0 : 1;
      return res;
    }
    case "jgt": return umin1 > umax2 ? 1 : umax1 <= umin2 ? 0 : -1;
    case "jsgt": return smin1 > smax2 ? 1 : smax1 <= smin2 ? 0 : -1;
    case "jlt": return umax1 < umin2 ? 1 : umin1 >= umax2 ? 0 : -1;
    case "jslt": return smax1 < smin2 ? 1 : smin1 >= smax2 ? 0 : -1;
    case "jge": return umin1 >= umax2 ? 1 : umax1 < umin2 ? 0 : -1;
    case "jsge": return smin1 >= smax2 ? 1 : smax1 < smin2 ? 0 : -1;
    case "jle": return umax1 <= umin2 ? 1 : umin1 > umax2 ? 0 : -1;
    case "jsle": return smax1 <= smin2 ? 1 : smin1 > smax2 ? 0 : -1;
  }
}

function branchTaken64(r1: Bounds, r2: Bounds, op: CondOp): 1 | 0 | -1 {
  switch (op) {
    case "jeq":
    case "jne": {
      const eq = op === "jeq" ? 1 : 0;
      const ne = (1 - eq) as 0 | 1;
      if ((r1.mh | r1.ml | r2.mh | r2.ml) === 0) return r1.vh === r2.vh && r1.vl === r2.vl ? eq : ne;
      if (ult(r2.umaxH, r2.umaxL, r1.uminH, r1.uminL) || ult(r1.umaxH, r1.umaxL, r2.uminH, r2.uminL)) return ne;
      if (slt(r2.smaxH, r2.smaxL, r1.sminH, r1.sminL) || slt(r1.smaxH, r1.smaxL, r2.sminH, r2.sminL)) return ne;
      if (u(r1.umin32) > u(r2.umax32) || u(r1.umax32) < u(r2.umin32)) return ne;
      if (r1.smin32 > r2.smax32 || r1.smax32 < r2.smin32) return ne;
      return -1;
    }
    case "jset":
    case "jset_rev": {
      let res: 1 | 0 | -1;
      if ((r2.mh | r2.ml) === 0) res = jsetTaken(r1.vl, r1.ml, r1.vh, r1.mh, r2.vl, r2.vh);
      else if ((r1.mh | r1.ml) === 0) res = jsetTaken(r2.vl, r2.ml, r2.vh, r2.mh, r1.vl, r1.vh);
      else return -1;
      if (op === "jset_rev" && res !== -1) return res === 1 ? 0 : 1;
      return res;
    }
    case "jgt": return ult(r2.umaxH, r2.umaxL, r1.uminH, r1.uminL) ? 1 : ule(r1.umaxH, r1.umaxL, r2.uminH, r2.uminL) ? 0 : -1;
    case "jsgt": return slt(r2.smaxH, r2.smaxL, r1.sminH, r1.sminL) ? 1 : sle(r1.smaxH, r1.smaxL, r2.sminH, r2.sminL) ? 0 : -1;
    case "jlt": return ult(r1.umaxH, r1.umaxL, r2.uminH, r2.uminL) ? 1 : ule(r2.umaxH, r2.umaxL, r1.uminH, r1.uminL) ? 0 : -1;
    case "jslt": return slt(r1.smaxH, r1.smaxL, r2.sminH, r2.sminL) ? 1 : sle(r2.smaxH, r2.smaxL, r1.sminH, r1.sminL) ? 0 : -1;
    case "jge": return ule(r2.umaxH, r2.umaxL, r1.uminH, r1.uminL) ? 1 : ult(r1.umaxH, r1.umaxL, r2.uminH, r2.uminL) ? 0 : -1;
    case "jsge": return sle(r2.smaxH, r2.smaxL, r1.sminH, r1.sminL) ? 1 : slt(r1.smaxH, r1.smaxL, r2.sminH, r2.sminL) ? 0 : -1;
    case "jle": return ule(r1.umaxH, r1.umaxL, r2.uminH, r2.uminL) ? 1 : ult(r2.umaxH, r2.umaxL, r1.uminH, r1.uminL) ? 0 : -1;
    case "jsle": return sle(r1.smaxH, r1.smaxL, r2.sminH, r2.sminL) ? 1 : slt(r2.smaxH, r2.smaxL, r1.sminH, r1.sminL) ? 0 : -1;
  }
}

/** The constant of the 32-bit or 64-bit view, when known. */
const isConstW = (b: W, jmp32: boolean): boolean => (jmp32 ? b.ml === 0 : (b.mh | b.ml) === 0);

/**
 * regs_refine_cond_op() followed by reg_bounds_sync() on both: what `r1 op r2`
 * being true teaches about each side. Returns the refined pair.
 */
export function refineCond(a: Bounds, b: Bounds, op: CondOp, jmp32: boolean): [Bounds, Bounds] {
  let r1 = load(W1, a);
  let r2 = load(W2, b);
  let swapped = false;
  if (op === "jge" || op === "jgt" || op === "jsge" || op === "jsgt") {
    op = flipOp(op);
    [r1, r2] = [r2, r1];
    swapped = true;
  }
  switch (op) {
    case "jeq":
      if (jmp32) {
        umin32Max(r1, r2.umin32); umax32Min(r1, r2.umax32);
        smin32Max(r1, r2.smin32); smax32Min(r1, r2.smax32);
        r2.umin32 = r1.umin32; r2.umax32 = r1.umax32; r2.smin32 = r1.smin32; r2.smax32 = r1.smax32;
        const ml = r1.ml & r2.ml;
        const vl = (r1.vl | r2.vl) & ~ml;
        r1.vl = vl; r1.ml = ml;
        r2.vl = vl; r2.ml = ml;
      } else {
        uminMax(r1, r2.uminH, r2.uminL); umaxMin(r1, r2.umaxH, r2.umaxL);
        sminMax(r1, r2.sminH, r2.sminL); smaxMin(r1, r2.smaxH, r2.smaxL);
        r2.uminH = r1.uminH; r2.uminL = r1.uminL; r2.umaxH = r1.umaxH; r2.umaxL = r1.umaxL;
        r2.sminH = r1.sminH; r2.sminL = r1.sminL; r2.smaxH = r1.smaxH; r2.smaxL = r1.smaxL;
        const mh = r1.mh & r2.mh, ml = r1.ml & r2.ml;
        const vh = (r1.vh | r2.vh) & ~mh, vl = (r1.vl | r2.vl) & ~ml;
        r1.vh = vh; r1.vl = vl; r1.mh = mh; r1.ml = ml;
        r2.vh = vh; r2.vl = vl; r2.mh = mh; r2.ml = ml;
      }
      break;
    case "jne": {
      let x = r1, c = r2;
      if (!isConstW(c, jmp32)) [x, c] = [c, x];
      if (!isConstW(c, jmp32)) break;
      if (jmp32) {
        const val = c.vl;
        if (x.umin32 === val) x.umin32 = (x.umin32 + 1) | 0;
        if (x.umax32 === val) x.umax32 = (x.umax32 - 1) | 0;
        if (x.smin32 === val) x.smin32 = (x.smin32 + 1) | 0;
        if (x.smax32 === val) x.smax32 = (x.smax32 - 1) | 0;
      } else {
        const vh = c.vh, vl = c.vl;
        if (x.uminH === vh && x.uminL === vl) { add64(vh, vl, 0, 1); x.uminH = out.h; x.uminL = out.l; }
        if (x.umaxH === vh && x.umaxL === vl) { sub64(vh, vl, 0, 1); x.umaxH = out.h; x.umaxL = out.l; }
        if (x.sminH === vh && x.sminL === vl) { add64(vh, vl, 0, 1); x.sminH = out.h; x.sminL = out.l; }
        if (x.smaxH === vh && x.smaxL === vl) { sub64(vh, vl, 0, 1); x.smaxH = out.h; x.smaxL = out.l; }
      }
      break;
    }
    case "jset": {
      let x = r1, c = r2;
      if (!isConstW(c, jmp32)) [x, c] = [c, x];
      if (!isConstW(c, jmp32)) break;
      const vh = jmp32 ? 0 : c.vh, vl = c.vl;
      // Only a single bit teaches anything.
      if ((vh | vl) === 0) break;
      if (vh !== 0 && vl !== 0) break;
      if (vl !== 0 ? (vl & (vl - 1)) !== 0 : (vh & (vh - 1)) !== 0) break;
      x.vh |= vh; x.vl |= vl;
      x.mh &= ~x.vh; x.ml &= ~x.vl;
      break;
    }
    case "jset_rev": {
      let x = r1, c = r2;
      if (!isConstW(c, jmp32)) [x, c] = [c, x];
      if (!isConstW(c, jmp32)) break;
      mark64Unbounded(x);
      mark32Unbounded(x);
      if (jmp32) {
        const nv = ~c.vl;
        const vl = x.vl & nv;
        x.ml = (x.vl | x.ml) & nv & ~vl;
        x.vl = vl;
      } else {
        const nh = ~c.vh, nl = ~c.vl;
        const vh = x.vh & nh, vl = x.vl & nl;
        x.mh = (x.vh | x.mh) & nh & ~vh;
        x.ml = (x.vl | x.ml) & nl & ~vl;
        x.vh = vh; x.vl = vl;
      }
      break;
    }
    case "jle":
      if (jmp32) {
        umax32Min(r1, r2.umax32);
        umin32Max(r2, r1.umin32);
      } else {
        umaxMin(r1, r2.umaxH, r2.umaxL);
        uminMax(r2, r1.uminH, r1.uminL);
      }
      break;
    case "jlt":
      if (jmp32) {
        umax32Min(r1, (r2.umax32 - 1) | 0);
        umin32Max(r2, (r1.umin32 + 1) | 0);
      } else {
        sub64(r2.umaxH, r2.umaxL, 0, 1);
        umaxMin(r1, out.h, out.l);
        add64(r1.uminH, r1.uminL, 0, 1);
        uminMax(r2, out.h, out.l);
      }
      break;
    case "jsle":
      if (jmp32) {
        smax32Min(r1, r2.smax32);
        smin32Max(r2, r1.smin32);
      } else {
        smaxMin(r1, r2.smaxH, r2.smaxL);
        sminMax(r2, r1.sminH, r1.sminL);
      }
      break;
    case "jslt":
      if (jmp32) {
        smax32Min(r1, (r2.smax32 - 1) | 0);
        smin32Max(r2, (r1.smin32 + 1) | 0);
      } else {
        sub64(r2.smaxH, r2.smaxL, 0, 1);
        smaxMin(r1, out.h, out.l);
        add64(r1.sminH, r1.sminL, 0, 1);
        sminMax(r2, out.h, out.l);
      }
      break;
    default:
      break;
  }
  syncW(r1);
  syncW(r2);
  const b1 = store(r1);
  const b2 = store(r2);
  return swapped ? [b2, b1] : [b1, b2];
}

/** Whether `cur` describes a subset of `old` (range_within() plus tnum_in()). */
export function within(old: Bounds, cur: Bounds): boolean {
  return ule(old.uminH, old.uminL, cur.uminH, cur.uminL) && ule(cur.umaxH, cur.umaxL, old.umaxH, old.umaxL) &&
    sle(old.sminH, old.sminL, cur.sminH, cur.sminL) && sle(cur.smaxH, cur.smaxL, old.smaxH, old.smaxL) &&
    old.umin32 >>> 0 <= cur.umin32 >>> 0 && cur.umax32 >>> 0 <= old.umax32 >>> 0 && old.smin32 <= cur.smin32 && cur.smax32 <= old.smax32 &&
    (cur.mh & ~old.mh) === 0 && (cur.ml & ~old.ml) === 0 && old.vh === (cur.vh & ~old.mh) && old.vl === (cur.vl & ~old.ml);
}

export const boundsEqual = (a: Bounds, b: Bounds): boolean =>
  a === b || (a.vh === b.vh && a.vl === b.vl && a.mh === b.mh && a.ml === b.ml && a.sminH === b.sminH && a.sminL === b.sminL &&
    a.smaxH === b.smaxH && a.smaxL === b.smaxL && a.uminH === b.uminH && a.uminL === b.uminL && a.umaxH === b.umaxH && a.umaxL === b.umaxL &&
    a.smin32 === b.smin32 && a.smax32 === b.smax32 && a.umin32 === b.umin32 && a.umax32 === b.umax32);

export { tnumCast };
