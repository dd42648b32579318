/**
 * `tsbpf conformance [DIR] [--engine interp|jit]`: runs every `.data` file of the BPF
 * conformance suite on the interpreter (default) or on the JIT in checked mode (the
 * programs are unverified), and prints the runner's lines (PASS/FAIL/ERROR per file,
 * then "Passed X out of Y tests."). The suite tests the engine itself, so --engine jit
 * runs every program on the JIT, callx included.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { assemble } from "../../asm/index.js";
import { decodeProgram } from "../../isa/index.js";
import { parseDataFile, rawSlotsToBytes, conformanceHelpers } from "../../conformance/index.js";
import { runOnMemory } from "../../vm/index.js";
import { runOnMemoryJit } from "../../jit/index.js";
import { CliFailure, type CliIo } from "../io.js";

export interface ConformanceOutcome {
  readonly file: string;
  readonly status: "PASS" | "FAIL" | "ERROR" | "SKIP";
  readonly message: string;
}

export function runConformanceFile(path: string, text: string, engine: "interp" | "jit" = "interp"): ConformanceOutcome {
  try {
    const t = parseDataFile(text);
    if (t.result === undefined && t.error === undefined) return { file: path, status: "SKIP", message: "Test file has no BPF instructions." };
    const insns = t.raw !== undefined ? decodeProgram(rawSlotsToBytes(t.raw)) : assemble(t.asm, { syntax: "ubpf" });
    if (insns.length === 0) return { file: path, status: "SKIP", message: "Test file has no BPF instructions." };
    const run = engine === "jit" ? runOnMemoryJit : runOnMemory;
    const { result } = run(insns, { memory: t.memory, helpers: conformanceHelpers() });
    if (result.status === "fault") {
      if (t.error !== undefined) return result.fault.message === t.error ? { file: path, status: "PASS", message: "" } : { file: path, status: "FAIL", message: `${result.fault.message} but expected ${t.error}` };
      return { file: path, status: "ERROR", message: `Plugin returned error code 1 and output ${result.fault.message}` };
    }
    const want = t.result ?? 0n;
    return result.r0 === want ? { file: path, status: "PASS", message: "" } : { file: path, status: "FAIL", message: `Plugin returned incorrect return value ${result.r0} expected ${want}` };
  } catch (e) {
    return { file: path, status: "ERROR", message: e instanceof Error ? e.message : String(e) };
  }
}

export function conformanceCommand(dir: string, io: CliIo, engine: "interp" | "jit" = "interp"): number {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".data")).sort();
  } catch {
    throw new CliFailure(`cannot read conformance directory '${dir}'`);
  }
  let passed = 0;
  let counted = 0;
  for (const f of files) {
    const path = join(dir, f);
    const o = runConformanceFile(path, new TextDecoder().decode(io.readFile(path)), engine);
    io.out(`${o.status}: "${path}"${o.message === "" ? "" : ` ${o.message}`}\n`);
    if (o.status !== "SKIP") counted++;
    if (o.status === "PASS") passed++;
  }
  io.out(`Passed ${passed} out of ${counted} tests.\n`);
  return passed === counted ? 0 : 1;
}
