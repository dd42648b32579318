/**
 * `npm run bench:verifier`: verifies every program of every shared bench object
 * (../shared/bench/obj/*.o) the way loading does (loadCollectionSpec,
 * verifierInputFor, verifyProgram; log level 0, privileged) and prints the time,
 * processed instructions and states beside the kernel's figures from
 * ../shared/bench/ANCHORS.md ("Kernel verifier statistics": 5 loads with a
 * stats-only log), with the time ratio tsbpf / kernel.
 *
 * Each program is first verified repeatedly until V8 has optimised the verifier
 * (at least BENCH_WARMUP_MS, default 1000, and 10 runs), then timed over BENCH_REPS
 * (default 5) single verifications; min and median are reported.
 *
 * Env: TSBPF_SHARED (default <repo>/../shared), BENCH_REPS, BENCH_WARMUP_MS.
 * `--json` (or BENCH_JSON=1) prints JSON instead of the table.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCollectionSpec } from "../elf/index.js";
import { verifierInputFor, verifyProgram, type VerifierResult } from "../verifier/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const shared = resolve(process.env.TSBPF_SHARED ?? join(here, "..", "..", "..", "shared"));
const REPS = Math.max(1, Number(process.env.BENCH_REPS ?? 5));
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1000);
const JSON_OUT = process.argv.includes("--json") || process.env.BENCH_JSON === "1";

/** One row of ANCHORS.md's "Kernel verifier statistics" table. */
interface KernelVerifierStats {
  readonly processed: number;
  readonly totalStates: number;
  readonly peakStates: number;
  readonly maxStatesPerInsn: number;
  readonly stackDepth: number;
  /** Verification time with a stats-only log, microseconds. */
  readonly timeUs: { readonly min: number; readonly median: number };
}

/** Parses the "Kernel verifier statistics" table (columns found by their headers). */
function parseKernelVerifierStats(markdown: string): Map<string, KernelVerifierStats> {
  const out = new Map<string, KernelVerifierStats>();
  const lines = markdown.split("\n");
  const section = lines.findIndex((l) => /^#+\s*Kernel verifier statistics/i.test(l));
  if (section < 0) return out;
  const headerAt = lines.findIndex((l, i) => i > section && l.startsWith("| program |"));
  if (headerAt < 0) return out;
  const cells = (l: string): string[] => l.split("|").slice(1, -1).map((c) => c.trim());
  const headers = cells(lines[headerAt]!);
  const col = (re: RegExp): number => headers.findIndex((h) => re.test(h));
  const cProcessed = col(/^processed/), cTotal = col(/^total_states/), cPeak = col(/^peak_states/);
  const cMax = col(/^max_states_per_insn/), cStack = col(/^stack depth/), cTime = col(/stats-only/);
  const num = (s: string | undefined): number => Number((s ?? "").replace(/[,\s]/g, ""));
  for (let i = headerAt + 2; i < lines.length && lines[i]!.startsWith("|"); i++) {
    const c = cells(lines[i]!);
    const t = /^([\d,]+)\s*\/\s*([\d,]+)/.exec(c[cTime] ?? "");
    out.set(c[0]!, {
      processed: num(c[cProcessed]), totalStates: num(c[cTotal]), peakStates: num(c[cPeak]), maxStatesPerInsn: num(c[cMax]),
      stackDepth: num(c[cStack]), timeUs: t === null ? { min: NaN, median: NaN } : { min: num(t[1]), median: num(t[2]) },
    });
  }
  return out;
}

interface Row {
  object: string;
  program: string;
  accepted: boolean;
  processed: number;
  totalStates: number;
  peakStates: number;
  maxStatesPerInsn: number;
  stackDepth: number;
  /** Milliseconds. */
  time: { min: number; median: number; runs: number[] };
  warmupRuns: number;
  kernel?: KernelVerifierStats;
  /** tsbpf time / kernel time. */
  ratio?: { min: number; median: number };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function benchProgram(run: () => VerifierResult): { result: VerifierResult; runs: number[]; warmupRuns: number } {
  let result = run();
  let warmupRuns = 1;
  const t0 = performance.now();
  while (warmupRuns < 10 || performance.now() - t0 < WARMUP_MS) {
    result = run();
    warmupRuns++;
  }
  const runs: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t = performance.now();
    result = run();
    runs.push(performance.now() - t);
  }
  return { result, runs, warmupRuns };
}

function main(): void {
  const objDir = join(shared, "bench", "obj");
  if (!existsSync(objDir)) {
    console.error(`bench:verifier: ${objDir} not found; set TSBPF_SHARED to the shared directory`);
    process.exit(1);
  }
  const anchorsPath = join(shared, "bench", "ANCHORS.md");
  const kernel = existsSync(anchorsPath) ? parseKernelVerifierStats(readFileSync(anchorsPath, "utf8")) : new Map<string, KernelVerifierStats>();
  const rows: Row[] = [];
  for (const f of readdirSync(objDir).filter((x) => x.endsWith(".o")).sort()) {
    const object = f.replace(/\.o$/, "");
    const spec = loadCollectionSpec(readFileSync(join(objDir, f)), { name: object });
    for (const prog of spec.programs) {
      const input = verifierInputFor(spec, prog, { logLevel: 0 });
      const { result, runs, warmupRuns } = benchProgram(() => verifyProgram(input));
      const k = kernel.get(object) ?? kernel.get(prog.name);
      const time = { min: Math.min(...runs), median: median(runs), runs };
      const s = result.stats;
      rows.push({
        object, program: prog.name, accepted: result.accepted, processed: s.processed, totalStates: s.totalStates, peakStates: s.peakStates,
        maxStatesPerInsn: s.maxStatesPerInsn, stackDepth: s.stackDepth[0] ?? 0, time, warmupRuns,
        ...(k !== undefined ? { kernel: k, ratio: { min: (time.min * 1000) / k.timeUs.min, median: (time.median * 1000) / k.timeUs.median } } : {}),
      });
    }
  }
  if (JSON_OUT) {
    console.log(JSON.stringify({ shared, anchors: existsSync(anchorsPath) ? anchorsPath : null, reps: REPS, warmupMs: WARMUP_MS, node: process.version, programs: rows }, null, 2));
    return;
  }
  const fmtTime = (ms: number): string => (ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} us`);
  const fmtUs = (us: number): string => fmtTime(us / 1000);
  const n = (x: number): string => x.toLocaleString("en-US");
  const table: string[][] = [[
    "program", "verdict", "processed (kernel)", "states total/peak/max (kernel)", `tsbpf min / median of ${REPS}`, "kernel min / median", "ratio min / median",
  ]];
  for (const r of rows) {
    const k = r.kernel;
    table.push([
      r.object === r.program ? r.object : `${r.object}/${r.program}`,
      r.accepted ? "accepted" : "REJECTED",
      `${n(r.processed)} (${k ? n(k.processed) : "?"})`,
      `${r.totalStates}/${r.peakStates}/${r.maxStatesPerInsn} (${k ? `${k.totalStates}/${k.peakStates}/${k.maxStatesPerInsn}` : "?"})`,
      `${fmtTime(r.time.min)} / ${fmtTime(r.time.median)}`,
      k ? `${fmtUs(k.timeUs.min)} / ${fmtUs(k.timeUs.median)}` : "?",
      r.ratio ? `${r.ratio.min.toFixed(2)}x / ${r.ratio.median.toFixed(2)}x` : "?",
    ]);
  }
  const widths = table[0]!.map((_, j) => Math.max(...table.map((row) => row[j]!.length)));
  console.log(`verifier bench: ${shared}/bench/obj, ${REPS} runs after ${WARMUP_MS} ms warm-up, node ${process.version}`);
  for (const row of table) console.log(row.map((c, j) => (j === 0 || j === 1 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join("  "));
  console.log("kernel: ANCHORS.md \"Kernel verifier statistics\" (stats-only log, min / median of 5 loads); ratio = tsbpf / kernel time");
}

main();
