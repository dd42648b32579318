/**
 * State equivalence and pruning: states_equal(), func_states_equal(), regsafe(),
 * stacksafe(), refsafe() and check_ids() of kernel/bpf/verifier.c, and the explored
 * state lists of is_state_visited() with its heuristics (add a state only every few
 * jumps and instructions unless forced, evict states that keep missing, never prune
 * against a state whose exploration is still under way except at callback calls,
 * report an infinite loop when a path comes back to an identical state).
 *
 * Precision (precision.ts): a scalar of an explored state that no path from it
 * needed exactly is not compared (regsafe()'s "!rold->precise && NOT_EXACT"); when
 * a path is pruned, the explored state's precise scalars are marked along it
 * (propagate_precision()). Registers that are dead (liveness from structure.ts) are
 * ignored, as clean_live_states() does.
 */
import { UNKNOWN, within, boundsEqual } from "./bounds.js";
import type { Cfg } from "./structure.js";
import { EINVAL, type Env } from "./env.js";
import {
  ALL_SPILL, STACK_INVALID, STACK_MISC, STACK_SPILL, STACK_ZERO, copyState, hasSpill, regWith, slotByte,
  type Checkpoint, type Frame, type Reg, type Slot, type VState,
} from "./state.js";
import { stateStr } from "./log.js";
import { markPathAllPrecise, newPrecMarks, propagatePrecision, regPrecise, slotPrecise } from "./precision.js";
import { scalarReg } from "./state.js";

export const BPF_COMPLEXITY_LIMIT_STATES = 64;

type Exact = "not_exact" | "range_within" | "exact";

/**
 * check_ids(): the id pairs seen so far must form a bijection. Few ids are live at a
 * time, so the pairs are two parallel arrays (linear search), reused across comparisons.
 */
class IdMap {
  private olds: number[] = [];
  private curs: number[] = [];
  private n = 0;
  reset(): this {
    this.n = 0;
    return this;
  }
  check(oldId: number, curId: number): boolean {
    if (oldId === 0 && curId === 0) return true;
    if (oldId === 0 || curId === 0) return false;
    const n = this.n;
    const olds = this.olds;
    const curs = this.curs;
    for (let i = 0; i < n; i++) {
      const o = olds[i]!;
      const c = curs[i]!;
      if (o === oldId) return c === curId;
      if (c === curId) return false;
    }
    olds[n] = oldId;
    curs[n] = curId;
    this.n = n + 1;
    return true;
  }
  /** check_scalar_ids(): an old id of 0 means "unlinked", which any current id satisfies. */
  checkScalar(oldId: number, curId: number): boolean {
    if (oldId === 0) return true;
    if (curId === 0) curId = -(this.n + 1000000);
    return this.check(oldId, curId);
  }
}

const ID_MAP = new IdMap();

function sameFixed(a: Reg, b: Reg): boolean {
  return a.type === b.type && a.maybeNull === b.maybeNull && a.ringbuf === b.ringbuf && a.rdonly === b.rdonly && a.off === b.off &&
    a.map?.index === b.map?.index && a.map?.spec === b.map?.spec && a.memSize === b.memSize && a.frameno === b.frameno && a.subprog === b.subprog;
}

function regsExact(a: Reg, b: Reg, ids: IdMap): boolean {
  return sameFixed(a, b) && a.range === b.range && boundsEqual(a.b, b.b) && ids.check(a.id, b.id) && ids.check(a.refObjId, b.refObjId);
}

/** regsafe(). `precise`: old is a precise scalar (or compared as one). */
function regsafe(old: Reg, cur: Reg, ids: IdMap, exact: Exact, precise = true): boolean {
  if (old.type === "NOT_INIT") return exact !== "exact" || cur.type === "NOT_INIT";
  if (cur.type === "NOT_INIT") return false;
  if (exact === "exact") return regsExact(old, cur, ids);
  if (old.type !== cur.type || old.maybeNull !== cur.maybeNull || old.ringbuf !== cur.ringbuf || old.rdonly !== cur.rdonly) return false;
  switch (old.type) {
    case "SCALAR_VALUE":
      if (!precise && exact === "not_exact") return true;
      return ids.checkScalar(old.id, cur.id) && within(old.b, cur.b);
    case "PTR_TO_MAP_KEY":
    case "PTR_TO_MAP_VALUE":
    case "PTR_TO_MEM":
      return sameFixed(old, cur) && within(old.b, cur.b) && ids.check(old.id, cur.id) && ids.check(old.refObjId, cur.refObjId);
    case "PTR_TO_PACKET":
    case "PTR_TO_PACKET_META":
      if (old.range < 0 || cur.range < 0) {
        if (old.range !== cur.range) return false;
      } else if (old.range > cur.range) return false;
      if (old.off !== cur.off) return false;
      if (!ids.check(old.id, cur.id)) return false;
      return within(old.b, cur.b);
    case "PTR_TO_STACK":
      return regsExact(old, cur, ids);
    default:
      return regsExact(old, cur, ids);
  }
}

/** A load of eight STACK_MISC bytes: an unbound scalar (unbound_reg, never precise). */
const UNBOUND_REG: Reg = scalarReg(UNKNOWN);

/** A stack slot as the 64-bit scalar a load of it gives (scalar_reg_for_stack()). */
function scalarForSlot(env: Env, s: Slot | undefined): Reg | undefined {
  if (s === undefined) return undefined;
  if (s.types === ALL_SPILL && s.spilled?.type === "SCALAR_VALUE") return s.spilled;
  // is_stack_all_misc(): every byte STACK_MISC (or STACK_INVALID, when uninitialised stack reads are allowed).
  for (let j = 0; j < 8; j++) {
    const c = slotByte(s.types, j);
    if (c !== STACK_MISC && !(c === STACK_INVALID && env.privileged)) return undefined;
  }
  return UNBOUND_REG;
}

/** stacksafe(). `cp`/`k`: the explored state's precise marks and the frame's index (undefined: all precise). */
function stacksafe(env: Env, old: Frame, cur: Frame, ids: IdMap, exact: Exact, cp: Checkpoint | undefined, k: number): boolean {
  for (let spi = 0; spi < old.stack.length; spi++) {
    const os = old.stack[spi]!;
    const cs = cur.stack[spi];
    if (exact === "exact") {
      const ct = cs?.types ?? STACK_INVALID;
      if (os.types !== ct) return false;
      if (hasSpill(os.types) && !regsafe(os.spilled!, cs!.spilled!, ids, exact)) return false;
      continue;
    }
    if (os.types === STACK_INVALID) continue;
    const ct = cs?.types ?? STACK_INVALID;
    const oReg = scalarForSlot(env, os);
    const cReg = scalarForSlot(env, cs);
    if (oReg !== undefined && cReg !== undefined) {
      const precise = oReg !== UNBOUND_REG && (cp === undefined || slotPrecise(cp, k, spi));
      if (!regsafe(oReg, cReg, ids, exact, precise)) return false;
      continue;
    }
    if (os.types !== ct) {
      for (let j = 0; j < 8; j++) {
        const oc = slotByte(os.types, j);
        const cc = slotByte(ct, j);
        if (oc === STACK_INVALID) continue;
        if (env.privileged && oc === STACK_MISC) continue;
        if (oc !== cc) {
          // Safe with unknown data, so safe with zeroes (the opposite is not true).
          if (oc === STACK_MISC && cc === STACK_ZERO) continue;
          return false;
        }
      }
    }
    if (slotByte(os.types, 7) === STACK_SPILL && os.spilled !== undefined) {
      const precise = cp === undefined || slotPrecise(cp, k, spi);
      if (cs?.spilled === undefined || !regsafe(os.spilled, cs.spilled, ids, exact, precise)) return false;
    }
  }
  return true;
}

function frameEqual(env: Env, old: Frame, cur: Frame, live: number, ids: IdMap, exact: Exact, cp: Checkpoint | undefined, k: number): boolean {
  for (let i = 0; i < 11; i++) {
    if (i !== 10 && (live & (1 << i)) === 0) continue;
    if (!regsafe(old.regs[i]!, cur.regs[i]!, ids, exact, cp === undefined || regPrecise(cp, k, i))) return false;
  }
  return stacksafe(env, old, cur, ids, exact, cp, k);
}

/** The registers live in frame k of `old` (a state at `insn`): before insn, or after the call frame k made. */
function liveIn(cfg: Cfg, old: VState, k: number, insn: number): number {
  const at = k === old.frames.length - 1 ? insn : old.frames[k + 1]!.callsite;
  return cfg.liveBefore[at] ?? 0x7ff;
}

/**
 * states_equal(). `cp`: the explored state's checkpoint, whose imprecise scalars are
 * not compared (undefined, or an unprivileged program: every scalar is compared).
 */
export function statesEqual(env: Env, cfg: Cfg, old: VState, cur: VState, insn: number, exact: Exact, cp?: Checkpoint): boolean {
  if (!env.privileged) cp = undefined;
  if (old.frames.length !== cur.frames.length) return false;
  if ((old.lock === undefined) !== (cur.lock === undefined)) return false;
  const ids = ID_MAP.reset();
  if (old.lock !== undefined && (old.lock.map !== cur.lock!.map || !ids.check(old.lock.id, cur.lock!.id))) return false;
  if (old.refs.length !== cur.refs.length) return false;
  for (let i = 0; i < old.refs.length; i++) if (!ids.check(old.refs[i]!.id, cur.refs[i]!.id)) return false;
  for (let k = 0; k < old.frames.length; k++) {
    const of = old.frames[k]!;
    const cf = cur.frames[k]!;
    if (of.callsite !== cf.callsite || of.inCallback !== cf.inCallback) return false;
    const live = liveIn(cfg, old, k, insn);
    if (!frameEqual(env, of, cf, exact === "exact" ? 0x7ff : live, ids, exact, cp, k)) return false;
  }
  return true;
}

function statesMaybeLooping(old: VState, cur: VState): boolean {
  if (old.frames.length !== cur.frames.length) return false;
  for (let i = 0; i < old.frames.length; i++) if (old.frames[i]!.callsite !== cur.frames[i]!.callsite) return false;
  return true;
}

export interface ExploredStats {
  totalStates: number;
  peakStates: number;
  liveStates: number;
  maxStatesPerInsn: number;
  jmpsProcessed: number;
  prevJmpsProcessed: number;
  insnProcessed: number;
  prevInsnProcessed: number;
}

/** The explored states and is_state_visited(). */
export class Explored {
  /** Explored states per instruction (explored_states), by instruction index. */
  readonly lists: Array<Checkpoint[] | undefined>;
  constructor(private readonly env: Env, private readonly cfg: Cfg, private readonly stats: ExploredStats) {
    this.lists = new Array<Checkpoint[] | undefined>(env.len).fill(undefined);
  }

  /** is_state_visited(): true when the current state is covered by an explored one (prune). */
  visit(insn: number): boolean {
    const env = this.env;
    const cur = env.cur;
    const st = this.stats;
    const forceNew = this.cfg.force[insn] === 1;
    let addNew = forceNew || (st.jmpsProcessed - st.prevJmpsProcessed >= 2 && st.insnProcessed - st.prevInsnProcessed >= 8);
    let list = this.lists[insn];
    if (list === undefined) this.lists[insn] = list = [];
    let count = 0;
    // The list is stored oldest first (new states are pushed); the kernel's list, newest
    // first, is this one backwards.
    for (let i = list.length - 1; i >= 0; i--) {
      const sl = list[i]!;
      count++;
      if (sl.branches > 0) {
        if (this.cfg.callsCallback[insn] === 1) {
          if (statesEqual(env, this.cfg, sl.state, cur, insn, "range_within")) {
            sl.hit++;
            // Its precise marks are not final while it is explored: everything on this path becomes precise.
            markPathAllPrecise(cur);
            return true;
          }
          // Callback simulations converge only if values that grow every iteration stop growing.
          if (statesMaybeLooping(sl.state, cur)) widenScalars(sl.state, cur);
        } else if (statesMaybeLooping(sl.state, cur) && sl.state.unroll === cur.unroll && statesEqual(env, this.cfg, sl.state, cur, insn, "exact")) {
          env.linfo(insn, "; ");
          env.verbose(`infinite loop detected at insn ${insn}\n`);
          env.verbose(`cur state:${stateStr(cur, cur.frames[cur.frames.length - 1]!, true, undefined)}\n`);
          env.fail(`old state:${stateStr(sl.state, sl.state.frames[sl.state.frames.length - 1]!, true, undefined)}`, EINVAL);
        }
        if (!forceNew && st.jmpsProcessed - st.prevJmpsProcessed < 20 && st.insnProcessed - st.prevInsnProcessed < 100) addNew = false;
      } else if (statesEqual(env, this.cfg, sl.state, cur, insn, "not_exact", sl)) {
        sl.hit++;
        if (env.prevInsnIdx !== insn - 1) env.hist.arrive(insn, env.prevInsnIdx);
        propagatePrecision(env, sl, cur, insn, (k) => liveIn(this.cfg, sl.state, k, insn));
        return true;
      }
      if (addNew) sl.miss++;
      const nMiss = forceNew && sl.branches > 0 ? 64 : 3;
      if (sl.miss > sl.hit * nMiss + nMiss) {
        // Remove list[i] (the entries after it are the newer ones, already visited).
        for (let j = i; j < list.length - 1; j++) list[j] = list[j + 1]!;
        list.length--;
        if (sl.branches === 0) st.liveStates--;
        else sl.evicted = true;
      }
    }
    if (st.maxStatesPerInsn < count) st.maxStatesPerInsn = count;
    if (list.length > BPF_COMPLEXITY_LIMIT_STATES) return false;
    if (!addNew) return false;
    st.totalStates++;
    st.liveStates++;
    if (st.liveStates > st.peakStates) st.peakStates = st.liveStates;
    st.prevJmpsProcessed = st.jmpsProcessed;
    st.prevInsnProcessed = st.insnProcessed;
    const hist = env.hist;
    const cp: Checkpoint = {
      state: copyState(cur), insn, branches: 1, hit: 0, miss: 0, evicted: false,
      first: cur.firstInsn, last: env.prevInsnIdx, histStart: cur.histStart, histEnd: hist.cnt,
      prec: newPrecMarks(cur.frames.length), allPrecise: false,
    };
    cp.state.parent = cur.parent;
    cur.parent = cp;
    cur.firstInsn = insn;
    cur.histStart = hist.cnt;
    list.push(cp);
    return false;
  }
}

/**
 * Scalars that differ from the in-progress state at the same callback call become
 * unknown (as widen_imprecise_scalars() does for iterator loops): the walk goes on
 * from a more general, still sound state, and the next round finds it equal.
 */
function widenScalars(old: VState, cur: VState): void {
  for (let k = 0; k < old.frames.length; k++) {
    const of = old.frames[k]!;
    const cf = cur.frames[k]!;
    for (let i = 0; i < 10; i++) {
      const o = of.regs[i]!;
      const c = cf.regs[i]!;
      if (o.type === "SCALAR_VALUE" && c.type === "SCALAR_VALUE" && !within(o.b, c.b)) cf.regs[i] = regWith(c, { b: UNKNOWN, id: 0 });
    }
    for (let spi = 0; spi < Math.min(of.stack.length, cf.stack.length); spi++) {
      const os = of.stack[spi]!;
      const cs = cf.stack[spi]!;
      const o = os.spilled;
      const c = cs.spilled;
      if (o?.type === "SCALAR_VALUE" && c?.type === "SCALAR_VALUE" && !within(o.b, c.b)) cf.stack[spi] = { types: cs.types, spilled: regWith(c, { b: UNKNOWN, id: 0 }) };
    }
  }
}

/** update_branch_counts(): a path ended; checkpoints whose every path ended become usable for pruning. */
export function pathDone(st: VState, stats?: ExploredStats): void {
  let p = st.parent;
  while (p !== undefined) {
    p.branches--;
    if (p.branches > 0) break;
    if (p.evicted === true && stats !== undefined) stats.liveStates--;
    p = p.state.parent;
  }
}
