// Runs a runtime fixture manifest (test/fixtures/runtime/NAME.json) or a bench object
// on one engine and collects everything a program can affect: each run's result or
// error, trace_pipe lines, perf samples, every map's contents, and the bytes of the
// whole address space. Two engines given the same inputs must collect equal outcomes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadCollectionSpec } from "../../src/elf/index.js";
import { PerfReader, type BpfMap, type PerfEventArrayMap } from "../../src/maps/index.js";
import { Runtime, TestRunError, loadCollection, type Collection, type LoadCollectionOptions } from "../../src/runtime/index.js";
import type { JitMode } from "../../src/jit/index.js";
import { REPO_ROOT } from "../support/paths.js";

export const FIXTURES = join(REPO_ROOT, "test", "fixtures", "runtime");

/** An engine forced on every program, or the runtime's own choice for these load options. */
export type EngineChoice = { engine: "interp" } | { engine: "jit"; mode: JitMode } | { load: LoadCollectionOptions };

type SetupOp =
  | { op: "update"; map: string; key: string; value: string; flags?: "any" | "exist" | "noexist" }
  | { op: "update"; map: string; key: string; prog: string }
  | { op: "update"; map: string; key: string; innerMap: string }
  | { op: "push"; map: string; value: string }
  | { op: "perf_event_reader"; map: string; cpu: number; index: number };

export interface Manifest {
  objects?: string[];
  expect: "accepted" | "rejected";
  setup?: SetupOp[];
  runs?: { prog: string; data_in?: string; ctx_in?: string; repeat?: number }[];
}

export interface Outcome {
  runs: unknown[];
  trace: string[];
  perf: string[];
  maps: Record<string, unknown>;
  memory: Uint8Array;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, "hex"));
const input = (rel: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, rel)));
const u32le = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
const FLAGS = { any: 0, noexist: 1, exist: 2 } as const;

function mapNamed(col: Collection, name: string): BpfMap | undefined {
  const direct = col.maps.get(name);
  if (direct !== undefined) return direct;
  for (const [n, m] of col.maps) {
    const dot = n.indexOf(".");
    if (dot >= 0 && n.slice(dot) === name) return m;
  }
  return undefined;
}

/** Every key and value (per CPU for per-CPU maps) that user space can read. */
export function dumpMaps(col: Collection): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const byId = new Map([...col.maps].map(([n, m]) => [m.id, n]));
  for (const [name, map] of col.maps) {
    const entries: string[] = [];
    // Map-in-map values are map ids, unique in the process: show the inner map's name.
    const ofMaps = map.type.endsWith("_OF_MAPS");
    const show = (v: Uint8Array): string => (ofMaps ? `map ${byId.get(new DataView(v.buffer, v.byteOffset).getUint32(0, true)) ?? "?"}` : hex(v));
    try {
      for (let k = map.nextKey(), i = 0; k !== undefined && i < 100000; k = map.nextKey(k), i++) {
        try {
          entries.push(`${hex(k)}=${map.isPercpu ? map.lookupPerCpu(k)?.map(hex).join(",") : map.lookup(k) === undefined ? "-" : show(map.lookup(k)!)}`);
        } catch (e) {
          entries.push(`${hex(k)}!${(e as Error).message}`);
        }
      }
    } catch (e) {
      entries.push(`!${(e as Error).message}`);
    }
    out[name] = entries.sort();
  }
  return out;
}

export function newRuntime(): Runtime {
  // Fixed clocks so that time-reading programs store the same values on both engines.
  let t = 1_000_000_000n;
  const tick = (): bigint => (t += 1000n);
  return new Runtime({
    numCpus: 2,
    task: { comm: "bpf_test_run", uid: 0, gid: 0, pid: 31337, tgid: 31337 },
    clocks: { monotonicNs: tick, bootNs: tick, coarseNs: tick, jiffies: () => 4294937296n + t / 4_000_000n },
  });
}

/** Loads `object`, performs the manifest's setup and runs on `engine`, and collects the outcome. */
export function runManifest(m: Manifest, object: string, engine: EngineChoice): Outcome {
  const rt = newRuntime();
  const spec = loadCollectionSpec(input(object), { name: object.replace(/\.bpf\.o$/, "") });
  const col = loadCollectionWith(rt, spec, engine);
  try {
    const perf: { cpu: number; index: number; reader: PerfReader }[] = [];
    for (const op of m.setup ?? []) {
      const map = mapNamed(col, op.map)!;
      switch (op.op) {
        case "update": {
          const key = bytes(op.key);
          if ("prog" in op) map.update(key, u32le(col.programs.get(op.prog)!.id));
          else if ("innerMap" in op) map.update(key, u32le(mapNamed(col, op.innerMap)!.id));
          else {
            const v = bytes(op.value);
            map.update(key, map.isPercpu ? map.joinPerCpu(new Array<Uint8Array>(rt.numCpus).fill(v)) : v, FLAGS[op.flags ?? "any"]);
          }
          break;
        }
        case "push":
          map.update(new Uint8Array(0), bytes(op.value));
          break;
        case "perf_event_reader":
          perf.push({ cpu: op.cpu, index: op.index, reader: new PerfReader([(map as PerfEventArrayMap).openBuffer({ cpu: op.cpu, index: op.index })]) });
          break;
      }
    }
    const runs: unknown[] = [];
    for (const run of m.runs ?? []) {
      const prog = col.programs.get(run.prog)!;
      try {
        const r = prog.testRun({
          ...(run.data_in !== undefined ? { dataIn: input(run.data_in) } : {}),
          ...(run.ctx_in !== undefined ? { ctxIn: input(run.ctx_in) } : {}),
          repeat: run.repeat ?? 1,
          cpu: 0,
        });
        // The verified JIT does not count executed instructions.
        runs.push({ retval: r.retval, r0: r.r0, dataOut: r.dataOut && hex(r.dataOut), ctxOut: r.ctxOut && hex(r.ctxOut), ...(prog.counts ? { executed: r.executed } : {}) });
      } catch (e) {
        if (!(e instanceof TestRunError) && !(e instanceof Error && "fault" in e)) throw e;
        runs.push({ error: e.message, ...(e instanceof TestRunError ? { errno: e.errno } : {}) });
      }
    }
    const perfOut: string[] = [];
    for (const r of perf) r.reader.poll((rec) => void (rec.type === "sample" && perfOut.push(`${r.cpu}/${r.index}/${hex(rec.data)}`)));
    // Map ids are unique in the process (like the kernel's idr), so two runtimes differ
    // there: blank the id in each map header (tsbpf's field and struct bpf_map's, maps/base.ts).
    const memory = rt.space.u8.slice();
    for (const map of col.maps.values()) {
      memory.fill(0, map.address + 20, map.address + 24);
      memory.fill(0, map.address + 92, map.address + 96);
    }
    return { runs, trace: [...rt.traceLines], perf: perfOut, maps: dumpMaps(col), memory };
  } finally {
    col.close();
  }
}

/** loadCollection with every program on the chosen engine. */
export function loadCollectionWith(rt: Runtime, spec: Parameters<typeof loadCollection>[1], engine: EngineChoice): Collection {
  if ("load" in engine) return loadCollection(rt, spec, engine.load);
  if (engine.engine === "interp") return loadCollection(rt, spec, { engine: "interp" });
  const load = rt.loadProgram.bind(rt);
  rt.loadProgram = (p) => load({ ...p, engine: "jit", jitMode: engine.mode });
  try {
    return loadCollection(rt, spec);
  } finally {
    rt.loadProgram = load;
  }
}
