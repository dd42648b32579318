/**
 * The walk: do_check() of kernel/bpf/verifier.c. One path at a time from
 * instruction 0, each instruction checked by its family (alu.ts, jmp.ts, mem.ts,
 * call.ts), conditional jumps queueing the other branch (push_stack), states
 * compared at prune points (states.ts), paths ending at exit or when pruned, and
 * the processed-instruction limit of 1,000,000. Also ld_imm64 (check_ld_imm) and
 * the legacy packet loads (check_ld_abs), and the per-instruction log lines.
 */
import { formatXlated } from "../asm/index.js";
import { HELPER_IDS } from "../helpers/index.js";
import type {
  AluInsn, AtomicInsn, CallInsn, EndianInsn, Insn, JaInsn, JmpInsn, LdImm64Insn, LdPacketInsn, LdxInsn, StInsn, StxInsn,
} from "../isa/index.js";
import { checkAlu } from "./alu.js";
import { checkCondJmp } from "./jmp.js";
import { checkAtomic, checkLoad, checkStore } from "./mem.js";
import { checkHelperCall, checkLocalCall, checkResourceLeak, funcExit } from "./call.js";
import { checkReturnCode } from "./retval.js";
import {
  E2BIG, EACCES, EINVAL, K_ALU, K_ATOMIC, K_CALL, K_CALLX, K_END, K_JA, K_JMP, K_LD_ABS, K_LD_IMM64, K_LD_IND, K_LDX, K_ST, K_STX, type Env,
} from "./env.js";
import { Explored, pathDone, type ExploredStats } from "./states.js";
import { InsnHistory, markPrecise } from "./precision.js";
import { BPF_COMPLEXITY_LIMIT_INSNS, type Cfg } from "./structure.js";
import { alignment, stateStr } from "./log.js";
import { constScalar, curFrame, newFrame, ptrReg, ptrTo, unknownScalar, NOT_INIT, type Frame, type VState } from "./state.js";

const BPF_COMPLEXITY_LIMIT_JMP_SEQ = 8192;

const helperNames = new Map(HELPER_IDS.map((h) => [h.id, h.name] as const));
export const insnText = (insn: Insn): string => formatXlated(insn, { imm: "kernel", helperName: (id) => helperNames.get(id) });

export interface WalkStats extends ExploredStats {
  processed: number;
}

/** print_insn_state(): the scratched registers after the last instruction line, or on a line of its own. */
function printInsnState(env: Env): void {
  const frame = curFrame(env.cur);
  if (env.prevLogPos && env.prevLogPos === env.log.endPos) {
    env.log.reset(env.prevLogPos - 1);
    env.verbose(" ".repeat(alignment(env.prevInsnPrintPos)) + ";");
  } else {
    env.verbose(`${env.insnIdx}:`);
  }
  env.verbose(stateStr(env.cur, frame, false, env.scratch) + "\n");
  env.clearScratch();
}

function checkLdImm64(env: Env, insn: LdImm64Insn): void {
  env.checkWritable(insn.dst);
  switch (insn.pseudo) {
    case "imm": {
      const v = insn.value;
      for (const m of env.maps) {
        if (m.address !== undefined && BigInt(m.address) === v) {
          env.setReg(insn.dst, ptrTo("CONST_PTR_TO_MAP", { index: m.index, name: m.name, spec: m.spec }));
          return;
        }
        if (m.valueAddress !== undefined && v >= BigInt(m.valueAddress) && v < BigInt(m.valueAddress + m.spec.valueSize)) {
          env.setReg(insn.dst, ptrTo("PTR_TO_MAP_VALUE", { index: m.index, name: m.name, spec: m.spec }, Number(v - BigInt(m.valueAddress))));
          return;
        }
      }
      env.setReg(insn.dst, constScalar(v));
      return;
    }
    case "func":
      env.setReg(insn.dst, ptrReg("PTR_TO_FUNC", { subprog: insn.pc + 1 + insn.imm }));
      return;
    case "map_fd":
    case "map_idx":
    case "map_value":
    case "map_idx_value": {
      const byFd = insn.pseudo === "map_fd" || insn.pseudo === "map_value";
      const m = env.maps.find((x) => x.index === insn.imm) ?? (byFd ? env.maps[insn.imm] : undefined);
      if (m === undefined) env.fail(byFd ? `fd ${insn.imm} is not pointing to valid bpf_map` : `fd_idx ${insn.imm} is not valid`, EINVAL);
      const map = { index: m.index, name: m.name, spec: m.spec };
      if (insn.pseudo === "map_value" || insn.pseudo === "map_idx_value") {
        const off = insn.imm2 >>> 0;
        if (!["BPF_MAP_TYPE_ARRAY", "BPF_MAP_TYPE_PERCPU_ARRAY"].includes(m.spec.type)) env.fail("no direct value access support for this map type", EINVAL);
        if (off >= m.spec.valueSize) env.fail(`invalid access to map value pointer, value_size=${m.spec.valueSize} off=${off}`, EINVAL);
        env.setReg(insn.dst, ptrTo("PTR_TO_MAP_VALUE", map, off));
      } else {
        env.setReg(insn.dst, ptrTo("CONST_PTR_TO_MAP", map));
      }
      return;
    }
    default:
      env.fail("bpf verifier is misconfigured", EINVAL);
  }
}

function checkLdAbs(env: Env, insn: LdPacketInsn): void {
  const t = env.progType;
  if (t !== "BPF_PROG_TYPE_SOCKET_FILTER" && t !== "BPF_PROG_TYPE_SCHED_CLS" && t !== "BPF_PROG_TYPE_SCHED_ACT") {
    env.fail("BPF_LD_[ABS|IND] instructions not allowed for this program type", EINVAL);
  }
  const r6 = env.readReg(6);
  checkResourceLeak(env, "BPF_LD_[ABS|IND]", true);
  if (r6.type !== "PTR_TO_CTX") env.fail("at the time of BPF_LD_ABS|IND R6 != pointer to skb", EINVAL);
  if (insn.kind === "ld_ind") env.readReg(insn.src);
  if (r6.off) env.fail(`dereference of modified ctx ptr R6 off=${r6.off} disallowed`, EACCES);
  env.clobberCallerSaved();
  env.markRegScratched(0);
  env.setReg(0, unknownScalar());
}

interface Pending {
  st: VState;
  insn: number;
  prev: number;
  logPos: number;
  /** The instruction history's length when queued (its entries are the state's). */
  histEnd: number;
}

/**
 * do_check(): walks every path, from the main program's start or, with `entry`, a
 * global function's (do_check_common(env, subprog)). Throws VerifyFail on rejection.
 */
export function doCheck(env: Env, cfg: Cfg, stats: WalkStats, entry?: { start: number; frame: Frame }): WalkStats {
  const explored = new Explored(env, cfg, stats);
  const pending: Pending[] = [];
  const hist = InsnHistory.forProgram(env.len);
  env.hist = hist;
  env.markPrecise = (regno) => markPrecise(env, regno);
  env.push = (st, insn, prev) => {
    if (st.parent !== undefined) st.parent.branches++;
    pending.push({ st, insn, prev, logPos: env.log.endPos, histEnd: hist.cnt });
    if (pending.length > BPF_COMPLEXITY_LIMIT_JMP_SEQ) env.fail(`The sequence of ${pending.length} jumps is too complex.`, E2BIG);
  };
  let frame = entry?.frame;
  if (frame === undefined) {
    frame = newFrame(0, -1, 0);
    frame.regs[1] = ptrTo("PTR_TO_CTX", undefined);
  }
  env.cur = { frames: [frame], refs: [], lock: undefined, parent: undefined, unroll: 0, firstInsn: entry?.start ?? 0, histStart: 0 };
  env.insnIdx = entry?.start ?? 0;
  // No instruction before the entry (a global function's walk follows the main one's).
  env.prevInsnIdx = -1;
  env.markAllScratched();
  let doPrintState = false;
  const level = env.log.level;
  /** Ends the current path; false when nothing is left to explore. */
  const popNext = (): boolean => {
    pathDone(env.cur, stats);
    const e = pending.pop();
    if (e === undefined) return false;
    env.cur = e.st;
    env.insnIdx = e.insn;
    env.prevInsnIdx = e.prev;
    hist.cnt = e.histEnd;
    if (level === 1) env.log.reset(e.logPos);
    env.markAllScratched();
    doPrintState = true;
    return true;
  };
  const bySlot = env.bySlot;
  const code = env.code;
  /** Each instruction's log line, formatted once (a loop prints the same lines again and again). */
  const texts: Array<string | undefined> = level > 0 ? new Array<string | undefined>(env.len).fill(undefined) : [];
  for (;;) {
    const idx = env.insnIdx;
    const insn = bySlot[idx];
    if (insn === undefined) env.fail(`invalid insn idx ${idx} insn_cnt ${env.len}`, EINVAL);
    stats.processed++;
    stats.insnProcessed = stats.processed;
    if (stats.processed > BPF_COMPLEXITY_LIMIT_INSNS) {
      env.fail(`BPF program is too large. Processed ${stats.processed} insn`, E2BIG);
    }
    hist.visit = -1;
    if (cfg.prune[idx] === 1 && explored.visit(idx)) {
      if (level > 0) {
        if (doPrintState) env.verbose(`\nfrom ${env.prevInsnIdx} to ${idx}: safe\n`);
        else env.verbose(`${idx}: safe\n`);
      }
      if (!popNext()) break;
      continue;
    }
    // is_jmp_point(): how the path got here, for backtracking (after a new checkpoint: its path starts here).
    if (env.prevInsnIdx !== idx - 1) hist.arrive(idx, env.prevInsnIdx);
    if (level === 2 && doPrintState) {
      env.verbose(`\nfrom ${env.prevInsnIdx} to ${idx}:${stateStr(env.cur, curFrame(env.cur), true, undefined)}\n`);
      doPrintState = false;
    }
    if (level > 0) {
      if (env.scratched) printInsnState(env);
      env.linfo(idx, "; ");
      env.prevLogPos = env.log.endPos;
      let text = texts[idx];
      if (text === undefined) texts[idx] = text = `${idx}: ${insnText(insn)}`;
      // The newline as a chunk of its own: print_insn_state() takes it back to append the state.
      env.verbose(text);
      env.verbose("\n");
      env.prevInsnPrintPos = env.log.endPos - env.prevLogPos;
      env.prevLogPos = env.log.endPos;
    }
    env.prevInsnIdx = idx;
    // The kind from env.code (a megamorphic load on the instruction object otherwise).
    switch (code[idx]) {
      case K_ALU:
      case K_END:
        checkAlu(env, insn as AluInsn | EndianInsn);
        env.insnIdx = idx + 1;
        break;
      case K_LDX:
        checkLoad(env, insn as LdxInsn);
        env.insnIdx = idx + 1;
        break;
      case K_ST:
      case K_STX:
        checkStore(env, insn as StInsn | StxInsn);
        env.insnIdx = idx + 1;
        break;
      case K_ATOMIC:
        checkAtomic(env, insn as AtomicInsn);
        env.insnIdx = idx + 1;
        break;
      case K_LD_IMM64:
        checkLdImm64(env, insn as LdImm64Insn);
        env.insnIdx = idx + 2;
        break;
      case K_LD_ABS:
      case K_LD_IND:
        checkLdAbs(env, insn as LdPacketInsn);
        env.insnIdx = idx + 1;
        break;
      case K_JA:
        stats.jmpsProcessed++;
        env.insnIdx = idx + 1 + (insn as JaInsn).off;
        break;
      case K_JMP: {
        stats.jmpsProcessed++;
        const out = checkCondJmp(env, insn as JmpInsn);
        const target = idx + 1 + (insn as JmpInsn).off;
        if (out.kind === "both") env.push(out.other, target, idx);
        if (level > 0) printInsnState(env);
        env.insnIdx = out.kind === "taken" ? target : idx + 1;
        break;
      }
      case K_CALL: {
        stats.jmpsProcessed++;
        const call = insn as CallInsn;
        // bpf_tail_call returns only when it fails; the program goes on.
        if (call.target === "local") env.insnIdx = checkLocalCall(env, call);
        else if (call.target === "helper") env.insnIdx = checkHelperCall(env, call).next;
        else env.fail("calling kernel functions is not supported", EINVAL);
        break;
      }
      case K_CALLX:
        env.fail("unknown opcode 8d", EINVAL);
        break;
      default: {
        // K_EXIT
        stats.jmpsProcessed++;
        if (env.cur.frames.length > 1) {
          env.insnIdx = funcExit(env);
          break;
        }
        checkResourceLeak(env, "BPF_EXIT instruction in main prog", true);
        checkReturnCode(env);
        env.markAllScratched();
        if (!popNext()) return finish(env, cfg, stats);
        break;
      }
    }
  }
  return finish(env, cfg, stats);
}

/** check_max_stack_depth() runs once every walk is done (verifyOnce). */
function finish(env: Env, cfg: Cfg, stats: WalkStats): WalkStats {
  void env;
  void cfg;
  return stats;
}

export { NOT_INIT };
