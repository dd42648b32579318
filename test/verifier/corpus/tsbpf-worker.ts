/**
 * Runs tsbpf's verifier (verifyProgram of src/verifier/index.ts) on corpus
 * cases, in a worker thread, so that the corpus test can give up on a case
 * that takes too long (terminate the worker, start another) instead of hanging.
 *
 * Protocol: workerData = { verifierIndex: absolute path }; the parent posts a
 * case name, the worker answers { name, accepted, log } (or { name, error }
 * when the case cannot even be set up).
 */
import { parentPort, workerData } from "node:worker_threads";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CORPUS_DIR, buildRaw, loadCorpus, type CorpusCase } from "./corpus.js";
import { decodeProgram, type Insn } from "../../../src/isa/index.js";
import { loadCollectionSpec } from "../../../src/elf/index.js";

export interface TsbpfAnswer {
  name: string;
  accepted?: boolean;
  log?: string;
  /** Set up failed (not a verdict). */
  error?: string;
}

interface VerifyResult {
  accepted: boolean;
  log: string | string[];
  error?: unknown;
}
type VerifyProgram = (opts: Record<string, unknown>) => VerifyResult;

/** The arguments verifyProgram gets for a case, or the decoder's error (the kernel's wording). */
export function verifierInput(c: CorpusCase): { input: Record<string, unknown> } | { decodeError: string } {
  const common = {
    progType: c.progType,
    ...(c.attachType !== undefined ? { expectedAttachType: c.attachType } : {}),
    privileged: c.privileged,
    logLevel: 1,
  };
  if (c.object) {
    const spec = loadCollectionSpec(new Uint8Array(readFileSync(join(CORPUS_DIR, c.object.path))));
    const prog = spec.programs.find((p) => p.name === c.object!.program);
    if (!prog) throw new Error(`no program ${c.object.program} in ${c.object.path}`);
    return {
      input: {
        ...common,
        progType: prog.type,
        ...(prog.expectedAttachType !== undefined ? { expectedAttachType: prog.expectedAttachType } : {}),
        insns: prog.insns,
        maps: spec.maps.map((m, index) => ({ index, name: m.name, spec: m })),
        funcInfo: prog.funcInfo,
        lineInfo: prog.lineInfo,
        license: prog.license,
        btf: spec.btf,
      },
    };
  }
  let insns: Insn[];
  try {
    insns = decodeProgram(buildRaw(c));
  } catch (e) {
    // What does not decode never reaches the verifier; tsbpf's decoder words it as the kernel does.
    return { decodeError: (e as Error).message };
  }
  return {
    input: {
      ...common,
      insns,
      maps: c.maps.map((m, index) => ({
        index,
        name: m.name,
        spec: { name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags },
      })),
    },
  };
}

async function main(): Promise<void> {
  const port = parentPort!;
  const { verifierIndex } = workerData as { verifierIndex: string };
  const byName = new Map(loadCorpus().map((c) => [c.name, c]));
  let verify: VerifyProgram | undefined;
  let importError: string | undefined;
  try {
    const mod = (await import(pathToFileURL(verifierIndex).href)) as { verifyProgram?: VerifyProgram };
    if (typeof mod.verifyProgram === "function") verify = mod.verifyProgram;
    else importError = `${verifierIndex} exports no verifyProgram`;
  } catch (e) {
    importError = `importing ${verifierIndex} failed: ${(e as Error).message}`;
  }
  port.on("message", (name: string) => {
    const answer = (a: Omit<TsbpfAnswer, "name">): void => port.postMessage({ name, ...a });
    if (importError) return answer({ error: importError });
    const c = byName.get(name);
    if (!c) return answer({ error: `no case ${name}` });
    let inp: ReturnType<typeof verifierInput>;
    try {
      inp = verifierInput(c);
    } catch (e) {
      return answer({ error: `setting up ${name}: ${(e as Error).message}` });
    }
    if ("decodeError" in inp) return answer({ accepted: false, log: inp.decodeError });
    try {
      const r = verify!(inp.input);
      const log = Array.isArray(r.log) ? r.log.join("\n") : String(r.log ?? "");
      const err = r.error instanceof Error ? r.error.message : r.error !== undefined ? String(r.error) : "";
      return answer({ accepted: r.accepted, log: err ? `${log}\n${err}` : log });
    } catch (e) {
      return answer({ accepted: false, log: `verifyProgram threw: ${(e as Error).stack ?? String(e)}` });
    }
  });
  port.postMessage({ name: "", ready: true });
}

if (parentPort) void main();
