/**
 * REFERENCE MODEL (tests only): src/verifier/bounds.ts as it was on bigints, the
 * readable transcription of the kernel's range tracking. The verifier now runs on
 * int32 pairs (wrapping as the kernel's C arithmetic does); reference.test.ts checks
 * that both give identical results wherever this model's values stay in range.
 * Width conversions use masks instead of BigInt.asUintN/asIntN (same values).
 *
 * Scalar value tracking: a tnum plus unsigned/signed 64-bit and 32-bit ranges,
 * kept in sync the way kernel/bpf/verifier.c does (reg_bounds_sync(),
 * __reg32_deduce_bounds(), __reg64_deduce_bounds(), __reg_deduce_mixed_bounds(),
 * __reg_bound_offset()), the scalar transfer functions of
 * adjust_scalar_min_max_vals() (scalar{32,}_min_max_{add,sub,mul,and,or,xor,lsh,rsh,arsh}),
 * coerce_reg_to_size(), zext_32_to_64(), and the branch logic of
 * is_scalar_branch_taken() and regs_refine_cond_op().
 *
 * Pure functions on bigint: u64/u32 fields are unsigned, s64/s32 fields signed.
 * Nothing here knows about instructions, registers or pointers.
 */
import {
  TNUM_UNKNOWN, tnumAdd, tnumAnd, tnumArshift, tnumCast, tnumConst, tnumIntersect, tnumIsConst, tnumLshift,
  tnumMul, tnumOr, tnumRange, tnumRshift, tnumSub, tnumSubreg, tnumClearSubreg, tnumWithSubreg, tnumXor,
  tnumSubregIsConst, tnumBswap, type Tnum,
} from "./tnum.js";

export const U64_MAX = (1n << 64n) - 1n;
export const S64_MAX = (1n << 63n) - 1n;
export const S64_MIN = -(1n << 63n);
export const U32_MAX = 0xffffffffn;
export const S32_MAX = 0x7fffffffn;
export const S32_MIN = -0x80000000n;

export interface Bounds {
  readonly var: Tnum;
  readonly smin: bigint;
  readonly smax: bigint;
  readonly umin: bigint;
  readonly umax: bigint;
  readonly s32min: bigint;
  readonly s32max: bigint;
  readonly u32min: bigint;
  readonly u32max: bigint;
}
type MBounds = { -readonly [K in keyof Bounds]: Bounds[K] };

const asIntN = (bits: number, x: bigint): bigint => {
  const m = (1n << BigInt(bits)) - 1n;
  const v = x & m;
  return v >> BigInt(bits - 1) ? v - m - 1n : v;
};
const s64 = (x: bigint): bigint => asIntN(64, x);
const u64 = (x: bigint): bigint => x & U64_MAX;
const s32 = (x: bigint): bigint => asIntN(32, x);
const u32 = (x: bigint): bigint => x & U32_MAX;
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

export const UNKNOWN: Bounds = {
  var: TNUM_UNKNOWN, smin: S64_MIN, smax: S64_MAX, umin: 0n, umax: U64_MAX,
  s32min: S32_MIN, s32max: S32_MAX, u32min: 0n, u32max: U32_MAX,
};

/** __mark_reg_known(): exactly `v` (any bigint, taken modulo 2^64). */
export function known(v: bigint): Bounds {
  const u = u64(v);
  const lo = u32(u);
  return { var: tnumConst(u), smin: s64(u), smax: s64(u), umin: u, umax: u, s32min: s32(lo), s32max: s32(lo), u32min: lo, u32max: lo };
}

export const isConst = (b: Bounds): boolean => tnumIsConst(b.var);
export const isConst32 = (b: Bounds): boolean => tnumSubregIsConst(b.var);
export const isUnknown = (b: Bounds): boolean =>
  b.var.mask === U64_MAX && b.smin === S64_MIN && b.smax === S64_MAX && b.umin === 0n && b.umax === U64_MAX &&
  b.s32min === S32_MIN && b.s32max === S32_MAX && b.u32min === 0n && b.u32max === U32_MAX;

/** Whether some concrete value satisfies every component (false for dead branches). */
export function isConsistent(b: Bounds): boolean {
  return b.smin <= b.smax && b.umin <= b.umax && b.s32min <= b.s32max && b.u32min <= b.u32max;
}

/** Whether concrete 64-bit value x (unsigned) is described by b. */
export function contains(b: Bounds, x: bigint): boolean {
  const u = u64(x);
  const s = s64(u);
  const lo = u32(u);
  const slo = s32(lo);
  return (u & ~b.var.mask & U64_MAX) === b.var.value && u >= b.umin && u <= b.umax && s >= b.smin && s <= b.smax &&
    lo >= b.u32min && lo <= b.u32max && slo >= b.s32min && slo <= b.s32max;
}

const mark64Unbounded = (r: MBounds): void => {
  r.smin = S64_MIN; r.smax = S64_MAX; r.umin = 0n; r.umax = U64_MAX;
};
const mark32Unbounded = (r: MBounds): void => {
  r.s32min = S32_MIN; r.s32max = S32_MAX; r.u32min = 0n; r.u32max = U32_MAX;
};

function update32(r: MBounds): void {
  const v = tnumSubreg(r.var);
  r.s32min = max(r.s32min, s32(v.value | (v.mask & 0x80000000n)));
  r.s32max = min(r.s32max, s32(v.value | (v.mask & 0x7fffffffn)));
  r.u32min = max(r.u32min, v.value);
  r.u32max = min(r.u32max, v.value | v.mask);
}

function update64(r: MBounds): void {
  const v = r.var;
  r.smin = max(r.smin, s64(v.value | (v.mask & (1n << 63n))));
  r.smax = min(r.smax, s64(v.value | (v.mask & S64_MAX)));
  r.umin = max(r.umin, v.value);
  r.umax = min(r.umax, v.value | v.mask);
}

function updateAll(r: MBounds): void {
  update32(r);
  update64(r);
}

function deduce32(r: MBounds): void {
  if (r.umin >> 32n === r.umax >> 32n) {
    r.u32min = max(r.u32min, u32(r.umin));
    r.u32max = min(r.u32max, u32(r.umax));
    if (s32(r.umin) <= s32(r.umax)) {
      r.s32min = max(r.s32min, s32(r.umin));
      r.s32max = min(r.s32max, s32(r.umax));
    }
  }
  if (r.smin >> 32n === r.smax >> 32n) {
    if (u32(r.smin) <= u32(r.smax)) {
      r.u32min = max(r.u32min, u32(r.smin));
      r.u32max = min(r.u32max, u32(r.smax));
    }
    if (s32(r.smin) <= s32(r.smax)) {
      r.s32min = max(r.s32min, s32(r.smin));
      r.s32max = min(r.s32max, s32(r.smax));
    }
  }
  if (u32((r.umin >> 32n) + 1n) === u32(r.umax >> 32n) && s32(r.umin) < 0n && s32(r.umax) >= 0n) {
    r.s32min = max(r.s32min, s32(r.umin));
    r.s32max = min(r.s32max, s32(r.umax));
  }
  if (u32((r.smin >> 32n) + 1n) === u32(r.smax >> 32n) && s32(r.smin) < 0n && s32(r.smax) >= 0n) {
    r.s32min = max(r.s32min, s32(r.smin));
    r.s32max = min(r.s32max, s32(r.smax));
  }
  if (s32(r.u32min) <= s32(r.u32max)) {
    r.s32min = max(r.s32min, s32(r.u32min));
    r.s32max = min(r.s32max, s32(r.u32max));
  }
  if (u32(r.s32min) <= u32(r.s32max)) {
    r.u32min = max(r.u32min, u32(r.s32min));
    r.u32max = min(r.u32max, u32(r.s32max));
  }
}

function deduce64(r: MBounds): void {
  if (s64(r.umin) <= s64(r.umax)) {
    r.smin = max(r.smin, s64(r.umin));
    r.smax = min(r.smax, s64(r.umax));
  }
  if (u64(r.smin) <= u64(r.smax)) {
    r.umin = max(r.umin, u64(r.smin));
    r.umax = min(r.umax, u64(r.smax));
  } else if (r.umax < u64(r.smin)) {
    r.smin = s64(r.umin);
    r.umax = min(r.umax, u64(r.smax));
  } else if (u64(r.smax) < r.umin) {
    r.smax = s64(r.umax);
    r.umin = max(r.umin, u64(r.smin));
  }
}

function deduceMixed(r: MBounds): void {
  const HI = U64_MAX ^ U32_MAX;
  r.umin = max(r.umin, (r.umin & HI) | r.u32min);
  r.umax = min(r.umax, (r.umax & HI) | r.u32max);
  r.smin = max(r.smin, s64((u64(r.smin) & HI) | r.u32min));
  r.smax = min(r.smax, s64((u64(r.smax) & HI) | r.u32max));
  if (r.s32min >= 0n && r.smin >= S32_MIN && r.smax <= S32_MAX) {
    r.smin = r.s32min;
    r.smax = r.s32max;
    r.umin = r.s32min;
    r.umax = r.s32max;
    r.var = tnumIntersect(r.var, tnumRange(r.smin, r.smax));
  }
}

function deduce(r: MBounds): void {
  deduce32(r);
  deduce64(r);
  deduceMixed(r);
}

function boundOffset(r: MBounds): void {
  const v64 = tnumIntersect(r.var, tnumRange(r.umin, r.umax));
  const v32 = tnumIntersect(tnumSubreg(v64), tnumRange(r.u32min, r.u32max));
  r.var = tnumOr(tnumClearSubreg(v64), v32);
}

function syncM(r: MBounds): void {
  updateAll(r);
  deduce(r);
  deduce(r);
  boundOffset(r);
  updateAll(r);
}

/** reg_bounds_sync(). */
export function sync(b: Bounds): Bounds {
  const r: MBounds = { ...b };
  syncM(r);
  return r;
}

/** Bounds derived from a tnum alone (then synced). */
export const fromTnum = (t: Tnum): Bounds => sync({ ...UNKNOWN, var: t });

/** [min, max] unsigned. */
export const fromURange = (lo: bigint, hi: bigint): Bounds => sync({ ...UNKNOWN, var: tnumRange(lo, hi), umin: lo, umax: hi });

/** zext_32_to_64(): the result of a 32-bit operation. */
export function zext32(b: Bounds): Bounds {
  const r: MBounds = { ...b, var: tnumSubreg(b.var) };
  r.umin = r.u32min;
  r.umax = r.u32max;
  r.smax = r.s32min >= 0n && r.s32max >= 0n ? r.s32max : U32_MAX;
  r.smin = r.s32min >= 0n ? r.s32min : 0n;
  return r;
}

/** coerce_reg_to_size(): keep the low `size` bytes (zero-extending loads, 32-bit moves). */
export function coerceToSize(b: Bounds, size: number): Bounds {
  if (size >= 8) return b;
  const r: MBounds = { ...b, var: tnumCast(b.var, size) };
  const mask = (1n << BigInt(size * 8)) - 1n;
  const notMask = U64_MAX ^ mask;
  if ((r.umin & notMask) === (r.umax & notMask)) {
    r.umin &= mask;
    r.umax &= mask;
  } else {
    r.umin = 0n;
    r.umax = mask;
  }
  r.smin = r.umin;
  r.smax = r.umax;
  if (size < 4) mark32Unbounded(r);
  syncM(r);
  return r;
}

/** scalar_byte_swap() then reg_bounds_sync() (BPF_END). */
export function byteSwap(b: Bounds, width: 16 | 32 | 64, swap: boolean): Bounds {
  const r: MBounds = { ...b };
  if (swap) {
    r.var = tnumBswap(b.var, width);
    mark64Unbounded(r);
    mark32Unbounded(r);
  }
  if (width < 64) return coerceToSize(r, width / 8);
  syncM(r);
  return r;
}

/** Sign extension of the low `size` bytes to 64 bits (ldsx, movsx). */
export function signExtend(b: Bounds, size: 1 | 2 | 4): Bounds {
  const bits = BigInt(size * 8);
  const mask = (1n << bits) - 1n;
  const sign = 1n << (bits - 1n);
  const t = tnumCast(b.var, size);
  if (t.mask === 0n) return known(asIntN(Number(bits), t.value));
  let v: Tnum;
  if ((t.mask & sign) === 0n) v = (t.value & sign) !== 0n ? { value: t.value | (U64_MAX ^ mask), mask: t.mask } : t;
  else v = { value: t.value, mask: t.mask | (U64_MAX ^ mask) };
  const r: MBounds = { ...UNKNOWN, var: v, smin: -sign, smax: sign - 1n };
  // The range survives when the low bytes form one range on the same side of the sign bit.
  if ((b.umin & (U64_MAX ^ mask)) === (b.umax & (U64_MAX ^ mask))) {
    const lo = b.umin & mask;
    const hi = b.umax & mask;
    if (hi < sign || lo >= sign) {
      r.smin = asIntN(Number(bits), lo);
      r.smax = asIntN(Number(bits), hi);
    }
  }
  syncM(r);
  return r;
}

/** Sign extension then truncation to 32 bits, zero-extended (movsx in 32-bit ALU). */
export function signExtend32(b: Bounds, size: 1 | 2): Bounds {
  const sx = signExtend(b, size);
  return sync(zext32(coerceToSize32(sx)));
}

function coerceToSize32(b: Bounds): Bounds {
  // Keep only 32-bit knowledge: derive the u32/s32 ranges from the 64-bit ones first.
  const r: MBounds = { ...sync(b) };
  return r;
}

// ---- ALU -----------------------------------------------------------------------------

export type ScalarAluOp = "add" | "sub" | "mul" | "and" | "or" | "xor" | "lsh" | "rsh" | "arsh";

const addOverflows64 = (a: bigint, b: bigint): boolean => s64(a + b) !== a + b;
const addOverflows32 = (a: bigint, b: bigint): boolean => s32(a + b) !== a + b;

function add32(d: MBounds, s: Bounds): void {
  if (addOverflows32(d.s32min, s.s32min) || addOverflows32(d.s32max, s.s32max)) {
    d.s32min = S32_MIN; d.s32max = S32_MAX;
  } else {
    d.s32min += s.s32min; d.s32max += s.s32max;
  }
  if (d.u32min + s.u32min > U32_MAX || d.u32max + s.u32max > U32_MAX) {
    d.u32min = 0n; d.u32max = U32_MAX;
  } else {
    d.u32min += s.u32min; d.u32max += s.u32max;
  }
}
function add64(d: MBounds, s: Bounds): void {
  if (addOverflows64(d.smin, s.smin) || addOverflows64(d.smax, s.smax)) {
    d.smin = S64_MIN; d.smax = S64_MAX;
  } else {
    d.smin += s.smin; d.smax += s.smax;
  }
  if (d.umin + s.umin > U64_MAX || d.umax + s.umax > U64_MAX) {
    d.umin = 0n; d.umax = U64_MAX;
  } else {
    d.umin += s.umin; d.umax += s.umax;
  }
}
function sub32(d: MBounds, s: Bounds): void {
  if (addOverflows32(d.s32min, -s.s32max) || addOverflows32(d.s32max, -s.s32min)) {
    d.s32min = S32_MIN; d.s32max = S32_MAX;
  } else {
    const lo = d.s32min - s.s32max;
    d.s32max = d.s32max - s.s32min;
    d.s32min = lo;
  }
  if (d.u32min < s.u32max) {
    d.u32min = 0n; d.u32max = U32_MAX;
  } else {
    const lo = d.u32min - s.u32max;
    d.u32max = d.u32max - s.u32min;
    d.u32min = lo;
  }
}
function sub64(d: MBounds, s: Bounds): void {
  if (addOverflows64(d.smin, -s.smax) || addOverflows64(d.smax, -s.smin)) {
    d.smin = S64_MIN; d.smax = S64_MAX;
  } else {
    const lo = d.smin - s.smax;
    d.smax = d.smax - s.smin;
    d.smin = lo;
  }
  if (d.umin < s.umax) {
    d.umin = 0n; d.umax = U64_MAX;
  } else {
    const lo = d.umin - s.umax;
    d.umax = d.umax - s.umin;
    d.umin = lo;
  }
}
function mul32(d: MBounds, s: Bounds): void {
  const umin = d.u32min * s.u32min;
  const umax = d.u32max * s.u32max;
  if (umax > U32_MAX) {
    d.u32min = 0n; d.u32max = U32_MAX;
  } else {
    d.u32min = umin; d.u32max = umax;
  }
  const p = [d.s32min * s.s32min, d.s32min * s.s32max, d.s32max * s.s32min, d.s32max * s.s32max];
  if (p.some((x) => s32(x) !== x)) {
    d.s32min = S32_MIN; d.s32max = S32_MAX;
  } else {
    d.s32min = p.reduce(min);
    d.s32max = p.reduce(max);
  }
}
function mul64(d: MBounds, s: Bounds): void {
  const umin = d.umin * s.umin;
  const umax = d.umax * s.umax;
  if (umax > U64_MAX) {
    d.umin = 0n; d.umax = U64_MAX;
  } else {
    d.umin = umin; d.umax = umax;
  }
  const p = [d.smin * s.smin, d.smin * s.smax, d.smax * s.smin, d.smax * s.smax];
  if (p.some((x) => s64(x) !== x)) {
    d.smin = S64_MIN; d.smax = S64_MAX;
  } else {
    d.smin = p.reduce(min);
    d.smax = p.reduce(max);
  }
}
function signedFromUnsigned32(d: MBounds): void {
  if (s32(d.u32min) <= s32(d.u32max)) {
    d.s32min = s32(d.u32min); d.s32max = s32(d.u32max);
  } else {
    d.s32min = S32_MIN; d.s32max = S32_MAX;
  }
}
function signedFromUnsigned64(d: MBounds): void {
  if (s64(d.umin) <= s64(d.umax)) {
    d.smin = s64(d.umin); d.smax = s64(d.umax);
  } else {
    d.smin = S64_MIN; d.smax = S64_MAX;
  }
}
function setKnown32(d: MBounds, v: bigint): void {
  d.var = tnumWithSubreg(d.var, tnumConst(u32(v)));
  d.s32min = d.s32max = s32(v);
  d.u32min = d.u32max = u32(v);
}
function setKnown64(d: MBounds, v: bigint): void {
  const k = known(v);
  Object.assign(d, k);
}

function and32(d: MBounds, s: Bounds): void {
  const v = tnumSubreg(d.var);
  if (tnumSubregIsConst(s.var) && tnumSubregIsConst(d.var)) return setKnown32(d, v.value);
  d.u32min = v.value;
  d.u32max = min(d.u32max, s.u32max);
  signedFromUnsigned32(d);
}
function and64(d: MBounds, s: Bounds): void {
  if (tnumIsConst(s.var) && tnumIsConst(d.var)) return setKnown64(d, d.var.value);
  d.umin = d.var.value;
  d.umax = min(d.umax, s.umax);
  signedFromUnsigned64(d);
  updateAll(d);
}
function or32(d: MBounds, s: Bounds): void {
  const v = tnumSubreg(d.var);
  if (tnumSubregIsConst(s.var) && tnumSubregIsConst(d.var)) return setKnown32(d, v.value);
  d.u32min = max(d.u32min, s.u32min);
  d.u32max = v.value | v.mask;
  signedFromUnsigned32(d);
}
function or64(d: MBounds, s: Bounds): void {
  if (tnumIsConst(s.var) && tnumIsConst(d.var)) return setKnown64(d, d.var.value);
  d.umin = max(d.umin, s.umin);
  d.umax = d.var.value | d.var.mask;
  signedFromUnsigned64(d);
  updateAll(d);
}
function xor32(d: MBounds, s: Bounds): void {
  const v = tnumSubreg(d.var);
  if (tnumSubregIsConst(s.var) && tnumSubregIsConst(d.var)) return setKnown32(d, v.value);
  d.u32min = v.value;
  d.u32max = v.value | v.mask;
  signedFromUnsigned32(d);
}
function xor64(d: MBounds, s: Bounds): void {
  if (tnumIsConst(s.var) && tnumIsConst(d.var)) return setKnown64(d, d.var.value);
  d.umin = d.var.value;
  d.umax = d.var.value | d.var.mask;
  signedFromUnsigned64(d);
  updateAll(d);
}

/** __scalar32_min_max_lsh(). */
function lsh32Bounds(d: MBounds, umin: bigint, umax: bigint): void {
  d.s32min = S32_MIN;
  d.s32max = S32_MAX;
  if (umax > 31n || d.u32max > 1n << (31n - umax)) {
    d.u32min = 0n; d.u32max = U32_MAX;
  } else {
    d.u32min <<= umin; d.u32max <<= umax;
  }
}
function lsh32(d: MBounds, s: Bounds): void {
  const sub = tnumSubreg(d.var);
  const umin = s.u32min;
  lsh32Bounds(d, umin, s.u32max);
  d.var = tnumSubreg(tnumLshift(sub, Number(umin)));
  mark64Unbounded(d);
  update32(d);
}
function lsh64(d: MBounds, s: Bounds): void {
  const umin = s.umin;
  const umax = s.umax;
  d.smax = umin === 32n && umax === 32n && d.s32max >= 0n ? d.s32max << 32n : S64_MAX;
  d.smin = umin === 32n && umax === 32n && d.s32min >= 0n ? d.s32min << 32n : S64_MIN;
  if (d.umax > 1n << (63n - umax)) {
    d.umin = 0n; d.umax = U64_MAX;
  } else {
    d.umin <<= umin; d.umax <<= umax;
  }
  lsh32Bounds(d, umin, umax);
  d.var = tnumLshift(d.var, Number(umin));
  updateAll(d);
}
function rsh32(d: MBounds, s: Bounds): void {
  const sub = tnumSubreg(d.var);
  d.s32min = S32_MIN;
  d.s32max = S32_MAX;
  d.var = tnumRshift(sub, Number(s.u32min));
  d.u32min >>= s.u32max;
  d.u32max >>= s.u32min;
  mark64Unbounded(d);
  update32(d);
}
function rsh64(d: MBounds, s: Bounds): void {
  d.smin = S64_MIN;
  d.smax = S64_MAX;
  d.var = tnumRshift(d.var, Number(s.umin));
  d.umin >>= s.umax;
  d.umax >>= s.umin;
  mark32Unbounded(d);
  updateAll(d);
}
function arsh32(d: MBounds, s: Bounds): void {
  const sh = s.u32min;
  d.s32min = d.s32min >> sh;
  d.s32max = d.s32max >> sh;
  d.var = tnumArshift(tnumSubreg(d.var), Number(sh), 32);
  d.u32min = 0n;
  d.u32max = U32_MAX;
  mark64Unbounded(d);
  update32(d);
}
function arsh64(d: MBounds, s: Bounds): void {
  const sh = s.umin;
  d.smin >>= sh;
  d.smax >>= sh;
  d.var = tnumArshift(d.var, Number(sh), 64);
  d.umin = 0n;
  d.umax = U64_MAX;
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
    case "lsh": case "rsh": case "arsh": {
      const isConst = alu32 ? tnumSubregIsConst(src.var) : tnumIsConst(src.var);
      const umax = alu32 ? src.u32max : src.umax;
      return isConst && umax < (alu32 ? 32n : 64n);
    }
    default:
      return false;
  }
}

/**
 * dst = dst <op> src on scalars, as adjust_scalar_min_max_vals() computes it
 * (32-bit results zero-extended); unknown when the range is not computable or the
 * source's bounds are inconsistent.
 */
export function scalarAlu(op: ScalarAluOp | "div" | "mod" | "sdiv" | "smod", dst: Bounds, src: Bounds, alu32: boolean): Bounds {
  const smin = alu32 ? src.s32min : src.smin;
  const smax = alu32 ? src.s32max : src.smax;
  const umin = alu32 ? src.u32min : src.umin;
  const umax = alu32 ? src.u32max : src.umax;
  const srcKnown = alu32 ? tnumSubregIsConst(src.var) : tnumIsConst(src.var);
  if ((srcKnown && (smin !== smax || umin !== umax)) || smin > smax || umin > umax) return alu32 ? zext32(UNKNOWN) : UNKNOWN;
  if (!rangeComputable(op, src, alu32)) return alu32 ? sync(zext32(UNKNOWN)) : UNKNOWN;
  const d: MBounds = { ...dst };
  switch (op) {
    case "add":
      if (alu32) add32(d, src); else { add32(d, src); add64(d, src); }
      d.var = tnumAdd(d.var, src.var);
      break;
    case "sub":
      if (alu32) sub32(d, src); else { sub32(d, src); sub64(d, src); }
      d.var = tnumSub(d.var, src.var);
      break;
    case "mul":
      d.var = tnumMul(d.var, src.var);
      mul32(d, src);
      if (!alu32) mul64(d, src);
      break;
    case "and":
      d.var = tnumAnd(d.var, src.var);
      and32(d, src);
      if (!alu32) and64(d, src);
      break;
    case "or":
      d.var = tnumOr(d.var, src.var);
      or32(d, src);
      if (!alu32) or64(d, src);
      break;
    case "xor":
      d.var = tnumXor(d.var, src.var);
      xor32(d, src);
      if (!alu32) xor64(d, src);
      break;
    case "lsh":
      if (alu32) lsh32(d, src); else lsh64(d, src);
      break;
    case "rsh":
      if (alu32) rsh32(d, src); else rsh64(d, src);
      break;
    case "arsh":
      if (alu32) arsh32(d, src); else arsh64(d, src);
      break;
    default:
      return UNKNOWN;
  }
  const out = alu32 ? zext32(d) : d;
  return sync(out);
}

/** Negation (0 - x). */
export const scalarNeg = (b: Bounds, alu32: boolean): Bounds => scalarAlu("sub", known(0n), b, alu32);

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

const isConstW = (b: Bounds, jmp32: boolean): boolean => (jmp32 ? tnumSubregIsConst(b.var) : tnumIsConst(b.var));
const constW = (b: Bounds, jmp32: boolean): bigint => (jmp32 ? u32(b.var.value) : b.var.value);

/** is_scalar_branch_taken(): 1 taken, 0 not taken, -1 unknown. */
export function branchTaken(r1: Bounds, r2: Bounds, op: CondOp, jmp32: boolean): 1 | 0 | -1 {
  let t1 = jmp32 ? tnumSubreg(r1.var) : r1.var;
  let t2 = jmp32 ? tnumSubreg(r2.var) : r2.var;
  const umin1 = jmp32 ? r1.u32min : r1.umin, umax1 = jmp32 ? r1.u32max : r1.umax;
  const smin1 = jmp32 ? r1.s32min : r1.smin, smax1 = jmp32 ? r1.s32max : r1.smax;
  const umin2 = jmp32 ? r2.u32min : r2.umin, umax2 = jmp32 ? r2.u32max : r2.umax;
  const smin2 = jmp32 ? r2.s32min : r2.smin, smax2 = jmp32 ? r2.s32max : r2.smax;
  switch (op) {
    case "jeq":
      if (tnumIsConst(t1) && tnumIsConst(t2)) return t1.value === t2.value ? 1 : 0;
      if (umin1 > umax2 || umax1 < umin2) return 0;
      if (smin1 > smax2 || smax1 < smin2) return 0;
      if (!jmp32) {
        if (r1.u32min > r2.u32max || r1.u32max < r2.u32min) return 0;
        if (r1.s32min > r2.s32max || r1.s32max < r2.s32min) return 0;
      }
      return -1;
    case "jne":
      if (tnumIsConst(t1) && tnumIsConst(t2)) return t1.value !== t2.value ? 1 : 0;
      if (umin1 > umax2 || umax1 < umin2) return 1;
      if (smin1 > smax2 || smax1 < smin2) return 1;
      if (!jmp32) {
        if (r1.u32min > r2.u32max || r1.u32max < r2.u32min) return 1;
        if (r1.s32min > r2.s32max || r1.s32max < r2.s32min) return 1;
      }
      return -1;
    case "jset":
    case "jset_rev": {
      let a = r1;
      let b = r2;
      if (!isConstW(b, jmp32)) {
        [a, b] = [b, a];
        [t1, t2] = [t2, t1];
      }
      if (!isConstW(b, jmp32)) return -1;
      void a;
      let res: 1 | 0 | -1 = -1;
      if (((~t1.mask & t1.value) & t2.value) !== 0n) res = 1;
      else if (((t1.mask | t1.value) & t2.value) === 0n) res = 0;
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

/**
 * regs_refine_cond_op() followed by reg_bounds_sync() on both: what `r1 op r2`
 * being true teaches about each side. Returns the refined pair.
 */
export function refineCond(a: Bounds, b: Bounds, op: CondOp, jmp32: boolean): [Bounds, Bounds] {
  let r1: MBounds = { ...a };
  let r2: MBounds = { ...b };
  let swapped = false;
  if (op === "jge" || op === "jgt" || op === "jsge" || op === "jsgt") {
    op = flipOp(op);
    [r1, r2] = [r2, r1];
    swapped = true;
  }
  switch (op) {
    case "jeq":
      if (jmp32) {
        r1.u32min = max(r1.u32min, r2.u32min); r1.u32max = min(r1.u32max, r2.u32max);
        r1.s32min = max(r1.s32min, r2.s32min); r1.s32max = min(r1.s32max, r2.s32max);
        r2.u32min = r1.u32min; r2.u32max = r1.u32max; r2.s32min = r1.s32min; r2.s32max = r1.s32max;
        const t = tnumIntersect(tnumSubreg(r1.var), tnumSubreg(r2.var));
        r1.var = tnumWithSubreg(r1.var, t);
        r2.var = tnumWithSubreg(r2.var, t);
      } else {
        r1.umin = max(r1.umin, r2.umin); r1.umax = min(r1.umax, r2.umax);
        r1.smin = max(r1.smin, r2.smin); r1.smax = min(r1.smax, r2.smax);
        r2.umin = r1.umin; r2.umax = r1.umax; r2.smin = r1.smin; r2.smax = r1.smax;
        r1.var = tnumIntersect(r1.var, r2.var);
        r2.var = r1.var;
      }
      break;
    case "jne": {
      let x = r1, c = r2;
      if (!isConstW(c, jmp32)) [x, c] = [c, x];
      if (!isConstW(c, jmp32)) break;
      const val = constW(c, jmp32);
      if (jmp32) {
        if (x.u32min === u32(val)) x.u32min++;
        if (x.u32max === u32(val)) x.u32max--;
        if (x.s32min === s32(val)) x.s32min++;
        if (x.s32max === s32(val)) x.s32max--;
      } else {
        if (x.umin === val) x.umin++;
        if (x.umax === val) x.umax--;
        if (x.smin === s64(val)) x.smin++;
        if (x.smax === s64(val)) x.smax--;
      }
      break;
    }
    case "jset": {
      let x = r1, c = r2;
      if (!isConstW(c, jmp32)) [x, c] = [c, x];
      if (!isConstW(c, jmp32)) break;
      const val = constW(c, jmp32);
      if ((val & (val - 1n)) !== 0n || val === 0n) break;
      if (jmp32) x.var = tnumWithSubreg(x.var, tnumOr(tnumSubreg(x.var), tnumConst(val)));
      else x.var = tnumOr(x.var, tnumConst(val));
      break;
    }
    case "jset_rev": {
      let x = r1, c = r2;
      if (!isConstW(c, jmp32)) [x, c] = [c, x];
      if (!isConstW(c, jmp32)) break;
      const val = constW(c, jmp32);
      mark64Unbounded(x);
      mark32Unbounded(x);
      if (jmp32) x.var = tnumWithSubreg(x.var, tnumAnd(tnumSubreg(x.var), tnumConst(U32_MAX ^ val)));
      else x.var = tnumAnd(x.var, tnumConst(U64_MAX ^ val));
      break;
    }
    case "jle":
      if (jmp32) {
        r1.u32max = min(r1.u32max, r2.u32max);
        r2.u32min = max(r1.u32min, r2.u32min);
      } else {
        r1.umax = min(r1.umax, r2.umax);
        r2.umin = max(r1.umin, r2.umin);
      }
      break;
    case "jlt":
      if (jmp32) {
        r1.u32max = min(r1.u32max, r2.u32max - 1n);
        r2.u32min = max(r1.u32min + 1n, r2.u32min);
      } else {
        r1.umax = min(r1.umax, r2.umax - 1n);
        r2.umin = max(r1.umin + 1n, r2.umin);
      }
      break;
    case "jsle":
      if (jmp32) {
        r1.s32max = min(r1.s32max, r2.s32max);
        r2.s32min = max(r1.s32min, r2.s32min);
      } else {
        r1.smax = min(r1.smax, r2.smax);
        r2.smin = max(r1.smin, r2.smin);
      }
      break;
    case "jslt":
      if (jmp32) {
        r1.s32max = min(r1.s32max, r2.s32max - 1n);
        r2.s32min = max(r1.s32min + 1n, r2.s32min);
      } else {
        r1.smax = min(r1.smax, r2.smax - 1n);
        r2.smin = max(r1.smin + 1n, r2.smin);
      }
      break;
    default:
      break;
  }
  syncM(r1);
  syncM(r2);
  return swapped ? [r2, r1] : [r1, r2];
}

/** Whether `cur` describes a subset of `old` (range_within() plus tnum_in()). */
export function within(old: Bounds, cur: Bounds): boolean {
  return old.umin <= cur.umin && old.umax >= cur.umax && old.smin <= cur.smin && old.smax >= cur.smax &&
    old.u32min <= cur.u32min && old.u32max >= cur.u32max && old.s32min <= cur.s32min && old.s32max >= cur.s32max &&
    ((cur.var.mask & ~old.var.mask & U64_MAX) === 0n) && old.var.value === (cur.var.value & ~old.var.mask & U64_MAX);
}

export const boundsEqual = (a: Bounds, b: Bounds): boolean =>
  a.var.value === b.var.value && a.var.mask === b.var.mask && a.smin === b.smin && a.smax === b.smax && a.umin === b.umin &&
  a.umax === b.umax && a.s32min === b.s32min && a.s32max === b.s32max && a.u32min === b.u32min && a.u32max === b.u32max;

export { tnumCast };
