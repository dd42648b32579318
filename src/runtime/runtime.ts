/**
 * The Runtime: one address space with its maps and programs, the CPUs and task the
 * programs run as, and the trace_pipe they print to — what a kernel is to libbpf.
 * Everything here is platform-neutral; pinning to files is done by an adapter.
 */
import { AddressSpace, helperTable, predecode, type HelperTable, type PredecodedProgram } from "../vm/index.js";
import { createMap, mapFromId, type BpfMap, type MapSpec, type MapLinks } from "../maps/index.js";
import { kernelHelpers, type Clocks, type HelperEnv, type RedirectState, type TaskContext } from "../helpers/index.js";
import type { ProgramTypeName, SkBuff, XdpBuff } from "../progtypes/index.js";
import { Program, type ProgramLoadSpec } from "./program.js";

export interface RuntimeOptions {
  /** Possible CPUs (per-CPU maps hold one value each). Default 2. */
  numCpus?: number;
  /** The task programs run as (bpf_get_current_pid_tgid, _uid_gid, _comm). */
  task?: Partial<TaskContext>;
  /** Receives bpf_trace_printk lines; default: kept in `traceLines`. */
  trace?: (line: string) => void;
  /** Deterministic clocks and randomness for tests. */
  clocks?: Clocks;
  random?: () => number;
  /** Instruction budget per program run (default 100,000,000; unverified programs cannot hang the host). */
  budget?: number;
  /** Address space limit in bytes (default 1 GiB). */
  maxMemory?: number;
}

const HZ = 250n;

function systemClocks(): Clocks {
  const t0 = typeof performance !== "undefined" ? performance.now() : Date.now();
  const boot = BigInt(Math.round(t0 * 1e6)) + 5_000_000_000n;
  const mono = (): bigint => BigInt(Math.round((typeof performance !== "undefined" ? performance.now() : Date.now()) * 1e6)) + 5_000_000_000n;
  return {
    monotonicNs: mono,
    bootNs: () => mono() + (boot - boot),
    coarseNs: () => (mono() / 4_000_000n) * 4_000_000n,
    jiffies: () => 4294937296n + (mono() * HZ) / 1_000_000_000n,
  };
}

/** xorshift32, seeded; bpf_get_prandom_u32 needs no cryptographic quality. */
function prandom(seed = 0x2545f491): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export class Runtime {
  readonly space: AddressSpace;
  readonly numCpus: number;
  readonly task: TaskContext;
  readonly budget: number;
  /** bpf_trace_printk output when no sink was given. */
  readonly traceLines: string[] = [];
  /** The CPU the current run happens on. */
  cpu = 0;
  private readonly traceSink: (line: string) => void;
  private readonly clocks: Clocks;
  private readonly random: () => number;
  private readonly programsById = new Map<number, Program>();
  private readonly packets = new Map<number, SkBuff | XdpBuff>();
  private nextProgId = 1;
  private unverified = 0;
  private readonly helperCache = new Map<string, HelperTable>();
  readonly redirect: RedirectState = {};

  constructor(opts: RuntimeOptions = {}) {
    this.space = new AddressSpace({ maxBytes: opts.maxMemory ?? 1 << 30 });
    this.numCpus = opts.numCpus ?? 2;
    this.task = { pid: 4242, tgid: 4242, uid: 0, gid: 0, comm: "tsbpf", ...opts.task };
    this.traceSink = opts.trace ?? ((l) => void this.traceLines.push(l));
    this.clocks = opts.clocks ?? systemClocks();
    this.random = opts.random ?? prandom();
    this.budget = opts.budget ?? 100_000_000;
  }

  /** Map links: prog arrays and devmaps resolve program ids, map-in-map resolves map ids. */
  private get links(): MapLinks {
    return {
      program: (id) => {
        const p = this.programsById.get(id);
        return p === undefined ? undefined : { id: p.id, type: p.type };
      },
      map: (id) => mapFromId(this.space, id),
    };
  }

  createMap(spec: MapSpec): BpfMap {
    return createMap(spec, { space: this.space, numCpus: this.numCpus, currentCpu: () => this.cpu }, { links: this.links });
  }

  /** Loads a program (instructions whose map references are already addresses). */
  loadProgram(spec: ProgramLoadSpec): Program {
    const id = this.nextProgId++;
    const p = new Program(this, id, spec);
    this.programsById.set(id, p);
    if (!p.verified) this.unverified++;
    return p;
  }

  /** Whether a program the verifier did not accept is loaded (a tail call could reach it). */
  get hasUnverifiedPrograms(): boolean {
    return this.unverified > 0;
  }

  programById(id: number): Program | undefined {
    return this.programsById.get(id);
  }

  get programs(): Program[] {
    return [...this.programsById.values()];
  }

  /** @internal */
  forgetProgram(p: Program): void {
    if (this.programsById.delete(p.id) && !p.verified) this.unverified--;
  }

  /** @internal packets by ctx address, for the skb/xdp helpers */
  registerPacket(ctx: number, pkt: SkBuff | XdpBuff | undefined): void {
    if (pkt === undefined) this.packets.delete(ctx);
    else this.packets.set(ctx, pkt);
  }

  /**
   * @internal the helper table for programs of one type: the helpers the kernel lets
   * that type call, with the type's variants (bpf_perf_event_output, bpf_redirect).
   */
  helpersFor(type: ProgramTypeName): HelperTable {
    let t = this.helperCache.get(type);
    if (t === undefined) {
      const env: HelperEnv = {
        space: this.space,
        numCpus: this.numCpus,
        cpu: () => this.cpu,
        task: this.task,
        clocks: this.clocks,
        random: this.random,
        trace: this.traceSink,
        packet: (ctx) => this.packets.get(ctx),
        program: (id): PredecodedProgram | undefined => this.programsById.get(id)?.predecoded,
        redirect: this.redirect,
        xdp: type === "BPF_PROG_TYPE_XDP",
        progType: type,
      };
      t = helperTable(kernelHelpers(env));
      this.helperCache.set(type, t);
    }
    return t;
  }

  /** Predecodes outside a Program, for tools. */
  static predecode = predecode;
}
