/**
 * Helper prototypes as data (struct bpf_func_proto in kernel/bpf/helpers.c,
 * net/core/filter.c, kernel/trace/bpf_trace.c, kernel/bpf/ringbuf.c, ...), keyed by
 * the kernel's helper id, with the program-type families allowed to call each
 * (the get_func_proto() callbacks: bpf_base_func_proto, xdp_func_proto,
 * sk_filter_func_proto, tc_cls_act_func_proto, cg_skb_func_proto, tracing protos).
 */
import type { ProgramTypeName } from "../progtypes/index.js";

export type ArgType =
  | "ANYTHING"
  | "CONST_MAP_PTR"
  | "MAP_KEY"
  | "MAP_VALUE"
  | "UNINIT_MAP_VALUE"
  | "CTX"
  | "MEM" // readable memory (MEM_RDONLY), size in the next argument
  | "MEM_OR_NULL"
  | "UNINIT_MEM" // memory the helper writes (MEM_UNINIT | MEM_WRITE)
  | "UNINIT_MEM_OR_NULL"
  | "CONST_SIZE"
  | "CONST_SIZE_OR_ZERO"
  | "ALLOC_SIZE_OR_ZERO"
  | "FUNC"
  | "STACK_OR_NULL"
  | "CONST_STR"
  | "RINGBUF_MEM_RELEASE"
  | "SPIN_LOCK"
  | "SOCK_COMMON_RELEASE"; // ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE (bpf_sk_release)

export type RetType = "INTEGER" | "VOID" | "MAP_VALUE_OR_NULL" | "RINGBUF_MEM_OR_NULL"
  // RET_PTR_TO_SOCKET_OR_NULL / RET_PTR_TO_SOCK_COMMON_OR_NULL of the acquiring socket lookups.
  | "SOCKET_OR_NULL" | "SOCK_COMMON_OR_NULL";

/** Program-type families that decide which helpers a program may call. */
export type HelperFamily = "base" | "xdp" | "skb" | "tc" | "sk_filter" | "cg_skb" | "tracing" | "kprobe" | "syscall";

export interface HelperProto {
  readonly id: number;
  readonly name: string;
  readonly ret: RetType;
  readonly args: readonly ArgType[];
  readonly gplOnly: boolean;
  /** Families whose programs may call it. */
  readonly families: readonly HelperFamily[];
  /** Helpers that change packet data invalidate packet pointers (bpf_helper_changes_pkt_data()). */
  readonly changesPktData?: boolean;
  /** A privileged-only base helper (bpf_base_func_proto() with CAP_BPF / perfmon). */
  readonly needsPrivilege?: boolean;
}

const ALL_PROGS: HelperFamily[] = ["base"];
const NET: HelperFamily[] = ["xdp", "skb", "tc", "sk_filter", "cg_skb"];
const TRACE: HelperFamily[] = ["tracing", "kprobe", "syscall"];

const H = (id: number, name: string, ret: RetType, args: ArgType[], families: HelperFamily[], extra: Partial<HelperProto> = {}): HelperProto =>
  ({ id, name, ret, args, gplOnly: false, families, ...extra });

export const HELPER_PROTOS: readonly HelperProto[] = [
  H(1, "bpf_map_lookup_elem", "MAP_VALUE_OR_NULL", ["CONST_MAP_PTR", "MAP_KEY"], ALL_PROGS),
  H(2, "bpf_map_update_elem", "INTEGER", ["CONST_MAP_PTR", "MAP_KEY", "MAP_VALUE", "ANYTHING"], ALL_PROGS),
  H(3, "bpf_map_delete_elem", "INTEGER", ["CONST_MAP_PTR", "MAP_KEY"], ALL_PROGS),
  H(4, "bpf_probe_read", "INTEGER", ["UNINIT_MEM", "CONST_SIZE_OR_ZERO", "ANYTHING"], TRACE, { gplOnly: true }),
  H(5, "bpf_ktime_get_ns", "INTEGER", [], ALL_PROGS),
  H(6, "bpf_trace_printk", "INTEGER", ["MEM", "CONST_SIZE"], ALL_PROGS, { gplOnly: true, needsPrivilege: true }),
  H(7, "bpf_get_prandom_u32", "INTEGER", [], ALL_PROGS),
  H(8, "bpf_get_smp_processor_id", "INTEGER", [], ALL_PROGS),
  H(9, "bpf_skb_store_bytes", "INTEGER", ["CTX", "ANYTHING", "MEM", "CONST_SIZE", "ANYTHING"], ["tc"], { changesPktData: true }),
  H(10, "bpf_l3_csum_replace", "INTEGER", ["CTX", "ANYTHING", "ANYTHING", "ANYTHING", "ANYTHING"], ["tc"], { changesPktData: true }),
  H(11, "bpf_l4_csum_replace", "INTEGER", ["CTX", "ANYTHING", "ANYTHING", "ANYTHING", "ANYTHING"], ["tc"], { changesPktData: true }),
  H(12, "bpf_tail_call", "VOID", ["CTX", "CONST_MAP_PTR", "ANYTHING"], ALL_PROGS),
  H(14, "bpf_get_current_pid_tgid", "INTEGER", [], [...TRACE, "cg_skb"]),
  H(15, "bpf_get_current_uid_gid", "INTEGER", [], [...TRACE, "cg_skb"]),
  H(16, "bpf_get_current_comm", "INTEGER", ["UNINIT_MEM", "CONST_SIZE"], TRACE),
  H(23, "bpf_redirect", "INTEGER", ["ANYTHING", "ANYTHING"], ["xdp", "tc"]),
  H(25, "bpf_perf_event_output", "INTEGER", ["CTX", "CONST_MAP_PTR", "ANYTHING", "MEM", "CONST_SIZE_OR_ZERO"], [...NET, ...TRACE], { gplOnly: true }),
  H(26, "bpf_skb_load_bytes", "INTEGER", ["CTX", "ANYTHING", "UNINIT_MEM", "CONST_SIZE"], ["skb", "tc", "sk_filter", "cg_skb"]),
  H(28, "bpf_csum_diff", "INTEGER", ["MEM_OR_NULL", "CONST_SIZE_OR_ZERO", "MEM_OR_NULL", "CONST_SIZE_OR_ZERO", "ANYTHING"], ["xdp", "tc"]),
  H(34, "bpf_get_hash_recalc", "INTEGER", ["CTX"], ["tc"]),
  H(42, "bpf_get_numa_node_id", "INTEGER", [], ALL_PROGS),
  H(43, "bpf_skb_change_head", "INTEGER", ["CTX", "ANYTHING", "ANYTHING"], ["tc"], { changesPktData: true }),
  H(44, "bpf_xdp_adjust_head", "INTEGER", ["CTX", "ANYTHING"], ["xdp"], { changesPktData: true }),
  H(45, "bpf_probe_read_str", "INTEGER", ["UNINIT_MEM", "CONST_SIZE_OR_ZERO", "ANYTHING"], TRACE, { gplOnly: true }),
  H(51, "bpf_redirect_map", "INTEGER", ["CONST_MAP_PTR", "ANYTHING", "ANYTHING"], ["xdp"]),
  H(54, "bpf_xdp_adjust_meta", "INTEGER", ["CTX", "ANYTHING"], ["xdp"], { changesPktData: true }),
  H(65, "bpf_xdp_adjust_tail", "INTEGER", ["CTX", "ANYTHING"], ["xdp"], { changesPktData: true }),
  H(68, "bpf_skb_load_bytes_relative", "INTEGER", ["CTX", "ANYTHING", "UNINIT_MEM", "CONST_SIZE", "ANYTHING"], ["tc", "sk_filter", "cg_skb"]),
  // The socket lookups (bpf_sk_lookup_tcp_proto, bpf_xdp_sk_lookup_*_proto) acquire a reference bpf_sk_release drops.
  H(84, "bpf_sk_lookup_tcp", "SOCKET_OR_NULL", ["CTX", "MEM", "CONST_SIZE", "ANYTHING", "ANYTHING"], ["xdp", "tc", "cg_skb"]),
  H(85, "bpf_sk_lookup_udp", "SOCKET_OR_NULL", ["CTX", "MEM", "CONST_SIZE", "ANYTHING", "ANYTHING"], ["xdp", "tc", "cg_skb"]),
  H(86, "bpf_sk_release", "INTEGER", ["SOCK_COMMON_RELEASE"], ["xdp", "tc", "cg_skb"]),
  H(87, "bpf_map_push_elem", "INTEGER", ["CONST_MAP_PTR", "MAP_VALUE", "ANYTHING"], ALL_PROGS),
  H(88, "bpf_map_pop_elem", "INTEGER", ["CONST_MAP_PTR", "UNINIT_MAP_VALUE"], ALL_PROGS),
  H(89, "bpf_map_peek_elem", "INTEGER", ["CONST_MAP_PTR", "UNINIT_MAP_VALUE"], ALL_PROGS),
  H(93, "bpf_spin_lock", "VOID", ["SPIN_LOCK"], ALL_PROGS),
  H(94, "bpf_spin_unlock", "VOID", ["SPIN_LOCK"], ALL_PROGS),
  H(99, "bpf_skc_lookup_tcp", "SOCK_COMMON_OR_NULL", ["CTX", "MEM", "CONST_SIZE", "ANYTHING", "ANYTHING"], ["xdp", "tc", "cg_skb"]),
  H(112, "bpf_probe_read_user", "INTEGER", ["UNINIT_MEM", "CONST_SIZE_OR_ZERO", "ANYTHING"], TRACE, { gplOnly: true }),
  H(113, "bpf_probe_read_kernel", "INTEGER", ["UNINIT_MEM", "CONST_SIZE_OR_ZERO", "ANYTHING"], ["base"], { gplOnly: true, needsPrivilege: true }),
  H(114, "bpf_probe_read_user_str", "INTEGER", ["UNINIT_MEM", "CONST_SIZE_OR_ZERO", "ANYTHING"], TRACE, { gplOnly: true }),
  H(115, "bpf_probe_read_kernel_str", "INTEGER", ["UNINIT_MEM", "CONST_SIZE_OR_ZERO", "ANYTHING"], ["base"], { gplOnly: true, needsPrivilege: true }),
  H(118, "bpf_jiffies64", "INTEGER", [], ALL_PROGS, { needsPrivilege: true }),
  H(125, "bpf_ktime_get_boot_ns", "INTEGER", [], ALL_PROGS),
  H(130, "bpf_ringbuf_output", "INTEGER", ["CONST_MAP_PTR", "MEM", "CONST_SIZE_OR_ZERO", "ANYTHING"], ALL_PROGS),
  H(131, "bpf_ringbuf_reserve", "RINGBUF_MEM_OR_NULL", ["CONST_MAP_PTR", "ALLOC_SIZE_OR_ZERO", "ANYTHING"], ALL_PROGS),
  H(132, "bpf_ringbuf_submit", "VOID", ["RINGBUF_MEM_RELEASE", "ANYTHING"], ALL_PROGS),
  H(133, "bpf_ringbuf_discard", "VOID", ["RINGBUF_MEM_RELEASE", "ANYTHING"], ALL_PROGS),
  H(134, "bpf_ringbuf_query", "INTEGER", ["CONST_MAP_PTR", "ANYTHING"], ALL_PROGS),
  H(160, "bpf_ktime_get_coarse_ns", "INTEGER", [], ALL_PROGS),
  H(164, "bpf_for_each_map_elem", "INTEGER", ["CONST_MAP_PTR", "FUNC", "STACK_OR_NULL", "ANYTHING"], ALL_PROGS, { needsPrivilege: true }),
  H(165, "bpf_snprintf", "INTEGER", ["UNINIT_MEM_OR_NULL", "CONST_SIZE_OR_ZERO", "CONST_STR", "MEM_OR_NULL", "CONST_SIZE_OR_ZERO"], ALL_PROGS, { needsPrivilege: true }),
  H(173, "bpf_get_func_ip", "INTEGER", ["CTX"], ["kprobe", "tracing"], {}),
  H(177, "bpf_trace_vprintk", "INTEGER", ["MEM", "CONST_SIZE", "MEM_OR_NULL", "CONST_SIZE_OR_ZERO"], ALL_PROGS, { gplOnly: true, needsPrivilege: true }),
  H(181, "bpf_loop", "INTEGER", ["ANYTHING", "FUNC", "STACK_OR_NULL", "ANYTHING"], ALL_PROGS, { needsPrivilege: true }),
  H(182, "bpf_strncmp", "INTEGER", ["MEM", "CONST_SIZE", "CONST_STR"], ALL_PROGS),
  H(189, "bpf_xdp_load_bytes", "INTEGER", ["CTX", "ANYTHING", "UNINIT_MEM", "CONST_SIZE"], ["xdp"]),
  H(190, "bpf_xdp_store_bytes", "INTEGER", ["CTX", "ANYTHING", "MEM", "CONST_SIZE"], ["xdp"]),
  H(195, "bpf_map_lookup_percpu_elem", "MAP_VALUE_OR_NULL", ["CONST_MAP_PTR", "MAP_KEY", "ANYTHING"], ALL_PROGS, { needsPrivilege: true }),
];

const byId = new Map(HELPER_PROTOS.map((h) => [h.id, h] as const));
export const helperProto = (id: number): HelperProto | undefined => byId.get(id);

/** The helper families a program type draws from. */
export function familiesOf(type: ProgramTypeName): readonly HelperFamily[] {
  switch (type) {
    case "BPF_PROG_TYPE_XDP":
      return ["base", "xdp"];
    case "BPF_PROG_TYPE_SCHED_CLS":
    case "BPF_PROG_TYPE_SCHED_ACT":
      return ["base", "skb", "tc"];
    case "BPF_PROG_TYPE_SOCKET_FILTER":
      return ["base", "skb", "sk_filter"];
    case "BPF_PROG_TYPE_CGROUP_SKB":
      return ["base", "skb", "cg_skb"];
    case "BPF_PROG_TYPE_KPROBE":
      return ["base", "tracing", "kprobe"];
    case "BPF_PROG_TYPE_TRACEPOINT":
    case "BPF_PROG_TYPE_RAW_TRACEPOINT":
    case "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE":
    case "BPF_PROG_TYPE_PERF_EVENT":
    case "BPF_PROG_TYPE_TRACING":
      return ["base", "tracing"];
    case "BPF_PROG_TYPE_SYSCALL":
      return ["base", "syscall", "tracing"];
    default:
      return ["base"];
  }
}

/** check_map_func_compatibility(): undefined when allowed, else the map type id for the message. */
export function mapFuncCompatible(mapType: string, helperId: number): boolean {
  const only = (...ids: number[]): boolean => ids.includes(helperId);
  switch (mapType) {
    case "BPF_MAP_TYPE_PROG_ARRAY": if (!only(12)) return false; break;
    case "BPF_MAP_TYPE_PERF_EVENT_ARRAY": if (!only(22, 25, 55, 111, 121)) return false; break;
    case "BPF_MAP_TYPE_RINGBUF": if (!only(130, 131, 134, 198)) return false; break;
    case "BPF_MAP_TYPE_DEVMAP": case "BPF_MAP_TYPE_DEVMAP_HASH": if (!only(51, 1)) return false; break;
    case "BPF_MAP_TYPE_CPUMAP": if (!only(51)) return false; break;
    case "BPF_MAP_TYPE_ARRAY_OF_MAPS": case "BPF_MAP_TYPE_HASH_OF_MAPS": if (!only(1)) return false; break;
    case "BPF_MAP_TYPE_QUEUE": case "BPF_MAP_TYPE_STACK": if (!only(87, 88, 89)) return false; break;
    case "BPF_MAP_TYPE_BLOOM_FILTER": if (!only(87, 89)) return false; break;
    default: break;
  }
  switch (helperId) {
    case 12: return mapType === "BPF_MAP_TYPE_PROG_ARRAY";
    case 22: case 25: return mapType === "BPF_MAP_TYPE_PERF_EVENT_ARRAY";
    case 130: case 131: case 134: return mapType === "BPF_MAP_TYPE_RINGBUF";
    case 51: return ["BPF_MAP_TYPE_DEVMAP", "BPF_MAP_TYPE_DEVMAP_HASH", "BPF_MAP_TYPE_CPUMAP", "BPF_MAP_TYPE_XSKMAP"].includes(mapType);
    case 88: return mapType === "BPF_MAP_TYPE_QUEUE" || mapType === "BPF_MAP_TYPE_STACK";
    case 87: case 89: return ["BPF_MAP_TYPE_QUEUE", "BPF_MAP_TYPE_STACK", "BPF_MAP_TYPE_BLOOM_FILTER"].includes(mapType);
    case 195: return ["BPF_MAP_TYPE_PERCPU_ARRAY", "BPF_MAP_TYPE_PERCPU_HASH", "BPF_MAP_TYPE_LRU_PERCPU_HASH"].includes(mapType);
    case 164: return ["BPF_MAP_TYPE_ARRAY", "BPF_MAP_TYPE_PERCPU_ARRAY", "BPF_MAP_TYPE_HASH", "BPF_MAP_TYPE_PERCPU_HASH", "BPF_MAP_TYPE_LRU_HASH", "BPF_MAP_TYPE_LRU_PERCPU_HASH"].includes(mapType);
    default: return true;
  }
}
