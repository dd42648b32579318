/**
 * Program types by the kernel's numbering (enum bpf_prog_type in
 * include/uapi/linux/bpf.h), with ids in an explicit field, and the shared shape of a
 * program type: its ctx layout and what BPF_PROG_TEST_RUN does with it.
 */

export type ProgramTypeName =
  | "BPF_PROG_TYPE_UNSPEC" | "BPF_PROG_TYPE_SOCKET_FILTER" | "BPF_PROG_TYPE_KPROBE" | "BPF_PROG_TYPE_SCHED_CLS"
  | "BPF_PROG_TYPE_SCHED_ACT" | "BPF_PROG_TYPE_TRACEPOINT" | "BPF_PROG_TYPE_XDP" | "BPF_PROG_TYPE_PERF_EVENT"
  | "BPF_PROG_TYPE_CGROUP_SKB" | "BPF_PROG_TYPE_CGROUP_SOCK" | "BPF_PROG_TYPE_LWT_IN" | "BPF_PROG_TYPE_LWT_OUT"
  | "BPF_PROG_TYPE_LWT_XMIT" | "BPF_PROG_TYPE_SOCK_OPS" | "BPF_PROG_TYPE_SK_SKB" | "BPF_PROG_TYPE_CGROUP_DEVICE"
  | "BPF_PROG_TYPE_SK_MSG" | "BPF_PROG_TYPE_RAW_TRACEPOINT" | "BPF_PROG_TYPE_CGROUP_SOCK_ADDR"
  | "BPF_PROG_TYPE_LWT_SEG6LOCAL" | "BPF_PROG_TYPE_LIRC_MODE2" | "BPF_PROG_TYPE_SK_REUSEPORT"
  | "BPF_PROG_TYPE_FLOW_DISSECTOR" | "BPF_PROG_TYPE_CGROUP_SYSCTL" | "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE"
  | "BPF_PROG_TYPE_CGROUP_SOCKOPT" | "BPF_PROG_TYPE_TRACING" | "BPF_PROG_TYPE_STRUCT_OPS" | "BPF_PROG_TYPE_EXT"
  | "BPF_PROG_TYPE_LSM" | "BPF_PROG_TYPE_SK_LOOKUP" | "BPF_PROG_TYPE_SYSCALL" | "BPF_PROG_TYPE_NETFILTER";

export const PROG_TYPES: ReadonlyArray<{ readonly id: number; readonly name: ProgramTypeName }> = [
  { id: 0, name: "BPF_PROG_TYPE_UNSPEC" }, { id: 1, name: "BPF_PROG_TYPE_SOCKET_FILTER" },
  { id: 2, name: "BPF_PROG_TYPE_KPROBE" }, { id: 3, name: "BPF_PROG_TYPE_SCHED_CLS" },
  { id: 4, name: "BPF_PROG_TYPE_SCHED_ACT" }, { id: 5, name: "BPF_PROG_TYPE_TRACEPOINT" },
  { id: 6, name: "BPF_PROG_TYPE_XDP" }, { id: 7, name: "BPF_PROG_TYPE_PERF_EVENT" },
  { id: 8, name: "BPF_PROG_TYPE_CGROUP_SKB" }, { id: 9, name: "BPF_PROG_TYPE_CGROUP_SOCK" },
  { id: 10, name: "BPF_PROG_TYPE_LWT_IN" }, { id: 11, name: "BPF_PROG_TYPE_LWT_OUT" },
  { id: 12, name: "BPF_PROG_TYPE_LWT_XMIT" }, { id: 13, name: "BPF_PROG_TYPE_SOCK_OPS" },
  { id: 14, name: "BPF_PROG_TYPE_SK_SKB" }, { id: 15, name: "BPF_PROG_TYPE_CGROUP_DEVICE" },
  { id: 16, name: "BPF_PROG_TYPE_SK_MSG" }, { id: 17, name: "BPF_PROG_TYPE_RAW_TRACEPOINT" },
  { id: 18, name: "BPF_PROG_TYPE_CGROUP_SOCK_ADDR" }, { id: 19, name: "BPF_PROG_TYPE_LWT_SEG6LOCAL" },
  { id: 20, name: "BPF_PROG_TYPE_LIRC_MODE2" }, { id: 21, name: "BPF_PROG_TYPE_SK_REUSEPORT" },
  { id: 22, name: "BPF_PROG_TYPE_FLOW_DISSECTOR" }, { id: 23, name: "BPF_PROG_TYPE_CGROUP_SYSCTL" },
  { id: 24, name: "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE" }, { id: 25, name: "BPF_PROG_TYPE_CGROUP_SOCKOPT" },
  { id: 26, name: "BPF_PROG_TYPE_TRACING" }, { id: 27, name: "BPF_PROG_TYPE_STRUCT_OPS" },
  { id: 28, name: "BPF_PROG_TYPE_EXT" }, { id: 29, name: "BPF_PROG_TYPE_LSM" },
  { id: 30, name: "BPF_PROG_TYPE_SK_LOOKUP" }, { id: 31, name: "BPF_PROG_TYPE_SYSCALL" },
  { id: 32, name: "BPF_PROG_TYPE_NETFILTER" },
];

/** Accepts "BPF_PROG_TYPE_XDP", "xdp", "sched_cls"...; undefined when unknown. */
export function parseProgramType(s: string): ProgramTypeName | undefined {
  const up = s.toUpperCase();
  const name = (up.startsWith("BPF_PROG_TYPE_") ? up : `BPF_PROG_TYPE_${up}`) as ProgramTypeName;
  return PROG_TYPES.some((t) => t.name === name) ? name : undefined;
}

export const progTypeId = (name: ProgramTypeName): number => PROG_TYPES.find((t) => t.name === name)!.id;
export const shortProgTypeName = (name: ProgramTypeName): string => name.slice("BPF_PROG_TYPE_".length).toLowerCase();

/** One field of a ctx structure, as the kernel's is_valid_access sees it. */
export interface CtxField {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  /** Whether a program may store to it. */
  readonly writable: boolean;
  /** What a load of the field gives the verifier: a packet pointer, its end, the metadata start, or a scalar. */
  readonly kind: "scalar" | "pkt" | "pkt_end" | "pkt_meta" | "ptr";
}

export interface CtxLayout {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly CtxField[];
}

/** BPF_PROG_TEST_RUN's input (struct bpf_attr.test). */
export interface TestRunOptions {
  readonly dataIn?: Uint8Array;
  readonly ctxIn?: Uint8Array;
  /** Runs; the kernel treats 0 as 1. */
  readonly repeat?: number;
  /** Index of the CPU the run happens on (per-CPU maps, bpf_get_smp_processor_id). */
  readonly cpu?: number;
  /** Called now and then during a long repeat loop (for a progress bar): runs done so far, and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** BPF_PROG_TEST_RUN's output. */
export interface TestRunResult {
  /** r0 as the kernel reports it: the low 32 bits. */
  readonly retval: number;
  /** The full 64-bit r0. */
  readonly r0: bigint;
  readonly dataOut: Uint8Array | undefined;
  readonly ctxOut: Uint8Array | undefined;
  /** Mean wall-clock time per run, in ns. */
  readonly durationNs: number;
  /** Instructions executed by the last run (0 on the JIT in verified mode unless loaded with `count: true`). */
  readonly executed: number;
}
