/**
 * `tsbpf cbpf PROG`: a classic BPF program given as tcpdump -dd text (C initialisers),
 * -ddd text (decimal, also xt_bpf's one-line `4,40 0 0 12,...`) or raw bytes (an array
 * of struct sock_filter, little-endian unless --big-endian).
 *
 *   tsbpf cbpf prog.txt                 the tcpdump -d listing (-dd / -ddd: the other forms)
 *   tsbpf cbpf prog.txt --check         the kernel's checker (bpf_check_classic) and libpcap's validator
 *   tsbpf cbpf prog.txt --convert       the eBPF the kernel runs for it (bpf_convert_filter)
 *   tsbpf cbpf prog.txt -o prog.bin     the raw bytes
 *   tsbpf cbpf prog.txt -r in.pcap [-w out.pcap] [-c N] [--engine E]    run it over a capture
 */
import { disassemble } from "../../asm/index.js";
import {
  convertToEbpf,
  findClassicError,
  findFilterError,
  fromBytes,
  parseProgramText,
  toBytes,
  type SockFilter,
} from "../../cbpf/index.js";
import { CbpfError } from "../../errors/index.js";
import { CliFailure, readInput, type CliIo } from "../io.js";
import { looksLikeText } from "../program-input.js";
import { formatDump, loadEngine, makeEngine, parseEngine, positiveInt, runCapture } from "./filter.js";

export interface CbpfCommandOptions {
  dump?: number;
  check?: boolean;
  convert?: boolean;
  output?: string;
  bigEndian?: boolean;
  format?: string;
  read?: string;
  write?: string;
  count?: string;
  engine?: string;
  pcapng?: boolean;
  nano?: boolean;
  progress?: boolean;
  quiet?: boolean;
}

/** Loads a program from text (-dd or -ddd form) or raw bytes. */
export function loadCbpf(bytes: Uint8Array, opts: { format?: string; bigEndian?: boolean } = {}): SockFilter[] {
  const format = opts.format ?? "auto";
  if (format !== "auto" && format !== "text" && format !== "raw") throw new CliFailure(`unknown format '${format}' (auto, text, raw)`);
  const text = format === "text" || (format === "auto" && looksLikeText(bytes));
  const prog = text ? parseProgramText(new TextDecoder().decode(bytes)) : fromBytes(bytes, opts.bigEndian === true ? "big" : "little");
  if (prog.length === 0) throw new CliFailure("the program is empty");
  return prog;
}

export async function cbpfCommand(file: string, opts: CbpfCommandOptions, io: CliIo): Promise<number> {
  const prog = loadCbpf(readInput(io, file, "program"), opts);
  const engine = parseEngine(opts.engine);
  let acted = false;
  if (opts.check === true) {
    acted = true;
    const kernel = findClassicError(prog);
    const libpcap = findFilterError(prog);
    io.out(`kernel (bpf_check_classic): ${kernel === undefined ? "accepted" : `rejected: ${kernel.message}`}\n`);
    io.out(`libpcap (bpf_validate): ${libpcap === undefined ? "accepted" : `rejected: ${libpcap.message}`}\n`);
    if (kernel !== undefined && opts.convert !== true && opts.read === undefined && (opts.dump ?? 0) === 0) return 1;
  }
  if (opts.convert === true) {
    acted = true;
    let conv;
    try {
      conv = convertToEbpf(prog);
    } catch (e) {
      if (!(e instanceof CbpfError)) throw e;
      io.err(`tsbpf: the kernel would refuse this program (${e.message}); converting it anyway\n`);
      conv = convertToEbpf(prog, { check: false });
    }
    for (const line of disassemble(conv.insns, { style: "xlated", indexFormat: "bpftool" })) io.out(`${line}\n`);
  }
  if (opts.output !== undefined) {
    acted = true;
    io.writeFile(opts.output, toBytes(prog, opts.bigEndian === true ? "big" : "little"));
  }
  if ((opts.dump ?? 0) > 0) {
    acted = true;
    io.out(formatDump(prog, opts.dump!));
  }
  if (opts.read !== undefined) {
    await loadEngine(engine);
    const filter = makeEngine(prog, engine);
    return runCapture(
      { input: opts.read, output: opts.write, limit: positiveInt(opts.count, "-c"), pcapng: opts.pcapng, nano: opts.nano, progress: opts.progress, quiet: opts.quiet },
      () => filter,
      io,
    );
  }
  if (opts.write !== undefined || opts.count !== undefined) throw new CliFailure("-w and -c need a capture to read (-r FILE)");
  if (!acted) io.out(formatDump(prog, 1));
  return 0;
}
