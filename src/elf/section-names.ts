/**
 * libbpf's section-name conventions: which program type and expected attach
 * type SEC("...") means. The table mirrors section_defs[] in libbpf's
 * src/libbpf.c (libbpf 1.x, in its order, which decides the first match),
 * limited to program types and attach types this machine's kernel headers know;
 * program types and attach types carry their kernel ids (enum bpf_prog_type,
 * enum bpf_attach_type in include/uapi/linux/bpf.h), never positions.
 *
 * Matching follows libbpf's sec_def_matches(): "name" matches exactly, "name/"
 * needs "name/<extra>", "name+" matches "name" or "name/<extra>". A leading "?"
 * (SEC("?xdp")) means "do not autoload" and is stripped first.
 */

export type ProgTypeName =
  | "unspec"
  | "socket_filter"
  | "kprobe"
  | "sched_cls"
  | "sched_act"
  | "tracepoint"
  | "xdp"
  | "perf_event"
  | "cgroup_skb"
  | "cgroup_sock"
  | "lwt_in"
  | "lwt_out"
  | "lwt_xmit"
  | "sock_ops"
  | "sk_skb"
  | "cgroup_device"
  | "sk_msg"
  | "raw_tracepoint"
  | "cgroup_sock_addr"
  | "lwt_seg6local"
  | "lirc_mode2"
  | "sk_reuseport"
  | "flow_dissector"
  | "cgroup_sysctl"
  | "raw_tracepoint_writable"
  | "cgroup_sockopt"
  | "tracing"
  | "struct_ops"
  | "ext"
  | "lsm"
  | "sk_lookup"
  | "syscall"
  | "netfilter";

/** enum bpf_prog_type: the short name is the kernel's BPF_PROG_TYPE_* suffix in lower case (bpftool's spelling). */
export const PROG_TYPES: readonly { readonly name: ProgTypeName; readonly id: number }[] = [
  { name: "unspec", id: 0 },
  { name: "socket_filter", id: 1 },
  { name: "kprobe", id: 2 },
  { name: "sched_cls", id: 3 },
  { name: "sched_act", id: 4 },
  { name: "tracepoint", id: 5 },
  { name: "xdp", id: 6 },
  { name: "perf_event", id: 7 },
  { name: "cgroup_skb", id: 8 },
  { name: "cgroup_sock", id: 9 },
  { name: "lwt_in", id: 10 },
  { name: "lwt_out", id: 11 },
  { name: "lwt_xmit", id: 12 },
  { name: "sock_ops", id: 13 },
  { name: "sk_skb", id: 14 },
  { name: "cgroup_device", id: 15 },
  { name: "sk_msg", id: 16 },
  { name: "raw_tracepoint", id: 17 },
  { name: "cgroup_sock_addr", id: 18 },
  { name: "lwt_seg6local", id: 19 },
  { name: "lirc_mode2", id: 20 },
  { name: "sk_reuseport", id: 21 },
  { name: "flow_dissector", id: 22 },
  { name: "cgroup_sysctl", id: 23 },
  { name: "raw_tracepoint_writable", id: 24 },
  { name: "cgroup_sockopt", id: 25 },
  { name: "tracing", id: 26 },
  { name: "struct_ops", id: 27 },
  { name: "ext", id: 28 },
  { name: "lsm", id: 29 },
  { name: "sk_lookup", id: 30 },
  { name: "syscall", id: 31 },
  { name: "netfilter", id: 32 },
];

/** enum bpf_attach_type, by kernel name. */
export const ATTACH_TYPES: Readonly<Record<string, number>> = {
  BPF_CGROUP_INET_INGRESS: 0,
  BPF_CGROUP_INET_EGRESS: 1,
  BPF_CGROUP_INET_SOCK_CREATE: 2,
  BPF_CGROUP_SOCK_OPS: 3,
  BPF_SK_SKB_STREAM_PARSER: 4,
  BPF_SK_SKB_STREAM_VERDICT: 5,
  BPF_CGROUP_DEVICE: 6,
  BPF_SK_MSG_VERDICT: 7,
  BPF_CGROUP_INET4_BIND: 8,
  BPF_CGROUP_INET6_BIND: 9,
  BPF_CGROUP_INET4_CONNECT: 10,
  BPF_CGROUP_INET6_CONNECT: 11,
  BPF_CGROUP_INET4_POST_BIND: 12,
  BPF_CGROUP_INET6_POST_BIND: 13,
  BPF_CGROUP_UDP4_SENDMSG: 14,
  BPF_CGROUP_UDP6_SENDMSG: 15,
  BPF_LIRC_MODE2: 16,
  BPF_FLOW_DISSECTOR: 17,
  BPF_CGROUP_SYSCTL: 18,
  BPF_CGROUP_UDP4_RECVMSG: 19,
  BPF_CGROUP_UDP6_RECVMSG: 20,
  BPF_CGROUP_GETSOCKOPT: 21,
  BPF_CGROUP_SETSOCKOPT: 22,
  BPF_TRACE_RAW_TP: 23,
  BPF_TRACE_FENTRY: 24,
  BPF_TRACE_FEXIT: 25,
  BPF_MODIFY_RETURN: 26,
  BPF_LSM_MAC: 27,
  BPF_TRACE_ITER: 28,
  BPF_CGROUP_INET4_GETPEERNAME: 29,
  BPF_CGROUP_INET6_GETPEERNAME: 30,
  BPF_CGROUP_INET4_GETSOCKNAME: 31,
  BPF_CGROUP_INET6_GETSOCKNAME: 32,
  BPF_XDP_DEVMAP: 33,
  BPF_CGROUP_INET_SOCK_RELEASE: 34,
  BPF_XDP_CPUMAP: 35,
  BPF_SK_LOOKUP: 36,
  BPF_XDP: 37,
  BPF_SK_SKB_VERDICT: 38,
  BPF_SK_REUSEPORT_SELECT: 39,
  BPF_SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  BPF_PERF_EVENT: 41,
  BPF_TRACE_KPROBE_MULTI: 42,
  BPF_LSM_CGROUP: 43,
  BPF_STRUCT_OPS: 44,
  BPF_NETFILTER: 45,
  BPF_TCX_INGRESS: 46,
  BPF_TCX_EGRESS: 47,
  BPF_TRACE_UPROBE_MULTI: 48,
  BPF_CGROUP_UNIX_CONNECT: 49,
  BPF_CGROUP_UNIX_SENDMSG: 50,
  BPF_CGROUP_UNIX_RECVMSG: 51,
  BPF_CGROUP_UNIX_GETPEERNAME: 52,
  BPF_CGROUP_UNIX_GETSOCKNAME: 53,
  BPF_NETKIT_PRIMARY: 54,
  BPF_NETKIT_PEER: 55,
};

export interface SectionDef {
  /** The pattern, libbpf-style: "xdp", "kprobe+", "cgroup/". */
  readonly sec: string;
  readonly type: ProgTypeName;
  readonly expectedAttachType?: string;
  readonly sleepable?: boolean;
  /** SEC_XDP_FRAGS: the program handles multi-buffer frames (BPF_F_XDP_HAS_FRAGS). */
  readonly xdpFrags?: boolean;
}

const D = (sec: string, type: ProgTypeName, expectedAttachType?: string, flags: { sleepable?: boolean; xdpFrags?: boolean } = {}): SectionDef => ({
  sec,
  type,
  ...(expectedAttachType !== undefined ? { expectedAttachType } : {}),
  ...flags,
});
const S = { sleepable: true };

/** section_defs[] of libbpf, in order (entries whose types this table does not know are left out). */
export const SECTION_DEFS: readonly SectionDef[] = [
  D("socket", "socket_filter"),
  D("sk_reuseport/migrate", "sk_reuseport", "BPF_SK_REUSEPORT_SELECT_OR_MIGRATE"),
  D("sk_reuseport", "sk_reuseport", "BPF_SK_REUSEPORT_SELECT"),
  D("kprobe+", "kprobe"),
  D("uprobe+", "kprobe"),
  D("uprobe.s+", "kprobe", undefined, S),
  D("kretprobe+", "kprobe"),
  D("uretprobe+", "kprobe"),
  D("uretprobe.s+", "kprobe", undefined, S),
  D("kprobe.multi+", "kprobe", "BPF_TRACE_KPROBE_MULTI"),
  D("kretprobe.multi+", "kprobe", "BPF_TRACE_KPROBE_MULTI"),
  D("uprobe.multi+", "kprobe", "BPF_TRACE_UPROBE_MULTI"),
  D("uretprobe.multi+", "kprobe", "BPF_TRACE_UPROBE_MULTI"),
  D("uprobe.multi.s+", "kprobe", "BPF_TRACE_UPROBE_MULTI", S),
  D("uretprobe.multi.s+", "kprobe", "BPF_TRACE_UPROBE_MULTI", S),
  D("ksyscall+", "kprobe"),
  D("kretsyscall+", "kprobe"),
  D("usdt+", "kprobe"),
  D("usdt.s+", "kprobe", undefined, S),
  D("tc/ingress", "sched_cls", "BPF_TCX_INGRESS"),
  D("tc/egress", "sched_cls", "BPF_TCX_EGRESS"),
  D("tcx/ingress", "sched_cls", "BPF_TCX_INGRESS"),
  D("tcx/egress", "sched_cls", "BPF_TCX_EGRESS"),
  D("tc", "sched_cls"),
  D("classifier", "sched_cls"),
  D("action", "sched_act"),
  D("netkit/primary", "sched_cls", "BPF_NETKIT_PRIMARY"),
  D("netkit/peer", "sched_cls", "BPF_NETKIT_PEER"),
  D("tracepoint+", "tracepoint"),
  D("tp+", "tracepoint"),
  D("tracepoint.s+", "tracepoint", undefined, S),
  D("tp.s+", "tracepoint", undefined, S),
  D("raw_tracepoint+", "raw_tracepoint"),
  D("raw_tp+", "raw_tracepoint"),
  D("raw_tracepoint.s+", "raw_tracepoint", undefined, S),
  D("raw_tp.s+", "raw_tracepoint", undefined, S),
  D("raw_tracepoint.w+", "raw_tracepoint_writable"),
  D("raw_tp.w+", "raw_tracepoint_writable"),
  D("tp_btf+", "tracing", "BPF_TRACE_RAW_TP"),
  D("tp_btf.s+", "tracing", "BPF_TRACE_RAW_TP", S),
  D("fentry+", "tracing", "BPF_TRACE_FENTRY"),
  D("fmod_ret+", "tracing", "BPF_MODIFY_RETURN"),
  D("fexit+", "tracing", "BPF_TRACE_FEXIT"),
  D("fentry.s+", "tracing", "BPF_TRACE_FENTRY", S),
  D("fmod_ret.s+", "tracing", "BPF_MODIFY_RETURN", S),
  D("fexit.s+", "tracing", "BPF_TRACE_FEXIT", S),
  D("freplace+", "ext"),
  D("lsm+", "lsm", "BPF_LSM_MAC"),
  D("lsm.s+", "lsm", "BPF_LSM_MAC", S),
  D("lsm_cgroup+", "lsm", "BPF_LSM_CGROUP"),
  D("iter+", "tracing", "BPF_TRACE_ITER"),
  D("iter.s+", "tracing", "BPF_TRACE_ITER", S),
  D("syscall", "syscall", undefined, S),
  D("xdp.frags/devmap", "xdp", "BPF_XDP_DEVMAP", { xdpFrags: true }),
  D("xdp/devmap", "xdp", "BPF_XDP_DEVMAP"),
  D("xdp.frags/cpumap", "xdp", "BPF_XDP_CPUMAP", { xdpFrags: true }),
  D("xdp/cpumap", "xdp", "BPF_XDP_CPUMAP"),
  D("xdp.frags", "xdp", "BPF_XDP", { xdpFrags: true }),
  D("xdp", "xdp", "BPF_XDP"),
  D("perf_event", "perf_event"),
  D("lwt_in", "lwt_in"),
  D("lwt_out", "lwt_out"),
  D("lwt_xmit", "lwt_xmit"),
  D("lwt_seg6local", "lwt_seg6local"),
  D("sockops", "sock_ops", "BPF_CGROUP_SOCK_OPS"),
  D("sk_skb/stream_parser", "sk_skb", "BPF_SK_SKB_STREAM_PARSER"),
  D("sk_skb/stream_verdict", "sk_skb", "BPF_SK_SKB_STREAM_VERDICT"),
  D("sk_skb/verdict", "sk_skb", "BPF_SK_SKB_VERDICT"),
  D("sk_skb", "sk_skb"),
  D("sk_msg", "sk_msg", "BPF_SK_MSG_VERDICT"),
  D("lirc_mode2", "lirc_mode2", "BPF_LIRC_MODE2"),
  D("flow_dissector", "flow_dissector", "BPF_FLOW_DISSECTOR"),
  D("cgroup_skb/ingress", "cgroup_skb", "BPF_CGROUP_INET_INGRESS"),
  D("cgroup_skb/egress", "cgroup_skb", "BPF_CGROUP_INET_EGRESS"),
  D("cgroup/skb", "cgroup_skb"),
  D("cgroup/sock_create", "cgroup_sock", "BPF_CGROUP_INET_SOCK_CREATE"),
  D("cgroup/sock_release", "cgroup_sock", "BPF_CGROUP_INET_SOCK_RELEASE"),
  D("cgroup/sock", "cgroup_sock", "BPF_CGROUP_INET_SOCK_CREATE"),
  D("cgroup/post_bind4", "cgroup_sock", "BPF_CGROUP_INET4_POST_BIND"),
  D("cgroup/post_bind6", "cgroup_sock", "BPF_CGROUP_INET6_POST_BIND"),
  D("cgroup/bind4", "cgroup_sock_addr", "BPF_CGROUP_INET4_BIND"),
  D("cgroup/bind6", "cgroup_sock_addr", "BPF_CGROUP_INET6_BIND"),
  D("cgroup/connect4", "cgroup_sock_addr", "BPF_CGROUP_INET4_CONNECT"),
  D("cgroup/connect6", "cgroup_sock_addr", "BPF_CGROUP_INET6_CONNECT"),
  D("cgroup/connect_unix", "cgroup_sock_addr", "BPF_CGROUP_UNIX_CONNECT"),
  D("cgroup/sendmsg4", "cgroup_sock_addr", "BPF_CGROUP_UDP4_SENDMSG"),
  D("cgroup/sendmsg6", "cgroup_sock_addr", "BPF_CGROUP_UDP6_SENDMSG"),
  D("cgroup/sendmsg_unix", "cgroup_sock_addr", "BPF_CGROUP_UNIX_SENDMSG"),
  D("cgroup/recvmsg4", "cgroup_sock_addr", "BPF_CGROUP_UDP4_RECVMSG"),
  D("cgroup/recvmsg6", "cgroup_sock_addr", "BPF_CGROUP_UDP6_RECVMSG"),
  D("cgroup/recvmsg_unix", "cgroup_sock_addr", "BPF_CGROUP_UNIX_RECVMSG"),
  D("cgroup/getpeername4", "cgroup_sock_addr", "BPF_CGROUP_INET4_GETPEERNAME"),
  D("cgroup/getpeername6", "cgroup_sock_addr", "BPF_CGROUP_INET6_GETPEERNAME"),
  D("cgroup/getpeername_unix", "cgroup_sock_addr", "BPF_CGROUP_UNIX_GETPEERNAME"),
  D("cgroup/getsockname4", "cgroup_sock_addr", "BPF_CGROUP_INET4_GETSOCKNAME"),
  D("cgroup/getsockname6", "cgroup_sock_addr", "BPF_CGROUP_INET6_GETSOCKNAME"),
  D("cgroup/getsockname_unix", "cgroup_sock_addr", "BPF_CGROUP_UNIX_GETSOCKNAME"),
  D("cgroup/sysctl", "cgroup_sysctl", "BPF_CGROUP_SYSCTL"),
  D("cgroup/getsockopt", "cgroup_sockopt", "BPF_CGROUP_GETSOCKOPT"),
  D("cgroup/setsockopt", "cgroup_sockopt", "BPF_CGROUP_SETSOCKOPT"),
  D("cgroup/dev", "cgroup_device", "BPF_CGROUP_DEVICE"),
  D("struct_ops+", "struct_ops"),
  D("struct_ops.s+", "struct_ops", undefined, S),
  D("sk_lookup", "sk_lookup", "BPF_SK_LOOKUP"),
  D("netfilter", "netfilter", "BPF_NETFILTER"),
];

/** sec_def_matches() in libbpf. */
export function sectionDefMatches(def: SectionDef, name: string): boolean {
  const pat = def.sec;
  if (pat.endsWith("/")) return name.startsWith(pat);
  if (pat.endsWith("+")) {
    const stem = pat.slice(0, -1);
    return name.startsWith(stem) && (name.length === stem.length || name[stem.length] === "/");
  }
  return name === pat;
}

export interface SectionInfo {
  /** The program type; "unspec" when no libbpf convention matches. */
  readonly type: ProgTypeName;
  readonly typeId: number;
  /** Kernel attach type name ("BPF_XDP"), when the convention sets one. */
  readonly expectedAttachType?: string;
  readonly expectedAttachTypeId?: number;
  /** What follows the convention's prefix: "do_unlinkat" in "kprobe/do_unlinkat". */
  readonly attachTo?: string;
  readonly sleepable: boolean;
  readonly xdpFrags: boolean;
  /** false for SEC("?...") programs. */
  readonly autoload: boolean;
  /** The matching libbpf pattern ("kprobe+"), when one matched. */
  readonly def?: string;
}

const progTypeId = (t: ProgTypeName): number => PROG_TYPES.find((p) => p.name === t)!.id;

/** What libbpf makes of a program section name. */
export function sectionInfo(sectionName: string): SectionInfo {
  const autoload = !sectionName.startsWith("?");
  const name = autoload ? sectionName : sectionName.slice(1);
  const def = SECTION_DEFS.find((d) => sectionDefMatches(d, name));
  if (def === undefined) return { type: "unspec", typeId: 0, sleepable: false, xdpFrags: false, autoload };
  const stem = def.sec.endsWith("+") || def.sec.endsWith("/") ? def.sec.replace(/[+/]$/, "") : def.sec;
  const rest = name.length > stem.length + 1 && name[stem.length] === "/" ? name.slice(stem.length + 1) : undefined;
  return {
    type: def.type,
    typeId: progTypeId(def.type),
    ...(def.expectedAttachType !== undefined ? { expectedAttachType: def.expectedAttachType, expectedAttachTypeId: ATTACH_TYPES[def.expectedAttachType]! } : {}),
    ...(rest !== undefined && def.sec !== name ? { attachTo: rest } : {}),
    sleepable: def.sleepable === true,
    xdpFrags: def.xdpFrags === true,
    autoload,
    def: def.sec,
  };
}
