// The kernel as an oracle for map semantics: drives real BPF maps through bpftool
// (pinned in bpffs, CPU-pinned with taskset so LRU lists are deterministic) and runs
// the same operation scripts on tsbpf maps, both giving the same string results.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { ENOENT, MapError, errnoName, strerror, type BpfMap, type MapSpec } from "../../src/maps/index.js";

/** An operation; `cpu` pins it (taskset for bpftool, env.cpu for tsbpf), default CPU 0. */
export type Op = (
  | { op: "update"; key: Uint8Array; value: Uint8Array; flags?: "any" | "noexist" | "exist" }
  | { op: "lookup"; key: Uint8Array }
  | { op: "delete"; key: Uint8Array }
  | { op: "getnext"; key?: Uint8Array }
  | { op: "keys" }
  | { op: "push"; value: Uint8Array }
  | { op: "pop" }
  | { op: "peek" }
) & { cpu?: number };

const BPFFS = "/sys/fs/bpf";
const PREFIX = "tsbpf_test_";
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const bytesArgs = (b: Uint8Array): string[] => ["hex", ...[...b].map((x) => x.toString(16).padStart(2, "0"))];
/** bpftool refuses "key" for keyless maps. */
const keyArgs = (b: Uint8Array): string[] => (b.length === 0 ? [] : ["key", ...bytesArgs(b)]);
const fromJson = (a: string[]): Uint8Array => Uint8Array.from(a.map((s) => parseInt(s, 16)));

const ERRNO_BY_MESSAGE = new Map<string, string>();
for (let e = 1; e < 600; e++) ERRNO_BY_MESSAGE.set(strerror(e), errnoName(e));

function errOf(msg: string): string {
  const m = /: ([^:]+)$/.exec(msg.trim());
  return m === null ? `?${msg}` : (ERRNO_BY_MESSAGE.get(m[1]!) ?? `?${m[1]}`);
}

/** Why kernel tests cannot run here, or undefined when they can. */
export function kernelUnavailable(): string | undefined {
  if (process.env.TSBPF_NO_KERNEL === "1") return "TSBPF_NO_KERNEL=1";
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "needs root for bpf()";
  const v = spawnSync("bpftool", ["version"], { encoding: "utf8" });
  if (v.status !== 0) return "bpftool not found";
  if (!existsSync(BPFFS)) return `${BPFFS} missing`;
  const mounts = readFileSync("/proc/mounts", "utf8");
  if (!mounts.split("\n").some((l) => l.split(" ")[1] === BPFFS && l.split(" ")[2] === "bpf")) {
    mkdirSync(BPFFS, { recursive: true });
    const r = spawnSync("mount", ["-t", "bpf", "bpf", BPFFS]);
    if (r.status !== 0) return "cannot mount bpffs";
  }
  const k = new KernelMap({ name: "probe", type: "BPF_MAP_TYPE_ARRAY", keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 });
  const err = k.createError;
  k.close();
  return err === undefined ? undefined : `bpf() map create failed: ${err}`;
}

/** Removes maps left pinned by an interrupted run. */
export function cleanPins(): void {
  if (!existsSync(BPFFS)) return;
  for (const f of readdirSync(BPFFS)) if (f.startsWith(PREFIX)) rmSync(`${BPFFS}/${f}`, { force: true });
}

let seq = 0;

function runBpftool(args: string[], cpu = 0): { json: unknown; status: number } {
  const r = spawnSync("taskset", ["-c", String(cpu), "bpftool", "-j", ...args], { encoding: "utf8" });
  const out = r.stdout.trim();
  let json: unknown = null;
  if (out !== "") json = JSON.parse(out);
  return { json, status: r.status ?? -1 };
}

const shortType = (t: string): string => t.slice("BPF_MAP_TYPE_".length).toLowerCase();

/** A real kernel map, pinned under /sys/fs/bpf. */
export class KernelMap {
  readonly path: string;
  /** The errno name when creation failed. */
  readonly createError: string | undefined;

  constructor(
    readonly spec: MapSpec,
    opts: { innerPath?: string } = {},
  ) {
    this.path = `${BPFFS}/${PREFIX}${process.pid}_${++seq}`;
    rmSync(this.path, { force: true });
    const args = ["map", "create", this.path, "type", shortType(spec.type), "key", String(spec.keySize), "value", String(spec.valueSize)];
    args.push("entries", String(spec.maxEntries), "name", spec.name.slice(0, 15), "flags", String(spec.flags));
    if (opts.innerPath !== undefined) args.push("inner_map", "pinned", opts.innerPath);
    const r = runBpftool(args);
    this.createError = r.status === 0 ? undefined : errOf((r.json as { error: string }).error);
  }

  run(op: Op): string {
    const m = ["pinned", this.path];
    const bpftool = (args: string[]): { json: unknown; status: number } => runBpftool(args, op.cpu ?? 0);
    switch (op.op) {
      case "update": {
        const r = bpftool(["map", "update", ...m, "key", ...bytesArgs(op.key), "value", ...bytesArgs(op.value), op.flags ?? "any"]);
        return r.status === 0 ? "ok" : errOf((r.json as { error: string }).error);
      }
      case "lookup": {
        const r = bpftool(["map", "lookup", ...m, ...keyArgs(op.key)]);
        if (r.json === null) return "ENOENT";
        const j = r.json as { error?: string; value?: string[]; values?: Array<{ cpu: number; value: string[] }> };
        if (j.error !== undefined) return errOf(j.error);
        if (j.values !== undefined) return j.values.map((v) => hex(fromJson(v.value))).join("|");
        return hex(fromJson(j.value!));
      }
      case "delete": {
        const r = bpftool(["map", "delete", ...m, "key", ...bytesArgs(op.key)]);
        return r.status === 0 ? "ok" : errOf((r.json as { error: string }).error);
      }
      case "getnext": {
        const r = bpftool(["map", "getnext", ...m, ...(op.key === undefined ? [] : ["key", ...bytesArgs(op.key)])]);
        const j = r.json as { error?: string; next_key?: string[] };
        if (j.error !== undefined) return errOf(j.error);
        return hex(fromJson(j.next_key!));
      }
      case "keys": {
        const r = bpftool(["map", "dump", ...m]);
        const j = r.json as Array<{ key: string[]; value: unknown }> | { error: string };
        if (!Array.isArray(j)) return errOf(j.error);
        // Keys whose lookup fails (empty DEVMAP slots) are listed with an error value.
        return j.filter((e) => Array.isArray(e.value) || (e as { values?: unknown }).values !== undefined).map((e) => hex(fromJson(e.key))).join(",");
      }
      case "push": {
        const r = bpftool(["map", "push", ...m, "value", ...bytesArgs(op.value)]);
        return r.status === 0 ? "ok" : errOf((r.json as { error: string }).error);
      }
      case "pop":
      case "peek": {
        const r = bpftool(["map", op.op, ...m]);
        if (r.json === null) return "ENOENT";
        const j = r.json as { error?: string; value?: string[] };
        if (j.error !== undefined) return errOf(j.error);
        return hex(fromJson(j.value!));
      }
    }
  }

  close(): void {
    rmSync(this.path, { force: true });
  }
}

/** Runs an op on a tsbpf map with the same result strings as KernelMap.run(). */
export function runOurs(m: BpfMap, op: Op): string {
  const flags = { any: 0, noexist: 1, exist: 2 } as const;
  const hexv = (v: Uint8Array): string => {
    if (!m.isPercpu) return hex(v);
    return m.splitPerCpu(v).map((x) => hex(x)).join("|");
  };
  const env = m.env as { cpu?: number };
  if ("cpu" in env) env.cpu = op.cpu ?? 0;
  try {
    switch (op.op) {
      case "update": {
        // bpftool writes a per-CPU map's value to every CPU.
        const v = m.isPercpu && op.value.length === m.valueSize ? m.joinPerCpu(Array.from({ length: m.env.numCpus }, () => op.value)) : op.value;
        m.update(op.key, v, flags[op.flags ?? "any"]);
        return "ok";
      }
      case "lookup": {
        const v = m.lookup(op.key);
        return v === undefined ? "ENOENT" : hexv(v);
      }
      case "delete":
        m.delete(op.key);
        return "ok";
      case "getnext": {
        const k = m.nextKey(op.key);
        return k === undefined ? errnoName(ENOENT) : hex(k);
      }
      case "keys":
        return [...m.entries()].map(([k]) => hex(k)).join(",");
      case "push":
        m.update(new Uint8Array(0), op.value, 0);
        return "ok";
      case "pop": {
        const v = m.lookupAndDelete(new Uint8Array(0));
        return v === undefined ? "ENOENT" : hex(v);
      }
      case "peek": {
        const v = m.lookup(new Uint8Array(0));
        return v === undefined ? "ENOENT" : hex(v);
      }
    }
  } catch (e) {
    if (e instanceof MapError) return errnoName(e.errno);
    throw e;
  }
}
