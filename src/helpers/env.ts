/**
 * What helper implementations need from the runtime: the address space and its maps,
 * the CPU and task the program runs as, clocks, randomness, the trace_pipe sink, the
 * packet behind a ctx, and programs by id (tail calls, prog arrays).
 */
import type { AddressSpace, PredecodedProgram } from "../vm/index.js";
import type { ProgramTypeName, SkBuff, XdpBuff } from "../progtypes/index.js";

export interface TaskContext {
  pid: number;
  tgid: number;
  uid: number;
  gid: number;
  /** Up to 15 bytes, as TASK_COMM_LEN - 1. */
  comm: string;
}

export interface Clocks {
  /** CLOCK_MONOTONIC in ns (bpf_ktime_get_ns). */
  monotonicNs(): bigint;
  /** CLOCK_BOOTTIME in ns. */
  bootNs(): bigint;
  /** Coarse monotonic ns (bpf_ktime_get_coarse_ns). */
  coarseNs(): bigint;
  /** jiffies (HZ = 250 by default). */
  jiffies(): bigint;
}

export interface RedirectState {
  /** Set by bpf_redirect / bpf_redirect_map for the program's run; read by test_run. */
  ifindex?: number;
  flags?: number;
  mapId?: number;
  key?: number;
}

export interface HelperEnv {
  readonly space: AddressSpace;
  readonly numCpus: number;
  /** CPU the program runs on (bpf_get_smp_processor_id, per-CPU maps). */
  cpu(): number;
  readonly task: TaskContext;
  readonly clocks: Clocks;
  /** A uniformly random u32 (bpf_get_prandom_u32). */
  random(): number;
  /** One line of trace_pipe output (bpf_trace_printk). */
  trace(line: string): void;
  /** The packet whose ctx is at `ctxAddr`, for skb/xdp helpers. */
  packet(ctxAddr: number): SkBuff | XdpBuff | undefined;
  /** A loaded program by id (prog array values). */
  program(id: number): PredecodedProgram | undefined;
  /** Redirect target recorded by the last bpf_redirect*. */
  readonly redirect: RedirectState;
  /** Whether the program is XDP (bpf_redirect returns XDP_REDIRECT, else TC_ACT_REDIRECT). */
  readonly xdp: boolean;
  /**
   * The program type the helpers serve. Several helpers have one implementation per
   * program type in the kernel (bpf_perf_event_output: bpf_xdp_event_output,
   * bpf_skb_event_output, the tracing variant; bpf_redirect: XDP or tc); undefined
   * behaves like a tracing program.
   */
  readonly progType?: ProgramTypeName;
  /** The helper ids the current program type may call; undefined = all. */
  readonly allowed?: ReadonlySet<number>;
}
