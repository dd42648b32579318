/**
 * The `tsbpf` command, in the style of bpftool: subcommands over the library. Every
 * expected failure (bad input, a rejected program, a usage error) prints one clear
 * line and exits non-zero; stack traces are for bugs only.
 */
import { Command, CommanderError, Option } from "commander";
import { AsmError, TsbpfError } from "../errors/index.js";
import { CliFailure, nodeIo, type CliIo } from "./io.js";
// Command modules load on use: a command pays only for the parts of the library it needs.
import type { asmCommand } from "./commands/asm.js";
import type { runCommand } from "./commands/run.js";
import type { ProgRunOptions } from "./commands/object.js";

export const VERSION = "0.1.0";

function build(io: CliIo, setStatus: (n: number | Promise<number>) => void, setFile: (f: string) => void): Command {
  const program = new Command("tsbpf")
    .description("eBPF in TypeScript: assemble, disassemble and run eBPF programs with the Linux kernel's semantics")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });

  const syntax = () => new Option("--syntax <syntax>", "assembly syntax").choices(["auto", "llvm", "ubpf"]).default("auto");
  const format = () => new Option("--format <format>", "input format (default: sniffed)").choices(["auto", "elf", "asm", "raw"]).default("auto");
  // --engine on every command that runs eBPF (filter and cbpf have their own engines).
  const engine = (what: string) => new Option("--engine <engine>", `interp (the reference interpreter) or jit (eBPF compiled to WebAssembly); ${what}`).choices(["interp", "jit"]);

  program
    .command("demo")
    .description("assemble and run the bundled example (examples/collatz.s) with a trace summary")
    .option("--trace-lines <n>", "trace lines to print", "24")
    .addOption(engine("default interp; the traced run is always on the interpreter, --engine picks the timed run's"))
    .action((o: { traceLines?: string; engine?: "interp" | "jit" }) => setStatus(import("./commands/demo.js").then((m) => m.demoCommand(o, io))));

  program
    .command("asm")
    .description("assemble kernel/LLVM or uBPF syntax into raw instruction bytes")
    .argument("<file>", "assembly source")
    .option("-o, --output <file>", "write the raw bytes to a file")
    .option("--hex", "print the instructions as hex, one slot per line")
    .addOption(syntax())
    .action((file: string, o: { output?: string; hex?: boolean; syntax?: "auto" | "llvm" | "ubpf" }) =>
      setFile(file) ?? setStatus(import("./commands/asm.js").then((m) => m.asmCommand(file, { ...o, hex: o.hex ?? (o.output === undefined ? true : undefined) } as Parameters<typeof asmCommand>[1], io))));

  program
    .command("disasm")
    .description("disassemble an ELF object (like llvm-objdump -d), one of its sections, raw bytes or assembly")
    .argument("<file>", "ELF object, raw instruction bytes or assembly text")
    .option("-s, --section <name>", "ELF section holding the program")
    .addOption(new Option("--style <style>", "output style").choices(["llvm", "xlated", "ubpf"]).default("llvm"))
    .option("--no-listing", "llvm style: instruction text only, without index and bytes")
    .addOption(format())
    .action((file: string, o: { section?: string; style?: string; format?: "auto"; listing?: boolean }) => setFile(file) ?? setStatus(import("./commands/disasm.js").then((m) => m.disasmCommand(file, o, io))));

  program
    .command("run")
    .description("run a program (checked mode): r1 = input memory, r2 = its length; an object's packet program via BPF_PROG_TEST_RUN")
    .argument("<file>", "raw instruction bytes, assembly text or ELF object")
    .option("-m, --mem <file>", "input memory (r1 points at a private copy)")
    .option("--mem-hex <bytes>", "input memory as hex bytes, e.g. 'aa bb 11'")
    .option("-r, --repeat <n>", "run N times and report the mean time per run (like BPF_PROG_TEST_RUN)")
    .option("-t, --trace", "print each executed instruction with the registers it changed, then a summary")
    .option("--trace-limit <n>", "stop printing the trace after N lines", "10000")
    .option("--budget <n>", "instruction budget per run (default 1000000)")
    .option("-s, --section <name>", "ELF section holding the program")
    .addOption(format())
    .addOption(engine("default: the JIT for an object's (verified) packet programs, the interpreter for raw programs; --trace needs interp"))
    .action((file: string, o: Parameters<typeof runCommand>[1]) => setFile(file) ?? setStatus(import("./commands/run.js").then((m) => m.runCommand(file, o, io))));

  program
    .command("plugin")
    .description("bpf_conformance runner plugin: [MEM-HEX] [--engine interp|jit] [--budget N] < program-hex; prints r0 in hex (TSBPF_ENGINE=jit also picks the JIT)")
    .argument("[args...]", "memory as hex (when non-empty), then --plugin_options words")
    .allowUnknownOption()
    .helpOption(false)
    .action((args: string[]) => setStatus(import("./commands/plugin.js").then((m) => m.pluginCommand(args, io))));

  program
    .command("conformance")
    .description("run the BPF conformance suite's .data files on the interpreter or the JIT")
    .argument("[dir]", "directory of .data files", process.env.TSBPF_CONFORMANCE_DIR ?? "../shared/conformance/tests")
    .addOption(engine("default interp; jit runs every program on the checked JIT"))
    .action((dir: string, o: { engine?: "interp" | "jit" }) => setStatus(import("./commands/conformance.js").then((m) => m.conformanceCommand(dir, io, o.engine ?? "interp"))));

  const prog = program.command("prog").description("programs of an object file (like bpftool prog)");
  prog
    .command("show")
    .description("list the programs of an object: id, type, name, section, size, maps")
    .argument("<object>", "ELF object")
    .option("-j, --json", "JSON output")
    .action((file: string, o: { json?: boolean }) => setFile(file) ?? setStatus(import("./commands/object.js").then((m) => m.progShow(file, io, o.json === true))));
  prog
    .command("dump")
    .description("dump a program's instructions (bpftool prog dump xlated), with C source lines from BTF line info")
    .argument("<object>", "ELF object")
    .argument("[name]", "program name (default: the first)")
    .option("--linum", "show file, line and column of each source line")
    .addOption(new Option("--style <style>", "instruction syntax").choices(["xlated", "llvm"]).default("xlated"))
    .action((file: string, name: string | undefined, o: { linum?: boolean; style?: string }) => setFile(file) ?? setStatus(import("./commands/object.js").then((m) => m.progDump(file, name, o, io))));
  prog
    .command("run")
    .description("BPF_PROG_TEST_RUN: run a program of an object on input data (like bpftool prog run)")
    .argument("<object>", "ELF object")
    .argument("[name]", "program name (default: the first)")
    .option("--data-in <file>", "packet data")
    .option("--data-out <file>", "write the resulting packet")
    .option("--ctx-in <file>", "ctx (struct xdp_md, struct __sk_buff, or the tracing ctx)")
    .option("--ctx-out <file>", "write the resulting ctx")
    .option("-r, --repeat <n>", "runs (the duration is their mean)")
    .option("--cpu <n>", "CPU to run on (per-CPU maps)", "0")
    .option("--map-update <spec...>", "before running: 'MAP key BYTES value BYTES [any|exist|noexist]'")
    .option("--dump-map <name...>", "after running: dump these maps")
    .option("--maps <dir>", "load map contents from pins in DIR first")
    .option("--pin-maps <dir>", "pin every map to DIR afterwards (write-then-rename)")
    .addOption(engine("default: jit for verified programs, interp with --no-verify"))
    .option("--no-verify", "skip the verifier (the program still runs in checked mode)")
    .option("--unprivileged", "verify as an unprivileged user")
    .option("-j, --json", "JSON output")
    .action((file: string, name: string | undefined, o: ProgRunOptions) => setFile(file) ?? setStatus(import("./commands/object.js").then((m) => m.progRun(file, name, o, io))));

  const map = program.command("map").description("maps of an object file or pinned maps (like bpftool map)");
  for (const op of ["dump", "lookup", "update", "delete"] as const) {
    map
      .command(op)
      .description(op === "dump" ? "print every entry (BTF-formatted when the object has BTF)" : `${op} one entry: ${op === "update" ? "key BYTES value BYTES [any|exist|noexist]" : "key BYTES"}`)
      .argument("<target>", "OBJECT.o MAP, or a pin DIR/MAP")
      .argument("[words...]", "map name (for an object) then key/value bytes")
      .option("-j, --json", "JSON output")
      .action((target: string, words: string[], o: { json?: boolean }) => {
        setFile(target);
        const isPin = !/\.o$/.test(target);
        setStatus(import("./commands/object.js").then((m) => m.mapCommand(op, target, isPin ? undefined : words[0], isPin ? words : words.slice(1), o, io)));
      });
  }

  program
    .command("btf")
    .description("BTF of an object file")
    .command("dump")
    .description("dump all BTF types (bpftool btf dump file X.o)")
    .argument("<object>", "ELF object")
    .option("-j, --json", "JSON output")
    .action((file: string, o: { json?: boolean }) => setFile(file) ?? setStatus(import("./commands/object.js").then((m) => m.btfDump(file, o, io))));

  program
    .command("feature")
    .description("program types, map types and helpers tsbpf supports (like bpftool feature probe)")
    .option("-j, --json", "JSON output")
    .action((o: { json?: boolean }) => setStatus(import("./commands/object.js").then((m) => m.feature(o, io))));

  // tsbpf filter / tsbpf cbpf (src/cli/commands/filter.ts, cbpf.ts), loaded on use.
  const count = (_v: string, n: number): number => n + 1;
  const runOpts = (c: Command): Command =>
    c
      .option("-r, --read <file>", "read packets from a pcap or pcapng file ('-' for stdin)")
      .option("-w, --write <file>", "write the matching packets to a pcap file ('-' for stdout)")
      .option("-c, --count <n>", "stop after N matching packets")
      .addOption(new Option("--engine <engine>", "what runs the filter").choices(["auto", "interp", "js", "ebpf", "jit"]).default("auto"))
      .option("--pcapng", "write pcapng instead of pcap")
      .option("--nano", "nanosecond timestamps in the written pcap")
      .option("--no-progress", "no progress bar on stderr")
      .option("-q, --quiet", "print no summary");
  runOpts(
    program
      .command("filter")
      .description("compile a tcpdump filter expression: list it (-d, -dd, -ddd) or run it over a capture (-r, -w, -c)")
      .argument("[expression...]", "pcap-filter(7) expression; its words are joined, as tcpdump does (use -- before a leading '-')")
      .option("-d, --dump", "print the program as tcpdump -d; -dd: as C; -ddd: as decimal numbers", count, 0)
      .option("-O, --no-optimize", "do not optimise (tcpdump -O)")
      .option("-F, --file <file>", "read the expression from a file")
      .option("-y, --linktype <type>", "link type for -d without -r: EN10MB (default), RAW, LINUX_SLL, LINUX_SLL2, NULL, LOOP, IPV4, IPV6")
      .option("-s, --snaplen <n>", "the value returned for a match (default: the capture's snapshot length, else 262144)"),
  ).action((words: string[], o: Record<string, unknown>) =>
    setStatus(import("./commands/filter.js").then((m) => m.filterCommand(words, o, io))),
  );
  runOpts(
    program
      .command("cbpf")
      .description("a classic BPF program (tcpdump -dd/-ddd text or raw bytes): list, check, convert to eBPF, or run it over a capture")
      .argument("<file>", "program file")
      .option("-d, --dump", "print it as tcpdump -d (default); -dd: as C; -ddd: as decimal numbers", count, 0)
      .option("--check", "run the kernel's checker (bpf_check_classic) and libpcap's validator")
      .option("--convert", "print the eBPF the kernel converts it to (bpf_convert_filter)")
      .option("-o, --output <file>", "write it as raw struct sock_filter bytes")
      .option("--big-endian", "raw bytes in big-endian order")
      .addOption(new Option("--format <format>", "input format").choices(["auto", "text", "raw"]).default("auto")),
  ).action((file: string, o: Record<string, unknown>) =>
    setFile(file) ?? setStatus(import("./commands/cbpf.js").then((m) => m.cbpfCommand(file, o, io))),
  );

  program
    .command("verify")
    .description("verify an object's programs with the kernel's rules and print the verifier log")
    .argument("<file>", "ELF object")
    .argument("[name]", "program name (default: all)")
    .addOption(new Option("--log-level <n>", "0: verdict only, 1: failing path and states, 2: every path").choices(["0", "1", "2"]).default("1"))
    .option("--unprivileged", "verify as an unprivileged user (no CAP_BPF)")
    .option("--stats", "print verification time and stack depth")
    .action((file: string, name: string | undefined, o: { logLevel?: string; unprivileged?: boolean; stats?: boolean }) =>
      setFile(file) ?? setStatus(import("./commands/verify.js").then((m) => m.verifyCommand(file, name, o, io))),
    );

  return program;
}

/** Runs the CLI; resolves to the exit status. */
export async function main(argv: readonly string[], io: CliIo = nodeIo): Promise<number> {
  let status: number | Promise<number> = 0;
  // The file argument of the running command, to prefix errors found in its contents.
  let currentFile: string | undefined;
  const program = build(io, (n) => {
    status = n;
  }, (f) => {
    currentFile = f;
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return await status;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof CliFailure) {
      io.err(`tsbpf: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof AsmError && currentFile !== undefined) {
      io.err(`tsbpf: ${currentFile}:${e.message}\n`);
      return 1;
    }
    if (e instanceof TsbpfError) {
      io.err(`tsbpf: ${currentFile !== undefined ? `${currentFile}: ` : ""}${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
