/**
 * Socket buffers: the __sk_buff a program sees and BPF_PROG_TEST_RUN for the skb
 * program types, following net/bpf/test_run.c (bpf_prog_test_run_skb):
 *
 *  - the input must hold an Ethernet header; eth_type_trans on the loopback device
 *    (ifindex 1, the only device) sets protocol and pkt_type and pulls the header, so
 *    socket filters and cgroup skb programs see data at the network header, while tc
 *    programs (SCHED_CLS/SCHED_ACT, is_l2) get it pushed back;
 *  - the skb belongs to a dummy socket whose family and addresses come from the
 *    packet (AF_INET: local_ip4 = saddr, remote_ip4 = daddr; AF_INET6 likewise);
 *  - ctx_in may set mark, priority, ingress_ifindex, ifindex (1 or a missing device:
 *    -ENODEV), cb, tstamp, wire_len, gso_segs, gso_size, hwtstamp; every other byte
 *    must be zero (-EINVAL). Without ctx_in, wire_len (qdisc_skb_cb's pkt_len) is 0;
 *  - data_out starts at the Ethernet header; for the types that are not is_l2 the
 *    kernel pushes the header back zeroed;
 *  - ctx_out is ctx_in with mark, priority, ingress_ifindex, ifindex, tstamp, cb,
 *    wire_len, gso_segs and hwtstamp written back (convert_skb_to___skb).
 */
import type { AddressSpace, Region } from "../vm/index.js";
import { SK_BUFF, fieldOf } from "./ctx.js";

export const ETH_HLEN = 14;
/** NET_SKB_PAD + NET_IP_ALIGN: headroom in front of the frame. */
const SKB_HEADROOM = 64 + 2;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86-64. */
const SKB_TAILROOM = 320;
const PAGE_SIZE = 4096;
/** Largest data_in: bpf_test_init's PAGE_SIZE - headroom - tailroom. */
export const SKB_MAX_DATA = PAGE_SIZE - SKB_HEADROOM - SKB_TAILROOM;
const EINVAL = 22;
const EFAULT = 14;
const ENODEV = 19;
const E2BIG = 7;

const PACKET_HOST = 0;
const PACKET_BROADCAST = 1;
const PACKET_MULTICAST = 2;
const PACKET_OTHERHOST = 3;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const AF_INET = 2;
const AF_INET6 = 10;
const LOOPBACK_IFINDEX = 1;
/** IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_UDPLITE: the flow dissector reads their ports. */
const PORTED_PROTOCOLS = new Set([6, 17, 132, 136]);
/** GSO_LEGACY_MAX_SIZE and GSO_MAX_SEGS (include/linux/netdevice.h). */
const GSO_LEGACY_MAX_SIZE = 65536;
const GSO_MAX_SEGS = 65535;
/** BPF_HDR_START_MAC / BPF_HDR_START_NET (bpf_skb_load_bytes_relative). */
export const BPF_HDR_START_MAC = 0;
export const BPF_HDR_START_NET = 1;

/** Fields of __sk_buff a ctx_in may set (convert___skb_to_skb); every other byte must be zero. */
const CTX_IN_FIELDS = ["mark", "priority", "ingress_ifindex", "ifindex", "cb[0]", "cb[1]", "cb[2]", "cb[3]", "cb[4]", "tstamp", "wire_len", "gso_segs", "gso_size", "hwtstamp"];
/** Fields written back into ctx_out (convert_skb_to___skb). */
const CTX_OUT_FIELDS = ["mark", "priority", "ingress_ifindex", "ifindex", "cb[0]", "cb[1]", "cb[2]", "cb[3]", "cb[4]", "tstamp", "wire_len", "gso_segs", "hwtstamp"];

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
  /** skb->sw_hash: a flow hash was computed and is kept until cleared. */
  private hashSet = false;
  /** The __sk_buff given as ctx_in, zero-extended (ctx_out starts from it). */
  private readonly ctxIn: Uint8Array | undefined;

  constructor(space: AddressSpace, dataIn: Uint8Array, opts: SkBuffOptions) {
    if (dataIn.length < ETH_HLEN) throw new SkbError(`data_in of ${dataIn.length} bytes is shorter than an Ethernet header`, -EINVAL);
    if (dataIn.length > SKB_MAX_DATA) throw new SkbError(`data_in of ${dataIn.length} bytes exceeds ${SKB_MAX_DATA} (one page with the skb's headroom and tailroom)`, -EINVAL);
    const ctxIn = opts.ctxIn === undefined ? undefined : checkCtxIn(opts.ctxIn, dataIn.length);
    this.space = space;
    this.l2 = opts.l2;
    this.ctxIn = ctxIn;
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
    if (ctxIn !== undefined) {
      for (const name of CTX_IN_FIELDS) {
        const f = fieldOf(SK_BUFF, name);
        space.u8.set(ctxIn.subarray(f.offset, f.offset + f.size), c + f.offset);
      }
      // qdisc_skb_cb(skb)->pkt_len: the given wire_len, or the packet length.
      if (v.getUint32(c + fieldOf(SK_BUFF, "wire_len").offset, true) === 0) set("wire_len", dataIn.length);
    }
    // eth_type_trans: protocol (kept in network order, as skb->protocol is __be16) and pkt_type.
    const ethertype = (dataIn[12]! << 8) | dataIn[13]!;
    set("protocol", dataIn[12]! | (dataIn[13]! << 8));
    const dst = dataIn.subarray(0, 6);
    const broadcast = dst.every((b) => b === 0xff);
    // The loopback device's address is all zeros.
    set("pkt_type", broadcast ? PACKET_BROADCAST : (dst[0]! & 1) !== 0 ? PACKET_MULTICAST : dst.every((b) => b === 0) ? PACKET_HOST : PACKET_OTHERHOST);
    set("ifindex", LOOPBACK_IFINDEX);
    // The dummy socket (skb->sk): family and addresses from the packet's IP header.
    const ip = dataIn.subarray(ETH_HLEN);
    if (ethertype === ETH_P_IP) {
      set("family", AF_INET);
      if (ip.length >= 20) {
        space.u8.set(ip.subarray(12, 16), c + fieldOf(SK_BUFF, "local_ip4").offset);
        space.u8.set(ip.subarray(16, 20), c + fieldOf(SK_BUFF, "remote_ip4").offset);
      }
    } else if (ethertype === ETH_P_IPV6) {
      set("family", AF_INET6);
      if (ip.length >= 40) {
        space.u8.set(ip.subarray(8, 24), c + fieldOf(SK_BUFF, "local_ip6").offset);
        space.u8.set(ip.subarray(24, 40), c + fieldOf(SK_BUFF, "remote_ip6").offset);
      }
    }
    this.sync();
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

  /**
   * bpf_get_hash_recalc: skb_get_hash() runs the flow dissector and stores a flow hash in
   * skb->hash (which __sk_buff's hash field reads). The kernel seeds it with a random
   * per-boot key (hashrnd), so only its properties can be matched: the same flow gives
   * the same value, both directions of a flow too (__flow_hash_consistentify orders the
   * endpoints), ports count only for TCP/UDP/SCTP/UDP-lite outside IPv4 fragments, and
   * the value is never 0 (a zero hash becomes 1).
   */
  recalcHash(): number {
    const hashAt = this.ctx.start + fieldOf(SK_BUFF, "hash").offset;
    // skb_get_hash(): a stored hash (sw_hash) is returned as it is until skb_clear_hash().
    if (this.hashSet) return this.space.view.getUint32(hashAt, true);
    const u8 = this.space.u8;
    const end = this.dataEnd;
    const ethertype = (u8[this.macHeader + 12]! << 8) | u8[this.macHeader + 13]!;
    const nh = this.networkHeader;
    let proto = -1;
    let l4 = -1;
    const be32 = (a: number): number => ((u8[a]! << 24) | (u8[a + 1]! << 16) | (u8[a + 2]! << 8) | u8[a + 3]!) >>> 0;
    let a: number[] = [];
    let b: number[] = [];
    if (ethertype === ETH_P_IP && nh + 20 <= end && u8[nh]! >> 4 === 4) {
      proto = u8[nh + 9]!;
      a = [be32(nh + 12)];
      b = [be32(nh + 16)];
      const fragment = ((u8[nh + 6]! & 0x3f) << 8 | u8[nh + 7]!) !== 0;
      if (!fragment) l4 = nh + (u8[nh]! & 0xf) * 4;
    } else if (ethertype === ETH_P_IPV6 && nh + 40 <= end) {
      proto = u8[nh + 6]!;
      for (let i = 0; i < 4; i++) {
        a.push(be32(nh + 8 + 4 * i));
        b.push(be32(nh + 24 + 4 * i));
      }
      l4 = nh + 40;
    }
    let ports: [number, number] = [0, 0];
    if (l4 >= 0 && PORTED_PROTOCOLS.has(proto) && l4 + 4 <= end) ports = [(u8[l4]! << 8) | u8[l4 + 1]!, (u8[l4 + 2]! << 8) | u8[l4 + 3]!];
    // The lower endpoint first, so that both directions hash alike.
    const cmp = compareWords(a, b) || ports[0] - ports[1];
    if (cmp > 0) {
      [a, b] = [b, a];
      ports = [ports[1], ports[0]];
    }
    let h = mixWords([ethertype, proto >>> 0, ...a, ...b, ((ports[0] << 16) | ports[1]) >>> 0]);
    if (h === 0) h = 1;
    this.space.view.setUint32(hashAt, h, true);
    this.hashSet = true;
    return h;
  }

  /** skb_clear_hash(): bpf_skb_store_bytes with BPF_F_INVALIDATE_HASH, bpf_set_hash_invalid. */
  clearHash(): void {
    this.hashSet = false;
    this.space.view.setUint32(this.ctx.start + fieldOf(SK_BUFF, "hash").offset, 0, true);
  }

  /** bpf_skb_load_bytes: copy len bytes at offset (from data) to `to`; -EFAULT when out of range. */
  loadBytes(offset: number, to: number, len: number): number {
    if (offset < 0 || len <= 0 || offset + len > this.len) return -EFAULT;
    this.space.u8.copyWithin(to, this.data + offset, this.data + offset + len);
    return 0;
  }

  /** bpf_skb_load_bytes_relative: offset from the MAC or network header, at most 0xffff; -EFAULT otherwise. */
  loadBytesRelative(offset: number, to: number, len: number, startHeader: number): number {
    if (offset < 0 || offset > 0xffff || len <= 0) return -EFAULT;
    const start = startHeader === BPF_HDR_START_MAC ? this.macHeader : startHeader === BPF_HDR_START_NET ? this.networkHeader : undefined;
    if (start === undefined || start + offset + len > this.dataEnd) return -EFAULT;
    this.space.u8.copyWithin(to, start + offset, start + offset + len);
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

  /**
   * data_out: from skb->data to the end; for the types that are not is_l2 the kernel
   * pushes ETH_HLEN bytes back and zeroes them (memset(__skb_push(skb, hh_len), 0, hh_len)).
   */
  dataOut(): Uint8Array {
    const body = this.space.read(this.data, this.dataEnd - this.data);
    if (this.l2) return body;
    const out = new Uint8Array(ETH_HLEN + body.length);
    out.set(body, ETH_HLEN);
    return out;
  }

  /** ctx_out: ctx_in (or zeros) with the fields convert_skb_to___skb writes back. */
  ctxOut(): Uint8Array {
    const out = new Uint8Array(SK_BUFF.size);
    if (this.ctxIn !== undefined) out.set(this.ctxIn);
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

/** bpf_ctx_init + convert___skb_to_skb's checks: the ctx_in, zero-extended to struct __sk_buff. */
function checkCtxIn(ctxIn: Uint8Array, len: number): Uint8Array {
  if (ctxIn.length > SK_BUFF.size && ctxIn.subarray(SK_BUFF.size).some((b) => b !== 0)) {
    throw new SkbError(`ctx_in of ${ctxIn.length} bytes is larger than struct __sk_buff and the excess is not zero`, -E2BIG);
  }
  const full = new Uint8Array(SK_BUFF.size);
  full.set(ctxIn.subarray(0, SK_BUFF.size));
  const allowed = new Uint8Array(SK_BUFF.size);
  for (const name of CTX_IN_FIELDS) {
    const f = fieldOf(SK_BUFF, name);
    allowed.fill(1, f.offset, f.offset + f.size);
  }
  for (let i = 0; i < SK_BUFF.size; i++) {
    if (full[i] !== 0 && allowed[i] === 0) {
      const f = SK_BUFF.fields.find((g) => i >= g.offset && i < g.offset + g.size);
      throw new SkbError(`ctx_in: ${f === undefined ? `byte ${i}` : `field ${f.name}`} must be zero`, -EINVAL);
    }
  }
  const v = new DataView(full.buffer);
  const ifindex = v.getUint32(fieldOf(SK_BUFF, "ifindex").offset, true);
  if (ifindex > LOOPBACK_IFINDEX) throw new SkbError(`ctx_in: ifindex ${ifindex}: no such device (only lo, ifindex 1)`, -ENODEV);
  const wire = v.getUint32(fieldOf(SK_BUFF, "wire_len").offset, true);
  if (wire !== 0 && (wire < len || wire > GSO_LEGACY_MAX_SIZE)) throw new SkbError(`ctx_in: wire_len ${wire} is smaller than the packet or larger than ${GSO_LEGACY_MAX_SIZE}`, -EINVAL);
  const segs = v.getUint32(fieldOf(SK_BUFF, "gso_segs").offset, true);
  if (segs > GSO_MAX_SEGS) throw new SkbError(`ctx_in: gso_segs ${segs} exceeds ${GSO_MAX_SEGS}`, -EINVAL);
  return full;
}

function compareWords(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** A 32-bit hash of 32-bit words (murmur3's mixing and finaliser, a fixed seed standing in for hashrnd). */
function mixWords(words: readonly number[]): number {
  let h = 0x5bd1e995;
  for (const w of words) {
    let k = Math.imul(w, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= words.length * 4;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
