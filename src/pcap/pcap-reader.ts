/**
 * Classic pcap (libpcap's savefile format, sf-pcap.c; draft-ietf-opsawg-pcap):
 *
 *   file header (24 bytes)              record header (16 bytes), then caplen bytes
 *   +------------------+                +--------------------+
 *   | magic       u32  |                | ts_sec        u32  |
 *   | major u16 minor  |                | ts_usec/nsec  u32  |
 *   | thiszone    s32  |                | caplen        u32  |
 *   | sigfigs     u32  |                | len           u32  |
 *   | snaplen     u32  |                +--------------------+
 *   | linktype    u32  |  (bits 0-25 LINKTYPE, bit 26 "FCS length present", bits 28-31 FCS length in 16-bit words)
 *   +------------------+
 *
 * Magic a1b2c3d4 = microseconds, a1b23c4d = nanoseconds, in the writer's byte order
 * (read swapped, it gives the other order). a1b2cd34 is Alexey Kuznetzov's "modified"
 * format: microseconds and 8 more bytes per record header (ifindex, protocol, pkt_type).
 */
import { ReaderBase, u32be, u32le, type CaptureFormat } from "./reader-base.js";
import { MAXIMUM_SNAPLEN, type InterfaceInfo, type PacketRecord, type ReaderOptions } from "./record.js";
import type { ByteQueue } from "./queue.js";

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;
export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

/** The parsed classic-pcap file header. */
export interface PcapHeader {
  readonly littleEndian: boolean;
  readonly nanosecond: boolean;
  /** True for the a1b2cd34 "modified" format (24-byte record headers). */
  readonly modified: boolean;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly thiszone: number;
  readonly snaplen: number;
  /** LINKTYPE_* (the field with its FCS bits removed). */
  readonly linktype: number;
  /** The raw linktype field, FCS bits included. */
  readonly linktypeField: number;
}

/** Identifies a pcap magic: byte order and resolution, or undefined. */
export function pcapMagicInfo(b: Uint8Array, o = 0): { littleEndian: boolean; nanosecond: boolean; modified: boolean } | undefined {
  if (b.length - o < 4) return undefined;
  for (const le of [true, false]) {
    const m = le ? u32le(b, o) : u32be(b, o);
    if (m === PCAP_MAGIC_USEC) return { littleEndian: le, nanosecond: false, modified: false };
    if (m === PCAP_MAGIC_NSEC) return { littleEndian: le, nanosecond: true, modified: false };
    if (m === PCAP_MAGIC_MODIFIED) return { littleEndian: le, nanosecond: false, modified: true };
  }
  return undefined;
}

export class PcapReader extends ReaderBase {
  readonly format: CaptureFormat = "pcap";
  header: PcapHeader | undefined;
  interfaces: readonly InterfaceInfo[] = [];
  private le = true;
  private nsecMul = 1000;
  private recHdrLen = PCAP_RECORD_HEADER_LEN;
  private caplenLimit = 0;

  constructor(opts: ReaderOptions = {}, queue?: ByteQueue) {
    super(opts, queue);
  }

  private parseHeader(): boolean {
    const q = this.q;
    if (!q.ensure(PCAP_FILE_HEADER_LEN)) {
      if (q.ended && q.available <= 0) this.fail("empty file: no pcap file header");
      return this.starved(PCAP_FILE_HEADER_LEN, "pcap file header", false);
    }
    const b = q.buf;
    const o = q.pos;
    const m = pcapMagicInfo(b, o);
    if (m === undefined) {
      const hex = Array.from(b.subarray(o, o + 4), (x) => x.toString(16).padStart(2, "0")).join("");
      this.fail(`bad pcap magic 0x${hex}`);
    }
    const le = m.littleEndian;
    const u16 = le ? (x: number) => b[x]! | (b[x + 1]! << 8) : (x: number) => (b[x]! << 8) | b[x + 1]!;
    const u32 = le ? u32le : u32be;
    const major = u16(o + 4);
    if (major !== 2) this.fail(`unsupported pcap version ${major}.${u16(o + 6)} (only 2.x exists)`);
    const snaplen = u32(b, o + 16);
    const field = u32(b, o + 20);
    const linktype = field & 0x03ffffff;
    this.header = {
      littleEndian: le,
      nanosecond: m.nanosecond,
      modified: m.modified,
      versionMajor: major,
      versionMinor: u16(o + 6),
      thiszone: u32(b, o + 8) | 0,
      snaplen,
      linktype,
      linktypeField: field,
    };
    // LT_FCS_LENGTH: bits 28-31 count 16-bit words of FCS, valid when bit 26 is set.
    const fcs = (field & 0x04000000) !== 0 ? ((field >>> 28) & 0xf) * 16 : undefined;
    const iface: InterfaceInfo = { linktype, snaplen, tsresol: m.nanosecond ? 9 : 6, tsoffset: 0, section: 0, ...(fcs === undefined ? {} : { fcsBits: fcs }) };
    this.interfaces = [iface];
    this.le = le;
    this.nsecMul = m.nanosecond ? 1 : 1000;
    this.recHdrLen = m.modified ? 24 : PCAP_RECORD_HEADER_LEN;
    this.caplenLimit = Math.min(this.maxRecord, Math.max(snaplen, MAXIMUM_SNAPLEN));
    q.skip(PCAP_FILE_HEADER_LEN);
    return true;
  }

  nextInto(rec: PacketRecord): boolean {
    if (this.header === undefined && !this.parseHeader()) return false;
    const q = this.q;
    const hl = this.recHdrLen;
    if (!q.ensure(hl)) return this.starved(hl, "pcap record header", true);
    let b = q.buf;
    let o = q.pos;
    let sec: number, frac: number, caplen: number, len: number;
    if (this.le) {
      sec = (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
      frac = (b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24)) >>> 0;
      caplen = (b[o + 8]! | (b[o + 9]! << 8) | (b[o + 10]! << 16) | (b[o + 11]! << 24)) >>> 0;
      len = (b[o + 12]! | (b[o + 13]! << 8) | (b[o + 14]! << 16) | (b[o + 15]! << 24)) >>> 0;
    } else {
      sec = u32be(b, o);
      frac = u32be(b, o + 4);
      caplen = u32be(b, o + 8);
      len = u32be(b, o + 12);
    }
    if (caplen > this.caplenLimit) {
      const snap = this.header!.snaplen;
      this.fail(
        caplen > this.maxRecord
          ? `absurd packet capture length ${caplen}`
          : `invalid packet capture length ${caplen}, bigger than snaplen of ${snap} and maximum of ${MAXIMUM_SNAPLEN}`,
      );
    }
    const total = hl + caplen;
    if (!q.ensure(total)) return this.starved(total, `pcap record (caplen ${caplen})`, false);
    b = q.buf;
    o = q.pos;
    rec.buffer = b;
    rec.dataOffset = o + hl;
    rec.caplen = caplen;
    rec.len = len;
    rec.tsSec = sec;
    rec.tsNsec = frac * this.nsecMul;
    rec.interfaceId = 0;
    rec.linktype = this.header!.linktype;
    rec.section = 0;
    rec.index = this.packetCount++;
    rec.fileOffset = q.base + o;
    q.pos = o + total;
    return true;
  }
}
