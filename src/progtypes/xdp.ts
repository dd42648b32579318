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
/** Metadata is limited to 32 bytes (xdp_metalen_invalid). */
const XDP_META_MAX = 32;

export const XDP_ACTIONS = ["XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"] as const;
export const xdpActionName = (r: number): string => XDP_ACTIONS[r] ?? `unknown (${r})`;

const EINVAL = 22;

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

  constructor(space: AddressSpace, dataIn: Uint8Array, ctxIn?: Uint8Array) {
    const md = ctxIn === undefined ? undefined : readXdpMd(ctxIn);
    const metalen = md?.data ?? 0;
    if (md !== undefined) {
      // xdp_convert_md_to_buff: egress_ifindex must be 0; data_meta must be 0; data is the metadata length.
      if ((md.egress_ifindex ?? 0) !== 0 || (md.data_meta ?? 0) !== 0 || metalen > XDP_META_MAX || metalen > dataIn.length) throw new XdpError("ctx_in: invalid xdp_md", -EINVAL);
      if ((md.data_end ?? dataIn.length) !== dataIn.length) throw new XdpError("ctx_in: data_end must equal the data size", -EINVAL);
    }
    if (dataIn.length > XDP_MAX_DATA) throw new XdpError(`data_in of ${dataIn.length} bytes exceeds ${XDP_MAX_DATA} (fragments are not supported)`, -EINVAL);
    if (dataIn.length < ETH_HLEN) throw new XdpError(`data_in of ${dataIn.length} bytes is shorter than an Ethernet header`, -EINVAL);
    this.space = space;
    this.frame = space.map(XDP_FRAME_SIZE, { name: "xdp frame", kind: "packet", align: 64 });
    this.hardStart = this.frame.start;
    this.hardEnd = this.frame.start + XDP_FRAME_SIZE - XDP_TAILROOM;
    this.dataMeta = this.hardStart + XDP_PACKET_HEADROOM;
    this.data = this.dataMeta + metalen;
    space.u8.set(dataIn, this.dataMeta);
    this.dataEnd = this.dataMeta + dataIn.length;
    this.ctx = space.map(XDP_MD.size, { name: "xdp_md", kind: "ctx", writable: false });
    const v = space.view;
    v.setUint32(this.ctx.start + fieldOf(XDP_MD, "ingress_ifindex").offset, md?.ingress_ifindex ?? 1, true);
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

  /** bpf_xdp_adjust_meta: moves data_meta by delta (negative adds metadata). */
  adjustMeta(delta: number): number {
    const meta = this.dataMeta + delta;
    const metalen = this.data - meta;
    if (meta < this.hardStart + XDP_FRAME_STRUCT || meta > this.data || metalen > XDP_META_MAX || (metalen & 3) !== 0) return -EINVAL;
    this.dataMeta = meta;
    this.sync();
    return 0;
  }

  /** data_out: [data_meta, data_end), as bpf_prog_test_run_xdp copies it. */
  dataOut(): Uint8Array {
    return this.space.read(this.dataMeta, this.dataEnd - this.dataMeta);
  }

  /** ctx_out: xdp_md with data/data_end relative to data_meta (xdp_convert_buff_to_md). */
  ctxOut(): Uint8Array {
    const out = this.space.read(this.ctx.start, XDP_MD.size);
    const v = new DataView(out.buffer);
    v.setUint32(0, this.data - this.dataMeta, true);
    v.setUint32(4, this.dataEnd - this.dataMeta, true);
    v.setUint32(8, 0, true);
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

function readXdpMd(b: Uint8Array): XdpMdIn {
  if (b.length !== XDP_MD.size) throw new XdpError(`ctx_in must be ${XDP_MD.size} bytes (struct xdp_md), got ${b.length}`, -EINVAL);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u = (o: number) => v.getUint32(o, true);
  return { data: u(0), data_end: u(4), data_meta: u(8), ingress_ifindex: u(12), rx_queue_index: u(16), egress_ifindex: u(20) };
}
