// PERF_EVENT_ARRAY: per-CPU perf buffers, the kernel's record format, output errors,
// lost records, consumers.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BPF_F_CURRENT_CPU,
  E2BIG,
  EBADF,
  EINVAL,
  ENOENT,
  ENOSPC,
  ENOTSUPP,
  EOPNOTSUPP,
  MapError,
  PERF_RECORD_SAMPLE,
  type PerfEventArrayMap,
  type PerfRecord,
} from "../../src/maps/index.js";
import { makeEnv, mk, place, spec, u32 } from "./env.js";

function errno(f: () => unknown): number {
  try {
    f();
    return 0;
  } catch (e) {
    if (e instanceof MapError) return e.errno;
    throw e;
  }
}

test("bpf_perf_event_output: index selection and errors", () => {
  const env = makeEnv(2);
  const m = mk<PerfEventArrayMap>(env, spec("BPF_MAP_TYPE_PERF_EVENT_ARRAY", 4, 4, 2));
  const data = place(env, Buffer.from("abcde"));
  assert.equal(m.output(BPF_F_CURRENT_CPU, data, 5), -ENOENT); // nothing open yet
  const reader = m.reader({ pages: 1 });
  env.cpu = 1;
  assert.equal(m.output(BPF_F_CURRENT_CPU, data, 5), 0);
  assert.equal(m.output(1, data, 3), 0);
  assert.equal(m.output(0, data, 3), -EOPNOTSUPP); // the event at index 0 is on CPU 0
  assert.equal(m.output(2, data, 3), -E2BIG);
  assert.equal(m.output(1n << 40n, data, 3), -EINVAL);
  const recs: PerfRecord[] = [];
  reader.poll((r) => recs.push(r));
  assert.equal(recs.length, 2);
  // Raw data is padded so that the u32 size and the data fill whole u64s.
  assert.deepEqual(recs[0], { type: "sample", cpu: 1, data: Uint8Array.from([...Buffer.from("abcde"), 0, 0, 0, 0, 0, 0, 0]) });
  assert.equal((recs[1] as { data: Uint8Array }).data.length, 4);
  // The skb/xdp variants append ctx bytes.
  assert.equal(m.output(BPF_F_CURRENT_CPU, data, 2, undefined, Uint8Array.from([9, 9])), 0);
  assert.deepEqual(reader.read(), { type: "sample", cpu: 1, data: Uint8Array.from([97, 98, 9, 9]) });
  reader.close();
});

test("perf ring: PERF_RECORD_SAMPLE layout in the address space, full ring, PERF_RECORD_LOST", () => {
  const env = makeEnv(1);
  const m = mk<PerfEventArrayMap>(env, spec("BPF_MAP_TYPE_PERF_EVENT_ARRAY", 4, 4, 1));
  const buf = m.openBuffer({ cpu: 0, pages: 1 });
  const region = env.space.regions.find((r) => r.name === "perf buffer cpu0")!;
  const data = place(env, new Uint8Array(1000).fill(7));
  assert.equal(m.output(0, data, 10), 0);
  const v = env.space.view;
  const base = region.start + 4096;
  assert.equal(v.getUint32(base, true), PERF_RECORD_SAMPLE);
  assert.equal(v.getUint16(base + 6, true), 8 + 4 + 12);
  assert.equal(v.getUint32(base + 8, true), 12);
  assert.equal(v.getBigUint64(region.start + 1024, true), 24n); // data_head
  assert.equal(v.getBigUint64(region.start + 1048, true), 4096n); // data_size
  let ok = 0;
  while (m.output(0, data, 1000) === 0) ok++;
  assert.equal(ok, 4);
  assert.equal(m.output(0, data, 1000), -ENOSPC);
  assert.equal(buf.lostTotal, 2);
  const types: string[] = [];
  for (let r = buf.read(); r !== undefined; r = buf.read()) types.push(r.type);
  assert.deepEqual(types, ["sample", "sample", "sample", "sample", "sample"]);
  // Space is back: the lost count comes first, then the sample; records wrap the ring.
  for (let i = 0; i < 6; i++) assert.equal(m.output(0, data, 500), 0);
  assert.deepEqual(buf.read(), { type: "lost", cpu: 0, lost: 2 });
  let n = 0;
  for (let r = buf.read(); r !== undefined; r = buf.read()) {
    assert.equal(r.type, "sample");
    if (r.type === "sample") assert.ok(r.data.subarray(0, 500).every((b) => b === 7));
    n++;
  }
  assert.equal(n, 6);
});

test("perf event array through bpf(2): ids for fds, no lookups, array-style keys", () => {
  const env = makeEnv(2);
  const m = mk<PerfEventArrayMap>(env, spec("BPF_MAP_TYPE_PERF_EVENT_ARRAY", 4, 4, 4));
  const b = m.openBuffer({ cpu: 1, index: 3, pages: 1 });
  assert.equal(m.bufferAt(3), b);
  assert.equal(errno(() => m.lookup(u32(3))), ENOTSUPP);
  assert.equal(errno(() => m.update(u32(0), u32(b.id), 1)), EINVAL);
  assert.equal(errno(() => m.update(u32(4), u32(b.id))), E2BIG);
  assert.equal(errno(() => m.update(u32(0), u32(987654))), EBADF);
  m.update(u32(0), u32(b.id));
  m.delete(u32(0));
  assert.equal(errno(() => m.delete(u32(0))), ENOENT);
  assert.equal(errno(() => m.delete(u32(4))), E2BIG);
  assert.equal([...m.keys()].length, 4);
});

test("perf reader: async iteration across CPUs", async () => {
  const env = makeEnv(2);
  const m = mk<PerfEventArrayMap>(env, spec("BPF_MAP_TYPE_PERF_EVENT_ARRAY", 4, 4, 2));
  const reader = m.reader();
  const data = place(env, u32(0xabcd));
  const got: number[] = [];
  const consumer = (async () => {
    for await (const r of reader.records({ signal: AbortSignal.timeout(5000) })) {
      if (r.type === "sample") got.push(r.cpu);
      if (got.length === 4) break;
    }
  })();
  for (const cpu of [0, 1, 1, 0]) {
    await new Promise((r) => setTimeout(r, 1));
    env.cpu = cpu;
    m.output(BPF_F_CURRENT_CPU, data, 4);
  }
  await consumer;
  assert.deepEqual(got, [0, 1, 1, 0]);
  reader.close();
});
