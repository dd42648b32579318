// Differential tests: the same bpf(2) operations on tsbpf maps and on the running
// kernel's maps (through bpftool), comparing errno, values, get_next_key order and,
// for LRU maps, which elements survive eviction. Skips itself without root/bpftool.
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import {
  BPF_F_NO_COMMON_LRU,
  BPF_F_NO_PREALLOC,
  BPF_F_RDONLY,
  BPF_F_ZERO_SEED,
  createMap,
  ipv4LpmKey,
  lpmKey,
  MapError,
  errnoName,
  strerror as errnoMessage,
  type BpfMap,
  type MapSpec,
  type MapTypeName,
} from "../../src/maps/index.js";
import { makeEnv, u32, u64 } from "./env.js";
import { cleanPins, KernelMap, kernelUnavailable, runOurs, type Op } from "./kernel.js";

const why = kernelUnavailable();
const ktest = (name: string, fn: () => void): void => {
  test(`kernel: ${name}`, why === undefined ? fn : (t) => t.skip(`kernel oracle unavailable: ${why}`));
};

before(() => {
  if (why === undefined) cleanPins();
});
after(() => {
  if (why === undefined) cleanPins();
});

/** Network devices of this machine (ifindex), for DEVMAP checks. */
function ifindexes(): Set<number> {
  const s = new Set<number>();
  try {
    for (const d of readdirSync("/sys/class/net")) s.add(Number(readFileSync(`/sys/class/net/${d}/ifindex`, "utf8")));
  } catch {
    // not Linux
  }
  return s;
}

function compare(spec: MapSpec, ops: Op[], opts: { links?: Parameters<typeof createMap>[2] } = {}): void {
  const k = new KernelMap(spec);
  try {
    assert.equal(k.createError, undefined, `kernel refused ${spec.type}: ${k.createError}`);
    const m = createMap(spec, makeEnv(2), opts.links ?? {});
    try {
      ops.forEach((op, i) => {
        const want = k.run(op);
        const got = runOurs(m, op);
        assert.equal(got, want, `op ${i} ${op.op} on ${spec.type}`);
      });
    } finally {
      m.close();
    }
  } finally {
    k.close();
  }
}

const S = (type: MapTypeName, keySize: number, valueSize: number, maxEntries: number, flags = 0): MapSpec => ({ name: "tsbpf_diff", type, keySize, valueSize, maxEntries, flags });

ktest("map creation errno matches BPF_MAP_CREATE", () => {
  const specs: MapSpec[] = [
    S("BPF_MAP_TYPE_HASH", 4, 8, 4),
    S("BPF_MAP_TYPE_HASH", 0, 8, 4),
    S("BPF_MAP_TYPE_HASH", 4, 8, 0),
    S("BPF_MAP_TYPE_HASH", 4, 8, 4, BPF_F_NO_COMMON_LRU),
    S("BPF_MAP_TYPE_LRU_HASH", 4, 8, 4, BPF_F_NO_PREALLOC),
    S("BPF_MAP_TYPE_ARRAY", 8, 8, 4),
    S("BPF_MAP_TYPE_ARRAY", 4, 8, 4, BPF_F_NO_PREALLOC),
    S("BPF_MAP_TYPE_PERCPU_ARRAY", 4, 40000, 4),
    S("BPF_MAP_TYPE_PROG_ARRAY", 4, 8, 4),
    S("BPF_MAP_TYPE_LPM_TRIE", 8, 4, 4),
    S("BPF_MAP_TYPE_LPM_TRIE", 8, 4, 4, BPF_F_NO_PREALLOC),
    S("BPF_MAP_TYPE_LPM_TRIE", 261, 4, 4, BPF_F_NO_PREALLOC),
    S("BPF_MAP_TYPE_QUEUE", 4, 4, 4),
    S("BPF_MAP_TYPE_STACK", 0, 4, 4),
    S("BPF_MAP_TYPE_RINGBUF", 0, 0, 4096),
    S("BPF_MAP_TYPE_RINGBUF", 0, 0, 12288),
    S("BPF_MAP_TYPE_RINGBUF", 0, 0, 4096, BPF_F_RDONLY),
    S("BPF_MAP_TYPE_DEVMAP", 4, 12, 4),
    S("BPF_MAP_TYPE_DEVMAP_HASH", 4, 8, 4),
    S("BPF_MAP_TYPE_CPUMAP", 4, 4, 4),
    S("BPF_MAP_TYPE_CPUMAP", 4, 16, 4),
    S("BPF_MAP_TYPE_BLOOM_FILTER", 4, 4, 4),
    S("BPF_MAP_TYPE_BLOOM_FILTER", 0, 4, 4),
  ];
  // CONFIG_NR_CPUS bounds CPUMAP max_entries; sysfs tells it (kernel_max = NR_CPUS - 1).
  const nrCpus = Number(readFileSync("/sys/devices/system/cpu/kernel_max", "utf8")) + 1;
  specs.push(S("BPF_MAP_TYPE_CPUMAP", 4, 4, nrCpus), S("BPF_MAP_TYPE_CPUMAP", 4, 4, nrCpus + 1));
  for (const s of specs) {
    const k = new KernelMap(s);
    k.close();
    let ours = "ok";
    try {
      createMap(s, makeEnv(2), { nrCpus }).close();
    } catch (e) {
      assert.ok(e instanceof MapError);
      ours = errnoName(e.errno);
    }
    assert.equal(ours, k.createError ?? "ok", `${s.type} key ${s.keySize} value ${s.valueSize} entries ${s.maxEntries} flags ${s.flags}`);
  }
});

ktest("HASH with BPF_F_ZERO_SEED: errno and get_next_key order (jhash, bucket heads)", () => {
  for (const keySize of [4, 16, 6]) {
    const key = (x: number): Uint8Array => {
      const k = new Uint8Array(keySize);
      new DataView(k.buffer).setUint32(0, x * 2654435761, true);
      k[keySize - 1] ^= x & 0xff;
      return k;
    };
    const ops: Op[] = [];
    for (let x = 0; x < 20; x++) ops.push({ op: "update", key: key(x), value: u64(x), flags: x % 2 === 0 ? "noexist" : "any" });
    ops.push({ op: "update", key: key(99), value: u64(0) }, { op: "update", key: key(3), value: u64(0), flags: "noexist" });
    ops.push({ op: "update", key: key(100), value: u64(0), flags: "exist" }, { op: "keys" });
    ops.push({ op: "update", key: key(7), value: u64(70) }, { op: "keys" }, { op: "lookup", key: key(7) }, { op: "lookup", key: key(77) });
    ops.push({ op: "getnext" }, { op: "getnext", key: key(12345) }, { op: "getnext", key: key(0) });
    ops.push({ op: "delete", key: key(5) }, { op: "delete", key: key(5) }, { op: "keys" }, { op: "update", key: key(21), value: u64(1) }, { op: "keys" });
    compare(S("BPF_MAP_TYPE_HASH", keySize, 8, 20, BPF_F_ZERO_SEED), ops);
  }
});

ktest("PERCPU_HASH and PERCPU_ARRAY values", () => {
  const ops: Op[] = [];
  for (let x = 0; x < 6; x++) ops.push({ op: "update", key: u32(x), value: u32(x * 3) });
  ops.push({ op: "lookup", key: u32(2) }, { op: "lookup", key: u32(9) }, { op: "keys" }, { op: "update", key: u32(9), value: u32(1), flags: "exist" });
  compare(S("BPF_MAP_TYPE_PERCPU_HASH", 4, 4, 8, BPF_F_ZERO_SEED), ops);
  compare(S("BPF_MAP_TYPE_PERCPU_ARRAY", 4, 4, 8), ops);
});

ktest("ARRAY errno and iteration", () => {
  const ops: Op[] = [
    { op: "update", key: u32(1), value: u64(5) },
    { op: "update", key: u32(1), value: u64(6), flags: "noexist" },
    { op: "update", key: u32(1), value: u64(7), flags: "exist" },
    { op: "update", key: u32(4), value: u64(7) },
    { op: "lookup", key: u32(1) },
    { op: "lookup", key: u32(4) },
    { op: "delete", key: u32(1) },
    { op: "getnext" },
    { op: "getnext", key: u32(2) },
    { op: "getnext", key: u32(3) },
    { op: "getnext", key: u32(77) },
    { op: "keys" },
  ];
  compare(S("BPF_MAP_TYPE_ARRAY", 4, 8, 4), ops);
});

ktest("LRU eviction order: common and per-CPU lists, with ref bits from updates", () => {
  const cases: Array<[MapTypeName, number, number]> = [
    ["BPF_MAP_TYPE_LRU_HASH", 0, 8],
    ["BPF_MAP_TYPE_LRU_HASH", 0, 300],
    ["BPF_MAP_TYPE_LRU_HASH", BPF_F_NO_COMMON_LRU, 8],
    ["BPF_MAP_TYPE_LRU_HASH", BPF_F_NO_COMMON_LRU, 41],
    ["BPF_MAP_TYPE_LRU_PERCPU_HASH", 0, 16],
  ];
  for (const [type, flags, max] of cases) {
    const ops: Op[] = [];
    for (let x = 1; x <= max * 3; x++) {
      ops.push({ op: "update", key: u32(x), value: u64(x) });
      if (x % 3 === 0) ops.push({ op: "update", key: u32(x - 1), value: u64(x), flags: "exist" });
      if (x % 7 === 0) ops.push({ op: "update", key: u32(x - 2), value: u64(x), flags: "noexist" });
      if (x % 11 === 0) ops.push({ op: "delete", key: u32(x - 3) });
      if (max < 50 || x % 60 === 0) ops.push({ op: "keys" });
    }
    compare(S(type, 4, 8, max, flags | BPF_F_ZERO_SEED), ops);
  }
});

ktest("LRU eviction with updates from both CPUs (local lists, stealing)", () => {
  for (const [type, flags, max] of [
    ["BPF_MAP_TYPE_LRU_HASH", 0, 8],
    ["BPF_MAP_TYPE_LRU_HASH", 0, 64],
    ["BPF_MAP_TYPE_LRU_HASH", BPF_F_NO_COMMON_LRU, 10],
  ] as Array<[MapTypeName, number, number]>) {
    const ops: Op[] = [];
    let r = 12345;
    const rnd = (n: number): number => {
      r = (r * 1103515245 + 12345) & 0x7fffffff;
      return r % n;
    };
    for (let i = 0; i < max * 4; i++) {
      const cpu = rnd(4) === 0 ? 1 : 0;
      const key = u32(rnd(max * 2));
      const kind = rnd(10);
      if (kind < 6) ops.push({ op: "update", key, value: u64(i), cpu });
      else if (kind < 8) ops.push({ op: "update", key, value: u64(i), flags: "exist", cpu });
      else if (kind < 9) ops.push({ op: "delete", key, cpu });
      else ops.push({ op: "update", key, value: u64(i), flags: "noexist", cpu });
      if (i % 4 === 3) ops.push({ op: "keys" });
    }
    compare(S(type, 4, 8, max, flags | BPF_F_ZERO_SEED), ops);
  }
});

ktest("LPM trie: lpm_deny.txt prefixes, longest match, postorder get_next_key, full trie", () => {
  const deny = readFileSync(new URL("../../../shared/bench/lpm_deny.txt", import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => l.trim().split(/\s+/) as [string, string]);
  assert.equal(deny.length, 8);
  const ops: Op[] = deny.map(([c, id]) => ({ op: "update", key: ipv4LpmKey(c), value: u32(Number(id)), flags: "noexist" }));
  ops.push({ op: "keys" });
  for (const a of ["192.168.1.10", "10.1.2.3", "10.1.3.3", "10.2.0.1", "203.0.113.7", "203.0.113.8", "172.31.255.255", "172.32.0.0", "8.8.8.8"]) {
    ops.push({ op: "lookup", key: ipv4LpmKey(`${a}/32`) });
  }
  ops.push({ op: "lookup", key: ipv4LpmKey("10.1.2.3/20") }, { op: "lookup", key: lpmKey(33, [10, 1, 2, 3]) });
  ops.push({ op: "update", key: ipv4LpmKey("10.1.0.0/16"), value: u32(9), flags: "noexist" });
  ops.push({ op: "update", key: ipv4LpmKey("10.1.0.0/17"), value: u32(9), flags: "exist" });
  ops.push({ op: "update", key: lpmKey(33, [1, 2, 3, 4]), value: u32(9) });
  for (const c of ["10.1.2.0/24", "10.1.2.0/25", "203.0.113.7/32", "10.0.0.0/8", "192.168.2.0/24"]) ops.push({ op: "getnext", key: ipv4LpmKey(c) });
  ops.push({ op: "getnext", key: lpmKey(40, [1, 2, 3, 4]) });
  ops.push({ op: "delete", key: ipv4LpmKey("10.1.0.0/16") }, { op: "keys" }, { op: "delete", key: ipv4LpmKey("10.1.0.0/16") });
  ops.push({ op: "delete", key: lpmKey(33, [1, 2, 3, 4]) });
  for (let i = 0; i < 6; i++) ops.push({ op: "update", key: ipv4LpmKey(`1.${i * 32}.0.0/${11 + i}`), value: u32(i) }, { op: "keys" });
  ops.push({ op: "update", key: ipv4LpmKey("10.1.2.0/24"), value: u32(99) }, { op: "lookup", key: ipv4LpmKey("10.1.2.9/32") });
  for (const c of ["1.0.0.0/11", "10.0.0.0/8", "172.16.0.0/12"]) ops.push({ op: "delete", key: ipv4LpmKey(c) }, { op: "keys" });
  compare(S("BPF_MAP_TYPE_LPM_TRIE", 8, 4, 12, BPF_F_NO_PREALLOC), ops);
});

ktest("QUEUE and STACK: order, full, empty", () => {
  for (const type of ["BPF_MAP_TYPE_QUEUE", "BPF_MAP_TYPE_STACK"] as const) {
    const ops: Op[] = [{ op: "pop" }, { op: "peek" }];
    for (let i = 1; i <= 5; i++) ops.push({ op: "push", value: u32(i) });
    ops.push({ op: "peek" }, { op: "pop" }, { op: "pop" }, { op: "push", value: u32(6) }, { op: "push", value: u32(7) });
    for (let i = 0; i < 6; i++) ops.push({ op: "pop" });
    ops.push({ op: "lookup", key: new Uint8Array(0) }, { op: "getnext" });
    compare(S(type, 0, 4, 4), ops);
  }
});

ktest("DEVMAP, DEVMAP_HASH and CPUMAP update rules", () => {
  const devs = ifindexes();
  const links = { device: (i: number) => devs.has(i) };
  const lo = [...devs].sort((a, b) => a - b)[0] ?? 1;
  const val8 = (a: number, b: number): Uint8Array => new Uint8Array([...u32(a), ...u32(b)]);
  const dev: Op[] = [
    { op: "update", key: u32(0), value: val8(lo, 0) },
    { op: "update", key: u32(1), value: val8(999999, 0) },
    { op: "update", key: u32(4), value: val8(lo, 0) },
    { op: "update", key: u32(2), value: val8(lo, 0), flags: "noexist" },
    { op: "update", key: u32(3), value: val8(0, 0) },
    { op: "lookup", key: u32(0) },
    { op: "lookup", key: u32(1) },
    { op: "lookup", key: u32(9) },
    { op: "delete", key: u32(1) },
    { op: "delete", key: u32(9) },
    { op: "getnext", key: u32(1) },
    { op: "keys" },
  ];
  compare(S("BPF_MAP_TYPE_DEVMAP", 4, 8, 4), dev, { links: { links } });
  const devh: Op[] = [
    { op: "update", key: u32(100), value: val8(lo, 0) },
    { op: "update", key: u32(7), value: val8(lo, 0) },
    { op: "update", key: u32(100), value: val8(lo, 0), flags: "noexist" },
    { op: "update", key: u32(5), value: val8(0, 0) },
    { op: "update", key: u32(6), value: val8(999999, 0) },
    { op: "update", key: u32(8), value: val8(lo, 0) },
    { op: "update", key: u32(9), value: val8(lo, 0) },
    { op: "update", key: u32(10), value: val8(lo, 0) },
    { op: "update", key: u32(7), value: val8(lo, 0), flags: "exist" },
    { op: "keys" },
    { op: "delete", key: u32(55) },
    { op: "delete", key: u32(7) },
    { op: "getnext", key: u32(55) },
    { op: "keys" },
  ];
  compare(S("BPF_MAP_TYPE_DEVMAP_HASH", 4, 8, 4), devh, { links: { links } });
  const cpu: Op[] = [
    { op: "update", key: u32(0), value: val8(192, 0) },
    { op: "update", key: u32(1), value: val8(20000, 0) },
    { op: "update", key: u32(7), value: val8(192, 0) },
    { op: "update", key: u32(3), value: val8(192, 0) },
    { op: "update", key: u32(0), value: val8(192, 0), flags: "noexist" },
    { op: "lookup", key: u32(0) },
    { op: "lookup", key: u32(1) },
    { op: "update", key: u32(0), value: val8(0, 0) },
    { op: "lookup", key: u32(0) },
    { op: "delete", key: u32(1) },
    { op: "delete", key: u32(8) },
    { op: "keys" },
  ];
  compare(S("BPF_MAP_TYPE_CPUMAP", 4, 8, 8), cpu);
});

ktest("RINGBUF rejects element operations with ENOTSUPP", () => {
  compare(S("BPF_MAP_TYPE_RINGBUF", 0, 0, 4096), [{ op: "getnext" }, { op: "lookup", key: new Uint8Array(0) }]);
});

ktest("map-in-map: inner template and ids", () => {
  const innerSpec = S("BPF_MAP_TYPE_ARRAY", 4, 4, 2);
  const kInner = new KernelMap(innerSpec);
  const kBad = new KernelMap(S("BPF_MAP_TYPE_ARRAY", 4, 4, 3));
  const outerSpec: MapSpec = { ...S("BPF_MAP_TYPE_ARRAY_OF_MAPS", 4, 4, 2), innerMap: innerSpec };
  const kOuter = new KernelMap(outerSpec, { innerPath: kInner.path });
  try {
    assert.equal(kOuter.createError, undefined);
    const env = makeEnv(2);
    const oInner = createMap(innerSpec, env);
    const oBad = createMap(S("BPF_MAP_TYPE_ARRAY", 4, 4, 3), env);
    const oOuter = createMap(outerSpec, env);
    // bpftool takes "value pinned FILE"; the kernel checks it against the template.
    const upd = (k: KernelMap, key: number, inner: KernelMap): string => {
      const r = spawnBpftool(["map", "update", "pinned", k.path, "key", "hex", ...hexBytes(u32(key)), "value", "pinned", inner.path]);
      return r;
    };
    const ours = (key: number, inner: BpfMap): string => {
      try {
        oOuter.update(u32(key), u32(inner.id));
        return "ok";
      } catch (e) {
        return e instanceof MapError ? errnoName(e.errno) : String(e);
      }
    };
    assert.equal(ours(0, oInner), upd(kOuter, 0, kInner));
    assert.equal(ours(1, oBad), upd(kOuter, 1, kBad));
    assert.equal(ours(2, oInner), upd(kOuter, 2, kInner));
    assert.equal(runOurs(oOuter, { op: "delete", key: u32(1) }), kOuter.run({ op: "delete", key: u32(1) }));
    assert.equal(runOurs(oOuter, { op: "delete", key: u32(0) }), kOuter.run({ op: "delete", key: u32(0) }));
    assert.equal(runOurs(oOuter, { op: "keys" }), kOuter.run({ op: "keys" }));
    oOuter.close();
    oInner.close();
    oBad.close();
  } finally {
    kOuter.close();
    kInner.close();
    kBad.close();
  }
});

const hexBytes = (b: Uint8Array): string[] => [...b].map((x) => x.toString(16).padStart(2, "0"));
function spawnBpftool(args: string[]): string {
  const r = spawnSync("bpftool", ["-j", ...args], { encoding: "utf8" });
  if (r.status === 0) return "ok";
  const msg = (JSON.parse(r.stdout) as { error: string }).error;
  const m = /: ([^:]+)$/.exec(msg);
  for (let e = 1; e < 600; e++) if (m !== null && errnoMessage(e) === m[1]) return errnoName(e);
  return msg;
}
