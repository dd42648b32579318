/**
 * Context structures with the kernel's UAPI layouts (struct xdp_md, struct __sk_buff).
 * Pointer fields (data, data_end, data_meta) are u32 in the UAPI and 64-bit pointers
 * after the kernel's ctx rewriting (convert_ctx_access); our addresses fit in 32 bits,
 * so the stored u32 is the pointer and no rewriting is needed.
 */
import type { CtxField, CtxLayout } from "./types.js";

const f = (name: string, offset: number, size: number, writable = false, kind: CtxField["kind"] = "scalar"): CtxField => ({ name, offset, size, writable, kind });

/** struct xdp_md (include/uapi/linux/bpf.h). */
export const XDP_MD: CtxLayout = {
  name: "xdp_md",
  size: 24,
  fields: [
    f("data", 0, 4, false, "pkt"), f("data_end", 4, 4, false, "pkt_end"), f("data_meta", 8, 4, false, "pkt_meta"),
    f("ingress_ifindex", 12, 4), f("rx_queue_index", 16, 4), f("egress_ifindex", 20, 4),
  ],
};

/** struct __sk_buff (include/uapi/linux/bpf.h); `writable` as tc programs may write (sk_filter_is_valid_access / tc_cls_act_is_valid_access). */
export const SK_BUFF: CtxLayout = {
  name: "__sk_buff",
  size: 192,
  fields: [
    f("len", 0, 4), f("pkt_type", 4, 4), f("mark", 8, 4, true), f("queue_mapping", 12, 4, true), f("protocol", 16, 4),
    f("vlan_present", 20, 4), f("vlan_tci", 24, 4), f("vlan_proto", 28, 4), f("priority", 32, 4, true),
    f("ingress_ifindex", 36, 4), f("ifindex", 40, 4), f("tc_index", 44, 4, true),
    f("cb[0]", 48, 4, true), f("cb[1]", 52, 4, true), f("cb[2]", 56, 4, true), f("cb[3]", 60, 4, true), f("cb[4]", 64, 4, true),
    f("hash", 68, 4), f("tc_classid", 72, 4, true), f("data", 76, 4, false, "pkt"), f("data_end", 80, 4, false, "pkt_end"),
    f("napi_id", 84, 4), f("family", 88, 4), f("remote_ip4", 92, 4), f("local_ip4", 96, 4),
    f("remote_ip6", 100, 16), f("local_ip6", 116, 16), f("remote_port", 132, 4), f("local_port", 136, 4),
    f("data_meta", 140, 4, false, "pkt_meta"), f("flow_keys", 144, 8, false, "ptr"), f("tstamp", 152, 8, true),
    f("wire_len", 160, 4), f("gso_segs", 164, 4), f("sk", 168, 8, false, "ptr"), f("gso_size", 176, 4),
    f("tstamp_type", 180, 1), f("hwtstamp", 184, 8),
  ],
};

export const fieldOf = (layout: CtxLayout, name: string): CtxField => {
  const x = layout.fields.find((g) => g.name === name);
  if (x === undefined) throw new Error(`${layout.name} has no field ${name}`);
  return x;
};

/** struct bpf_sock (include/uapi/linux/bpf.h): the cgroup sock ctx and what PTR_TO_SOCKET points to. */
export const BPF_SOCK: CtxLayout = {
  name: "bpf_sock",
  size: 80,
  fields: [
    f("bound_dev_if", 0, 4), f("family", 4, 4), f("type", 8, 4), f("protocol", 12, 4), f("mark", 16, 4), f("priority", 20, 4),
    f("src_ip4", 24, 4), f("src_ip6", 28, 16), f("src_port", 44, 4),
    // __be16 dst_port followed by 16 bits of zero padding.
    f("dst_port", 48, 2), f("dst_ip4", 52, 4), f("dst_ip6", 56, 16), f("state", 72, 4), f("rx_queue_mapping", 76, 4),
  ],
};

/** struct bpf_sock_addr (include/uapi/linux/bpf.h): the cgroup sock_addr ctx. */
export const BPF_SOCK_ADDR: CtxLayout = {
  name: "bpf_sock_addr",
  size: 72,
  fields: [
    f("user_family", 0, 4), f("user_ip4", 4, 4, true), f("user_ip6", 8, 16, true), f("user_port", 24, 4, true),
    f("family", 28, 4), f("type", 32, 4), f("protocol", 36, 4), f("msg_src_ip4", 40, 4, true), f("msg_src_ip6", 44, 16, true),
    f("sk", 64, 8, false, "ptr"),
  ],
};
