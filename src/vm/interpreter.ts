/**
 * The reference interpreter: every RFC 9669 semantic, in checked mode. It is the
 * oracle the JIT is compared against, so clarity of semantics comes first and speed
 * second; the speed comes from representation, not from cutting corners:
 *
 *  - registers are 32-bit halves in two Int32Arrays (no BigInt on the hot path);
 *  - immediates live in read-only constant registers (see program.ts), so each
 *    operation has one case for both BPF_K and BPF_X;
 *  - every load and store is checked against the region it falls in (stack first,
 *    then a one-entry cache, then a search of the address space), and a miss stops
 *    the program with a fault naming the instruction, address and size;
 *  - the instruction budget is one compare per instruction.
 *
 * Semantics followed (RFC 9669 §4, kernel/bpf/core.c ___bpf_prog_run): division by
 * zero gives 0; modulo by zero leaves dst unchanged (its upper half zeroed for
 * BPF_ALU); INT_MIN sdiv -1 = INT_MIN and smod = 0; shift counts are masked to the
 * operand width (uBPF's behaviour for out-of-range constants, which the kernel's
 * verifier rejects); 32-bit operations zero the upper half; BPF_K operands of 64-bit
 * operations are sign-extended. bpf-to-bpf calls keep r6-r9 for the caller and give
 * the callee its own 512-byte frame below the caller's; at most MAX_CALL_FRAMES frames.
 */
import { MAX_BPF_STACK, MAX_CALL_FRAMES, fromHalves, hiOf, loOf } from "../isa/index.js";
import type { Insn } from "../isa/index.js";
import type { AddressSpace, Region } from "./address-space.js";
import { FUNC_PTR_TAG_HI, type HelperContext, type HelperDef, type HelperTable } from "./helpers.js";
import { NUM_REGS, predecode, type PredecodedProgram } from "./program.js";

export type FaultKind =
  | "read" // load from an unmapped address or across a region's end
  | "write" // store to an unmapped or read-only address
  | "misaligned_atomic"
  | "unknown_helper"
  | "helper_error"
  | "bad_callx"
  | "budget"
  | "call_depth"
  | "bad_jump" // jump out of the program, fall off its end, or into the middle of ld_imm64
  | "unsupported";

export interface Fault {
  readonly kind: FaultKind;
  /** Slot index of the faulting instruction. */
  readonly pc: number;
  readonly message: string;
  readonly addr?: bigint;
  readonly size?: number;
}

export type RunResult =
  | { readonly status: "exit"; readonly r0: bigint; readonly executed: number }
  | { readonly status: "fault"; readonly fault: Fault; readonly executed: number };

export type StepResult =
  | { readonly status: "running"; readonly pc: number; readonly executed: number }
  | RunResult;

export interface MachineOptions {
  helpers?: HelperTable;
  /** Maximum instructions per run (default 1,000,000); exhausting it is a fault. */
  budget?: number;
  /** Name of the stack region (one per CPU in a runtime). */
  stackName?: string;
  /**
   * Legacy packet loads (BPF_LD|BPF_ABS/IND): the program type's loader, given the ctx
   * in r6, the offset and the size; returns the value (host order already converted from
   * network order) or undefined when out of bounds, which ends the program with r0 = 0,
   * as the kernel's bpf_skb_load_helper path does. Without it such loads fault.
   */
  ldAbs?: LdAbsLoader;
  /**
   * Use this region (MAX_CALL_FRAMES * MAX_BPF_STACK bytes) as the stack instead of
   * mapping one, e.g. the JIT machine's, when this machine runs functions for it
   * (callAt); close() leaves it mapped.
   */
  stack?: Region;
}

export type LdAbsLoader = (ctx: number, offset: number, size: 1 | 2 | 4) => number | undefined;

export interface ResetArgs {
  r1?: bigint;
  r2?: bigint;
  r3?: bigint;
  r4?: bigint;
  r5?: bigint;
}

export const DEFAULT_BUDGET = 1_000_000;
const STACK_SIZE = MAX_CALL_FRAMES * MAX_BPF_STACK;

// Loop exit codes.
const ST_EXIT = 0;
const ST_PAUSE = 1;
const ST_FAULT = 2;
/** The loop left to switch programs (tail call, or return into a tail-calling caller). */
const ST_SWITCH = 3;

/** MAX_TAIL_CALL_CNT in the kernel: at most 33 tail calls per run. */
export const MAX_TAIL_CALL_CNT = 33;

/** A program instance bound to an address space: registers, call frames, its stack. */
export class Machine {
  /** The program now running: the entry program, or the target of the last tail call. */
  program: PredecodedProgram;
  /** The program `reset()` starts. */
  readonly entry: PredecodedProgram;
  readonly space: AddressSpace;
  readonly stack: Region;
  readonly helpers: HelperTable;
  budget: number;
  /** r0-r10 and the constant registers: low and high 32-bit halves. */
  lo: Int32Array;
  hi: Int32Array;
  pc = 0;
  executed = 0;
  /** Call frames: saved r6-r9 (lo, hi), return pc, per frame. depth 0 = main program. */
  depth = 0;
  private readonly savedLo = new Int32Array(MAX_CALL_FRAMES * 4);
  private readonly savedHi = new Int32Array(MAX_CALL_FRAMES * 4);
  private readonly retPc = new Int32Array(MAX_CALL_FRAMES);
  /** Program to return into, per frame (differs from `program` only after a tail call in a subprogram). */
  private readonly retProg: Array<PredecodedProgram | undefined> = new Array(MAX_CALL_FRAMES).fill(undefined);
  private ldAbs: LdAbsLoader | undefined;
  /** Tail calls taken in this run. */
  tailCalls = 0;
  private pendingProgram: PredecodedProgram | undefined;
  /** Depth at which `exit` ends the current execute() (0 for a run; deeper for helper callbacks). */
  private baseDepth = 0;
  private fault: Fault | undefined;
  private done = false;
  // One-entry region caches for loads and for stores (besides the stack).
  private rdLo = 0;
  private rdHi = 0;
  private wrLo = 0;
  private wrHi = 0;
  private rd2Lo = 0;
  private rd2Hi = 0;
  private wr2Lo = 0;
  private wr2Hi = 0;
  private cacheGen = -1;
  private readonly helperCtx: HelperContext;
  private readonly ownStack: boolean;

  constructor(program: PredecodedProgram | readonly Insn[], space: AddressSpace, opts: MachineOptions = {}) {
    this.program = isPredecoded(program) ? program : predecode(program);
    this.entry = this.program;
    if (opts.ldAbs !== undefined) this.ldAbs = opts.ldAbs;
    this.space = space;
    this.helpers = opts.helpers ?? new Map();
    this.budget = opts.budget ?? DEFAULT_BUDGET;
    this.ownStack = opts.stack === undefined;
    this.stack = opts.stack ?? space.map(STACK_SIZE, { name: opts.stackName ?? "stack", kind: "stack", align: 16 });
    this.lo = Int32Array.from(this.program.constLo);
    this.hi = Int32Array.from(this.program.constHi);
    const self = this;
    this.helperCtx = {
      memory: space,
      get pc() {
        return self.pc;
      },
      callFunction: (fn, args) => self.callFunction(fn, args),
      tailCall: (target) => self.requestTailCall(target),
    };
    this.reset();
  }

  /** Releases the stack region (unless it was lent). */
  close(): void {
    if (this.ownStack) this.space.unmap(this.stack);
  }

  /**
   * Calls the function at `slot` as a bpf-to-bpf call from frame `depth` (0 = the
   * program's own frame) would, with `regs` (r0-r9) as the caller's registers, in a
   * run that has executed `executed` instructions and taken `tailCalls` tail calls,
   * and runs it to its exit: the JIT's way to enter a function it did not compile (a
   * function pointer computed at run time). Returns r0-r5 as the callee left them
   * (r6-r9 are the caller's again), or the fault; `executed` and `tailCalls` are the
   * run's totals afterwards.
   */
  callAt(slot: number, regs: readonly bigint[], depth: number, executed: number, tailCalls: number): { status: "exit"; regs: bigint[]; executed: number; tailCalls: number } | { status: "fault"; fault: Fault; executed: number; tailCalls: number } {
    this.reset();
    this.tailCalls = tailCalls;
    for (let i = 0; i < 10; i++) this.setReg(i, regs[i] ?? 0n);
    this.depth = depth;
    this.executed = executed;
    this.pushFrame(-1);
    this.pc = slot;
    this.baseDepth = this.depth;
    this.drive(Infinity);
    this.baseDepth = 0;
    if (this.fault !== undefined) return { status: "fault", fault: this.fault, executed: this.executed, tailCalls: this.tailCalls };
    return { status: "exit", regs: [0, 1, 2, 3, 4, 5].map((i) => this.getReg(i)), executed: this.executed, tailCalls: this.tailCalls };
  }

  /** Prepares a new run: r1-r5 from args (others zero), r10 = top of the stack, pc = 0. */
  reset(args: ResetArgs = {}): void {
    if (this.program !== this.entry) this.switchTo(this.entry);
    this.tailCalls = 0;
    this.pendingProgram = undefined;
    this.lo.fill(0, 0, NUM_REGS);
    this.hi.fill(0, 0, NUM_REGS);
    const a = [args.r1, args.r2, args.r3, args.r4, args.r5];
    a.forEach((v, i) => {
      if (v !== undefined) this.setReg(i + 1, v);
    });
    this.setReg(10, BigInt(this.stack.end));
    this.pc = 0;
    this.executed = 0;
    this.depth = 0;
    this.baseDepth = 0;
    this.fault = undefined;
    this.done = false;
  }

  getReg(i: number): bigint {
    return fromHalves(this.lo[i]!, this.hi[i]!);
  }

  setReg(i: number, v: bigint): void {
    this.lo[i] = loOf(v);
    this.hi[i] = hiOf(v);
  }

  /** Runs to exit or fault. */
  run(): RunResult {
    if (!this.done) this.drive(Infinity);
    return this.result() as RunResult;
  }

  /** Executes one instruction (the debugger's step). */
  step(): StepResult {
    if (!this.done) this.drive(this.executed + 1);
    return this.result();
  }

  /** The instruction at the current pc. */
  get currentInsn(): Insn | undefined {
    return this.program.bySlot[this.pc];
  }

  private result(): StepResult {
    if (this.fault !== undefined) return { status: "fault", fault: this.fault, executed: this.executed };
    if (this.done) return { status: "exit", r0: this.getReg(0), executed: this.executed };
    return { status: "running", pc: this.pc, executed: this.executed };
  }

  private setFault(kind: FaultKind, pc: number, message: string, addr?: bigint, size?: number): void {
    const f: { kind: FaultKind; pc: number; message: string; addr?: bigint; size?: number } = { kind, pc, message: `insn ${pc}: ${message}` };
    if (addr !== undefined) f.addr = addr;
    if (size !== undefined) f.size = size;
    this.fault = f;
    this.done = true;
  }

  /**
   * Resolves a checked access of `size` bytes at reg(lo, hi) + off. Returns the
   * address, or -1 after recording a fault. Refreshes the one-entry caches.
   */
  private resolve(lo: number, hi: number, off: number, size: number, write: boolean, pc: number): number {
    // With a zero upper half the address is exact in a double; anything else cannot be
    // mapped (a wrap from a negative pointer lands below the 64 KiB NULL guard).
    const a = (lo >>> 0) + off;
    const region = hi === 0 && a >= 0 ? this.space.find(a, size) : undefined;
    if (region === undefined || (write && !region.writable)) {
      const addr = BigInt.asUintN(64, fromHalves(lo, hi) + BigInt(off));
      const addrHex = `0x${addr.toString(16)}`;
      const near = region ?? (hi === 0 && a >= 0 ? this.space.find(a, 1) : undefined);
      const why = region !== undefined ? `${region.name} is read-only` : near === undefined ? "no mapped region" : `crosses the end of ${near.name} [0x${near.start.toString(16)}, 0x${near.end.toString(16)})`;
      this.setFault(write ? "write" : "read", pc, `invalid ${write ? "write" : "read"} of ${size} bytes at ${addrHex}: ${why}`, addr, size);
      return -1;
    }
    // Two-entry caches per direction: programs alternate between ctx, packet and map values.
    if (write) {
      this.wr2Lo = this.wrLo;
      this.wr2Hi = this.wrHi;
      this.wrLo = region.start;
      this.wrHi = region.end;
    } else {
      this.rd2Lo = this.rdLo;
      this.rd2Hi = this.rdHi;
      this.rdLo = region.start;
      this.rdHi = region.end;
    }
    return a;
  }

  /** Calls a helper with r1-r5 and puts its result in r0; ST_PAUSE to go on, ST_FAULT, or ST_SWITCH after a tail call. */
  private callHelper(h: HelperDef, id: number, pc: number, n: number): number {
    const R = this.lo;
    const H = this.hi;
    this.pc = pc;
    this.executed = n;
    try {
      const r = h.fn(fromHalves(R[1]!, H[1]!), fromHalves(R[2]!, H[2]!), fromHalves(R[3]!, H[3]!), fromHalves(R[4]!, H[4]!), fromHalves(R[5]!, H[5]!), this.helperCtx);
      const v = typeof r === "bigint" ? r : BigInt(r);
      R[0] = loOf(v);
      H[0] = hiOf(v);
    } catch (e) {
      if (!(e instanceof NestedFault)) this.setFault("helper_error", pc, `helper ${h.name}#${id} failed: ${e instanceof Error ? e.message : String(e)}`);
      return ST_FAULT;
    }
    if (this.fault !== undefined) return ST_FAULT;
    return this.pendingProgram !== undefined ? ST_SWITCH : ST_PAUSE;
  }

  private callFunction(fn: bigint, args: readonly bigint[]): bigint {
    const lo = loOf(fn);
    const hi = hiOf(fn);
    const target = lo;
    if (hi !== FUNC_PTR_TAG_HI || target < 0 || target >= this.program.length) {
      throw new Error(`0x${BigInt.asUintN(64, fn).toString(16)} is not a BPF function pointer`);
    }
    if (this.depth + 1 >= MAX_CALL_FRAMES) throw new Error(`the call stack of ${this.depth + 2} frames is too deep`);
    const savedPc = this.pc;
    const savedBase = this.baseDepth;
    const savedR0 = [this.lo[0]!, this.hi[0]!];
    // Enter the callee as a bpf-to-bpf call would, returning to a sentinel.
    this.pushFrame(-1);
    for (let i = 0; i < 5; i++) this.setReg(i + 1, args[i] ?? 0n);
    this.pc = target;
    this.baseDepth = this.depth;
    this.drive(Infinity);
    this.baseDepth = savedBase;
    if (this.fault !== undefined) throw new NestedFault();
    const r0 = this.getReg(0);
    this.lo[0] = savedR0[0]!;
    this.hi[0] = savedR0[1]!;
    this.pc = savedPc;
    return r0;
  }

  private pushFrame(ret: number): void {
    const d = this.depth;
    const lo = this.lo;
    const hi = this.hi;
    for (let i = 0; i < 4; i++) {
      this.savedLo[d * 4 + i] = lo[6 + i]!;
      this.savedHi[d * 4 + i] = hi[6 + i]!;
    }
    this.retPc[d] = ret;
    this.retProg[d] = this.program;
    this.depth = d + 1;
    lo[10] = this.stack.end - this.depth * MAX_BPF_STACK;
    hi[10] = 0;
  }

  /** Pops a frame; returns the return pc. */
  private popFrame(): number {
    const d = --this.depth;
    const lo = this.lo;
    const hi = this.hi;
    for (let i = 0; i < 4; i++) {
      lo[6 + i] = this.savedLo[d * 4 + i]!;
      hi[6 + i] = this.savedHi[d * 4 + i]!;
    }
    lo[10] = this.stack.end - d * MAX_BPF_STACK;
    hi[10] = 0;
    return this.retPc[d]!;
  }

  /** Runs the loop, switching programs for tail calls and returns across them. */
  private drive(stopAt: number): number {
    let st = this.execute(stopAt);
    while (st === ST_SWITCH) {
      this.switchTo(this.pendingProgram!);
      this.pendingProgram = undefined;
      st = this.execute(stopAt);
    }
    return st;
  }

  /** Makes `p` the running program: its constant registers replace the old ones. */
  private switchTo(p: PredecodedProgram): void {
    const n = p.constLo.length;
    if (this.lo.length < n) {
      const lo = new Int32Array(n);
      const hi = new Int32Array(n);
      lo.set(this.lo.subarray(0, NUM_REGS));
      hi.set(this.hi.subarray(0, NUM_REGS));
      this.lo = lo;
      this.hi = hi;
    }
    this.lo.set(p.constLo.subarray(NUM_REGS), NUM_REGS);
    this.hi.set(p.constHi.subarray(NUM_REGS), NUM_REGS);
    this.program = p;
  }

  /**
   * bpf_tail_call's effect, requested by the helper: on success the current frame
   * continues at slot 0 of `target` with the registers as they are (r1 = ctx), the
   * way the kernel's BPF_TAIL_CALL jumps. Fails (returns false, program continues)
   * after MAX_TAIL_CALL_CNT tail calls.
   */
  requestTailCall(target: PredecodedProgram): boolean {
    if (this.tailCalls >= MAX_TAIL_CALL_CNT) return false;
    this.tailCalls++;
    this.pendingProgram = target;
    return true;
  }

  /** The interpreter loop. Runs until exit, fault, or `executed` reaches `stopAt`. */
  private execute(stopAt: number): number {
    const p = this.program;
    const WORD = p.word;
    const OP = p.op;
    const OFF = p.off;
    const IMM = p.imm;
    const TGT = p.target;
    const R = this.lo;
    const H = this.hi;
    const space = this.space;
    let u8 = space.u8;
    let dv = space.view;
    const sLo = this.stack.start;
    const sHi = this.stack.end;
    if (this.cacheGen !== space.generation) {
      this.rdLo = this.rdHi = this.wrLo = this.wrHi = 0;
      this.rd2Lo = this.rd2Hi = this.wr2Lo = this.wr2Hi = 0;
      this.cacheGen = space.generation;
    }
    let rd2Lo = this.rd2Lo;
    let rd2Hi = this.rd2Hi;
    let wr2Lo = this.wr2Lo;
    let wr2Hi = this.wr2Hi;
    let rdLo = this.rdLo;
    let rdHi = this.rdHi;
    let wrLo = this.wrLo;
    let wrHi = this.wrHi;
    let pc = this.pc;
    let n = this.executed;
    const budget = this.budget;
    const limit = Math.min(stopAt, budget);
    let status = ST_PAUSE;

    run: for (;;) {
      if (n >= limit) {
        if (n >= budget && n < stopAt) {
          this.setFault("budget", pc, `instruction budget of ${budget} exhausted`);
          status = ST_FAULT;
        }
        break;
      }
      n++;
      const w = WORD[pc]!;
      const d = (w >>> 9) & 0xf;
      const s = w >>> 13;
      switch (w & 0x1ff) {
        // ---------------------------------------------------------------- ALU64
        case 0x0f: { // add
          const l = (R[d]! >>> 0) + (R[s]! >>> 0);
          R[d] = l;
          H[d] = (H[d]! + H[s]! + (l > 0xffffffff ? 1 : 0)) | 0;
          break;
        }
        case 0x1f: { // sub
          const a = R[d]! >>> 0;
          const b = R[s]! >>> 0;
          R[d] = a - b;
          H[d] = (H[d]! - H[s]! - (a < b ? 1 : 0)) | 0;
          break;
        }
        case 0x2f: { // mul: low 64 bits of the product, from 16-bit partial products
          const al = R[d]!;
          const bl = R[s]!;
          const a0 = al & 0xffff;
          const a1 = al >>> 16;
          const b0 = bl & 0xffff;
          const b1 = bl >>> 16;
          const p00 = a0 * b0;
          const p01 = a0 * b1;
          const p10 = a1 * b0;
          const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
          const carry = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
          H[d] = (carry + Math.imul(al, H[s]!) + Math.imul(H[d]!, bl)) | 0;
          R[d] = Math.imul(al, bl);
          break;
        }
        case 0x3f: { // div (unsigned); by zero gives 0
          const bh = H[s]!;
          const bl = R[s]!;
          if (bh === 0 && bl === 0) {
            R[d] = 0;
            H[d] = 0;
          } else if (bh === 0 && H[d] === 0) {
            R[d] = ((R[d]! >>> 0) / (bl >>> 0)) >>> 0;
          } else {
            const q = fromHalves(R[d]!, H[d]!) / fromHalves(bl, bh);
            R[d] = loOf(q);
            H[d] = hiOf(q);
          }
          break;
        }
        case 0x100: { // OP_SDIV64; by zero gives 0, INT64_MIN / -1 = INT64_MIN
          const bh = H[s]!;
          const bl = R[s]!;
          if (bh === 0 && bl === 0) {
            R[d] = 0;
            H[d] = 0;
          } else if (H[d] === R[d]! >> 31 && bh === bl >> 31) {
            const q = Math.trunc(R[d]! / bl);
            R[d] = q | 0;
            H[d] = q < 0 ? -1 : 0;
          } else {
            const q = BigInt.asIntN(64, BigInt.asIntN(64, fromHalves(R[d]!, H[d]!)) / BigInt.asIntN(64, fromHalves(bl, bh)));
            R[d] = loOf(q);
            H[d] = hiOf(q);
          }
          break;
        }
        case 0x4f: // or
          R[d] = R[d]! | R[s]!;
          H[d] = H[d]! | H[s]!;
          break;
        case 0x5f: // and
          R[d] = R[d]! & R[s]!;
          H[d] = H[d]! & H[s]!;
          break;
        case 0x6f: { // lsh
          const c = R[s]! & 63;
          if (c >= 32) {
            H[d] = R[d]! << (c - 32);
            R[d] = 0;
          } else if (c !== 0) {
            H[d] = (H[d]! << c) | (R[d]! >>> (32 - c));
            R[d] = R[d]! << c;
          }
          break;
        }
        case 0x7f: { // rsh
          const c = R[s]! & 63;
          if (c >= 32) {
            R[d] = H[d]! >>> (c - 32);
            H[d] = 0;
          } else if (c !== 0) {
            R[d] = (R[d]! >>> c) | (H[d]! << (32 - c));
            H[d] = H[d]! >>> c;
          }
          break;
        }
        case 0x87: { // neg
          const l = R[d]!;
          R[d] = -l | 0;
          H[d] = (~H[d]! + (l === 0 ? 1 : 0)) | 0;
          break;
        }
        case 0x9f: { // mod (unsigned); by zero leaves dst unchanged
          const bh = H[s]!;
          const bl = R[s]!;
          if (bh === 0 && bl === 0) break;
          if (bh === 0 && H[d] === 0) {
            R[d] = (R[d]! >>> 0) % (bl >>> 0);
          } else {
            const r = fromHalves(R[d]!, H[d]!) % fromHalves(bl, bh);
            R[d] = loOf(r);
            H[d] = hiOf(r);
          }
          break;
        }
        case 0x101: { // OP_SMOD64; by zero leaves dst unchanged; INT64_MIN smod -1 = 0
          const bh = H[s]!;
          const bl = R[s]!;
          if (bh === 0 && bl === 0) break;
          if (H[d] === R[d]! >> 31 && bh === bl >> 31) {
            const r = R[d]! % bl;
            R[d] = r | 0;
            H[d] = (r | 0) >> 31;
          } else {
            const r = BigInt.asIntN(64, fromHalves(R[d]!, H[d]!)) % BigInt.asIntN(64, fromHalves(bl, bh));
            R[d] = loOf(r);
            H[d] = hiOf(r);
          }
          break;
        }
        case 0xaf: // xor
          R[d] = R[d]! ^ R[s]!;
          H[d] = H[d]! ^ H[s]!;
          break;
        case 0xbf: // mov
          R[d] = R[s]!;
          H[d] = H[s]!;
          break;
        case 0x104: { // OP_MOVSX8_64
          const v = (R[s]! << 24) >> 24;
          R[d] = v;
          H[d] = v >> 31;
          break;
        }
        case 0x105: { // OP_MOVSX16_64
          const v = (R[s]! << 16) >> 16;
          R[d] = v;
          H[d] = v >> 31;
          break;
        }
        case 0x106: { // OP_MOVSX32_64
          const v = R[s]!;
          R[d] = v;
          H[d] = v >> 31;
          break;
        }
        case 0xcf: { // arsh
          const c = R[s]! & 63;
          if (c >= 32) {
            R[d] = H[d]! >> (c - 32);
            H[d] = H[d]! >> 31;
          } else if (c !== 0) {
            R[d] = (R[d]! >>> c) | (H[d]! << (32 - c));
            H[d] = H[d]! >> c;
          }
          break;
        }
        // ---------------------------------------------------------------- ALU32 (upper half zeroed)
        case 0x0c:
          R[d] = (R[d]! + R[s]!) | 0;
          H[d] = 0;
          break;
        case 0x1c:
          R[d] = (R[d]! - R[s]!) | 0;
          H[d] = 0;
          break;
        case 0x2c:
          R[d] = Math.imul(R[d]!, R[s]!);
          H[d] = 0;
          break;
        case 0x3c: { // div32; by zero gives 0
          const b = R[s]! >>> 0;
          R[d] = b === 0 ? 0 : ((R[d]! >>> 0) / b) >>> 0;
          H[d] = 0;
          break;
        }
        case 0x102: { // OP_SDIV32; INT_MIN / -1 wraps to INT_MIN
          const b = R[s]!;
          R[d] = b === 0 ? 0 : Math.trunc(R[d]! / b) | 0;
          H[d] = 0;
          break;
        }
        case 0x4c:
          R[d] = R[d]! | R[s]!;
          H[d] = 0;
          break;
        case 0x5c:
          R[d] = R[d]! & R[s]!;
          H[d] = 0;
          break;
        case 0x6c:
          R[d] = R[d]! << (R[s]! & 31);
          H[d] = 0;
          break;
        case 0x7c:
          R[d] = R[d]! >>> (R[s]! & 31);
          H[d] = 0;
          break;
        case 0x84:
          R[d] = -R[d]! | 0;
          H[d] = 0;
          break;
        case 0x9c: { // mod32; by zero leaves the low half, zeroes the upper
          const b = R[s]! >>> 0;
          if (b !== 0) R[d] = (R[d]! >>> 0) % b;
          H[d] = 0;
          break;
        }
        case 0x103: { // OP_SMOD32
          const b = R[s]!;
          if (b !== 0) R[d] = R[d]! % b | 0;
          H[d] = 0;
          break;
        }
        case 0xac:
          R[d] = R[d]! ^ R[s]!;
          H[d] = 0;
          break;
        case 0xbc:
          R[d] = R[s]!;
          H[d] = 0;
          break;
        case 0x107: // OP_MOVSX8_32
          R[d] = (R[s]! << 24) >> 24;
          H[d] = 0;
          break;
        case 0x108: // OP_MOVSX16_32
          R[d] = (R[s]! << 16) >> 16;
          H[d] = 0;
          break;
        case 0xcc:
          R[d] = R[d]! >> (R[s]! & 31);
          H[d] = 0;
          break;
        // ---------------------------------------------------------------- byte order (host is little-endian)
        case 0x109: // OP_LE16
          R[d] = R[d]! & 0xffff;
          H[d] = 0;
          break;
        case 0x10a: // OP_LE32
          H[d] = 0;
          break;
        case 0x10b: // OP_LE64
          break;
        case 0x10c: { // OP_BE16 (be16, bswap16)
          const v = R[d]!;
          R[d] = ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
          H[d] = 0;
          break;
        }
        case 0x10d: // OP_BE32 (be32, bswap32)
          R[d] = bswap32(R[d]!);
          H[d] = 0;
          break;
        case 0x10e: { // OP_BE64 (be64, bswap64)
          const l = R[d]!;
          R[d] = bswap32(H[d]!);
          H[d] = bswap32(l);
          break;
        }
        // ---------------------------------------------------------------- jumps
        case 0x05: // ja, gotol
          pc = TGT[pc]!;
          continue;
        case 0x1d: // jeq
          if (R[d] === R[s] && H[d] === H[s]) { pc = TGT[pc]!; continue; }
          break;
        case 0x5d: // jne
          if (R[d] !== R[s] || H[d] !== H[s]) { pc = TGT[pc]!; continue; }
          break;
        case 0x4d: // jset
          if ((R[d]! & R[s]!) !== 0 || (H[d]! & H[s]!) !== 0) { pc = TGT[pc]!; continue; }
          break;
        case 0x2d: { // jgt
          const a = H[d]! >>> 0;
          const b = H[s]! >>> 0;
          if (a > b || (a === b && R[d]! >>> 0 > R[s]! >>> 0)) { pc = TGT[pc]!; continue; }
          break;
        }
        case 0x3d: { // jge
          const a = H[d]! >>> 0;
          const b = H[s]! >>> 0;
          if (a > b || (a === b && R[d]! >>> 0 >= R[s]! >>> 0)) { pc = TGT[pc]!; continue; }
          break;
        }
        case 0xad: { // jlt
          const a = H[d]! >>> 0;
          const b = H[s]! >>> 0;
          if (a < b || (a === b && R[d]! >>> 0 < R[s]! >>> 0)) { pc = TGT[pc]!; continue; }
          break;
        }
        case 0xbd: { // jle
          const a = H[d]! >>> 0;
          const b = H[s]! >>> 0;
          if (a < b || (a === b && R[d]! >>> 0 <= R[s]! >>> 0)) { pc = TGT[pc]!; continue; }
          break;
        }
        case 0x6d: { // jsgt
          const a = H[d]!;
          const b = H[s]!;
          if (a > b || (a === b && R[d]! >>> 0 > R[s]! >>> 0)) { pc = TGT[pc]!; continue; }
          break;
        }
        case 0x7d: { // jsge
          const a = H[d]!;
          const b = H[s]!;
          if (a > b || (a === b && R[d]! >>> 0 >= R[s]! >>> 0)) { pc = TGT[pc]!; continue; }
          break;
        }
        case 0xcd: { // jslt
          const a = H[d]!;
          const b = H[s]!;
          if (a < b || (a === b && R[d]! >>> 0 < R[s]! >>> 0)) { pc = TGT[pc]!; continue; }
          break;
        }
        case 0xdd: { // jsle
          const a = H[d]!;
          const b = H[s]!;
          if (a < b || (a === b && R[d]! >>> 0 <= R[s]! >>> 0)) { pc = TGT[pc]!; continue; }
          break;
        }
        case 0x1e: if (R[d] === R[s]) { pc = TGT[pc]!; continue; } break;
        case 0x5e: if (R[d] !== R[s]) { pc = TGT[pc]!; continue; } break;
        case 0x4e: if ((R[d]! & R[s]!) !== 0) { pc = TGT[pc]!; continue; } break;
        case 0x2e: if (R[d]! >>> 0 > R[s]! >>> 0) { pc = TGT[pc]!; continue; } break;
        case 0x3e: if (R[d]! >>> 0 >= R[s]! >>> 0) { pc = TGT[pc]!; continue; } break;
        case 0xae: if (R[d]! >>> 0 < R[s]! >>> 0) { pc = TGT[pc]!; continue; } break;
        case 0xbe: if (R[d]! >>> 0 <= R[s]! >>> 0) { pc = TGT[pc]!; continue; } break;
        case 0x6e: if (R[d]! > R[s]!) { pc = TGT[pc]!; continue; } break;
        case 0x7e: if (R[d]! >= R[s]!) { pc = TGT[pc]!; continue; } break;
        case 0xce: if (R[d]! < R[s]!) { pc = TGT[pc]!; continue; } break;
        case 0xde: if (R[d]! <= R[s]!) { pc = TGT[pc]!; continue; } break;
        // ---------------------------------------------------------------- ld_imm64
        case 0x18:
          R[d] = R[s]!;
          H[d] = H[s]!;
          pc += 2;
          continue;
        // ---------------------------------------------------------------- loads
        case 0x71: case 0x69: case 0x61: case 0x79: case 0x91: case 0x89: case 0x81: {
          const o = OP[pc]!;
          const size = (o & 0x18) === 0x10 ? 1 : (o & 0x18) === 0x08 ? 2 : (o & 0x18) === 0 ? 4 : 8;
          let a = (R[s]! >>> 0) + OFF[pc]!;
          if (H[s] !== 0 || !((a >= sLo && a + size <= sHi) || (a >= rdLo && a + size <= rdHi) || (a >= rd2Lo && a + size <= rd2Hi))) {
            a = this.resolve(R[s]!, H[s]!, OFF[pc]!, size, false, pc);
            if (a < 0) { status = ST_FAULT; break run; }
            rdLo = this.rdLo;
            rdHi = this.rdHi;
            rd2Lo = this.rd2Lo;
            rd2Hi = this.rd2Hi;
          }
          switch (o) {
            case 0x71: R[d] = u8[a]!; H[d] = 0; break;
            case 0x69: R[d] = dv.getUint16(a, true); H[d] = 0; break;
            case 0x61: R[d] = dv.getInt32(a, true); H[d] = 0; break;
            case 0x79: R[d] = dv.getInt32(a, true); H[d] = dv.getInt32(a + 4, true); break;
            case 0x91: { const v = dv.getInt8(a); R[d] = v; H[d] = v >> 31; break; }
            case 0x89: { const v = dv.getInt16(a, true); R[d] = v; H[d] = v >> 31; break; }
            default: { const v = dv.getInt32(a, true); R[d] = v; H[d] = v >> 31; break; }
          }
          break;
        }
        // ---------------------------------------------------------------- stores (ST uses a constant register)
        case 0x73: case 0x6b: case 0x63: case 0x7b: {
          const o = OP[pc]!;
          const size = o === 0x73 ? 1 : o === 0x6b ? 2 : o === 0x63 ? 4 : 8;
          let a = (R[d]! >>> 0) + OFF[pc]!;
          if (H[d] !== 0 || !((a >= sLo && a + size <= sHi) || (a >= wrLo && a + size <= wrHi) || (a >= wr2Lo && a + size <= wr2Hi))) {
            a = this.resolve(R[d]!, H[d]!, OFF[pc]!, size, true, pc);
            if (a < 0) { status = ST_FAULT; break run; }
            wrLo = this.wrLo;
            wrHi = this.wrHi;
            wr2Lo = this.wr2Lo;
            wr2Hi = this.wr2Hi;
          }
          switch (o) {
            case 0x73: u8[a] = R[s]!; break;
            case 0x6b: dv.setInt16(a, R[s]!, true); break;
            case 0x63: dv.setInt32(a, R[s]!, true); break;
            default: dv.setInt32(a, R[s]!, true); dv.setInt32(a + 4, H[s]!, true); break;
          }
          break;
        }
        // ---------------------------------------------------------------- atomics
        case 0xc3: case 0xdb: {
          const size = OP[pc] === 0xdb ? 8 : 4;
          let a = (R[d]! >>> 0) + OFF[pc]!;
          if (H[d] !== 0 || !((a >= sLo && a + size <= sHi) || (a >= wrLo && a + size <= wrHi) || (a >= wr2Lo && a + size <= wr2Hi))) {
            a = this.resolve(R[d]!, H[d]!, OFF[pc]!, size, true, pc);
            if (a < 0) { status = ST_FAULT; break run; }
            wrLo = this.wrLo;
            wrHi = this.wrHi;
            wr2Lo = this.wr2Lo;
            wr2Hi = this.wr2Hi;
          }
          if (a % size !== 0) {
            this.setFault("misaligned_atomic", pc, `misaligned atomic access of ${size} bytes at 0x${a.toString(16)}`, BigInt(a), size);
            status = ST_FAULT;
            break run;
          }
          atomicOp(dv, a, size, IMM[pc]!, R, H, s);
          break;
        }
        // ---------------------------------------------------------------- calls
        case 0x85: { // helper call
          const id = IMM[pc]!;
          const h = this.helpers.get(id);
          if (h === undefined) {
            this.setFault("unknown_helper", pc, `unknown helper id ${id}`);
            status = ST_FAULT;
            break run;
          }
          const st = this.callHelper(h, id, pc, n);
          n = this.executed;
          if (st !== ST_PAUSE) {
            if (st === ST_SWITCH) pc = 0;
            status = st;
            break run;
          }
          // The helper may have grown the memory or remapped regions.
          u8 = space.u8;
          dv = space.view;
          if (this.cacheGen !== space.generation) {
            rdLo = rdHi = wrLo = wrHi = rd2Lo = rd2Hi = wr2Lo = wr2Hi = 0;
            this.cacheGen = space.generation;
          }
          break;
        }
        case 0x8d: { // callx: a PTR_TO_FUNC value calls the subprogram, a small integer the helper of that id
          const lo = R[s]!;
          const hi = H[s]!;
          if (hi === FUNC_PTR_TAG_HI && lo >= 0 && lo < p.length && p.bySlot[lo] !== undefined) {
            if (this.depth + 1 >= MAX_CALL_FRAMES) {
              this.setFault("call_depth", pc, `the call stack of ${this.depth + 2} frames is too deep`);
              status = ST_FAULT;
              break run;
            }
            this.pushFrame(pc + 1);
            pc = lo;
            continue;
          }
          const h = hi === 0 ? this.helpers.get(lo) : undefined;
          if (h === undefined) {
            this.setFault("bad_callx", pc, `callx target 0x${fromHalves(lo, hi).toString(16)} is neither a function nor a known helper`);
            status = ST_FAULT;
            break run;
          }
          const st = this.callHelper(h, lo, pc, n);
          n = this.executed;
          if (st !== ST_PAUSE) {
            if (st === ST_SWITCH) pc = 0;
            status = st;
            break run;
          }
          // The helper may have grown the memory or remapped regions.
          u8 = space.u8;
          dv = space.view;
          if (this.cacheGen !== space.generation) {
            rdLo = rdHi = wrLo = wrHi = rd2Lo = rd2Hi = wr2Lo = wr2Hi = 0;
            this.cacheGen = space.generation;
          }
          break;
        }
        case 0x10f: { // OP_CALL_LOCAL: bpf-to-bpf call
          if (this.depth + 1 >= MAX_CALL_FRAMES) {
            this.setFault("call_depth", pc, `the call stack of ${this.depth + 2} frames is too deep`);
            status = ST_FAULT;
            break run;
          }
          const t = TGT[pc]!;
          this.pushFrame(pc + 1);
          pc = t;
          continue;
        }
        case 0x95: // exit
          if (this.depth === this.baseDepth) {
            if (this.baseDepth > 0) this.popFrame();
            status = ST_EXIT;
            break run;
          }
          pc = this.popFrame();
          if (this.retProg[this.depth] !== p) {
            this.pendingProgram = this.retProg[this.depth];
            status = ST_SWITCH;
            break run;
          }
          continue;
        // ---------------------------------------------------------------- traps
        case 0x111: // OP_TRAP_END
          this.setFault("bad_jump", pc, pc >= p.length ? "jump or fall-through out of the program" : "no instruction");
          status = ST_FAULT;
          break run;
        case 0x112: // OP_TRAP_LDIMM64_HALF
          this.setFault("bad_jump", pc, "jump into the middle of ld_imm64");
          status = ST_FAULT;
          break run;
        case 0x110: // OP_CALL_KFUNC
          this.setFault("unsupported", pc, `kfunc call (BTF id ${IMM[pc]}) is not supported`);
          status = ST_FAULT;
          break run;
        case 0x20: case 0x28: case 0x30: case 0x40: case 0x48: case 0x50: {
          // Legacy packet loads: implicit ctx in r6, offset imm (+ src for IND), value
          // in network byte order into r0; out of bounds ends the program with r0 = 0.
          // Like a helper call they clobber r1-r5 (we leave them as they are).
          const o = OP[pc]!;
          const ld = this.ldAbs;
          if (ld === undefined) {
            this.setFault("unsupported", pc, "legacy BPF_LD_[ABS|IND] packet access needs a socket-filter or tc context");
            status = ST_FAULT;
            break run;
          }
          const size = (o & 0x18) === 0x10 ? 1 : (o & 0x18) === 0x08 ? 2 : 4;
          const offset = (o & 0xe0) === 0x40 ? (R[s]! + IMM[pc]!) | 0 : IMM[pc]!;
          const v = ld(R[6]! >>> 0, offset, size);
          if (v === undefined) {
            R[0] = 0;
            H[0] = 0;
            // From a subprogram the whole program ends, as in the kernel's JIT.
            while (this.depth > this.baseDepth) this.popFrame();
            if (this.baseDepth > 0) this.popFrame();
            status = ST_EXIT;
            break run;
          }
          R[0] = v;
          H[0] = 0;
          break;
        }
        default:
          this.setFault("unsupported", pc, `micro-op ${OP[pc]} has no case`);
          status = ST_FAULT;
          break run;
      }
      pc++;
    }
    this.rdLo = rdLo;
    this.rdHi = rdHi;
    this.wrLo = wrLo;
    this.wrHi = wrHi;
    this.rd2Lo = rd2Lo;
    this.rd2Hi = rd2Hi;
    this.wr2Lo = wr2Lo;
    this.wr2Hi = wr2Hi;
    this.pc = pc;
    this.executed = n;
    if (status === ST_EXIT && this.baseDepth === 0) this.done = true;
    if (status === ST_FAULT) this.done = true;
    return status;
  }
}

/** Thrown through a helper when a callback it ran faulted; the fault is already recorded. */
class NestedFault extends Error {}

function isPredecoded(p: PredecodedProgram | readonly Insn[]): p is PredecodedProgram {
  return !Array.isArray(p);
}

function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** BPF_STX|BPF_ATOMIC: read-modify-write at an aligned, checked address. */
function atomicOp(dv: DataView, a: number, size: number, imm: number, R: Int32Array, H: Int32Array, s: number): void {
  if (size === 4) {
    const old = dv.getInt32(a, true);
    const v = R[s]!;
    switch (imm & ~1) {
      case 0x00: dv.setInt32(a, (old + v) | 0, true); break;
      case 0x40: dv.setInt32(a, old | v, true); break;
      case 0x50: dv.setInt32(a, old & v, true); break;
      case 0xa0: dv.setInt32(a, old ^ v, true); break;
      case 0xe0: dv.setInt32(a, v, true); break; // xchg
      case 0xf0: // cmpxchg: compare with w0, old value to r0 (zero-extended)
        if (old === R[0]) dv.setInt32(a, v, true);
        R[0] = old;
        H[0] = 0;
        return;
    }
    if (imm & 1) {
      R[s] = old;
      H[s] = 0;
    }
    return;
  }
  const ol = dv.getInt32(a, true);
  const oh = dv.getInt32(a + 4, true);
  const vl = R[s]!;
  const vh = H[s]!;
  let nl = 0;
  let nh = 0;
  switch (imm & ~1) {
    case 0x00: {
      const l = (ol >>> 0) + (vl >>> 0);
      nl = l | 0;
      nh = (oh + vh + (l > 0xffffffff ? 1 : 0)) | 0;
      break;
    }
    case 0x40: nl = ol | vl; nh = oh | vh; break;
    case 0x50: nl = ol & vl; nh = oh & vh; break;
    case 0xa0: nl = ol ^ vl; nh = oh ^ vh; break;
    case 0xe0: nl = vl; nh = vh; break;
    case 0xf0:
      if (ol === R[0] && oh === H[0]) {
        dv.setInt32(a, vl, true);
        dv.setInt32(a + 4, vh, true);
      }
      R[0] = ol;
      H[0] = oh;
      return;
  }
  dv.setInt32(a, nl, true);
  dv.setInt32(a + 4, nh, true);
  if (imm & 1) {
    R[s] = ol;
    H[s] = oh;
  }
}
