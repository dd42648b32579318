/**
 * pcapng (draft-ietf-opsawg-pcapng; libpcap's sf-pcapng.c). Every block is
 *
 *   +-------------+-------------+---------------------+-------------+
 *   | type  u32   | length u32  | body (length - 12)  | length u32  |
 *   +-------------+-------------+---------------------+-------------+
 *
 * with the byte order of its section, set by the Section Header Block's byte-order
 * magic 0x1A2B3C4D. Read here: SHB (0x0A0D0D0A, starts a section and forgets the
 * previous interfaces), IDB (1: linktype, snaplen, if_tsresol, if_tsoffset, if_name,
 * if_fcslen), EPB (6), SPB (3: interface 0, no timestamp) and the obsolete PB (2).
 * Every other block (NRB, ISB, DSB, custom...) is skipped without being buffered.
 *
 * Checks (each a PcapError with the byte offset of the block): block length below 12,
 * not a multiple of 4, above the record limit, or different in the trailer; SHB with
 * an unknown byte-order magic or major version != 1; packets naming an interface that
 * no IDB declared; captured lengths that overflow their block; options that overrun.
 */
import { ReaderBase, u16be, u16le, u32be, u32le, type CaptureFormat } from "./reader-base.js";
import type { InterfaceInfo, PacketRecord, ReaderOptions } from "./record.js";
import type { ByteQueue } from "./queue.js";
import { ticksToSecNsec, tsOut, tsUnit, type TsUnit } from "./timestamp.js";

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
export const BT_PB = 0x00000002; // obsolete Packet Block
export const BT_SPB = 0x00000003;
export const BT_NRB = 0x00000004;
export const BT_ISB = 0x00000005;
export const BT_EPB = 0x00000006;
export const BT_DSB = 0x0000000a;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const IF_NAME = 2;
export const IF_DESCRIPTION = 3;
export const IF_TSRESOL = 9;
export const IF_FCSLEN = 13;
export const IF_TSOFFSET = 14;
export const SHB_HARDWARE = 2;
export const SHB_OS = 3;
export const SHB_USERAPPL = 4;

/** The Section Header Block of the current section. */
export interface SectionInfo {
  readonly index: number;
  readonly littleEndian: boolean;
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** -1 when unspecified. */
  readonly sectionLength: bigint;
  readonly userappl?: string;
  readonly os?: string;
  readonly hardware?: string;
}

const decoder = new TextDecoder("utf-8", { fatal: false });

export class PcapngReader extends ReaderBase {
  readonly format: CaptureFormat = "pcapng";
  interfaces: InterfaceInfo[] = [];
  /** Timestamp units of `interfaces`, same indices. */
  private units: TsUnit[] = [];
  section: SectionInfo | undefined;
  /** Blocks read so far (all types). */
  blockCount = 0;
  private le = true;
  private sectionIndex = -1;
  private pendingTrailer = 0;
  private pendingStart = 0;

  constructor(opts: ReaderOptions = {}, queue?: ByteQueue) {
    super(opts, queue);
  }

  /** Readers for the current section's byte order (set with `le`). */
  private u32: (b: Uint8Array, o: number) => number = u32le;
  private u16: (b: Uint8Array, o: number) => number = u16le;

  private setOrder(le: boolean): void {
    this.le = le;
    this.u32 = le ? u32le : u32be;
    this.u16 = le ? u16le : u16be;
  }

  private failBlock(reason: string, blockOffset: number): never {
    return this.fail(`pcapng block ${this.blockCount}: ${reason}`, blockOffset);
  }

  nextInto(rec: PacketRecord): boolean {
    const q = this.q;
    for (;;) {
      if (this.pendingTrailer !== 0 && !this.checkTrailer()) return this.starved(4, "pcapng block trailer", false);
      if (!q.ensure(8)) return this.starved(8, "pcapng block header", true);
      let b = q.buf;
      let o = q.pos;
      const start = q.offset;
      let type = this.u32(b, o);
      if (type === BT_SHB) {
        if (!q.ensure(12)) return this.starved(12, "pcapng section header", false);
        b = q.buf;
        o = q.pos;
        const bom = u32le(b, o + 8);
        if (bom === BYTE_ORDER_MAGIC) this.setOrder(true);
        else if (bom === 0x4d3c2b1a) this.setOrder(false);
        else this.failBlock(`bad byte-order magic 0x${u32be(b, o + 8).toString(16).padStart(8, "0")} in section header`, start);
      } else if (this.section === undefined) {
        const hex = Array.from(b.subarray(o, o + 4), (x) => x.toString(16).padStart(2, "0")).join("");
        this.fail(`bad pcapng magic 0x${hex}: the file does not start with a section header block`);
      }
      const len = this.u32(b, o + 4);
      if (len < 12) this.failBlock(`block length ${len} is smaller than the minimum 12`, start);
      if (len % 4 !== 0) this.failBlock(`block length ${len} is not a multiple of 4`, start);
      if (len > this.maxRecord) this.failBlock(`absurd block length ${len}`, start);
      const known = type === BT_SHB || type === BT_IDB || type === BT_EPB || type === BT_SPB || type === BT_PB;
      if (!known) {
        // Skip the body without buffering it (it may be larger than any chunk); the
        // trailer is checked once it has arrived.
        q.skip(len - 4);
        this.pendingTrailer = len;
        this.pendingStart = start;
        if (!this.checkTrailer()) return this.starved(4, `pcapng block (type 0x${type.toString(16)}, length ${len})`, false);
        continue;
      }
      if (!q.ensure(len)) return this.starved(len, `pcapng block (type 0x${type.toString(16)}, length ${len})`, false);
      b = q.buf;
      o = q.pos;
      const trailer = this.u32(b, o + len - 4);
      if (trailer !== len) this.failBlock(`block length mismatch: header says ${len}, trailer says ${trailer}`, start);
      type = this.u32(b, o);
      let isPacket = false;
      switch (type) {
        case BT_SHB:
          this.readShb(b, o, len, start);
          break;
        case BT_IDB:
          this.readIdb(b, o, len, start);
          break;
        case BT_EPB:
        case BT_PB:
          isPacket = this.readEpb(b, o, len, start, type === BT_PB, rec);
          break;
        case BT_SPB:
          isPacket = this.readSpb(b, o, len, start, rec);
          break;
      }
      q.pos = o + len;
      this.blockCount++;
      if (isPacket) return true;
    }
  }

  /** Checks the trailer of a skipped block once its 4 bytes are available. */
  private checkTrailer(): boolean {
    const q = this.q;
    if (!q.ensure(4)) return false;
    const len = this.pendingTrailer;
    const trailer = this.u32(q.buf, q.pos);
    if (trailer !== len) this.failBlock(`block length mismatch: header says ${len}, trailer says ${trailer}`, this.pendingStart);
    q.skip(4);
    this.pendingTrailer = 0;
    this.blockCount++;
    return true;
  }

  private readShb(b: Uint8Array, o: number, len: number, start: number): void {
    if (len < 28) this.failBlock(`section header block length ${len} is smaller than 28`, start);
    const major = this.u16(b, o + 12);
    const minor = this.u16(b, o + 14);
    if (major !== 1) this.failBlock(`unsupported pcapng version ${major}.${minor}`, start);
    const lo = this.u32(b, o + 16);
    const hi = this.u32(b, o + 20);
    const sl = this.le ? (BigInt(hi) << 32n) | BigInt(lo) : (BigInt(lo) << 32n) | BigInt(hi);
    const info: { -readonly [K in keyof SectionInfo]: SectionInfo[K] } = {
      index: ++this.sectionIndex,
      littleEndian: this.le,
      versionMajor: major,
      versionMinor: minor,
      sectionLength: BigInt.asIntN(64, sl),
    };
    this.options(b, o + 24, o + len - 4, start, (code, vo, vl) => {
      if (code === SHB_USERAPPL) info.userappl = decoder.decode(b.subarray(vo, vo + vl));
      else if (code === SHB_OS) info.os = decoder.decode(b.subarray(vo, vo + vl));
      else if (code === SHB_HARDWARE) info.hardware = decoder.decode(b.subarray(vo, vo + vl));
    });
    this.section = info;
    this.interfaces = [];
    this.units = [];
  }

  private readIdb(b: Uint8Array, o: number, len: number, start: number): void {
    if (len < 20) this.failBlock(`interface description block length ${len} is smaller than 20`, start);
    const linktype = this.u16(b, o + 8);
    const snaplen = this.u32(b, o + 12);
    let tsresol = 6;
    let tsoffset = 0;
    let name: string | undefined;
    let fcsBits: number | undefined;
    this.options(b, o + 16, o + len - 4, start, (code, vo, vl) => {
      if (code === IF_TSRESOL && vl >= 1) tsresol = b[vo]!;
      else if (code === IF_TSOFFSET && vl >= 8) {
        const lo = this.u32(b, vo);
        const hi = this.u32(b, vo + 4);
        const v = this.le ? (BigInt(hi) << 32n) | BigInt(lo) : (BigInt(lo) << 32n) | BigInt(hi);
        tsoffset = Number(BigInt.asIntN(64, v));
      } else if (code === IF_NAME) name = decoder.decode(b.subarray(vo, vo + vl)).replace(/\0+$/, "");
      else if (code === IF_FCSLEN && vl >= 1) fcsBits = b[vo]!; // if_fcslen is in bits
    });
    const exp = tsresol & 0x7f;
    if ((tsresol & 0x80) === 0 ? exp > 18 : exp > 63) this.failBlock(`if_tsresol ${tsresol} is out of range`, start);
    const iface: InterfaceInfo = {
      linktype,
      snaplen,
      tsresol,
      tsoffset,
      section: this.sectionIndex,
      ...(name === undefined ? {} : { name }),
      ...(fcsBits === undefined ? {} : { fcsBits }),
    };
    this.interfaces.push(iface);
    this.units.push(tsUnit(tsresol));
  }

  private readEpb(b: Uint8Array, o: number, len: number, start: number, obsolete: boolean, rec: PacketRecord): boolean {
    if (len < 32) this.failBlock(`packet block length ${len} is smaller than 32`, start);
    const ifid = obsolete ? this.u16(b, o + 8) : this.u32(b, o + 8);
    const iface = this.interfaces[ifid];
    if (iface === undefined) this.failBlock(`packet on interface ${ifid}, but the section declares ${this.interfaces.length}`, start);
    const caplen = this.u32(b, o + 20);
    if (caplen > len - 32) this.failBlock(`captured length ${caplen} does not fit in a block of ${len} bytes`, start);
    const hi = this.u32(b, o + 12);
    const lo = this.u32(b, o + 16);
    const u = this.units[ifid]!;
    if (u.perSec === 1_000_000) {
      // Fast path (the common if_tsresol 6): ticks < 2^53 for any date before year 2255.
      const ticks = hi * 4294967296 + lo;
      if (ticks <= Number.MAX_SAFE_INTEGER) {
        const sec = Math.floor(ticks / 1_000_000);
        rec.tsSec = sec + iface.tsoffset;
        rec.tsNsec = (ticks - sec * 1_000_000) * 1000;
      } else {
        ticksToSecNsec(hi, lo, u);
        rec.tsSec = tsOut.sec + iface.tsoffset;
        rec.tsNsec = tsOut.nsec;
      }
    } else {
      ticksToSecNsec(hi, lo, u);
      rec.tsSec = tsOut.sec + iface.tsoffset;
      rec.tsNsec = tsOut.nsec;
    }
    rec.buffer = b;
    rec.dataOffset = o + 28;
    rec.caplen = caplen;
    rec.len = this.u32(b, o + 24);
    rec.interfaceId = ifid;
    rec.linktype = iface.linktype;
    rec.section = this.sectionIndex;
    rec.index = this.packetCount++;
    rec.fileOffset = start;
    return true;
  }

  private readSpb(b: Uint8Array, o: number, len: number, start: number, rec: PacketRecord): boolean {
    if (len < 16) this.failBlock(`simple packet block length ${len} is smaller than 16`, start);
    const iface = this.interfaces[0];
    if (iface === undefined) this.failBlock("simple packet block, but the section declares no interface", start);
    const origlen = this.u32(b, o + 8);
    let caplen = Math.min(origlen, len - 16);
    if (iface.snaplen !== 0 && caplen > iface.snaplen) caplen = iface.snaplen;
    rec.buffer = b;
    rec.dataOffset = o + 12;
    rec.caplen = caplen;
    rec.len = origlen;
    rec.tsSec = 0;
    rec.tsNsec = 0;
    rec.interfaceId = 0;
    rec.linktype = iface.linktype;
    rec.section = this.sectionIndex;
    rec.index = this.packetCount++;
    rec.fileOffset = start;
    return true;
  }

  /** Walks the options in [from, to): code u16, length u16, value padded to 4 bytes. */
  private options(b: Uint8Array, from: number, to: number, start: number, fn: (code: number, valueOffset: number, valueLen: number) => void): void {
    let p = from;
    while (p + 4 <= to) {
      const code = this.u16(b, p);
      const vl = this.u16(b, p + 2);
      if (code === OPT_ENDOFOPT) return;
      const next = p + 4 + ((vl + 3) & ~3);
      if (p + 4 + vl > to) this.failBlock(`option ${code} of length ${vl} overruns its block`, start);
      fn(code, p + 4, vl);
      p = next;
    }
  }
}
