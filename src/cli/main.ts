/**
 * The `tsbpf` command, in the style of bpftool: subcommands over the library. Every
 * expected failure (bad input, a rejected program, a usage error) prints one clear
 * line and exits non-zero; stack traces are for bugs only.
 */
import { Command, CommanderError, Option } from "commander";
import { AsmError, TsbpfError } from "../errors/index.js";
import { CliFailure, nodeIo, type CliIo } from "./io.js";
import { asmCommand } from "./commands/asm.js";
import { disasmCommand } from "./commands/disasm.js";
import { runCommand } from "./commands/run.js";
import { pluginCommand } from "./commands/plugin.js";
import { conformanceCommand } from "./commands/conformance.js";
import { demoCommand } from "./commands/demo.js";

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

  program
    .command("demo")
    .description("assemble and run the bundled example (examples/collatz.s) with a trace summary")
    .option("--trace-lines <n>", "trace lines to print", "24")
    .action((o: { traceLines?: string }) => setStatus(demoCommand(o, io)));

  program
    .command("asm")
    .description("assemble kernel/LLVM or uBPF syntax into raw instruction bytes")
    .argument("<file>", "assembly source")
    .option("-o, --output <file>", "write the raw bytes to a file")
    .option("--hex", "print the instructions as hex, one slot per line")
    .addOption(syntax())
    .action((file: string, o: { output?: string; hex?: boolean; syntax?: "auto" | "llvm" | "ubpf" }) =>
      setFile(file) ?? setStatus(asmCommand(file, { ...o, hex: o.hex ?? (o.output === undefined ? true : undefined) } as Parameters<typeof asmCommand>[1], io)));

  program
    .command("disasm")
    .description("disassemble an ELF object (like llvm-objdump -d), one of its sections, raw bytes or assembly")
    .argument("<file>", "ELF object, raw instruction bytes or assembly text")
    .option("-s, --section <name>", "ELF section holding the program")
    .addOption(new Option("--style <style>", "output style").choices(["llvm", "xlated", "ubpf"]).default("llvm"))
    .option("--no-listing", "llvm style: instruction text only, without index and bytes")
    .addOption(format())
    .action((file: string, o: { section?: string; style?: string; format?: "auto"; listing?: boolean }) => setFile(file) ?? setStatus(disasmCommand(file, o, io)));

  program
    .command("run")
    .description("run a program on the interpreter (checked mode): r1 = input memory, r2 = its length")
    .argument("<file>", "raw instruction bytes, assembly text or ELF object")
    .option("-m, --mem <file>", "input memory (r1 points at a private copy)")
    .option("--mem-hex <bytes>", "input memory as hex bytes, e.g. 'aa bb 11'")
    .option("-r, --repeat <n>", "run N times and report the mean time per run (like BPF_PROG_TEST_RUN)")
    .option("-t, --trace", "print each executed instruction with the registers it changed, then a summary")
    .option("--trace-limit <n>", "stop printing the trace after N lines", "10000")
    .option("--budget <n>", "instruction budget per run (default 1000000)")
    .option("-s, --section <name>", "ELF section holding the program")
    .addOption(format())
    .action((file: string, o: Parameters<typeof runCommand>[1]) => setFile(file) ?? setStatus(runCommand(file, o, io)));

  program
    .command("plugin")
    .description("bpf_conformance runner plugin: [MEM-HEX] [options] < program-hex; prints r0 in hex")
    .argument("[args...]", "memory as hex (when non-empty), then --plugin_options words")
    .allowUnknownOption()
    .helpOption(false)
    .action((args: string[]) => setStatus(pluginCommand(args, io)));

  program
    .command("conformance")
    .description("run the BPF conformance suite's .data files on the interpreter")
    .argument("[dir]", "directory of .data files", process.env.TSBPF_CONFORMANCE_DIR ?? "../shared/conformance/tests")
    .action((dir: string) => setStatus(conformanceCommand(dir, io)));

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
