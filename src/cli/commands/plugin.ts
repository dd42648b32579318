/**
 * `tsbpf plugin`: the bpf_conformance runner's plugin protocol (FORMAT.md (c)), so the
 * upstream runner can drive tsbpf unchanged (bin/tsbpf-conformance-plugin is the
 * executable to pass as --plugin_path). argv: the input memory as hex (only when
 * non-empty), then the runner's --plugin_options words; stdin: the program as hex;
 * stdout: r0 in hex; a load error or a fault exits non-zero with the message.
 */
import { decodeProgram } from "../../isa/index.js";
import { TsbpfError } from "../../errors/index.js";
import { runOnMemory } from "../../vm/index.js";
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
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "") continue; // two spaces in --plugin_options yield empty words
    if (i === 0 && HEX_TOKENS.test(a)) memory = parseHexBytes(a);
    else if (a === "--budget" && i + 1 < args.length) budget = Number(args[++i]);
    else if (a === "--elf") {
      io.out("tsbpf plugin: --elf input is not supported; pass raw instructions\n");
      return 1;
    } else {
      io.out(`tsbpf plugin: unknown argument '${a}'\n`);
      return 1;
    }
  }
  try {
    const text = await io.readStdin();
    const program = decodeProgram(parseHexBytes(text.trim()));
    const opts: Parameters<typeof runOnMemory>[1] = { memory, helpers: conformanceHelpers() };
    if (budget !== undefined) opts.budget = budget;
    const { result } = runOnMemory(program, opts);
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
