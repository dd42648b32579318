/**
 * Compiles one eBPF function (the code reachable from one entry slot) into one wasm
 * function body: registers are i64 locals, blocks are emitted through the structurer
 * (structure.ts), and each instruction family has its own emitter (alu.ts, jmp.ts,
 * mem.ts, atomic.ts, call.ts), so an instruction can be followed from the
 * interpreter's case to its wasm.
 *
 * Checked mode charges the instruction budget per block (a global `rem` decremented
 * by the block's length on entry) and tests it before each instruction that can
 * fault or has an effect outside the registers: when the budget ends inside a block,
 * the instructions before the exhausting one still run and the fault names its slot,
 * exactly as the interpreter's per-instruction test does.
 */
import type { LpmLayout } from "../maps/index.js";
import { NUM_REGS, type PredecodedProgram } from "../vm/index.js";
import {
  CHUNK_PARAMS, FaultCode, FULL_PARAMS, G_REM, I32, I64, LEAN_PARAMS, type Abi, type ImportDesc,
} from "./abi.js";
import { emitAlu } from "./alu.js";
import { emitAtomic } from "./atomic.js";
import { emitCallx, emitHelperCall, emitLdAbs, emitLocalCall, emitReturn } from "./call.js";
import { Term, type Block, type FuncGraph } from "./cfg.js";
import { emitCondition } from "./jmp.js";
import { emitLoad, emitStore } from "./mem.js";
import { Shape, type NodeEmitter } from "./structure.js";
import { Code } from "./wasm/encoder.js";
import { Op, type ValType } from "./wasm/opcodes.js";

/** What a function compiler needs from the module being built. */
export interface ModuleContext {
  readonly program: PredecodedProgram;
  readonly checked: boolean;
  /** Charge instructions to `rem` (checked mode, or verified mode with counting). */
  readonly counting: boolean;
  /** Use wasm atomic instructions (the memory is shared). */
  readonly sharedMemory: boolean;
  /** Index of an imported function (added on first use). */
  importRef(d: ImportDesc): number;
  /** Defined function for (entry slot, ABI), queued for compilation on first use. */
  funcRef(slot: number, abi: Abi): number;
  /** Function entries that callx can reach (ld_imm64 func targets), ascending. */
  readonly callxEntries: readonly number[];
  /** Type index of the entry ABI (full in checked mode, lean in verified mode), for call_indirect of tail-call targets. */
  readonly entryType: number;
  /** ABI of program entries (run, runList and tail calls). */
  readonly entryAbi: Abi;
  /** Block id -> instruction slots, for the budget fault. */
  readonly cfgBlocks: readonly Block[];
  /** Compile-time map knowledge for verified-mode helper fast paths. */
  mapAt(addr: number): MapInfo | undefined;
  /** Helper id -> kernel name, when the helper table has that id. */
  helperName(id: number): string | undefined;
  /** The helper may call a program function back (HelperDef.callsBack, or bpf_loop / bpf_for_each_map_elem). */
  helperCallsBack(id: number): boolean;
  readonly fastHelpers: boolean;
}

/** An array map's layout, for inlined lookups (the kernel's array_map_gen_lookup). */
export interface MapInfo {
  readonly addr: number;
  readonly array?: { readonly valueBase: number; readonly valueStride: number; readonly cpuStride: number; readonly maxEntries: number };
  /** An LPM trie's node records (lookups walk them in wasm). */
  readonly lpm?: LpmLayout;
}

export class FnCompiler implements NodeEmitter {
  readonly c = new Code(1024);
  readonly p: PredecodedProgram;
  readonly checked: boolean;
  readonly counting: boolean;
  /** Local index of r0..r10. */
  readonly reg: number[];
  readonly fp: number;
  /** Scratch locals. */
  readonly tA: number;
  readonly tB: number;
  readonly t32: number;
  readonly t32b: number;
  readonly lbl: number;
  readonly locals: ValType[] = [];
  /** Calls to patch: [position in c, import or function index, isImport]. */
  readonly patches: Array<[number, number, boolean]> = [];
  /** A tail call through the machine's table was emitted. */
  usesTable = false;
  private graph!: FuncGraph;
  /** The block being emitted, and the index of the current instruction in it. */
  block!: Block;
  idx = 0;
  private readonly nParams: number;
  /** Extra i32 locals for inlined helpers, made on first use and shared by every site. */
  private readonly extra32: number[] = [];
  /** Registers holding a constant known at this point of the block (for helper fast paths). */
  known: Array<bigint | undefined> = new Array(NUM_REGS).fill(undefined);

  constructor(
    readonly m: ModuleContext,
    readonly entry: number,
    readonly abi: Abi,
  ) {
    this.p = m.program;
    this.checked = m.checked;
    this.counting = m.counting;
    const nParams = abi === "full" ? FULL_PARAMS.length : abi === "chunk" ? CHUNK_PARAMS.length : LEAN_PARAMS.length;
    this.nParams = nParams;
    const local = (t: ValType): number => this.addLocal(t);
    if (abi === "full") {
      this.reg = Array.from({ length: 11 }, (_, i) => i);
      this.fp = 11;
    } else if (abi === "chunk") {
      this.reg = Array.from({ length: 11 }, (_, i) => i + 1);
      this.fp = 12;
    } else {
      this.reg = new Array<number>(11);
      for (let i = 1; i <= 5; i++) this.reg[i] = i - 1;
      this.fp = 5;
      this.reg[0] = local(I64);
      for (let i = 6; i <= 10; i++) this.reg[i] = local(I64);
    }
    this.tA = local(I64);
    this.tB = local(I64);
    this.t32 = local(I32);
    this.t32b = local(I32);
    this.lbl = abi === "chunk" ? 0 : local(I32);
  }

  private addLocal(t: ValType): number {
    this.locals.push(t);
    return this.nParams + this.locals.length - 1;
  }

  /** The k-th extra i32 scratch local (inlined helpers; not live across instructions). */
  scratch32(k: number): number {
    while (this.extra32.length <= k) this.extra32.push(this.addLocal(I32));
    return this.extra32[k]!;
  }

  get(r: number): void {
    this.c.get(this.reg[r]!);
  }
  set(r: number): void {
    this.c.set(this.reg[r]!);
  }

  /** `call` of an import. */
  callImport(d: ImportDesc): void {
    const at = this.c.callPlaceholder();
    this.patches.push([at, this.m.importRef(d), true]);
  }
  /** `call` of a defined function. */
  callFunc(slot: number, abi: Abi): void {
    const at = this.c.callPlaceholder();
    this.patches.push([at, this.m.funcRef(slot, abi), false]);
  }

  /** Instructions of the current block after the current one (a fault's executed-count adjustment). */
  get adj(): number {
    return this.block.slots.length - 1 - this.idx;
  }

  /** Raises fault `code` at the current instruction: `arg` pushes the i32 argument. */
  fault(code: FaultCode, arg: (() => void) | number, pc: number): void {
    const c = this.c;
    c.i32(code);
    c.i32(pc);
    if (typeof arg === "number") c.i32(arg);
    else arg();
    c.i32(this.adj);
    this.callImport({ kind: "fault" });
    c.op(Op.unreachable);
  }

  /** Checked mode: the budget test before the current instruction (see the file comment). */
  budgetCheck(): void {
    if (!this.checked) return;
    const c = this.c;
    const len = this.block.slots.length;
    c.gget(G_REM);
    c.i64(this.idx - len + 1);
    c.op(Op.i64_lt_s);
    c.if_();
    this.fault(FaultCode.Budget, this.block.id, this.block.slots[this.idx]!);
    c.end();
  }

  /** Sets the frame pointer register from fp (function entry, after calls). */
  resetR10(): void {
    this.c.get(this.fp);
    this.c.op(Op.i64_extend_i32_u);
    this.set(10);
  }

  compileWith(graph: FuncGraph, emit: (c: Code, g: FuncGraph) => void): void {
    this.graph = graph;
    if (this.abi === "lean") this.resetR10();
    emit(this.c, graph);
  }

  /** NodeEmitter: one basic block. */
  body(c: Code, node: number): Shape {
    const b = this.m.cfgBlocks[this.graph.order[node]!]!;
    this.block = b;
    this.known.fill(undefined);
    const len = b.slots.length;
    if (this.counting) {
      c.gget(G_REM);
      c.i64(len);
      c.op(Op.i64_sub);
      c.gset(G_REM);
    }
    if (b.term === Term.Trap) {
      this.idx = 0;
      this.budgetCheck();
      const pc = b.slots[0]!;
      if (pc < this.p.length && this.p.op[pc] === 0x110) this.fault(FaultCode.Kfunc, this.p.imm[pc]!, pc);
      else this.fault(FaultCode.BadJump, 0, pc);
      return Shape.Stop;
    }
    for (let i = 0; i < len; i++) {
      this.idx = i;
      const pc = b.slots[i]!;
      const last = i === len - 1;
      if (last && b.term !== Term.Fall) {
        this.budgetCheck();
        if (b.term === Term.Exit) {
          emitReturn(this);
          return Shape.Stop;
        }
        if (b.term === Term.Cond) {
          emitCondition(this, pc);
          return Shape.Cond;
        }
        return Shape.Goto;
      }
      if (!last && this.zext32Pair(pc, b.slots[i + 1]!)) {
        // dst <<= 32; dst >>= 32: one zero-extension of the low half (V8 gives a single
        // 32-bit move for it, where two shifts stay two shifts); the pair is one unit,
        // so a budget that ends at the second instruction faults before the first,
        // which no one can tell apart (a fault keeps no registers).
        i++;
        this.idx = i;
        if (i === len - 1) this.budgetCheck(); // (a shift is never a block's terminator)
        const d = this.p.dst[pc]!;
        this.get(d);
        this.c.op(Op.i32_wrap_i64);
        this.c.op(Op.i64_extend_i32_u);
        this.set(d);
        this.known[d] = undefined;
        continue;
      }
      this.insn(pc, last);
    }
    return Shape.Goto;
  }

  /** Whether slots a, b are `dst <<= 32; dst >>= 32` (ALU64 with the constant 32) on one register. */
  private zext32Pair(a: number, b: number): boolean {
    const p = this.p;
    const oa = p.op[a]!;
    const ob = p.op[b]!;
    if ((oa | 0x08) !== 0x6f || (ob | 0x08) !== 0x7f || p.dst[a] !== p.dst[b]) return false;
    const sa = p.src[a]!;
    const sb = p.src[b]!;
    return sa >= NUM_REGS && sb >= NUM_REGS && p.constLo[sa] === 32 && p.constHi[sa] === 0 && p.constLo[sb] === 32 && p.constHi[sb] === 0;
  }

  /** One instruction that is not a block terminator. */
  private insn(pc: number, last: boolean): void {
    const p = this.p;
    const op = p.op[pc]!;
    const cls = op & 0x07;
    const d = p.dst[pc]!;
    if (op >= 0x100) {
      if (op === 0x10f) {
        this.budgetCheck();
        emitLocalCall(this, pc);
        this.clobberCall();
        return;
      }
      if (last) this.budgetCheck();
      emitAlu(this, pc); // sdiv/smod, movsx, byte swaps
      this.known[d] = undefined;
      return;
    }
    switch (cls) {
      case 0x04: // ALU
      case 0x07: // ALU64
        if (last) this.budgetCheck();
        emitAlu(this, pc);
        this.trackAlu(pc);
        return;
      case 0x00: // ld_imm64, ld_abs, ld_ind
        if (op === 0x18) {
          if (last) this.budgetCheck();
          const s = p.src[pc]!;
          const lo = p.constLo[s]!;
          const hi = p.constHi[s]!;
          this.c.i64(lo, hi);
          this.set(d);
          this.known[d] = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
          return;
        }
        this.budgetCheck();
        emitLdAbs(this, pc);
        this.known[0] = undefined;
        return;
      case 0x01: // LDX
        this.budgetCheck();
        emitLoad(this, pc);
        this.known[d] = undefined;
        return;
      case 0x03: // STX (ST was folded into STX) and atomics
        this.budgetCheck();
        if ((op & 0xe0) === 0xc0) {
          emitAtomic(this, pc);
          this.known[p.src[pc]!] = undefined;
          this.known[0] = undefined;
        } else {
          emitStore(this, pc);
        }
        return;
      case 0x05: // helper call, callx
        this.budgetCheck();
        if (op === 0x85) emitHelperCall(this, pc);
        else emitCallx(this, pc);
        this.clobberCall();
        return;
      default:
        throw new Error(`jit: no emitter for micro-op 0x${op.toString(16)} at ${pc}`);
    }
  }

  private clobberCall(): void {
    for (let r = 0; r <= 5; r++) this.known[r] = undefined;
  }

  private trackAlu(pc: number): void {
    const p = this.p;
    const op = p.op[pc]!;
    const d = p.dst[pc]!;
    const s = p.src[pc]!;
    if (op === 0xbf && s >= NUM_REGS) this.known[d] = BigInt.asUintN(64, (BigInt(p.constHi[s]!) << 32n) | BigInt(p.constLo[s]! >>> 0));
    else if (op === 0xbf && this.known[s] !== undefined) this.known[d] = this.known[s];
    else this.known[d] = undefined;
  }
}
