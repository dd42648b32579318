/**
 * The verifier: a static safety proof with the Linux kernel's semantics
 * (kernel/bpf/verifier.c), as an abstract interpreter split by concern:
 *
 *   tnum.ts, bounds.ts   pure value domains (tristate numbers, s64/u64/s32/u32 ranges)
 *   state.ts             register and stack state, frames, references
 *   structure.ts         check_cfg: sizes, jumps, reachability, subprograms, liveness
 *   alu.ts jmp.ts mem.ts call.ts   transfer functions per instruction family
 *   ctx.ts helpers-table.ts retval.ts   per program type ctx rules, helper prototypes, return codes
 *   states.ts            state equivalence and pruning
 *   precision.ts         precision tracking (which scalars' values pruning must compare)
 *   driver.ts log.ts     the walk (do_check) and the kernel-format log
 *
 * Speed (npm run bench:verifier: within 2x of the kernel on the bench objects): the
 * value domains run on int32 pairs, not bigints (test/verifier/reference/ keeps the
 * bigint transcription, and reference.test.ts checks both agree exactly); registers
 * are immutable objects of one shape (state.ts mkReg; their numeric fields must stay
 * int32, or V8 deprecates the shape); the walk reads per-slot kind codes rather than
 * the instruction objects' kinds; nothing is formatted for the log at level 0.
 *
 * What it leaves out, for now (the kernel has them):
 *  - stack slot liveness (all stack slots are compared), and precision backtracking
 *    across subprogram and callback calls (every scalar of the path becomes precise
 *    there, as the kernel's own fallback does): sound, prunes less, so processed
 *    instruction counts can be higher;
 *  - BTF-typed pointers (global functions are verified on their own from their BTF
 *    prototype, globals.ts, but arguments are scalars, ctx or sized memory only),
 *    kfuncs, dynptrs, iterators, kptrs, timers,
 *    arena, may_goto, exceptions, sleepable programs;
 *  - speculative-execution (Spectre) path simulation for unprivileged programs;
 *  - program types beyond xdp, tc, socket filter, cgroup skb, cgroup sock, cgroup
 *    sock_addr, kprobe, tracepoint, raw tracepoint, perf event and syscall ctx rules;
 *  - socket pointers beyond sock / sock_common (tcp_sock, xdp_sock, bpf_sk_fullsock
 *    and the other casts; tsbpf's runtime has no sockets, its bpf_sk_lookup_* find none);
 *  - the instruction rewrites (ctx conversion, helper inlining) — tsbpf's engines
 *    run the program as written.
 */
import { TsbpfError } from "../errors/index.js";
import type { Insn } from "../isa/index.js";
import type { MapSpec } from "../maps/index.js";
import { parseProgramType } from "../progtypes/index.js";
import { doCheck, type WalkStats } from "./driver.js";
import { Env, VerifyFail, EINVAL, type MapEntry } from "./env.js";
import { BPF_COMPLEXITY_LIMIT_INSNS, checkMaxStackDepth, checkStructure } from "./structure.js";
import { globalEntryFrame, prepareGlobal, subprogChangesPktData } from "./globals.js";
import { resolveType, type BtfFunc } from "../btf/index.js";
import type { ProgramTypeName } from "../progtypes/index.js";

export interface VerifierInput {
  readonly insns: readonly Insn[];
  /** "xdp" or "BPF_PROG_TYPE_XDP". */
  readonly progType: string;
  /**
   * The maps the program refers to: ld_imm64 with map_idx / map_fd / map_idx_value
   * name them by `index`; bound programs (pseudo "imm") by `address` (the map's
   * CONST_PTR_TO_MAP address) or `valueAddress` (its value, for global data).
   */
  readonly maps?: ReadonlyArray<{ index: number; address?: number; valueAddress?: number; spec: MapSpec; name: string; frozenValue?: Uint8Array }>;
  /** CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN (root); default true. */
  readonly privileged?: boolean;
  /** 0: no log, 1: the failing path and states (the kernel's level 1), 2: every path. Default 1. */
  readonly logLevel?: 0 | 1 | 2;
  /**
   * Characters of log kept: a longer log keeps its tail, as the kernel's rotating log
   * keeps the last log_size bytes. Default 16 MiB (libbpf's BPF_LOG_BUF_SIZE).
   */
  readonly logSize?: number;
  readonly lineInfo?: ReadonlyArray<{ pc: number; fileName: string; line: string; lineNumber: number; column: number }>;
  readonly funcInfo?: ReadonlyArray<{ pc: number; func: unknown }>;
  /** enum bpf_attach_type name, e.g. "BPF_CGROUP_INET_EGRESS". */
  readonly expectedAttachType?: string;
  /** The program's license (gpl_only helpers need a GPL-compatible one); default "GPL". */
  readonly license?: string;
}

export interface VerifierStats {
  readonly processed: number;
  readonly maxStatesPerInsn: number;
  readonly totalStates: number;
  readonly peakStates: number;
  readonly markRead: number;
  /** Stack depth of each subprogram, as `stack depth 32+0` prints it. */
  readonly stackDepth: number[];
}

export interface VerifierResult {
  readonly accepted: boolean;
  /** The kernel-format log lines. */
  readonly log: string[];
  readonly error?: VerifierError;
  readonly stats: VerifierStats;
}

/**
 * A program the verifier rejects. `message` is the last log line, plus the line
 * before it when that one explains it (as cilium/ebpf prints VerifierError).
 */
export class VerifierError extends TsbpfError {
  readonly pc: number;
  readonly source: { file: string; line: number; text: string } | undefined;
  readonly log: string[];
  /** The errno bpf(BPF_PROG_LOAD) would return (EACCES, EINVAL, E2BIG ...). */
  readonly errno: number;
  constructor(pc: number, log: string[], errno: number, source?: { file: string; line: number; text: string }) {
    super("EVERIFY", errorMessage(log));
    this.pc = pc;
    this.log = log;
    this.errno = errno;
    this.source = source;
  }
}

/** Lines that only make sense after the one before (cilium's includePreviousLine). */
function explainedByPrevious(line: string): boolean {
  return /^R\d+ offset is outside of the packet$/.test(line) || / would lead to reference leak$/.test(line) ||
    /^R\d+ (min|max) value is outside of the allowed memory range$/.test(line) || line.startsWith("old state:") ||
    /!read_ok$/.test(line) || line.startsWith("\t");
}

function errorMessage(log: string[]): string {
  let lines = log;
  if (lines.length > 0 && lines[lines.length - 1]!.startsWith("processed ")) lines = lines.slice(0, -1);
  const n = lines.length;
  if (n === 0) return "verifier rejected the program";
  const loop = lines.slice(-3).find((l) => l.startsWith("infinite loop detected at insn "));
  if (loop !== undefined) return loop;
  const last = lines[n - 1]!;
  if (n >= 2 && explainedByPrevious(last)) return `${lines[n - 2]!}: ${last}`;
  return last;
}

const isGpl = (license: string): boolean =>
  ["GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"].includes(license);

/** check_btf_func(): the functions whose prototype does not return a scalar (btf_type_is_small_int or an enum). */
function nonScalarReturns(funcInfo: VerifierInput["funcInfo"]): Set<number> {
  const out = new Set<number>();
  for (const rec of funcInfo ?? []) {
    const func = rec.func as Partial<BtfFunc> | undefined;
    if (func?.kind !== "func" || func.proto === undefined) continue;
    const ret = resolveType(func.proto.ret);
    const scalar = (ret.kind === "int" && ret.size <= 8) || ret.kind === "enum" || ret.kind === "enum64";
    if (!scalar) out.add(rec.pc);
  }
  return out;
}

/** The global functions of func_info (BTF_FUNC_GLOBAL linkage), by their first instruction. */
function collectGlobals(env: Env, funcInfo: VerifierInput["funcInfo"], progType: ProgramTypeName): void {
  for (const rec of funcInfo ?? []) {
    const func = rec.func as Partial<BtfFunc> | undefined;
    if (func?.kind !== "func" || func.linkage !== "global" || rec.pc === 0) continue;
    const subprog = env.subprogs.findIndex((s) => s.start === rec.pc);
    if (subprog <= 0) continue;
    env.globalFuncs.set(rec.pc, prepareGlobal(func as BtfFunc, subprog, progType));
  }
}

/** Verifies one program as BPF_PROG_LOAD would. */
export function verifyProgram(input: VerifierInput): VerifierResult {
  const res = verifyOnce(input, input.logLevel ?? 1);
  if (res.accepted || (input.logLevel ?? 1) !== 0) return res;
  // As libbpf does: run again with a log to explain the rejection.
  const again = verifyOnce(input, 1);
  return { ...res, ...(again.error !== undefined ? { error: again.error } : {}) };
}

function verifyOnce(input: VerifierInput, logLevel: 0 | 1 | 2): VerifierResult {
  const progType = parseProgramType(input.progType);
  const maps: MapEntry[] = (input.maps ?? []).map((m) => ({ ...m }));
  const stats: WalkStats = {
    processed: 0, totalStates: 0, peakStates: 0, liveStates: 0, maxStatesPerInsn: 0,
    jmpsProcessed: 0, prevJmpsProcessed: 0, insnProcessed: 0, prevInsnProcessed: 0,
  };
  const env = new Env({
    insns: input.insns,
    progType: progType ?? "BPF_PROG_TYPE_UNSPEC",
    privileged: input.privileged ?? true,
    maps,
    logLevel,
    ...(input.logSize !== undefined ? { logSize: input.logSize } : {}),
    ...(input.lineInfo !== undefined ? { lineInfo: input.lineInfo } : {}),
    ...(input.expectedAttachType !== undefined ? { expectedAttachType: input.expectedAttachType } : {}),
    gpl: isGpl(input.license ?? "GPL"),
    hasFuncInfo: (input.funcInfo?.length ?? 0) > 0,
    nonScalarReturn: nonScalarReturns(input.funcInfo),
  });
  let error: VerifierError | undefined;
  try {
    if (progType === undefined) env.fail(`unknown program type '${input.progType}'`, EINVAL);
    const cfg = checkStructure(env);
    if (logLevel === 2) {
      for (let i = 0; i < env.subprogs.length; i++) env.verbose(`func#${i} @${env.subprogs[i]!.start}\n`);
    }
    collectGlobals(env, input.funcInfo, progType ?? "BPF_PROG_TYPE_UNSPEC");
    for (const g of env.globalFuncs.values()) g.changesPktData = subprogChangesPktData(env, cfg.callees, g.subprog);
    doCheck(env, cfg, stats);
    // do_check_subprogs(): every global function a verified path called, once.
    for (let k = 0; k < env.calledGlobals.length; k++) {
      const start = env.calledGlobals[k]!;
      const g = env.globalFuncs.get(start)!;
      env.verbose(`Validating ${g.name}() func#${g.subprog}...\n`);
      env.checkingGlobal = g;
      doCheck(env, cfg, stats, { start, frame: globalEntryFrame(env, g, start) });
      env.checkingGlobal = undefined;
      if (logLevel === 2) env.verbose(`Func#${g.subprog} ('${g.name}') is safe for any args that match its prototype\n`);
    }
    checkMaxStackDepth(env, cfg);
  } catch (e) {
    if (!(e instanceof VerifyFail)) throw e;
    const pc = env.insnIdx;
    error = new VerifierError(pc, [], e.errno, env.sourceOf(pc));
  }
  const s = stats;
  env.verbose(
    `processed ${s.processed} insns (limit ${BPF_COMPLEXITY_LIMIT_INSNS}) max_states_per_insn ${s.maxStatesPerInsn} total_states ${s.totalStates} peak_states ${s.peakStates} mark_read 0\n`,
  );
  const log = env.log.lines();
  const stackDepth = env.subprogs.map((sp) => sp.stackDepth);
  if (error !== undefined) {
    const full = logLevel === 0 ? [] : log;
    error = new VerifierError(error.pc, full, error.errno, error.source);
  }
  return {
    accepted: error === undefined,
    log,
    ...(error !== undefined ? { error } : {}),
    stats: { processed: s.processed, maxStatesPerInsn: s.maxStatesPerInsn, totalStates: s.totalStates, peakStates: s.peakStates, markRead: 0, stackDepth },
  };
}

export { Env } from "./env.js";
export * from "./tnum.js";
export * as bounds from "./bounds.js";
export type { Reg, RegType, VState } from "./state.js";
export { insnText } from "./driver.js";
export { verifierInputFor } from "./object.js";
