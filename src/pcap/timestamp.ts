/**
 * pcapng timestamps are 64-bit tick counts (high and low 32-bit words) in units of the
 * interface's if_tsresol. Splitting them into seconds and nanoseconds exactly, without
 * a BigInt per packet, is done by long division over 16-bit limbs: every intermediate
 * stays below 2^53 as long as the divisor is below 2^37, which covers every decimal
 * resolution up to 10^-11 and binary up to 2^-36. Finer resolutions take a BigInt path.
 */

/** Ticks per second for an if_tsresol byte, as a number (exact up to 2^53) and a bigint. */
export interface TsUnit {
  readonly tsresol: number;
  readonly perSec: number;
  readonly perSecBig: bigint;
  /** True when perSec < 2^37 (the fast number path applies). */
  readonly fast: boolean;
  readonly decimal: boolean;
  /** The exponent: 10^-exp or 2^-exp seconds per tick. */
  readonly exp: number;
}

const LIMB = 65536;
const FAST_LIMIT = 2 ** 37;

export function tsUnit(tsresol: number): TsUnit {
  const decimal = (tsresol & 0x80) === 0;
  const exp = tsresol & 0x7f;
  const perSecBig = decimal ? 10n ** BigInt(exp) : 1n << BigInt(exp);
  const perSec = Number(perSecBig);
  return { tsresol, perSec, perSecBig, fast: perSec < FAST_LIMIT, decimal, exp };
}

export const UNIT_MICRO = tsUnit(6);
export const UNIT_NANO = tsUnit(9);

/** Output slots for ticksToSecNsec (avoids allocating a pair per packet). */
export const tsOut = { sec: 0, nsec: 0 };

function fracToNsec(frac: number, u: TsUnit): number {
  if (u.decimal) {
    if (u.exp <= 9) return frac * 10 ** (9 - u.exp);
    return Math.floor(frac / 10 ** (u.exp - 9));
  }
  // binary: ns = floor(frac * 1e9 / 2^exp) = floor(frac * 1953125 / 2^(exp - 9))
  if (u.exp <= 9) return Math.floor((frac * 1e9) / u.perSec);
  return Math.floor((frac * 1953125) / 2 ** (u.exp - 9));
}

/** Splits the tick count hi:lo into whole seconds and nanoseconds, into `tsOut`. */
export function ticksToSecNsec(hi: number, lo: number, u: TsUnit): void {
  const d = u.perSec;
  if (u.fast && (u.decimal || u.exp <= 32)) {
    let cur = hi >>> 16;
    let q = Math.floor(cur / d);
    let r = cur - q * d;
    cur = r * LIMB + (hi & 0xffff);
    let qd = Math.floor(cur / d);
    r = cur - qd * d;
    q = q * LIMB + qd;
    cur = r * LIMB + (lo >>> 16);
    qd = Math.floor(cur / d);
    r = cur - qd * d;
    q = q * LIMB + qd;
    cur = r * LIMB + (lo & 0xffff);
    qd = Math.floor(cur / d);
    r = cur - qd * d;
    q = q * LIMB + qd;
    tsOut.sec = q;
    tsOut.nsec = fracToNsec(r, u);
    return;
  }
  const ticks = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  tsOut.sec = Number(ticks / u.perSecBig);
  tsOut.nsec = Number(((ticks % u.perSecBig) * 1_000_000_000n) / u.perSecBig);
}

/** Output slots for secNsecToTicks. */
export const ticksOut = { hi: 0, lo: 0 };

/**
 * The inverse, for the writers: ticks = sec * perSec + floor(nsec * perSec / 1e9), for
 * decimal resolutions 10^0..10^-9, with sec in [0, 2^32). Result in `ticksOut`.
 */
export function secNsecToTicks(sec: number, nsec: number, u: TsUnit): void {
  const d = u.perSec;
  const frac = Math.floor(nsec / 10 ** (9 - u.exp));
  const a = Math.floor(sec / LIMB);
  const b = sec - a * LIMB;
  const x = b * d + frac; // < 2^47
  const y = a * d; // < 2^46
  const yh = Math.floor(y / LIMB);
  const yl = y - yh * LIMB;
  const low = x + yl * LIMB;
  const carry = Math.floor(low / 2 ** 32);
  ticksOut.hi = yh + carry;
  ticksOut.lo = low - carry * 2 ** 32;
}
