/**
 * `tsbpf run PROG [--mem FILE] [--repeat N] [--trace] [--engine interp|jit]`: runs a
 * program in checked mode with r1 = a private copy of the input memory and r2 its
 * length (the conformance convention), and prints r0 in hex and decimal, the number
 * of executed instructions and the time per run. --repeat N runs it N times like
 * BPF_PROG_TEST_RUN's repeat (each run sees the original memory). An object's packet
 * program goes through the runtime's BPF_PROG_TEST_RUN instead, verified first.
 *
 * Engines follow the runtime's choice (EngineChoice in src/runtime/program.ts): by
 * default the JIT for verified programs, the interpreter for raw ones (never
 * verified); --engine jit runs raw programs on the checked JIT. --trace steps the
 * interpreter, so it refuses --engine jit.
 */
import { formatLlvm } from "../../asm/index.js";
import type { Insn } from "../../isa/index.js";
import { AddressSpace, Machine, predecode, runTraced, TraceSummarizer, type RunResult, type TraceEvent, DEFAULT_BUDGET } from "../../vm/index.js";
import { JitMachine } from "../../jit/index.js";
import { conformanceHelpers } from "../../conformance/index.js";
import { CliFailure, readInput, type CliIo } from "../io.js";
import { isElf, loadProgramInput, type InputFormat } from "../program-input.js";
import { basename } from "node:path";
import { loadCollectionSpec } from "../../elf/index.js";
import { Runtime, loadCollection, ProgramFault } from "../../runtime/index.js";
import { parseHexBytes } from "./plugin.js";

export interface RunCommandOptions {
  mem?: string;
  memHex?: string;
  repeat?: string;
  trace?: boolean;
  traceLimit?: string;
  budget?: string;
  format?: InputFormat;
  section?: string;
  engine?: CliEngine;
}

/** --engine: unset means the runtime's default (the JIT for verified programs, the interpreter otherwise). */
export type CliEngine = "interp" | "jit";

/** What --trace says when combined with --engine jit. */
export const TRACE_NEEDS_INTERP = "--trace needs the interpreter: the JIT runs compiled WebAssembly and cannot step or trace (drop --engine jit, or use --engine interp)";

const ENGINE_NAME = { interp: "interpreter", jit: "JIT" } as const;

const hex64 = (v: bigint): string => `0x${v.toString(16)}`;

export function formatTraceEvent(ev: TraceEvent): string {
  const text = `${String(ev.pc).padStart(5)}: ${"  ".repeat(ev.depth)}${formatLlvm(ev.insn)}`;
  const regs = ev.changed.map((c) => `r${c.reg}=${hex64(c.value)}`).join(" ");
  return regs === "" ? text : `${text.padEnd(48)} ; ${regs}`;
}

function positiveInt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliFailure(`--${name} must be a positive integer, got '${v}'`);
  return n;
}

export function runCommand(file: string, opts: RunCommandOptions, io: CliIo): number {
  if (opts.trace === true && opts.engine === "jit") throw new CliFailure(TRACE_NEEDS_INTERP);
  const bytes = readInput(io, file, "program");
  if (isElf(bytes) && (opts.format === undefined || opts.format === "auto" || opts.format === "elf")) {
    const done = runObjectProgram(file, bytes, opts, io);
    if (done !== undefined) return done;
  }
  const input = loadProgramInput(bytes, { format: opts.format ?? "auto", ...(opts.section !== undefined ? { section: opts.section } : {}) });
  let memory = new Uint8Array(0);
  if (opts.mem !== undefined && opts.memHex !== undefined) throw new CliFailure("give either --mem or --mem-hex, not both");
  if (opts.mem !== undefined) memory = new Uint8Array(readInput(io, opts.mem, "memory file"));
  if (opts.memHex !== undefined) memory = new Uint8Array(parseHexBytes(opts.memHex));
  const repeat = positiveInt(opts.repeat, "repeat", 1);
  const budget = positiveInt(opts.budget, "budget", DEFAULT_BUDGET);
  return execute(input.insns, memory, { repeat, budget, trace: opts.trace === true, traceLimit: positiveInt(opts.traceLimit, "trace-limit", 10_000), engine: opts.engine ?? "interp" }, io);
}

const CTX_TYPES = new Set(["xdp", "socket_filter", "sched_cls", "sched_act", "cgroup_skb"]);

/**
 * An object's program whose type has a packet ctx runs through BPF_PROG_TEST_RUN (the
 * input memory is the packet; 64 zero bytes when none is given, as the bench's uBPF
 * harness does). Returns undefined for other program types, which then run in the
 * conformance convention on their section's bytes.
 */
function runObjectProgram(file: string, bytes: Uint8Array, opts: RunCommandOptions, io: CliIo): number | undefined {
  const spec = loadCollectionSpec(bytes, { name: basename(file).split(".")[0] ?? "obj" });
  const p = opts.section === undefined ? spec.programs[0] : spec.programs.find((x) => x.section === opts.section || x.name === opts.section);
  if (p === undefined || !CTX_TYPES.has(p.type)) return undefined;
  let data = new Uint8Array(64);
  if (opts.mem !== undefined) data = new Uint8Array(readInput(io, opts.mem, "memory file"));
  if (opts.memHex !== undefined) data = new Uint8Array(parseHexBytes(opts.memHex));
  const repeat = positiveInt(opts.repeat, "repeat", 1);
  const rt = new Runtime({ budget: positiveInt(opts.budget, "budget", DEFAULT_BUDGET) });
  // count: the report below gives executed instructions on the verified JIT too.
  const col = loadCollection(rt, spec, { programs: [p.name], count: true, ...(opts.engine !== undefined ? { engine: opts.engine } : {}) });
  try {
    const prog = col.programs.get(p.name)!;
    if (opts.trace === true) {
      // One run, stepped on the interpreter through BPF_PROG_TEST_RUN's ctx and packet.
      const printer = tracePrinter(io, positiveInt(opts.traceLimit, "trace-limit", 10_000));
      const r = prog.testRun({ dataIn: data, engine: "interp", trace: printer.event });
      printer.summary();
      io.out(`r0 = ${hex64(r.r0)} (${r.r0})\n`);
      io.out(`executed ${r.executed} instructions (${p.type} program ${p.name}, BPF_PROG_TEST_RUN, ${ENGINE_NAME.interp})\n`);
      for (const line of rt.traceLines) io.err(`trace: ${line}\n`);
      return 0;
    }
    const r = prog.testRun({ dataIn: data, repeat });
    io.out(`r0 = ${hex64(r.r0)} (${r.r0})\n`);
    io.out(`executed ${r.executed} instructions\n`);
    const per = r.durationNs;
    const unit = per >= 1e6 ? `${(per / 1e6).toFixed(3)} ms` : per >= 1e3 ? `${(per / 1e3).toFixed(3)} us` : `${Math.round(per)} ns`;
    io.out(`time ${unit}/run over ${repeat} run${repeat === 1 ? "" : "s"} (${p.type} program ${p.name}, BPF_PROG_TEST_RUN, ${ENGINE_NAME[prog.engine]}${prog.jitMode === "verified" ? " verified" : ""})\n`);
    for (const line of rt.traceLines) io.err(`trace: ${line}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ProgramFault) {
      io.out(`fault: ${e.fault.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    col.close();
  }
}

export interface ExecuteOptions {
  repeat: number;
  budget: number;
  trace: boolean;
  traceLimit: number;
  /** Default the interpreter; --trace always runs on it. */
  engine?: CliEngine;
}

/** Runs and reports; returns the exit status (0 exit, 2 fault). Shared with the demo. */
export function execute(insns: readonly Insn[], memory: Uint8Array, o: ExecuteOptions, io: CliIo): number {
  const space = new AddressSpace();
  const program = predecode(insns);
  const engine: CliEngine = o.trace ? "interp" : (o.engine ?? "interp");
  const opts = { helpers: conformanceHelpers(), budget: o.budget };
  const machine = engine === "jit" ? new JitMachine(program, space, { ...opts, mode: "checked" }) : new Machine(program, space, opts);
  const region = space.mapBytes(memory.length > 0 ? memory : new Uint8Array(1), { name: "mem", kind: "mem" });
  const args = { r1: memory.length > 0 ? BigInt(region.start) : 0n, r2: BigInt(memory.length) };
  let result: RunResult;
  let elapsedNs = 0;
  if (o.trace) {
    machine.reset(args);
    const printer = tracePrinter(io, o.traceLimit);
    result = runTraced(machine as Machine, printer.event);
    printer.summary();
  } else {
    let last: RunResult | undefined;
    const t0 = performance.now();
    for (let i = 0; i < o.repeat; i++) {
      if (memory.length > 0) space.u8.set(memory, region.start);
      machine.reset(args);
      last = machine.run();
      if (last.status === "fault") break;
    }
    elapsedNs = (performance.now() - t0) * 1e6;
    result = last!;
  }
  machine.close();
  if (result.status === "fault") {
    io.out(`fault: ${result.fault.message}\n`);
    io.out(`executed ${result.executed} instructions\n`);
    return 2;
  }
  io.out(`r0 = ${hex64(result.r0)} (${result.r0})\n`);
  io.out(`executed ${result.executed} instructions\n`);
  if (!o.trace) {
    const per = elapsedNs / o.repeat;
    const unit = per >= 1e6 ? `${(per / 1e6).toFixed(3)} ms` : per >= 1e3 ? `${(per / 1e3).toFixed(3)} us` : `${Math.round(per)} ns`;
    io.out(`time ${unit}/run over ${o.repeat} run${o.repeat === 1 ? "" : "s"}${result.executed > 0 ? ` (${(per / result.executed).toFixed(2)} ns/insn)` : ""} on the ${ENGINE_NAME[engine]}${engine === "jit" ? " (checked)" : ""}\n`);
  }
  return 0;
}

/** Prints trace events (up to `limit` lines) and, at the end, the trace summary. */
function tracePrinter(io: CliIo, limit: number): { event: (e: TraceEvent) => void; summary: () => void } {
  const sum = new TraceSummarizer();
  let printed = 0;
  return {
    event: (e) => {
      sum.add(e);
      if (printed < limit) io.out(`${formatTraceEvent(e)}\n`);
      else if (printed === limit) io.out(`... (trace limited to ${limit} lines; --trace-limit N)\n`);
      printed++;
    },
    summary: () => {
      const s = sum.summary();
      io.out(`\ntrace summary: ${s.executed} instructions, ${s.takenBranches} taken branches, max call depth ${s.maxDepth}\n`);
      io.out(`  by kind: ${[...s.byKind.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")}\n`);
      io.out(`  hottest: ${s.hottest.map((h) => `pc ${h.pc} (${h.count}x)`).join(", ")}\n`);
    },
  };
}
