/**
 * What the kernel does with a program type besides its ctx: how BPF_PROG_TEST_RUN
 * runs it (struct bpf_prog_ops.test_run, net/bpf/test_run.c) and what its return
 * value means (check_return_code in kernel/bpf/verifier.c and the hooks that consume
 * r0).
 */
import type { ProgramTypeName } from "./types.js";

/**
 * How test_run builds the ctx: "skb" (bpf_prog_test_run_skb), "xdp"
 * (bpf_prog_test_run_xdp), "raw_tp" (bpf_prog_test_run_raw_tp: ctx_in only, at most
 * 12 u64 arguments, no repeat), "syscall" (bpf_prog_test_run_syscall: ctx_in is
 * copied back). Types without test_run get -ENOTSUPP from the kernel.
 */
export type TestRunKind = "skb" | "xdp" | "raw_tp" | "syscall";

const TEST_RUN: Partial<Record<ProgramTypeName, TestRunKind>> = {
  BPF_PROG_TYPE_SOCKET_FILTER: "skb",
  BPF_PROG_TYPE_SCHED_CLS: "skb",
  BPF_PROG_TYPE_SCHED_ACT: "skb",
  BPF_PROG_TYPE_CGROUP_SKB: "skb",
  BPF_PROG_TYPE_LWT_IN: "skb",
  BPF_PROG_TYPE_LWT_OUT: "skb",
  BPF_PROG_TYPE_LWT_XMIT: "skb",
  BPF_PROG_TYPE_XDP: "xdp",
  BPF_PROG_TYPE_RAW_TRACEPOINT: "raw_tp",
  BPF_PROG_TYPE_SYSCALL: "syscall",
};

/** undefined: the kernel has no test_run for the type (or tsbpf does not implement it: flow dissector, sk_lookup, netfilter, fentry/fexit, struct_ops). */
export const testRunKind = (type: ProgramTypeName): TestRunKind | undefined => TEST_RUN[type];

/** skb test runs that see the frame from the Ethernet header (is_l2). */
export const isL2SkbType = (type: ProgramTypeName): boolean => type === "BPF_PROG_TYPE_SCHED_CLS" || type === "BPF_PROG_TYPE_SCHED_ACT";

export interface ReturnCodes {
  /** What r0 means to the hook. */
  readonly meaning: string;
  /** Named values (low 32 bits of r0, as test_run reports retval). */
  readonly names: ReadonlyMap<number, string>;
  /**
   * The verifier's range for r0 at exit, when it checks one (a program returning
   * outside it is rejected: "At program exit the register R0 has ... should have
   * been in [lo, hi]").
   */
  readonly range?: readonly [number, number];
}

const named = (entries: ReadonlyArray<readonly [number, string]>): ReadonlyMap<number, string> => new Map(entries);

const XDP_CODES = named([[0, "XDP_ABORTED"], [1, "XDP_DROP"], [2, "XDP_PASS"], [3, "XDP_TX"], [4, "XDP_REDIRECT"]]);
const TC_CODES = named([
  [0xffffffff, "TC_ACT_UNSPEC"], [0, "TC_ACT_OK"], [1, "TC_ACT_RECLASSIFY"], [2, "TC_ACT_SHOT"], [3, "TC_ACT_PIPE"],
  [4, "TC_ACT_STOLEN"], [5, "TC_ACT_QUEUED"], [6, "TC_ACT_REPEAT"], [7, "TC_ACT_REDIRECT"], [8, "TC_ACT_TRAP"],
]);

/**
 * Return-value meaning of a program type; `attach` distinguishes cgroup skb ingress
 * from egress ("egress": codes 2 and 3 add congestion notification).
 */
export function returnCodes(type: ProgramTypeName, attach?: "ingress" | "egress"): ReturnCodes {
  switch (type) {
    case "BPF_PROG_TYPE_XDP":
      return { meaning: "the XDP action; other values are treated as XDP_ABORTED by drivers", names: XDP_CODES };
    case "BPF_PROG_TYPE_SCHED_CLS":
    case "BPF_PROG_TYPE_SCHED_ACT":
      return { meaning: "the tc action (direct-action mode); TC_ACT_UNSPEC continues with the next filter", names: TC_CODES };
    case "BPF_PROG_TYPE_SOCKET_FILTER":
      return { meaning: "how many bytes of the packet to keep; 0 drops it", names: named([[0, "drop"]]) };
    case "BPF_PROG_TYPE_CGROUP_SKB":
      return attach === "egress"
        ? { meaning: "bit 0: allow; bit 1: congestion notification (egress only)", names: named([[0, "drop"], [1, "allow"], [2, "drop, NET_XMIT_CN"], [3, "allow, NET_XMIT_CN"]]), range: [0, 3] }
        : { meaning: "1 allows the packet, 0 drops it", names: named([[0, "drop"], [1, "allow"]]), range: [0, 1] };
    case "BPF_PROG_TYPE_KPROBE":
    case "BPF_PROG_TYPE_TRACEPOINT":
    case "BPF_PROG_TYPE_PERF_EVENT":
      return { meaning: "0 filters the event out, anything else records it", names: named([[0, "filtered out"], [1, "recorded"]]) };
    case "BPF_PROG_TYPE_RAW_TRACEPOINT":
    case "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE":
      return { meaning: "ignored by the tracepoint", names: named([]) };
    case "BPF_PROG_TYPE_SYSCALL":
      return { meaning: "returned to the bpf() caller as test_run's retval", names: named([]) };
    default:
      return { meaning: "program-type specific", names: named([]) };
  }
}

/** "XDP_PASS", "TC_ACT_SHOT (2)"-style name of a return value, or the number. */
export function returnValueName(type: ProgramTypeName, retval: number, attach?: "ingress" | "egress"): string {
  return returnCodes(type, attach).names.get(retval >>> 0) ?? String(retval >>> 0);
}
