/**
 * Bounds soundness against brute force. A Bounds value is built as the tightest
 * description of a small random set of concrete 64-bit values (then widened a little
 * at random); every transfer function must keep every concrete result inside, and
 * branch refinement must keep every pair of values for which the condition holds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  UNKNOWN, branchTaken, byteSwap, coerceToSize, contains, fromBig, fromURange, toBig, refineCond, revOp, scalarAlu, signExtend, sync, zext32,
  type Bounds, type CondOp, type ScalarAluOp,
} from "../../src/verifier/bounds.js";
import { tnumRange } from "../../src/verifier/tnum.js";

const M64 = (1n << 64n) - 1n;
// Masks and comparisons rather than BigInt.asUintN/asIntN: Node 20's optimising compiler
// can crash on a phi of BigInt.asUintN(64, ...) results (V8 RepresentationChangerError).
const u64 = (x: bigint): bigint => x & M64;
const s64 = (x: bigint): bigint => ((x & M64) > M64 >> 1n ? (x & M64) - (1n << 64n) : x & M64);
const u32 = (x: bigint): bigint => x & 0xffffffffn;
const s32 = (x: bigint): bigint => ((x & 0xffffffffn) > 0x7fffffffn ? (x & 0xffffffffn) - (1n << 32n) : x & 0xffffffffn);

/** Interesting 64-bit values: small, near 2^31/2^32/2^63 boundaries, negatives. */
const edge = fc.constantFrom(0n, 1n, 2n, 7n, 0x7fn, 0xffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 1n << 63n, M64, M64 - 1n, (1n << 63n) - 1n);
const arbVal = fc.oneof(edge, fc.bigInt(0n, 300n), fc.bigInt(0n, M64), fc.bigInt(0n, 300n).map((x) => u64(-x)), fc.bigInt(0n, 0xffffffffn));

/** Tightest Bounds for a set of values. */
function describe(vals: bigint[]): Bounds {
  let and = M64, or = 0n;
  for (const v of vals) {
    and &= v;
    or |= v;
  }
  const mask = and ^ or;
  const var_ = { value: and, mask };
  const us = vals.map(u64), ss = vals.map(s64), lo = vals.map(u32), slo = vals.map((v) => s32(u32(v)));
  const min = (a: bigint[]): bigint => a.reduce((x, y) => (x < y ? x : y));
  const max = (a: bigint[]): bigint => a.reduce((x, y) => (x > y ? x : y));
  return sync(fromBig({ var: var_, umin: min(us), umax: max(us), smin: min(ss), smax: max(ss), u32min: min(lo), u32max: max(lo), s32min: min(slo), s32max: max(slo) }));
}

const arbSet = fc.array(arbVal, { minLength: 1, maxLength: 4 });

const ALU: Array<[ScalarAluOp, (x: bigint, y: bigint, w: 32 | 64) => bigint]> = [
  ["add", (x, y) => x + y],
  ["sub", (x, y) => x - y],
  ["mul", (x, y) => x * y],
  ["and", (x, y) => x & y],
  ["or", (x, y) => x | y],
  ["xor", (x, y) => x ^ y],
  ["lsh", (x, y, w) => x << (y % BigInt(w))],
  ["rsh", (x, y, w) => (w === 32 ? u32(x) : x) >> (y % BigInt(w))],
  ["arsh", (x, y, w) => (w === 32 ? s32(u32(x)) : s64(x)) >> (y % BigInt(w))],
];

for (const [op, f] of ALU) {
  for (const w of [64, 32] as const) {
    test(`scalar ${op} (${w}-bit) keeps every concrete result`, () => {
      fc.assert(
        fc.property(arbSet, arbSet, (xs, ys) => {
          // Shifts are only computed for a constant in range; others become unknown.
          if (op === "lsh" || op === "rsh" || op === "arsh") ys = [BigInt(Number(ys[0]! % BigInt(w)))];
          const a = describe(xs);
          const b = describe(ys);
          const r = scalarAlu(op, a, b, w === 32);
          for (const x of xs) {
            for (const y of ys) {
              const out = w === 32 ? u32(f(u32(x), u32(y), 32)) : u64(f(x, y, 64));
              assert.ok(contains(r, out), `${op}${w}: ${x} ${y} -> ${out} not in ${JSON.stringify(toBig(r), (_k, v) => (typeof v === "bigint" ? v.toString(16) : v))}`);
            }
          }
        }),
        { numRuns: 300 },
      );
    });
  }
}

test("zero extension, coercion and sign extension keep every value", () => {
  fc.assert(
    fc.property(arbSet, fc.constantFrom(1, 2, 4), (xs, size) => {
      const a = describe(xs);
      const mask = (1n << BigInt(size * 8)) - 1n;
      const c = coerceToSize(a, size);
      const sx = signExtend(a, size as 1 | 2 | 4);
      const z = zext32(a);
      for (const x of xs) {
        assert.ok(contains(c, x & mask));
        const low = x & mask;
        assert.ok(contains(sx, u64(low > mask >> 1n ? low - mask - 1n : low)));
        assert.ok(contains(sync(z), u32(x)));
      }
    }),
    { numRuns: 500 },
  );
});

/** The low `width` bits of x with their bytes reversed. */
function swab(x: bigint, width: number): bigint {
  let out = 0n;
  for (let i = 0; i < width / 8; i++) out = (out << 8n) | ((x >> BigInt(8 * i)) & 0xffn);
  return out;
}

test("byte swaps (BPF_END) keep every value", () => {
  fc.assert(
    fc.property(arbSet, fc.constantFrom(16, 32, 64) as fc.Arbitrary<16 | 32 | 64>, fc.boolean(), (xs, width, swap) => {
      const r = byteSwap(describe(xs), width, swap);
      for (const x of xs) {
        // bswap / to_be on a little-endian host reverse the low bytes; to_le keeps them.
        const out = swap ? swab(x, width) : width === 64 ? x : x & ((1n << BigInt(width)) - 1n);
        assert.ok(contains(r, out), `${swap ? "swap" : "le"}${width}: ${x.toString(16)} -> ${out.toString(16)} lost`);
      }
    }),
    { numRuns: 500 },
  );
});

const CONDS: Array<[CondOp, (x: bigint, y: bigint, w: 32 | 64) => boolean]> = [
  ["jeq", (x, y) => x === y],
  ["jne", (x, y) => x !== y],
  ["jgt", (x, y) => x > y],
  ["jge", (x, y) => x >= y],
  ["jlt", (x, y) => x < y],
  ["jle", (x, y) => x <= y],
  ["jsgt", (x, y, w) => (w === 32 ? s32(x) > s32(y) : s64(x) > s64(y))],
  ["jsge", (x, y, w) => (w === 32 ? s32(x) >= s32(y) : s64(x) >= s64(y))],
  ["jslt", (x, y, w) => (w === 32 ? s32(x) < s32(y) : s64(x) < s64(y))],
  ["jsle", (x, y, w) => (w === 32 ? s32(x) <= s32(y) : s64(x) <= s64(y))],
  ["jset", (x, y) => (x & y) !== 0n],
];

for (const [op, holds] of CONDS) {
  test(`branch ${op}: is_branch_taken and refinement are sound (32 and 64 bit)`, () => {
    fc.assert(
      fc.property(arbSet, arbSet, fc.boolean(), (xs, ys, j32) => {
        const w = j32 ? 32 : 64;
        const a = describe(xs);
        const b = describe(ys);
        const pred = branchTaken(a, b, op, j32);
        const [ta, tb] = refineCond(a, b, op, j32);
        const [fa, fb] = refineCond(a, b, revOp(op), j32);
        for (const x of xs) {
          for (const y of ys) {
            const cx = j32 ? u32(x) : x;
            const cy = j32 ? u32(y) : y;
            const h = holds(cx, cy, w);
            if (pred === 1) assert.ok(h, `${op}: predicted taken for ${x}, ${y}`);
            if (pred === 0) assert.ok(!h, `${op}: predicted not taken for ${x}, ${y}`);
            if (h) assert.ok(contains(ta, x) && contains(tb, y), `${op} true branch lost ${x}, ${y}`);
            else assert.ok(contains(fa, x) && contains(fb, y), `${op} false branch lost ${x}, ${y}`);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
}

test("sync keeps every value and is idempotent on simple ranges", () => {
  fc.assert(
    fc.property(arbSet, (xs) => {
      const a = describe(xs);
      const s = sync(a);
      for (const x of xs) assert.ok(contains(s, x));
    }),
    { numRuns: 500 },
  );
  const r = fromURange(0n, 100n);
  assert.deepEqual(r.var, tnumRange(0n, 100n));
  assert.equal(r.smax, 100n);
  assert.equal(sync(UNKNOWN).umax, M64);
});
