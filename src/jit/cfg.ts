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

/** Builds the blocks of the whole program; `entries` are extra leaders (function entries). */
export function buildCfg(p: PredecodedProgram, entries: readonly number[]): Cfg {
  const n = p.length;
  const leader = new Uint8Array(n + 1);
  leader[0] = 1;
  leader[n] = 1;
  for (const e of entries) leader[e] = 1;
  for (let pc = 0; pc < n; pc++) {
    const insn = p.bySlot[pc];
    if (insn === undefined) continue;
    const op = p.op[pc]!;
    const next = pc + (insn.kind === "ld_imm64" ? 2 : 1);
    if (op === BPF_JA || isCond(op)) leader[p.target[pc]!] = 1;
    if (endsBlock(op)) leader[Math.min(next, n)] = 1;
  }
  const blocks: Block[] = [];
  const blockAt = new Int32Array(n + 1).fill(-1);
  // First pass: block boundaries and ids.
  const starts: number[] = [];
  for (let pc = 0; pc <= n; pc++) if (leader[pc] === 1) starts.push(pc);
  starts.forEach((s, i) => (blockAt[s] = i));
  for (let i = 0; i < starts.length; i++) {
    const start = starts[i]!;
    const op = start < n ? p.op[start]! : OP_TRAP_END;
    if (start === n || op === OP_TRAP_LDIMM64_HALF) {
      blocks.push({ id: i, start, end: start + 1, slots: [start], term: Term.Trap, succ: [] });
      continue;
    }
    const slots: number[] = [];
    let pc = start;
    let term = Term.Fall;
    let succ: number[] = [];
    for (;;) {
      const insn = p.bySlot[pc]!;
      const o = p.op[pc]!;
      slots.push(pc);
      const next = pc + (insn.kind === "ld_imm64" ? 2 : 1);
      if (o === BPF_JA) {
        term = Term.Goto;
        succ = [blockAt[p.target[pc]!]!];
        pc = next;
        break;
      }
      if (isCond(o)) {
        term = Term.Cond;
        succ = [blockAt[p.target[pc]!]!, blockAt[Math.min(next, n)]!];
        pc = next;
        break;
      }
      if (o === BPF_EXIT) {
        term = Term.Exit;
        pc = next;
        break;
      }
      if (o === OP_CALL_KFUNC) {
        term = Term.Trap;
        pc = next;
        break;
      }
      pc = next;
      if (pc >= n || leader[pc] === 1 || endsBlock(o)) {
        succ = [blockAt[Math.min(pc, n)]!];
        break;
      }
    }
    blocks.push({ id: i, start, end: pc, slots, term, succ });
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
  readonly order: readonly number[];
  /** Node number of each block id (-1 when unreachable from this entry). */
  readonly nodeOf: Int32Array;
  /** Successor node numbers. */
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

export function functionGraph(cfg: Cfg, entryBlock: number): FuncGraph {
  const nb = cfg.blocks.length;
  // Iterative DFS for postorder.
  const state = new Uint8Array(nb); // 0 new, 1 on stack, 2 done
  const post: number[] = [];
  const stack: Array<[number, number]> = [[entryBlock, 0]];
  state[entryBlock] = 1;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const b = cfg.blocks[top[0]]!;
    if (top[1] < b.succ.length) {
      const s = b.succ[top[1]++]!;
      if (state[s] === 0) {
        state[s] = 1;
        stack.push([s, 0]);
      }
    } else {
      state[top[0]] = 2;
      post.push(top[0]);
      stack.pop();
    }
  }
  const order = post.reverse();
  const count = order.length;
  const nodeOf = new Int32Array(nb).fill(-1);
  order.forEach((b, i) => (nodeOf[b] = i));
  const succ = order.map((b) => cfg.blocks[b]!.succ.map((s) => nodeOf[s]!));
  const preds: number[][] = Array.from({ length: count }, () => []);
  succ.forEach((ss, i) => ss.forEach((s) => preds[s]!.push(i)));

  // Dominators: Cooper, Harvey, Kennedy, "A Simple, Fast Dominance Algorithm".
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 1; i < count; i++) {
      let d = -1;
      for (const q of preds[i]!) {
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
  const children: number[][] = Array.from({ length: count }, () => []);
  for (let i = 1; i < count; i++) children[idom[i]!]!.push(i);
  // Pre/post numbering of the dominator tree for O(1) dominance tests.
  const pre = new Int32Array(count);
  const postN = new Int32Array(count);
  {
    let clock = 0;
    const st: Array<[number, number]> = [[0, 0]];
    pre[0] = clock++;
    while (st.length > 0) {
      const top = st[st.length - 1]!;
      const ch = children[top[0]]!;
      if (top[1] < ch.length) {
        const c = ch[top[1]++]!;
        pre[c] = clock++;
        st.push([c, 0]);
      } else {
        postN[top[0]] = clock++;
        st.pop();
      }
    }
  }
  const dominates = (a: number, b: number): boolean => pre[a]! <= pre[b]! && postN[b]! <= postN[a]!;

  const loopHeader = new Uint8Array(count);
  const forwardIn = new Int32Array(count);
  let reducible = true;
  for (let i = 0; i < count; i++) {
    for (const s of succ[i]!) {
      if (s <= i) {
        loopHeader[s] = 1;
        if (!dominates(s, i)) reducible = false;
      } else {
        forwardIn[s]!++;
      }
    }
  }
  const merge = new Uint8Array(count);
  for (let i = 0; i < count; i++) merge[i] = forwardIn[i]! >= 2 ? 1 : 0;
  return { cfg, order, nodeOf, succ, idom, children, loopHeader, merge, reducible };
}
