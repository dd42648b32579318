/**
 * A loaded program and BPF_PROG_TEST_RUN for it (net/bpf/test_run.c): the program
 * type decides the ctx and the packet buffer, the run repeats `repeat` times on the
 * same ctx (as the kernel's bpf_test_run loop does), and the result carries retval,
 * data_out, ctx_out and the mean duration.
 */
import { TsbpfError } from "../errors/index.js";
import type { Insn } from "../isa/index.js";
import { Machine, predecode, type Fault, type PredecodedProgram, type Region } from "../vm/index.js";
import {
  SkBuff, SkbError, XdpBuff, XdpError, parseProgramType,
  type ProgramTypeName, type TestRunOptions, type TestRunResult,
} from "../progtypes/index.js";
import type { Runtime } from "./runtime.js";

export interface ProgramLoadSpec {
  name: string;
  /** "BPF_PROG_TYPE_XDP" or the short form "xdp". */
  type: string;
  insns: readonly Insn[];
  license?: string;
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

const SKB_TYPES = new Set<ProgramTypeName>(["BPF_PROG_TYPE_SOCKET_FILTER", "BPF_PROG_TYPE_SCHED_CLS", "BPF_PROG_TYPE_SCHED_ACT", "BPF_PROG_TYPE_CGROUP_SKB", "BPF_PROG_TYPE_LWT_IN", "BPF_PROG_TYPE_LWT_OUT", "BPF_PROG_TYPE_LWT_XMIT"]);
const L2_TYPES = new Set<ProgramTypeName>(["BPF_PROG_TYPE_SCHED_CLS", "BPF_PROG_TYPE_SCHED_ACT"]);

export class Program {
  readonly runtime: Runtime;
  readonly id: number;
  readonly name: string;
  readonly type: ProgramTypeName;
  readonly insns: readonly Insn[];
  readonly license: string;
  readonly predecoded: PredecodedProgram;
  private readonly machines: Array<Machine | undefined> = [];
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
  }

  /** The machine for one CPU (each has its own stack, as each CPU has its own in the kernel). */
  machine(cpu: number): Machine {
    let m = this.machines[cpu];
    if (m === undefined) {
      const rt = this.runtime;
      m = new Machine(this.predecoded, rt.space, {
        helpers: rt.helpersFor(this.type === "BPF_PROG_TYPE_XDP" ? "xdp" : "other"),
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
  testRun(opts: TestRunOptions = {}): TestRunResult {
    if (this.closed) throw new TestRunError(`program ${this.name} is closed`, -9);
    const rt = this.runtime;
    const cpu = opts.cpu ?? 0;
    if (cpu < 0 || cpu >= rt.numCpus) throw new TestRunError(`cpu ${cpu} out of range (${rt.numCpus} CPUs)`, -22);
    const repeat = Math.max(1, opts.repeat ?? 1);
    const dataIn = opts.dataIn ?? new Uint8Array(0);
    let pkt: SkBuff | XdpBuff | undefined;
    let ctxRegion: Region | undefined;
    let ctxAddr = 0;
    try {
      if (this.type === "BPF_PROG_TYPE_XDP") {
        pkt = new XdpBuff(rt.space, dataIn, opts.ctxIn);
        ctxAddr = pkt.ctx.start;
      } else if (SKB_TYPES.has(this.type)) {
        pkt = new SkBuff(rt.space, dataIn, { l2: L2_TYPES.has(this.type), ...(opts.ctxIn !== undefined ? { ctxIn: opts.ctxIn } : {}) });
        ctxAddr = pkt.ctx.start;
      } else {
        // Tracing-style types: the ctx is the caller's buffer (raw_tracepoint args, syscall ctx).
        if (opts.dataIn !== undefined && opts.dataIn.length > 0) throw new TestRunError(`${this.type} takes no data_in`, -22);
        if (opts.ctxIn !== undefined && opts.ctxIn.length > 0) {
          ctxRegion = rt.space.mapBytes(opts.ctxIn, { name: "ctx", kind: "ctx", writable: this.type === "BPF_PROG_TYPE_SYSCALL" });
          ctxAddr = ctxRegion.start;
        }
      }
    } catch (e) {
      if (e instanceof XdpError || e instanceof SkbError) throw new TestRunError(e.message, e.errno);
      throw e;
    }
    if (pkt !== undefined) {
      rt.registerPacket(ctxAddr, pkt);
      this.packetByCtx.set(ctxAddr, pkt);
    }
    const m = this.machine(cpu);
    const prevCpu = rt.cpu;
    rt.cpu = cpu;
    for (const k of Object.keys(rt.redirect)) delete (rt.redirect as Record<string, unknown>)[k];
    try {
      let r0 = 0n;
      let executed = 0;
      const t0 = performance.now();
      for (let i = 0; i < repeat; i++) {
        m.reset({ r1: BigInt(ctxAddr) });
        const res = m.run();
        if (res.status === "fault") throw new ProgramFault(this.name, res.fault);
        r0 = res.r0;
        executed = res.executed;
      }
      const durationNs = ((performance.now() - t0) * 1e6) / repeat;
      return {
        retval: Number(r0 & 0xffffffffn),
        r0,
        dataOut: pkt?.dataOut(),
        ctxOut: pkt !== undefined ? pkt.ctxOut() : ctxRegion !== undefined && this.type === "BPF_PROG_TYPE_SYSCALL" ? rt.space.read(ctxRegion.start, ctxRegion.end - ctxRegion.start) : undefined,
        durationNs,
        executed,
      };
    } finally {
      rt.cpu = prevCpu;
      if (pkt !== undefined) {
        rt.registerPacket(ctxAddr, undefined);
        this.packetByCtx.delete(ctxAddr);
        pkt.free();
      }
      if (ctxRegion !== undefined) rt.space.unmap(ctxRegion);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.machines) m?.close();
    this.runtime.forgetProgram(this);
  }
}
