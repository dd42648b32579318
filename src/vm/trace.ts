/**
 * Tracing on top of the step API: each executed instruction with the registers it
 * changed, the way `--trace` and a debugger show it. Stepping costs a call per
 * instruction, so tracing is for debugging, never for timing.
 */
import type { Insn } from "../isa/index.js";
import type { Machine, RunResult } from "./interpreter.js";
import { NUM_REGS } from "./program.js";

export interface RegChange {
  readonly reg: number;
  readonly value: bigint;
}

export interface TraceEvent {
  /** 1-based count of executed instructions. */
  readonly index: number;
  readonly pc: number;
  readonly insn: Insn;
  /** Call depth when the instruction ran (0 = main program). */
  readonly depth: number;
  readonly changed: readonly RegChange[];
}

/** Steps `m` to completion, yielding one event per executed instruction; returns the final result. */
export function* traceRun(m: Machine): Generator<TraceEvent, RunResult, void> {
  const lo = new Int32Array(NUM_REGS);
  const hi = new Int32Array(NUM_REGS);
  for (;;) {
    const pc = m.pc;
    const insn = m.currentInsn;
    const depth = m.depth;
    lo.set(m.lo.subarray(0, NUM_REGS));
    hi.set(m.hi.subarray(0, NUM_REGS));
    const res = m.step();
    if (res.status === "fault" || insn === undefined) return res as RunResult;
    const changed: RegChange[] = [];
    for (let r = 0; r < NUM_REGS; r++) {
      if (m.lo[r] !== lo[r] || m.hi[r] !== hi[r]) changed.push({ reg: r, value: m.getReg(r) });
    }
    yield { index: m.executed, pc, insn, depth, changed };
    if (res.status !== "running") return res;
  }
}

/** Runs `m` to completion through traceRun, handing each event to `onEvent`. */
export function runTraced(m: Machine, onEvent: (event: TraceEvent) => void): RunResult {
  const it = traceRun(m);
  for (;;) {
    const n = it.next();
    if (n.done === true) return n.value;
    onEvent(n.value);
  }
}

export interface TraceSummary {
  readonly executed: number;
  /** Executed instructions per kind (alu, jmp, ldx, ...). */
  readonly byKind: ReadonlyMap<string, number>;
  readonly maxDepth: number;
  readonly takenBranches: number;
  readonly hottest: ReadonlyArray<{ pc: number; count: number }>;
}

/** Accumulates a summary over trace events. */
export class TraceSummarizer {
  private executed = 0;
  private readonly byKind = new Map<string, number>();
  private readonly perPc = new Map<number, number>();
  private maxDepth = 0;
  private taken = 0;
  private prev: TraceEvent | undefined;

  add(ev: TraceEvent): void {
    this.executed++;
    this.byKind.set(ev.insn.kind, (this.byKind.get(ev.insn.kind) ?? 0) + 1);
    this.perPc.set(ev.pc, (this.perPc.get(ev.pc) ?? 0) + 1);
    this.maxDepth = Math.max(this.maxDepth, ev.depth);
    const p = this.prev;
    if (p !== undefined && (p.insn.kind === "jmp" || p.insn.kind === "ja") && ev.pc !== p.pc + 1 && ev.depth === p.depth) this.taken++;
    this.prev = ev;
  }

  summary(top = 5): TraceSummary {
    const hottest = [...this.perPc.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, top).map(([pc, count]) => ({ pc, count }));
    return { executed: this.executed, byKind: this.byKind, maxDepth: this.maxDepth, takenBranches: this.taken, hottest };
  }
}
