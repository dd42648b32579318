/**
 * Which helpers each program type may call: the kernel's get_func_proto tables
 * (bpf_base_func_proto in kernel/bpf/helpers.c; bpf_sk_base_func_proto, xdp_func_proto,
 * tc_cls_act_func_proto, sk_filter_func_proto, cg_skb_func_proto in net/core/filter.c;
 * bpf_tracing_func_proto, kprobe_prog_func_proto, tp_prog_func_proto,
 * raw_tp_prog_func_proto, tracing_prog_func_proto in kernel/trace/bpf_trace.c;
 * syscall_prog_func_proto in kernel/bpf/syscall.c), as they stand for a privileged
 * loader (CAP_BPF + CAP_PERFMON: root) on Linux 6.12-6.18.
 *
 * The tables name every helper the kernel offers, implemented by tsbpf or not; the
 * runtime registers the intersection with the implemented ones. A call to any other
 * helper is what the kernel's verifier rejects ("unknown func bpf_xxx#N"); tsbpf,
 * which has no verifier yet, faults at the call with that message.
 */
import type { ProgramTypeName } from "../progtypes/index.js";
import { HELPER_IDS } from "./ids.generated.js";

const idOf = new Map(HELPER_IDS.map((h) => [h.name.slice("bpf_".length), h.id]));
/** Helper ids by name; names newer than the bpf.h the id table was generated from are left out (none is implemented). */
function ids(names: string): number[] {
  const out: number[] = [];
  for (const n of names.split(/\s+/)) {
    const id = n === "" ? undefined : idOf.get(n);
    if (id !== undefined) out.push(id);
  }
  return out;
}

/** bpf_base_func_proto: every program type, then CAP_BPF, then CAP_PERFMON. */
const BASE = ids(`
  map_lookup_elem map_update_elem map_delete_elem map_push_elem map_pop_elem map_peek_elem
  map_lookup_percpu_elem get_prandom_u32 get_smp_processor_id get_numa_node_id tail_call
  ktime_get_ns ktime_get_boot_ns ktime_get_tai_ns ringbuf_output ringbuf_reserve ringbuf_submit
  ringbuf_discard ringbuf_query strncmp strtol strtoul get_current_pid_tgid get_ns_current_pid_tgid
  spin_lock spin_unlock jiffies64 per_cpu_ptr this_cpu_ptr timer_init timer_set_callback
  timer_start timer_cancel kptr_xchg for_each_map_elem loop user_ringbuf_drain
  ringbuf_reserve_dynptr ringbuf_submit_dynptr ringbuf_discard_dynptr dynptr_from_mem
  dynptr_read dynptr_write dynptr_data cgrp_storage_get cgrp_storage_delete
  get_current_cgroup_id get_current_ancestor_cgroup_id
  trace_printk get_current_task get_current_task_btf probe_read_user probe_read_kernel
  probe_read_user_str probe_read_kernel_str snprintf_btf snprintf task_pt_regs trace_vprintk
`);

/** bpf_sk_base_func_proto: the networking types' common part. */
const SK_BASE = [...BASE, ...ids(`
  skc_to_tcp6_sock skc_to_tcp_sock skc_to_tcp_timewait_sock skc_to_tcp_request_sock
  skc_to_udp6_sock skc_to_unix_sock skc_to_mptcp_sock ktime_get_coarse_ns
`)];

const XDP = [...SK_BASE, ...ids(`
  perf_event_output get_smp_processor_id csum_diff xdp_adjust_head xdp_adjust_meta redirect
  redirect_map xdp_adjust_tail xdp_get_buff_len xdp_load_bytes xdp_store_bytes fib_lookup
  check_mtu sk_lookup_udp sk_lookup_tcp sk_release skc_lookup_tcp tcp_check_syncookie
  tcp_gen_syncookie tcp_raw_gen_syncookie_ipv4 tcp_raw_gen_syncookie_ipv6
  tcp_raw_check_syncookie_ipv4 tcp_raw_check_syncookie_ipv6
`)];

const SK_FILTER = [...SK_BASE, ...ids(`
  skb_load_bytes skb_load_bytes_relative get_socket_cookie get_socket_uid perf_event_output
`)];

const CG_SKB = [...SK_FILTER, ...ids(`
  get_local_storage sk_fullsock sk_storage_get sk_storage_delete perf_event_output skb_cgroup_id
  skb_ancestor_cgroup_id sk_cgroup_id sk_ancestor_cgroup_id sk_lookup_tcp sk_lookup_udp
  sk_release skc_lookup_tcp tcp_sock get_listener_sock skb_ecn_set_ce
`)];

const TC = [...SK_BASE, ...ids(`
  skb_store_bytes skb_load_bytes skb_load_bytes_relative skb_pull_data csum_diff csum_update
  csum_level l3_csum_replace l4_csum_replace clone_redirect get_cgroup_classid skb_vlan_push
  skb_vlan_pop skb_change_proto skb_change_type skb_adjust_room skb_change_tail skb_change_head
  skb_get_tunnel_key skb_set_tunnel_key skb_get_tunnel_opt skb_set_tunnel_opt redirect
  redirect_neigh redirect_peer get_route_realm get_hash_recalc set_hash_invalid set_hash
  perf_event_output get_smp_processor_id skb_under_cgroup get_socket_cookie get_socket_uid
  fib_lookup check_mtu sk_fullsock sk_storage_get sk_storage_delete skb_get_xfrm_state
  skb_cgroup_classid skb_cgroup_id skb_ancestor_cgroup_id sk_lookup_tcp sk_lookup_udp
  sk_release tcp_sock get_listener_sock skc_lookup_tcp tcp_check_syncookie skb_ecn_set_ce
  tcp_gen_syncookie sk_assign skb_set_tstamp tcp_raw_gen_syncookie_ipv4
  tcp_raw_gen_syncookie_ipv6 tcp_raw_check_syncookie_ipv4 tcp_raw_check_syncookie_ipv6
`)];

/** bpf_tracing_func_proto (x86-64: the legacy probe_read/probe_read_str exist). */
const TRACING_BASE = [...BASE, ...ids(`
  get_current_uid_gid get_current_comm perf_event_read current_task_under_cgroup
  probe_write_user probe_read probe_read_str send_signal send_signal_thread
  perf_event_read_value get_task_stack copy_from_user copy_from_user_task task_storage_get
  task_storage_delete get_branch_snapshot find_vma
`)];

const KPROBE = [...TRACING_BASE, ...ids("perf_event_output get_stackid get_stack override_return get_func_ip get_attach_cookie")];
const TRACEPOINT = [...TRACING_BASE, ...ids("perf_event_output get_stackid get_stack get_attach_cookie")];
const PERF_EVENT = [...TRACING_BASE, ...ids("perf_event_output get_stackid get_stack perf_prog_read_value read_branch_records get_attach_cookie")];
const RAW_TP = [...TRACING_BASE, ...ids("perf_event_output get_stackid get_stack")];
const TRACING = [...RAW_TP, ...ids(`
  skb_output xdp_output skc_to_tcp6_sock skc_to_tcp_sock skc_to_tcp_timewait_sock
  skc_to_tcp_request_sock skc_to_udp6_sock skc_to_unix_sock skc_to_mptcp_sock sk_storage_get
  sk_storage_delete sock_from_file get_socket_cookie xdp_get_buff_len d_path get_func_arg
  get_func_ret get_func_arg_cnt get_attach_cookie get_func_ip
`)];
const SYSCALL = [...TRACING.filter((id) => id !== idOf.get("get_func_ip")), ...ids("sys_bpf btf_find_by_name_kind sys_close kallsyms_lookup_name")];

/**
 * The kernel's helper set per program type. bpf_get_func_ip is left out where the
 * verifier refuses it even though the proto table offers it (check_get_func_ip: only
 * kprobes and fentry/fexit-style tracing programs).
 */
const KERNEL_SETS: Partial<Record<ProgramTypeName, readonly number[]>> = {
  BPF_PROG_TYPE_SOCKET_FILTER: SK_FILTER,
  BPF_PROG_TYPE_SCHED_CLS: TC,
  BPF_PROG_TYPE_SCHED_ACT: TC,
  BPF_PROG_TYPE_XDP: XDP,
  BPF_PROG_TYPE_CGROUP_SKB: CG_SKB,
  BPF_PROG_TYPE_KPROBE: KPROBE,
  BPF_PROG_TYPE_TRACEPOINT: TRACEPOINT,
  BPF_PROG_TYPE_PERF_EVENT: PERF_EVENT,
  BPF_PROG_TYPE_RAW_TRACEPOINT: RAW_TP,
  BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: RAW_TP,
  BPF_PROG_TYPE_TRACING: TRACING,
  BPF_PROG_TYPE_SYSCALL: SYSCALL,
};

/** Program types with a helper table here; others get bpf_base_func_proto's set. */
export const HELPER_TABLE_PROG_TYPES: readonly ProgramTypeName[] = Object.keys(KERNEL_SETS) as ProgramTypeName[];

/** Every helper id the kernel lets a program of this type call (implemented or not). */
export function kernelHelperIds(type: ProgramTypeName): ReadonlySet<number> {
  return new Set(KERNEL_SETS[type] ?? BASE);
}
