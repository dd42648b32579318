// The runtime fixtures (test/fixtures/runtime, see its README) on tsbpf, compared with
// the Linux kernel's results recorded in test/fixtures/runtime/kernel/*.json.
//
// For every manifest and every object it lists: load the object with
// loadCollectionSpec + loadCollection into a Runtime set up like the recording
// machine (2 possible CPUs, everything on CPU 0, task "bpf_test_run" with uid/gid 0,
// ifindex 1 = lo), perform the manifest's setup, run its runs with testRun, and
// compare retval, data_out, ctx_out, the dumped maps (normalised like the recorder,
// scripts/record-kernel.ts: hash families sorted by key, prog arrays and map-in-maps
// by name, queues/stacks by popping, per-CPU values per CPU), perf samples and
// trace_printk output with the golden. The golden is authoritative; nothing here
// needs clang, bpftool or root.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadCollectionSpec } from "../../src/elf/index.js";
import { MapError, PerfReader, errnoName, type BpfMap, type PerfEventArrayMap } from "../../src/maps/index.js";
import { parseProgramType, shortProgTypeName } from "../../src/progtypes/index.js";
import { Runtime, TestRunError, loadCollection, type Collection } from "../../src/runtime/index.js";
import { VerifierError } from "../../src/verifier/index.js";
import { REPO_ROOT } from "../support/paths.js";

const FIXTURES = join(REPO_ROOT, "test", "fixtures", "runtime");
const GOLDENS = join(FIXTURES, "kernel");

// ------------------------------------------------------------------ formats

type Hex = string;

type SetupOp =
  | { op: "update"; map: string; key: Hex; value: Hex; flags?: "any" | "exist" | "noexist" }
  | { op: "update"; map: string; key: Hex; prog: string }
  | { op: "update"; map: string; key: Hex; innerMap: string }
  | { op: "push"; map: string; value: Hex }
  | { op: "perf_event_reader"; map: string; cpu: number; index: number };

interface Manifest {
  objects?: string[];
  loadAs?: string;
  expect: "accepted" | "rejected";
  programs: { name: string; section: string; type: string }[];
  setup?: SetupOp[];
  runs?: { prog: string; data_in?: string; ctx_in?: string; repeat?: number }[];
  dump?: (string | { map: string; method?: "dump" | "pop" })[];
  trace?: boolean;
}

interface MapEntry {
  key?: Hex;
  value?: Hex;
  values?: Hex[];
  prog?: string;
  map?: string;
  error?: string;
}

interface RunResult {
  prog: string;
  retval?: number;
  data_out?: Hex;
  ctx_out?: Hex;
  error?: string;
  errno?: number;
}

interface Golden {
  fixture: string;
  object: string;
  verifier: "accepted" | "rejected";
  errno?: number;
  log?: string[];
  programs?: Record<string, string>;
  runs?: RunResult[];
  maps?: Record<string, MapEntry[]>;
  perf_events?: { cpu: number; index: number; data: Hex }[];
  trace?: string[] | null;
}

// ------------------------------------------------------------------ helpers

const hex = (b: Uint8Array): Hex => Buffer.from(b).toString("hex");
const bytes = (h: Hex): Uint8Array => new Uint8Array(Buffer.from(h, "hex"));
const u32 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);
const input = (rel: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, rel)));

/** The machine the goldens were recorded on (kernel/ENVIRONMENT.json and the README's table). */
const RUN_CPU = 0;
function kernelLikeRuntime(): Runtime {
  return new Runtime({
    numCpus: 2,
    task: { comm: "bpf_test_run", uid: 0, gid: 0, pid: 31337, tgid: 31337 },
  });
}

const FLAGS = { any: 0, noexist: 1, exist: 2 } as const;
const HASH_LIKE = new Set(["hash", "percpu_hash", "lru_hash", "lru_percpu_hash", "devmap_hash", "hash_of_maps"]);
const mapKind = (m: BpfMap): string => m.type.slice("BPF_MAP_TYPE_".length).toLowerCase();

function nameById<T extends { id: number }>(all: ReadonlyMap<string, T>, id: number, what: string): string {
  for (const [name, x] of all) if (x.id === id) return name;
  return `<${what} id ${id} not in the object>`;
}

/** `bpftool map dump`, normalised like scripts/record-kernel.ts. */
function dumpMap(col: Collection, map: BpfMap): MapEntry[] {
  const kind = mapKind(map);
  const ofProgs = kind === "prog_array";
  const ofMaps = kind === "array_of_maps" || kind === "hash_of_maps";
  const out: MapEntry[] = [];
  for (let k = map.nextKey(); k !== undefined; k = map.nextKey(k)) {
    const entry: MapEntry = { key: hex(k) };
    try {
      if (map.isPercpu) {
        const vs = map.lookupPerCpu(k);
        if (vs === undefined) entry.error = "ENOENT";
        else entry.values = vs.map(hex);
      } else {
        const v = map.lookup(k);
        if (v === undefined) entry.error = "ENOENT";
        else if (ofProgs) entry.prog = nameById(col.programs, u32(v), "program");
        else if (ofMaps) entry.map = nameById(col.maps, u32(v), "map");
        else entry.value = hex(v);
      }
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      entry.error = errnoName(e.errno);
    }
    // bpftool skips lookup errors of prog arrays and map-in-maps (empty slots).
    if (entry.error !== undefined && (ofProgs || ofMaps)) continue;
    out.push(entry);
  }
  if (HASH_LIKE.has(kind)) out.sort((a, b) => (a.key! < b.key! ? -1 : a.key! > b.key! ? 1 : 0));
  return out;
}

/** `bpftool map pop` until the map is empty. */
function popAll(map: BpfMap): MapEntry[] {
  const out: MapEntry[] = [];
  for (let i = 0; i < 10000; i++) {
    const v = map.lookupAndDelete();
    if (v === undefined) break;
    out.push({ value: hex(v) });
  }
  return out;
}

/**
 * A map by the manifest's name. Global-data maps carry libbpf's kernel names
 * ("global_d.bss"); manifests and goldens name them by section (".bss"), as the
 * recorder's logicalMapName does.
 */
function mapNamed(col: Collection, name: string): BpfMap | undefined {
  const direct = col.maps.get(name);
  if (direct !== undefined) return direct;
  for (const [n, m] of col.maps) {
    const dot = n.indexOf(".");
    if (dot >= 0 && n.slice(dot) === name) return m;
  }
  return undefined;
}

function goldenName(object: string): string {
  return object.replace(/\.bpf\.o$/, "");
}

// ------------------------------------------------------------------ fixtures

const manifests = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.slice(0, -".json".length))
  .sort();

test("the corpus: 41 manifests, a golden for every object", () => {
  assert.equal(manifests.length, 41);
  for (const name of manifests) {
    const m = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8")) as Manifest;
    for (const obj of m.objects ?? [`${name}.bpf.o`]) {
      assert.ok(existsSync(join(FIXTURES, obj)), `${obj}`);
      assert.ok(existsSync(join(GOLDENS, `${goldenName(obj)}.json`)), `kernel/${goldenName(obj)}.json`);
    }
  }
});

for (const name of manifests) {
  const m = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8")) as Manifest;
  for (const object of m.objects ?? [`${name}.bpf.o`]) {
    const gname = goldenName(object);
    const golden = JSON.parse(readFileSync(join(GOLDENS, `${gname}.json`), "utf8")) as Golden;
    test(`${gname}`, async (t) => {
      if (golden.verifier === "rejected") await rejectedFixture(t, m, object, golden);
      else await runFixture(t, m, object, golden);
    });
  }
}

/**
 * A program the kernel's verifier rejects: loading it through the runtime (which
 * verifies by default) must fail the same way, with the kernel's errno, its closing
 * message and its processed-instruction line.
 */
async function rejectedFixture(t: TestContext, m: Manifest, object: string, golden: Golden): Promise<void> {
  assert.equal(m.expect, "rejected");
  await t.test("the object loads and its programs are typed", () => {
    const spec = loadCollectionSpec(input(object), { name: goldenName(object) });
    for (const p of m.programs) {
      const ps = spec.programs.find((x) => x.name === p.name);
      assert.ok(ps, `program ${p.name}`);
      assert.equal(parseProgramType(ps.type), p.type);
    }
  });
  const reason = golden.log?.[golden.log.length - 2] ?? "";
  await t.test(`verifier rejects it (errno ${golden.errno}: ${reason})`, () => {
    const spec = loadCollectionSpec(input(object), { name: goldenName(object) });
    let err: unknown;
    try {
      loadCollection(kernelLikeRuntime(), spec, { logLevel: 1 });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof VerifierError, `expected a VerifierError, got ${String(err)}`);
    assert.equal(err.errno, golden.errno);
    assert.ok(err.log.includes(reason), `"${reason}" not in tsbpf's log:\n${err.log.join("\n")}`);
    const processed = golden.log?.[golden.log.length - 1] ?? "";
    assert.ok(err.log.includes(processed), `"${processed}" not in tsbpf's log:\n${err.log.join("\n")}`);
  });
}

async function runFixture(t: TestContext, m: Manifest, object: string, golden: Golden): Promise<void> {
  // tsbpf loads the object the manifest names (legacy_maps.bpf.o itself, although the
  // kernel's golden came from its BTF twin: the loader must handle SEC("maps")).
  const rt = kernelLikeRuntime();
  const spec = loadCollectionSpec(input(object), { name: goldenName(object) });
  const col = loadCollection(rt, spec);
  try {
    await t.test("accepted by the kernel; program types as bpftool shows them", () => {
      assert.equal(golden.verifier, "accepted");
      const types: Record<string, string> = {};
      for (const [n, p] of col.programs) types[n] = shortProgTypeName(p.type);
      assert.deepEqual(types, golden.programs);
    });

    const perf: { cpu: number; index: number; reader: PerfReader }[] = [];
    for (const op of m.setup ?? []) {
      const map = mapNamed(col, op.map);
      assert.ok(map, `setup: no map ${op.map}`);
      switch (op.op) {
        case "update": {
          const key = bytes(op.key);
          if ("prog" in op) {
            const p = col.programs.get(op.prog);
            assert.ok(p, `setup: no program ${op.prog}`);
            map.update(key, u32le(p.id));
          } else if ("innerMap" in op) {
            const inner = mapNamed(col, op.innerMap);
            assert.ok(inner, `setup: no map ${op.innerMap}`);
            map.update(key, u32le(inner.id));
          } else {
            const v = bytes(op.value);
            // bpftool writes the one value to every CPU of a per-CPU map.
            const value = map.isPercpu ? map.joinPerCpu(new Array<Uint8Array>(rt.numCpus).fill(v)) : v;
            map.update(key, value, FLAGS[op.flags ?? "any"]);
          }
          break;
        }
        case "push":
          map.update(new Uint8Array(0), bytes(op.value));
          break;
        case "perf_event_reader": {
          // bpftool map event_pipe ... cpu C index I: one perf event on CPU C, stored in slot I.
          const buf = (map as PerfEventArrayMap).openBuffer({ cpu: op.cpu, index: op.index });
          perf.push({ cpu: op.cpu, index: op.index, reader: new PerfReader([buf]) });
          break;
        }
      }
    }

    const runs = m.runs ?? [];
    assert.equal(runs.length, golden.runs?.length ?? 0, "runs in the golden");
    for (const [i, run] of runs.entries()) {
      const want = golden.runs![i]!;
      await t.test(`run ${i}: ${run.prog}${run.data_in ? ` ${run.data_in}` : ""}${run.ctx_in ? ` ctx ${run.ctx_in}` : ""}${(run.repeat ?? 1) > 1 ? ` x${run.repeat}` : ""}`, () => {
        const prog = col.programs.get(run.prog);
        assert.ok(prog, `program ${run.prog}`);
        let got: RunResult;
        try {
          const r = prog.testRun({
            ...(run.data_in !== undefined ? { dataIn: input(run.data_in) } : {}),
            ...(run.ctx_in !== undefined ? { ctxIn: input(run.ctx_in) } : {}),
            repeat: run.repeat ?? 1,
            cpu: RUN_CPU,
          });
          got = { prog: run.prog, retval: r.retval };
          if (want.data_out !== undefined && r.dataOut !== undefined) got.data_out = hex(r.dataOut);
          if (want.ctx_out !== undefined && r.ctxOut !== undefined) got.ctx_out = hex(r.ctxOut);
        } catch (e) {
          if (!(e instanceof TestRunError)) throw e;
          got = { prog: run.prog, error: errnoName(Math.abs(e.errno)), errno: Math.abs(e.errno) };
        }
        assert.deepEqual(got, want);
      });
    }

    if (golden.trace !== undefined && golden.trace !== null) {
      await t.test("trace_pipe", () => {
        assert.deepEqual(rt.traceLines.filter((l) => l.startsWith("tsbpf:")), golden.trace);
      });
    }

    if (golden.perf_events !== undefined) {
      await t.test("perf samples", () => {
        const got: { cpu: number; index: number; data: Hex }[] = [];
        for (const r of perf) {
          r.reader.poll((rec) => {
            if (rec.type === "sample") got.push({ cpu: r.cpu, index: r.index, data: hex(rec.data) });
          });
        }
        assert.deepEqual(got, golden.perf_events);
      });
    }

    for (const d of m.dump ?? []) {
      const ds = typeof d === "string" ? { map: d } : d;
      await t.test(`map ${ds.map}${ds.method === "pop" ? " (pop)" : ""}`, () => {
        const map = mapNamed(col, ds.map);
        assert.ok(map, `no map ${ds.map} (have ${[...col.maps.keys()].join(", ")})`);
        const got = ds.method === "pop" ? popAll(map) : dumpMap(col, map);
        assert.deepEqual(got, golden.maps?.[ds.map]);
      });
    }
  } finally {
    col.close();
  }
}

function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
