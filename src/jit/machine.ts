/**
 * JitMachine: a compiled program bound to an address space, with the interpreter
 * Machine's interface (reset, run, getReg, close; step is the interpreter's job), plus
 * batch execution: runRepeat (test_run's repeat) and runList (one run per ctx
 * pointer), each a single wasm call.
 *
 * A machine owns, like the interpreter's, a stack of MAX_CALL_FRAMES frames (and maps
 * nothing else, so programs see the same addresses on both engines), the per-run
 * globals (tail-call request and count, CPU, budget) shared by its instances, and the
 * function table through which tail calls reach other programs (compiled on first
 * use, with the same mode, and instantiated against this machine).
 *
 * Checked mode gives the interpreter's results for every program, including what
 * unverified ones can observe through registers the kernel's verifier calls
 * unreadable: a helper callback (bpf_loop, bpf_for_each_map_elem, a helper whose
 * HelperDef says callsBack, or any helper reached by callx) starts with the caller's r0
 * and r6-r9 and leaves r1-r5 as it ended (the helperRegs imports; a custom helper that
 * calls back without saying so gives its callbacks zeros there instead), and a function pointer computed at run time — callx or a
 * callback to a slot that is not a compiled function entry — runs that function on an
 * interpreter Machine sharing this machine's stack, budget and tail-call count
 * (Machine.callAt), since the JIT compiles only the entries it can see (bpf-to-bpf call
 * targets, ld_imm64 func values, constants tagged as function pointers). Verified
 * programs need neither (the verifier's PTR_TO_FUNC is only an ld_imm64 func). getReg
 * gives r0-r5 and r10 in checked mode, r0 in verified mode.
 *
 * Verified mode has no instruction budget (the verifier proved termination) and counts
 * executed instructions only with `count: true`; it still checks the call depth.
 */
import { MAX_BPF_STACK, MAX_CALL_FRAMES, fromHalves } from "../isa/index.js";
import { mapFromAddress, type BpfMap } from "../maps/index.js";
import {
  DEFAULT_BUDGET, MAX_TAIL_CALL_CNT,
  type AddressSpace, type HelperContext, type HelperTable, type LdAbsLoader, type PredecodedProgram, type Region,
  type ResetArgs, type RunResult, type StepResult, Machine, predecode,
} from "../vm/index.js";
import type { Insn } from "../isa/index.js";
import { CACHE_ENTRIES, FaultCode, type ImportDesc } from "./abi.js";
import { compileProgram, type CompiledProgram, type CompileOptions, type JitMode } from "./compile.js";
import { JitExit, JitTrap, isRegion, makeFault, resolveAccess } from "./faults.js";

export interface JitMachineOptions {
  helpers?: HelperTable;
  /** Maximum instructions per run in checked mode (default 1,000,000). */
  budget?: number;
  stackName?: string;
  ldAbs?: LdAbsLoader;
  /** "checked" (default) or "verified". */
  mode?: JitMode;
  /** The CPU this machine runs on (inlined per-CPU array lookups); default 0. */
  cpu?: number;
  /** Count executed instructions in verified mode too. */
  count?: boolean;
  fastHelpers?: boolean;
  forceDispatch?: boolean;
}

const STACK_SIZE = MAX_CALL_FRAMES * MAX_BPF_STACK;
const TWO64 = 1n << 64n;
const u64 = (x: bigint): bigint => (x < 0n ? x + TWO64 : x);

interface Exports {
  run(n: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint): bigint;
  runList(n: number, list: number, out: number): void;
  entry: unknown;
  [name: string]: unknown;
}

interface Instance {
  readonly compiled: CompiledProgram;
  readonly exports: Exports;
  readonly tableIndex: number;
  /** Checked mode: the region cache globals (load entries, then store entries; start and end each). */
  readonly cache: WebAssembly.Global[];
  /** Next cache entry to replace, per direction. */
  readonly victim: [number, number];
}

/** Compiled modules per program and options (instantiation is per machine). */
const moduleCache = new WeakMap<PredecodedProgram, Array<{ key: string; helpers: HelperTable | undefined; space: AddressSpace | undefined; compiled: CompiledProgram }>>();

export function compileCached(p: PredecodedProgram, opts: CompileOptions): CompiledProgram {
  const key = `${opts.mode ?? "checked"}|${opts.sharedMemory === true}|${opts.count === true}|${opts.fastHelpers !== false}|${opts.forceDispatch === true}`;
  let list = moduleCache.get(p);
  if (list === undefined) {
    list = [];
    moduleCache.set(p, list);
  }
  const space = (opts.mode ?? "checked") === "verified" ? opts.space : undefined;
  for (const e of list) if (e.key === key && e.helpers === opts.helpers && e.space === space) return e.compiled;
  const compiled = compileProgram(p, { ...opts, space });
  list.push({ key, helpers: opts.helpers, space, compiled });
  return compiled;
}

export class JitMachine {
  readonly entry: PredecodedProgram;
  readonly space: AddressSpace;
  readonly stack: Region;
  readonly helpers: HelperTable;
  readonly mode: JitMode;
  budget: number;
  /** The entry program's compiled module. */
  readonly compiled: CompiledProgram;
  private readonly rem: WebAssembly.Global | undefined;
  private readonly budgetG: WebAssembly.Global | undefined;
  private readonly tailG = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
  private readonly tailCountG = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
  private readonly cpuG = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
  private budgetSet = -1;
  private readonly table = new WebAssembly.Table({ element: "anyfunc", initial: 1 });
  private readonly instances = new Map<PredecodedProgram, Instance>();
  private readonly main: Instance;
  private readonly opts: JitMachineOptions;
  private args: bigint[] = [0n, 0n, 0n, 0n, 0n];
  private cacheGen = -1;
  private listArea: Region | undefined;
  private listCapacity = 0;
  private curPc = 0;
  private curFp = 0;
  private last: RunResult | undefined;
  private lastR0: bigint | undefined;
  /** Registers r0-r9 at each helperRegs call in progress, innermost last (callbacks read and update them). */
  private readonly helperRegs: Array<bigint[] | undefined> = [];
  /** Interpreters for functions the JIT did not compile, per program (checked mode). */
  private readonly fallbacks = new Map<PredecodedProgram, Machine>();
  cpu: number;

  constructor(program: PredecodedProgram | readonly Insn[], space: AddressSpace, opts: JitMachineOptions = {}) {
    this.entry = Array.isArray(program) ? predecode(program as readonly Insn[]) : (program as PredecodedProgram);
    this.space = space;
    this.opts = opts;
    this.helpers = opts.helpers ?? new Map();
    this.budget = opts.budget ?? DEFAULT_BUDGET;
    this.mode = opts.mode ?? "checked";
    this.cpu = opts.cpu ?? 0;
    this.stack = space.map(STACK_SIZE, { name: opts.stackName ?? "stack", kind: "stack", align: 16 });
    this.compiled = compileCached(this.entry, this.compileOptions());
    this.rem = this.compiled.counting ? new WebAssembly.Global({ value: "i64", mutable: true }, 0n) : undefined;
    this.budgetG = this.compiled.counting ? new WebAssembly.Global({ value: "i64", mutable: true }, 0n) : undefined;
    this.main = this.instance(this.entry);
  }

  private compileOptions(): CompileOptions {
    const o: CompileOptions = { mode: this.mode, sharedMemory: typeof SharedArrayBuffer !== "undefined" && this.space.memory.buffer instanceof SharedArrayBuffer, helpers: this.helpers, space: this.space };
    if (this.opts.count !== undefined) o.count = this.opts.count;
    if (this.opts.fastHelpers !== undefined) o.fastHelpers = this.opts.fastHelpers;
    if (this.opts.forceDispatch !== undefined) o.forceDispatch = this.opts.forceDispatch;
    return o;
  }

  /** The program `reset()` starts (tail calls switch programs inside a run only). */
  get program(): PredecodedProgram {
    return this.entry;
  }

  /** Tail calls taken in the last run. */
  get tailCalls(): number {
    return this.tailCountG.value as number;
  }

  close(): void {
    for (const m of this.fallbacks.values()) m.close();
    this.space.unmap(this.stack);
    if (this.listArea !== undefined) this.space.unmap(this.listArea);
  }

  reset(args: ResetArgs = {}): void {
    this.args = [args.r1 ?? 0n, args.r2 ?? 0n, args.r3 ?? 0n, args.r4 ?? 0n, args.r5 ?? 0n];
    this.last = undefined;
  }

  step(): StepResult {
    throw new Error("JitMachine cannot single-step: use the interpreter (Machine) for stepping");
  }

  getReg(i: number): bigint {
    if (i === 10) return BigInt(this.stack.end);
    if (i === 0 && this.lastR0 !== undefined) return this.lastR0;
    if (this.mode === "checked" && i >= 0 && i <= 5) return u64((this.main.exports[`r${i}`] as WebAssembly.Global).value as bigint);
    throw new Error(`JitMachine: r${i} is not kept after a ${this.mode}-mode run`);
  }

  /** Runs to exit or fault (the Machine interface). */
  run(): RunResult {
    if (this.last === undefined) this.last = this.runRepeat(1);
    return this.last;
  }

  /**
   * Runs the program `n` times with the same arguments (test_run's repeat), inside one
   * wasm call; returns the last run's result, or the first fault.
   */
  runRepeat(n: number, args?: ResetArgs): RunResult {
    if (args !== undefined) this.reset(args);
    this.prepare();
    const a = this.args.map((x) => BigInt.asIntN(64, x));
    let left = Math.max(1, n);
    for (;;) {
      try {
        const r0 = u64(this.main.exports.run(left, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!));
        this.lastR0 = r0;
        return { status: "exit", r0, executed: this.executedNow(0) };
      } catch (e) {
        const r = this.caught(e);
        this.lastR0 = r.status === "exit" ? r.r0 : undefined;
        // An out-of-bounds legacy packet load ends one run; the batch goes on.
        if (r.status === "fault" || --left === 0 || !(e instanceof JitExit)) return r;
      }
    }
  }

  /**
   * One run per ctx pointer (r1 = ctxs[i], other argument registers 0), inside one wasm
   * call; returns each run's r0. A fault stops the batch and is thrown as a JitTrap.
   */
  runList(ctxs: ArrayLike<number>): BigUint64Array {
    const n = ctxs.length;
    const need = n * 12;
    if (this.listCapacity < need) {
      if (this.listArea !== undefined) this.space.unmap(this.listArea);
      const r = this.space.map(Math.max(need, 64), { name: "jit list", kind: "mem", align: 8 });
      this.listCapacity = Math.max(need, 64);
      // Programs must not reach it: its accessible window is empty (the bytes stay allocated).
      this.space.setBounds(r, r.start, r.start);
      this.listArea = r;
    }
    const base = this.listArea!.start;
    const out = base + ((n * 4 + 7) & ~7);
    const v = this.space.view;
    for (let i = 0; i < n; i++) v.setUint32(base + 4 * i, ctxs[i]!, true);
    this.prepare();
    this.main.exports.runList(n, base, out);
    const res = new BigUint64Array(n);
    for (let i = 0; i < n; i++) res[i] = v.getBigUint64(out + 8 * i, true);
    return res;
  }

  /** Per-run setup: caches, CPU, budget. */
  private prepare(): void {
    if (this.cacheGen !== this.space.generation) this.invalidateCaches();
    this.cpuG.value = this.cpu;
    if (this.budgetG !== undefined && this.budgetSet !== this.budget) {
      this.budgetG.value = BigInt(Math.min(this.budget, Number.MAX_SAFE_INTEGER));
      this.budgetSet = this.budget;
    }
  }

  /** Regions changed (mapped, unmapped, moved): forget every cached region. */
  private invalidateCaches(): void {
    for (const inst of this.instances.values()) for (const g of inst.cache) g.value = 0n;
    this.cacheGen = this.space.generation;
  }

  private executedNow(adj: number): number {
    if (this.rem === undefined) return 0;
    return this.budget - Number(this.rem.value as bigint) - adj;
  }

  private caught(e: unknown): RunResult {
    if (e instanceof JitTrap) return { status: "fault", fault: e.fault, executed: e.executed ?? this.executedNow(e.adj) };
    if (e instanceof JitExit) return { status: "exit", r0: 0n, executed: this.executedNow(e.adj) };
    if (e instanceof WebAssembly.RuntimeError) {
      return { status: "fault", fault: makeFault("unsupported", -1, `wasm trap in ${this.mode} mode: ${e.message}`), executed: this.executedNow(0) };
    }
    throw e;
  }

  // ------------------------------------------------------------------ instances

  /** The instance of `p` in this machine (tail-call targets are compiled on first use). */
  private instance(p: PredecodedProgram): Instance {
    let inst = this.instances.get(p);
    if (inst !== undefined) return inst;
    const compiled = p === this.entry && this.compiled !== undefined ? this.compiled : compileCached(p, this.compileOptions());
    const fns: Record<string, unknown> = {};
    compiled.imports.forEach((d, i) => (fns[`f${i}`] = this.importFn(d, compiled)));
    const env: Record<string, unknown> = {
      memory: this.space.memory,
      stackLo: this.stack.start,
      stackEnd: this.stack.end,
      tail: this.tailG,
      tailCount: this.tailCountG,
      cpu: this.cpuG,
    };
    if (compiled.usesTable) env.table = this.table;
    if (this.rem !== undefined) {
      env.rem = this.rem;
      env.budget = this.budgetG;
    }
    const instance = new WebAssembly.Instance(compiled.module, { jit: fns as WebAssembly.ModuleImports, env: env as WebAssembly.ModuleImports });
    const exports = instance.exports as unknown as Exports;
    const tableIndex = this.table.length;
    this.table.grow(1);
    this.table.set(tableIndex, exports.entry as unknown as WebAssembly.ExportValue as never);
    const cache = this.mode === "checked" ? Array.from({ length: 4 * CACHE_ENTRIES }, (_, k) => exports[`c${k}`] as WebAssembly.Global) : [];
    inst = { compiled, exports, tableIndex, cache, victim: [0, 0] };
    this.instances.set(p, inst);
    return inst;
  }

  private helperContext(compiled: CompiledProgram, exportsOf: () => Exports): HelperContext {
    const self = this;
    return {
      memory: this.space,
      get pc() {
        return self.curPc;
      },
      callFunction: (fn, args) => this.callFunction(compiled, exportsOf(), fn, args),
      tailCall: (target) => this.requestTailCall(target),
    };
  }

  /** bpf_tail_call: at most MAX_TAIL_CALL_CNT per run; the compiled code performs the call. */
  requestTailCall(target: PredecodedProgram): boolean {
    const cnt = this.tailCountG.value as number;
    if (cnt >= MAX_TAIL_CALL_CNT) return false;
    this.tailG.value = this.instance(target).tableIndex;
    this.tailCountG.value = cnt + 1;
    return true;
  }

  /** HelperContext.callFunction: a subprogram as a callback, in a new frame. */
  private callFunction(compiled: CompiledProgram, exports: Exports, fn: bigint, args: readonly bigint[]): bigint {
    const lo = Number(BigInt.asIntN(32, fn));
    const hi = Number(BigInt.asIntN(32, fn >> 32n));
    const p = compiled.program;
    if (hi !== 1 || lo < 0 || lo >= p.length) throw new Error(`0x${BigInt.asUintN(64, fn).toString(16)} is not a BPF function pointer`);
    const depth = (this.stack.end - this.curFp) / MAX_BPF_STACK;
    if (depth + 1 >= MAX_CALL_FRAMES) throw new Error(`the call stack of ${depth + 2} frames is too deep`);
    const cb = compiled.callbacks.get(lo);
    // The caller's registers at the helper call (checked mode), which the callback starts
    // with (r0, r6-r9) and updates (r1-r5), as the interpreter's callFunction does.
    const regs = this.helperRegs[this.helperRegs.length - 1];
    if (cb === undefined) {
      // (The interpreter enters any slot; a trap slot faults there as it does.)
      if (this.mode !== "checked") throw new Error(`slot ${lo} is not a function entry the JIT compiled`);
      const caller = regs ?? Array<bigint>(10).fill(0n);
      const r = this.interpretCall(p, lo, [caller[0]!, ...[0, 1, 2, 3, 4].map((i) => args[i] ?? 0n), ...caller.slice(6, 10)], this.curFp);
      if (regs !== undefined) for (let i = 1; i <= 5; i++) regs[i] = r[i]!;
      return r[0]!;
    }
    const a = [0, 1, 2, 3, 4].map((i) => BigInt.asIntN(64, args[i] ?? 0n));
    const fp = this.curFp - MAX_BPF_STACK;
    const savedPc = this.curPc;
    const savedFp = this.curFp;
    try {
      const f = exports[cb.name] as (...xs: unknown[]) => bigint | bigint[];
      if (cb.abi === "lean") return u64(f(a[0], a[1], a[2], a[3], a[4], fp) as bigint);
      const s = (i: number): bigint => (regs === undefined ? 0n : BigInt.asIntN(64, regs[i]!));
      const r = f(s(0), a[0], a[1], a[2], a[3], a[4], s(6), s(7), s(8), s(9), BigInt(fp), fp) as bigint[];
      if (regs !== undefined) for (let i = 1; i <= 5; i++) regs[i] = u64(r[i]!);
      return u64(r[0]!);
    } finally {
      this.curPc = savedPc;
      this.curFp = savedFp;
    }
  }

  /**
   * Runs function `slot` of `p` on the interpreter as a call from the frame at `fp`
   * (regs: the callee's r0-r9 on entry), in this run: same stack, budget, executed
   * count and tail calls. Returns r0-r5 (unsigned) at its exit; a fault ends the run.
   */
  private interpretCall(p: PredecodedProgram, slot: number, regs: readonly bigint[], fp: number): bigint[] {
    let m = this.fallbacks.get(p);
    if (m === undefined) {
      m = new Machine(p, this.space, { helpers: this.helpers, budget: this.budget, stack: this.stack, ...(this.opts.ldAbs !== undefined ? { ldAbs: this.opts.ldAbs } : {}) });
      this.fallbacks.set(p, m);
    }
    m.budget = this.budget;
    const depth = (this.stack.end - fp) / MAX_BPF_STACK;
    const r = m.callAt(slot, regs.map(u64), depth, this.executedNow(0), this.tailCountG.value as number);
    this.rem!.value = BigInt(this.budget - r.executed);
    this.tailCountG.value = r.tailCalls;
    if (this.cacheGen !== this.space.generation) this.invalidateCaches();
    if (r.status === "fault") throw new JitTrap(r.fault, 0, r.executed);
    return r.regs;
  }

  /** helperRegs / helperDynRegs: a helper call with the caller's r0-r9 at hand for callbacks; returns r0-r5. */
  private callHelperRegs(id: number, ctx: HelperContext, pc: number, fp: number, regs: bigint[]): bigint[] {
    this.helperRegs.push(regs);
    try {
      regs[0] = this.callHelper(id, ctx, pc, fp, regs[1]!, regs[2]!, regs[3]!, regs[4]!, regs[5]!);
    } finally {
      this.helperRegs.pop();
    }
    return regs.slice(0, 6).map((v) => BigInt.asIntN(64, v));
  }

  private trap(kind: "helper_error" | "bad_callx" | "unsupported" | "unknown_helper" | "call_depth" | "bad_jump" | "misaligned_atomic", pc: number, message: string, adj: number, addr?: bigint, size?: number): JitTrap {
    return new JitTrap(makeFault(kind, pc, message, addr, size), adj);
  }

  /** Calls a helper as the interpreter does: unsigned BigInt arguments, r0 from its result. */
  private callHelper(id: number, ctx: HelperContext, pc: number, fp: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint): bigint {
    const h = this.helpers.get(id)!;
    this.curPc = pc;
    this.curFp = fp;
    let v: bigint;
    try {
      const r = h.fn(u64(r1), u64(r2), u64(r3), u64(r4), u64(r5), ctx);
      v = typeof r === "bigint" ? r : BigInt(r);
    } catch (e) {
      if (e instanceof JitTrap || e instanceof JitExit) throw e;
      throw this.trap("helper_error", pc, `helper ${h.name}#${id} failed: ${e instanceof Error ? e.message : String(e)}`, 0);
    }
    if (this.cacheGen !== this.space.generation) this.invalidateCaches();
    return BigInt.asIntN(64, v);
  }

  private importFn(d: ImportDesc, compiled: CompiledProgram): (...a: never[]) => unknown {
    const space = this.space;
    let instRef: Instance | undefined;
    const instOf = (): Instance => (instRef ??= this.instances.get(compiled.program)!);
    const exportsOf = (): Exports => instOf().exports;
    switch (d.kind) {
      case "helper": {
        const ctx = this.helperContext(compiled, exportsOf);
        const id = d.id;
        if (this.mode === "checked") {
          // A helper not declared callsBack has no caller registers to give a callback (zeros, not an enclosing helper's).
          return ((pc: number, fp: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint) => {
            this.helperRegs.push(undefined);
            try {
              return this.callHelper(id, ctx, pc, fp, r1, r2, r3, r4, r5);
            } finally {
              this.helperRegs.pop();
            }
          }) as never;
        }
        return ((pc: number, fp: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint) => this.callHelper(id, ctx, pc, fp, r1, r2, r3, r4, r5)) as never;
      }
      case "helperDyn": {
        const ctx = this.helperContext(compiled, exportsOf);
        return ((pc: number, fp: number, lo: number, hi: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint) => {
          if (hi !== 0 || !this.helpers.has(lo)) {
            throw this.trap("bad_callx", pc, `callx target 0x${fromHalves(lo, hi).toString(16)} is neither a function nor a known helper`, 0);
          }
          return this.callHelper(lo, ctx, pc, fp, r1, r2, r3, r4, r5);
        }) as never;
      }
      case "helperRegs": {
        const ctx = this.helperContext(compiled, exportsOf);
        const id = d.id;
        return ((pc: number, fp: number, ...regs: bigint[]) => this.callHelperRegs(id, ctx, pc, fp, regs)) as never;
      }
      case "helperDynRegs": {
        const ctx = this.helperContext(compiled, exportsOf);
        return ((pc: number, fp: number, lo: number, hi: number, ...regs: bigint[]) => {
          if (hi !== 0 || !this.helpers.has(lo)) {
            throw this.trap("bad_callx", pc, `callx target 0x${fromHalves(lo, hi).toString(16)} is neither a function nor a known helper`, 0);
          }
          return this.callHelperRegs(lo, ctx, pc, fp, regs);
        }) as never;
      }
      case "callSlot": {
        const p = compiled.program;
        return ((pc: number, fp: number, slot: number, ...regs: bigint[]) => {
          if (slot < 0 || slot >= p.length || p.bySlot[slot] === undefined) {
            throw this.trap("bad_callx", pc, `callx target 0x${fromHalves(slot, 1).toString(16)} is neither a function nor a known helper`, 0);
          }
          const depth = (this.stack.end - fp) / MAX_BPF_STACK;
          if (depth + 1 >= MAX_CALL_FRAMES) throw this.trap("call_depth", pc, `the call stack of ${depth + 2} frames is too deep`, 0);
          this.curPc = pc;
          return this.interpretCall(p, slot, regs, fp).map((v) => BigInt.asIntN(64, v));
        }) as never;
      }
      case "lookup":
      case "update":
      case "delete": {
        const m = mapFromAddress(space, d.map);
        if (m === undefined) throw new Error(`jit: map at 0x${d.map.toString(16)} is gone`);
        if (d.kind === "lookup") return ((k: number) => m.lookupElem(k)) as never;
        if (d.kind === "update") return ((k: number, val: number, fl: number) => m.updateElem(k, val, fl >>> 0)) as never;
        return ((k: number) => m.deleteElem(k)) as never;
      }
      case "lookupDyn":
      case "updateDyn":
      case "deleteDyn": {
        const mapOf = (a: number): BpfMap => {
          const m = mapFromAddress(space, a >>> 0);
          if (m === undefined) throw this.trap("helper_error", this.curPc, `r1 (0x${(a >>> 0).toString(16)}) is not a map`, 0);
          return m;
        };
        if (d.kind === "lookupDyn") return ((a: number, k: number) => mapOf(a).lookupElem(k)) as never;
        if (d.kind === "updateDyn") return ((a: number, k: number, val: number, fl: number) => mapOf(a).updateElem(k, val, fl >>> 0)) as never;
        return ((a: number, k: number) => mapOf(a).deleteElem(k)) as never;
      }
      case "lookupChecked":
      case "deleteChecked":
      case "updateChecked": {
        const ctx = this.helperContext(compiled, exportsOf);
        const id = d.id;
        const big = (lo: number, hi: number): bigint => fromHalves(lo, hi);
        const slow = (pc: number, fp: number, a: number[]): number => {
          const r = this.callHelper(id, ctx, pc, fp, big(a[0]!, a[1]!), big(a[2]!, a[3]!), big(a[4] ?? 0, a[5] ?? 0), big(a[6] ?? 0, a[7] ?? 0), 0n);
          return Number(BigInt.asIntN(32, r));
        };
        // The shortcut mirrors the helper's own checks (mapArg, checked): a map header
        // address in r1, keys and values wholly inside one region.
        const mapIf = (lo: number, hi: number): BpfMap | undefined => (hi === 0 ? mapFromAddress(space, lo >>> 0) : undefined);
        const inRegion = (lo: number, hi: number, size: number): boolean => hi === 0 && size > 0 && space.find(lo >>> 0, size) !== undefined;
        if (d.kind === "lookupChecked") {
          return ((pc: number, fp: number, mLo: number, mHi: number, kLo: number, kHi: number) => {
            const m = mapIf(mLo, mHi);
            if (m !== undefined && inRegion(kLo, kHi, m.keySize)) return m.lookupElem(kLo >>> 0);
            return slow(pc, fp, [mLo, mHi, kLo, kHi]);
          }) as never;
        }
        if (d.kind === "deleteChecked") {
          return ((pc: number, fp: number, mLo: number, mHi: number, kLo: number, kHi: number) => {
            const m = mapIf(mLo, mHi);
            if (m !== undefined && inRegion(kLo, kHi, m.keySize)) {
              const r = m.deleteElem(kLo >>> 0);
              if (this.cacheGen !== space.generation) this.invalidateCaches();
              return r;
            }
            return slow(pc, fp, [mLo, mHi, kLo, kHi]);
          }) as never;
        }
        return ((pc: number, fp: number, mLo: number, mHi: number, kLo: number, kHi: number, vLo: number, vHi: number, fLo: number, fHi: number) => {
          const m = mapIf(mLo, mHi);
          if (m !== undefined && inRegion(kLo, kHi, m.keySize) && inRegion(vLo, vHi, m.valueSize)) {
            const r = m.updateElem(kLo >>> 0, vLo >>> 0, fLo >>> 0);
            if (this.cacheGen !== space.generation) this.invalidateCaches();
            return r;
          }
          return slow(pc, fp, [mLo, mHi, kLo, kHi, vLo, vHi, fLo, fHi]);
        }) as never;
      }
      case "resolve":
        return ((pc: number, aLo: number, aHi: number, size: number, flags: number, adj: number) => {
          const write = (flags & 1) !== 0;
          const r = resolveAccess(space, pc, aLo, aHi, size, write, (flags & 2) !== 0);
          if (!isRegion(r)) throw new JitTrap(r, adj);
          // Round-robin replacement in this direction's cache entries.
          const inst = instOf();
          const dir = write ? 1 : 0;
          const e = inst.victim[dir];
          inst.victim[dir] = (e + 1) % CACHE_ENTRIES;
          const at = dir * 2 * CACHE_ENTRIES + e * 2;
          inst.cache[at]!.value = BigInt(r.start);
          inst.cache[at + 1]!.value = BigInt(r.end);
        }) as never;
      case "fault":
        return ((code: number, pc: number, arg: number, adj: number) => {
          throw this.faultFor(compiled, code, pc, arg, adj);
        }) as never;
      case "ldAbs": {
        const ld = this.opts.ldAbs;
        return ((pc: number, ctx: number, offset: number, size: number) => {
          if (ld === undefined) throw this.trap("unsupported", pc, "legacy BPF_LD_[ABS|IND] packet access needs a socket-filter or tc context", 0);
          const v = ld(ctx >>> 0, offset, size as 1 | 2 | 4);
          if (v === undefined) throw new JitExit(0);
          return v | 0;
        }) as never;
      }
    }
  }

  private faultFor(compiled: CompiledProgram, code: number, pc: number, arg: number, adj: number): JitTrap {
    switch (code as FaultCode) {
      case FaultCode.Budget: {
        const slots = compiled.blockSlots[arg]!;
        const k = Number(this.rem!.value as bigint) + slots.length;
        const slot = slots[Math.max(0, Math.min(k, slots.length - 1))]!;
        return new JitTrap(makeFault("budget", slot, `instruction budget of ${this.budget} exhausted`), 0, this.budget);
      }
      case FaultCode.CallDepth: {
        const depth = (this.stack.end - arg) / MAX_BPF_STACK;
        return this.trap("call_depth", pc, `the call stack of ${depth + 2} frames is too deep`, adj);
      }
      case FaultCode.BadJump:
        return this.trap("bad_jump", pc, pc >= compiled.program.length ? "jump or fall-through out of the program" : "jump into the middle of ld_imm64", adj);
      case FaultCode.Kfunc:
        return this.trap("unsupported", pc, `kfunc call (BTF id ${arg}) is not supported`, adj);
      case FaultCode.UnknownHelper:
        return this.trap("unknown_helper", pc, `unknown helper id ${arg}`, adj);
      case FaultCode.MisalignedAtomic: {
        const a = arg >>> 0;
        const size = compiled.program.op[pc] === 0xdb ? 8 : 4;
        return this.trap("misaligned_atomic", pc, `misaligned atomic access of ${size} bytes at 0x${a.toString(16)}`, adj, BigInt(a), size);
      }
      case FaultCode.CallxNoEntry: {
        const slot = arg;
        const p = compiled.program;
        if (slot >= 0 && slot < p.length && p.bySlot[slot] !== undefined) {
          return this.trap("unsupported", pc, `callx to slot ${slot}, which is not a function entry the JIT compiled`, adj);
        }
        return this.trap("bad_callx", pc, `callx target 0x${fromHalves(slot, 1).toString(16)} is neither a function nor a known helper`, adj);
      }
    }
    return this.trap("unsupported", pc, `fault code ${code}`, adj);
  }
}

