// The hash table family: kernel errno, iteration (get_next_key) order, per-CPU ABI, batches.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BPF_ANY,
  BPF_EXIST,
  BPF_F_LOCK,
  BPF_F_NO_PREALLOC,
  BPF_F_ZERO_SEED,
  BPF_NOEXIST,
  E2BIG,
  EEXIST,
  EINVAL,
  ENOENT,
  ENOSPC,
  MapError,
  htabHash,
  jhash,
  jhash2,
  type HashMap,
} from "../../src/maps/index.js";
import { hexOf, makeEnv, mk, place, readU32, spec, u32, u64 } from "./env.js";

function errno(f: () => unknown): number {
  try {
    f();
    return 0;
  } catch (e) {
    if (e instanceof MapError) return e.errno;
    throw e;
  }
}

const H = (max: number, flags = 0, keySize = 4, valueSize = 8) => spec("BPF_MAP_TYPE_HASH", keySize, valueSize, max, flags);

test("jhash: on a little-endian host jhash2 over words equals jhash over the same bytes; seeds matter", () => {
  const k = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  for (const n of [1, 2, 3, 4]) assert.equal(jhash2(k, 0, n, 7), jhash(k, 0, 4 * n, 7));
  assert.equal(htabHash(k, 0, 8, 0), jhash2(k, 0, 2, 0));
  assert.equal(htabHash(k, 0, 7, 0), jhash(k, 0, 7, 0));
  assert.notEqual(jhash2(k, 0, 2, 1), jhash2(k, 0, 2, 0));
  assert.equal(jhash(k, 0, 0, 0), (0xdeadbeef >>> 0)); // empty input: the initial value
});

for (const flags of [0, BPF_F_NO_PREALLOC]) {
  test(`hash${flags ? " (no prealloc)" : ""}: update flags, full map, delete`, () => {
    const env = makeEnv(2);
    const m = mk<HashMap>(env, H(3, flags));
    m.update(u32(1), u64(10));
    m.update(u32(2), u64(20), BPF_NOEXIST);
    assert.equal(errno(() => m.update(u32(2), u64(21), BPF_NOEXIST)), EEXIST);
    assert.equal(errno(() => m.update(u32(3), u64(30), BPF_EXIST)), ENOENT);
    m.update(u32(2), u64(22), BPF_EXIST);
    m.update(u32(3), u64(30));
    assert.equal(m.size, 3);
    assert.equal(errno(() => m.update(u32(4), u64(40))), E2BIG); // full, new key
    m.update(u32(3), u64(33)); // full, existing key: fine
    assert.equal(hexOf(m.lookup(u32(3))), hexOf(u64(33)));
    assert.equal(errno(() => m.update(u32(1), u64(1), 3)), EINVAL);
    assert.equal(errno(() => m.update(u32(1), u64(1), BPF_F_LOCK)), EINVAL);
    m.delete(u32(2));
    assert.equal(errno(() => m.delete(u32(2))), ENOENT);
    assert.equal(m.lookup(u32(2)), undefined);
    m.update(u32(4), u64(40));
    assert.deepEqual(new Set([...m.keys()].map((k) => readU32(k))), new Set([1, 3, 4]));
    assert.equal(hexOf(m.lookupAndDelete(u32(4))), hexOf(u64(40)));
    assert.equal(m.lookupAndDelete(u32(4)), undefined);
    assert.equal(m.size, 2);
  });
}

/** Expected get_next_key order: buckets ascending, newest element first in a bucket. */
function expectedOrder(keys: number[], nBuckets: number, seed = 0): number[] {
  const buckets: number[][] = Array.from({ length: nBuckets }, () => []);
  for (const k of keys) buckets[htabHash(u32(k), 0, 4, seed) & (nBuckets - 1)]!.unshift(k);
  return buckets.flat();
}

test("hash: get_next_key walks buckets in order, newest first, and an unknown key restarts", () => {
  const env = makeEnv(1);
  const m = mk<HashMap>(env, H(8, BPF_F_ZERO_SEED));
  const keys = [5, 17, 3, 99, 1024, 7, 42];
  for (const k of keys) m.update(u32(k), u64(k));
  assert.equal(m.nBuckets, 8);
  const order = [...m.keys()].map((k) => readU32(k));
  assert.deepEqual(order, expectedOrder(keys, 8));
  assert.equal(readU32(m.nextKey(u32(12345))!), order[0]); // unknown key -> first
  assert.equal(m.nextKey(u32(order.at(-1)!)), undefined);
  // Updating an existing key moves it to the head of its bucket (a fresh element replaces it).
  const last = order.at(-1)!;
  m.update(u32(last), u64(1));
  assert.deepEqual([...m.keys()].map((k) => readU32(k)), expectedOrder([...keys.filter((k) => k !== last), last], 8));
});

test("hash: kernel side lookups return value pointers; updates from programs", () => {
  const env = makeEnv(2);
  const m = mk<HashMap>(env, H(16, 0, 16, 8));
  const key = new Uint8Array(16).map((_, i) => i * 7);
  const ka = place(env, key);
  assert.equal(m.lookupElem(ka), 0);
  assert.equal(m.updateElem(ka, place(env, u64(5)), BPF_NOEXIST), 0);
  const va = m.lookupElem(ka);
  assert.notEqual(va, 0);
  env.space.view.setBigUint64(va, 6n, true); // *value += 1 from a program
  assert.equal(hexOf(m.lookup(key)), hexOf(u64(6)));
  assert.equal(m.updateElem(ka, place(env, u64(7)), BPF_NOEXIST), -EEXIST);
  // An unaligned key takes the byte path and finds the same element.
  const odd = place(env, new Uint8Array(17));
  env.space.u8.set(key, odd + 1);
  assert.equal(m.lookupElem(odd + 1), va);
  assert.equal(m.deleteElem(ka), 0);
  assert.equal(m.deleteElem(ka), -ENOENT);
  // for_each over elements
  for (let i = 0; i < 5; i++) m.update(new Uint8Array(16).fill(i), u64(i));
  let n = 0;
  assert.equal(m.forEachElem(() => (++n === 3 ? 1 : 0), 0), 3);
  assert.equal(m.forEachElem(() => 0, 0), 5);
});

test("hash: key sizes that are not whole words (jhash)", () => {
  const env = makeEnv(1);
  const m = mk<HashMap>(env, H(64, 0, 6, 2));
  for (let i = 0; i < 50; i++) m.update(new Uint8Array([i, 1, 2, 3, 4, i]), new Uint8Array([i, 0]));
  for (let i = 0; i < 50; i++) assert.equal(m.lookup(new Uint8Array([i, 1, 2, 3, 4, i]))![0], i);
  assert.equal([...m.keys()].length, 50);
  assert.equal(m.lookupElem(place(env, new Uint8Array([7, 1, 2, 3, 4, 7]))) !== 0, true);
});

test("hash: bpf_spin_lock: BPF_F_LOCK updates in place around the lock", () => {
  const env = makeEnv(1);
  const m = mk<HashMap>(env, spec("BPF_MAP_TYPE_HASH", 4, 8, 4, 0, { spinLockOffset: 0 }));
  m.update(u32(1), new Uint8Array([0, 0, 0, 0, 1, 2, 3, 4]));
  const va = m.lookupElem(place(env, u32(1)));
  env.space.view.setUint32(va, 1, true); // locked by a program
  m.update(u32(1), new Uint8Array([9, 9, 9, 9, 5, 6, 7, 8]), BPF_F_LOCK);
  assert.equal(m.lookupElem(place(env, u32(1))), va); // in place
  assert.equal(env.space.view.getUint32(va, true), 1);
  assert.equal(hexOf(m.lookup(u32(1))), "0000000005060708");
  assert.equal(errno(() => m.update(u32(2), new Uint8Array(8), BPF_F_LOCK | BPF_EXIST)), ENOENT);
  m.update(u32(2), new Uint8Array(8), BPF_F_LOCK); // a new key with BPF_F_LOCK is inserted
  assert.equal(m.size, 2);
});

test("percpu hash: value ABI, program updates zero other CPUs of a new element", () => {
  const env = makeEnv(4);
  const m = mk<HashMap>(env, spec("BPF_MAP_TYPE_PERCPU_HASH", 4, 4, 8));
  assert.equal(m.userValueSize, 32);
  m.update(u32(1), m.joinPerCpu([u32(1), u32(2), u32(3), u32(4)]));
  assert.deepEqual(m.lookupPerCpu(u32(1))!.map((b) => readU32(b)), [1, 2, 3, 4]);
  env.cpu = 2;
  const k = place(env, u32(1));
  assert.equal(env.space.view.getUint32(m.lookupElem(k), true), 3);
  assert.equal(env.space.view.getUint32(m.lookupPercpuElem(k, 3), true), 4);
  assert.equal(m.lookupPercpuElem(k, 4), 0);
  // Existing element: only this CPU changes.
  assert.equal(m.updateElem(k, place(env, u32(30)), BPF_ANY), 0);
  assert.deepEqual(m.lookupPerCpu(u32(1))!.map((b) => readU32(b)), [1, 2, 30, 4]);
  // New element from a program: the other CPUs read zero.
  env.cpu = 1;
  assert.equal(m.updateElem(place(env, u32(2)), place(env, u32(7)), BPF_ANY), 0);
  assert.deepEqual(m.lookupPerCpu(u32(2))!.map((b) => readU32(b)), [0, 7, 0, 0]);
  assert.equal(errno(() => m.update(u32(1), new Uint8Array(32), BPF_F_LOCK)), EINVAL);
  assert.equal(hexOf(m.lookupAndDelete(u32(2))), hexOf(m.joinPerCpu([u32(0), u32(7)])));
});

test("hash: lookup batch is bucket by bucket (ENOSPC, cursor, ENOENT at the end)", () => {
  const env = makeEnv(1);
  const m = mk<HashMap>(env, H(16, BPF_F_ZERO_SEED));
  const keys = Array.from({ length: 12 }, (_, i) => i * 3 + 1);
  for (const k of keys) m.update(u32(k), u64(k));
  const got: number[] = [];
  let inBatch: Uint8Array | undefined;
  let calls = 0;
  for (;;) {
    const r = m.lookupBatch({ count: 4, inBatch });
    calls++;
    got.push(...r.keys.map((k) => readU32(k)));
    r.values.forEach((v, i) => assert.equal(hexOf(v), hexOf(u64(readU32(r.keys[i]!)))));
    assert.ok(r.keys.length <= 4);
    if (r.done) break;
    inBatch = r.outBatch;
  }
  assert.deepEqual(got, [...m.keys()].map((k) => readU32(k))); // same order as get_next_key
  assert.ok(calls >= 3);
  // A bucket bigger than count: ENOSPC when nothing was copied yet.
  const full = mk<HashMap>(env, H(2, BPF_F_ZERO_SEED));
  let a = 0;
  let b = 1;
  while ((htabHash(u32(a), 0, 4, 0) & 1) !== (htabHash(u32(b), 0, 4, 0) & 1)) b++;
  full.update(u32(a), u64(1));
  full.update(u32(b), u64(2));
  assert.equal(errno(() => full.lookupBatch({ count: 1 })), ENOSPC);
  assert.equal(full.lookupBatch({ count: 2 }).keys.length, 2);
  // Resuming past the last bucket is ENOENT straight away.
  const past = new Uint8Array(4);
  new DataView(past.buffer).setUint32(0, 99, true);
  const end = m.lookupBatch({ count: 4, inBatch: past });
  assert.equal(end.done, true);
  assert.equal(end.keys.length, 0);
  void a;
});

test("hash: lookup-and-delete batch empties the map; update/delete batches", () => {
  const env = makeEnv(1);
  const m = mk<HashMap>(env, H(32));
  const keys = Array.from({ length: 20 }, (_, i) => u32(i));
  assert.equal(m.updateBatch(keys, keys.map((_, i) => u64(i))), 20);
  let total = 0;
  let inBatch: Uint8Array | undefined;
  for (;;) {
    const r = m.lookupAndDeleteBatch({ count: 8, inBatch });
    total += r.keys.length;
    if (r.done) break;
    inBatch = r.outBatch;
  }
  assert.equal(total, 20);
  assert.equal(m.size, 0);
  assert.equal(m.nextKey(), undefined);
  m.updateBatch(keys.slice(0, 5), keys.slice(0, 5).map(() => u64(1)));
  try {
    m.deleteBatch([u32(0), u32(1), u32(77), u32(2)]);
    assert.fail();
  } catch (e) {
    assert.ok(e instanceof MapError);
    assert.equal(e.errno, ENOENT);
    assert.equal((e as unknown as { count: number }).count, 2);
  }
  assert.equal(m.size, 3);
});

test("hash: 16-byte keys at scale (flow table)", () => {
  const env = makeEnv(2);
  const m = mk<HashMap>(env, H(4096, 0, 16, 8));
  const key = (i: number): Uint8Array => {
    const k = new Uint8Array(16);
    const dv = new DataView(k.buffer);
    dv.setUint32(0, 0x0a000000 + i, false);
    dv.setUint32(4, 0xc0a80001, false);
    dv.setUint16(8, 1000 + (i % 50));
    dv.setUint16(10, 80);
    k[12] = 6;
    return k;
  };
  for (let i = 0; i < 4096; i++) m.update(key(i), u64(i));
  assert.equal(errno(() => m.update(key(5000), u64(0))), E2BIG);
  const slot = place(env, new Uint8Array(16));
  for (let i = 0; i < 4096; i += 97) {
    env.space.u8.set(key(i), slot);
    const va = m.lookupElem(slot);
    assert.equal(env.space.view.getBigUint64(va, true), BigInt(i));
  }
  assert.equal([...m.keys()].length, 4096);
});

test("hash: lookups keep working after the address space grows", () => {
  const env = makeEnv(1);
  const m = mk<HashMap>(env, H(64, 0, 16, 8));
  const key = new Uint8Array(16).fill(3);
  m.update(key, u64(9));
  const before = env.space.u8;
  const big = mk<HashMap>(env, H(200000, 0, 16, 8)); // forces memory.grow()
  assert.notEqual(env.space.u8, before);
  const ka = place(env, key);
  assert.equal(env.space.view.getBigUint64(m.lookupElem(ka), true), 9n);
  big.close();
});
