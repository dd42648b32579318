/**
 * `tsbpf plugin`: the bpf_conformance runner's plugin protocol (FORMAT.md (c)), so the
 * upstream runner can drive tsbpf unchanged (bin/tsbpf-conformance-plugin is the
 * executable to pass as --plugin_path). argv: the input memory as hex (only when
 * non-empty), then the runner's --plugin_options words; stdin: the program as hex;
 * stdout: r0 in hex; a load error or a fault exits non-zero with the message.
 *
 * Options (as --plugin_options words): --budget N, and --engine interp|jit (default
 * the interpreter, or the TSBPF_ENGINE environment variable, for runners that pass no
 * options). The JIT runs in checked mode: conformance programs are unverified.
 */
import { decodeProgram } from "../../isa/index.js";
import { TsbpfError } from "../../errors/index.js";
import { runOnMemory } from "../../vm/index.js";
import { runOnMemoryJit } from "../../jit/index.js";
import { conformanceHelpers } from "../../conformance/index.js";
import type { CliIo } from "../io.js";

const HEX_TOKENS = /^(?:\s*[0-9a-fA-F]{1,2}\s*)+$/;

export function parseHexBytes(text: string): Uint8Array {
  const toks = text.split(/\s+/).filter((t) => t !== "");
  const out = new Uint8Array(toks.length);
  toks.forEach((t, i) => {
    if (!/^[0-9a-fA-F]{1,2}$/.test(t)) throw new Error(`bad hex byte '${t}' at position ${i}`);
    out[i] = parseInt(t, 16);
  });
  return out;
}

export async function pluginCommand(args: readonly string[], io: CliIo): Promise<number> {
  let memory: Uint8Array = new Uint8Array(0);
  let budget: number | undefined;
  let engine = process.env.TSBPF_ENGINE ?? "interp";
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "") continue; // two spaces in --plugin_options yield empty words
    if (i === 0 && HEX_TOKENS.test(a)) memory = parseHexBytes(a);
    else if (a === "--budget" && i + 1 < args.length) budget = Number(args[++i]);
    else if (a === "--engine" && i + 1 < args.length) engine = args[++i]!;
    else if (a === "--elf") {
      io.out("tsbpf plugin: --elf input is not supported; pass raw instructions\n");
      return 1;
    } else {
      io.out(`tsbpf plugin: unknown argument '${a}'\n`);
      return 1;
    }
  }
  if (engine !== "interp" && engine !== "jit") {
    io.out(`tsbpf plugin: --engine (or TSBPF_ENGINE) must be interp or jit, got '${engine}'\n`);
    return 1;
  }
  try {
    const text = await io.readStdin();
    const program = decodeProgram(parseHexBytes(text.trim()));
    const opts: Parameters<typeof runOnMemory>[1] = { memory, helpers: conformanceHelpers() };
    if (budget !== undefined) opts.budget = budget;
    const { result } = engine === "jit" ? runOnMemoryJit(program, opts) : runOnMemory(program, opts);
    if (result.status === "fault") {
      io.out(`${result.fault.message}\n`);
      return 1;
    }
    io.out(`${result.r0.toString(16)}\n`);
    return 0;
  } catch (e) {
    io.out(`${e instanceof TsbpfError || e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
