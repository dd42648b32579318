/**
 * `tsbpf demo` (what `npm start` runs): assembles the bundled example
 * examples/collatz.s, prints its disassembly, runs it on the interpreter with a trace
 * (first lines and a summary), and prints r0; then a timed run on --engine (default
 * the interpreter: the example is a raw, unverified program).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { assemble, disassemble } from "../../asm/index.js";
import { CliFailure, readInput, type CliIo } from "../io.js";
import { execute } from "./run.js";

export function bundledExample(name = "collatz.s"): string {
  // dist/cli/commands/demo.js or src/cli/commands/demo.ts -> <package>/examples
  const p = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "examples", name);
  if (!existsSync(p)) throw new CliFailure(`bundled example not found at ${p}`);
  return p;
}

export function demoCommand(opts: { traceLines?: string; engine?: "interp" | "jit" }, io: CliIo): number {
  const path = bundledExample();
  const text = new TextDecoder().decode(readInput(io, path, "example"));
  const insns = assemble(text, { syntax: "llvm" });
  io.out(`# ${path}: ${insns.length} instructions\n`);
  for (const l of disassemble(insns, { style: "llvm", listing: true })) io.out(`${l}\n`);
  io.out(`\n# run with --trace (first ${opts.traceLines ?? 24} instructions)${opts.engine === "jit" ? "; tracing steps the interpreter, the JIT cannot trace" : ""}\n`);
  const status = execute(insns, new Uint8Array(0), { repeat: 1, budget: 10_000_000, trace: true, traceLimit: Number(opts.traceLines ?? 24) }, io);
  if (status !== 0) return status;
  io.out(`\n# timed run${opts.engine === "jit" ? " on the JIT (checked mode)" : ""}\n`);
  return execute(insns, new Uint8Array(0), { repeat: 20, budget: 10_000_000, trace: false, traceLimit: 0, engine: opts.engine ?? "interp" }, io);
}
