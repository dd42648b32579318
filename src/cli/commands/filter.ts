/**
 * `tsbpf filter EXPR`: the tcpdump/libpcap filter language.
 *
 *   tsbpf filter -d 'ip and tcp port 8080'          listing (-dd: C array, -ddd: decimal), as tcpdump -d
 *   tsbpf filter EXPR -r in.pcap[ng] [-w out.pcap]  count (and write) the matching packets, as tcpdump -r -w
 *
 * The expression is compiled as tcpdump compiles it for the file (its link type and
 * snapshot length; Ethernet and 262144 for -d without -r), so `-d` listings and
 * verdicts equal tcpdump's. `--engine` chooses what runs it: the cBPF interpreter
 * (interp), the JavaScript-compiled filter (js), the kernel's cBPF->eBPF conversion on
 * the eBPF interpreter (ebpf) or compiled to WebAssembly by src/jit and run a block of
 * packets per call (jit, src/cbpf/jit-filter.ts), or js where possible (auto, the
 * default). A progress
 * bar goes to stderr for large files when stderr is a terminal.
 *
 * The capture loop (runCapture) is shared with `tsbpf cbpf -r`.
 */
import { Progress } from "../progress.js";
import { closeSync, createWriteStream, openSync, readSync, statSync, writeSync, type WriteStream } from "node:fs";
import { once } from "node:events";
// The engines' modules one by one: the eBPF interpreter and the JIT (and the VM and
// compiler under them) load only when chosen (loadEngine), not on every start.
import type { SockFilter } from "../../cbpf/constants.js";
import type { EbpfFilter } from "../../cbpf/ebpf-filter.js";
import type { JitFilter } from "../../cbpf/jit-filter.js";
import { CbpfProgram } from "../../cbpf/interp.js";
import { compileFilter, type CbpfFilter } from "../../cbpf/jsgen.js";
import { formatC, formatDecimal, formatListing } from "../../cbpf/text.js";
import { FilterError, LINKTYPE_DESCRIPTION, compileFilterExpression, type FilterCompileOptions } from "../../cbpf/filter/index.js";
import { CaptureReader, LINKTYPE_ETHERNET, MAXIMUM_SNAPLEN, PacketRecord, PcapWriter, PcapngWriter, collectBytes, linktypeFromName, linktypeName } from "../../pcap/index.js";
import { readFileChunks } from "../../pcap/node.js";
import { PcapError } from "../../errors/index.js";
import { CliFailure, nodeIo, readInput, type CliIo } from "../io.js";

export type EngineName = "auto" | "interp" | "js" | "ebpf" | "jit";

export interface FilterCommandOptions {
  dump?: number;
  /** false with -O / --no-optimize. */
  optimize?: boolean;
  read?: string;
  write?: string;
  count?: string;
  file?: string;
  engine?: string;
  linktype?: string;
  snaplen?: string;
  pcapng?: boolean;
  nano?: boolean;
  progress?: boolean;
  quiet?: boolean;
}

/** A Commander argParser that counts repetitions (-d, -dd, -ddd). */
export const increment = (_v: unknown, prev: number): number => prev + 1;

/** tcpdump's "link-type EN10MB (Ethernet)" line. */
const linktypeLabel = (lt: number): string => `${linktypeName(lt)} (${LINKTYPE_DESCRIPTION[lt] ?? linktypeName(lt)})`;

export function parseEngine(v: string | undefined): EngineName {
  const e = v ?? "auto";
  if (e !== "auto" && e !== "interp" && e !== "js" && e !== "ebpf" && e !== "jit") throw new CliFailure(`unknown engine '${e}' (auto, interp, js, ebpf, jit)`);
  return e;
}

const engineClasses: { ebpf?: typeof EbpfFilter; jit?: typeof JitFilter } = {};

/** Loads the modules of the ebpf and jit engines (makeEngine needs them loaded). */
export async function loadEngine(engine: EngineName): Promise<void> {
  if (engine === "ebpf") engineClasses.ebpf ??= (await import("../../cbpf/ebpf-filter.js")).EbpfFilter;
  if (engine === "jit") engineClasses.jit ??= (await import("../../cbpf/jit-filter.js")).JitFilter;
}

const loaded = <T>(c: T | undefined, engine: string): T => {
  if (c === undefined) throw new Error(`internal error: engine ${engine} used before loadEngine()`);
  return c;
};

/** Prepares a program on an engine (after loadEngine(engine)). */
export function makeEngine(prog: readonly SockFilter[], engine: EngineName): CbpfFilter {
  switch (engine) {
    case "ebpf":
      return new (loaded(engineClasses.ebpf, engine))(prog);
    case "jit":
      return new (loaded(engineClasses.jit, engine))(prog);
    case "interp":
      return new CbpfProgram(prog);
    default:
      return compileFilter(prog, { engine });
  }
}

export function positiveInt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliFailure(`${name} must be a positive integer, got '${v}'`);
  return n;
}

/** The listing in tcpdump's -d (1), -dd (2) or -ddd (3 or more) form. */
export function formatDump(prog: readonly SockFilter[], level: number): string {
  return level === 1 ? formatListing(prog) : level === 2 ? formatC(prog) : formatDecimal(prog);
}

/** Progress through a capture file: bytes read of the file's size, packets seen and matched. */
class FileProgress {
  private readonly bar: Progress;
  constructor(
    private readonly total: number,
    write: (s: string) => void,
  ) {
    this.bar = new Progress(write);
  }
  update(bytes: number, packets: number, matched: number): void {
    this.bar.update(bytes / this.total, `${packets.toLocaleString("en-US")} packets, ${matched.toLocaleString("en-US")} matched`);
  }
  done(): void {
    this.bar.done();
  }
}

export interface CaptureRunOptions {
  readonly input: string;
  readonly output?: string | undefined;
  readonly limit?: number | undefined;
  readonly pcapng?: boolean | undefined;
  readonly nano?: boolean | undefined;
  readonly progress?: boolean | undefined;
  readonly quiet?: boolean | undefined;
}

/** Chunks of a file, or of stdin for "-". */
async function* inputChunks(path: string): AsyncGenerator<Uint8Array> {
  if (path !== "-") {
    yield* readFileChunks(path);
    return;
  }
  for await (const c of process.stdin) yield new Uint8Array(c as Buffer);
}

type Sink = { stream: WriteStream | NodeJS.WriteStream; needDrain: boolean; writer: PcapWriter | PcapngWriter | undefined };

/**
 * Streams a capture through the filter built by `filterFor(linktype, snaplen)`
 * (called once per link type), writes the matching packets when `output` is set, and
 * reports like tcpdump. Returns the exit status.
 */
export async function runCapture(o: CaptureRunOptions, filterFor: (linktype: number, snaplen: number) => CbpfFilter, io: CliIo): Promise<number> {
  if (o.input !== "-") {
    try {
      statSync(o.input);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new CliFailure(`cannot read capture '${o.input}': ${code === "ENOENT" ? "no such file" : String(e)}`);
    }
  }
  const size = o.input === "-" ? 0 : statSync(o.input).size;
  const errTty = io === nodeIo && process.stderr.isTTY === true;
  const progress = (o.progress ?? true) && errTty && size >= 16 << 20 ? new FileProgress(size, (s) => io.err(s)) : undefined;
  const fast = fastPcap(o, filterFor, io, progress);
  if (fast !== undefined) return fast;
  const reader = new CaptureReader();
  const rec = new PacketRecord();
  const filters = new Map<number, CbpfFilter>();
  let sink: Sink | undefined;
  let outLinktype = -1;
  let total = 0;
  let matched = 0;
  let bytes = 0;
  let announced = false;
  const openSink = (linktype: number, snaplen: number): Sink => {
    const path = o.output!;
    const stream = path === "-" ? process.stdout : createWriteStream(path);
    const s: Sink = { stream, needDrain: false, writer: undefined };
    const push = (c: Uint8Array): void => {
      if (!stream.write(c)) s.needDrain = true;
    };
    s.writer = o.pcapng
      ? new PcapngWriter(push, { interfaces: [{ linktype, snaplen, tsresol: o.nano ? 9 : 6 }], userappl: "tsbpf" })
      : new PcapWriter(push, { linktype, snaplen, nanosecond: o.nano === true });
    return s;
  };
  const limit = o.limit ?? Infinity;
  let stopped = false;
  const consume = (): void => {
    while (!stopped && reader.nextInto(rec)) {
      total++;
      let f = filters.get(rec.linktype);
      const iface = reader.interfaces[rec.interfaceId];
      const snaplen = iface === undefined || iface.snaplen === 0 || iface.snaplen > 262144 ? 262144 : iface.snaplen;
      if (!announced && o.quiet !== true) {
        announced = true;
        io.err(`reading from file ${o.input === "-" ? "-" : o.input}, link-type ${linktypeLabel(rec.linktype)}, snapshot length ${snaplen}\n`);
      }
      if (f === undefined) {
        f = filterFor(rec.linktype, snaplen);
        filters.set(rec.linktype, f);
      }
      if (f.run(rec.buffer, rec.len, rec.caplen, rec.dataOffset) === 0) continue;
      matched++;
      if (o.output !== undefined) {
        if (sink === undefined) {
          sink = openSink(rec.linktype, snaplen);
          outLinktype = rec.linktype;
        } else if (!o.pcapng && rec.linktype !== outLinktype) {
          throw new CliFailure(`packet ${rec.index}: link type ${linktypeName(rec.linktype)} differs from the first packet's (${linktypeName(outLinktype)}); write pcapng (--pcapng) instead`);
        }
        sink.writer!.write(rec);
      }
      if (matched >= limit) stopped = true;
    }
  };
  try {
    for await (const chunk of inputChunks(o.input)) {
      bytes += chunk.length;
      reader.push(chunk);
      consume();
      progress?.update(bytes, total, matched);
      if (stopped) break;
      const s = sink as Sink | undefined;
      if (s !== undefined && s.needDrain) {
        s.needDrain = false;
        await once(s.stream, "drain");
      }
    }
    if (!stopped) {
      reader.end();
      consume();
    }
    // No packets: still compile for the capture's link type, so a bad expression is reported.
    const first = reader.interfaces[0];
    if (filters.size === 0 && first !== undefined) filterFor(first.linktype, first.snaplen === 0 || first.snaplen > 262144 ? 262144 : first.snaplen);
  } catch (e) {
    if (e instanceof PcapError) throw new CliFailure(`${o.input}: ${e.message}`);
    throw e;
  } finally {
    progress?.done();
    for (const f of filters.values()) if (f.engine === "ebpf" || f.engine === "jit") (f as EbpfFilter | JitFilter).close();
  }
  if (o.output !== undefined) {
    // An empty result still gets a file with a header, as tcpdump -w writes one.
    const s: Sink = sink ?? openSink(reader.interfaces[0]?.linktype ?? LINKTYPE_ETHERNET, 262144);
    s.writer!.close();
    if (s.stream !== process.stdout) {
      (s.stream as WriteStream).end();
      await once(s.stream, "finish");
    }
  }
  if (o.quiet !== true) (o.output === "-" ? io.err : io.out)(`${matched} of ${total} packets matched\n`);
  return 0;
}

const snaplenOf = (snaplen: number): number => (snaplen === 0 || snaplen > MAXIMUM_SNAPLEN ? MAXIMUM_SNAPLEN : snaplen);

/**
 * The fast path for the common case, a little-endian classic pcap file filtered into
 * a pcap file of the same timestamp resolution (or into nothing): records are parsed
 * in place from one reused 8 MiB buffer and the matching ones copied byte for byte,
 * synchronously. Returns undefined when the input or output needs the general path
 * (pcapng, big-endian, stdin/stdout, --pcapng, a resolution change).
 */
function fastPcap(o: CaptureRunOptions, filterFor: (linktype: number, snaplen: number) => CbpfFilter, io: CliIo, progress: FileProgress | undefined): number | undefined {
  if (o.input === "-" || o.output === "-" || o.pcapng === true) return undefined;
  let fd: number;
  try {
    fd = openSync(o.input, "r");
  } catch {
    return undefined;
  }
  let out: number | undefined;
  try {
    let buf: Uint8Array = new Uint8Array(8 << 20);
    let have = readSync(fd, buf, 0, buf.length, null);
    if (have < 24) return undefined;
    const dv = (): DataView => new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let view = dv();
    const magic = view.getUint32(0, true);
    if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) return undefined;
    const nano = magic === 0xa1b23c4d;
    if (o.output !== undefined && nano !== (o.nano === true)) return undefined;
    if (view.getUint16(4, true) !== 2) return undefined;
    const fileSnaplen = view.getUint32(16, true);
    const linktype = view.getUint32(20, true) & 0x03ffffff;
    const snaplen = snaplenOf(fileSnaplen);
    const limit = Math.max(fileSnaplen, MAXIMUM_SNAPLEN);
    if (o.quiet !== true) io.err(`reading from file ${o.input}, link-type ${linktypeLabel(linktype)}, snapshot length ${snaplen}\n`);
    const filter = filterFor(linktype, snaplen);
    // The JIT reads the packets where they are: the input buffer moves into its memory.
    const jit = filter.engine === "jit" ? (filter as JitFilter) : undefined;
    if (jit !== undefined) {
      const inSpace = jit.ioBuffer(buf.length);
      inSpace.set(buf.subarray(0, have));
      buf = inSpace;
      view = dv();
    }
    // The JIT filters runs of records in one call (filterPcapRecords); its verdicts,
    // and how many are left of them.
    let verdicts: Uint32Array = new Uint32Array(0);
    let vi = 0;
    let vn = 0;
    let obuf = new Uint8Array(4 << 20);
    let opos = 0;
    if (o.output !== undefined) {
      out = openSync(o.output, "w");
      const hdr = collectBytes((sink) => new PcapWriter(sink, { linktype, snaplen, nanosecond: nano }).close());
      obuf.set(hdr, 0);
      opos = hdr.length;
    }
    const flush = (): void => {
      for (let w = 0; w < opos; ) w += writeSync(out!, obuf, w, opos - w);
      opos = 0;
    };
    const copyOut = (bytes: Uint8Array): void => {
      if (opos + bytes.length > obuf.length) {
        flush();
        if (bytes.length > obuf.length) obuf = new Uint8Array(bytes.length);
      }
      obuf.set(bytes, opos);
      opos += bytes.length;
    };
    // The current run of consecutive matching records, buf[runStart, runEnd): large runs
    // are written straight from the input buffer, small ones gathered into obuf.
    let runStart = 0;
    let runEnd = -1;
    const emitRun = (): void => {
      if (runEnd === -1) return;
      if (runEnd - runStart >= 1 << 16) {
        flush();
        for (let w = runStart; w < runEnd; ) w += writeSync(out!, buf, w, runEnd - w);
      } else copyOut(buf.subarray(runStart, runEnd));
      runEnd = -1;
    };
    const maxOut = o.limit ?? Infinity;
    let pos = 24;
    let base = 0; // file offset of buf[0]
    let total = 0;
    let matched = 0;
    let eof = false;
    const truncated = (what: string, need: number): never => {
      throw new PcapError(`truncated ${what}: need ${need} bytes, only ${have - pos} left`, base + pos, total);
    };
    outer: for (;;) {
      // Records entirely in the buffer.
      while (have - pos >= 16) {
        const caplen = view.getUint32(pos + 8, true);
        if (caplen > limit) {
          throw new PcapError(`invalid packet capture length ${caplen}, bigger than snaplen of ${fileSnaplen} and maximum of ${MAXIMUM_SNAPLEN}`, base + pos, total);
        }
        const end = pos + 16 + caplen;
        if (end > have) break;
        total++;
        let verdict: number;
        if (jit !== undefined) {
          if (vi === vn) {
            // This record is whole and valid, so the walk filters at least it.
            vn = jit.filterPcapRecords(buf, pos, have, limit);
            verdicts = jit.pcapVerdicts();
            vi = 0;
          }
          verdict = verdicts[vi++]!;
        } else verdict = filter.run(buf, view.getUint32(pos + 12, true), caplen, pos + 16);
        if (verdict !== 0) {
          matched++;
          if (out !== undefined) {
            if (caplen <= snaplen) {
              // Extend the run of matching records, copied (or written) as one block.
              if (runEnd !== pos) emitRun();
              if (runEnd === -1) runStart = pos;
              runEnd = end;
            } else {
              emitRun();
              copyOut(buf.subarray(pos, pos + 16 + snaplen));
              new DataView(obuf.buffer).setUint32(opos - 16 - snaplen + 8, snaplen, true);
            }
          }
          if (matched >= maxOut) {
            pos = end;
            break outer;
          }
        }
        pos = end;
      }
      vi = vn = 0; // the buffer moves: verdicts are for records at their old offsets
      emitRun();
      if (eof) {
        if (have === pos) break;
        if (have - pos < 16) truncated("pcap record header", 16);
        truncated(`pcap record (caplen ${view.getUint32(pos + 8, true)})`, 16 + view.getUint32(pos + 8, true));
      }
      // Keep the partial record, grow the buffer for a record larger than it, read on.
      const need = have - pos >= 16 ? 16 + view.getUint32(pos + 8, true) : 16;
      if (need > buf.length) {
        const rest = buf.slice(pos, have); // before ioBuffer(), which may detach buf
        buf = jit !== undefined ? jit.ioBuffer(need + (1 << 20)) : new Uint8Array(need + (1 << 20));
        buf.set(rest);
        view = dv();
      } else buf.copyWithin(0, pos, have);
      base += pos;
      have -= pos;
      pos = 0;
      const n = readSync(fd, buf, have, buf.length - have, null);
      if (n === 0) eof = true;
      have += n;
      progress?.update(base + have, total, matched);
    }
    emitRun();
    if (out !== undefined) flush();
    progress?.done();
    if (o.quiet !== true) io.out(`${matched} of ${total} packets matched\n`);
    return 0;
  } catch (e) {
    progress?.done();
    if (e instanceof PcapError) throw new CliFailure(`${o.input}: ${e.message}`);
    throw e;
  } finally {
    closeSync(fd);
    if (out !== undefined) closeSync(out);
  }
}

/** -y/--linktype: a LINKTYPE name (EN10MB, RAW, LINUX_SLL2, ...) or number. */
export function parseLinktype(v: string | undefined): number {
  if (v === undefined) return LINKTYPE_ETHERNET;
  if (/^\d+$/.test(v)) return Number(v);
  const n = linktypeFromName(v);
  if (n === undefined) throw new CliFailure(`unknown link type '${v}' (EN10MB, RAW, NULL, LOOP, LINUX_SLL, LINUX_SLL2, IPV4, IPV6 or a number)`);
  return n;
}

/** The header of a capture: its first interface's link type and snapshot length. */
async function captureHeader(path: string): Promise<{ linktype: number; snaplen: number }> {
  const reader = new CaptureReader();
  const rec = new PacketRecord();
  for await (const chunk of inputChunks(path)) {
    reader.push(chunk);
    reader.nextInto(rec);
    if (reader.interfaces.length > 0) break;
  }
  const i = reader.interfaces[0];
  if (i === undefined) throw new CliFailure(`${path}: no interface description (empty capture?)`);
  return { linktype: i.linktype, snaplen: i.snaplen === 0 || i.snaplen > 262144 ? 262144 : i.snaplen };
}

function describe(e: FilterError): string {
  const prefix = e.reason === "syntax" ? "can't parse filter expression: " : "";
  return `${prefix}${e.message}\n  ${e.caret().split("\n").join("\n  ")}`;
}

export async function filterCommand(words: readonly string[], opts: FilterCommandOptions, io: CliIo): Promise<number> {
  let expr = words.join(" ");
  if (opts.file !== undefined) {
    if (words.length > 0) throw new CliFailure("give the expression either as arguments or with -F, not both");
    expr = new TextDecoder().decode(readInput(io, opts.file, "filter file")).replace(/#[^\n]*/g, "").trim();
  }
  const engine = parseEngine(opts.engine);
  const limit = positiveInt(opts.count, "-c");
  const snaplen = positiveInt(opts.snaplen, "--snaplen");
  const compileOpts = (linktype: number, snap: number): FilterCompileOptions => ({ linktype, snaplen: snaplen ?? snap, optimize: opts.optimize !== false });
  const compile = (linktype: number, snap: number): SockFilter[] => {
    try {
      return compileFilterExpression(expr, compileOpts(linktype, snap));
    } catch (e) {
      if (e instanceof FilterError) throw new CliFailure(describe(e));
      throw e;
    }
  };
  const dump = opts.dump ?? 0;
  if (dump > 0) {
    const hdr = opts.read !== undefined ? await captureHeader(opts.read) : { linktype: parseLinktype(opts.linktype), snaplen: 262144 };
    io.out(formatDump(compile(hdr.linktype, hdr.snaplen), dump));
    return 0;
  }
  if (opts.read === undefined) {
    // Without a capture: check the expression and say how long the program is.
    const prog = compile(parseLinktype(opts.linktype), 262144);
    io.out(`${prog.length} instructions (use -d to list them, -r FILE to run them)\n`);
    return 0;
  }
  if (opts.linktype !== undefined) throw new CliFailure("-y/--linktype applies to -d without -r; with -r the capture's link type is used");
  await loadEngine(engine);
  return runCapture(
    { input: opts.read, output: opts.write, limit, pcapng: opts.pcapng, nano: opts.nano, progress: opts.progress, quiet: opts.quiet },
    (linktype, snap) => makeEngine(compile(linktype, snap), engine),
    io,
  );
}
