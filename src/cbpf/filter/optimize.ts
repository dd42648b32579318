/**
 * The optimiser of libpcap 1.10 (optimize.c), rewritten for this block graph so that
 * tsbpf's programs are libpcap's instruction for instruction. It works on the DAG of
 * blocks (acyclic: the protochain loop turns it off), in passes until nothing changes:
 *
 * - value numbering (Cocke and Schwartz): each atom (A, X, M[0..15]) holds a value
 *   number; a load of a value already there, a store of what the slot already holds,
 *   constant arithmetic and indirect loads with a constant index are folded
 *   (opt_stmt, fold_op); peephole rules (opt_peep) and dead stores (opt_deadstores);
 * - branch optimisation on edge dominators (opt_j): an edge whose target repeats a test
 *   already decided on every path to it jumps straight to the known outcome; blocks
 *   whose two branches meet are bypassed; or_pullup/and_pullup hoist a repeated test;
 * - then identical blocks are merged (intern_blocks) and the root skips tests whose
 *   branches coincide (opt_root).
 *
 * The first pass series moves branches only; the second also rewrites statements.
 * Block and edge numbering, the order of the level lists and of the in-edge lists
 * follow libpcap's, because the outcome of the pullups depends on them.
 */
import * as C from "../constants.js";
import { FilterError } from "./errors.js";
import { A_ATOM, Block, Edge, JF, JT, N_ATOMS, NOP, type Icode, type Slist, type Stmt, X_ATOM, isMarked, postorder, preorder, sappend } from "./ir.js";

export type { Icode };
import { AX_ATOM, atomdef, atomuse, computeLocalUd, foldEdge, has, setInsert, setIntersect, setMember, thisOp, useConflict } from "./optimize-flow.js";

class OptError extends Error {}

class Optimizer {
  done = false;
  nonBranchMovement = false;
  blocks: Block[] = [];
  edges: Edge[] = [];
  levels: (Block | null)[] = [];
  nodewords = 0;
  edgewords = 0;
  // Value numbering: hash-consed (code, v0, v1) -> value; constants recorded in vmap.
  private curval = 0;
  private table = new Map<string, number>();
  private isConst: boolean[] = [];
  private constVal: number[] = [];

  constructor(private readonly ic: Icode) {}

  error(message: string): never {
    throw new OptError(message);
  }

  // ---- setup (opt_init) ----

  init(): void {
    const ic = this.ic;
    ic.curMark++;
    let n = 0;
    preorder(ic, ic.root, () => n++);
    ic.curMark++;
    preorder(ic, ic.root, (p) => {
      p.id = this.blocks.length;
      this.blocks.push(p);
    });
    const nBlocks = this.blocks.length;
    const nEdges = 2 * nBlocks;
    this.edges = new Array<Edge>(nEdges);
    this.levels = new Array<Block | null>(nBlocks).fill(null);
    this.edgewords = Math.floor(nEdges / 32) + 1;
    this.nodewords = Math.floor(nBlocks / 32) + 1;
    for (let i = 0; i < n; i++) {
      const b = this.blocks[i]!;
      b.dom = new Uint32Array(this.nodewords);
      b.et.edom = new Uint32Array(this.edgewords);
      b.ef.edom = new Uint32Array(this.edgewords);
      b.et.id = i;
      this.edges[i] = b.et;
      b.ef.id = nBlocks + i;
      this.edges[nBlocks + i] = b.ef;
    }
  }

  // ---- flow analysis ----

  private findLevels(): void {
    const ic = this.ic;
    this.levels.fill(null);
    ic.curMark++;
    postorder(ic, ic.root, JT, JF, (b) => {
      const t = JT(b);
      const level = t === null ? 0 : Math.max(t.level, JF(b)!.level) + 1;
      b.level = level;
      b.link = this.levels[level] ?? null;
      this.levels[level] = b;
    });
  }

  private *byLevel(from: number, to: number): Generator<Block> {
    for (let level = from; level >= to; level--) for (let b = this.levels[level] ?? null; b !== null; b = b.link) yield b;
  }
  private *byLevelUp(from: number, to: number): Generator<Block> {
    for (let level = from; level <= to; level++) for (let b = this.levels[level] ?? null; b !== null; b = b.link) yield b;
  }

  private findDom(root: Block): void {
    for (const b of this.blocks) b.dom.fill(0xffffffff);
    root.dom.fill(0);
    for (const b of this.byLevel(root.level, 0)) {
      setInsert(b.dom, b.id);
      const t = JT(b);
      if (t === null) continue;
      setIntersect(t.dom, b.dom);
      setIntersect(JF(b)!.dom, b.dom);
    }
  }

  private findEdom(root: Block): void {
    for (const e of this.edges) e.edom.fill(0xffffffff);
    root.et.edom.fill(0);
    root.ef.edom.fill(0);
    const propedom = (ep: Edge): void => {
      setInsert(ep.edom, ep.id);
      if (ep.succ !== null) {
        setIntersect(ep.succ.et.edom, ep.edom);
        setIntersect(ep.succ.ef.edom, ep.edom);
      }
    };
    for (const b of this.byLevel(root.level, 0)) {
      propedom(b.et);
      propedom(b.ef);
    }
  }

  private findUd(root: Block): void {
    const maxlevel = root.level;
    for (const p of this.byLevel(maxlevel, 0)) {
      computeLocalUd(p);
      p.outUse = 0;
    }
    for (const p of this.byLevelUp(1, maxlevel)) {
      p.outUse |= JT(p)!.inUse | JF(p)!.inUse;
      p.inUse |= p.outUse & ~p.kill;
    }
  }

  private findInedges(root: Block): void {
    for (const b of this.blocks) b.inEdges = null;
    for (const b of this.byLevel(root.level, 1)) {
      const link = (parent: Edge, child: Block): void => {
        parent.next = child.inEdges;
        child.inEdges = parent;
      };
      link(b.et, JT(b)!);
      link(b.ef, JF(b)!);
    }
  }

  // ---- value numbering ----

  private initVal(): void {
    this.curval = 0;
    this.table.clear();
    this.isConst = [false];
    this.constVal = [0];
  }

  /** F(): the value number of code(v0, v1). */
  F(code: number, v0: number, v1: number): number {
    const key = `${code},${v0},${v1}`;
    const hit = this.table.get(key);
    if (hit !== undefined) return hit;
    const val = ++this.curval;
    const imm = C.BPF_MODE(code) === C.BPF_IMM && (C.BPF_CLASS(code) === C.BPF_LD || C.BPF_CLASS(code) === C.BPF_LDX);
    this.isConst[val] = imm;
    this.constVal[val] = imm ? v0 : 0;
    this.table.set(key, val);
    return val;
  }
  K(k: number): number {
    return this.F(C.BPF_LD | C.BPF_IMM | C.BPF_W, k >>> 0, 0);
  }
  konst(v: number): boolean {
    return this.isConst[v] === true;
  }
  cval(v: number): number {
    return this.constVal[v] ?? 0;
  }

  private changed(): void {
    this.nonBranchMovement = true;
    this.done = false;
  }

  private vstore(s: Stmt, val: Uint32Array, idx: number, newval: number, alter: boolean): void {
    if (alter && newval !== 0 && val[idx] === newval) s.code = NOP;
    else val[idx] = newval;
  }

  private foldOp(s: Stmt, v0: number, v1: number): void {
    let a = this.cval(v0);
    const b = this.cval(v1);
    switch (C.BPF_OP(s.code)) {
      case C.BPF_ADD: a = (a + b) >>> 0; break;
      case C.BPF_SUB: a = (a - b) >>> 0; break;
      case C.BPF_MUL: a = Math.imul(a, b) >>> 0; break;
      case C.BPF_DIV:
        if (b === 0) this.error("division by zero");
        a = Math.floor(a / b) >>> 0;
        break;
      case C.BPF_MOD:
        if (b === 0) this.error("modulus by zero");
        a = a % b >>> 0;
        break;
      case C.BPF_AND: a = (a & b) >>> 0; break;
      case C.BPF_OR: a = (a | b) >>> 0; break;
      case C.BPF_XOR: a = (a ^ b) >>> 0; break;
      case C.BPF_LSH: a = b < 32 ? (a << b) >>> 0 : 0; break;
      case C.BPF_RSH: a = b < 32 ? a >>> b : 0; break;
      default: throw new Error("fold_op: bad operation");
    }
    s.k = a;
    s.code = C.BPF_LD | C.BPF_IMM;
    this.changed();
  }

  /** opt_stmt(): symbolic execution of one statement, with rewrites when `alter`. */
  private optStmt(s: Stmt, val: Uint32Array, alter: boolean): void {
    const A = A_ATOM;
    const X = X_ATOM;
    const code = s.code;
    switch (code) {
      case C.BPF_LD | C.BPF_ABS | C.BPF_W:
      case C.BPF_LD | C.BPF_ABS | C.BPF_H:
      case C.BPF_LD | C.BPF_ABS | C.BPF_B:
        this.vstore(s, val, A, this.F(code, s.k, 0), alter);
        return;
      case C.BPF_LD | C.BPF_IND | C.BPF_W:
      case C.BPF_LD | C.BPF_IND | C.BPF_H:
      case C.BPF_LD | C.BPF_IND | C.BPF_B: {
        let v = val[X]!;
        if (alter && this.konst(v)) {
          s.code = C.BPF_LD | C.BPF_ABS | C.BPF_SIZE(code);
          s.k = (s.k + this.cval(v)) >>> 0;
          v = this.F(s.code, s.k, 0);
          this.changed();
        } else v = this.F(code, s.k, v);
        this.vstore(s, val, A, v, alter);
        return;
      }
      case C.BPF_LD | C.BPF_LEN:
        this.vstore(s, val, A, this.F(code, 0, 0), alter);
        return;
      case C.BPF_LD | C.BPF_IMM:
        this.vstore(s, val, A, this.K(s.k), alter);
        return;
      case C.BPF_LDX | C.BPF_IMM:
        this.vstore(s, val, X, this.K(s.k), alter);
        return;
      case C.BPF_LDX | C.BPF_MSH | C.BPF_B:
        this.vstore(s, val, X, this.F(code, s.k, 0), alter);
        return;
      case C.BPF_ALU | C.BPF_NEG:
        if (alter && this.konst(val[A]!)) {
          s.code = C.BPF_LD | C.BPF_IMM;
          s.k = (0 - this.cval(val[A]!)) >>> 0;
          val[A] = this.K(s.k);
        } else val[A] = this.F(code, val[A]!, 0);
        return;
      case C.BPF_MISC | C.BPF_TXA:
        this.vstore(s, val, A, val[X]!, alter);
        return;
      case C.BPF_LD | C.BPF_MEM:
      case C.BPF_LDX | C.BPF_MEM: {
        const v = val[s.k]!;
        const ldx = code === (C.BPF_LDX | C.BPF_MEM);
        if (alter && this.konst(v)) {
          s.code = (ldx ? C.BPF_LDX : C.BPF_LD) | C.BPF_IMM;
          s.k = this.cval(v);
          this.changed();
        }
        this.vstore(s, val, ldx ? X : A, v, alter);
        return;
      }
      case C.BPF_MISC | C.BPF_TAX:
        this.vstore(s, val, X, val[A]!, alter);
        return;
      case C.BPF_ST:
        this.vstore(s, val, s.k, val[A]!, alter);
        return;
      case C.BPF_STX:
        this.vstore(s, val, s.k, val[X]!, alter);
        return;
    }
    if (C.BPF_CLASS(code) !== C.BPF_ALU) return;
    const op = C.BPF_OP(code);
    if (C.BPF_SRC(code) === C.BPF_K) {
      if (alter) {
        if (s.k === 0) {
          if (op === C.BPF_ADD || op === C.BPF_LSH || op === C.BPF_RSH || op === C.BPF_OR || op === C.BPF_XOR) {
            s.code = NOP;
            return;
          }
          if (op === C.BPF_MUL || op === C.BPF_AND) {
            s.code = C.BPF_LD | C.BPF_IMM;
            val[A] = this.K(s.k);
            return;
          }
          if (op === C.BPF_DIV) this.error("division by zero");
          if (op === C.BPF_MOD) this.error("modulus by zero");
        }
        if (this.konst(val[A]!)) {
          this.foldOp(s, val[A]!, this.K(s.k));
          val[A] = this.K(s.k);
          return;
        }
      }
      val[A] = this.F(code, val[A]!, this.K(s.k));
      return;
    }
    if (alter && this.konst(val[X]!)) {
      if (this.konst(val[A]!)) {
        this.foldOp(s, val[A]!, val[X]!);
        val[A] = this.K(s.k);
      } else {
        s.code = C.BPF_ALU | C.BPF_K | op;
        s.k = this.cval(val[X]!);
        if ((op === C.BPF_LSH || op === C.BPF_RSH) && s.k > 31) this.error("shift by more than 31 bits");
        this.changed();
        val[A] = this.F(s.code, val[A]!, this.K(s.k));
      }
      return;
    }
    if (alter && this.konst(val[A]!) && this.cval(val[A]!) === 0) {
      if (op === C.BPF_ADD || op === C.BPF_OR || op === C.BPF_XOR) {
        s.code = C.BPF_MISC | C.BPF_TXA;
        this.vstore(s, val, A, val[X]!, alter);
        return;
      }
      if (op === C.BPF_MUL || op === C.BPF_DIV || op === C.BPF_MOD || op === C.BPF_AND || op === C.BPF_LSH || op === C.BPF_RSH) {
        s.code = C.BPF_LD | C.BPF_IMM;
        s.k = 0;
        this.vstore(s, val, A, this.K(s.k), alter);
        return;
      }
      if (op === C.BPF_NEG) {
        s.code = NOP;
        return;
      }
    }
    val[A] = this.F(code, val[A]!, val[X]!);
  }

  /** opt_peep(): peephole rules inside a block and on its final branch. */
  private optPeep(b: Block): void {
    let s: Slist | null = b.stmts;
    if (s === null) return;
    let last: Slist = s;
    let next: Slist | null = null;
    for (; ; s = next) {
      s = thisOp(s);
      if (s === null) break;
      next = thisOp(s.next);
      if (next === null) break;
      last = next;
      // st M[k]; ldx M[k]  ->  st M[k]; tax
      if (s.s.code === C.BPF_ST && next.s.code === (C.BPF_LDX | C.BPF_MEM) && s.s.k === next.s.k) {
        this.changed();
        next.s.code = C.BPF_MISC | C.BPF_TAX;
      }
      // ld #k; tax  ->  ldx #k; txa
      if (s.s.code === (C.BPF_LD | C.BPF_IMM) && next.s.code === (C.BPF_MISC | C.BPF_TAX)) {
        s.s.code = C.BPF_LDX | C.BPF_IMM;
        next.s.code = C.BPF_MISC | C.BPF_TXA;
        this.changed();
      }
      // ld #k; [ldxms]; add x; tax; ld[x+c]  ->  [ldxms]; ld[x+c+k]  (tcp[k], udp[k])
      if (s.s.code === (C.BPF_LD | C.BPF_IMM)) {
        if (has(b.outUse, X_ATOM)) continue;
        const add = next.s.code !== (C.BPF_LDX | C.BPF_MSH | C.BPF_B) ? next : thisOp(next.next);
        if (add === null || add.s.code !== (C.BPF_ALU | C.BPF_ADD | C.BPF_X)) continue;
        const tax = thisOp(add.next);
        if (tax === null || tax.s.code !== (C.BPF_MISC | C.BPF_TAX)) continue;
        const ild = thisOp(tax.next);
        if (ild === null || C.BPF_CLASS(ild.s.code) !== C.BPF_LD || C.BPF_MODE(ild.s.code) !== C.BPF_IND) continue;
        ild.s.k = (ild.s.k + s.s.k) >>> 0;
        s.s.code = NOP;
        add.s.code = NOP;
        tax.s.code = NOP;
        this.changed();
      }
    }
    if (b.s.code === (C.BPF_JMP | C.BPF_JEQ | C.BPF_K) && !has(b.outUse, A_ATOM)) {
      if (last.s.code === (C.BPF_ALU | C.BPF_SUB | C.BPF_X)) {
        const v = b.val[X_ATOM]!;
        if (this.konst(v)) {
          // sub x; jeq #y  ->  jeq #(x+y)
          b.s.k = (b.s.k + this.cval(v)) >>> 0;
          last.s.code = NOP;
          this.changed();
        } else if (b.s.k === 0) {
          // sub x; jeq #0  ->  jeq x
          last.s.code = NOP;
          b.s.code = C.BPF_JMP | C.BPF_JEQ | C.BPF_X;
          this.changed();
        }
      } else if (last.s.code === (C.BPF_ALU | C.BPF_SUB | C.BPF_K)) {
        last.s.code = NOP;
        b.s.k = (b.s.k + last.s.k) >>> 0;
        this.changed();
      } else if (last.s.code === (C.BPF_ALU | C.BPF_AND | C.BPF_K) && b.s.k === 0) {
        // and #k; jeq #0  ->  jset #k (branches swapped)
        b.s.k = last.s.k;
        b.s.code = C.BPF_JMP | C.BPF_K | C.BPF_JSET;
        last.s.code = NOP;
        this.changed();
        const t = b.et.succ;
        b.et.succ = b.ef.succ;
        b.ef.succ = t;
      }
    }
    if (b.s.code === (C.BPF_JMP | C.BPF_K | C.BPF_JSET)) {
      if (b.s.k === 0) b.et.succ = b.ef.succ;
      if (b.s.k === 0xffffffff) b.ef.succ = b.et.succ;
    }
    let v = b.val[X_ATOM]!;
    if (this.konst(v) && C.BPF_SRC(b.s.code) === C.BPF_X) {
      b.s.code &= ~C.BPF_X;
      b.s.k = this.cval(v);
    }
    v = b.val[A_ATOM]!;
    if (this.konst(v) && C.BPF_SRC(b.s.code) === C.BPF_K) {
      let r = this.cval(v);
      switch (C.BPF_OP(b.s.code)) {
        case C.BPF_JEQ: r = r === b.s.k ? 1 : 0; break;
        case C.BPF_JGT: r = r > b.s.k ? 1 : 0; break;
        case C.BPF_JGE: r = r >= b.s.k ? 1 : 0; break;
        case C.BPF_JSET: r = (r & b.s.k) >>> 0; break;
        default: throw new Error("opt_peep: bad branch");
      }
      if (b.ef.succ !== b.et.succ) this.changed();
      if (r !== 0) b.ef.succ = b.et.succ;
      else b.et.succ = b.ef.succ;
    }
  }

  private optDeadstores(b: Block): void {
    const last: (Stmt | null)[] = new Array<Stmt | null>(N_ATOMS).fill(null);
    const dead = (s: Stmt): void => {
      let atom = atomuse(s);
      if (atom >= 0) {
        if (atom === AX_ATOM) {
          last[X_ATOM] = null;
          last[A_ATOM] = null;
        } else last[atom] = null;
      }
      atom = atomdef(s);
      if (atom >= 0) {
        const prev = last[atom];
        if (prev !== null && prev !== undefined) {
          this.changed();
          prev.code = NOP;
        }
        last[atom] = s;
      }
    };
    for (let s = b.stmts; s !== null; s = s.next) dead(s.s);
    dead(b.s);
    for (let atom = 0; atom < N_ATOMS; atom++) {
      const l = last[atom];
      if (l !== null && l !== undefined && !has(b.outUse, atom)) {
        l.code = NOP;
        this.changed();
      }
    }
  }

  private optBlk(b: Block, doStmts: boolean): void {
    let p = b.inEdges;
    if (p === null) b.val.fill(0);
    else {
      b.val.set(p.pred.val);
      while ((p = p.next) !== null) for (let i = 0; i < N_ATOMS; i++) if (b.val[i] !== p.pred.val[i]) b.val[i] = 0;
    }
    const aval = b.val[A_ATOM]!;
    const xval = b.val[X_ATOM]!;
    for (let s = b.stmts; s !== null; s = s.next) this.optStmt(s.s, b.val, doStmts);
    if (
      doStmts &&
      ((b.outUse === 0 && aval !== 0 && b.val[A_ATOM] === aval && xval !== 0 && b.val[X_ATOM] === xval) || C.BPF_CLASS(b.s.code) === C.BPF_RET)
    ) {
      if (b.stmts !== null) {
        b.stmts = null;
        this.changed();
      }
    } else {
      this.optPeep(b);
      this.optDeadstores(b);
    }
    b.oval = C.BPF_SRC(b.s.code) === C.BPF_K ? this.K(b.s.k) : b.val[X_ATOM]!;
    b.et.code = b.s.code;
    b.ef.code = -b.s.code;
  }

  // ---- branch optimisation ----

  private optJ(ep: Edge): void {
    const succ = ep.succ!;
    if (JT(succ) === null) return;
    if (JT(succ) === JF(succ)) {
      if (!useConflict(ep.pred, JT(succ)!)) {
        this.changed();
        ep.succ = JT(succ);
      }
    }
    top: for (;;) {
      for (let i = 0; i < this.edgewords; i++) {
        let x = ep.edom[i]!;
        while (x !== 0) {
          const bit = 31 - Math.clz32(x & -x);
          x &= ~(1 << bit);
          const k = bit + i * 32;
          const target = foldEdge(ep.succ!, this.edges[k]!);
          if (target !== null && !useConflict(ep.pred, target)) {
            this.done = false;
            ep.succ = target;
            if (JT(target) !== null) continue top;
            return;
          }
        }
      }
      return;
    }
  }

  /** or_pullup() (sense "t") and and_pullup() (sense "f"): hoist a test repeated along a chain. */
  private pullup(b: Block, chain: "ef" | "et"): void {
    const same = chain === "ef" ? "et" : "ef";
    let ep = b.inEdges;
    if (ep === null) return;
    const val = ep.pred.val[A_ATOM];
    for (ep = ep.next; ep !== null; ep = ep.next) if (val !== ep.pred.val[A_ATOM]) return;
    type Slot = { readonly blk: Block; readonly e: "et" | "ef" };
    const get = (s: Slot): Block | null => s.blk[s.e].succ;
    const set = (s: Slot, v: Block | null): void => {
      s.blk[s.e].succ = v;
    };
    const first = b.inEdges!.pred;
    let diffp: Slot = { blk: first, e: JT(first) === b ? "et" : "ef" };
    let atTop = true;
    for (;;) {
      const d = get(diffp);
      if (d === null) return;
      if (d[same].succ !== b[same].succ) return;
      if (!setMember(d.dom, b.id)) return;
      if (d.val[A_ATOM] !== val) break;
      diffp = { blk: d, e: chain };
      atTop = false;
    }
    let samep: Slot = { blk: get(diffp)!, e: chain };
    for (;;) {
      const s = get(samep);
      if (s === null) return;
      if (s[same].succ !== b[same].succ) return;
      if (!setMember(s.dom, b.id)) return;
      if (s.val[A_ATOM] === val) break;
      samep = { blk: s, e: chain };
    }
    const pull = get(samep)!;
    set(samep, pull[chain].succ);
    pull[chain].succ = get(diffp);
    if (atTop) {
      for (let e = b.inEdges; e !== null; e = e.next) {
        if (JT(e.pred) === b) e.pred.et.succ = pull;
        else e.pred.ef.succ = pull;
      }
    } else set(diffp, pull);
    this.done = false;
  }

  private optBlks(doStmts: boolean): void {
    this.initVal();
    const root = this.ic.root;
    const maxlevel = root.level;
    this.findInedges(root);
    for (const p of this.byLevel(maxlevel, 0)) this.optBlk(p, doStmts);
    if (doStmts) return;
    for (const p of this.byLevelUp(1, maxlevel)) {
      this.optJ(p.et);
      this.optJ(p.ef);
    }
    this.findInedges(root);
    for (const p of this.byLevelUp(1, maxlevel)) {
      this.pullup(p, "ef");
      this.pullup(p, "et");
    }
  }

  loop(doStmts: boolean): void {
    let loopCount = 0;
    for (;;) {
      this.done = true;
      this.nonBranchMovement = false;
      this.findLevels();
      this.findDom(this.ic.root);
      this.findUd(this.ic.root);
      this.findEdom(this.ic.root);
      this.optBlks(doStmts);
      if (this.done) break;
      if (this.nonBranchMovement) loopCount = 0;
      else if (++loopCount >= 100) {
        this.done = true;
        break;
      }
    }
  }

  /** intern_blocks(): merges identical blocks until none are left. */
  internBlocks(): void {
    const ic = this.ic;
    const n = this.blocks.length;
    for (;;) {
      let done1 = true;
      for (const b of this.blocks) b.link = null;
      ic.curMark++;
      preorder(ic, ic.root, () => undefined);
      // For each live block, the first later live block equal to it (eq_blk), found by
      // hashing: walking down from the end, a bucket holds the lowest index seen so far.
      const first = new Map<string, Block>();
      for (let i = n - 1; i >= 0; i--) {
        const b = this.blocks[i]!;
        if (!isMarked(ic, b)) continue;
        const key = blockKey(b);
        const j = first.get(key);
        if (j !== undefined && i !== n - 1) b.link = j.link ?? j;
        first.set(key, b);
      }
      for (const p of this.blocks) {
        if (JT(p) === null) continue;
        if (JT(p)!.link !== null) {
          done1 = false;
          p.et.succ = JT(p)!.link;
        }
        if (JF(p)!.link !== null) {
          done1 = false;
          p.ef.succ = JF(p)!.link;
        }
      }
      if (done1) return;
    }
  }
}

/** What eq_blk() compares: the branch, its targets and the live statements. */
function blockKey(b: Block): string {
  let key = `${b.s.code},${b.s.k},${b.et.succ?.id ?? -1},${b.ef.succ?.id ?? -1}`;
  for (let s = thisOp(b.stmts); s !== null; s = thisOp(s.next)) key += `;${s.s.code},${s.s.k}`;
  return key;
}

/** opt_root(): skips leading tests whose branches coincide; a `ret` root needs no statements. */
function optRoot(ic: Icode): void {
  let b = ic.root;
  const s = b.stmts;
  b.stmts = null;
  while (C.BPF_CLASS(b.s.code) === C.BPF_JMP && JT(b) === JF(b)) b = JT(b)!;
  const tmp = b.stmts;
  let merged = s;
  if (tmp !== null) {
    if (merged !== null) sappend(merged, tmp);
    else merged = tmp;
  }
  b.stmts = merged;
  if (C.BPF_CLASS(b.s.code) === C.BPF_RET) b.stmts = null;
  ic.root = b;
}

/**
 * bpf_optimize(): optimises the graph in place (ic.root may change). Throws a
 * FilterError for what the optimiser finds impossible (a division by a constant zero).
 */
export function optimize(ic: Icode, expr: string): void {
  const o = new Optimizer(ic);
  try {
    o.init();
    o.loop(false);
    o.loop(true);
    o.internBlocks();
    optRoot(ic);
  } catch (e) {
    if (e instanceof OptError) throw new FilterError("semantic", e.message, expr, 0, expr.length);
    throw e;
  }
}
