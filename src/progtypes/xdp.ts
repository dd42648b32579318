/**
 * XDP: the xdp_buff a program sees and BPF_PROG_TEST_RUN for it, following
 * net/bpf/test_run.c (bpf_prog_test_run_xdp) and net/core/filter.c (the adjust helpers).
 * The frame lives in one page-sized buffer: XDP_PACKET_HEADROOM (256) bytes of
 * headroom, the data, and the tailroom the kernel reserves for skb_shared_info (320);
 * the region's accessible window is [data_meta, data_end), so an unverified program
 * reading past data_end faults in checked mode.
 */
import type { AddressSpace, Region } from "../vm/index.js";
import { XDP_MD, fieldOf } from "./ctx.js";

export const XDP_PACKET_HEADROOM = 256;
export const XDP_FRAME_SIZE = 4096;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86-64. */
export const XDP_TAILROOM = 320;
export const XDP_MAX_DATA = XDP_FRAME_SIZE - XDP_PACKET_HEADROOM - XDP_TAILROOM;
/** Minimum frame the kernel keeps after bpf_xdp_adjust_head / adjust_tail (ETH_HLEN). */
const ETH_HLEN = 14;
/** xdp_frame is stored in the headroom; adjust_head/meta may not eat into it (sizeof(struct xdp_frame)). */
const XDP_FRAME_STRUCT = 40;
/**
 * xdp_metalen_invalid: metadata is a multiple of 4 bytes and at most
 * type_max(skb_shared_info.meta_len), 255 (Linux >= 6.13; 32 before).
 */
const XDP_META_MAX = 255;
export const xdpMetalenInvalid = (metalen: number): boolean => (metalen & 3) !== 0 || metalen > XDP_META_MAX;
/** The only device: lo, ifindex 1, one rx queue. */
const LOOPBACK_IFINDEX = 1;

export const XDP_ACTIONS = ["XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"] as const;
export const xdpActionName = (r: number): string => XDP_ACTIONS[r] ?? `unknown (${r})`;

const EINVAL = 22;
const EACCES = 13;
const ENODEV = 19;

export interface XdpMdIn {
  /** Offset of data from data_meta: the metadata length given in ctx_in. */
  data?: number;
  data_end?: number;
  data_meta?: number;
  ingress_ifindex?: number;
  rx_queue_index?: number;
  egress_ifindex?: number;
}

/** One frame with its ctx (struct xdp_md) in the address space. */
export class XdpBuff {
  readonly space: AddressSpace;
  readonly frame: Region;
  readonly ctx: Region;
  /** Current pointers (addresses). */
  data: number;
  dataEnd: number;
  dataMeta: number;
  private readonly hardStart: number;
  private readonly hardEnd: number;

  private readonly ctxIn: Uint8Array | undefined;

  /**
   * bpf_prog_test_run_xdp: data_in lands XDP_PACKET_HEADROOM bytes into a page; a
   * ctx_in's `data` is the length of metadata at the start of data_in, taken from the
   * headroom (data stays at the headroom's end). The rx queue is lo's queue 0.
   */
  constructor(space: AddressSpace, dataIn: Uint8Array, ctxIn?: Uint8Array) {
    const md = ctxIn === undefined ? undefined : readXdpMd(ctxIn);
    let metalen = 0;
    if (md !== undefined) {
      // There can't be user-provided data before the metadata.
      if (md.data_meta !== 0 || md.data_end > dataIn.length || md.data > md.data_end) throw new XdpError("ctx_in: data_meta must be 0 and data <= data_end <= the data_in size", -EINVAL);
      metalen = md.data;
      if (xdpMetalenInvalid(metalen) || metalen > XDP_PACKET_HEADROOM - XDP_FRAME_STRUCT) throw new XdpError(`ctx_in: ${metalen} bytes of metadata (a multiple of 4, at most ${XDP_PACKET_HEADROOM - XDP_FRAME_STRUCT})`, -EINVAL);
      if (md.data_end < dataIn.length) throw new XdpError(`ctx_in: data_end ${md.data_end} < ${dataIn.length} would put the rest of data_in in fragments, which tsbpf does not support`, -EINVAL);
      // xdp_convert_md_to_buff
      if (md.egress_ifindex !== 0) throw new XdpError("ctx_in: egress_ifindex must be 0", -EINVAL);
      if (md.ingress_ifindex === 0 && md.rx_queue_index !== 0) throw new XdpError("ctx_in: rx_queue_index without ingress_ifindex", -EINVAL);
      if (md.ingress_ifindex > LOOPBACK_IFINDEX) throw new XdpError(`ctx_in: ingress_ifindex ${md.ingress_ifindex}: no such device (only lo, ifindex 1)`, -ENODEV);
      if (md.ingress_ifindex !== 0 && md.rx_queue_index >= 1) throw new XdpError(`ctx_in: lo has no rx queue ${md.rx_queue_index}`, -EINVAL);
    }
    if (dataIn.length - metalen < ETH_HLEN) throw new XdpError(`data_in of ${dataIn.length - metalen} bytes (after metadata) is shorter than an Ethernet header`, -EINVAL);
    if (dataIn.length - metalen > XDP_MAX_DATA) throw new XdpError(`data_in of ${dataIn.length} bytes exceeds ${XDP_MAX_DATA + metalen} (fragments are not supported)`, -EINVAL);
    this.space = space;
    this.ctxIn = ctxIn === undefined ? undefined : ctxIn.slice();
    this.frame = space.map(XDP_FRAME_SIZE, { name: "xdp frame", kind: "packet", align: 64 });
    this.hardStart = this.frame.start;
    this.hardEnd = this.frame.start + XDP_FRAME_SIZE - XDP_TAILROOM;
    this.data = this.hardStart + XDP_PACKET_HEADROOM;
    this.dataMeta = this.data - metalen;
    space.u8.set(dataIn, this.dataMeta);
    this.dataEnd = this.dataMeta + dataIn.length;
    this.ctx = space.map(XDP_MD.size, { name: "xdp_md", kind: "ctx", writable: false });
    const v = space.view;
    v.setUint32(this.ctx.start + fieldOf(XDP_MD, "ingress_ifindex").offset, LOOPBACK_IFINDEX, true);
    v.setUint32(this.ctx.start + fieldOf(XDP_MD, "rx_queue_index").offset, md?.rx_queue_index ?? 0, true);
    this.sync();
  }

  /** Writes the pointers into xdp_md and moves the accessible window of the frame. */
  private sync(): void {
    const v = this.space.view;
    v.setUint32(this.ctx.start + 0, this.data, true);
    v.setUint32(this.ctx.start + 4, this.dataEnd, true);
    v.setUint32(this.ctx.start + 8, this.dataMeta, true);
    this.space.setBounds(this.frame, this.dataMeta, this.dataEnd);
  }

  /** bpf_xdp_adjust_head: moves data by delta (negative grows the frame at the front). */
  adjustHead(delta: number): number {
    const metalen = this.data - this.dataMeta;
    const data = this.data + delta;
    if (data < this.hardStart + XDP_FRAME_STRUCT + metalen || data > this.dataEnd - ETH_HLEN) return -EINVAL;
    if (metalen > 0) this.space.u8.copyWithin(data - metalen, this.dataMeta, this.data);
    this.dataMeta = data - metalen;
    this.data = data;
    this.sync();
    return 0;
  }

  /** bpf_xdp_adjust_tail: moves data_end by delta; grown bytes are zeroed as in bpf_xdp_frags_increase_tail's linear case. */
  adjustTail(delta: number): number {
    const end = this.dataEnd + delta;
    if (end > this.hardEnd || end < this.data + ETH_HLEN) return -EINVAL;
    if (delta > 0) this.space.u8.fill(0, this.dataEnd, end);
    this.dataEnd = end;
    this.sync();
    return 0;
  }

  /** bpf_xdp_adjust_meta: moves data_meta by delta (negative adds metadata); -EINVAL out of range, -EACCES for a bad length. */
  adjustMeta(delta: number): number {
    const meta = this.dataMeta + delta;
    if (meta < this.hardStart + XDP_FRAME_STRUCT || meta > this.data) return -EINVAL;
    if (xdpMetalenInvalid(this.data - meta)) return -EACCES;
    this.dataMeta = meta;
    this.sync();
    return 0;
  }

  /** data_out: [data_meta, data_end), as bpf_prog_test_run_xdp copies it. */
  dataOut(): Uint8Array {
    return this.space.read(this.dataMeta, this.dataEnd - this.dataMeta);
  }

  /** ctx_out: ctx_in with data and data_end relative to data_meta (xdp_convert_buff_to_md). */
  ctxOut(): Uint8Array {
    const out = new Uint8Array(XDP_MD.size);
    if (this.ctxIn !== undefined) out.set(this.ctxIn.subarray(0, XDP_MD.size));
    const v = new DataView(out.buffer);
    v.setUint32(0, this.data - this.dataMeta, true);
    v.setUint32(4, this.dataEnd - this.dataMeta, true);
    return out;
  }

  free(): void {
    this.space.unmap(this.ctx);
    this.space.unmap(this.frame);
  }
}

export class XdpError extends Error {
  readonly errno: number;
  constructor(message: string, errno: number) {
    super(message);
    this.errno = errno;
  }
}

/** bpf_ctx_init: at most sizeof(struct xdp_md) (a longer ctx_in must be zero beyond it), zero-extended. */
function readXdpMd(b: Uint8Array): Required<XdpMdIn> {
  if (b.length > XDP_MD.size && b.subarray(XDP_MD.size).some((x) => x !== 0)) throw new XdpError(`ctx_in of ${b.length} bytes is larger than struct xdp_md and the excess is not zero`, -7);
  const full = new Uint8Array(XDP_MD.size);
  full.set(b.subarray(0, XDP_MD.size));
  const v = new DataView(full.buffer);
  const u = (o: number) => v.getUint32(o, true);
  return { data: u(0), data_end: u(4), data_meta: u(8), ingress_ifindex: u(12), rx_queue_index: u(16), egress_ifindex: u(20) };
}
