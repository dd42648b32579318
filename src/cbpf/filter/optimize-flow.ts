/**
 * Flow facts for the optimiser (optimize.c): which atoms (A, X, M[k]) a statement uses
 * and defines, per-block use/def/kill sets, bit sets over block and edge numbers, and
 * the predicates of branch folding (fold_edge, use_conflict) and block merging
 * (eq_blk).
 */
import * as C from "../constants.js";
import { A_ATOM, Block, Edge, JF, JT, N_ATOMS, NOP, type Slist, type Stmt, X_ATOM } from "./ir.js";

/** "A and X": a statement using both (an ALU or jump on X). */
export const AX_ATOM = N_ATOMS;
export const has = (set: number, atom: number): boolean => (set & (1 << atom)) !== 0;

export function atomuse(s: Stmt): number {
  const c = s.code;
  if (c === NOP) return -1;
  switch (C.BPF_CLASS(c)) {
    case C.BPF_RET:
      return C.BPF_RVAL(c) === C.BPF_A ? A_ATOM : C.BPF_RVAL(c) === C.BPF_X ? X_ATOM : -1;
    case C.BPF_LD:
    case C.BPF_LDX:
      return C.BPF_MODE(c) === C.BPF_IND ? X_ATOM : C.BPF_MODE(c) === C.BPF_MEM ? s.k : -1;
    case C.BPF_ST:
      return A_ATOM;
    case C.BPF_STX:
      return X_ATOM;
    case C.BPF_JMP:
    case C.BPF_ALU:
      return C.BPF_SRC(c) === C.BPF_X ? AX_ATOM : A_ATOM;
    default: // BPF_MISC
      return C.BPF_MISCOP(c) === C.BPF_TXA ? X_ATOM : A_ATOM;
  }
}

export function atomdef(s: Stmt): number {
  if (s.code === NOP) return -1;
  switch (C.BPF_CLASS(s.code)) {
    case C.BPF_LD:
    case C.BPF_ALU:
      return A_ATOM;
    case C.BPF_LDX:
      return X_ATOM;
    case C.BPF_ST:
    case C.BPF_STX:
      return s.k;
    case C.BPF_MISC:
      return C.BPF_MISCOP(s.code) === C.BPF_TAX ? X_ATOM : A_ATOM;
    default:
      return -1;
  }
}

export const thisOp = (s: Slist | null): Slist | null => {
  while (s !== null && s.s.code === NOP) s = s.next;
  return s;
};

export function setMember(set: Uint32Array, i: number): boolean {
  return (set[i >>> 5]! & (1 << (i & 31))) !== 0;
}
export function setInsert(set: Uint32Array, i: number): void {
  set[i >>> 5]! |= 1 << (i & 31);
}
export function setIntersect(a: Uint32Array, b: Uint32Array): void {
  for (let i = 0; i < a.length; i++) a[i]! &= b[i]!;
}

export function computeLocalUd(b: Block): void {
  let def = 0;
  let use = 0;
  let killed = 0;
  const addUse = (atom: number): void => {
    if (atom < 0) return;
    if (atom === AX_ATOM) {
      if (!has(def, X_ATOM)) use |= 1 << X_ATOM;
      if (!has(def, A_ATOM)) use |= 1 << A_ATOM;
    } else if (!has(def, atom)) use |= 1 << atom;
  };
  for (let s = b.stmts; s !== null; s = s.next) {
    if (s.s.code === NOP) continue;
    addUse(atomuse(s.s));
    const atom = atomdef(s.s);
    if (atom >= 0) {
      if (!has(use, atom)) killed |= 1 << atom;
      def |= 1 << atom;
    }
  }
  if (C.BPF_CLASS(b.s.code) === C.BPF_JMP) addUse(atomuse(b.s));
  b.def = def;
  b.kill = killed;
  b.inUse = use;
}

/** True when a register used on exit from `succ` holds a different value there than on exit from `b`. */
export function useConflict(b: Block, succ: Block): boolean {
  const use = succ.outUse;
  if (use === 0) return false;
  for (let atom = 0; atom < N_ATOMS; atom++) if (has(use, atom) && b.val[atom] !== succ.val[atom]) return true;
  return false;
}

/** fold_edge(): where `child` leads when the test on edge `ep` has already been decided. */
export function foldEdge(child: Block, ep: Edge): Block | null {
  let code = ep.code;
  let sense: boolean;
  if (code < 0) {
    code = -code;
    sense = false;
  } else sense = true;
  if (child.s.code !== code) return null;
  if (child.val[A_ATOM] !== ep.pred.val[A_ATOM]) return null;
  if (child.oval === ep.pred.oval) return sense ? JT(child) : JF(child);
  if (sense && code === (C.BPF_JMP | C.BPF_JEQ | C.BPF_K)) return JF(child);
  return null;
}

export function eqSlist(x: Slist | null, y: Slist | null): boolean {
  for (;;) {
    x = thisOp(x);
    y = thisOp(y);
    if (x === null) return y === null;
    if (y === null) return false;
    if (x.s.code !== y.s.code || x.s.k !== y.s.k) return false;
    x = x.next;
    y = y.next;
  }
}

export function eqBlk(b0: Block, b1: Block): boolean {
  return b0.s.code === b1.s.code && b0.s.k === b1.s.k && b0.et.succ === b1.et.succ && b0.ef.succ === b1.ef.succ && eqSlist(b0.stmts, b1.stmts);
}

