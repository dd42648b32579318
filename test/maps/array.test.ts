// BPF_MAP_TYPE_ARRAY and PERCPU_ARRAY: kernel semantics, both faces, per-CPU value ABI, batches.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BPF_ANY,
  BPF_EXIST,
  BPF_F_LOCK,
  BPF_F_RDONLY,
  BPF_F_RDONLY_PROG,
  BPF_F_WRONLY,
  BPF_NOEXIST,
  E2BIG,
  EBUSY,
  EEXIST,
  EINVAL,
  ENOENT,
  ENOTSUPP,
  EPERM,
  MapError,
  type ArrayMap,
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

test("array: every element exists, zero-filled; errno rules of array_map_update_elem", () => {
  const env = makeEnv(2);
  const m = mk<ArrayMap>(env, spec("BPF_MAP_TYPE_ARRAY", 4, 12, 4));
  assert.equal(m.userValueSize, 12);
  assert.equal(hexOf(m.lookup(u32(3))), "000000000000000000000000");
  assert.equal(m.lookup(u32(4)), undefined); // ENOENT for an index past max_entries
  const v = new Uint8Array(12).map((_, i) => i + 1);
  m.update(u32(2), v);
  assert.deepEqual(m.lookup(u32(2)), v);
  m.update(u32(2), v, BPF_EXIST);
  assert.equal(errno(() => m.update(u32(2), v, BPF_NOEXIST)), EEXIST);
  assert.equal(errno(() => m.update(u32(4), v)), E2BIG);
  assert.equal(errno(() => m.update(u32(0), v, 3)), EINVAL);
  assert.equal(errno(() => m.update(u32(0), v, 8)), EINVAL);
  assert.equal(errno(() => m.delete(u32(0))), EINVAL);
  assert.equal(errno(() => m.lookupAndDelete(u32(0))), ENOTSUPP);
  assert.equal(errno(() => m.update(u32(0), v, BPF_F_LOCK)), EINVAL); // no bpf_spin_lock
  assert.equal(errno(() => m.lookup(u32(0), 1)), EINVAL);
  m.close();
});

test("array: get_next_key walks 0..max-1 and restarts at 0 for an unknown index", () => {
  const env = makeEnv(1);
  const m = mk<ArrayMap>(env, spec("BPF_MAP_TYPE_ARRAY", 4, 4, 3));
  assert.deepEqual([...m.keys()].map((k) => readU32(k)), [0, 1, 2]);
  assert.equal(readU32(m.nextKey(u32(1))!), 2);
  assert.equal(m.nextKey(u32(2)), undefined);
  assert.equal(readU32(m.nextKey(u32(99))!), 0);
  assert.equal([...m.entries()].length, 3);
});

test("array: kernel side is address arithmetic", () => {
  const env = makeEnv(2);
  const m = mk<ArrayMap>(env, spec("BPF_MAP_TYPE_ARRAY", 4, 6, 10));
  assert.equal(m.valueStride, 8);
  assert.equal(m.cpuStride, 0);
  const k = place(env, u32(7));
  assert.equal(m.lookupElem(k), m.valueBase + 7 * 8);
  assert.equal(m.lookupElem(place(env, u32(10))), 0);
  const val = place(env, new Uint8Array([9, 8, 7, 6, 5, 4]));
  assert.equal(m.updateElem(k, val, BPF_ANY), 0);
  assert.equal(hexOf(m.lookup(u32(7))), "090807060504");
  assert.equal(m.updateElem(place(env, u32(10)), val, BPF_ANY), -E2BIG);
  assert.equal(m.updateElem(k, val, BPF_NOEXIST), -EEXIST);
  assert.equal(m.deleteElem(k), -EINVAL);
  // Programs write through the returned pointer; user space sees it.
  env.space.u8[m.lookupElem(k)] = 0xff;
  assert.equal(m.lookup(u32(7))![0], 0xff);
  // The header region describes the map.
  assert.equal(env.space.view.getUint32(m.address + 24, true), m.valueBase);
  // bpf_for_each_map_elem: key pointer, value pointer, stop on non-zero.
  const seen: number[] = [];
  const n = m.forEachElem((ka, va) => {
    seen.push(env.space.view.getUint32(ka, true));
    assert.equal(va, m.valueAddress(seen.at(-1)!));
    return seen.length === 4 ? 1 : 0;
  }, 0);
  assert.equal(n, 4);
  assert.deepEqual(seen, [0, 1, 2, 3]);
  assert.equal(m.forEachElem(() => 0, 1), -EINVAL);
});

test("array: global data (single element) and BPF_F_RDONLY_PROG", () => {
  const env = makeEnv(1);
  const ro = mk<ArrayMap>(env, spec("BPF_MAP_TYPE_ARRAY", 4, 20, 1, BPF_F_RDONLY_PROG));
  assert.equal(ro.directValueAddr(8), ro.valueBase + 8);
  assert.equal(ro.directValueAddr(20), -EINVAL);
  assert.equal(env.space.find(ro.valueBase, 4)!.writable, false); // programs cannot store
  ro.update(u32(0), new Uint8Array(20).fill(3)); // user space can, until frozen
  ro.freeze();
  assert.equal(errno(() => ro.update(u32(0), new Uint8Array(20))), EPERM);
  assert.equal(errno(() => ro.freeze()), EBUSY);
  assert.equal(ro.lookup(u32(0))![19], 3);
  const multi = mk<ArrayMap>(env, spec("BPF_MAP_TYPE_ARRAY", 4, 4, 2));
  assert.equal(multi.directValueAddr(0), -ENOTSUPP);
});

test("array: BPF_F_RDONLY / BPF_F_WRONLY are syscall-side permissions", () => {
  const env = makeEnv(1);
  const r = mk<ArrayMap>(env, spec("BPF_MAP_TYPE_ARRAY", 4, 4, 2, BPF_F_RDONLY));
  assert.equal(errno(() => r.update(u32(0), u32(1))), EPERM);
  assert.ok(r.lookup(u32(0)));
  const w = mk<ArrayMap>(env, spec("BPF_MAP_TYPE_ARRAY", 4, 4, 2, BPF_F_WRONLY));
  assert.equal(errno(() => w.lookup(u32(0))), EPERM);
  assert.equal(errno(() => w.nextKey(undefined)), EPERM);
  w.update(u32(0), u32(1));
  // Programs are not concerned.
  assert.notEqual(w.lookupElem(place(env, u32(0))), 0);
});

test("array: bpf_spin_lock word is kept by updates and reads as zero", () => {
  const env = makeEnv(1);
  const m = mk<ArrayMap>(env, spec("BPF_MAP_TYPE_ARRAY", 4, 12, 2, 0, { spinLockOffset: 4 }));
  const addr = m.valueAddress(1);
  env.space.view.setUint32(addr + 4, 1, true); // a held lock
  m.update(u32(1), new Uint8Array(12).fill(0xaa), BPF_F_LOCK);
  assert.equal(env.space.view.getUint32(addr + 4, true), 1);
  assert.equal(hexOf(m.lookup(u32(1), BPF_F_LOCK)), "aaaaaaaa00000000aaaaaaaa");
  assert.equal(hexOf(m.lookup(u32(1))), "aaaaaaaa00000000aaaaaaaa");
});

test("percpu array: user value = numCpus x round_up(value_size, 8), programs see their CPU", () => {
  const env = makeEnv(3);
  const m = mk<ArrayMap>(env, spec("BPF_MAP_TYPE_PERCPU_ARRAY", 4, 4, 4));
  assert.equal(m.userValueSize, 24);
  assert.equal(m.cpuStride, 8);
  assert.equal(m.valueStride, 24);
  m.update(u32(1), m.joinPerCpu([u32(10), u32(11), u32(12)]));
  assert.deepEqual(m.lookupPerCpu(u32(1))!.map((b) => readU32(b)), [10, 11, 12]);
  const k = place(env, u32(1));
  for (let cpu = 0; cpu < 3; cpu++) {
    env.cpu = cpu;
    assert.equal(env.space.view.getUint32(m.lookupElem(k), true), 10 + cpu);
    assert.equal(m.lookupPercpuElem(k, cpu), m.valueAddress(1, cpu));
  }
  assert.equal(m.lookupPercpuElem(k, 3), 0);
  // A program's update writes only its CPU's copy.
  env.cpu = 2;
  assert.equal(m.updateElem(k, place(env, u32(99)), BPF_ANY), 0);
  assert.deepEqual(m.lookupPerCpu(u32(1))!.map((b) => readU32(b)), [10, 11, 99]);
  assert.equal(errno(() => m.update(u32(0), new Uint8Array(24), BPF_F_LOCK)), EINVAL);
  assert.equal(errno(() => m.update(u32(0), new Uint8Array(24), BPF_NOEXIST)), EEXIST);
  assert.equal(errno(() => m.update(u32(4), new Uint8Array(24))), E2BIG);
  assert.equal(errno(() => m.update(u32(0), new Uint8Array(8))), 14); // EFAULT: short user buffer
});

test("array: batch lookup walks keys with an in/out cursor and ends with ENOENT; update batch", () => {
  const env = makeEnv(1);
  const m = mk<ArrayMap>(env, spec("BPF_MAP_TYPE_ARRAY", 4, 8, 5));
  assert.equal(m.updateBatch([u32(0), u32(1), u32(2), u32(3), u32(4)], [0, 1, 2, 3, 4].map((i) => u64(i * 100))), 5);
  const a = m.lookupBatch({ count: 3 });
  assert.deepEqual(a.keys.map((k) => readU32(k)), [0, 1, 2]);
  assert.equal(a.done, false);
  assert.equal(readU32(a.outBatch!), 2);
  const b = m.lookupBatch({ count: 3, inBatch: a.outBatch });
  assert.deepEqual(b.keys.map((k) => readU32(k)), [3, 4]);
  assert.deepEqual(b.values.map((v) => Number(new DataView(v.buffer).getBigUint64(0, true))), [300, 400]);
  assert.equal(b.done, true);
  const c = m.lookupBatch({ count: 0 });
  assert.equal(c.keys.length, 0);
  assert.equal(errno(() => m.deleteBatch([u32(0)])), ENOTSUPP);
  assert.equal(errno(() => m.lookupAndDeleteBatch({ count: 1 })), ENOTSUPP);
  try {
    m.updateBatch([u32(0), u32(9)], [u64(1), u64(2)]);
    assert.fail();
  } catch (e) {
    assert.ok(e instanceof MapError);
    assert.equal(e.errno, E2BIG);
    assert.equal((e as unknown as { count: number }).count, 1);
  }
  void ENOENT;
});
