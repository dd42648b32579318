/**
 * Precision tracking: mark_chain_precision(), backtrack_insn(), propagate_precision()
 * and mark_all_scalars_precise() of kernel/bpf/verifier.c.
 *
 * A scalar's exact value matters only where the verifier relied on it: pointer
 * arithmetic, a helper's size argument, a branch decided by its value, a return
 * value range, a zero written to the stack. There the walk calls markPrecise(regno),
 * which walks the current path backwards, instruction by instruction (the kernel's
 * instruction history: jumps, and which stack slot a spill or fill used), to find
 * every register and spilled slot the value came from, and marks them precise in
 * each checkpoint (explored state) on the way. states.ts then ignores imprecise
 * scalars of an explored state (regsafe(): "!rold->precise && NOT_EXACT"), and when
 * a path is pruned against an explored state, that state's precise scalars are
 * marked along the pruned path (propagate_precision()), so its own checkpoints stay
 * exact where the continuation needed it.
 *
 * Where backtracking does not follow an instruction the kernel's way (it falls
 * back the same way for ENOTSUPP), every scalar of every checkpoint on the path
 * becomes precise: sound, prunes less. tsbpf falls back also where the path
 * crosses a call or exit of a subprogram or callback (the kernel moves the marks
 * between frames there) and at atomics touching a tracked register.
 *
 * Unprivileged programs (no CAP_BPF: bpf_capable false) keep every scalar precise,
 * as in the kernel (unknown scalars start precise there).
 */
import type { AluInsn, AtomicInsn, CallInsn, Insn, JmpInsn, LdxInsn, StxInsn } from "../isa/index.js";
import {
  K_ALU, K_ATOMIC, K_CALL, K_END, K_JA, K_JMP, K_LD_ABS, K_LD_IMM64, K_LD_IND, K_LDX, K_ST, K_STX, type Env,
} from "./env.js";
import { STACK_SPILL, slotByte, type Checkpoint, type Frame, type VState } from "./state.js";

const MAX_FRAMES = 8;
/** History flag: the instruction spilled to or filled from stack slot (frame, spi) (INSN_F_STACK_ACCESS). */
const F_STACK = 1 << 9;

/**
 * The instruction history of the paths being walked (the kernel's insn_hist): one
 * entry per instruction reached other than from the one before it (its predecessor,
 * for walking backwards), and per spill or fill (the slot) or comparison of linked
 * scalars (the registers and slots sharing the id). One array for all paths: a
 * path's entries follow its ancestors', and popping a queued state cuts the array
 * back to where it was when the state was queued (paths are walked depth first).
 */
export class InsnHistory {
  idx = new Int32Array(1024);
  prev = new Int32Array(1024);
  flags = new Int32Array(1024);
  /** Per entry, what walks traced back from it (precision.ts markChain): context tag, registers, slots. */
  private mTag = new Int32Array(1024);
  private mRegs = new Int32Array(1024);
  private mLo = new Int32Array(1024);
  private mHi = new Int32Array(1024);
  /** Linked scalars at a comparison: frame * 128 + regno, or frame * 128 + 64 + spi. */
  linked: Array<number[] | undefined> = [];
  cnt = 0;
  /** The entry of the instruction being processed, or -1. */
  visit = -1;
  /**
   * Per instruction slot, decoded for backtracking (markChain): kind | dst << 8 |
   * (src + 1) << 16, one load per step; 0 (B_UNSET): not decoded yet.
   */
  readonly bCode: Int32Array;
  constructor(len: number) {
    this.bCode = new Int32Array(len);
  }

  /** Empty again, for a program of len slots (at most the one it was made for). */
  private reset(len: number): void {
    this.cnt = 0;
    this.visit = -1;
    this.linked = [];
    this.bCode.fill(0, 0, len);
  }

  /**
   * A history for a walk of a program of len slots: one kept for programs of up to
   * 64k slots, so that verifying a small program allocates none.
   */
  static forProgram(len: number): InsnHistory {
    if (len > 0x10000) return new InsnHistory(len);
    if (kept === undefined || kept.bCode.length < len) kept = new InsnHistory(Math.max(len, 4096));
    else kept.reset(len);
    return kept;
  }

  private grow(): void {
    const n = this.idx.length * 2;
    const g = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.idx = g(this.idx);
    this.prev = g(this.prev);
    this.flags = g(this.flags);
    this.mTag = g(this.mTag);
    this.mRegs = g(this.mRegs);
    this.mLo = g(this.mLo);
    this.mHi = g(this.mHi);
  }

  /** push_jmp_history() for an instruction reached from `prev`. */
  arrive(insn: number, prev: number): void {
    if (this.cnt === this.idx.length) this.grow();
    const k = this.cnt++;
    this.idx[k] = insn;
    this.prev[k] = prev;
    this.flags[k] = 0;
    this.mTag[k] = 0;
    if (this.linked.length > k) this.linked[k] = undefined;
    this.visit = k;
  }

  /** The entry of the current instruction, made if there is none (it was reached from the one before). */
  private entry(insn: number): number {
    if (this.visit < 0) this.arrive(insn, insn - 1);
    return this.visit;
  }

  /**
   * A walk (tag `ctx`) just crossed entry k backwards needing `bt`: true when
   * earlier walks from here traced all of it; otherwise it is added to what they did.
   * Only walks whose outer frames need nothing take part; the walk's frame f's
   * masks are passed (markChain keeps them in locals).
   */
  memo(k: number, ctx: number, bt: Backtrack, f: number, r: number, lo: number, hi: number): boolean {
    for (let o = 0; o < f; o++) if ((bt.regs[o]! | bt.lo[o]! | bt.hi[o]!) !== 0) return false;
    if (this.mTag[k] !== ctx) {
      this.mTag[k] = ctx;
      this.mRegs[k] = r;
      this.mLo[k] = lo;
      this.mHi[k] = hi;
      return false;
    }
    if ((r & ~this.mRegs[k]!) === 0 && (lo & ~this.mLo[k]!) === 0 && (hi & ~this.mHi[k]!) === 0) return true;
    this.mRegs[k]! |= r;
    this.mLo[k]! |= lo;
    this.mHi[k]! |= hi;
    return false;
  }

  /** A spill to, or fill from, stack slot spi of `frame` by the current instruction. */
  stackAccess(insn: number, frame: number, spi: number): void {
    if (spi < 0 || spi >= 64) return;
    const k = this.entry(insn);
    this.flags[k] = F_STACK | (frame << 6) | spi;
  }

  /** Scalars linked by id at the current comparison (collect_linked_regs()). */
  linkedRegs(insn: number, items: number[]): void {
    const k = this.entry(insn);
    while (this.linked.length <= k) this.linked.push(undefined);
    this.linked[k] = items;
  }
}

let kept: InsnHistory | undefined;

/** The registers and slots whose values are still to be traced (struct backtrack_state), per frame. */
class Backtrack {
  frame = 0;
  readonly regs = new Int32Array(MAX_FRAMES);
  readonly lo = new Int32Array(MAX_FRAMES);
  readonly hi = new Int32Array(MAX_FRAMES);
  reset(frame: number): void {
    this.frame = frame;
    // A loop, not fill(): three builtin calls cost more than 24 stores here.
    for (let f = 0; f < MAX_FRAMES; f++) {
      this.regs[f] = 0;
      this.lo[f] = 0;
      this.hi[f] = 0;
    }
  }
  empty(): boolean {
    if (this.frame === 0) return (this.regs[0]! | this.lo[0]! | this.hi[0]!) === 0;
    for (let f = 0; f <= this.frame; f++) if ((this.regs[f]! | this.lo[f]! | this.hi[f]!) !== 0) return false;
    return true;
  }
  hasReg(f: number, r: number): boolean {
    return ((this.regs[f]! >> r) & 1) !== 0;
  }
  setReg(f: number, r: number): void {
    this.regs[f]! |= 1 << r;
  }
  clearReg(f: number, r: number): void {
    this.regs[f]! &= ~(1 << r);
  }
  hasSlot(f: number, spi: number): boolean {
    return spi < 32 ? ((this.lo[f]! >>> spi) & 1) !== 0 : ((this.hi[f]! >>> (spi - 32)) & 1) !== 0;
  }
  setSlot(f: number, spi: number): void {
    if (spi < 32) this.lo[f]! |= 1 << spi;
    else this.hi[f]! |= 1 << (spi - 32);
  }
  clearSlot(f: number, spi: number): void {
    if (spi < 32) this.lo[f]! &= ~(1 << spi);
    else this.hi[f]! &= ~(1 << (spi - 32));
  }
}

const BT = new Backtrack();

/** A checkpoint's precise marks: per frame, 3 words (registers, slots 0-31, slots 32-63). */
export function newPrecMarks(frames: number): Int32Array {
  return new Int32Array(frames * 3);
}

/** Is register r of frame f of the checkpoint precise? */
export function regPrecise(cp: Checkpoint, f: number, r: number): boolean {
  return cp.allPrecise || ((cp.prec[f * 3]! >> r) & 1) !== 0;
}

/** Is the scalar spilled in slot spi of frame f of the checkpoint precise? */
export function slotPrecise(cp: Checkpoint, f: number, spi: number): boolean {
  if (cp.allPrecise) return true;
  return spi < 32 ? ((cp.prec[f * 3 + 1]! >>> spi) & 1) !== 0 : ((cp.prec[f * 3 + 2]! >>> (spi - 32)) & 1) !== 0;
}

const isSpilledScalar = (fr: Frame, spi: number): boolean => {
  const sl = fr.stack[spi];
  return sl !== undefined && slotByte(sl.types, 7) === STACK_SPILL && sl.spilled?.type === "SCALAR_VALUE";
};

/** bt_sync_linked_regs(): one linked scalar traced means all of them are. */
function syncLinked(bt: Backtrack, items: number[] | undefined): void {
  if (items === undefined) return;
  let some = false;
  for (const it of items) {
    const f = it >> 7;
    const x = it & 127;
    if (x < 64 ? bt.hasReg(f, x) : bt.hasSlot(f, x - 64)) {
      some = true;
      break;
    }
  }
  if (!some) return;
  for (const it of items) {
    const f = it >> 7;
    const x = it & 127;
    if (x < 64) bt.setReg(f, x);
    else bt.setSlot(f, x - 64);
  }
}

/**
 * backtrack_insn(): what instruction i needs precise before it, given what is traced
 * after it (`subseq`: the instruction the path went on to). False: give up.
 */
// What backtracking needs of each instruction, decoded once per slot (the
// instruction objects' fields are megamorphic loads): a kind, dst, and the source
// register (-1: an immediate).
const B_UNSET = 0, B_NOP = 1, B_MOV = 2, B_ALU = 3, B_LDX = 4, B_STX = 5, B_ST = 6, B_ATOMIC = 7, B_LDIMM = 8, B_LDABS = 9,
  B_JMP = 10, B_HELPER = 11, B_GIVE_UP = 12;

/** Decodes slot i for backtracking into h.bCode; returns the code. */
function decodeFor(env: Env, h: InsnHistory, i: number): number {
  const insn: Insn | undefined = env.bySlot[i];
  let kind = B_NOP;
  let dst = 0;
  let src = -1;
  if (insn !== undefined) {
    switch (env.code[i]) {
      case K_ALU: {
        const a = insn as AluInsn;
        dst = a.dst;
        src = a.src.kind === "reg" ? a.src.reg : -1;
        kind = a.op === "neg" ? B_NOP : a.op === "mov" || a.op === "movsx" ? B_MOV : B_ALU;
        break;
      }
      case K_END:
      case K_JA:
        break;
      case K_LDX:
        kind = B_LDX;
        dst = (insn as LdxInsn).dst;
        break;
      case K_STX:
        kind = B_STX;
        dst = (insn as StxInsn).dst;
        src = (insn as StxInsn).src;
        break;
      case K_ST:
        kind = B_ST;
        dst = (insn as { dst: number }).dst;
        break;
      case K_ATOMIC:
        kind = B_ATOMIC;
        dst = (insn as AtomicInsn).dst;
        src = (insn as AtomicInsn).src;
        break;
      case K_LD_IMM64:
        kind = B_LDIMM;
        dst = (insn as { dst: number }).dst;
        break;
      case K_LD_ABS:
      case K_LD_IND:
        kind = B_LDABS;
        break;
      case K_JMP: {
        const j = insn as JmpInsn;
        kind = B_JMP;
        dst = j.dst;
        src = j.src.kind === "reg" ? j.src.reg : -1;
        break;
      }
      case K_CALL:
        kind = (insn as CallInsn).target === "helper" ? B_HELPER : B_GIVE_UP;
        break;
      default:
        // exit (leaving a subprogram or callback backwards), callx
        kind = B_GIVE_UP;
    }
  }
  const code = kind | (dst << 8) | ((src + 1) << 16);
  h.bCode[i] = code;
  return code;
}

/**
 * What walks traced back from each history entry they crossed (per entry: a tag,
 * and the registers and slots of the walk's frame). A later walk that crosses the
 * same entry needing no more is done: the earlier walks marked everything that
 * depends on (backtracking is monotone and distributes over unions, and checkpoints'
 * marks only grow). What lies behind an entry (the entries before it, the
 * checkpoints of its path) is fixed while the entry lives: the history is cut only
 * when a queued state is popped, and an entry written again (InsnHistory.arrive)
 * loses its tag. This holds for entries of the current state and of its
 * checkpoints alike (the kernel walks both every time). A loop with a constant
 * bound marks its counter every iteration; without this each mark walks back
 * through the last checkpoints.
 *
 * The tag is memoEpoch * 8 + the walk's frame. A walk that gives up marks every
 * checkpoint of its own path (markAllPrecise), which a later walk from another
 * state, crossing the same entries, would not have had marked for it: giving up
 * starts a new epoch, so no earlier record counts.
 */
let memoEpoch = 1;

/** mark_all_scalars_precise(): every checkpoint on the path, every scalar. */
function markAllPrecise(st: VState): void {
  memoEpoch++;
  for (let cp = st.parent; cp !== undefined && !cp.allPrecise; cp = cp.state.parent) cp.allPrecise = true;
}

/** Are the masks of frames 0..f-1 (those the walk's frame was called from) empty? */
function outerEmpty(bt: Backtrack, f: number): boolean {
  for (let o = 0; o < f; o++) if ((bt.regs[o]! | bt.lo[o]! | bt.hi[o]!) !== 0) return false;
  return true;
}

/**
 * __mark_chain_precision(): traces what `bt` holds back from instruction `last` of
 * the current state `st` (not itself backtracked) through its checkpoints.
 *
 * backtrack_insn() is inlined in the walk, and the walk's frame's masks (registers,
 * slots 0-31, slots 32-63) are kept in local int32s, written back to `bt` only
 * where something else reads them (linked scalars, a checkpoint, the end): a loop
 * with a constant bound marks its counter every iteration and each mark steps over
 * tens of instructions, so a step must cost a few loads and a switch.
 */
function markChain(env: Env, st: VState, last: number, bt: Backtrack, memo = false): void {
  if (bt.empty()) return;
  const h = env.hist;
  const hIdx = h.idx;
  const hPrev = h.prev;
  const hFlags = h.flags;
  const codes = h.bCode;
  // The walk's frame: every path of a walk stays in it (a checkpoint with another
  // frame count, or a call or exit crossed, gives up below).
  const f = bt.frame;
  const btRegs = bt.regs;
  const btLo = bt.lo;
  const btHi = bt.hi;
  let regs = btRegs[f]! | 0;
  let lo = btLo[f]! | 0;
  let hi = btHi[f]! | 0;
  let first = st.firstInsn;
  let hs = st.histStart;
  let cursor = h.cnt;
  let skip = true;
  let subseq = -1;
  let cp = st.parent;
  for (;;) {
    if (last >= 0) {
      let i = last;
      // The instruction of the latest history entry not crossed yet, or -1.
      let entryInsn = cursor > hs ? hIdx[cursor - 1]! : -1;
      for (;;) {
        if (skip) skip = false;
        else {
          // backtrack_insn() for instruction i; e: its history entry, or -1.
          const e = entryInsn === i ? cursor - 1 : -1;
          let code = codes[i]!;
          if (code === B_UNSET) code = decodeFor(env, h, i);
          const kind = code & 255;
          if (kind !== B_NOP) {
            const dst = (code >> 8) & 255;
            const src = ((code >> 16) & 255) - 1;
            switch (kind) {
              case B_MOV:
                if (((regs >> dst) & 1) !== 0) {
                  regs &= ~(1 << dst);
                  if (src >= 0 && src !== 10) regs |= 1 << src;
                }
                break;
              case B_ALU:
                if (((regs >> dst) & 1) !== 0 && src >= 0 && src !== 10) regs |= 1 << src;
                break;
              case B_LDX:
                if (((regs >> dst) & 1) !== 0) {
                  regs &= ~(1 << dst);
                  // A fill: the slot's spilled scalar is what the register got.
                  if (e >= 0 && (hFlags[e]! & F_STACK) !== 0) {
                    const fr = (hFlags[e]! >> 6) & 7;
                    const spi = hFlags[e]! & 63;
                    if (fr !== f) bt.setSlot(fr, spi);
                    else if (spi < 32) lo |= 1 << spi;
                    else hi |= 1 << (spi - 32);
                  }
                }
                break;
              case B_STX:
              case B_ST: {
                if (((regs >> dst) & 1) !== 0) return markAllPrecise(st); // a traced scalar used as an address
                if (e < 0 || (hFlags[e]! & F_STACK) === 0) break;
                const fr = (hFlags[e]! >> 6) & 7;
                const spi = hFlags[e]! & 63;
                if (fr !== f) {
                  if (!bt.hasSlot(fr, spi)) break;
                  bt.clearSlot(fr, spi);
                } else if (spi < 32) {
                  if (((lo >>> spi) & 1) === 0) break;
                  lo &= ~(1 << spi);
                } else {
                  if (((hi >>> (spi - 32)) & 1) === 0) break;
                  hi &= ~(1 << (spi - 32));
                }
                if (kind === B_STX) regs |= 1 << src;
                break;
              }
              case B_ATOMIC:
                if ((regs & ((1 << dst) | (1 << src) | 1)) !== 0) return markAllPrecise(st);
                break;
              case B_LDIMM:
                regs &= ~(1 << dst);
                break;
              case B_LDABS:
                if ((regs & 1) !== 0) return markAllPrecise(st);
                break;
              case B_JMP: {
                const items = e >= 0 ? h.linked[e] : undefined;
                if (items !== undefined) {
                  btRegs[f] = regs;
                  btLo[f] = lo;
                  btHi[f] = hi;
                  syncLinked(bt, items);
                  regs = btRegs[f]!;
                  lo = btLo[f]!;
                  hi = btHi[f]!;
                }
                if (src >= 0 && (regs & ((1 << dst) | (1 << src))) !== 0) regs |= (1 << dst) | (1 << src);
                if (items !== undefined) {
                  btRegs[f] = regs;
                  btLo[f] = lo;
                  btHi[f] = hi;
                  syncLinked(bt, items);
                  regs = btRegs[f]!;
                  lo = btLo[f]!;
                  hi = btHi[f]!;
                }
                break;
              }
              case B_HELPER:
                // A helper entering a callback (the path went on elsewhere): frames change.
                if (subseq !== i + 1) return markAllPrecise(st);
                regs &= ~1;
                if ((regs & 0x3e) !== 0) return markAllPrecise(st);
                break;
              default:
                // a subprogram call, exit, callx
                return markAllPrecise(st);
            }
          }
        }
        if ((regs | lo | hi) === 0 && (f === 0 || outerEmpty(bt, f))) return;
        subseq = i;
        // get_prev_insn_idx()
        if (i === first && (cursor === hs || (cursor === hs + 1 && hIdx[hs] === i))) break;
        if (entryInsn === i) {
          i = hPrev[cursor - 1]!;
          cursor--;
          entryInsn = cursor > hs ? hIdx[cursor - 1]! : -1;
          if (memo && h.memo(cursor, memoEpoch * 8 + f, bt, f, regs, lo, hi)) return;
        } else i--;
        if (i < 0) return markAllPrecise(st);
      }
    }
    if (cp === undefined) break;
    const frames = cp.state.frames;
    if (frames.length !== f + 1) return markAllPrecise(st);
    if (cp.allPrecise) return;
    btRegs[f] = regs;
    btLo[f] = lo;
    btHi[f] = hi;
    const prec = cp.prec;
    for (let g = 0; g <= f; g++) {
      const fr = frames[g]!;
      let m = btRegs[g]!;
      for (let r = 0; m !== 0; r++, m >>>= 1) {
        if ((m & 1) === 0) continue;
        if (fr.regs[r]!.type !== "SCALAR_VALUE" || ((prec[g * 3]! >> r) & 1) !== 0) bt.clearReg(g, r);
        else prec[g * 3]! |= 1 << r;
      }
      for (let w = 0; w < 2; w++) {
        let s = w === 0 ? btLo[g]! : btHi[g]!;
        for (let k = 0; s !== 0; k++, s >>>= 1) {
          if ((s & 1) === 0) continue;
          const spi = w * 32 + k;
          const bit = 1 << k;
          if (!isSpilledScalar(fr, spi) || (prec[g * 3 + 1 + w]! & bit) !== 0) bt.clearSlot(g, spi);
          else prec[g * 3 + 1 + w]! |= bit;
        }
      }
    }
    regs = btRegs[f]!;
    lo = btLo[f]!;
    hi = btHi[f]!;
    if ((regs | lo | hi) === 0 && (f === 0 || outerEmpty(bt, f))) return;
    subseq = first;
    first = cp.first;
    last = cp.last;
    hs = cp.histStart;
    cursor = cp.histEnd;
    cp = cp.state.parent;
  }
  // Something traced reached the program's start: missed (the kernel's fallback too).
  if ((regs | lo | hi) !== 0 || !outerEmpty(bt, f)) markAllPrecise(st);
}

/** mark_chain_precision(env, regno): register regno of the current frame. */
export function markPrecise(env: Env, regno: number): void {
  if (!env.privileged) return;
  const st = env.cur;
  const f = st.frames.length - 1;
  if (st.frames[f]!.regs[regno]?.type !== "SCALAR_VALUE") return;
  BT.reset(f);
  BT.setReg(f, regno);
  markChain(env, st, env.insnIdx, BT, true);
}

/**
 * mark_chain_precision_batch() for stack slot `spi` of frame `frameno`: a spilled
 * scalar the walk relied on (get_constant_map_key(): an array lookup's key).
 */
export function markSlotPrecise(env: Env, frameno: number, spi: number): void {
  if (!env.privileged) return;
  const st = env.cur;
  const fr = st.frames[frameno];
  if (fr === undefined || !isSpilledScalar(fr, spi)) return;
  BT.reset(st.frames.length - 1);
  BT.setSlot(frameno, spi);
  markChain(env, st, env.insnIdx, BT);
}

/**
 * propagate_precision(): the current state, pruned at `insn` against explored state
 * `old`, needs precise what `old` had precise (among its live registers: `live`
 * gives each frame's).
 */
export function propagatePrecision(env: Env, old: Checkpoint, cur: VState, insn: number, live: (frame: number) => number): void {
  if (!env.privileged) return;
  const frames = old.state.frames;
  BT.reset(cur.frames.length - 1);
  for (let f = 0; f < frames.length; f++) {
    const fr = frames[f]!;
    const lv = live(f);
    for (let r = 0; r < 10; r++) {
      if ((lv & (1 << r)) !== 0 && fr.regs[r]!.type === "SCALAR_VALUE" && (old.allPrecise || ((old.prec[f * 3]! >> r) & 1) !== 0)) BT.setReg(f, r);
    }
    for (let spi = 0; spi < fr.stack.length && spi < 64; spi++) {
      if (isSpilledScalar(fr, spi) && slotPrecise(old, f, spi)) BT.setSlot(f, spi);
    }
  }
  markChain(env, cur, insn, BT);
}

/** After pruning against a state still being explored (callbacks): its marks are not final. */
export function markPathAllPrecise(cur: VState): void {
  markAllPrecise(cur);
}
