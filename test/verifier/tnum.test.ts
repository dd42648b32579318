/**
 * Tnum soundness against brute force: tnums whose unknown bits sit in the low 6 bits
 * (at most 64 members) combined with every member of the other operand; the result
 * tnum must contain every concrete result. Also tnum_range, tnum_in, tnum_intersect.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  tnumAdd, tnumAnd, tnumArshift, tnumCast, tnumContains, tnumIn, tnumIntersect, tnumLshift, tnumMul, tnumOr,
  tnumRange, tnumRshift, tnumSub, tnumXor, tnumStr, tnum, type Tnum,
} from "../../src/verifier/tnum.js";

const M64 = (1n << 64n) - 1n;
const u64 = (x: bigint): bigint => x & M64;

/** A tnum with a few unknown bits in a 6-bit window at `shift`, plus arbitrary known bits. */
const arbTnum = fc.record({ v: fc.bigInt(0n, M64), m: fc.bigInt(0n, 63n), shift: fc.constantFrom(0n, 0n, 3n, 29n, 58n) }).map(({ v, m, shift }): Tnum => {
  const mask = u64(m << shift);
  return tnum(v & ~mask & M64, mask);
});

function members(t: Tnum): bigint[] {
  const bits: bigint[] = [];
  for (let i = 0n; i < 64n; i++) if ((t.mask >> i) & 1n) bits.push(i);
  const out: bigint[] = [];
  for (let k = 0; k < 1 << bits.length; k++) {
    let v = t.value;
    bits.forEach((b, j) => {
      if ((k >> j) & 1) v |= 1n << b;
    });
    out.push(v);
  }
  return out;
}

const binops: Array<[string, (a: Tnum, b: Tnum) => Tnum, (x: bigint, y: bigint) => bigint]> = [
  ["add", tnumAdd, (x, y) => u64(x + y)],
  ["sub", tnumSub, (x, y) => u64(x - y)],
  ["and", tnumAnd, (x, y) => x & y],
  ["or", tnumOr, (x, y) => x | y],
  ["xor", tnumXor, (x, y) => x ^ y],
  ["mul", tnumMul, (x, y) => u64(x * y)],
];

for (const [name, op, concrete] of binops) {
  test(`tnum ${name} contains every concrete result`, () => {
    fc.assert(
      fc.property(arbTnum, arbTnum, (a, b) => {
        const r = op(a, b);
        assert.equal(r.value & r.mask, 0n);
        for (const x of members(a)) for (const y of members(b)) assert.ok(tnumContains(r, concrete(x, y)), `${tnumStr(a)} ${name} ${tnumStr(b)} = ${tnumStr(r)} misses ${concrete(x, y)}`);
      }),
      { numRuns: 200 },
    );
  });
}

test("tnum shifts and casts contain every concrete result", () => {
  fc.assert(
    fc.property(arbTnum, fc.integer({ min: 0, max: 63 }), (a, s) => {
      const S = BigInt(s);
      for (const x of members(a)) {
        assert.ok(tnumContains(tnumLshift(a, s), u64(x << S)));
        assert.ok(tnumContains(tnumRshift(a, s), x >> S));
        assert.ok(tnumContains(tnumArshift(a, s, 64), u64(BigInt.asIntN(64, x) >> S)));
        if (s < 32) assert.ok(tnumContains(tnumArshift(a, s, 32), BigInt.asUintN(32, BigInt.asIntN(32, x) >> S)));
        for (const size of [1, 2, 4]) assert.ok(tnumContains(tnumCast(a, size), x & ((1n << BigInt(size * 8)) - 1n)));
      }
    }),
    { numRuns: 200 },
  );
});

test("tnum_range contains the range; tnum_in and tnum_intersect agree with membership", () => {
  fc.assert(
    fc.property(fc.bigInt(0n, M64), fc.bigInt(0n, 200n), (lo, span) => {
      const hi = u64(lo + span) < lo ? M64 : lo + span;
      const t = tnumRange(lo, hi);
      for (let x = lo; x <= hi && x < lo + 40n; x++) assert.ok(tnumContains(t, x));
      assert.ok(tnumContains(t, hi));
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(arbTnum, arbTnum, (a, b) => {
      const inside = members(b).every((x) => tnumContains(a, x));
      assert.equal(tnumIn(a, b), inside);
      const both = members(a).filter((x) => tnumContains(b, x));
      const i = tnumIntersect(a, b);
      for (const x of both) assert.ok(tnumContains(i, x));
    }),
    { numRuns: 300 },
  );
});

test("tnum_strn formats like the kernel", () => {
  assert.equal(tnumStr(tnum(5n, 0n)), "5");
  assert.equal(tnumStr(tnum(0x10000n, 0n)), "0x10000");
  assert.equal(tnumStr(tnum(0n, 0xffn)), "(0x0; 0xff)");
});
