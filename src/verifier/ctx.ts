/**
 * ctx access rules per program type: the is_valid_access() callbacks of
 * net/core/filter.c (xdp_is_valid_access, sk_filter_is_valid_access,
 * tc_cls_act_is_valid_access, cg_skb_is_valid_access, bpf_skb_is_valid_access) and
 * kernel/trace/bpf_trace.c (kprobe, tracepoint, raw_tracepoint, perf_event), the
 * cgroup sock and sock_addr types (sock_filter_is_valid_access,
 * sock_addr_is_valid_access), the bpf_sock fields behind socket pointers
 * (bpf_sock_is_valid_access, bpf_sock_common_is_valid_access), plus the syscall
 * program type. Field offsets come from src/progtypes' UAPI layouts.
 */
import { BPF_SOCK, BPF_SOCK_ADDR, SK_BUFF, XDP_MD, fieldOf, type CtxLayout, type ProgramTypeName } from "../progtypes/index.js";
import type { RegType } from "./state.js";

export interface CtxAccess {
  /** What a load gives: a scalar, or a packet pointer for data/data_end/data_meta. */
  readonly regType: RegType;
  readonly maybeNull?: boolean;
}

const sk = (name: string): [number, number] => {
  const f = fieldOf(SK_BUFF, name);
  return [f.offset, f.offset + f.size];
};
const inField = (off: number, name: string): boolean => {
  const [a, b] = sk(name);
  return off >= a && off < b;
};
const inRange = (off: number, from: string, to: string): boolean => off >= sk(from)[0] && off < sk(to)[1];

/** bpf_skb_is_valid_access(): undefined when denied. */
function skbValid(off: number, size: number, write: boolean): CtxAccess | undefined {
  if (off < 0 || off >= SK_BUFF.size) return undefined;
  if (off % size !== 0) return undefined;
  if (inRange(off, "cb[0]", "cb[4]")) {
    if (off + size > sk("cb[4]")[1]) return undefined;
    return { regType: "SCALAR_VALUE" };
  }
  if (inField(off, "data") || inField(off, "data_meta") || inField(off, "data_end")) {
    if (size !== 4) return undefined;
    const regType: RegType = inField(off, "data") ? "PTR_TO_PACKET" : inField(off, "data_end") ? "PTR_TO_PACKET_END" : "PTR_TO_PACKET_META";
    return { regType };
  }
  if (inField(off, "flow_keys")) return undefined;
  if (inField(off, "hwtstamp")) return write || size !== 8 ? undefined : { regType: "SCALAR_VALUE" };
  if (inField(off, "tstamp")) return size !== 8 ? undefined : { regType: "SCALAR_VALUE" };
  if (inField(off, "sk")) return write || size !== 8 ? undefined : { regType: "PTR_TO_SOCK_COMMON", maybeNull: true };
  if (off >= sk("tstamp_type")[0] && off < sk("hwtstamp")[0]) return undefined;
  if (write) return size === 4 ? { regType: "SCALAR_VALUE" } : undefined;
  return size <= 4 && (size & (size - 1)) === 0 ? { regType: "SCALAR_VALUE" } : undefined;
}

function skbWritable(off: number, names: readonly string[]): boolean {
  return names.some((n) => (n === "cb" ? inRange(off, "cb[0]", "cb[4]") : inField(off, n)));
}

function xdpValid(off: number, size: number, write: boolean, attach: string | undefined): CtxAccess | undefined {
  if (attach !== "BPF_XDP_DEVMAP" && off === fieldOf(XDP_MD, "egress_ifindex").offset) return undefined;
  if (write) return undefined;
  if (off < 0 || off >= XDP_MD.size || off % size !== 0 || size !== 4) return undefined;
  if (off === 0) return { regType: "PTR_TO_PACKET" };
  if (off === 4) return { regType: "PTR_TO_PACKET_END" };
  if (off === 8) return { regType: "PTR_TO_PACKET_META" };
  return { regType: "SCALAR_VALUE" };
}

/** [start, end) of a field of `layout`. */
function span(layout: CtxLayout, name: string): [number, number] {
  const x = fieldOf(layout, name);
  return [x.offset, x.offset + x.size];
}
const within = (off: number, [a, b]: [number, number]): boolean => off >= a && off < b;
const atStart = (off: number, layout: CtxLayout, name: string): boolean => off === fieldOf(layout, name).offset;
/** bpf_ctx_narrow_access_ok(): a power-of-two size no wider than the field. */
const narrowOk = (size: number, fieldSize: number): boolean => size <= fieldSize && (size & (size - 1)) === 0;
/** bpf_ctx_wide_access_ok(): an aligned 8-byte access inside an array field (user_ip6, msg_src_ip6). */
const wideOk = (off: number, size: number, [a, b]: [number, number]): boolean => size === 8 && off >= a && off + 8 <= b && off % 8 === 0;

/**
 * bpf_sock_is_valid_access(): what a socket pointer (PTR_TO_SOCKET, the cgroup sock
 * ctx) may read. 1, 2 and 4-byte reads of the narrow-readable fields, dst_port as
 * its 16 bits (or 4 bytes with the padding), everything else 4 bytes.
 */
export function bpfSockValid(off: number, size: number): boolean {
  if (off < 0 || off >= BPF_SOCK.size || off % size !== 0) return false;
  const s = (n: string): [number, number] => span(BPF_SOCK, n);
  if (["state", "family", "type", "protocol", "src_port", "rx_queue_mapping"].some((n) => atStart(off, BPF_SOCK, n)) ||
    within(off, s("src_ip4")) || within(off, s("src_ip6")) || within(off, s("dst_ip4")) || within(off, s("dst_ip6"))) {
    return narrowOk(size, 4);
  }
  if (within(off, s("dst_port"))) return narrowOk(size, size === 4 ? 4 : 2);
  // The 16 bits of padding after dst_port.
  if (off >= s("dst_port")[1] && off < s("dst_ip4")[0]) return false;
  return size === 4;
}

/** bpf_sock_common_is_valid_access(): PTR_TO_SOCK_COMMON cannot see type .. priority. */
export function bpfSockCommonValid(off: number, size: number): boolean {
  if (off >= fieldOf(BPF_SOCK, "type").offset && off < span(BPF_SOCK, "priority")[1]) return false;
  return bpfSockValid(off, size);
}

/** __sock_filter_check_attach_type(): the cgroup sock ctx fields each hook may read or write. */
function sockAttachOk(off: number, write: boolean, attach: string | undefined): boolean {
  if (["bound_dev_if", "mark", "priority"].some((n) => atStart(off, BPF_SOCK, n))) {
    return attach === "BPF_CGROUP_INET_SOCK_CREATE" || attach === "BPF_CGROUP_INET_SOCK_RELEASE";
  }
  if (within(off, span(BPF_SOCK, "src_ip4")) && attach !== "BPF_CGROUP_INET4_POST_BIND") return false;
  if (within(off, span(BPF_SOCK, "src_ip6")) && attach !== "BPF_CGROUP_INET6_POST_BIND") return false;
  if (within(off, span(BPF_SOCK, "src_port")) && attach !== "BPF_CGROUP_INET4_POST_BIND" && attach !== "BPF_CGROUP_INET6_POST_BIND") return false;
  return !write;
}

const SOCK_ADDR_IP4 = ["BPF_CGROUP_INET4_BIND", "BPF_CGROUP_INET4_CONNECT", "BPF_CGROUP_INET4_GETPEERNAME", "BPF_CGROUP_INET4_GETSOCKNAME", "BPF_CGROUP_UDP4_SENDMSG", "BPF_CGROUP_UDP4_RECVMSG"];
const SOCK_ADDR_IP6 = ["BPF_CGROUP_INET6_BIND", "BPF_CGROUP_INET6_CONNECT", "BPF_CGROUP_INET6_GETPEERNAME", "BPF_CGROUP_INET6_GETSOCKNAME", "BPF_CGROUP_UDP6_SENDMSG", "BPF_CGROUP_UDP6_RECVMSG"];

/** sock_addr_is_valid_access(): the address fields of the hook's family, 4-byte (or 8-byte wide) writes, sk as a socket. */
function sockAddrValid(off: number, size: number, write: boolean, attach: string | undefined): CtxAccess | undefined {
  if (off < 0 || off >= BPF_SOCK_ADDR.size || off % size !== 0) return undefined;
  const s = (n: string): [number, number] => span(BPF_SOCK_ADDR, n);
  const a = attach ?? "";
  if (within(off, s("user_ip4")) && !SOCK_ADDR_IP4.includes(a)) return undefined;
  if (within(off, s("user_ip6")) && !SOCK_ADDR_IP6.includes(a)) return undefined;
  if (within(off, s("msg_src_ip4")) && a !== "BPF_CGROUP_UDP4_SENDMSG") return undefined;
  if (within(off, s("msg_src_ip6")) && a !== "BPF_CGROUP_UDP6_SENDMSG") return undefined;
  if (["user_ip4", "user_ip6", "msg_src_ip4", "msg_src_ip6", "user_port"].some((n) => within(off, s(n)))) {
    if (wideOk(off, size, s("user_ip6")) || wideOk(off, size, s("msg_src_ip6"))) return { regType: "SCALAR_VALUE" };
    if (write ? size !== 4 : !narrowOk(size, 4)) return undefined;
    return { regType: "SCALAR_VALUE" };
  }
  if (off === fieldOf(BPF_SOCK_ADDR, "sk").offset) return write || size !== 8 ? undefined : { regType: "PTR_TO_SOCKET" };
  return write || size !== 4 ? undefined : { regType: "SCALAR_VALUE" };
}

/** sizeof(struct pt_regs) on x86-64. */
const PT_REGS_SIZE = 168;
const MAX_BPF_FUNC_ARGS = 12;
const PERF_MAX_TRACE_SIZE = 8192;

/**
 * Whether program type `type` may access ctx bytes [off, off+size) (write: a store).
 * Undefined when the kernel would log "invalid bpf_context access".
 */
export function ctxAccess(type: ProgramTypeName, off: number, size: number, write: boolean, attach: string | undefined, privileged: boolean): CtxAccess | undefined {
  switch (type) {
    case "BPF_PROG_TYPE_XDP":
      return xdpValid(off, size, write, attach);
    case "BPF_PROG_TYPE_SOCKET_FILTER":
      if (inField(off, "tc_classid") || inField(off, "data") || inField(off, "data_meta") || inField(off, "data_end") ||
        inRange(off, "family", "local_port") || inField(off, "tstamp") || inField(off, "wire_len") || inField(off, "hwtstamp")) return undefined;
      if (write && !skbWritable(off, ["cb"])) return undefined;
      return skbValid(off, size, write);
    case "BPF_PROG_TYPE_SCHED_CLS":
    case "BPF_PROG_TYPE_SCHED_ACT":
    case "BPF_PROG_TYPE_LWT_IN":
    case "BPF_PROG_TYPE_LWT_OUT":
    case "BPF_PROG_TYPE_LWT_XMIT":
      if (write && !skbWritable(off, ["mark", "tc_index", "priority", "tc_classid", "cb", "tstamp", "queue_mapping"])) return undefined;
      if (inRange(off, "family", "local_port")) return undefined;
      return skbValid(off, size, write);
    case "BPF_PROG_TYPE_CGROUP_SKB":
      if (inField(off, "tc_classid") || inField(off, "data_meta") || inField(off, "wire_len")) return undefined;
      if ((inField(off, "data") || inField(off, "data_end")) && !privileged) return undefined;
      if (write && !(skbWritable(off, ["mark", "priority", "cb"]) || (privileged && inField(off, "tstamp")))) return undefined;
      return skbValid(off, size, write);
    case "BPF_PROG_TYPE_KPROBE":
      if (off < 0 || off >= PT_REGS_SIZE || write || off % size !== 0 || off + size > PT_REGS_SIZE) return undefined;
      return { regType: "SCALAR_VALUE" };
    case "BPF_PROG_TYPE_RAW_TRACEPOINT":
    case "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE":
      if (off < 0 || off >= 8 * MAX_BPF_FUNC_ARGS || write || off % size !== 0) return undefined;
      return { regType: "SCALAR_VALUE" };
    case "BPF_PROG_TYPE_TRACEPOINT":
      if (off < 8 || off >= PERF_MAX_TRACE_SIZE || write || off % size !== 0) return undefined;
      return { regType: "SCALAR_VALUE" };
    case "BPF_PROG_TYPE_PERF_EVENT":
      if (off < 0 || off >= PT_REGS_SIZE + 16 || write || off % size !== 0) return undefined;
      return { regType: "SCALAR_VALUE" };
    case "BPF_PROG_TYPE_CGROUP_SOCK":
      return bpfSockValid(off, size) && sockAttachOk(off, write, attach) ? { regType: "SCALAR_VALUE" } : undefined;
    case "BPF_PROG_TYPE_CGROUP_SOCK_ADDR":
      return sockAddrValid(off, size, write, attach);
    case "BPF_PROG_TYPE_SYSCALL":
      if (off < 0 || off >= 0xffff || off % size !== 0) return undefined;
      return { regType: "SCALAR_VALUE" };
    default:
      return undefined;
  }
}

/** Whether the type may read (and write) packet data directly (may_access_direct_pkt_data()). */
export function directPacketAccess(type: ProgramTypeName, write: boolean): boolean {
  switch (type) {
    case "BPF_PROG_TYPE_XDP":
    case "BPF_PROG_TYPE_SCHED_CLS":
    case "BPF_PROG_TYPE_SCHED_ACT":
    case "BPF_PROG_TYPE_LWT_XMIT":
    case "BPF_PROG_TYPE_SK_SKB":
    case "BPF_PROG_TYPE_SK_MSG":
      return true;
    case "BPF_PROG_TYPE_LWT_IN":
    case "BPF_PROG_TYPE_LWT_OUT":
    case "BPF_PROG_TYPE_LWT_SEG6LOCAL":
    case "BPF_PROG_TYPE_SK_REUSEPORT":
    case "BPF_PROG_TYPE_FLOW_DISSECTOR":
    case "BPF_PROG_TYPE_CGROUP_SKB":
      return !write;
    default:
      return false;
  }
}
