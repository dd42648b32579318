/**
 * Writers for classic pcap (microsecond or nanosecond magic, either byte order) and
 * pcapng (SHB + one IDB per interface + EPBs). Output goes to a sink in chunks of
 * about `chunkSize` bytes; each chunk is handed over and never touched again, so a
 * sink may keep it (a Node stream, an array of parts, a Blob builder).
 *
 *   const parts: Uint8Array[] = [];
 *   const w = new PcapWriter((c) => parts.push(c), { linktype: LINKTYPE_ETHERNET, nanosecond: true });
 *   w.write(pkt); w.close();
 *
 * Packets longer than the snaplen are truncated to it (caplen = snaplen, len kept), as a
 * capture would. Timestamps: seconds in [0, 2^32), nanoseconds in [0, 1e9); microsecond
 * output truncates the nanoseconds.
 */
import { UsageError } from "../errors/index.js";
import { PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC } from "./pcap-reader.js";
import { BT_EPB, BT_IDB, BT_SHB, BYTE_ORDER_MAGIC, IF_NAME, IF_TSRESOL, SHB_USERAPPL } from "./pcapng-reader.js";
import { MAXIMUM_SNAPLEN, PacketRecord, type PacketLike } from "./record.js";
import { secNsecToTicks, ticksOut, tsUnit, type TsUnit } from "./timestamp.js";

export type ChunkSink = (chunk: Uint8Array) => void;

export interface WriterOptions {
  /** Little-endian output (default true). */
  readonly littleEndian?: boolean;
  /** Approximate size of the chunks handed to the sink (default 1 MiB). */
  readonly chunkSize?: number;
}

abstract class BufferedWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;
  private closed = false;
  protected readonly le: boolean;
  private readonly chunkSize: number;
  /** Packets written. */
  count = 0;

  constructor(
    private readonly sink: ChunkSink,
    opts: WriterOptions,
  ) {
    this.le = opts.littleEndian ?? true;
    this.chunkSize = Math.max(4096, opts.chunkSize ?? 1 << 20);
    this.buf = new Uint8Array(this.chunkSize);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for n bytes; returns the offset to write at. */
  protected reserve(n: number): number {
    if (this.closed) throw new UsageError("write after close()");
    if (this.pos + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) {
        this.buf = new Uint8Array(n);
        this.view = new DataView(this.buf.buffer);
      }
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  protected u16(o: number, v: number): void {
    this.view.setUint16(o, v, this.le);
  }
  protected u32(o: number, v: number): void {
    this.view.setUint32(o, v >>> 0, this.le);
  }
  protected bytes(o: number, src: Uint8Array, from = 0, len = src.length - from): void {
    this.buf.set(len === src.length && from === 0 ? src : src.subarray(from, from + len), o);
  }
  protected zero(o: number, n: number): void {
    this.buf.fill(0, o, o + n);
  }

  /** Hands the buffered bytes to the sink. */
  flush(): void {
    if (this.pos === 0) return;
    const out = this.buf.subarray(0, this.pos);
    this.buf = new Uint8Array(this.chunkSize);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
    this.sink(out);
  }

  /** Flushes; later writes throw. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}

function packetBytes(p: PacketLike | PacketRecord): { src: Uint8Array; from: number; caplen: number } {
  if (p instanceof PacketRecord) return { src: p.buffer, from: p.dataOffset, caplen: p.caplen };
  return { src: p.data, from: 0, caplen: p.data.length };
}

function checkTime(sec: number, nsec: number): void {
  if (!Number.isInteger(sec) || sec < 0 || sec > 0xffffffff) throw new UsageError(`timestamp seconds ${sec} out of range [0, 2^32)`);
  if (!Number.isInteger(nsec) || nsec < 0 || nsec > 999_999_999) throw new UsageError(`timestamp nanoseconds ${nsec} out of range [0, 1e9)`);
}

export interface PcapWriterOptions extends WriterOptions {
  /** LINKTYPE_* (default 1, Ethernet). */
  readonly linktype?: number;
  /** Default 262144 (libpcap's MAXIMUM_SNAPLEN). */
  readonly snaplen?: number;
  /** Nanosecond magic a1b23c4d instead of microsecond a1b2c3d4. */
  readonly nanosecond?: boolean;
}

export class PcapWriter extends BufferedWriter {
  private readonly nano: boolean;
  readonly snaplen: number;

  constructor(sink: ChunkSink, opts: PcapWriterOptions = {}) {
    super(sink, opts);
    this.nano = opts.nanosecond ?? false;
    this.snaplen = opts.snaplen ?? MAXIMUM_SNAPLEN;
    const o = this.reserve(24);
    this.u32(o, this.nano ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC);
    this.u16(o + 4, 2);
    this.u16(o + 6, 4);
    this.u32(o + 8, 0);
    this.u32(o + 12, 0);
    this.u32(o + 16, this.snaplen);
    this.u32(o + 20, opts.linktype ?? 1);
  }

  write(p: PacketLike | PacketRecord): void {
    checkTime(p.tsSec, p.tsNsec);
    const { src, from, caplen: full } = packetBytes(p);
    const caplen = Math.min(full, this.snaplen);
    const len = p.len ?? full;
    const o = this.reserve(16 + caplen);
    this.u32(o, p.tsSec);
    this.u32(o + 4, this.nano ? p.tsNsec : Math.floor(p.tsNsec / 1000));
    this.u32(o + 8, caplen);
    this.u32(o + 12, len);
    this.bytes(o + 16, src, from, caplen);
    this.count++;
  }
}

export interface PcapngInterfaceOptions {
  readonly linktype: number;
  /** 0 = no limit (default 262144). */
  readonly snaplen?: number;
  /** if_tsresol, decimal exponent 0..9 (default 6, microseconds; 9 = nanoseconds). */
  readonly tsresol?: number;
  readonly name?: string;
}

export interface PcapngWriterOptions extends WriterOptions {
  /** Interfaces declared in the section header (default: one Ethernet interface). */
  readonly interfaces?: readonly PcapngInterfaceOptions[];
  /** shb_userappl (default "tsbpf"). */
  readonly userappl?: string;
}

const encoder = new TextEncoder();

export class PcapngWriter extends BufferedWriter {
  private readonly ifaces: { unit: TsUnit; snaplen: number }[] = [];

  constructor(sink: ChunkSink, opts: PcapngWriterOptions = {}) {
    super(sink, opts);
    this.section(opts.userappl ?? "tsbpf");
    for (const i of opts.interfaces ?? [{ linktype: 1 }]) this.addInterface(i);
  }

  private optionsSize(opts: readonly [number, Uint8Array][]): number {
    if (opts.length === 0) return 0;
    return opts.reduce((n, [, v]) => n + 4 + ((v.length + 3) & ~3), 4);
  }

  private writeOptions(o: number, opts: readonly [number, Uint8Array][]): number {
    if (opts.length === 0) return o;
    for (const [code, v] of opts) {
      const padded = (v.length + 3) & ~3;
      this.u16(o, code);
      this.u16(o + 2, v.length);
      this.zero(o + 4, padded);
      this.bytes(o + 4, v);
      o += 4 + padded;
    }
    this.u32(o, 0); // opt_endofopt
    return o + 4;
  }

  private section(userappl: string): void {
    const opts: [number, Uint8Array][] = userappl === "" ? [] : [[SHB_USERAPPL, encoder.encode(userappl)]];
    const len = 28 + this.optionsSize(opts);
    const o = this.reserve(len);
    this.u32(o, BT_SHB);
    this.u32(o + 4, len);
    this.u32(o + 8, BYTE_ORDER_MAGIC);
    this.u16(o + 12, 1);
    this.u16(o + 14, 0);
    this.u32(o + 16, 0xffffffff); // section length -1: unspecified
    this.u32(o + 20, 0xffffffff);
    const end = this.writeOptions(o + 24, opts);
    this.u32(end, len);
  }

  /** Declares another interface (an IDB) and returns its id. */
  addInterface(i: PcapngInterfaceOptions): number {
    const tsresol = i.tsresol ?? 6;
    if (!Number.isInteger(tsresol) || tsresol < 0 || tsresol > 9) throw new UsageError(`if_tsresol ${tsresol}: only decimal resolutions 0..9 are written`);
    const snaplen = i.snaplen ?? MAXIMUM_SNAPLEN;
    const opts: [number, Uint8Array][] = [];
    if (i.name !== undefined) opts.push([IF_NAME, encoder.encode(i.name)]);
    if (tsresol !== 6) opts.push([IF_TSRESOL, Uint8Array.of(tsresol)]);
    const len = 20 + this.optionsSize(opts);
    const o = this.reserve(len);
    this.u32(o, BT_IDB);
    this.u32(o + 4, len);
    this.u16(o + 8, i.linktype);
    this.u16(o + 10, 0);
    this.u32(o + 12, snaplen);
    const end = this.writeOptions(o + 16, opts);
    this.u32(end, len);
    this.ifaces.push({ unit: tsUnit(tsresol), snaplen });
    return this.ifaces.length - 1;
  }

  write(p: PacketLike | PacketRecord, interfaceId = p.interfaceId ?? 0): void {
    const iface = this.ifaces[interfaceId];
    if (iface === undefined) throw new UsageError(`interface ${interfaceId} was not declared (${this.ifaces.length} interfaces)`);
    checkTime(p.tsSec, p.tsNsec);
    const { src, from, caplen: full } = packetBytes(p);
    const caplen = iface.snaplen === 0 ? full : Math.min(full, iface.snaplen);
    const padded = (caplen + 3) & ~3;
    const len = 32 + padded;
    const o = this.reserve(len);
    secNsecToTicks(p.tsSec, p.tsNsec, iface.unit);
    this.u32(o, BT_EPB);
    this.u32(o + 4, len);
    this.u32(o + 8, interfaceId);
    this.u32(o + 12, ticksOut.hi);
    this.u32(o + 16, ticksOut.lo);
    this.u32(o + 20, caplen);
    this.u32(o + 24, p.len ?? full);
    this.bytes(o + 28, src, from, caplen);
    this.zero(o + 28 + caplen, padded - caplen);
    this.u32(o + 28 + padded, len);
    this.count++;
  }
}

/** Collects a writer's output into one Uint8Array (for tests and small files). */
export function collectBytes(write: (sink: ChunkSink) => void): Uint8Array {
  const parts: Uint8Array[] = [];
  write((c) => parts.push(c));
  const out = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of parts) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
