// The BPF conformance suite (313 files) on the JIT in checked mode: every file gives
// the same RunResult (r0 or fault with kind, pc, address, size, message; executed
// count) and the same memory as on the interpreter, and passes. Once with structured
// control flow and once with every function forced through the dispatch loop.
// TSBPF_CONFORMANCE_DIR or TSBPF_SHARED point at the suite; absent -> skipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { assemble } from "../../src/asm/index.js";
import { decodeProgram, type Insn } from "../../src/isa/index.js";
import { conformanceHelpers, parseDataFile, rawSlotsToBytes, type ConformanceTest } from "../../src/conformance/index.js";
import { runOnMemory } from "../../src/vm/index.js";
import { runOnMemoryJit } from "../../src/jit/index.js";
import { CONFORMANCE_DIR, missing } from "../support/paths.js";

const skip = missing(CONFORMANCE_DIR, "TSBPF_CONFORMANCE_DIR or TSBPF_SHARED");
const files = skip === undefined ? readdirSync(CONFORMANCE_DIR).filter((f) => f.endsWith(".data")).sort() : [];

function load(f: string): { t: ConformanceTest; insns: Insn[] } | undefined {
  const t = parseDataFile(readFileSync(join(CONFORMANCE_DIR, f), "utf8"));
  const insns = t.raw !== undefined ? decodeProgram(rawSlotsToBytes(t.raw)) : assemble(t.asm, { syntax: "ubpf" });
  return insns.length === 0 ? undefined : { t, insns };
}

const show = (x: unknown): string => JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v));

for (const forceDispatch of [false, true]) {
  test(`conformance suite on the JIT (checked mode${forceDispatch ? ", dispatch loops only" : ""}): same results as the interpreter, 313 of 313 pass`, { skip }, () => {
    const diffs: string[] = [];
    let passed = 0;
    for (const f of files) {
      const c = load(f);
      if (c === undefined) continue;
      const { t, insns } = c;
      const interp = runOnMemory(insns, { memory: t.memory, helpers: conformanceHelpers() });
      const jit = runOnMemoryJit(insns, { memory: t.memory, helpers: conformanceHelpers(), forceDispatch });
      try {
        assert.deepStrictEqual(jit, interp);
      } catch {
        diffs.push(`${f}: jit ${show(jit)} interp ${show(interp)}`);
        continue;
      }
      const r = jit.result;
      const ok = r.status === "fault" ? t.error !== undefined && r.fault.message === t.error : r.r0 === (t.result ?? 0n);
      if (ok) passed++;
      else diffs.push(`${f}: does not pass: ${show(r)}`);
    }
    assert.deepEqual(diffs, []);
    assert.equal(passed, 313);
  });
}
