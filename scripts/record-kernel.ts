/**
 * Records the Linux kernel's results for the runtime fixtures, so that tsbpf can
 * be compared with the kernel on machines without bpftool.
 *
 * For every manifest test/fixtures/runtime/NAME.json and every object it lists:
 *   1. `bpftool prog loadall OBJ <pins>/progs pinmaps <pins>/maps` (the verifier's
 *      verdict; the log of a rejection),
 *   2. the manifest's map setup (`bpftool map update|push`, prog-array and
 *      map-in-map wiring by program / map name, perf event readers through
 *      `bpftool map event_pipe`),
 *   3. every run with `bpftool prog run` (data_in/data_out, ctx_in/ctx_out,
 *      repeat); raw_tracepoint and syscall programs, which bpftool 7.x cannot
 *      run, go through tools/bpf_test_run.c (built here with cc),
 *   4. `bpftool -j map dump` of the listed maps (or `map pop` for queues and
 *      stacks), trace_printk output when asked,
 * and writes the golden test/fixtures/runtime/kernel/OBJ.json (OBJ = object name
 * without .bpf.o) plus kernel/ENVIRONMENT.json. Every bpftool call runs on CPU 0
 * (taskset), so per-CPU values and bpf_get_smp_processor_id() are deterministic.
 *
 * Pins live under /sys/fs/bpf/tsbpf-fixtures and are removed before and after
 * each fixture, so the script is idempotent. Without bpftool, root or bpf() it
 * prints why and exits 0 without touching the goldens.
 *
 *   npx tsx scripts/record-kernel.ts               record every fixture
 *   npx tsx scripts/record-kernel.ts NAME...       only these manifests
 *   npx tsx scripts/record-kernel.ts --check       record into memory and compare
 *                                                  with the committed goldens
 *
 * The manifest format and the golden format are described in
 * test/fixtures/runtime/README.md.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const FIXTURES = join(REPO, "test", "fixtures", "runtime");
const GOLDEN_DIR = join(FIXTURES, "kernel");
const BPFFS = "/sys/fs/bpf";
const PIN_ROOT = join(BPFFS, "tsbpf-fixtures");
const TRACEFS = "/sys/kernel/tracing";
const BPF_FS_MAGIC = 0xcafe4a11;
const CPU = "0";

// ---------------------------------------------------------------- manifest

type Hex = string;

type SetupOp =
  | { op: "update"; map: string; key: Hex; value: Hex; flags?: "any" | "exist" | "noexist" }
  | { op: "update"; map: string; key: Hex; prog: string }
  | { op: "update"; map: string; key: Hex; innerMap: string }
  | { op: "push"; map: string; value: Hex }
  | { op: "perf_event_reader"; map: string; cpu: number; index: number };

interface RunSpec {
  prog: string;
  data_in?: string;
  ctx_in?: string;
  repeat?: number;
}

interface DumpSpec {
  map: string;
  method?: "dump" | "pop";
}

interface Manifest {
  description: string;
  source: string;
  objects?: string[];
  loadAs?: string;
  expect: "accepted" | "rejected";
  programs: { name: string; section: string; type: string }[];
  setup?: SetupOp[];
  runs?: RunSpec[];
  dump?: (string | DumpSpec)[];
  trace?: boolean;
}

// ------------------------------------------------------------------ golden

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
  loadedObject?: string;
  verifier: "accepted" | "rejected";
  errno?: number;
  log?: string[];
  programs?: Record<string, string>;
  runs?: RunResult[];
  retval?: number;
  data_out?: Hex;
  ctx_out?: Hex;
  error?: string;
  maps?: Record<string, MapEntry[]>;
  perf_events?: { cpu: number; index: number; data: Hex }[];
  trace?: string[] | null;
}

// ----------------------------------------------------------------- helpers

class Skip extends Error {}

interface Exec {
  status: number;
  stdout: string;
  stderr: string;
}

let taskset: string[] = ["taskset", "-c", CPU];

function exec(cmd: string, args: string[], input?: string): Exec {
  const r = spawnSync(cmd, args, { encoding: "utf8", input, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** bpftool on CPU 0; returns stdout, throws with stderr on failure unless `allowFail`. */
function bpftool(args: string[], allowFail = false): Exec {
  const [cmd, ...pre] = taskset.length ? taskset : ["bpftool"];
  const r = exec(cmd!, taskset.length ? [...pre, "bpftool", ...args] : args);
  if (r.status !== 0 && !allowFail) {
    throw new Error(`bpftool ${args.join(" ")}: exit ${r.status}\n${r.stderr}${r.stdout}`);
  }
  return r;
}

function bpftoolJson<T>(args: string[]): T {
  return JSON.parse(bpftool(["-j", ...args]).stdout) as T;
}

function hexToBytes(hex: string): string[] {
  const clean = hex.replace(/\s+/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`bad hex: ${hex}`);
  const out: string[] = [];
  for (let i = 0; i < clean.length; i += 2) out.push(clean.slice(i, i + 2));
  return out;
}

/** bpftool arguments for a byte string: `hex 01 00 00 00` */
function hexArgs(hex: string): string[] {
  const bytes = hexToBytes(hex);
  return bytes.length ? ["hex", ...bytes] : [];
}

function bytesToHex(bytes: (string | number)[]): Hex {
  return bytes
    .map((b) => (typeof b === "number" ? b : parseInt(b, 16)).toString(16).padStart(2, "0"))
    .join("");
}

function fileHex(path: string): Hex {
  return Buffer.from(readFileSync(path)).toString("hex");
}

const ERRNO_BY_MESSAGE: Record<string, [string, number]> = {
  "Operation not permitted": ["EPERM", 1],
  "No such file or directory": ["ENOENT", 2],
  "Argument list too long": ["E2BIG", 7],
  "Bad file descriptor": ["EBADF", 9],
  "Permission denied": ["EACCES", 13],
  "Bad address": ["EFAULT", 14],
  "Device or resource busy": ["EBUSY", 16],
  "File exists": ["EEXIST", 17],
  "Invalid argument": ["EINVAL", 22],
  "No space left on device": ["ENOSPC", 28],
  "Numerical result out of range": ["ERANGE", 34],
  "Operation not supported": ["EOPNOTSUPP", 95],
  "Unknown error 524": ["ENOTSUPP", 524],
};

/** "failed to run program: Invalid argument" -> ["EINVAL", 22] */
function errnoOf(message: string): [string, number] | undefined {
  for (const [text, e] of Object.entries(ERRNO_BY_MESSAGE)) if (message.includes(text)) return e;
  return undefined;
}

/** Map addresses loaded by ld_imm64 (`1: (18) r1 = 0xffff888104a3bc00`) differ on every load. */
function maskAddresses(line: string): string {
  return line.replace(/(\(18\) r\d+ = )0xffff[0-9a-f]{12}\b/g, "$10xffff<masked>");
}

const HASH_LIKE = new Set(["hash", "percpu_hash", "lru_hash", "lru_percpu_hash", "devmap_hash", "hash_of_maps"]);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ------------------------------------------------------------- environment

interface Tools {
  testRun?: string;
  testRunWhyNot?: string;
  tmp: string;
}

function checkEnvironment(): void {
  const v = spawnSync("bpftool", ["version"], { encoding: "utf8" });
  if (v.error || v.status !== 0) throw new Skip("bpftool not found (Debian: apt-get install bpftool)");
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new Skip("not root: bpf() with BPF_PROG_LOAD and BPF_PROG_TEST_RUN needs CAP_BPF + CAP_SYS_ADMIN");
  }
  if (spawnSync("taskset", ["-c", CPU, "true"]).status !== 0) {
    console.warn(`record-kernel: warning: taskset -c ${CPU} unavailable; per-CPU results may differ`);
    taskset = [];
  }
  if (!isBpffs(BPFFS)) {
    spawnSync("mount", ["-t", "bpf", "bpf", BPFFS]);
    if (!isBpffs(BPFFS)) throw new Skip(`${BPFFS} is not a bpf filesystem and mounting one failed`);
  }
  rmSync(PIN_ROOT, { recursive: true, force: true });
  mkdirSync(PIN_ROOT, { recursive: true });
  const probe = join(PIN_ROOT, "probe");
  const r = bpftool(["map", "create", probe, "type", "array", "key", "4", "value", "4", "entries", "1", "name", "tsbpf_probe"], true);
  rmSync(probe, { force: true });
  if (r.status !== 0) throw new Skip(`bpf() refused a map creation: ${r.stderr.trim()}`);
}

function isBpffs(path: string): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

function buildTestRun(tmp: string): Pick<Tools, "testRun" | "testRunWhyNot"> {
  const src = join(FIXTURES, "tools", "bpf_test_run.c");
  const out = join(tmp, "bpf_test_run");
  for (const cc of [process.env.CC ?? "cc", "gcc", "clang"]) {
    const r = spawnSync(cc, ["-O2", "-Wall", "-o", out, src], { encoding: "utf8" });
    if (!r.error && r.status === 0) return { testRun: out };
  }
  return { testRunWhyNot: "no C compiler could build tools/bpf_test_run.c (needed for raw_tracepoint and syscall runs)" };
}

function environment(): Record<string, unknown> {
  const uname = exec("uname", ["-srm"]).stdout.trim();
  const bpftoolVersion = exec("bpftool", ["version"]).stdout.trim().split("\n");
  const possible = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
  return {
    kernel: uname,
    bpftool: bpftoolVersion,
    possibleCpus: possible,
    runCpu: Number(CPU),
    note: "Goldens in this directory were recorded by scripts/record-kernel.ts on this kernel; all bpftool calls ran on runCpu.",
  };
}

// ------------------------------------------------------------------ a fixture

interface Pins {
  progs: string;
  maps: string;
}

/** logical map name -> pin path. Internal maps are named by section (".bss", ".data.stats"). */
function pinnedMaps(dir: string): Map<string, { path: string; type: string; id: number }> {
  const out = new Map<string, { path: string; type: string; id: number }>();
  if (!existsSync(dir)) return out;
  for (const pin of readdirSync(dir)) {
    const path = join(dir, pin);
    const info = bpftoolJson<{ name: string; type: string; id: number }>(["map", "show", "pinned", path]);
    out.set(logicalMapName(info.name), { path, type: info.type, id: info.id });
  }
  return out;
}

function logicalMapName(kernelName: string): string {
  const dot = kernelName.indexOf(".");
  return dot >= 0 ? kernelName.slice(dot) : kernelName;
}

function nameOfId(kind: "prog" | "map", id: number): string {
  const info = bpftoolJson<{ name: string }>([kind, "show", "id", String(id)]);
  return kind === "map" ? logicalMapName(info.name) : info.name;
}

function parseVerifierFailure(text: string): { errno?: number; log: string[] } {
  const lines = text.split("\n");
  const begin = lines.findIndex((l) => l.includes("-- BEGIN PROG LOAD LOG --"));
  const end = lines.findIndex((l) => l.includes("-- END PROG LOAD LOG --"));
  const log = begin >= 0 && end > begin ? lines.slice(begin + 1, end) : lines.filter((l) => l.startsWith("libbpf:"));
  const m = /failed to load: -(\d+)/.exec(text);
  return { errno: m ? Number(m[1]) : undefined, log: log.slice(0, 200).map(maskAddresses) };
}

class PerfReader {
  private child: ChildProcess;
  private out = "";

  constructor(path: string, cpu: number, index: number) {
    const args = ["-j", "map", "event_pipe", "pinned", path, "cpu", String(cpu), "index", String(index)];
    const [cmd, ...pre] = taskset.length ? [...taskset, "bpftool"] : ["bpftool"];
    this.child = spawn(cmd!, [...pre, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d: Buffer) => (this.out += d.toString()));
  }

  /** Waits until bpftool holds a perf event fd (it installs it in the map right after opening it). */
  async ready(): Promise<void> {
    const pid = await this.bpftoolPid();
    for (let i = 0; i < 100; i++) {
      try {
        const fds = readdirSync(`/proc/${pid}/fd`);
        if (fds.some((fd) => safeReadlink(`/proc/${pid}/fd/${fd}`).includes("perf_event"))) {
          await sleep(200);
          return;
        }
      } catch {
        /* not started yet */
      }
      await sleep(50);
    }
    throw new Error("bpftool map event_pipe did not open a perf event");
  }

  private async bpftoolPid(): Promise<number> {
    // with taskset, taskset execs bpftool, so the pid is the same
    await sleep(50);
    return this.child.pid!;
  }

  async stop(): Promise<{ cpu: number; index: number; data: Hex }[]> {
    // bpftool polls the perf buffer every 200 ms and drops what it has not read
    // when interrupted: wait until its output has been quiet for a few polls.
    let seen = -1;
    for (let i = 0; i < 40 && seen !== this.out.length; i++) {
      seen = this.out.length;
      await sleep(700);
    }
    const done = new Promise<void>((r) => this.child.once("exit", () => r()));
    this.child.kill("SIGINT");
    await done;
    const text = this.out.trim();
    if (!text) return [];
    const events = JSON.parse(text) as { type: number; cpu: number; index: number; data?: number[] }[];
    return events
      .filter((e) => e.type === 9 /* PERF_RECORD_SAMPLE */)
      .map((e) => ({ cpu: e.cpu, index: e.index, data: bytesToHex(e.data ?? []) }));
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

function safeReadlink(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return "";
  }
}

function ensureTracefs(): boolean {
  if (existsSync(join(TRACEFS, "trace"))) return true;
  spawnSync("mount", ["-t", "tracefs", "nodev", TRACEFS]);
  return existsSync(join(TRACEFS, "trace"));
}

function readTrace(): string[] {
  const text = readFileSync(join(TRACEFS, "trace"), "utf8");
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const i = line.indexOf("bpf_trace_printk: ");
    if (line.startsWith("#") || i < 0) continue;
    const msg = line.slice(i + "bpf_trace_printk: ".length);
    if (msg.startsWith("tsbpf:")) out.push(msg);
  }
  return out;
}

async function recordObject(fixture: string, m: Manifest, object: string, tools: Tools): Promise<Golden> {
  const pins: Pins = { progs: join(PIN_ROOT, fixture, "progs"), maps: join(PIN_ROOT, fixture, "maps") };
  const loaded = m.loadAs ?? object;
  const golden: Golden = { fixture, object, verifier: "accepted" };
  if (m.loadAs) golden.loadedObject = m.loadAs;

  rmSync(join(PIN_ROOT, fixture), { recursive: true, force: true });
  mkdirSync(join(PIN_ROOT, fixture), { recursive: true });
  const readers: PerfReader[] = [];
  try {
    const load = bpftool(["prog", "loadall", join(FIXTURES, loaded), pins.progs, "pinmaps", pins.maps], true);
    if (load.status !== 0) {
      const text = load.stderr + load.stdout;
      if (!text.includes("BEGIN PROG LOAD LOG")) {
        throw new Error(`loading ${loaded} failed before the verifier:\n${text}`);
      }
      const { errno, log } = parseVerifierFailure(text);
      golden.verifier = "rejected";
      if (errno !== undefined) golden.errno = errno;
      golden.log = log;
      return golden;
    }

    golden.programs = {};
    const progTypes = new Map<string, string>();
    for (const p of readdirSync(pins.progs).sort()) {
      const info = bpftoolJson<{ type: string }>(["prog", "show", "pinned", join(pins.progs, p)]);
      golden.programs[p] = info.type;
      progTypes.set(p, info.type);
    }
    for (const p of m.programs) {
      if (!progTypes.has(p.name)) throw new Error(`manifest program ${p.name} not in ${loaded}`);
    }
    const maps = pinnedMaps(pins.maps);
    const mapPath = (name: string): string => {
      const e = maps.get(name);
      if (!e) throw new Error(`no map ${name} in ${loaded} (have: ${[...maps.keys()].join(", ")})`);
      return e.path;
    };

    for (const op of m.setup ?? []) {
      switch (op.op) {
        case "update": {
          const base = ["map", "update", "pinned", mapPath(op.map), "key", ...hexArgs(op.key), "value"];
          if ("prog" in op) bpftool([...base, "pinned", join(pins.progs, op.prog)]);
          else if ("innerMap" in op) bpftool([...base, "pinned", mapPath(op.innerMap)]);
          else bpftool([...base, ...hexArgs(op.value), ...(op.flags ? [op.flags] : [])]);
          break;
        }
        case "push":
          bpftool(["map", "push", "pinned", mapPath(op.map), "value", ...hexArgs(op.value)]);
          break;
        case "perf_event_reader": {
          const r = new PerfReader(mapPath(op.map), op.cpu, op.index);
          readers.push(r);
          await r.ready();
          break;
        }
      }
    }

    const traced = m.trace === true && ensureTracefs();
    if (m.trace === true && !traced) console.warn(`record-kernel: ${fixture}: tracefs unavailable, trace not recorded`);
    if (traced) writeFileSync(join(TRACEFS, "trace"), "");

    golden.runs = [];
    for (const run of m.runs ?? []) golden.runs.push(runOnce(run, pins, progTypes, tools));
    const last = golden.runs[golden.runs.length - 1];
    if (last) {
      if (last.retval !== undefined) golden.retval = last.retval;
      if (last.data_out !== undefined) golden.data_out = last.data_out;
      if (last.ctx_out !== undefined) golden.ctx_out = last.ctx_out;
      if (last.error !== undefined) golden.error = last.error;
    }

    if (traced) golden.trace = readTrace();
    if (readers.length) {
      golden.perf_events = [];
      for (const r of readers) golden.perf_events.push(...(await r.stop()));
    }

    golden.maps = {};
    for (const d of m.dump ?? []) {
      const spec: DumpSpec = typeof d === "string" ? { map: d } : d;
      const e = maps.get(spec.map);
      if (!e) throw new Error(`no map ${spec.map} to dump in ${loaded}`);
      golden.maps[spec.map] = spec.method === "pop" ? popAll(e.path) : dumpMap(e.path, e.type);
    }
    return golden;
  } finally {
    for (const r of readers) r.kill();
    rmSync(join(PIN_ROOT, fixture), { recursive: true, force: true });
  }
}

function runOnce(run: RunSpec, pins: Pins, progTypes: Map<string, string>, tools: Tools): RunResult {
  const prog = join(pins.progs, run.prog);
  const type = progTypes.get(run.prog);
  if (!type) throw new Error(`no program ${run.prog}`);
  const result: RunResult = { prog: run.prog };
  const dataOut = join(tools.tmp, "data_out.bin");
  const ctxOut = join(tools.tmp, "ctx_out.bin");
  rmSync(dataOut, { force: true });
  rmSync(ctxOut, { force: true });

  let out: Exec;
  if (type === "raw_tracepoint" || type === "syscall") {
    if (!tools.testRun) throw new Skip(tools.testRunWhyNot ?? "bpf_test_run unavailable");
    if (run.data_in || (run.repeat ?? 1) !== 1) throw new Error(`${run.prog}: ${type} takes only ctx_in`);
    const args = [prog, join(FIXTURES, run.ctx_in ?? "/dev/null"), ...(type === "syscall" ? [ctxOut] : [])];
    out = taskset.length ? exec(taskset[0]!, [...taskset.slice(1), tools.testRun, ...args]) : exec(tools.testRun, args);
  } else {
    const args = ["-j", "prog", "run", "pinned", prog];
    if (run.data_in) args.push("data_in", join(FIXTURES, run.data_in), "data_out", dataOut);
    if (run.ctx_in) args.push("ctx_in", join(FIXTURES, run.ctx_in), "ctx_out", ctxOut);
    args.push("repeat", String(run.repeat ?? 1));
    out = bpftool(args, true);
  }
  const json = JSON.parse(out.stdout.trim() || "{}") as { retval?: number; error?: string; errno?: number };
  if (json.error !== undefined || out.status !== 0) {
    // the runner's message names the errno; keep the errno's name and number
    const msg = json.error ?? out.stderr.trim();
    const known = errnoOf(msg);
    result.error = known?.[0] ?? msg;
    const e = json.errno ?? known?.[1];
    if (e !== undefined) result.errno = e;
    return result;
  }
  result.retval = json.retval;
  if (existsSync(dataOut)) result.data_out = fileHex(dataOut);
  if (existsSync(ctxOut)) result.ctx_out = fileHex(ctxOut);
  return result;
}

interface BpftoolEntry {
  key: string[];
  value?: string[] | { error: string };
  values?: { cpu: number; value: string[] }[];
}

function dumpMap(path: string, type: string): MapEntry[] {
  const raw = bpftoolJson<BpftoolEntry[]>(["map", "dump", "pinned", path]);
  const entries = raw.map((e): MapEntry => {
    const entry: MapEntry = { key: bytesToHex(e.key) };
    if (e.values) {
      entry.values = e.values.sort((a, b) => a.cpu - b.cpu).map((v) => bytesToHex(v.value));
    } else if (e.value && !Array.isArray(e.value)) {
      entry.error = errnoOf(e.value.error)?.[0] ?? e.value.error;
    } else if (e.value) {
      const value = bytesToHex(e.value);
      const id = Buffer.from(value, "hex").readUInt32LE(0);
      if (type === "prog_array") entry.prog = nameOfId("prog", id);
      else if (type === "array_of_maps" || type === "hash_of_maps") entry.map = nameOfId("map", id);
      else entry.value = value;
    }
    return entry;
  });
  if (HASH_LIKE.has(type)) entries.sort((a, b) => (a.key! < b.key! ? -1 : a.key! > b.key! ? 1 : 0));
  return entries;
}

function popAll(path: string): MapEntry[] {
  const out: MapEntry[] = [];
  for (let i = 0; i < 10000; i++) {
    const r = bpftool(["-j", "map", "pop", "pinned", path], true);
    if (r.status !== 0) break;
    const e = JSON.parse(r.stdout) as BpftoolEntry | null;
    if (!e || !Array.isArray(e.value)) break;
    out.push({ value: bytesToHex(e.value) });
  }
  return out;
}

// -------------------------------------------------------------------- main

function manifestNames(filter: string[]): string[] {
  const all = readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".json"))
    .map((f) => basename(f, ".json"))
    .sort();
  for (const f of filter) if (!all.includes(f)) throw new Error(`no manifest test/fixtures/runtime/${f}.json`);
  return filter.length ? all.filter((n) => filter.includes(n)) : all;
}

function goldenName(object: string): string {
  return basename(object).replace(/\.bpf\.o$/, "");
}

function serialise(g: Golden): string {
  return JSON.stringify(g, null, 2) + "\n";
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const check = argv.includes("--check");
  const names = manifestNames(argv.filter((a) => !a.startsWith("--")));

  try {
    checkEnvironment();
  } catch (e) {
    if (e instanceof Skip) {
      console.log(`record-kernel: skipped: ${e.message}; goldens left unchanged`);
      return 0;
    }
    throw e;
  }

  const tmp = mkdtempSync(join(tmpdir(), "tsbpf-record-"));
  const tools: Tools = { tmp, ...buildTestRun(tmp) };
  const cleanup = () => {
    rmSync(PIN_ROOT, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  };
  process.once("SIGINT", () => {
    cleanup();
    process.exit(130);
  });

  let failures = 0;
  let differences = 0;
  try {
    if (!check) {
      mkdirSync(GOLDEN_DIR, { recursive: true });
      writeFileSync(join(GOLDEN_DIR, "ENVIRONMENT.json"), JSON.stringify(environment(), null, 2) + "\n");
    }
    for (const name of names) {
      const m = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8")) as Manifest;
      for (const object of m.objects ?? [`${name}.bpf.o`]) {
        const gname = goldenName(object);
        try {
          const golden = await recordObject(name, m, object, tools);
          const text = serialise(golden);
          const path = join(GOLDEN_DIR, `${gname}.json`);
          const summary = summarise(golden);
          if (golden.verifier !== m.expect) {
            failures++;
            console.error(`record-kernel: ${gname}: expected ${m.expect}, kernel says ${golden.verifier}`);
          }
          if (check) {
            const old = existsSync(path) ? readFileSync(path, "utf8") : "";
            if (old !== text) {
              differences++;
              const keep = join(tmpdir(), "tsbpf-record-check");
              mkdirSync(keep, { recursive: true });
              writeFileSync(join(keep, `${gname}.json`), text);
              console.log(`DIFF ${gname}: ${summary}`);
              console.log(`     new result: ${join(keep, `${gname}.json`)} (diff it against kernel/${gname}.json)`);
            } else {
              console.log(`same ${gname}: ${summary}`);
            }
          } else {
            writeFileSync(path, text);
            console.log(`wrote kernel/${gname}.json: ${summary}`);
          }
        } catch (e) {
          if (e instanceof Skip) {
            console.log(`record-kernel: ${gname}: skipped: ${e.message}`);
            continue;
          }
          failures++;
          console.error(`record-kernel: ${gname}: ${(e as Error).message}`);
        }
      }
    }
  } finally {
    if (check && differences) console.log(`record-kernel: ${differences} golden(s) differ`);
    cleanup();
  }
  return failures || differences ? 1 : 0;
}

function summarise(g: Golden): string {
  if (g.verifier === "rejected") return `rejected (errno ${g.errno}): ${g.log?.[g.log.length - 2] ?? ""}`;
  const runs = (g.runs ?? []).map((r) => (r.error ? `${r.prog}=error(${r.errno})` : `${r.prog}=${r.retval}`));
  return `accepted; ${runs.join(", ") || "no runs"}; maps: ${Object.keys(g.maps ?? {}).join(", ") || "-"}`;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`record-kernel: ${(e as Error).stack ?? String(e)}`);
    rmSync(PIN_ROOT, { recursive: true, force: true });
    process.exit(1);
  },
);
