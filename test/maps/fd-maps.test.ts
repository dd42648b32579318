// Maps whose values are other objects: PROG_ARRAY, ARRAY_OF_MAPS, HASH_OF_MAPS, DEVMAP,
// DEVMAP_HASH, CPUMAP; finding maps by address and id.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BPF_ANY,
  BPF_EXIST,
  BPF_F_INNER_MAP,
  BPF_NOEXIST,
  E2BIG,
  EBADF,
  EEXIST,
  EINVAL,
  ENODEV,
  ENOENT,
  ENOMEM,
  EOVERFLOW,
  MapError,
  createMap,
  mapFromAddress,
  mapFromId,
  type ArrayMap,
  type ArrayOfMapsMap,
  type CpuMap,
  type DevMap,
  type DevMapHash,
  type HashMap,
  type ProgArrayMap,
  type ProgramRef,
} from "../../src/maps/index.js";
import { makeEnv, mk, place, readU32, spec, u32, u64 } from "./env.js";

function errno(f: () => unknown): number {
  try {
    f();
    return 0;
  } catch (e) {
    if (e instanceof MapError) return e.errno;
    throw e;
  }
}

const progs = new Map<number, ProgramRef>([
  [10, { id: 10, type: "BPF_PROG_TYPE_XDP" }],
  [11, { id: 11, type: "BPF_PROG_TYPE_XDP" }],
  [12, { id: 12, type: "BPF_PROG_TYPE_SCHED_CLS" }],
  [20, { id: 20, type: "BPF_PROG_TYPE_XDP", expectedAttachType: "BPF_XDP_DEVMAP" }],
  [21, { id: 21, type: "BPF_PROG_TYPE_XDP", expectedAttachType: "BPF_XDP_CPUMAP" }],
]);
const links = { program: (id: number) => progs.get(id) };

test("prog array: program ids in, ids out, one program type, tail-call lookups", () => {
  const env = makeEnv(1);
  const m = mk<ProgArrayMap>(env, spec("BPF_MAP_TYPE_PROG_ARRAY", 4, 4, 4), { links });
  assert.equal(m.lookup(u32(0)), undefined);
  m.update(u32(0), u32(10));
  m.update(u32(2), u32(11));
  assert.equal(m.ownerType, "BPF_PROG_TYPE_XDP");
  assert.equal(errno(() => m.update(u32(1), u32(12))), EINVAL); // another program type
  assert.equal(errno(() => m.update(u32(1), u32(99))), EBADF);
  assert.equal(errno(() => m.update(u32(1), u32(10), BPF_NOEXIST)), EINVAL);
  assert.equal(errno(() => m.update(u32(4), u32(10))), E2BIG);
  assert.equal(readU32(m.lookup(u32(2))!), 11);
  assert.equal(m.lookup(u32(9)), undefined);
  assert.equal(m.getProgramId(0), 10);
  assert.equal(m.getProgramId(1), undefined);
  assert.equal(m.getProgramId(99), undefined);
  m.delete(u32(2));
  assert.equal(errno(() => m.delete(u32(2))), ENOENT);
  assert.equal(errno(() => m.delete(u32(4))), E2BIG);
  assert.deepEqual([...m.keys()].map((k) => readU32(k)), [0, 1, 2, 3]);
  assert.equal(m.lookupElem(place(env, u32(0))), 0); // programs cannot read a prog array
  assert.equal(m.setProgram(3, progs.get(12)), -EINVAL);
  assert.equal(m.setProgram(3, progs.get(11)), 0);
});

test("array of maps: template check, inner map address for programs, ids for user space, lifetime", () => {
  const env = makeEnv(1);
  const tmpl = spec("BPF_MAP_TYPE_ARRAY", 4, 8, 2);
  const outer = mk<ArrayOfMapsMap>(env, spec("BPF_MAP_TYPE_ARRAY_OF_MAPS", 4, 4, 3, 0, { innerMap: tmpl }));
  const a = mk<ArrayMap>(env, tmpl);
  const wrongSize = mk<ArrayMap>(env, spec("BPF_MAP_TYPE_ARRAY", 4, 8, 3));
  const wrongType = mk<HashMap>(env, spec("BPF_MAP_TYPE_HASH", 4, 8, 2));
  outer.update(u32(0), u32(a.id));
  assert.equal(errno(() => outer.update(u32(1), u32(wrongSize.id))), EINVAL);
  assert.equal(errno(() => outer.update(u32(1), u32(wrongType.id))), EINVAL);
  assert.equal(errno(() => outer.update(u32(1), u32(424242))), EBADF);
  assert.equal(errno(() => outer.update(u32(1), u32(a.id), BPF_EXIST)), EINVAL);
  assert.equal(readU32(outer.lookup(u32(0))!), a.id);
  const k0 = place(env, u32(0));
  assert.equal(outer.lookupElem(k0), a.address);
  assert.equal(outer.lookupElem(place(env, u32(1))), 0);
  assert.equal(env.space.view.getUint32(outer.valueBase, true), a.address);
  // The helper layer finds the inner map from the pointer the program holds.
  assert.equal(mapFromAddress(env.space, outer.lookupElem(k0)), a);
  assert.equal(mapFromId(env.space, a.id), a);
  // The outer map keeps the inner one alive after the user closes it.
  a.update(u32(1), u64(77));
  a.close();
  assert.equal(a.closed, true);
  assert.notEqual(env.space.find(a.address, 1), undefined);
  outer.delete(u32(0));
  assert.equal(env.space.find(a.address, 1), undefined);
  assert.equal(mapFromId(env.space, a.id), undefined);
  // BPF_F_INNER_MAP templates accept any max_entries.
  const dyn = mk<ArrayOfMapsMap>(env, spec("BPF_MAP_TYPE_ARRAY_OF_MAPS", 4, 4, 1, 0, { innerMap: spec("BPF_MAP_TYPE_ARRAY", 4, 8, 2, BPF_F_INNER_MAP) }));
  const big = mk<ArrayMap>(env, spec("BPF_MAP_TYPE_ARRAY", 4, 8, 100, BPF_F_INNER_MAP));
  dyn.update(u32(0), u32(big.id));
  assert.equal(dyn.innerMap(0), big);
});

test("hash of maps: inner map address from a program lookup; ids from bpf(2)", () => {
  const env = makeEnv(1);
  const tmpl = spec("BPF_MAP_TYPE_HASH", 4, 4, 8);
  const outer = mk<HashMap>(env, spec("BPF_MAP_TYPE_HASH_OF_MAPS", 8, 4, 4, 0, { innerMap: tmpl }));
  const i1 = mk<HashMap>(env, tmpl);
  const i2 = mk<HashMap>(env, tmpl);
  outer.update(u64(1), u32(i1.id), BPF_NOEXIST);
  outer.update(u64(2), u32(i1.id));
  assert.equal(errno(() => outer.update(u64(1), u32(i2.id), BPF_NOEXIST)), EEXIST);
  outer.update(u64(1), u32(i2.id));
  assert.equal(readU32(outer.lookup(u64(1))!), i2.id);
  assert.equal(outer.lookupElem(place(env, u64(2))), i1.address);
  assert.equal(outer.lookupElem(place(env, u64(3))), 0);
  assert.equal(outer.updateElem(place(env, u64(3)), place(env, u32(i1.id)), BPF_ANY), -EINVAL);
  i1.close();
  assert.notEqual(env.space.find(i1.address, 1), undefined, "still held by key 2");
  const batch = outer.lookupBatch({ count: 8 });
  assert.deepEqual(new Set(batch.values.map((v) => readU32(v))), new Set([i1.id, i2.id]));
  outer.delete(u64(2));
  assert.equal(env.space.find(i1.address, 1), undefined);
  outer.close();
  assert.notEqual(env.space.find(i2.address, 1), undefined, "i2 is still open");
  i2.close();
  assert.equal(env.space.find(i2.address, 1), undefined);
});

test("devmap: ifindex values, egress programs, delete rules, read-only values for programs", () => {
  const env = makeEnv(1);
  const devices = new Set([1, 2, 7]);
  const m = mk<DevMap>(env, spec("BPF_MAP_TYPE_DEVMAP", 4, 8, 4), { links: { ...links, device: (i: number) => devices.has(i) } });
  const val = (ifindex: number, prog: number): Uint8Array => Uint8Array.from([...u32(ifindex), ...u32(prog)]);
  m.update(u32(0), val(7, 0));
  m.update(u32(1), val(2, 20));
  assert.equal(errno(() => m.update(u32(2), val(3, 0))), EINVAL); // no such device
  assert.equal(errno(() => m.update(u32(2), val(2, 10))), EINVAL); // not a devmap program
  assert.equal(errno(() => m.update(u32(2), val(0, 20))), EINVAL); // program without device
  assert.equal(errno(() => m.update(u32(2), val(2, 0), BPF_NOEXIST)), EEXIST);
  assert.equal(errno(() => m.update(u32(4), val(2, 0))), E2BIG);
  assert.equal(errno(() => m.update(u32(2), val(2, 0), 3)), EINVAL);
  assert.deepEqual(m.lookupDevice(1), { key: 1, ifindex: 2, progId: 20 });
  assert.deepEqual(m.devices().map((d) => d.key), [0, 1]);
  const va = m.lookupElem(place(env, u32(1)));
  assert.equal(env.space.view.getUint32(va, true), 2);
  assert.equal(env.space.find(va, 8)!.writable, false);
  m.update(u32(1), val(0, 0)); // ifindex 0 empties
  assert.equal(m.lookup(u32(1)), undefined);
  assert.equal(errno(() => m.delete(u32(3))), 0);
  assert.equal(errno(() => m.delete(u32(4))), EINVAL);
});

test("devmap hash: any u32 key, E2BIG when full, bucket order", () => {
  const env = makeEnv(1);
  const m = mk<DevMapHash>(env, spec("BPF_MAP_TYPE_DEVMAP_HASH", 4, 4, 2));
  m.update(u32(1000), u32(5));
  m.update(u32(3), u32(6));
  assert.equal(errno(() => m.update(u32(4), u32(6))), E2BIG);
  assert.equal(errno(() => m.update(u32(3), u32(6), BPF_NOEXIST)), EEXIST);
  m.update(u32(3), u32(9), BPF_EXIST);
  assert.equal(errno(() => m.update(u32(5), u32(0))), EINVAL);
  assert.deepEqual(m.lookupDevice(3), { key: 3, ifindex: 9, progId: 0 });
  assert.deepEqual([...m.keys()].map((k) => readU32(k)), [1000, 3]); // buckets 0 and 1
  assert.equal(readU32(m.nextKey(u32(77))!), 1000);
  m.delete(u32(1000));
  assert.equal(errno(() => m.delete(u32(1000))), ENOENT);
  assert.equal(env.space.view.getUint32(m.lookupElem(place(env, u32(3))), true), 9);
});

test("cpumap: qsize and CPU checks", () => {
  const env = makeEnv(2);
  const m = mk<CpuMap>(env, spec("BPF_MAP_TYPE_CPUMAP", 4, 8, 4), { links });
  const val = (q: number, prog: number): Uint8Array => Uint8Array.from([...u32(q), ...u32(prog)]);
  m.update(u32(1), val(192, 0));
  m.update(u32(0), val(64, 21));
  assert.deepEqual(m.lookupCpu(0), { cpu: 0, qsize: 64, progId: 21 });
  assert.equal(errno(() => m.update(u32(0), val(64, 20))), ENOMEM); // not a cpumap program
  assert.equal(errno(() => m.update(u32(3), val(64, 0))), ENODEV); // no CPU 3
  assert.equal(errno(() => m.update(u32(4), val(64, 0))), E2BIG);
  assert.equal(errno(() => m.update(u32(1), val(16385, 0))), EOVERFLOW);
  assert.equal(errno(() => m.update(u32(1), val(1, 0), BPF_NOEXIST)), EEXIST);
  m.update(u32(1), val(0, 0));
  assert.equal(m.lookupCpu(1), undefined);
  assert.equal(errno(() => m.delete(u32(4))), EINVAL);
  m.delete(u32(0));
  assert.equal(m.lookup(u32(0)), undefined);
});

test("registry: every map has a distinct id and CONST_PTR_TO_MAP address", () => {
  const env = makeEnv(1);
  const maps = [spec("BPF_MAP_TYPE_ARRAY", 4, 4, 1), spec("BPF_MAP_TYPE_HASH", 4, 4, 1), spec("BPF_MAP_TYPE_RINGBUF", 0, 0, 4096)].map((s) => createMap(s, env));
  assert.equal(new Set(maps.map((m) => m.id)).size, 3);
  assert.equal(new Set(maps.map((m) => m.address)).size, 3);
  for (const m of maps) {
    assert.equal(mapFromAddress(env.space, m.address), m);
    m.close();
    assert.equal(mapFromAddress(env.space, m.address), undefined);
  }
});
