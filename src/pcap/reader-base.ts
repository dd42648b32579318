/**
 * The push-parser contract shared by the pcap, pcapng and format-sniffing readers:
 *
 *   const r = new CaptureReader();
 *   for each chunk: r.push(chunk); while (r.nextInto(rec)) use(rec);
 *   r.end();        while (r.nextInto(rec)) use(rec);   // throws PcapError if truncated
 *
 * `nextInto` returns false when it needs more input (or, after end(), when the file is
 * exhausted; `done` then is true). `next()` is the same with a fresh record each time.
 */
import { PcapError } from "../errors/index.js";
import { ByteQueue } from "./queue.js";
import { DEFAULT_MAX_RECORD, PacketRecord, type InterfaceInfo, type ReaderOptions } from "./record.js";

export type CaptureFormat = "pcap" | "pcapng";

export interface PacketSource {
  /** The file format, once known (after the first bytes were parsed). */
  readonly format: CaptureFormat | undefined;
  /** Interfaces of the current section (classic pcap: one, from the file header). */
  readonly interfaces: readonly InterfaceInfo[];
  /** Packets returned so far. */
  readonly packetCount: number;
  /** True after end() once every packet was returned. */
  readonly done: boolean;
  push(chunk: Uint8Array): void;
  end(): void;
  nextInto(rec: PacketRecord): boolean;
  next(): PacketRecord | undefined;
}

export abstract class ReaderBase implements PacketSource {
  abstract readonly format: CaptureFormat | undefined;
  abstract readonly interfaces: readonly InterfaceInfo[];
  protected readonly q: ByteQueue;
  protected readonly maxRecord: number;
  packetCount = 0;
  done = false;

  constructor(opts: ReaderOptions = {}, queue?: ByteQueue) {
    this.q = queue ?? new ByteQueue();
    this.maxRecord = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD;
  }

  push(chunk: Uint8Array): void {
    this.q.push(chunk);
  }

  end(): void {
    this.q.end();
  }

  abstract nextInto(rec: PacketRecord): boolean;

  next(): PacketRecord | undefined {
    const rec = new PacketRecord();
    return this.nextInto(rec) ? rec : undefined;
  }

  protected fail(reason: string, offset = this.q.offset): never {
    throw new PcapError(reason, offset, this.packetCount);
  }

  /**
   * Called when `need` bytes are not available. Before end(): wait (false). After end():
   * a clean end at a record boundary finishes the file; anything else is truncation.
   */
  protected starved(need: number, what: string, boundary: boolean): false {
    if (!this.q.ended) return false;
    const have = this.q.available;
    if (boundary && have <= 0) {
      this.done = true;
      return false;
    }
    return this.fail(`truncated ${what}: need ${need} bytes, only ${Math.max(0, have)} left`);
  }
}

export const u16le = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
export const u16be = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
export const u32le = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
export const u32be = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
