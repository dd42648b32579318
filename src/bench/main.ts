/**
 * `npm run bench`: runs the shared benchmark programs that need no ctx, maps or helpers
 * (alu_loop, stack_sieve) on the interpreter and prints ns/run beside the uBPF
 * interpreter's figures from ../shared/bench/ANCHORS.md (measured on this machine
 * kind). Each program is warmed up until V8 has optimised the interpreter loop, then
 * timed in REPS repetitions of about TARGET_MS each; min and median are reported.
 * Env: TSBPF_SHARED (default ../shared), BENCH_REPS (5), BENCH_TARGET_MS (1000), BENCH_JSON=1.
 */
import { readFileSync, existsSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeProgram } from "../isa/index.js";
import { AddressSpace, Machine, predecode } from "../vm/index.js";
import { parseAnchors } from "./anchors.js";

const here = dirname(fileURLToPath(import.meta.url));
const shared = resolve(process.env.TSBPF_SHARED ?? join(here, "..", "..", "..", "shared"));
const REPS = Number(process.env.BENCH_REPS ?? 5);
const TARGET_MS = Number(process.env.BENCH_TARGET_MS ?? 1000);
const PROGRAMS = ["alu_loop", "stack_sieve"];

interface Row {
  program: string;
  executed: number;
  r0: string;
  minNs: number;
  medianNs: number;
  nsPerInsn: number;
  ubpfInterpNs?: number;
  ratio?: number;
}

function timeRuns(m: Machine, ms: number): { nsPerRun: number; runs: number; executed: number; r0: bigint } {
  let runs = 0;
  let executed = 0;
  let r0 = 0n;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    m.reset();
    const res = m.run();
    if (res.status !== "exit") throw new Error(res.fault.message);
    executed = res.executed;
    r0 = res.r0;
    runs++;
    t = performance.now();
  }
  return { nsPerRun: ((t - t0) * 1e6) / runs, runs, executed, r0 };
}

function main(): void {
  const objDir = join(shared, "bench", "obj");
  if (!existsSync(objDir)) {
    console.error(`bench: ${objDir} not found; set TSBPF_SHARED to the shared directory`);
    process.exit(1);
  }
  const anchorsPath = join(shared, "bench", "ANCHORS.md");
  const anchors = existsSync(anchorsPath) ? parseAnchors(readFileSync(anchorsPath, "utf8")) : new Map();
  const space = new AddressSpace();
  const rows: Row[] = [];
  for (const name of PROGRAMS) {
    const insns = decodeProgram(new Uint8Array(readFileSync(join(objDir, `${name}.xdp.bin`))));
    const m = new Machine(predecode(insns), space);
    // Warm-up: until two consecutive half-second windows agree within 5% (tier-up done), at most 6 s.
    let prev = Infinity;
    for (let i = 0; i < 12; i++) {
      const w = timeRuns(m, 500).nsPerRun;
      if (Math.abs(w - prev) / w < 0.05) break;
      prev = w;
    }
    const samples: number[] = [];
    let last = { executed: 0, r0: 0n };
    for (let i = 0; i < REPS; i++) {
      const r = timeRuns(m, TARGET_MS);
      samples.push(r.nsPerRun);
      last = r;
    }
    samples.sort((a, b) => a - b);
    const median = samples[Math.floor(samples.length / 2)]!;
    const ubpf = anchors.get(name)?.columns.get("uBPF interp ns");
    const row: Row = {
      program: name,
      executed: last.executed,
      r0: `0x${last.r0.toString(16)}`,
      minNs: samples[0]!,
      medianNs: median,
      nsPerInsn: median / last.executed,
    };
    if (ubpf !== undefined) {
      row.ubpfInterpNs = ubpf.median;
      row.ratio = median / ubpf.median;
    }
    rows.push(row);
    m.close();
  }
  if (process.env.BENCH_JSON === "1" || process.argv.includes("--json")) {
    console.log(JSON.stringify({ node: process.version, rows }, null, 2));
    return;
  }
  console.log(`tsbpf interpreter bench (node ${process.version}; ${REPS} x ${TARGET_MS} ms per program; ns per program run)`);
  console.log("");
  console.log("| program | executed insns | r0 | interp min ns | interp median ns | ns/insn | uBPF interp ns (ANCHORS) | interp / uBPF |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
    console.log(`| ${r.program} | ${r.executed.toLocaleString("en-US")} | ${r.r0} | ${fmt(r.minNs)} | ${fmt(r.medianNs)} | ${r.nsPerInsn.toFixed(2)} | ${r.ubpfInterpNs === undefined ? "–" : fmt(r.ubpfInterpNs)} | ${r.ratio === undefined ? "–" : `${r.ratio.toFixed(2)}x`} |`);
  }
}

main();
