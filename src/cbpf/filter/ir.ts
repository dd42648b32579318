/**
 * The intermediate form of the filter compiler, as in libpcap's gencode.h: a program is
 * a graph of basic blocks; a block holds straight-line statements and ends in one
 * conditional jump with a true and a false successor (or in a `ret`). While code is
 * being generated, unresolved branches are threaded into a list through the branch
 * fields themselves, `sense` telling which of the two is the link (backpatching, as in
 * libpcap's gen_and/gen_or/gen_not), so that `not` costs nothing: it flips `sense`.
 *
 * The optimiser (optimize.ts) annotates the same objects (levels, dominators, value
 * numbers), so the fields it needs live here too.
 */
import * as C from "../constants.js";

/** A statement that the optimiser deleted. */
export const NOP = -1;

/** One instruction; jt/jf only for block-local jumps (the protochain loop). */
export interface Stmt {
  code: number;
  /** u32 */
  k: number;
  jt: Slist | null;
  jf: Slist | null;
}

export class Slist {
  s: Stmt;
  next: Slist | null = null;
  constructor(code: number, k = 0) {
    this.s = { code, k: k >>> 0, jt: null, jf: null };
  }
}

export class Edge {
  id = 0;
  /** Branch opcode for the true edge, its negation for the false edge (optimiser). */
  code = 0;
  edom: Uint32Array = EMPTY_SET;
  succ: Block | null = null;
  next: Edge | null = null;
  constructor(readonly pred: Block) {}
}

const EMPTY_SET = new Uint32Array(0);

/** Atoms tracked by the optimiser: M[0..15], then A and X. */
export const A_ATOM = C.BPF_MEMWORDS;
export const X_ATOM = C.BPF_MEMWORDS + 1;
export const N_ATOMS = C.BPF_MEMWORDS + 2;

export class Block {
  id = 0;
  stmts: Slist | null = null;
  /** The branch (or `ret`) ending the block. */
  s: Stmt;
  mark = 0;
  longjt = 0;
  longjf = 0;
  level = 0;
  offset = 0;
  sense = false;
  readonly et: Edge;
  readonly ef: Edge;
  head: Block;
  link: Block | null = null;
  dom: Uint32Array = EMPTY_SET;
  closure: Uint32Array = EMPTY_SET;
  inEdges: Edge | null = null;
  def = 0;
  kill = 0;
  inUse = 0;
  outUse = 0;
  oval = 0;
  readonly val = new Uint32Array(N_ATOMS);

  constructor(code: number, k = 0) {
    this.s = { code, k: k >>> 0, jt: null, jf: null };
    this.et = new Edge(this);
    this.ef = new Edge(this);
    this.head = this;
  }
}

export const JT = (b: Block): Block | null => b.et.succ;
export const JF = (b: Block): Block | null => b.ef.succ;

/** Appends list s1 to the end of list s0. */
export function sappend(s0: Slist, s1: Slist | null): void {
  let s = s0;
  while (s.next !== null) s = s.next;
  s.next = s1;
}

/** Builds a statement list from statements (or lists) in order. */
export function slist(...parts: (Slist | null)[]): Slist | null {
  let head: Slist | null = null;
  for (const p of parts) {
    if (p === null) continue;
    if (head === null) head = p;
    else sappend(head, p);
  }
  return head;
}

/** Points every branch on the unresolved list `list` at `target`. */
function backpatch(list: Block | null, target: Block): void {
  while (list !== null) {
    let next: Block | null;
    if (!list.sense) {
      next = list.et.succ;
      list.et.succ = target;
    } else {
      next = list.ef.succ;
      list.ef.succ = target;
    }
    list = next;
  }
}

/** Concatenates the unresolved lists of b0 and b1 (b1's goes at the end of b0's). */
function merge(b0: Block, b1: Block): void {
  let p: Block = b0;
  for (;;) {
    const next = !p.sense ? p.et.succ : p.ef.succ;
    if (next === null) break;
    p = next;
  }
  if (!p.sense) p.et.succ = b1;
  else p.ef.succ = b1;
}

/** b1 := b0 && b1 (b1 becomes the combined expression). */
export function genAnd(b0: Block, b1: Block): void {
  backpatch(b0, b1.head);
  b0.sense = !b0.sense;
  b1.sense = !b1.sense;
  merge(b1, b0);
  b1.sense = !b1.sense;
  b1.head = b0.head;
}

/** b1 := b0 || b1. */
export function genOr(b0: Block, b1: Block): void {
  b0.sense = !b0.sense;
  backpatch(b0, b1.head);
  b0.sense = !b0.sense;
  merge(b1, b0);
  b1.head = b0.head;
}

export function genNot(b: Block): void {
  b.sense = !b.sense;
}

/** Closes the expression: true branches return `snaplen`, false branches 0; returns the root. */
export function finishParse(p: Block, snaplen: number): Block {
  backpatch(p, new Block(C.BPF_RET | C.BPF_K, snaplen));
  p.sense = !p.sense;
  backpatch(p, new Block(C.BPF_RET | C.BPF_K, 0));
  return p.head;
}

/** The program as a graph: the root and the mark generation (libpcap's struct icode). */
export interface Icode {
  root: Block;
  curMark: number;
}
/** A block is marked when its mark equals the current generation; bumping it unmarks all. */
export const isMarked = (ic: Icode, b: Block): boolean => b.mark === ic.curMark;
export const mark = (ic: Icode, b: Block): void => {
  b.mark = ic.curMark;
};

/**
 * Depth-first pre-order over the unmarked blocks reachable from `root`, true branch
 * first (the order of libpcap's recursive walks), marking them; iterative, so that long
 * programs do not exhaust the stack.
 */
export function preorder(ic: Icode, root: Block, visit: (b: Block) => void): void {
  const stack: Block[] = [root];
  while (stack.length > 0) {
    const b = stack.pop()!;
    if (isMarked(ic, b)) continue;
    mark(ic, b);
    visit(b);
    const f = b.ef.succ;
    const t = b.et.succ;
    if (f !== null) stack.push(f);
    if (t !== null) stack.push(t);
  }
}

/**
 * Depth-first post-order: a block is marked on entry, then `first(b)` and `second(b)`
 * are walked, then `post(b)` runs; iterative.
 */
export function postorder(ic: Icode, root: Block, first: (b: Block) => Block | null, second: (b: Block) => Block | null, post: (b: Block) => void): void {
  const blocks: Block[] = [root];
  const states: number[] = [0];
  while (blocks.length > 0) {
    const top = blocks.length - 1;
    const b = blocks[top]!;
    const state = states[top]!;
    if (state === 0) {
      if (isMarked(ic, b)) {
        blocks.pop();
        states.pop();
        continue;
      }
      mark(ic, b);
      states[top] = 1;
      const c = first(b);
      if (c !== null) {
        blocks.push(c);
        states.push(0);
      }
    } else if (state === 1) {
      states[top] = 2;
      const c = second(b);
      if (c !== null) {
        blocks.push(c);
        states.push(0);
      }
    } else {
      blocks.pop();
      states.pop();
      post(b);
    }
  }
}
