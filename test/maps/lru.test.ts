// LRU_HASH / LRU_PERCPU_HASH: eviction instead of E2BIG, ref bits from program lookups,
// the kernel selftests' scenarios (tools/testing/selftests/bpf/test_lru_map.c).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { BPF_EXIST, BPF_F_NO_COMMON_LRU, BPF_NOEXIST, EEXIST, EINVAL, ENOENT, MapError, type HashMap } from "../../src/maps/index.js";
import { makeEnv, mk, place, readU32, spec, u64 } from "./env.js";

function errno(f: () => unknown): number {
  try {
    f();
    return 0;
  } catch (e) {
    if (e instanceof MapError) return e.errno;
    throw e;
  }
}

const lru = (max: number, flags = 0, type: "BPF_MAP_TYPE_LRU_HASH" | "BPF_MAP_TYPE_LRU_PERCPU_HASH" = "BPF_MAP_TYPE_LRU_HASH") => spec(type, 8, 8, max, flags);
const keysOf = (m: HashMap): number[] => [...m.keys()].map((k) => Number(new DataView(k.buffer).getBigUint64(0, true))).sort((a, b) => a - b);

/** A program's bpf_map_lookup_elem(): sets the element's ref bit. */
function progLookup(m: HashMap, key: number): boolean {
  const env = m.env;
  return m.lookupElem(place(env, u64(key))) !== 0;
}

test("lru sanity0: a referenced key survives, the unreferenced one is evicted", () => {
  for (const flags of [0, BPF_F_NO_COMMON_LRU]) {
    const env = makeEnv(2);
    const m = mk<HashMap>(env, lru(flags === 0 ? 2 : 2 * env.numCpus, flags));
    m.update(u64(1), u64(1234), BPF_NOEXIST);
    assert.equal(errno(() => m.update(u64(1), u64(1234), BPF_NOEXIST)), EEXIST);
    assert.equal(errno(() => m.update(u64(1), u64(1234), 0xffffffff)), EINVAL);
    assert.equal(m.lookup(u64(2)), undefined);
    assert.equal(errno(() => m.update(u64(2), u64(1234), BPF_EXIST)), ENOENT);
    m.update(u64(2), u64(1234), BPF_NOEXIST);
    assert.ok(progLookup(m, 1));
    m.update(u64(3), u64(1234), BPF_NOEXIST);
    if (flags === 0) assert.equal(m.lookup(u64(2)), undefined, "key 2 evicted");
    assert.ok(m.lookup(u64(1)));
    assert.equal(m.lookupAndDelete(u64(1))![0], 1234 & 0xff);
    assert.ok(m.lookup(u64(3)));
  }
});

test("a full LRU map evicts instead of failing, and never exceeds max_entries", () => {
  const env = makeEnv(2);
  const m = mk<HashMap>(env, lru(16));
  for (let k = 1; k <= 200; k++) {
    m.update(u64(k), u64(k));
    assert.ok(m.size <= 16);
    assert.ok(m.lookup(u64(k)), `the key just inserted (${k}) is present`);
  }
});

test("lru sanity4: deletion frees nodes for reuse", () => {
  const env = makeEnv(2);
  const tgt = 4;
  const m = mk<HashMap>(env, lru(3 * tgt));
  for (let k = 1; k <= 2 * tgt; k++) m.update(u64(k), u64(k), BPF_NOEXIST);
  assert.notEqual(errno(() => m.update(u64(1), u64(1), BPF_NOEXIST)), 0);
  for (let k = 1; k <= tgt; k++) assert.ok(progLookup(m, k));
  for (let k = tgt + 1; k <= 2 * tgt; k++) {
    m.delete(u64(k));
    assert.equal(errno(() => m.delete(u64(k))), ENOENT);
  }
  for (let k = 2 * tgt + 1; k <= 4 * tgt; k++) m.update(u64(k), u64(k), BPF_NOEXIST);
  // Refilling a CPU's local free list takes target_free nodes (here 3) and shrinks the
  // inactive list to make up the count, so an unreferenced new key may already go even
  // though the map is not full: the referenced keys stay.
  const keys = keysOf(m);
  for (let k = 1; k <= tgt; k++) assert.ok(keys.includes(k), `referenced key ${k} kept`);
  assert.ok(keys.includes(4 * tgt));
  assert.ok(keys.length >= 3 * tgt - 3 && keys.length <= 3 * tgt);
});

test("referenced elements are kept longer than unreferenced ones", () => {
  // Map of 2 * target_free * numCpus elements (target_free = 8): reference the first 3/4,
  // then insert a quarter more: the unreferenced quarter goes.
  const env = makeEnv(2);
  const tgt = 8;
  const size = 2 * tgt * env.numCpus;
  const m = mk<HashMap>(env, lru(size));
  for (let k = 1; k <= size; k++) m.update(u64(k), u64(k), BPF_NOEXIST);
  const hot = (size * 3) / 4;
  for (let k = 1; k <= hot; k++) assert.ok(progLookup(m, k));
  for (let k = size + 1; k <= size + size / 4; k++) m.update(u64(k), u64(k), BPF_NOEXIST);
  const keys = keysOf(m);
  for (let k = 1; k <= hot; k++) assert.ok(keys.includes(k), `hot key ${k} kept`);
  for (let k = size + 1; k <= size + size / 4; k++) assert.ok(keys.includes(k), `new key ${k} present`);
  assert.equal(keys.length, size);
});

test("per-CPU LRU lists: each CPU evicts from its own nodes", () => {
  const env = makeEnv(2);
  const m = mk<HashMap>(env, lru(7, BPF_F_NO_COMMON_LRU));
  assert.equal(m.maxEntries, 8); // rounded up to a multiple of the CPUs
  env.cpu = 1;
  for (let k = 100; k < 104; k++) m.update(u64(k), u64(k));
  env.cpu = 0;
  for (let k = 1; k <= 40; k++) m.update(u64(k), u64(k));
  const keys = keysOf(m);
  for (let k = 100; k < 104; k++) assert.ok(keys.includes(k), "CPU 1's elements untouched by CPU 0's evictions");
  assert.equal(keys.length, 8);
});

test("LRU_PERCPU_HASH: values per CPU, BPF_EXIST on a missing key takes no node", () => {
  const env = makeEnv(2);
  const m = mk<HashMap>(env, lru(4, 0, "BPF_MAP_TYPE_LRU_PERCPU_HASH"));
  m.update(u64(1), m.joinPerCpu([u64(10), u64(11)]));
  assert.deepEqual(m.lookupPerCpu(u64(1))!.map((b) => readU32(b)), [10, 11]);
  env.cpu = 1;
  assert.equal(env.space.view.getUint32(m.lookupElem(place(env, u64(1))), true), 11);
  assert.equal(errno(() => m.update(u64(2), m.joinPerCpu([]), BPF_EXIST)), ENOENT);
  for (let k = 2; k < 30; k++) m.update(u64(k), m.joinPerCpu([u64(k), u64(k)]));
  assert.equal(m.size, 4);
});

test("LRU model: contents are always a subset of the keys written, size <= max, last write present", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ k: fc.integer({ min: 0, max: 40 }), op: fc.constantFrom("update", "delete", "lookup", "progLookup"), cpu: fc.integer({ min: 0, max: 1 }) }), { maxLength: 300 }),
      fc.constantFrom(0, BPF_F_NO_COMMON_LRU),
      (ops, flags) => {
        const env = makeEnv(2);
        const m = mk<HashMap>(env, lru(10, flags));
        const model = new Map<number, number>();
        ops.forEach(({ k, op, cpu }, i) => {
          env.cpu = cpu;
          if (op === "update") {
            m.update(u64(k), u64(i));
            model.set(k, i);
            assert.equal(Number(new DataView(m.lookup(u64(k))!.buffer).getBigUint64(0, true)), i);
          } else if (op === "delete") {
            const had = m.lookup(u64(k)) !== undefined;
            assert.equal(errno(() => m.delete(u64(k))), had ? 0 : ENOENT);
            model.delete(k);
          } else if (op === "progLookup") {
            progLookup(m, k);
          } else {
            const v = m.lookup(u64(k));
            if (v !== undefined) assert.equal(Number(new DataView(v.buffer).getBigUint64(0, true)), model.get(k));
          }
          assert.ok(m.size <= m.maxEntries);
        });
        for (const k of keysOf(m)) assert.ok(model.has(k));
        m.close();
      },
    ),
    { numRuns: 150 },
  );
});
