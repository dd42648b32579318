/**
 * The verifier's value domains run on int32 pairs (src/verifier/tnum.ts, bounds.ts)
 * for speed; test/verifier/reference/ keeps the bigint transcription of the kernel
 * they replaced. Every function must give exactly the reference's result — field by
 * field, on random tnums and bounds (consistent ones built from value sets, raw
 * ones with arbitrary fields, and constants, which take the constant-folding path).
 *
 * The one intended difference: the pair version wraps as the kernel's u64/s64/u32/s32
 * arithmetic does, where the reference's bigints could leave their range (only with
 * inconsistent bounds, i.e. in dead branches: ALU on a destination whose min exceeds
 * its max, refinement of a branch whose outcome is known); such cases are skipped.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../../src/verifier/tnum.js";
import * as B from "../../src/verifier/bounds.js";
import * as RT from "./reference/tnum.js";
import * as RB from "./reference/bounds.js";

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;
const u64 = (x: bigint): bigint => x & M64;
const s64 = (x: bigint): bigint => ((x & M64) >> 63n ? (x & M64) - (1n << 64n) : x & M64);
const u32 = (x: bigint): bigint => x & M32;
const s32 = (x: bigint): bigint => ((x & M32) >> 31n ? (x & M32) - (1n << 32n) : x & M32);

const RUNS = Number(process.env.TSBPF_REFERENCE_RUNS ?? 400);

/** Every field within its type's range (the reference's bigints can leave it; the kernel's C types cannot). */
const inRange = (b: RB.Bounds): boolean =>
  b.var.value >= 0n && b.var.value <= M64 && b.var.mask >= 0n && b.var.mask <= M64 && (b.var.value & b.var.mask) === 0n &&
  b.umin >= 0n && b.umin <= M64 && b.umax >= 0n && b.umax <= M64 && b.u32min >= 0n && b.u32min <= M32 && b.u32max >= 0n && b.u32max <= M32 &&
  s64(b.smin) === b.smin && s64(b.smax) === b.smax && s32(b.s32min) === b.s32min && s32(b.s32max) === b.s32max;

// ---- generators ------------------------------------------------------------------------

const edge = fc.constantFrom(
  0n, 1n, 2n, 3n, 7n, 8n, 31n, 32n, 33n, 63n, 0x7fn, 0x80n, 0xffn, 0x100n, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n,
  0xffffffffn, 0x100000000n, 0x1ffffffffn, 1n << 62n, (1n << 63n) - 1n, 1n << 63n, (1n << 63n) + 1n, M64, M64 - 1n, M64 - 0xffn, M64 - 0x7fffffffn,
);
const arbVal = fc.oneof(edge, fc.bigInt(0n, 300n), fc.bigInt(0n, M64), fc.bigInt(0n, 300n).map((x) => u64(-x)), fc.bigInt(0n, M32), fc.bigInt(0n, M32).map((x) => u64(-x)));

function describeSet(vals: bigint[]): RB.Bounds {
  let and = M64, or = 0n;
  for (const v of vals) {
    and &= v;
    or |= v;
  }
  const min = (a: bigint[]): bigint => a.reduce((x, y) => (x < y ? x : y));
  const max = (a: bigint[]): bigint => a.reduce((x, y) => (x > y ? x : y));
  const lo = vals.map(u32), slo = vals.map((v) => s32(v));
  return RB.sync({
    var: { value: and, mask: and ^ or }, umin: min(vals), umax: max(vals), smin: min(vals.map(s64)), smax: max(vals.map(s64)),
    u32min: min(lo), u32max: max(lo), s32min: min(slo), s32max: max(slo),
  });
}

/** Consistent bounds: the tightest description of a few values, synced. */
const arbSynced = fc.array(arbVal, { minLength: 1, maxLength: 4 }).map(describeSet);
/** Constants: as known() makes them. */
const arbConst = arbVal.map((v) => RB.known(v));
/** Raw bounds: every field arbitrary (in range), tnum disjoint; possibly inconsistent. */
const arbRaw = fc.record({
  v: fc.oneof(edge, fc.bigInt(0n, M64)), m: fc.oneof(edge, fc.bigInt(0n, M64)),
  smin: arbVal, smax: arbVal, umin: arbVal, umax: arbVal, s32min: arbVal, s32max: arbVal, u32min: arbVal, u32max: arbVal,
}).map((r): RB.Bounds => ({
  var: { value: r.v & ~r.m & M64, mask: r.m }, smin: s64(r.smin), smax: s64(r.smax), umin: r.umin, umax: r.umax,
  s32min: s32(r.s32min), s32max: s32(r.s32max), u32min: u32(r.u32min), u32max: u32(r.u32max),
}));
/** Raw bounds, synced (still possibly inconsistent, as in a dead branch). */
const arbRawSynced = arbRaw.map((b) => RB.sync(b)).filter(inRange);
const arbBounds = fc.oneof(arbSynced, arbSynced, arbConst, arbRawSynced);

const arbTnum = fc.oneof(
  fc.record({ v: fc.oneof(edge, fc.bigInt(0n, M64)), m: fc.oneof(edge, fc.bigInt(0n, M64), fc.constant(0n)) }).map(({ v, m }) => ({ value: v & ~m & M64, mask: m })),
  arbVal.map((v) => ({ value: v, mask: 0n })),
);

// ---- comparison ------------------------------------------------------------------------


const hex = (b: RB.Bounds | B.BigBounds): string => JSON.stringify(b, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v));
const toNew = (b: RB.Bounds): B.Bounds => B.fromBig(b);
const fromNew = (b: B.Bounds): B.BigBounds => B.toBig(b);

function sameBounds(got: B.Bounds, want: RB.Bounds, what: string): void {
  assert.deepEqual(fromNew(got), { var: { value: want.var.value, mask: want.var.mask }, smin: want.smin, smax: want.smax, umin: want.umin, umax: want.umax, s32min: want.s32min, s32max: want.s32max, u32min: want.u32min, u32max: want.u32max }, `${what}: ${hex(fromNew(got))} != reference ${hex(want)}`);
}
const sameTnum = (got: T.Tnum, want: RT.Tnum, what: string): void =>
  assert.deepEqual([got.value, got.mask], [want.value, want.mask], `${what}: (${got.value.toString(16)}; ${got.mask.toString(16)}) != (${want.value.toString(16)}; ${want.mask.toString(16)})`);
const tn = (t: RT.Tnum): T.Tnum => T.tnum(t.value, t.mask);

// ---- tnum --------------------------------------------------------------------------------

test("tnum operations equal the reference", () => {
  const bin: Array<[string, (a: T.Tnum, b: T.Tnum) => T.Tnum, (a: RT.Tnum, b: RT.Tnum) => RT.Tnum]> = [
    ["add", T.tnumAdd, RT.tnumAdd], ["sub", T.tnumSub, RT.tnumSub], ["and", T.tnumAnd, RT.tnumAnd], ["or", T.tnumOr, RT.tnumOr],
    ["xor", T.tnumXor, RT.tnumXor], ["mul", T.tnumMul, RT.tnumMul], ["intersect", T.tnumIntersect, RT.tnumIntersect],
    ["with_subreg", T.tnumWithSubreg, RT.tnumWithSubreg],
  ];
  fc.assert(
    fc.property(arbTnum, arbTnum, fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 8 }), (a, b, s, size) => {
      for (const [name, f, g] of bin) sameTnum(f(tn(a), tn(b)), g(a, b), name);
      sameTnum(T.tnumNeg(tn(a)), RT.tnumNeg(a), "neg");
      sameTnum(T.tnumLshift(tn(a), s), RT.tnumLshift(a, s), `lsh ${s}`);
      sameTnum(T.tnumRshift(tn(a), s), RT.tnumRshift(a, s), `rsh ${s}`);
      sameTnum(T.tnumArshift(tn(a), s, 64), RT.tnumArshift(a, s, 64), `arsh64 ${s}`);
      if (s < 32) sameTnum(T.tnumArshift(tn(a), s, 32), RT.tnumArshift(a, s, 32), `arsh32 ${s}`);
      sameTnum(T.tnumCast(tn(a), size), RT.tnumCast(a, size), `cast ${size}`);
      sameTnum(T.tnumSubreg(tn(a)), RT.tnumSubreg(a), "subreg");
      sameTnum(T.tnumClearSubreg(tn(a)), RT.tnumClearSubreg(a), "clear_subreg");
      const lo = a.value < b.value ? a.value : b.value, hi = a.value < b.value ? b.value : a.value;
      sameTnum(T.tnumRange(lo, hi), RT.tnumRange(lo, hi), "range");
      assert.equal(T.tnumIn(tn(a), tn(b)), RT.tnumIn(a, b), "in");
      assert.equal(T.tnumIsConst(tn(a)), RT.tnumIsConst(a));
      assert.equal(T.tnumIsUnknown(tn(a)), RT.tnumIsUnknown(a));
      assert.equal(T.tnumSubregIsConst(tn(a)), RT.tnumSubregIsConst(a));
      assert.equal(T.tnumIsAligned(tn(a), size), RT.tnumIsAligned(a, size));
      assert.equal(T.tnumStr(tn(a)), RT.tnumStr(a));
      assert.equal(T.tnumContains(tn(a), b.value), RT.tnumContains(a, b.value));
    }),
    { numRuns: RUNS * 2 },
  );
});

// ---- bounds: unary -------------------------------------------------------------------------

test("sync, zext32, coercion and sign extension equal the reference", () => {
  fc.assert(
    fc.property(fc.oneof(arbBounds, arbRaw), fc.integer({ min: 1, max: 8 }), (b, size) => {
      const n = toNew(b);
      const check = (got: B.Bounds, want: RB.Bounds, what: string): void => {
        if (inRange(want)) sameBounds(got, want, `${what} of ${hex(b)}`);
      };
      check(B.sync(n), RB.sync(b), "sync");
      check(B.zext32(n), RB.zext32(b), "zext32");
      check(B.coerceToSize(n, size), RB.coerceToSize(b, size), `coerce ${size}`);
      if (size === 1 || size === 2 || size === 4) check(B.signExtend(n, size), RB.signExtend(b, size), `sext ${size}`);
      if (size === 1 || size === 2) check(B.signExtend32(n, size), RB.signExtend32(b, size), `sext32 ${size}`);
      assert.equal(B.isUnknown(n), RB.isUnknown(b));
      assert.equal(B.isConst(n), RB.isConst(b));
      assert.equal(B.isConst32(n), RB.isConst32(b));
      assert.equal(B.isConsistent(n), RB.isConsistent(b));
      assert.equal(B.contains(n, b.umin), RB.contains(b, b.umin));
      assert.equal(B.contains(n, b.var.value), RB.contains(b, b.var.value));
      check(B.scalarNeg(n, false), RB.scalarNeg(b, false), "neg64");
      check(B.scalarNeg(n, true), RB.scalarNeg(b, true), "neg32");
    }),
    { numRuns: RUNS * 2 },
  );
  fc.assert(
    fc.property(arbVal, arbVal, (x, y) => {
      const [lo, hi] = x < y ? [x, y] : [y, x];
      sameBounds(B.fromURange(lo, hi), RB.fromURange(lo, hi), "fromURange");
      sameBounds(B.known(x), RB.known(x), "known");
    }),
    { numRuns: RUNS },
  );
  fc.assert(fc.property(arbTnum, (t) => sameBounds(B.fromTnum(tn(t)), RB.fromTnum(t), "fromTnum")), { numRuns: RUNS });
  // BPF_END: byte swaps (bswap, be) and truncations (le), on tnums and on bounds.
  fc.assert(
    fc.property(fc.oneof(arbBounds, arbRaw), arbTnum, fc.constantFrom(16, 32, 64) as fc.Arbitrary<16 | 32 | 64>, fc.boolean(), (b, t, width, swap) => {
      const got = T.tnumBswap(tn(t), width);
      const want = RT.tnumBswap(t, width);
      assert.equal(got.value, want.value, `bswap${width} value of ${RT.tnumStr(t)}`);
      assert.equal(got.mask, want.mask, `bswap${width} mask of ${RT.tnumStr(t)}`);
      const r = RB.byteSwap(b, width, swap);
      if (inRange(r)) sameBounds(B.byteSwap(toNew(b), width, swap), r, `byteSwap ${width} ${swap} of ${hex(b)}`);
    }),
    { numRuns: RUNS },
  );
});

// ---- bounds: ALU -----------------------------------------------------------------------------

const OPS: B.ScalarAluOp[] = ["add", "sub", "mul", "and", "or", "xor", "lsh", "rsh", "arsh"];

for (const op of OPS) {
  test(`scalar ${op} equals the reference (32 and 64 bit, general and constant-folded)`, () => {
    const shift = op === "lsh" || op === "rsh" || op === "arsh";
    const arbSrc = shift ? fc.oneof(fc.integer({ min: 0, max: 70 }).map((k) => RB.known(BigInt(k))), arbBounds) : arbBounds;
    fc.assert(
      fc.property(fc.oneof(arbBounds, arbBounds, arbRaw), arbSrc, fc.boolean(), (dst, src, alu32) => {
        // Inconsistent destinations (dead branches) can take the reference's intermediate
        // values out of range (e.g. umax - umin < 0), where the pair version wraps like C.
        if (!RB.isConsistent(dst)) return;
        const want = RB.scalarAlu(op, dst, src, alu32);
        if (!inRange(want)) return;
        sameBounds(B.scalarAlu(op, toNew(dst), toNew(src), alu32), want, `${op}${alu32 ? 32 : 64} ${hex(dst)} ${hex(src)}`);
        sameBounds(B.scalarAluGeneral(op, toNew(dst), toNew(src), alu32), want, `general ${op}${alu32 ? 32 : 64} ${hex(dst)} ${hex(src)}`);
      }),
      { numRuns: RUNS * 2 },
    );
    // Constants only: the folding path.
    fc.assert(
      fc.property(arbVal, shift ? fc.integer({ min: 0, max: 63 }).map(BigInt) : arbVal, fc.boolean(), (x, y, alu32) => {
        const want = RB.scalarAlu(op, RB.known(x), RB.known(y), alu32);
        sameBounds(B.scalarAlu(op, B.known(x), B.known(y), alu32), want, `const ${op}${alu32 ? 32 : 64} ${x} ${y}`);
      }),
      { numRuns: RUNS * 2 },
    );
  });
}

test("div/mod and rangeComputable equal the reference", () => {
  fc.assert(
    fc.property(arbBounds, arbBounds, fc.boolean(), fc.constantFrom("div", "mod", "sdiv", "smod", ...OPS), (dst, src, alu32, op) => {
      assert.equal(B.rangeComputable(op, toNew(src), alu32), RB.rangeComputable(op, src, alu32));
      if (op === "div" || op === "mod" || op === "sdiv" || op === "smod") sameBounds(B.scalarAlu(op, toNew(dst), toNew(src), alu32), RB.scalarAlu(op, dst, src, alu32), op);
    }),
    { numRuns: RUNS },
  );
});

// ---- bounds: branches and pruning -------------------------------------------------------------

const CONDS: B.CondOp[] = ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset", "jset_rev"];

test("branchTaken and refineCond equal the reference", () => {
  const arbSide = fc.oneof(arbBounds, arbBounds, arbConst, arbVal.map((v) => RB.known(v & 0xffn)));
  fc.assert(
    fc.property(arbSide, arbSide, fc.boolean(), fc.constantFrom(...CONDS), (a, b, jmp32, op) => {
      const pred = RB.branchTaken(a, b, op, jmp32);
      assert.equal(B.branchTaken(toNew(a), toNew(b), op, jmp32), pred, `${op}${jmp32 ? 32 : ""} ${hex(a)} ${hex(b)}`);
      // The verifier refines only when the outcome is unknown.
      if (pred !== -1) return;
      for (const o of [op, RB.revOp(op)]) {
        const [wa, wb] = RB.refineCond(a, b, o, jmp32);
        if (!inRange(wa) || !inRange(wb)) continue;
        const [ga, gb] = B.refineCond(toNew(a), toNew(b), o, jmp32);
        sameBounds(ga, wa, `refine ${o}${jmp32 ? 32 : ""} left ${hex(a)} ${hex(b)}`);
        sameBounds(gb, wb, `refine ${o}${jmp32 ? 32 : ""} right ${hex(a)} ${hex(b)}`);
      }
    }),
    { numRuns: RUNS * 4 },
  );
});

test("within and boundsEqual equal the reference", () => {
  fc.assert(
    fc.property(arbBounds, arbBounds, (a, b) => {
      assert.equal(B.within(toNew(a), toNew(b)), RB.within(a, b));
      assert.equal(B.within(toNew(a), toNew(a)), RB.within(a, a));
      assert.equal(B.boundsEqual(toNew(a), toNew(b)), RB.boundsEqual(a, b));
      assert.equal(B.boundsEqual(toNew(a), toNew(a)), true);
    }),
    { numRuns: RUNS },
  );
});

test("pointer offsets: ptrAddSub then ptrBounds equal the reference's adjust_ptr_min_max_vals arithmetic", () => {
  // The bigint code this replaces (src/verifier/alu.ts before the pair representation).
  const refAdd = (pb: RB.Bounds, ob: RB.Bounds): RB.Bounds => {
    const sOv = s64(pb.smin + ob.smin) !== pb.smin + ob.smin || s64(pb.smax + ob.smax) !== pb.smax + ob.smax;
    const uOv = pb.umin + ob.umin > M64 || pb.umax + ob.umax > M64;
    return { ...pb, var: RT.tnumAdd(pb.var, ob.var), smin: sOv ? RB.S64_MIN : pb.smin + ob.smin, smax: sOv ? RB.S64_MAX : pb.smax + ob.smax, umin: uOv ? 0n : pb.umin + ob.umin, umax: uOv ? M64 : pb.umax + ob.umax };
  };
  const refSub = (pb: RB.Bounds, ob: RB.Bounds): RB.Bounds => {
    const sOv = s64(pb.smin - ob.smax) !== pb.smin - ob.smax || s64(pb.smax - ob.smin) !== pb.smax - ob.smin;
    const uOv = pb.umin < ob.umax;
    return { ...pb, var: RT.tnumSub(pb.var, ob.var), smin: sOv ? RB.S64_MIN : pb.smin - ob.smax, smax: sOv ? RB.S64_MAX : pb.smax - ob.smin, umin: uOv ? 0n : pb.umin - ob.umax, umax: uOv ? M64 : pb.umax - ob.umin };
  };
  const refPtr = (b: RB.Bounds): RB.Bounds => RB.sync({ ...b, s32min: RB.S32_MIN, s32max: RB.S32_MAX, u32min: 0n, u32max: RB.U32_MAX });
  fc.assert(
    fc.property(arbBounds, arbBounds, fc.boolean(), (p, o, sub) => {
      if (!RB.isConsistent(p) || !RB.isConsistent(o)) return;
      const want = sub ? refSub(p, o) : refAdd(p, o);
      if (!inRange(want)) return;
      const got = B.ptrAddSub(toNew(p), toNew(o), sub);
      sameBounds(got, want, `ptr ${sub ? "-" : "+"}`);
      sameBounds(B.ptrBounds(got), refPtr(want), "ptrBounds");
    }),
    { numRuns: RUNS },
  );
});
