/**
 * Node.js adapter for the platform-neutral readers and writers: files are read by
 * chunks (constant memory, whatever the file size) and written through a stream with
 * backpressure. This is the only file of src/pcap that imports Node modules; it is not
 * re-exported by src/pcap/index.ts.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { open } from "node:fs/promises";
import { once } from "node:events";
import { CaptureReader } from "./capture-reader.js";
import { PacketRecord, type PacketLike, type ReaderOptions } from "./record.js";
import { PcapngWriter, PcapWriter, type PcapngWriterOptions, type PcapWriterOptions } from "./writer.js";
import type { CaptureFormat } from "./reader-base.js";

export interface FileReadOptions extends ReaderOptions {
  /** Bytes per read (default 1 MiB). */
  readonly chunkSize?: number;
}

/**
 * Yields the file's bytes in fresh chunks (each chunk is a new buffer, because the
 * readers keep views into them).
 */
export async function* readFileChunks(path: string, chunkSize = 1 << 20): AsyncGenerator<Uint8Array, void, undefined> {
  const fh = await open(path, "r");
  try {
    for (;;) {
      // allocUnsafe: no zero-filling; every byte handed out was just read.
      const buf = Buffer.allocUnsafe(chunkSize);
      const { bytesRead } = await fh.read(buf, 0, chunkSize, null);
      if (bytesRead === 0) return;
      yield bytesRead === chunkSize ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Calls `onPacket` for every packet of a pcap or pcapng file. The same record object
 * is reused for every call (clone() it to keep it). Returns the packet count and format.
 * Returning `false` from the callback stops the scan early.
 */
export async function scanCaptureFile(
  path: string,
  onPacket: (rec: PacketRecord) => void | boolean,
  opts: FileReadOptions = {},
): Promise<{ count: number; format: CaptureFormat | undefined; reader: CaptureReader }> {
  const reader = new CaptureReader(opts);
  const rec = new PacketRecord();
  let count = 0;
  for await (const chunk of readFileChunks(path, opts.chunkSize)) {
    reader.push(chunk);
    while (reader.nextInto(rec)) {
      count++;
      if (onPacket(rec) === false) return { count, format: reader.format, reader };
    }
  }
  reader.end();
  while (reader.nextInto(rec)) {
    count++;
    if (onPacket(rec) === false) break;
  }
  return { count, format: reader.format, reader };
}

/** Async iteration over the packets of a file; each record is a new object. */
export async function* packetsOfFile(path: string, opts: FileReadOptions = {}): AsyncGenerator<PacketRecord, void, undefined> {
  const reader = new CaptureReader(opts);
  for await (const chunk of readFileChunks(path, opts.chunkSize)) {
    reader.push(chunk);
    for (let r = reader.next(); r !== undefined; r = reader.next()) yield r;
  }
  reader.end();
  for (let r = reader.next(); r !== undefined; r = reader.next()) yield r;
}

/**
 * A capture file being written. `write()` returns a promise only when the stream asks
 * the producer to wait (backpressure), so a loop can do `const p = w.write(x); if (p) await p;`.
 */
export class CaptureFileWriter {
  private readonly stream: WriteStream;
  private readonly inner: PcapWriter | PcapngWriter;
  private needDrain = false;

  private constructor(path: string, make: (sink: (c: Uint8Array) => void) => PcapWriter | PcapngWriter) {
    this.stream = createWriteStream(path);
    this.inner = make((c) => {
      if (!this.stream.write(c)) this.needDrain = true;
    });
  }

  static pcap(path: string, opts: PcapWriterOptions = {}): CaptureFileWriter {
    return new CaptureFileWriter(path, (sink) => new PcapWriter(sink, opts));
  }

  static pcapng(path: string, opts: PcapngWriterOptions = {}): CaptureFileWriter {
    return new CaptureFileWriter(path, (sink) => new PcapngWriter(sink, opts));
  }

  get count(): number {
    return this.inner.count;
  }

  write(p: PacketLike | PacketRecord): Promise<void> | undefined {
    this.inner.write(p);
    if (!this.needDrain) return undefined;
    this.needDrain = false;
    return once(this.stream, "drain").then(() => undefined);
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    this.inner.close();
    this.stream.end();
    await once(this.stream, "finish");
  }
}
