/**
 * Conditional jumps: check_cond_jmp_op() and its helpers in kernel/bpf/verifier.c —
 * is_branch_taken() (scalars via bounds.ts, NULL tests on non-NULL pointers, packet
 * pointers against pkt_end), reg_set_min_max() on both branches, sync_linked_regs()
 * for scalars sharing an id, mark_ptr_or_null_regs() after NULL checks, and
 * try_match_pkt_pointers() / find_good_pkt_pointers() / mark_pkt_end() for the
 * packet range learned from comparisons against data_end.
 */
import type { JmpInsn } from "../isa/index.js";
import { branchTaken, flipOp, isConst, isConst32, isZero, refineCond, revOp, umaxNum, type CondOp } from "./bounds.js";
import { EACCES, type Env } from "./env.js";
import { MAX_PACKET_OFF } from "./mem.js";
import { copyState, curFrame, isPktPointer, isPointer, notNullReg, regWith, withBounds, withIdRange, zeroScalar, type Reg, type VState } from "./state.js";

export type JumpOutcome =
  | { readonly kind: "fall" }
  | { readonly kind: "taken" }
  /** Both: the current state continues with the fall-through; `other` is the jump's state. */
  | { readonly kind: "both"; readonly other: VState };

const TAKEN: JumpOutcome = { kind: "taken" };
const FALL: JumpOutcome = { kind: "fall" };

const AT_PKT_END = -1;
const BEYOND_PKT_END = -2;

function isConstW(r: Reg, jmp32: boolean): boolean {
  return r.type === "SCALAR_VALUE" && (jmp32 ? isConst32(r.b) : isConst(r.b));
}

/** reg_not_null(). */
function regNotNull(r: Reg): boolean {
  if (r.maybeNull) return false;
  return r.type === "PTR_TO_MAP_VALUE" || r.type === "PTR_TO_MAP_KEY" || r.type === "PTR_TO_MEM" || r.type === "PTR_TO_SOCK_COMMON" || r.type === "PTR_TO_SOCKET";
}

function pktBranchTaken(dst: Reg, src: Reg, op: CondOp): 1 | 0 | -1 {
  let pkt: Reg;
  if (src.type === "PTR_TO_PACKET_END") pkt = dst;
  else if (dst.type === "PTR_TO_PACKET_END") {
    pkt = src;
    op = flipOp(op);
  } else return -1;
  if (pkt.range >= 0) return -1;
  switch (op) {
    case "jle":
    case "jgt":
      if (pkt.range === BEYOND_PKT_END) return op === "jgt" ? 1 : 0;
      break;
    case "jlt":
    case "jge":
      if (pkt.range === BEYOND_PKT_END || pkt.range === AT_PKT_END) return op === "jge" ? 1 : 0;
      break;
    default:
      break;
  }
  return -1;
}

/** is_branch_taken(). */
export function isBranchTaken(r1: Reg, r2: Reg, op: CondOp, jmp32: boolean): 1 | 0 | -1 {
  const anyPkt = (r: Reg): boolean => isPktPointer(r) || r.type === "PTR_TO_PACKET_END";
  if (anyPkt(r1) && anyPkt(r2) && !jmp32) return pktBranchTaken(r1, r2, op);
  if (isPointer(r1) || isPointer(r2)) {
    if (!isConstW(r2, jmp32)) {
      op = flipOp(op);
      [r1, r2] = [r2, r1];
    }
    if (!isConstW(r2, jmp32)) return -1;
    if (!regNotNull(r1)) return -1;
    if (jmp32 ? r2.b.vl !== 0 : (r2.b.vh | r2.b.vl) !== 0) return -1;
    if (op === "jeq") return 0;
    if (op === "jne") return 1;
    return -1;
  }
  return branchTaken(r1.b, r2.b, op, jmp32);
}

/** sync_linked_regs(): every scalar with `known`'s id gets its bounds. */
function syncLinked(st: VState, known: Reg): void {
  if (known.type !== "SCALAR_VALUE" || known.id === 0) return;
  // forEachReg() unrolled (hot: every comparison of a linked scalar).
  const id = known.id;
  for (const f of st.frames) {
    const regs = f.regs;
    for (let i = 0; i < regs.length; i++) {
      const r = regs[i]!;
      if (r.type === "SCALAR_VALUE" && r.id === id && r !== known) regs[i] = withBounds(known, known.b);
    }
    const stack = f.stack;
    for (let i = 0; i < stack.length; i++) {
      const sl = stack[i]!;
      const r = sl.spilled;
      if (r !== undefined && r.type === "SCALAR_VALUE" && r.id === id && r !== known) stack[i] = { types: sl.types, spilled: withBounds(known, known.b) };
    }
  }
}

/**
 * collect_linked_regs(): the scalars sharing the compared scalars' ids, recorded in
 * the instruction history, as the comparison narrows them all (precision.ts).
 */
function recordLinked(env: Env, insn: JmpInsn, dst: Reg, src: Reg): void {
  const a = dst.type === "SCALAR_VALUE" ? dst.id : 0;
  const b = insn.src.kind === "reg" && src.type === "SCALAR_VALUE" ? src.id : 0;
  if (a === 0 && b === 0) return;
  const items: number[] = [];
  const frames = env.cur.frames;
  for (let f = 0; f < frames.length; f++) {
    const fr = frames[f]!;
    for (let i = 0; i < 10; i++) {
      const r = fr.regs[i]!;
      if (r.type === "SCALAR_VALUE" && r.id !== 0 && (r.id === a || r.id === b)) items.push(f * 128 + i);
    }
    for (let spi = 0; spi < fr.stack.length && spi < 64; spi++) {
      const r = fr.stack[spi]!.spilled;
      if (r !== undefined && r.type === "SCALAR_VALUE" && r.id !== 0 && (r.id === a || r.id === b)) items.push(f * 128 + 64 + spi);
    }
  }
  if (items.length > 1) env.hist.linkedRegs(insn.pc, items);
}

/** mark_ptr_or_null_regs(). */
function markPtrOrNull(st: VState, regno: number, isNull: boolean): void {
  const regs = curFrame(st).regs;
  const r = regs[regno]!;
  const id = r.id;
  if (r.refObjId && r.refObjId === id && isNull) st.refs = st.refs.filter((x) => x.id !== id);
  const mark = (x: Reg): Reg => {
    if (isNull) return zeroScalar();
    if (x.type === "PTR_TO_MAP_VALUE" && x.map?.spec.innerMap !== undefined) {
      return regWith(x, { type: "CONST_PTR_TO_MAP", maybeNull: false, map: { index: -1, name: x.map.spec.innerMap.name, spec: x.map.spec.innerMap }, id: 0 });
    }
    const keepId = x.type === "PTR_TO_MAP_VALUE" && x.map?.spec.spinLockOffset !== undefined;
    return notNullReg(x, keepId ? x.id : 0);
  };
  // forEachReg() unrolled (hot: every NULL check).
  for (const f of st.frames) {
    const regs = f.regs;
    for (let i = 0; i < regs.length; i++) {
      const x = regs[i]!;
      if (x.maybeNull && x.id === id) regs[i] = mark(x);
    }
    const stack = f.stack;
    for (let i = 0; i < stack.length; i++) {
      const sl = stack[i]!;
      const x = sl.spilled;
      if (x !== undefined && x.maybeNull && x.id === id) stack[i] = { types: sl.types, spilled: mark(x) };
    }
  }
}

/** find_good_pkt_pointers(). */
function findGoodPkt(st: VState, dst: Reg, rightOpen: boolean): void {
  if (dst.off < 0 || (dst.off === 0 && rightOpen)) return;
  const umax = umaxNum(dst.b);
  if (umax > MAX_PACKET_OFF || umax + dst.off > MAX_PACKET_OFF) return;
  const newRange = (dst.off + (rightOpen ? 1 : 0)) | 0;
  // forEachReg() unrolled (hot: every packet bounds check).
  const type = dst.type;
  const id = dst.id;
  for (const f of st.frames) {
    const regs = f.regs;
    for (let i = 0; i < regs.length; i++) {
      const r = regs[i]!;
      if (r.type === type && r.id === id && r.range < newRange) regs[i] = withIdRange(r, id, newRange);
    }
    const stack = f.stack;
    for (let i = 0; i < stack.length; i++) {
      const sl = stack[i]!;
      const r = sl.spilled;
      if (r !== undefined && r.type === type && r.id === id && r.range < newRange) stack[i] = { types: sl.types, spilled: withIdRange(r, id, newRange) };
    }
  }
}

/** mark_pkt_end(). */
function markPktEnd(st: VState, regno: number, rangeOpen: boolean): void {
  const regs = curFrame(st).regs;
  const r = regs[regno]!;
  if (r.type !== "PTR_TO_PACKET") return;
  regs[regno] = withIdRange(r, r.id, rangeOpen ? BEYOND_PKT_END : AT_PKT_END);
}

const isInitPkt = (r: Reg, type: Reg["type"]): boolean => r.type === type && r.off === 0 && isZero(r.b);

/** try_match_pkt_pointers(): `thisB` is the fall-through state, `other` the jump's. */
function matchPktPointers(insn: JmpInsn, dst: Reg, src: Reg, thisB: VState, other: VState): boolean {
  if (insn.src.kind !== "reg" || insn.jmp32) return false;
  const s = insn.src.reg;
  const d = insn.dst;
  const dataVsEnd = (dst.type === "PTR_TO_PACKET" && src.type === "PTR_TO_PACKET_END") || (dst.type === "PTR_TO_PACKET_META" && isInitPkt(src, "PTR_TO_PACKET"));
  const endVsData = (dst.type === "PTR_TO_PACKET_END" && src.type === "PTR_TO_PACKET") || (isInitPkt(dst, "PTR_TO_PACKET") && src.type === "PTR_TO_PACKET_META");
  switch (insn.cond) {
    case "jgt":
      if (dataVsEnd) {
        findGoodPkt(thisB, dst, false);
        markPktEnd(other, d, true);
      } else if (endVsData) {
        findGoodPkt(other, src, true);
        markPktEnd(thisB, s, false);
      } else return false;
      return true;
    case "jlt":
      if (dataVsEnd) {
        findGoodPkt(other, dst, true);
        markPktEnd(thisB, d, false);
      } else if (endVsData) {
        findGoodPkt(thisB, src, false);
        markPktEnd(other, s, true);
      } else return false;
      return true;
    case "jge":
      if (dataVsEnd) {
        findGoodPkt(thisB, dst, true);
        markPktEnd(other, d, false);
      } else if (endVsData) {
        findGoodPkt(other, src, false);
        markPktEnd(thisB, s, true);
      } else return false;
      return true;
    case "jle":
      if (dataVsEnd) {
        findGoodPkt(other, dst, false);
        markPktEnd(thisB, d, true);
      } else if (endVsData) {
        findGoodPkt(thisB, src, true);
        markPktEnd(other, s, false);
      } else return false;
      return true;
    default:
      return false;
  }
}

/** check_cond_jmp_op(). */
export function checkCondJmp(env: Env, insn: JmpInsn): JumpOutcome {
  let src: Reg;
  const op: CondOp = insn.cond;
  if (insn.src.kind === "reg") {
    src = env.readReg(insn.src.reg);
    const dstR = env.regs[insn.dst]!;
    const pktAny = (r: Reg): boolean => isPktPointer(r) || r.type === "PTR_TO_PACKET_END";
    if (!(pktAny(dstR) && pktAny(src)) && isPointer(src) && !env.privileged) env.fail(`R${insn.src.reg} pointer comparison prohibited`, EACCES);
  } else {
    src = env.immReg(insn.pc, insn.src.imm, true);
  }
  const dst = env.readReg(insn.dst);
  const jmp32 = insn.jmp32;
  const pred = isBranchTaken(dst, src, op, jmp32);
  if (pred >= 0) {
    // The branch was decided by the scalars' values: they must stay exact.
    if (dst.type === "SCALAR_VALUE") env.markPrecise(insn.dst);
    if (insn.src.kind === "reg" && src.type === "SCALAR_VALUE") env.markPrecise(insn.src.reg);
    return pred === 1 ? TAKEN : FALL;
  }
  if (env.privileged) recordLinked(env, insn, dst, src);
  const thisB = env.cur;
  const other = copyState(thisB);
  const tRegs = curFrame(thisB).regs;
  const oRegs = curFrame(other).regs;
  if (dst.type === "SCALAR_VALUE" && src.type === "SCALAR_VALUE") {
    const [fd, fs] = refineCond(dst.b, src.b, revOp(op), jmp32);
    const [td, ts] = refineCond(dst.b, src.b, op, jmp32);
    tRegs[insn.dst] = withBounds(dst, fd);
    oRegs[insn.dst] = withBounds(dst, td);
    if (insn.src.kind === "reg") {
      // The same register on both sides (if r1 > r1): dst's refinement wins, as in the kernel's in-place update.
      if (insn.src.reg !== insn.dst) {
        tRegs[insn.src.reg] = withBounds(src, fs);
        oRegs[insn.src.reg] = withBounds(src, ts);
      }
      const sr = tRegs[insn.src.reg]!;
      if (sr.type === "SCALAR_VALUE" && sr.id) {
        syncLinked(thisB, sr);
        syncLinked(other, oRegs[insn.src.reg]!);
      }
    }
    const dr = tRegs[insn.dst]!;
    if (dr.type === "SCALAR_VALUE" && dr.id) {
      syncLinked(thisB, dr);
      syncLinked(other, oRegs[insn.dst]!);
    }
  }
  if (!jmp32 && insn.src.kind === "imm" && insn.src.imm === 0 && (op === "jeq" || op === "jne") && dst.maybeNull) {
    markPtrOrNull(thisB, insn.dst, op === "jne");
    markPtrOrNull(other, insn.dst, op === "jeq");
  } else if (!matchPktPointers(insn, dst, src, thisB, other) && isPointer(dst) && !env.privileged) {
    env.fail(`R${insn.dst} pointer comparison prohibited`, EACCES);
  }
  return { kind: "both", other };
}
