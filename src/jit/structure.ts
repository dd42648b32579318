/**
 * Structured WebAssembly control flow from a function's CFG.
 *
 * Reducible graphs: Norman Ramsey, "Beyond Relooper: Recursive Translation of
 * Unstructured Control Flow to Structured Control Flow" (ICFP 2022). Walk the
 * dominator tree; a node that is a loop header opens a `loop`; the node's dominator
 * children that are merge nodes (two or more forward in-edges) follow it, each
 * closing a `block` that was opened before the node, highest reverse-postorder
 * number outermost; a branch is `br` to the loop (back edge) or to the end of the
 * merge node's block (forward edge to a merge node), or else the target's subtree
 * is placed right there (it has no other predecessor). The walk is iterative, so
 * dominator trees as deep as the largest programs do not overflow the JS stack.
 *
 * Irreducible graphs (and anything the walk finds inconsistent) use a dispatch
 * loop: a label local selects, through one `br_table`, the block to run next;
 * consecutive blocks fall through without going round the loop.
 */
import type { FuncGraph } from "./cfg.js";
import { Op } from "./wasm/opcodes.js";
import type { Code } from "./wasm/encoder.js";

/** What a node's code leaves for the structurer. */
export const enum Shape {
  /** An i32 condition is on the stack: non-zero takes succ[0], zero succ[1]. */
  Cond,
  /** Continue with succ[0]. */
  Goto,
  /** The code returned or trapped. */
  Stop,
}

export interface NodeEmitter {
  /** Emits node `node`'s instructions (not its branches) into `c`. */
  body(c: Code, node: number): Shape;
}

export class StructureError extends Error {}

const T_TREE = 0;
const T_WITHIN = 1;
const T_END = 2;
const T_ELSE = 3;
const T_BRANCH = 4;

const F_LOOP = 0;
const F_BLOCK = 1;
const F_IF = 2;

/**
 * Emits a reducible function graph as nested block/loop/if. Throws StructureError if
 * the graph does not fit. A branch out of a part (negative successor -j-1) calls
 * `leave(j)`, which must not fall through.
 */
export function emitStructured(c: Code, g: FuncGraph, e: NodeEmitter, leave?: (j: number) => void): void {
  const n = g.order.length;
  // Merge children of each node, highest reverse-postorder number first.
  const mergeKids: Array<number[] | undefined> = new Array(n);
  const kidsOf = (x: number): number[] => {
    let ys = mergeKids[x];
    if (ys === undefined) {
      ys = [];
      const ch = g.children[x]!;
      // children are ascending: collect merge nodes highest first
      for (let k = ch.length - 1; k >= 0; k--) if (g.merge[ch[k]!] === 1) ys.push(ch[k]!);
      mergeKids[x] = ys;
    }
    return ys;
  };
  const loopIdx = new Int32Array(n).fill(-1);
  const blockIdx = new Int32Array(n).fill(-1);
  const ctxKind: number[] = [];
  const ctxNode: number[] = [];
  const push = (kind: number, node: number): void => {
    if (kind === F_LOOP) loopIdx[node] = ctxKind.length;
    else if (kind === F_BLOCK) blockIdx[node] = ctxKind.length;
    ctxKind.push(kind);
    ctxNode.push(node);
  };
  const pop = (): void => {
    const kind = ctxKind.pop()!;
    const node = ctxNode.pop()!;
    if (kind === F_LOOP) loopIdx[node] = -1;
    else if (kind === F_BLOCK) blockIdx[node] = -1;
  };
  // Task stack: triples (task, a, b).
  const tasks: number[] = [T_TREE, 0, 0];
  const visited = new Uint8Array(n);
  while (tasks.length > 0) {
    const b = tasks.pop()!;
    const a = tasks.pop()!;
    const t = tasks.pop()!;
    switch (t) {
      case T_TREE:
        if (visited[a] === 1) throw new StructureError(`node ${a} placed twice`);
        visited[a] = 1;
        if (g.loopHeader[a] === 1) {
          c.loop();
          push(F_LOOP, a);
          tasks.push(T_END, 0, 0);
        }
        tasks.push(T_WITHIN, a, 0);
        break;
      case T_WITHIN: {
        const ys = kidsOf(a);
        if (b < ys.length) {
          const y = ys[b]!;
          c.block();
          push(F_BLOCK, y);
          tasks.push(T_TREE, y, 0, T_END, 0, 0, T_WITHIN, a, b + 1);
          break;
        }
        const shape = e.body(c, a);
        const s = g.succ[a]!;
        if (shape === Shape.Goto) {
          tasks.push(T_BRANCH, a, s[0]!);
        } else if (shape === Shape.Cond) {
          c.if_();
          push(F_IF, a);
          tasks.push(T_END, 0, 0, T_BRANCH, a, s[1]!, T_ELSE, 0, 0, T_BRANCH, a, s[0]!);
        }
        break;
      }
      case T_END:
        c.end();
        pop();
        break;
      case T_ELSE:
        c.else_();
        break;
      case T_BRANCH: {
        const to = b;
        if (to < 0) {
          if (leave === undefined) throw new StructureError(`edge ${a} leaves the graph`);
          leave(-to - 1);
        } else if (to <= a) {
          const i = loopIdx[to]!;
          if (i < 0) throw new StructureError(`back edge ${a} -> ${to} outside its loop`);
          c.br(ctxKind.length - 1 - i);
        } else if (g.merge[to] === 1) {
          const i = blockIdx[to]!;
          if (i < 0) throw new StructureError(`forward edge ${a} -> ${to} outside the merge block`);
          c.br(ctxKind.length - 1 - i);
        } else {
          tasks.push(T_TREE, to, 0);
        }
        break;
      }
    }
  }
  for (let i = 0; i < n; i++) if (visited[i] === 0) throw new StructureError(`node ${i} not placed`);
  c.op(Op.unreachable);
}

/**
 * Emits a function graph as a dispatch loop over its nodes (in reverse postorder).
 * With `range`, only nodes [lo, hi) are emitted, the label must already hold the
 * node to start at, and a branch to a node outside the range calls `leave(j)` (which
 * must not fall through): the parts of a function too large for one wasm function.
 */
export function emitDispatch(c: Code, g: FuncGraph, e: NodeEmitter, labelLocal: number, range?: { lo: number; hi: number; leave(j: number): void }): void {
  const lo = range?.lo ?? 0;
  const hi = range?.hi ?? g.order.length;
  const n = hi - lo;
  if (range === undefined) {
    c.i32(0);
    c.set(labelLocal);
  }
  c.loop();
  for (let i = 0; i < n; i++) c.block();
  c.get(labelLocal);
  if (lo !== 0) {
    c.i32(lo);
    c.op(Op.i32_sub);
  }
  c.brTable(Array.from({ length: n }, (_, i) => i), 0);
  for (let k = 0; k < n; k++) {
    const i = lo + k;
    c.end(); // block k: node i's code follows
    const shape = e.body(c, i);
    const s = g.succ[i]!;
    // From here the enclosing constructs are blocks k+1 .. n-1, then the loop.
    const toLoop = n - 1 - k;
    const transfer = (j: number, extra: number): void => {
      if (j === i + 1 && j < hi) return; // falls into node i+1's code (also when leaving an if)
      if (j < lo || j >= hi) {
        range!.leave(j);
        return;
      }
      c.i32(j);
      c.set(labelLocal);
      c.br(toLoop + extra);
    };
    if (shape === Shape.Goto) {
      transfer(s[0]!, 0);
    } else if (shape === Shape.Cond) {
      c.if_();
      transfer(s[0]!, 1);
      c.else_();
      transfer(s[1]!, 1);
      c.end();
    }
  }
  c.end(); // loop
  c.op(Op.unreachable);
}
