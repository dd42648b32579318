/**
 * Format sniffing: CaptureReader looks at the first four bytes and hands the stream to
 * a PcapReader or a PcapngReader sharing the same input queue. readCapture() reads a
 * whole in-memory file.
 */
import { PcapError } from "../errors/index.js";
import { PcapReader, pcapMagicInfo } from "./pcap-reader.js";
import { BT_SHB, PcapngReader } from "./pcapng-reader.js";
import { ByteQueue } from "./queue.js";
import { PacketRecord, type InterfaceInfo, type ReaderOptions } from "./record.js";
import { u32le, type CaptureFormat, type PacketSource } from "./reader-base.js";

/** "pcap", "pcapng", or undefined, from the first 4 bytes of a file. */
export function sniffFormat(head: Uint8Array): CaptureFormat | undefined {
  if (head.length < 4) return undefined;
  if (pcapMagicInfo(head) !== undefined) return "pcap";
  if (u32le(head, 0) === BT_SHB) return "pcapng";
  return undefined;
}

export class CaptureReader implements PacketSource {
  private readonly q = new ByteQueue();
  private inner: PcapReader | PcapngReader | undefined;
  private readonly opts: ReaderOptions;

  constructor(opts: ReaderOptions = {}) {
    this.opts = opts;
  }

  get format(): CaptureFormat | undefined {
    return this.inner?.format;
  }
  get interfaces(): readonly InterfaceInfo[] {
    return this.inner?.interfaces ?? [];
  }
  get packetCount(): number {
    return this.inner?.packetCount ?? 0;
  }
  get done(): boolean {
    return this.inner?.done ?? false;
  }
  /** The format-specific reader, once the format is known (header details: `.header`, `.section`). */
  get reader(): PcapReader | PcapngReader | undefined {
    return this.inner;
  }

  push(chunk: Uint8Array): void {
    this.q.push(chunk);
  }

  end(): void {
    this.q.end();
  }

  nextInto(rec: PacketRecord): boolean {
    if (this.inner === undefined) {
      if (!this.q.ensure(4)) {
        if (!this.q.ended) return false;
        throw new PcapError(`not a capture file: ${Math.max(0, this.q.available)} bytes, too short for a magic number`, 0, 0);
      }
      const fmt = sniffFormat(this.q.buf.subarray(this.q.pos, this.q.pos + 4));
      if (fmt === undefined) {
        const hex = Array.from(this.q.buf.subarray(this.q.pos, this.q.pos + 4), (x) => x.toString(16).padStart(2, "0")).join("");
        throw new PcapError(`unknown file format: magic 0x${hex} is neither pcap nor pcapng`, 0, 0);
      }
      this.inner = fmt === "pcap" ? new PcapReader(this.opts, this.q) : new PcapngReader(this.opts, this.q);
    }
    return this.inner.nextInto(rec);
  }

  next(): PacketRecord | undefined {
    const rec = new PacketRecord();
    return this.nextInto(rec) ? rec : undefined;
  }
}

export interface Capture {
  readonly format: CaptureFormat;
  /** Interfaces of the last section. */
  readonly interfaces: readonly InterfaceInfo[];
  readonly packets: PacketRecord[];
}

/** Reads a whole capture held in memory. Packet data are views of `bytes`. */
export function readCapture(bytes: Uint8Array, opts: ReaderOptions = {}): Capture {
  const r = new CaptureReader(opts);
  r.push(bytes);
  r.end();
  const packets: PacketRecord[] = [];
  for (let p = r.next(); p !== undefined; p = r.next()) packets.push(p);
  return { format: r.format!, interfaces: r.interfaces, packets };
}

/** Iterates over the packets of an in-memory capture, reusing one record. */
export function* iteratePackets(bytes: Uint8Array, opts: ReaderOptions = {}): Generator<PacketRecord, void, undefined> {
  const r = new CaptureReader(opts);
  r.push(bytes);
  r.end();
  const rec = new PacketRecord();
  while (r.nextInto(rec)) yield rec;
}
