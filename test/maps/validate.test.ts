// BPF_MAP_CREATE checks (map_alloc_check and friends) and the map type table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import {
  BPF_F_INNER_MAP,
  BPF_F_MMAPABLE,
  BPF_F_NO_COMMON_LRU,
  BPF_F_NO_PREALLOC,
  BPF_F_NUMA_NODE,
  BPF_F_PRESERVE_ELEMS,
  BPF_F_RDONLY,
  BPF_F_RDONLY_PROG,
  BPF_F_WRONLY,
  BPF_F_WRONLY_PROG,
  BPF_F_ZERO_SEED,
  E2BIG,
  EBADF,
  EINVAL,
  ENOTSUPP,
  EOPNOTSUPP,
  MAP_TYPES,
  MapError,
  createMap,
  mapTypeById,
  parseMapType,
  type MapSpec,
  type MapTypeName,
} from "../../src/maps/index.js";
import { TsbpfError } from "../../src/errors/index.js";
import { makeEnv, spec } from "./env.js";

const env = makeEnv(2);

function errnoOf(s: MapSpec): number {
  try {
    createMap(s, env).close();
    return 0;
  } catch (e) {
    assert.ok(e instanceof MapError, String(e));
    assert.ok(e instanceof TsbpfError);
    assert.equal(e.code, "EMAP");
    return e.errno;
  }
}

test("map type ids are the kernel's enum bpf_map_type", () => {
  const ids = MAP_TYPES.map((t) => t.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(mapTypeById(1)?.name, "BPF_MAP_TYPE_HASH");
  assert.equal(mapTypeById(27)?.name, "BPF_MAP_TYPE_RINGBUF");
  assert.equal(mapTypeById(30)?.name, "BPF_MAP_TYPE_BLOOM_FILTER");
  assert.equal(parseMapType("lru_percpu_hash"), "BPF_MAP_TYPE_LRU_PERCPU_HASH");
  assert.equal(parseMapType("nope"), undefined);
});

test("map type ids match /usr/include/linux/bpf.h", (t) => {
  const h = "/usr/include/linux/bpf.h";
  if (!existsSync(h)) return t.skip(`${h} not present`);
  const src = readFileSync(h, "utf8");
  const body = src.slice(src.indexOf("enum bpf_map_type {"));
  const names = body.slice(0, body.indexOf("};")).match(/BPF_MAP_TYPE_[A-Z0-9_]+(\s*=\s*[A-Z_]+)?/g) ?? [];
  let id = 0;
  let checked = 0;
  for (const n of names) {
    if (n.includes("=")) continue; // aliases (BPF_MAP_TYPE_CGROUP_STORAGE = BPF_MAP_TYPE_CGROUP_STORAGE_DEPRECATED)
    const name = n.trim();
    const ours = MAP_TYPES.find((x) => x.name === name);
    if (ours !== undefined) {
      assert.equal(ours.id, id, name);
      checked++;
    }
    id++;
  }
  assert.ok(checked >= 30, `checked ${checked}`);
});

test("generic BPF_MAP_CREATE rules", () => {
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_HASH", 4, 8, 4, BPF_F_RDONLY | BPF_F_WRONLY)), EINVAL);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_HASH", 4, 8, 4, 0, { mapExtra: 3 })), EINVAL);
  assert.equal(errnoOf({ ...spec("BPF_MAP_TYPE_HASH", 4, 8, 4), name: "bad name!" }), EINVAL);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_STACK_TRACE", 4, 8, 4)), EINVAL);
  assert.equal(errnoOf(spec("NOT_A_TYPE" as MapTypeName, 4, 8, 4)), EINVAL);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_HASH", 4, 8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)), EINVAL);
  // The kernel keeps 15 characters of the name.
  const m = createMap({ ...spec("BPF_MAP_TYPE_ARRAY", 4, 4, 1), name: "a_very_long_map_name" }, env);
  assert.equal(m.name, "a_very_long_map");
  m.close();
});

test("hash map checks (htab_map_alloc_check)", () => {
  const H: MapTypeName = "BPF_MAP_TYPE_HASH";
  assert.equal(errnoOf(spec(H, 4, 8, 4)), 0);
  assert.equal(errnoOf(spec(H, 0, 8, 4)), EINVAL);
  assert.equal(errnoOf(spec(H, 4, 0, 4)), EINVAL);
  assert.equal(errnoOf(spec(H, 4, 8, 0)), EINVAL);
  assert.equal(errnoOf(spec(H, 4, 8, 4, BPF_F_NO_COMMON_LRU)), EINVAL);
  assert.equal(errnoOf(spec(H, 4, 8, 4, BPF_F_MMAPABLE)), EINVAL);
  assert.equal(errnoOf(spec(H, 4, 8, 4, BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED | BPF_F_NUMA_NODE)), 0);
  assert.equal(errnoOf(spec(H, 4, (4 << 20) - 40, 4)), E2BIG);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_LRU_HASH", 4, 8, 4, BPF_F_NO_PREALLOC)), ENOTSUPP);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_LRU_HASH", 4, 8, 4, BPF_F_NO_COMMON_LRU)), 0);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_PERCPU_HASH", 4, 8, 4, BPF_F_NUMA_NODE)), EINVAL);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_PERCPU_HASH", 4, 32768 + 1, 4)), E2BIG);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_PERCPU_HASH", 4, 32768, 4)), 0);
});

test("array map checks (array_map_alloc_check, fd_array_map_alloc_check)", () => {
  const A: MapTypeName = "BPF_MAP_TYPE_ARRAY";
  assert.equal(errnoOf(spec(A, 8, 8, 4)), EINVAL);
  assert.equal(errnoOf(spec(A, 4, 0, 4)), EINVAL);
  assert.equal(errnoOf(spec(A, 4, 8, 0)), EINVAL);
  assert.equal(errnoOf(spec(A, 4, 8, 4, BPF_F_MMAPABLE | BPF_F_INNER_MAP | BPF_F_RDONLY_PROG)), 0);
  assert.equal(errnoOf(spec(A, 4, 8, 4, BPF_F_NO_PREALLOC)), EINVAL);
  assert.equal(errnoOf(spec(A, 4, 8, 4, BPF_F_PRESERVE_ELEMS)), EINVAL);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_PERCPU_ARRAY", 4, 8, 4, BPF_F_MMAPABLE)), EINVAL);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_PERCPU_ARRAY", 4, 40000, 4)), E2BIG);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_PROG_ARRAY", 4, 8, 4)), EINVAL);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_PROG_ARRAY", 4, 4, 4, BPF_F_RDONLY_PROG)), EINVAL);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_PERF_EVENT_ARRAY", 4, 4, 4, BPF_F_PRESERVE_ELEMS)), 0);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_ARRAY_OF_MAPS", 4, 4, 4)), EBADF);
  const inner = spec("BPF_MAP_TYPE_ARRAY", 4, 4, 1);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_ARRAY_OF_MAPS", 4, 4, 4, 0, { innerMap: inner })), 0);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_ARRAY_OF_MAPS", 4, 4, 4, 0, { innerMap: spec("BPF_MAP_TYPE_ARRAY_OF_MAPS", 4, 4, 1, 0, { innerMap: inner }) })), EINVAL);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_HASH_OF_MAPS", 4, 8, 4, 0, { innerMap: inner })), EINVAL);
  assert.equal(errnoOf(spec(A, 4, 8, 4, 0, { innerMap: inner })), EINVAL);
});

test("other types' checks", () => {
  const L: MapTypeName = "BPF_MAP_TYPE_LPM_TRIE";
  assert.equal(errnoOf(spec(L, 8, 4, 4, BPF_F_NO_PREALLOC)), 0);
  assert.equal(errnoOf(spec(L, 8, 4, 4)), EINVAL);
  assert.equal(errnoOf(spec(L, 4, 4, 4, BPF_F_NO_PREALLOC)), EINVAL);
  assert.equal(errnoOf(spec(L, 261, 4, 4, BPF_F_NO_PREALLOC)), EINVAL);
  assert.equal(errnoOf(spec(L, 260, 4, 4, BPF_F_NO_PREALLOC)), 0);
  assert.equal(errnoOf(spec(L, 8, 4, 4, BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED)), EINVAL);
  for (const q of ["BPF_MAP_TYPE_QUEUE", "BPF_MAP_TYPE_STACK"] as const) {
    assert.equal(errnoOf(spec(q, 0, 4, 4)), 0);
    assert.equal(errnoOf(spec(q, 4, 4, 4)), EINVAL);
    assert.equal(errnoOf(spec(q, 0, 4, 4, BPF_F_NO_PREALLOC)), EINVAL);
    assert.equal(errnoOf(spec(q, 0, (4 << 20) + 1, 4)), E2BIG);
  }
  const B: MapTypeName = "BPF_MAP_TYPE_BLOOM_FILTER";
  assert.equal(errnoOf(spec(B, 0, 4, 100, BPF_F_ZERO_SEED, { mapExtra: 3 })), 0);
  assert.equal(errnoOf(spec(B, 0, 4, 100, 0, { mapExtra: 16 })), EINVAL);
  assert.equal(errnoOf(spec(B, 4, 4, 100)), EINVAL);
  assert.equal(errnoOf(spec(B, 4, (4 << 20) + 1, 100)), E2BIG); // alloc_check before alloc
  const R: MapTypeName = "BPF_MAP_TYPE_RINGBUF";
  assert.equal(errnoOf(spec(R, 0, 0, 4096)), 0);
  assert.equal(errnoOf(spec(R, 0, 0, 4096 * 3)), EINVAL);
  assert.equal(errnoOf(spec(R, 0, 0, 2048)), EINVAL);
  assert.equal(errnoOf(spec(R, 4, 0, 4096)), EINVAL);
  assert.equal(errnoOf(spec(R, 0, 0, 4096, BPF_F_RDONLY_PROG)), EINVAL);
  for (const d of ["BPF_MAP_TYPE_DEVMAP", "BPF_MAP_TYPE_DEVMAP_HASH", "BPF_MAP_TYPE_CPUMAP"] as const) {
    assert.equal(errnoOf(spec(d, 4, 4, 4)), 0, d);
    assert.equal(errnoOf(spec(d, 4, 8, 4)), 0, d);
    assert.equal(errnoOf(spec(d, 4, 12, 4)), EINVAL, d);
    assert.equal(errnoOf(spec(d, 8, 4, 4)), EINVAL, d);
  }
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_DEVMAP", 4, 4, 4, BPF_F_RDONLY_PROG)), EINVAL);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_CPUMAP", 4, 4, 9000)), E2BIG);
  const dm = createMap(spec("BPF_MAP_TYPE_DEVMAP", 4, 8, 4), env);
  assert.equal(dm.flags, BPF_F_RDONLY_PROG); // dev_map_init_map() adds it
  dm.close();
});

test("bpf_spin_lock placement", () => {
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_HASH", 4, 8, 4, 0, { spinLockOffset: 0 })), 0);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_ARRAY", 4, 8, 4, 0, { spinLockOffset: 4 })), 0);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_ARRAY", 4, 8, 4, 0, { spinLockOffset: 6 })), EINVAL);
  assert.equal(errnoOf(spec("BPF_MAP_TYPE_PERCPU_ARRAY", 4, 8, 4, 0, { spinLockOffset: 0 })), EOPNOTSUPP);
});

test("errors name the map and the rule", () => {
  try {
    createMap({ ...spec("BPF_MAP_TYPE_ARRAY", 8, 8, 4), name: "counters" }, env);
    assert.fail("no error");
  } catch (e) {
    assert.ok(e instanceof MapError);
    assert.equal(e.errnoName, "EINVAL");
    assert.match(e.message, /counters/);
    assert.match(e.message, /key_size 4/);
  }
});

test("storage is preallocated in the address space and freed on close", () => {
  const e = makeEnv(2);
  const before = e.space.regions.length;
  const m = createMap(spec("BPF_MAP_TYPE_HASH", 16, 8, 1000), e);
  const mapped = e.space.regions.filter((r) => r.name.startsWith("map m"));
  assert.ok(mapped.some((r) => r.end - r.start >= 1000 * 24), "elements region");
  const hdr = e.space.find(m.address, 1)!;
  assert.equal(hdr.writable, false);
  assert.equal(e.space.view.getUint32(m.address, true), 1); // map_type
  m.close();
  assert.equal(e.space.regions.length, before);
  void BPF_F_WRONLY;
});
