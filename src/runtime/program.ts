/**
 * A loaded program and BPF_PROG_TEST_RUN for it (net/bpf/test_run.c): the program
 * type decides the ctx and the packet buffer, the run repeats `repeat` times on the
 * same ctx (as the kernel's bpf_test_run loop does), and the result carries retval,
 * data_out, ctx_out and the mean duration. Types the kernel cannot test-run (kprobes,
 * tracepoints, perf events...) fail with ENOTSUPP as they do there; `run()` runs any
 * program on a caller-supplied ctx buffer instead (a tsbpf extension).
 */
import { TsbpfError } from "../errors/index.js";
import type { Insn } from "../isa/index.js";
import { Machine, predecode, runTraced, type Fault, type PredecodedProgram, type Region, type TraceEvent } from "../vm/index.js";
import { JitMachine, type JitMode } from "../jit/index.js";
import {
  SkBuff, SkbError, XdpBuff, XdpError, isL2SkbType, parseProgramType, shortProgTypeName, testRunKind,
  type ProgramTypeName, type TestRunOptions, type TestRunResult,
} from "../progtypes/index.js";
import type { Runtime } from "./runtime.js";

export interface ProgramLoadSpec {
  name: string;
  /** "BPF_PROG_TYPE_XDP" or the short form "xdp". */
  type: string;
  insns: readonly Insn[];
  license?: string;
  /** Engine for runs (default "auto"; see EngineChoice). */
  engine?: EngineChoice;
  /** The verifier accepted these instructions (loadCollection sets it): the JIT may run them without per-access checks. */
  verified?: boolean;
  /**
   * Forces the JIT in this mode whatever the engine choice (for testing the JIT itself;
   * "verified" drops every per-access check, so only for programs a verifier accepted).
   */
  jitMode?: JitMode;
  /** Count executed instructions on the JIT in verified mode too (TestRunResult.executed; costs a little speed). */
  count?: boolean;
}

/** The engine a program runs on: the reference interpreter or the WebAssembly JIT. */
export type Engine = "interp" | "jit";

/**
 * What a caller asks for:
 *  - "auto" (the default): the JIT in verified mode (no per-access checks) for programs
 *    the verifier accepted, the interpreter for unverified ones;
 *  - "jit": the JIT, in verified mode for verified programs and in checked mode for
 *    unverified ones (the interpreter's results, faults and budget for every program:
 *    see src/jit/machine.ts);
 *  - "interp": the interpreter.
 *
 * Unverified programs default to the interpreter rather than the checked JIT: they are
 * what one debugs (the interpreter is the reference, steps and traces), a checked run
 * is only a few times faster than interpreting, and compiling costs more than a short
 * run saves.
 */
export type EngineChoice = Engine | "auto";

/** The engine (and JIT mode) an engine choice gives a program. */
export interface EngineDecision {
  readonly engine: Engine;
  /** For the JIT. */
  readonly jitMode: JitMode | undefined;
}

/** Resolves an engine choice for a program (see EngineChoice). */
export function chooseEngine(choice: EngineChoice, verified: boolean, jitMode?: JitMode): EngineDecision {
  if (choice === "interp") return { engine: "interp", jitMode: undefined };
  if (jitMode !== undefined) return { engine: "jit", jitMode };
  if (choice === "auto" && !verified) return { engine: "interp", jitMode: undefined };
  return { engine: "jit", jitMode: verified ? "verified" : "checked" };
}

/** A program stopped by a fault in checked mode: the kernel would never have run it. */
export class ProgramFault extends TsbpfError {
  readonly fault: Fault;
  constructor(program: string, fault: Fault) {
    super("EFAULT", `program ${program}: ${fault.message}`);
    this.fault = fault;
  }
}

/** A test_run the kernel refuses (bad data_in / ctx_in): errno as bpf() returns it. */
export class TestRunError extends TsbpfError {
  readonly errno: number;
  constructor(message: string, errno: number) {
    super("EUSAGE", message);
    this.errno = errno;
  }
}

const EINVAL = 22;
const BPF_FUNC_TAIL_CALL = 12;
/** ENOTSUPP (kernel-internal 524): the program type has no test_run. */
const ENOTSUPP = 524;
/** MAX_BPF_FUNC_ARGS * sizeof(u64): the largest raw_tracepoint ctx_in. */
const RAW_TP_MAX_CTX = 12 * 8;
const SYSCALL_MAX_CTX = 0xffff;

/** A run on a caller-supplied ctx (Program.run). */
export interface ProgramRunOptions {
  /** The ctx the program gets in r1 (copied into the address space); none: r1 = 0. */
  readonly ctx?: Uint8Array;
  /** Whether the program may write the ctx (then ctxOut is the buffer after the run). */
  readonly writableCtx?: boolean;
  readonly cpu?: number;
  /** Overrides the program's engine for this run. */
  readonly engine?: EngineChoice;
}

export interface ProgramRunResult {
  readonly retval: number;
  readonly r0: bigint;
  readonly ctxOut: Uint8Array | undefined;
  readonly executed: number;
}

export class Program {
  readonly runtime: Runtime;
  readonly id: number;
  readonly name: string;
  readonly type: ProgramTypeName;
  readonly insns: readonly Insn[];
  readonly license: string;
  readonly predecoded: PredecodedProgram;
  private readonly machines: Array<Machine | undefined> = [];
  private readonly jitMachines: Array<JitMachine | undefined> = [];
  private readonly checkedJitMachines: Array<JitMachine | undefined> = [];
  /** The engine runs use (testRun's `engine` overrides it per run). */
  readonly engine: Engine;
  /** The JIT mode when the engine is the JIT. */
  readonly jitMode: JitMode | undefined;
  /** The verifier accepted the program. */
  readonly verified: boolean;
  private readonly requestedJitMode: JitMode | undefined;
  /** The program can tail-call (bpf_tail_call, or callx, which can reach any helper). */
  private readonly tailCalls: boolean;
  /** Runs count executed instructions (always, except on the verified JIT without `count: true`). */
  readonly counts: boolean;
  private readonly count: boolean;
  private closed = false;

  constructor(runtime: Runtime, id: number, spec: ProgramLoadSpec) {
    const type = parseProgramType(spec.type);
    if (type === undefined) throw new TestRunError(`unknown program type '${spec.type}'`, -22);
    this.runtime = runtime;
    this.id = id;
    this.name = spec.name;
    this.type = type;
    this.insns = spec.insns;
    this.license = spec.license ?? "GPL";
    this.predecoded = predecode(spec.insns);
    this.verified = spec.verified === true;
    this.requestedJitMode = spec.jitMode;
    this.count = spec.count === true;
    const d = chooseEngine(spec.engine ?? "auto", this.verified, spec.jitMode);
    this.engine = d.engine;
    this.jitMode = d.jitMode;
    this.counts = this.count || d.jitMode !== "verified";
    let tail = false;
    for (let pc = 0; pc < this.predecoded.length && !tail; pc++) {
      const op = this.predecoded.op[pc];
      tail = (op === 0x85 && this.predecoded.imm[pc] === BPF_FUNC_TAIL_CALL) || op === 0x8d;
    }
    this.tailCalls = tail;
  }

  /** What an engine choice gives this program. */
  decide(choice: EngineChoice): EngineDecision {
    return chooseEngine(choice, this.verified, this.requestedJitMode);
  }

  /** The JIT machine for one CPU (compiled on first use), in `mode` (default: the program's). */
  jitMachine(cpu: number, mode: JitMode = this.jitMode ?? (this.verified ? "verified" : "checked")): JitMachine {
    const machines = mode === "verified" ? this.jitMachines : this.checkedJitMachines;
    let m = machines[cpu];
    if (m === undefined) {
      const rt = this.runtime;
      m = new JitMachine(this.predecoded, rt.space, {
        helpers: rt.helpersFor(this.type),
        budget: rt.budget,
        stackName: `stack cpu${cpu}`,
        mode,
        cpu,
        ...(this.count ? { count: true } : {}),
        ldAbs: (ctx, off, size) => {
          const pkt = this.packetAt(ctx);
          return pkt instanceof SkBuff ? pkt.ldAbs(off, size) : undefined;
        },
      });
      machines[cpu] = m;
    }
    return m;
  }

  /** The machine for one CPU (each has its own stack, as each CPU has its own in the kernel). */
  machine(cpu: number): Machine {
    let m = this.machines[cpu];
    if (m === undefined) {
      const rt = this.runtime;
      m = new Machine(this.predecoded, rt.space, {
        helpers: rt.helpersFor(this.type),
        budget: rt.budget,
        stackName: `stack cpu${cpu}`,
        ldAbs: (ctx, off, size) => {
          const pkt = this.packetAt(ctx);
          return pkt instanceof SkBuff ? pkt.ldAbs(off, size) : undefined;
        },
      });
      this.machines[cpu] = m;
    }
    return m;
  }

  private packetByCtx = new Map<number, SkBuff | XdpBuff>();
  private packetAt(ctx: number): SkBuff | XdpBuff | undefined {
    return this.packetByCtx.get(ctx);
  }

  /** BPF_PROG_TEST_RUN. Throws TestRunError for input the kernel rejects, ProgramFault if the program faults. */
  /**
   * BPF_PROG_TEST_RUN. `trace` is called with every instruction the runs execute (the
   * interpreter's trace events: pc, instruction, changed registers, call depth); it needs
   * the interpreter, so it picks it unless `engine: "jit"` asks otherwise, which is an error.
   */
  testRun(opts: TestRunOptions & { engine?: EngineChoice; trace?: (event: TraceEvent) => void } = {}): TestRunResult {
    if (this.closed) throw new TestRunError(`program ${this.name} is closed`, -9);
    const rt = this.runtime;
    const cpu = opts.cpu ?? 0;
    if (cpu < 0 || cpu >= rt.numCpus) throw new TestRunError(`cpu ${cpu} out of range (${rt.numCpus} CPUs)`, -EINVAL);
    const kind = testRunKind(this.type);
    if (kind === undefined) throw new TestRunError(`${shortProgTypeName(this.type)} programs cannot be test-run (the kernel answers ENOTSUPP); Program.run() runs them on a ctx buffer`, -ENOTSUPP);
    const repeat = Math.max(1, opts.repeat ?? 1);
    const dataIn = opts.dataIn ?? new Uint8Array(0);
    let pkt: SkBuff | XdpBuff | undefined;
    let ctxRegion: Region | undefined;
    let ctxAddr = 0;
    try {
      if (kind === "xdp") {
        pkt = new XdpBuff(rt.space, dataIn, opts.ctxIn);
        ctxAddr = pkt.ctx.start;
      } else if (kind === "skb") {
        pkt = new SkBuff(rt.space, dataIn, { l2: isL2SkbType(this.type), ...(opts.ctxIn !== undefined ? { ctxIn: opts.ctxIn } : {}) });
        ctxAddr = pkt.ctx.start;
      } else {
        // bpf_prog_test_run_raw_tp / _syscall: ctx_in only; no data, no repeat (tsbpf accepts repeat 1: one run).
        const what = kind === "raw_tp" ? "raw_tracepoint" : "syscall";
        if (opts.dataIn !== undefined && opts.dataIn.length > 0) throw new TestRunError(`${what} test_run takes no data_in`, -EINVAL);
        if (repeat > 1) throw new TestRunError(`${what} test_run takes no repeat`, -EINVAL);
        const max = kind === "raw_tp" ? RAW_TP_MAX_CTX : SYSCALL_MAX_CTX;
        if (opts.ctxIn !== undefined && opts.ctxIn.length > max) throw new TestRunError(`${what} ctx_in of ${opts.ctxIn.length} bytes exceeds ${max}`, -EINVAL);
        if (opts.ctxIn !== undefined && opts.ctxIn.length > 0) {
          ctxRegion = rt.space.mapBytes(opts.ctxIn, { name: "ctx", kind: "ctx", writable: kind === "syscall" });
          ctxAddr = ctxRegion.start;
        }
      }
    } catch (e) {
      if (e instanceof XdpError || e instanceof SkbError) throw new TestRunError(e.message, e.errno);
      throw e;
    }
    if (opts.trace !== undefined && opts.engine === "jit") throw new TestRunError("a traced run needs the interpreter: the JIT runs compiled WebAssembly and cannot step", -EINVAL);
    try {
      const how = opts.trace !== undefined ? { engine: "interp" as const, jitMode: undefined } : this.engineFor(opts.engine);
      // Compile before the clock starts: the kernel JITs at load, and test_run's duration is the runs alone.
      if (how.engine === "jit") this.jitMachine(cpu, how.jitMode);
      const t0 = performance.now();
      const { r0, executed } = this.execute(ctxAddr, cpu, repeat, pkt, how, opts.onProgress, opts.trace);
      const durationNs = ((performance.now() - t0) * 1e6) / repeat;
      return {
        retval: Number(r0 & 0xffffffffn),
        r0,
        dataOut: pkt?.dataOut(),
        ctxOut: pkt !== undefined ? pkt.ctxOut() : ctxRegion !== undefined && kind === "syscall" ? rt.space.read(ctxRegion.start, ctxRegion.end - ctxRegion.start) : undefined,
        durationNs,
        executed,
      };
    } finally {
      pkt?.free();
      if (ctxRegion !== undefined) rt.space.unmap(ctxRegion);
    }
  }

  /**
   * Runs the program once with `ctx` (a copy in the address space) in r1, whatever its
   * type: how tsbpf runs kprobe, tracepoint and other tracing programs, whose ctx the
   * kernel builds from a live event. Helpers are still those of the program type.
   */
  run(opts: ProgramRunOptions = {}): ProgramRunResult {
    if (this.closed) throw new TestRunError(`program ${this.name} is closed`, -9);
    const rt = this.runtime;
    const cpu = opts.cpu ?? 0;
    if (cpu < 0 || cpu >= rt.numCpus) throw new TestRunError(`cpu ${cpu} out of range (${rt.numCpus} CPUs)`, -EINVAL);
    const region = opts.ctx !== undefined && opts.ctx.length > 0 ? rt.space.mapBytes(opts.ctx, { name: "ctx", kind: "ctx", writable: opts.writableCtx ?? false }) : undefined;
    try {
      const { r0, executed } = this.execute(region?.start ?? 0, cpu, 1, undefined, this.engineFor(opts.engine));
      return {
        retval: Number(r0 & 0xffffffffn),
        r0,
        ctxOut: region !== undefined && opts.writableCtx === true ? rt.space.read(region.start, region.end - region.start) : undefined,
        executed,
      };
    } finally {
      if (region !== undefined) rt.space.unmap(region);
    }
  }

  private engineFor(choice: EngineChoice | undefined): { engine: Engine; jitMode: JitMode | undefined } {
    const d = choice === undefined ? { engine: this.engine, jitMode: this.jitMode } : this.decide(choice);
    // A tail call runs its target on the caller's machine and mode. The kernel loads only
    // verified programs; tsbpf also loads unverified ones (verify: false), which a
    // verified program's tail call must not run without checks: while one is loaded, a
    // verified program that can tail-call runs on the checked JIT (the same results).
    if (d.engine === "jit" && d.jitMode === "verified" && this.requestedJitMode === undefined && this.tailCalls && this.runtime.hasUnverifiedPrograms) {
      return { engine: "jit", jitMode: "checked" };
    }
    return d;
  }

  /** The bpf_test_run loop: `repeat` runs on the same ctx and packet, on one CPU. */
  private execute(ctxAddr: number, cpu: number, repeat: number, pkt: SkBuff | XdpBuff | undefined, how: { engine: Engine; jitMode: JitMode | undefined }, onProgress?: (done: number, total: number) => void, trace?: (event: TraceEvent) => void): { r0: bigint; executed: number } {
    const rt = this.runtime;
    if (pkt !== undefined) {
      rt.registerPacket(ctxAddr, pkt);
      this.packetByCtx.set(ctxAddr, pkt);
    }
    const prevCpu = rt.cpu;
    rt.cpu = cpu;
    for (const k of Object.keys(rt.redirect)) delete (rt.redirect as Record<string, unknown>)[k];
    try {
      if (how.engine === "jit") {
        // The whole repeat loop runs inside one wasm call (in chunks when someone watches progress;
        // the ctx and packet stay in memory between chunks, so the runs see one buffer as before).
        const chunk = onProgress === undefined ? repeat : 1 << 16;
        let res: ReturnType<JitMachine["runRepeat"]> | undefined;
        for (let done = 0; done < repeat; done += chunk) {
          res = this.jitMachine(cpu, how.jitMode).runRepeat(Math.min(chunk, repeat - done), { r1: BigInt(ctxAddr) });
          if (res.status === "fault") throw new ProgramFault(this.name, res.fault);
          onProgress?.(Math.min(done + chunk, repeat), repeat);
        }
        if (res === undefined || res.status === "fault") throw new Error("unreachable");
        return { r0: res.r0, executed: res.executed };
      }
      const m = this.machine(cpu);
      let r0 = 0n;
      let executed = 0;
      for (let i = 0; i < repeat; i++) {
        m.reset({ r1: BigInt(ctxAddr) });
        const res = trace === undefined ? m.run() : runTraced(m, trace);
        if (res.status === "fault") throw new ProgramFault(this.name, res.fault);
        r0 = res.r0;
        executed = res.executed;
        if (onProgress !== undefined && (i & 0xfff) === 0xfff) onProgress(i + 1, repeat);
      }
      onProgress?.(repeat, repeat);
      return { r0, executed };
    } finally {
      rt.cpu = prevCpu;
      if (pkt !== undefined) {
        rt.registerPacket(ctxAddr, undefined);
        this.packetByCtx.delete(ctxAddr);
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.machines) m?.close();
    for (const m of this.jitMachines) m?.close();
    for (const m of this.checkedJitMachines) m?.close();
    this.runtime.forgetProgram(this);
  }
}
