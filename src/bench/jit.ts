/**
 * `npm run bench:jit`: every program of ../shared/bench on the interpreter, on the
 * JIT (verified mode: the kernel's verifier accepts all five) and, when bpftool and
 * bpf() are usable (root, bpffs), on the kernel in the same run, with the JIT/kernel
 * ratio and the issue-5 goals. Same method as ../shared/bench/ANCHORS.md: N
 * calibrated so one timed call takes about BENCH_TARGET_MS, REPS repetitions, min
 * and median ns per run; the whole repeat loop runs inside one call (test_run's
 * repeat: one wasm call for the JIT, one bpf() for the kernel). The process pins
 * itself to BENCH_CPU (default 1, as the anchors) with taskset when it can.
 *
 * Clock: the process's CPU time by default (BENCH_CLOCK=cpu), because the kernel's
 * test_run stops its clock while it yields the CPU (bpf_test_timer_continue() leaves
 * the timer around cond_resched()), so on a machine shared with other work wall time
 * would charge tsbpf, and only tsbpf, for the others' time slices. BENCH_CLOCK=wall
 * times with performance.now() instead.
 *
 * Flags: --json (machine-readable), --checked (also the JIT in checked mode),
 * --no-kernel, --no-interp (JIT and kernel only: quicker A/B runs). Env: TSBPF_SHARED, BENCH_REPS (5), BENCH_TARGET_MS (1000), BENCH_CPU
 * (1, "none" to leave the process unpinned), BENCH_PROGRAMS (comma list), BENCH_CLOCK.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { cpus, release } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCollectionSpec } from "../elf/index.js";
import { compileProgram, type JitMode } from "../jit/index.js";
import { Runtime, loadCollection, type Collection, type Engine, type Program } from "../runtime/index.js";
import { parseAnchors } from "./anchors.js";

const here = dirname(fileURLToPath(import.meta.url));
const shared = resolve(process.env.TSBPF_SHARED ?? join(here, "..", "..", "..", "shared"));
const benchDir = join(shared, "bench");
const REPS = Number(process.env.BENCH_REPS ?? 5);
const TARGET_MS = Number(process.env.BENCH_TARGET_MS ?? 1000);
const CPU = process.env.BENCH_CPU ?? "1";
const argv = process.argv.slice(2);
const JSON_OUT = argv.includes("--json") || process.env.BENCH_JSON === "1";
const WITH_CHECKED = argv.includes("--checked");
const NO_KERNEL = argv.includes("--no-kernel");
const NO_INTERP = argv.includes("--no-interp");
const CLOCK = process.env.BENCH_CLOCK === "wall" ? "wall" : "cpu";

/** Milliseconds on the bench's clock (see the file comment). */
function clockMs(): number {
  if (CLOCK === "wall") return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const PROGRAMS = (process.env.BENCH_PROGRAMS ?? "alu_loop,stack_sieve,csum_pkt,flow_count,lpm_filter").split(",");
const PACKETS = ["tcp64", "udp512"] as const;
type Packet = (typeof PACKETS)[number];

/** Issue 5's goals: absolute (from the anchor machine) and as a ratio to the kernel. */
const GOALS: Record<string, { ns: number; ratio: number; packets: readonly Packet[] }> = {
  alu_loop: { ns: 20_000, ratio: 1.5, packets: PACKETS },
  stack_sieve: { ns: 5_600, ratio: 1.5, packets: PACKETS },
  csum_pkt: { ns: 230, ratio: 2, packets: ["udp512"] },
  flow_count: { ns: 75, ratio: 3, packets: PACKETS },
  lpm_filter: { ns: 50, ratio: 3, packets: PACKETS },
};
/** Compile-time goal: ms per 1,000 instructions after warm-up. */
const COMPILE_GOAL_MS_PER_K = 5;

interface Stat {
  min: number;
  median: number;
}
interface Row {
  program: string;
  packet: Packet;
  retval: number;
  interp?: Stat;
  jit: Stat;
  jitChecked?: Stat;
  kernel?: Stat & { retval: number };
  anchorKernel?: Stat;
  jitOverKernel?: number;
  interpOverJit?: number;
  goal?: { ns: number; ratio: number; metAbs: boolean; metRatio?: boolean };
}
interface CompileRow {
  program: string;
  insns: number;
  wasmBytes: number;
  ms: Stat;
  msPerK: number;
  firstRunMs: number;
}

const stat = (xs: number[]): Stat => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]! };
};

// ------------------------------------------------------------------ tsbpf engines

const packet = (k: Packet): Uint8Array => new Uint8Array(readFileSync(join(benchDir, "pkt", `${k}.bin`)));

function denyList(): Array<{ key: Uint8Array; value: Uint8Array }> {
  const out: Array<{ key: Uint8Array; value: Uint8Array }> = [];
  for (const line of readFileSync(join(benchDir, "lpm_deny.txt"), "utf8").split("\n")) {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)\s+(\d+)/.exec(line.trim());
    if (m === null) continue;
    const key = new Uint8Array(8);
    new DataView(key.buffer).setUint32(0, Number(m[5]), true);
    key.set([Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])], 4);
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, Number(m[6]), true);
    out.push({ key, value });
  }
  return out;
}

/** A fresh runtime with the program loaded (maps as README.md says) on one engine. */
function loadFresh(name: string, engine: Engine, jitMode: JitMode): { rt: Runtime; col: Collection; prog: Program } {
  const rt = new Runtime();
  const load = rt.loadProgram.bind(rt);
  rt.loadProgram = (spec) => load({ ...spec, engine, jitMode });
  const col = loadCollection(rt, loadCollectionSpec(new Uint8Array(readFileSync(join(benchDir, "obj", `${name}.o`))), { name }));
  rt.loadProgram = load;
  if (name === "lpm_filter") for (const { key, value } of denyList()) col.maps.get("deny_v4")!.update(key, value);
  return { rt, col, prog: col.programs.get(name)! };
}

/** ns per run: calibrated N, warm-up until stable, REPS timed repetitions. */
function timeEngine(prog: Program, data: Uint8Array, engine: Engine): { stat: Stat; retval: number } {
  const cpu = 1 % prog.runtime.numCpus;
  const timed = (n: number): { ms: number; retval: number } => {
    const t0 = clockMs();
    const r = prog.testRun({ dataIn: data, repeat: n, cpu, engine });
    return { ms: clockMs() - t0, retval: r.retval };
  };
  let n = 1;
  let t = timed(n);
  while (t.ms < 50) {
    n *= t.ms < 2 ? 8 : 2;
    t = timed(n);
  }
  // Warm-up (V8 tiers code up): until two windows agree within 3%, at most ~12 windows.
  let prev = Infinity;
  for (let i = 0; i < 12; i++) {
    const m = Math.max(1, Math.round((n * Math.min(TARGET_MS, 400)) / Math.max(t.ms, 1e-3)));
    t = timed(m);
    const per = t.ms / m;
    if (Math.abs(per - prev) / per < 0.03) break;
    prev = per;
    n = m;
  }
  const N = Math.max(1, Math.round((n * TARGET_MS) / Math.max(t.ms, 1e-3)));
  const samples: number[] = [];
  let retval = t.retval;
  for (let i = 0; i < REPS; i++) {
    const r = timed(N);
    samples.push((r.ms * 1e6) / N);
    retval = r.retval;
  }
  return { stat: stat(samples), retval };
}

function compileTimes(name: string): CompileRow {
  const { rt, prog } = loadFresh(name, "jit", "verified");
  const opts = { mode: "verified" as const, helpers: rt.helpersFor(prog.type), space: rt.space };
  let c = compileProgram(prog.predecoded, opts);
  for (let i = 0; i < 300; i++) compileProgram(prog.predecoded, opts);
  const xs: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    c = compileProgram(prog.predecoded, opts);
    xs.push(performance.now() - t0);
  }
  const ms = stat(xs);
  const insns = prog.predecoded.insns.length;
  // First run on a fresh runtime: instantiation plus V8's lazy compilation of the functions.
  const fresh = loadFresh(name, "jit", "verified");
  const t0 = performance.now();
  fresh.prog.testRun({ dataIn: packet("tcp64") });
  const firstRunMs = performance.now() - t0;
  return { program: name, insns, wasmBytes: c.stats.wasmBytes, ms, msPerK: (ms.median * 1000) / insns, firstRunMs };
}

// ------------------------------------------------------------------ the kernel

function kernelAvailable(): string | undefined {
  if (NO_KERNEL) return "--no-kernel";
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root";
  try {
    execFileSync("bpftool", ["version"], { stdio: "pipe" });
  } catch {
    return "bpftool not found";
  }
  const mounted = (): boolean => readFileSync("/proc/mounts", "utf8").split("\n").some((l) => l.split(" ")[1] === "/sys/fs/bpf" && l.split(" ")[2] === "bpf");
  if (!mounted()) {
    try {
      execFileSync("mount", ["-t", "bpf", "bpf", "/sys/fs/bpf"], { stdio: "pipe" });
    } catch {
      return "no bpffs at /sys/fs/bpf (mount failed)";
    }
  }
  return mounted() ? undefined : "no bpffs at /sys/fs/bpf";
}

const PIN = "/sys/fs/bpf/tsbpf_bench_jit";
const taskset = (): string[] => (CPU !== "none" && hasTaskset ? ["taskset", "-c", CPU] : []);
let hasTaskset = false;

function bpftool(args: string[]): string {
  const cmd = [...taskset(), "bpftool", ...args];
  return execFileSync(cmd[0]!, cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
}

function kernelRun(name: string, k: Packet, n: number): { retval: number; ns: number } {
  const out = bpftool(["prog", "run", "pinned", `${PIN}/${name}`, "data_in", join(benchDir, "pkt", `${k}.bin`), "repeat", String(n)]);
  const m = /Return value: (\d+), duration \(average\): (\d+)ns/.exec(out);
  if (m === null) throw new Error(`bpftool prog run: unexpected output ${JSON.stringify(out)}`);
  return { retval: Number(m[1]), ns: Number(m[2]) };
}

function kernelTimes(name: string): Map<Packet, Stat & { retval: number }> {
  const res = new Map<Packet, Stat & { retval: number }>();
  rmSync(`${PIN}/${name}`, { force: true });
  rmSync(`${PIN}/${name}_maps`, { recursive: true, force: true });
  mkdirSync(PIN, { recursive: true });
  bpftool(["prog", "load", join(benchDir, "obj", `${name}.o`), `${PIN}/${name}`, "pinmaps", `${PIN}/${name}_maps`]);
  try {
    if (name === "lpm_filter") {
      for (const { key, value } of denyList()) {
        bpftool(["map", "update", "pinned", `${PIN}/${name}_maps/deny_v4`, "key", ...Array.from(key, String), "value", ...Array.from(value, String)]);
      }
    }
    for (const k of PACKETS) {
      const cal = kernelRun(name, k, 1000);
      const n = Math.max(1000, Math.floor((TARGET_MS * 1e6) / Math.max(cal.ns, 1)));
      const xs: number[] = [];
      let retval = cal.retval;
      for (let i = 0; i < REPS; i++) {
        const r = kernelRun(name, k, n);
        xs.push(r.ns);
        retval = r.retval;
      }
      res.set(k, { ...stat(xs), retval });
    }
  } finally {
    rmSync(`${PIN}/${name}`, { force: true });
    rmSync(`${PIN}/${name}_maps`, { recursive: true, force: true });
  }
  return res;
}

// ------------------------------------------------------------------ main

function pinSelf(): void {
  if (CPU === "none" || process.env.TSBPF_BENCH_PINNED === "1" || process.platform !== "linux" || !hasTaskset) return;
  const r = spawnSync("taskset", ["-c", CPU, process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...argv], {
    stdio: "inherit",
    env: { ...process.env, TSBPF_BENCH_PINNED: "1" },
  });
  process.exit(r.status ?? 1);
}

function main(): void {
  if (!existsSync(join(benchDir, "obj"))) {
    console.error(`bench:jit: ${join(benchDir, "obj")} not found; set TSBPF_SHARED to the shared directory`);
    process.exit(1);
  }
  try {
    execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    hasTaskset = true;
  } catch {
    hasTaskset = false;
  }
  pinSelf();
  const anchorsPath = join(benchDir, "ANCHORS.md");
  const anchors = existsSync(anchorsPath) ? parseAnchors(readFileSync(anchorsPath, "utf8")) : new Map();
  const noKernel = kernelAvailable();
  const rows: Row[] = [];
  const compile: CompileRow[] = [];
  for (const name of PROGRAMS) {
    compile.push(compileTimes(name));
    const kernel = noKernel === undefined ? kernelTimes(name) : undefined;
    for (const k of PACKETS) {
      const data = packet(k);
      const interp = NO_INTERP ? undefined : timeEngine(loadFresh(name, "interp", "checked").prog, data, "interp");
      const jit = timeEngine(loadFresh(name, "jit", "verified").prog, data, "jit");
      const row: Row = { program: name, packet: k, retval: jit.retval, jit: jit.stat };
      if (interp !== undefined) {
        row.interp = interp.stat;
        row.interpOverJit = interp.stat.median / jit.stat.median;
        if (interp.retval !== jit.retval) throw new Error(`${name} ${k}: interpreter returned ${interp.retval}, JIT ${jit.retval}`);
      }
      if (WITH_CHECKED) row.jitChecked = timeEngine(loadFresh(name, "jit", "checked").prog, data, "jit").stat;
      const kr = kernel?.get(k);
      if (kr !== undefined) {
        row.kernel = kr;
        row.jitOverKernel = jit.stat.median / kr.median;
        if (kr.retval !== jit.retval) throw new Error(`${name} ${k}: kernel returned ${kr.retval}, JIT ${jit.retval}`);
      }
      const anchor = anchors.get(name)?.columns.get(`kernel ${k} ns`);
      if (anchor !== undefined) row.anchorKernel = anchor;
      const goal = GOALS[name];
      if (goal !== undefined && goal.packets.includes(k)) {
        row.goal = { ns: goal.ns, ratio: goal.ratio, metAbs: jit.stat.median <= goal.ns };
        if (row.jitOverKernel !== undefined) row.goal.metRatio = row.jitOverKernel <= goal.ratio;
      }
      rows.push(row);
    }
  }
  const machine = { node: process.version, v8: process.versions.v8, cpu: cpus()[0]?.model ?? "?", cpus: cpus().length, kernel: release(), pinnedCpu: hasTaskset && CPU !== "none" ? CPU : "none" };
  if (JSON_OUT) {
    console.log(JSON.stringify({ machine, reps: REPS, targetMs: TARGET_MS, clock: CLOCK, kernel: noKernel ?? "measured", rows, compile, compileGoalMsPerK: COMPILE_GOAL_MS_PER_K }, null, 2));
    return;
  }
  const f = (x: number): string => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(1));
  const mm = (s: Stat | undefined): string => (s === undefined ? "–" : `${f(s.min)} / ${f(s.median)}`);
  console.log(`tsbpf JIT bench: node ${machine.node} (V8 ${machine.v8}), ${machine.cpus} x ${machine.cpu}, Linux ${machine.kernel}, CPU ${machine.pinnedCpu}; ${REPS} x ~${TARGET_MS} ms; ns per run (${CLOCK === "cpu" ? "process CPU time" : "wall time"}), min / median`);
  console.log(`kernel: ${noKernel === undefined ? "bpftool prog run ... repeat N, same run" : `not measured (${noKernel})`}`);
  console.log("");
  console.log(`| program | packet | retval | interpreter | JIT (verified) |${WITH_CHECKED ? " JIT (checked) |" : ""} kernel (this run) | JIT / kernel | kernel (ANCHORS) | goal | met |`);
  console.log(`|---|---|---|---|---|${WITH_CHECKED ? "---|" : ""}---|---|---|---|---|`);
  for (const r of rows) {
    const goal = r.goal === undefined ? "–" : `≤ ${f(r.goal.ns)} ns, ≤ ${r.goal.ratio}x`;
    const met = r.goal === undefined ? "" : `${r.goal.metAbs ? "yes" : "no"} (abs)${r.goal.metRatio === undefined ? "" : `, ${r.goal.metRatio ? "yes" : "no"} (ratio)`}`;
    console.log(`| ${r.program} | ${r.packet} | ${r.retval} | ${mm(r.interp)} | ${mm(r.jit)} |${WITH_CHECKED ? ` ${mm(r.jitChecked)} |` : ""} ${mm(r.kernel)} | ${r.jitOverKernel === undefined ? "–" : `${r.jitOverKernel.toFixed(2)}x`} | ${mm(r.anchorKernel)} | ${goal} | ${met} |`);
  }
  console.log("");
  console.log(`Compile (verified mode, after warm-up; goal ≤ ${COMPILE_GOAL_MS_PER_K} ms per 1,000 insns):`);
  console.log("");
  console.log("| program | insns | wasm bytes | compile ms, min / median | ms per 1,000 insns | first run ms (instantiate + lazy compile) |");
  console.log("|---|---|---|---|---|---|");
  for (const c of compile) console.log(`| ${c.program} | ${c.insns} | ${c.wasmBytes} | ${c.ms.min.toFixed(3)} / ${c.ms.median.toFixed(3)} | ${c.msPerK.toFixed(2)} | ${c.firstRunMs.toFixed(2)} |`);
}

main();
