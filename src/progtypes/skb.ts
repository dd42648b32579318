/**
 * Socket buffers: the __sk_buff a program sees and BPF_PROG_TEST_RUN for the skb
 * program types, following net/bpf/test_run.c (bpf_prog_test_run_skb): the input
 * must hold an Ethernet header; eth_type_trans sets protocol and pkt_type and pulls the
 * header, so socket filters and cgroup skb programs see data at the network header,
 * while tc programs (SCHED_CLS/SCHED_ACT, is_l2) get it pushed back. The device is
 * loopback (ifindex 1) unless ctx_in names another. data_out always starts at the
 * Ethernet header; ctx_out carries the fields convert_skb_to___skb copies back.
 */
import type { AddressSpace, Region } from "../vm/index.js";
import { SK_BUFF, fieldOf } from "./ctx.js";

export const ETH_HLEN = 14;
/** NET_SKB_PAD + NET_IP_ALIGN: headroom in front of the frame. */
const SKB_HEADROOM = 64 + 2;
const SKB_TAILROOM = 320;
const EINVAL = 22;
const EFAULT = 14;

const PACKET_HOST = 0;
const PACKET_BROADCAST = 1;
const PACKET_MULTICAST = 2;
const PACKET_OTHERHOST = 3;

/** Fields of __sk_buff a ctx_in may set (convert___skb_to_skb); all others must be zero. */
const CTX_IN_FIELDS = ["mark", "priority", "ifindex", "cb[0]", "cb[1]", "cb[2]", "cb[3]", "cb[4]", "tstamp", "wire_len", "gso_segs", "gso_size", "hwtstamp"];
/** Fields copied back into ctx_out (convert_skb_to___skb). */
const CTX_OUT_FIELDS = ["mark", "priority", "ifindex", "cb[0]", "cb[1]", "cb[2]", "cb[3]", "cb[4]", "tstamp", "wire_len", "gso_segs", "gso_size", "hwtstamp"];

export class SkbError extends Error {
  readonly errno: number;
  constructor(message: string, errno: number) {
    super(message);
    this.errno = errno;
  }
}

export interface SkBuffOptions {
  /** tc programs see the frame from the Ethernet header on (is_l2). */
  l2: boolean;
  ctxIn?: Uint8Array;
}

/** One packet and its __sk_buff in the address space. */
export class SkBuff {
  readonly space: AddressSpace;
  readonly buffer: Region;
  readonly ctx: Region;
  /** Address of the Ethernet header and of the network header. */
  readonly macHeader: number;
  readonly networkHeader: number;
  data: number;
  dataEnd: number;
  private readonly l2: boolean;

  constructor(space: AddressSpace, dataIn: Uint8Array, opts: SkBuffOptions) {
    if (dataIn.length < ETH_HLEN) throw new SkbError(`data_in of ${dataIn.length} bytes is shorter than an Ethernet header`, -EINVAL);
    this.space = space;
    this.l2 = opts.l2;
    this.buffer = space.map(SKB_HEADROOM + dataIn.length + SKB_TAILROOM, { name: "skb data", kind: "packet", align: 64 });
    this.macHeader = this.buffer.start + SKB_HEADROOM;
    this.networkHeader = this.macHeader + ETH_HLEN;
    space.u8.set(dataIn, this.macHeader);
    this.data = opts.l2 ? this.macHeader : this.networkHeader;
    this.dataEnd = this.macHeader + dataIn.length;
    this.ctx = space.map(SK_BUFF.size, { name: "__sk_buff", kind: "ctx", writable: true, align: 8 });
    const v = space.view;
    const c = this.ctx.start;
    const set = (name: string, value: number) => v.setUint32(c + fieldOf(SK_BUFF, name).offset, value >>> 0, true);
    // eth_type_trans: protocol (kept in network order, as skb->protocol is __be16) and pkt_type.
    set("protocol", dataIn[12]! | (dataIn[13]! << 8));
    const dst = dataIn.subarray(0, 6);
    const broadcast = dst.every((b) => b === 0xff);
    set("pkt_type", broadcast ? PACKET_BROADCAST : (dst[0]! & 1) !== 0 ? PACKET_MULTICAST : dst.every((b) => b === 0) ? PACKET_HOST : PACKET_OTHERHOST);
    set("ifindex", 1);
    set("wire_len", dataIn.length);
    if (opts.ctxIn !== undefined) this.applyCtxIn(opts.ctxIn, dataIn.length);
    this.sync();
  }

  private applyCtxIn(ctxIn: Uint8Array, len: number): void {
    if (ctxIn.length > SK_BUFF.size) throw new SkbError(`ctx_in of ${ctxIn.length} bytes is larger than struct __sk_buff`, -EINVAL);
    const full = new Uint8Array(SK_BUFF.size);
    full.set(ctxIn);
    const allowed = new Set(CTX_IN_FIELDS);
    for (const fld of SK_BUFF.fields) {
      const bytes = full.subarray(fld.offset, fld.offset + fld.size);
      if (!allowed.has(fld.name) && bytes.some((b) => b !== 0)) throw new SkbError(`ctx_in: field ${fld.name} must be zero`, -EINVAL);
    }
    const u32 = (o: number) => full[o]! | (full[o + 1]! << 8) | (full[o + 2]! << 16) | (full[o + 3]! << 24);
    const wire = u32(fieldOf(SK_BUFF, "wire_len").offset) >>> 0;
    if (wire !== 0 && wire < len) throw new SkbError("ctx_in: wire_len is smaller than the packet", -EINVAL);
    const ifindex = u32(fieldOf(SK_BUFF, "ifindex").offset);
    for (const name of CTX_IN_FIELDS) {
      const fld = fieldOf(SK_BUFF, name);
      if (name === "wire_len" && wire === 0) continue;
      if (name === "ifindex" && ifindex === 0) continue;
      this.space.u8.set(full.subarray(fld.offset, fld.offset + fld.size), this.ctx.start + fld.offset);
    }
  }

  /** Writes len/data/data_end/data_meta and moves the accessible window of the buffer. */
  private sync(): void {
    const v = this.space.view;
    const c = this.ctx.start;
    v.setUint32(c + fieldOf(SK_BUFF, "len").offset, this.dataEnd - this.data, true);
    v.setUint32(c + fieldOf(SK_BUFF, "data").offset, this.data, true);
    v.setUint32(c + fieldOf(SK_BUFF, "data_end").offset, this.dataEnd, true);
    v.setUint32(c + fieldOf(SK_BUFF, "data_meta").offset, this.data, true);
    this.space.setBounds(this.buffer, this.data, this.dataEnd);
  }

  get len(): number {
    return this.dataEnd - this.data;
  }

  /** bpf_skb_load_bytes: copy len bytes at offset (from data) to `to`; -EFAULT when out of range. */
  loadBytes(offset: number, to: number, len: number): number {
    if (offset < 0 || len <= 0 || offset + len > this.len) return -EFAULT;
    this.space.u8.copyWithin(to, this.data + offset, this.data + offset + len);
    return 0;
  }

  /** bpf_skb_store_bytes: copy len bytes from `from` to offset; -EFAULT when out of range. */
  storeBytes(offset: number, from: number, len: number): number {
    if (offset < 0 || len <= 0 || offset + len > this.len) return -EFAULT;
    this.space.u8.copyWithin(this.data + offset, from, from + len);
    return 0;
  }

  /**
   * LD_ABS / LD_IND (bpf_skb_load_helper_*): big-endian load at offset from data;
   * SKF_NET_OFF / SKF_LL_OFF select the network and link-layer headers.
   */
  ldAbs(offset: number, size: 1 | 2 | 4): number | undefined {
    let base = this.data;
    let limit = this.dataEnd;
    let off = offset;
    if (off < 0) {
      if (off >= SKF_LL_OFF && off < SKF_NET_OFF) {
        base = this.macHeader;
        off -= SKF_LL_OFF;
      } else if (off >= SKF_NET_OFF && off < 0) {
        base = this.networkHeader;
        off -= SKF_NET_OFF;
      } else return undefined;
      limit = this.dataEnd;
    }
    const a = base + off;
    if (a < base || a + size > limit) return undefined;
    const u8 = this.space.u8;
    if (size === 1) return u8[a]!;
    if (size === 2) return (u8[a]! << 8) | u8[a + 1]!;
    return ((u8[a]! << 24) | (u8[a + 1]! << 16) | (u8[a + 2]! << 8) | u8[a + 3]!) >>> 0;
  }

  /** data_out: from the Ethernet header to the end (the kernel pushes the header back for non-L2 types). */
  dataOut(): Uint8Array {
    const start = Math.min(this.macHeader, this.data);
    return this.space.read(start, this.dataEnd - start);
  }

  ctxOut(): Uint8Array {
    const out = new Uint8Array(SK_BUFF.size);
    for (const name of CTX_OUT_FIELDS) {
      const fld = fieldOf(SK_BUFF, name);
      out.set(this.space.read(this.ctx.start + fld.offset, fld.size), fld.offset);
    }
    return out;
  }

  get isL2(): boolean {
    return this.l2;
  }

  free(): void {
    this.space.unmap(this.ctx);
    this.space.unmap(this.buffer);
  }
}

/** include/uapi/linux/filter.h */
export const SKF_NET_OFF = -0x100000;
export const SKF_LL_OFF = -0x200000;
