// QUEUE, STACK and BLOOM_FILTER.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BPF_ANY,
  BPF_EXIST,
  BPF_F_ZERO_SEED,
  BPF_NOEXIST,
  E2BIG,
  EINVAL,
  ENOENT,
  EOPNOTSUPP,
  MapError,
  type BloomFilterMap,
  type QueueStackMap,
} from "../../src/maps/index.js";
import { makeEnv, mk, place, readU32, spec, u32 } from "./env.js";

function errno(f: () => unknown): number {
  try {
    f();
    return 0;
  } catch (e) {
    if (e instanceof MapError) return e.errno;
    throw e;
  }
}

test("queue is FIFO, stack is LIFO; full gives E2BIG unless BPF_EXIST overwrites the oldest", () => {
  const env = makeEnv(1);
  const q = mk<QueueStackMap>(env, spec("BPF_MAP_TYPE_QUEUE", 0, 4, 3));
  const s = mk<QueueStackMap>(env, spec("BPF_MAP_TYPE_STACK", 0, 4, 3));
  for (const m of [q, s]) {
    assert.equal(m.pop(), undefined);
    for (const v of [1, 2, 3]) m.push(u32(v));
    assert.equal(errno(() => m.push(u32(4))), E2BIG);
    assert.equal(errno(() => m.push(u32(4), BPF_NOEXIST)), EINVAL);
    assert.equal(errno(() => m.push(u32(4), 4)), EINVAL);
    assert.equal(m.size, 3);
  }
  assert.equal(readU32(q.peek()!), 1);
  assert.deepEqual([q.pop(), q.pop()].map((v) => readU32(v!)), [1, 2]);
  assert.equal(readU32(s.peek()!), 3);
  assert.deepEqual([s.pop(), s.pop()].map((v) => readU32(v!)), [3, 2]);
  // BPF_EXIST on a full queue drops the oldest.
  q.push(u32(4));
  q.push(u32(5));
  q.push(u32(6), BPF_EXIST);
  assert.deepEqual([q.pop(), q.pop(), q.pop(), q.pop()].map((v) => (v === undefined ? undefined : readU32(v))), [4, 5, 6, undefined]);
  // Keyed operations are not for these maps.
  assert.equal(errno(() => q.delete(new Uint8Array(0))), EINVAL);
  assert.equal(errno(() => q.nextKey()), EINVAL);
  assert.equal(errno(() => q.lookupAndDelete(new Uint8Array(0), 4)), EINVAL);
});

test("queue/stack: program helpers copy into the caller's buffer and zero it when empty", () => {
  const env = makeEnv(1);
  const q = mk<QueueStackMap>(env, spec("BPF_MAP_TYPE_QUEUE", 0, 8, 2));
  const buf = place(env, new Uint8Array(8).fill(0xee));
  assert.equal(q.popElem(buf), -ENOENT);
  assert.equal(env.space.view.getBigUint64(buf, true), 0n);
  env.space.view.setBigUint64(buf, 42n, true);
  assert.equal(q.pushElem(buf, BPF_ANY), 0);
  assert.equal(q.pushElem(buf, BPF_ANY), 0);
  assert.equal(q.pushElem(buf, BPF_ANY), -E2BIG);
  env.space.view.setBigUint64(buf, 0n, true);
  assert.equal(q.peekElem(buf), 0);
  assert.equal(env.space.view.getBigUint64(buf, true), 42n);
  assert.equal(q.lookupElem(buf), 0);
  assert.equal(q.updateElem(buf, buf, 0), -EINVAL);
});

test("queue/stack model over wraparound", () => {
  fc.assert(
    fc.property(fc.boolean(), fc.array(fc.tuple(fc.constantFrom("push", "pushx", "pop", "peek"), fc.integer()), { maxLength: 200 }), (lifo, ops) => {
      const env = makeEnv(1);
      const m = mk<QueueStackMap>(env, spec(lifo ? "BPF_MAP_TYPE_STACK" : "BPF_MAP_TYPE_QUEUE", 0, 4, 5));
      const model: number[] = [];
      for (const [op, v] of ops) {
        if (op === "push" || op === "pushx") {
          const full = model.length === 5;
          const r = errno(() => m.push(u32(v), op === "pushx" ? BPF_EXIST : BPF_ANY));
          if (full && op === "push") assert.equal(r, E2BIG);
          else {
            assert.equal(r, 0);
            if (full) model.shift();
            model.push(v >>> 0);
          }
        } else {
          const got = op === "pop" ? m.pop() : m.peek();
          const want = model.length === 0 ? undefined : lifo ? model[model.length - 1] : model[0];
          assert.equal(got === undefined ? undefined : readU32(got), want);
          if (op === "pop" && model.length > 0) (lifo ? model.pop() : model.shift());
        }
      }
    }),
    { numRuns: 200 },
  );
});

test("bloom filter: sizes like the kernel, push/peek, unsupported operations", () => {
  const env = makeEnv(1);
  const b = mk<BloomFilterMap>(env, spec("BPF_MAP_TYPE_BLOOM_FILTER", 0, 4, 100, BPF_F_ZERO_SEED, { mapExtra: 3 }));
  assert.equal(b.nrHashFuncs, 3);
  assert.equal(b.bitsetMask, 511); // 100 * 3 / 5 * 7 = 420 -> 512 bits
  const d = mk<BloomFilterMap>(env, spec("BPF_MAP_TYPE_BLOOM_FILTER", 0, 4, 1));
  assert.equal(d.nrHashFuncs, 5);
  assert.equal(d.bitsetMask, 63); // at least BITS_PER_LONG
  assert.equal(b.has(u32(7)), false);
  b.add(u32(7));
  assert.equal(b.has(u32(7)), true);
  assert.equal(errno(() => b.update(new Uint8Array(0), u32(1), BPF_EXIST)), EINVAL);
  assert.equal(errno(() => b.delete(new Uint8Array(0))), EOPNOTSUPP);
  assert.equal(errno(() => b.nextKey()), EOPNOTSUPP);
  assert.equal(errno(() => b.lookupAndDelete()), EOPNOTSUPP);
  const v = place(env, u32(9));
  assert.equal(b.peekElem(v), -ENOENT);
  assert.equal(b.pushElem(v, BPF_ANY), 0);
  assert.equal(b.peekElem(v), 0);
  assert.equal(b.pushElem(v, BPF_NOEXIST), -EINVAL);
  assert.equal(b.popElem(v), -EOPNOTSUPP);
  assert.equal(b.lookupElem(v), 0);
});

test("bloom filter: no false negatives (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 15 }),
      fc.integer({ min: 1, max: 13 }),
      fc.uniqueArray(fc.uint8Array({ minLength: 13, maxLength: 13 }), { maxLength: 200, selector: (a) => Buffer.from(a).toString("hex") }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (k, vs, values, seed) => {
        const env = makeEnv(1);
        const b = mk<BloomFilterMap>(env, spec("BPF_MAP_TYPE_BLOOM_FILTER", 0, vs, 50, 0, { mapExtra: k }), { hashSeed: seed });
        const vals = values.map((v) => v.slice(0, vs));
        for (const v of vals) b.add(v);
        for (const v of vals) assert.equal(b.has(v), true);
        b.close();
      },
    ),
    { numRuns: 200 },
  );
});

test("bloom filter: false positives stay rare at the designed load", () => {
  const env = makeEnv(1);
  const b = mk<BloomFilterMap>(env, spec("BPF_MAP_TYPE_BLOOM_FILTER", 0, 4, 1000, BPF_F_ZERO_SEED));
  for (let i = 0; i < 1000; i++) b.add(u32(i));
  let fp = 0;
  for (let i = 1000; i < 11000; i++) if (b.has(u32(i))) fp++;
  assert.ok(fp / 10000 < 0.05, `false positive rate ${fp / 10000}`);
});
