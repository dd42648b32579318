/**
 * The control-flow graph the JIT structures: basic blocks over a predecoded program,
 * and per function (the code reachable from one entry without following calls) the
 * reverse postorder, dominator tree, loop headers and merge nodes that "Beyond
 * Relooper" (Ramsey, ICFP 2022) needs, plus the reducibility test that picks the
 * dispatch-loop fallback.
 *
 * Blocks end after jumps, exits, calls of every kind (helper, local, callx, kfunc)
 * and legacy packet loads, so that in checked mode the instruction budget can be
 * charged per block and still be exact when a callee or a helper callback runs.
 * Slot `length` (falling off the end, jumps out of range) and the second slot of an
 * ld_imm64 that is a jump target become one-instruction trap blocks, as they are
 * trap slots in the interpreter.
 */
import { OP_CALL_KFUNC, OP_CALL_LOCAL, OP_TRAP_END, OP_TRAP_LDIMM64_HALF, type PredecodedProgram } from "../vm/index.js";

/** How a block ends. */
export const enum Term {
  /** Falls (or returns from a call) into the next block. */
  Fall,
  /** Conditional jump: successors [taken, fall-through]. */
  Cond,
  /** Unconditional jump. */
  Goto,
  Exit,
  /** Trap slot or an instruction that always faults. */
  Trap,
}

export interface Block {
  readonly id: number;
  /** First slot. */
  readonly start: number;
  /** Slot after the last instruction. */
  readonly end: number;
  /** Slots of the instructions (ld_imm64 listed once); a trap block lists its slot. */
  readonly slots: readonly number[];
  readonly term: Term;
  /** Successor block ids: [taken, fall] for Cond, [next] for Fall and Goto. */
  readonly succ: readonly number[];
}

export interface Cfg {
  readonly program: PredecodedProgram;
  readonly blocks: readonly Block[];
  /** Block id starting at each slot (length + 1 entries; -1 inside a block). */
  readonly blockAt: Int32Array;
}

/**
 * Longest basic block: straight-line code is cut into blocks of at most this many
 * instructions, so that very large functions can be split into several wasm
 * functions at block boundaries (compile.ts) and V8's per-function limits hold.
 */
export const MAX_BLOCK_INSNS = 256;

const BPF_JA = 0x05;
const BPF_EXIT = 0x95;
const BPF_CALL = 0x85;
const BPF_CALLX = 0x8d;

const isCond = (op: number): boolean =>
  op < 0x100 && ((op & 0x07) === 0x05 || (op & 0x07) === 0x06) && op !== BPF_JA && op !== BPF_EXIT && op !== BPF_CALL && op !== BPF_CALLX;
const isLdPacket = (op: number): boolean => op < 0x100 && (op & 0x07) === 0x00 && ((op & 0xe0) === 0x20 || (op & 0xe0) === 0x40);

/** Kind of an instruction for block formation. */
function endsBlock(op: number): boolean {
  return (
    op === BPF_JA || op === BPF_EXIT || op === BPF_CALL || op === BPF_CALLX || op === OP_CALL_LOCAL || op === OP_CALL_KFUNC ||
    op === OP_TRAP_END || op === OP_TRAP_LDIMM64_HALF || isCond(op) || isLdPacket(op)
  );
}

export function isConditionalJump(op: number): boolean {
  return isCond(op);
}

const LD_IMM64 = 0x18;

/** Builds the blocks of the whole program; `entries` are extra leaders (function entries). */
export function buildCfg(p: PredecodedProgram, entries: readonly number[]): Cfg {
  const n = p.length;
  const op = p.op;
  const target = p.target;
  const leader = new Uint8Array(n + 1);
  leader[0] = 1;
  leader[n] = 1;
  for (const e of entries) leader[e] = 1;
  for (let pc = 0; pc < n; ) {
    const o = op[pc]!;
    const next = pc + (o === LD_IMM64 ? 2 : 1);
    if (o === BPF_JA || isCond(o)) leader[target[pc]!] = 1;
    if (endsBlock(o)) leader[next < n ? next : n] = 1;
    pc = next;
  }
  // Cut long straight-line runs.
  for (let pc = 0, run = 0; pc < n; ) {
    if (leader[pc] === 1) run = 0;
    if (run === MAX_BLOCK_INSNS) {
      leader[pc] = 1;
      run = 0;
    }
    run++;
    pc += op[pc] === LD_IMM64 ? 2 : 1;
  }
  const blocks: Block[] = [];
  const blockAt = new Int32Array(n + 1).fill(-1);
  let count = 0;
  for (let pc = 0; pc <= n; pc++) if (leader[pc] === 1) blockAt[pc] = count++;
  for (let start = 0; start <= n; start++) {
    if (leader[start] !== 1) continue;
    const id = blockAt[start]!;
    const o0 = start < n ? op[start]! : OP_TRAP_END;
    if (start === n || o0 === OP_TRAP_LDIMM64_HALF) {
      blocks.push({ id, start, end: start + 1, slots: [start], term: Term.Trap, succ: [] });
      continue;
    }
    const slots: number[] = [];
    let pc = start;
    let term = Term.Fall;
    let succ: number[];
    for (;;) {
      const o = op[pc]!;
      slots.push(pc);
      const next = pc + (o === LD_IMM64 ? 2 : 1);
      if (o === BPF_JA) {
        term = Term.Goto;
        succ = [blockAt[target[pc]!]!];
        pc = next;
        break;
      }
      if (isCond(o)) {
        term = Term.Cond;
        succ = [blockAt[target[pc]!]!, blockAt[next < n ? next : n]!];
        pc = next;
        break;
      }
      if (o === BPF_EXIT || o === OP_CALL_KFUNC) {
        term = o === BPF_EXIT ? Term.Exit : Term.Trap;
        succ = [];
        pc = next;
        break;
      }
      pc = next;
      if (pc >= n || leader[pc] === 1 || endsBlock(o)) {
        succ = [blockAt[pc < n ? pc : n]!];
        break;
      }
    }
    blocks.push({ id, start, end: pc, slots, term, succ });
  }
  return { program: p, blocks, blockAt };
}

/**
 * One function's graph, in reverse postorder: node i is block `order[i]`, node 0 is
 * the entry. Edges to a node with a smaller or equal number are retreating edges;
 * in a reducible graph they are exactly the back edges (their target dominates
 * their source).
 */
export interface FuncGraph {
  readonly cfg: Cfg;
  /** Block id of each node. */
  readonly order: Int32Array;
  /** Node of each block id (-1 when not in the graph); for a part, indexed by node - lo of the larger graph. */
  readonly nodeOf: Int32Array;
  /**
   * Successor node numbers. In a part of a larger graph (functionGraph's `within`), a
   * successor outside the part is -(its node in the larger graph) - 1.
   */
  readonly succ: readonly (readonly number[])[];
  /** Immediate dominator (node 0 is its own). */
  readonly idom: Int32Array;
  /** Dominator-tree children of each node, ascending. */
  readonly children: readonly (readonly number[])[];
  readonly loopHeader: Uint8Array;
  /** Two or more forward in-edges. */
  readonly merge: Uint8Array;
  readonly reducible: boolean;
}

/** The part of a larger graph to analyse: its nodes [lo, hi). */
export interface Within {
  readonly parent: FuncGraph;
  readonly lo: number;
  readonly hi: number;
}

export function functionGraph(cfg: Cfg, entryBlock: number, within?: Within): FuncGraph {
  const blocks = cfg.blocks;
  const nb = blocks.length;
  const pNode = within?.parent.nodeOf;
  const lo = within?.lo ?? 0;
  const hi = within?.hi ?? 0;
  /** Whether block b belongs to the graph being built. */
  const inside = (b: number): boolean => pNode === undefined || (pNode[b]! >= lo && pNode[b]! < hi);
  // Arrays are indexed by block id for a whole function, by node - lo for a part.
  const size = pNode === undefined ? nb : hi - lo;
  const key = (b: number): number => (pNode === undefined ? b : pNode[b]! - lo);
  // Iterative DFS for postorder (stack of block ids and next-successor indexes).
  const seen = new Uint8Array(size);
  const post = new Int32Array(size);
  let nPost = 0;
  const stB = new Int32Array(size + 1);
  const stI = new Int32Array(size + 1);
  let sp = 0;
  stB[0] = entryBlock;
  stI[0] = 0;
  seen[key(entryBlock)] = 1;
  while (sp >= 0) {
    const b = stB[sp]!;
    const ss = blocks[b]!.succ;
    const i = stI[sp]!;
    if (i < ss.length) {
      stI[sp] = i + 1;
      const s = ss[i]!;
      if (inside(s) && seen[key(s)] === 0) {
        seen[key(s)] = 1;
        sp++;
        stB[sp] = s;
        stI[sp] = 0;
      }
    } else {
      post[nPost++] = b;
      sp--;
    }
  }
  const count = nPost;
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = post[count - 1 - i]!;
  const nodeOf = new Int32Array(size).fill(-1);
  for (let i = 0; i < count; i++) nodeOf[key(order[i]!)] = i;
  const succ: number[][] = new Array(count);
  const predCount = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) {
    const ss = blocks[order[i]!]!.succ;
    const out = new Array<number>(ss.length);
    for (let k = 0; k < ss.length; k++) {
      const b = ss[k]!;
      if (!inside(b)) {
        // outside the part: the node in the larger graph, encoded
        out[k] = -pNode![b]! - 1;
        continue;
      }
      const t = nodeOf[key(b)]!;
      out[k] = t;
      predCount[t + 1]!++;
    }
    succ[i] = out;
  }
  // Predecessors in CSR form.
  for (let i = 0; i < count; i++) predCount[i + 1]! += predCount[i]!;
  const predStart = predCount;
  const preds = new Int32Array(predStart[count]!);
  const fill = predStart.slice(0, count);
  for (let i = 0; i < count; i++) for (const t of succ[i]!) if (t >= 0) preds[fill[t]!++] = i;

  // Dominators: Cooper, Harvey, Kennedy, "A Simple, Fast Dominance Algorithm".
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 1; i < count; i++) {
      let d = -1;
      for (let k = predStart[i]!; k < predStart[i + 1]!; k++) {
        const q = preds[k]!;
        if (idom[q] === -1) continue;
        if (d === -1) {
          d = q;
          continue;
        }
        let a = q;
        let b = d;
        while (a !== b) {
          while (a > b) a = idom[a]!;
          while (b > a) b = idom[b]!;
        }
        d = a;
      }
      if (d !== idom[i]) {
        idom[i] = d;
        changed = true;
      }
    }
  }
  const children: number[][] = new Array(count);
  for (let i = 0; i < count; i++) children[i] = [];
  for (let i = 1; i < count; i++) children[idom[i]!]!.push(i);
  // Pre/post numbering of the dominator tree for O(1) dominance tests.
  const pre = new Int32Array(count);
  const postN = new Int32Array(count);
  {
    let clock = 0;
    sp = 0;
    stB[0] = 0;
    stI[0] = 0;
    pre[0] = clock++;
    while (sp >= 0) {
      const x = stB[sp]!;
      const ch = children[x]!;
      const i = stI[sp]!;
      if (i < ch.length) {
        stI[sp] = i + 1;
        const c = ch[i]!;
        pre[c] = clock++;
        sp++;
        stB[sp] = c;
        stI[sp] = 0;
      } else {
        postN[x] = clock++;
        sp--;
      }
    }
  }
  const loopHeader = new Uint8Array(count);
  const forwardIn = new Int32Array(count);
  let reducible = true;
  for (let i = 0; i < count; i++) {
    for (const s of succ[i]!) {
      if (s < 0) continue;
      if (s <= i) {
        loopHeader[s] = 1;
        // s must dominate i
        if (!(pre[s]! <= pre[i]! && postN[i]! <= postN[s]!)) reducible = false;
      } else {
        forwardIn[s]!++;
      }
    }
  }
  const merge = new Uint8Array(count);
  for (let i = 0; i < count; i++) merge[i] = forwardIn[i]! >= 2 ? 1 : 0;
  return { cfg, order, nodeOf, succ, idom, children, loopHeader, merge, reducible };
}
