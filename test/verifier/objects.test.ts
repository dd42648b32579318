/**
 * Every bench object (../shared/bench/obj, TSBPF_SHARED) and every runtime fixture
 * (test/fixtures/runtime) verifies; the three reject_* fixtures are rejected with the
 * kernel's log (kernel/reject_*.json, map addresses masked). Processed-instruction
 * counts are printed next to the kernel's (ANCHORS.md) for the bench objects.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCollectionSpec } from "../../src/elf/index.js";
import { VerifierError, verifierInputFor, verifyProgram } from "../../src/verifier/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const shared = process.env.TSBPF_SHARED ?? resolve(repo, "../shared");
const benchDir = join(shared, "bench/obj");
const fixturesDir = join(repo, "test/fixtures/runtime");

/** Kernel figures from ANCHORS.md ("Kernel verifier statistics"). */
const KERNEL: Record<string, { processed: number; totalStates: number; peakStates: number; maxStatesPerInsn: number; stackDepth: number }> = {
  alu_loop: { processed: 210007, totalStates: 2002, peakStates: 2002, maxStatesPerInsn: 4, stackDepth: 0 },
  stack_sieve: { processed: 214081, totalStates: 2022, peakStates: 1412, maxStatesPerInsn: 10, stackDepth: 256 },
  csum_pkt: { processed: 18024, totalStates: 861, peakStates: 115, maxStatesPerInsn: 4, stackDepth: 0 },
  flow_count: { processed: 108, totalStates: 8, peakStates: 8, maxStatesPerInsn: 1, stackDepth: 32 },
  lpm_filter: { processed: 84, totalStates: 8, peakStates: 8, maxStatesPerInsn: 0, stackDepth: 16 },
};

test("bench objects verify (processed instructions compared with the kernel)", { skip: existsSync(benchDir) ? false : `no bench objects at ${benchDir} (set TSBPF_SHARED)` }, () => {
  const rows: string[] = [];
  for (const f of readdirSync(benchDir).filter((x) => x.endsWith(".o")).sort()) {
    const name = f.replace(/\.o$/, "");
    const spec = loadCollectionSpec(readFileSync(join(benchDir, f)), { name });
    for (const p of spec.programs) {
      const t0 = performance.now();
      const r = verifyProgram(verifierInputFor(spec, p, { logLevel: 0 }));
      const ms = performance.now() - t0;
      assert.ok(r.accepted, `${f} ${p.name}: ${r.error?.message}`);
      const k = KERNEL[name];
      if (k !== undefined) assert.equal(r.stats.stackDepth[0], k.stackDepth, `${name} stack depth`);
      // The loops are walked exactly as the kernel walks them: same counts.
      if (k !== undefined && name !== "lpm_filter") {
        assert.deepEqual(
          [r.stats.processed, r.stats.totalStates, r.stats.peakStates, r.stats.maxStatesPerInsn],
          [k.processed, k.totalStates, k.peakStates, k.maxStatesPerInsn],
          `${name}: processed, total_states, peak_states, max_states_per_insn`,
        );
      }
      rows.push(`${name.padEnd(12)} processed ${String(r.stats.processed).padStart(7)} (kernel ${String(k?.processed ?? "?").padStart(7)})  total_states ${r.stats.totalStates} (kernel ${k?.totalStates ?? "?"})  peak_states ${r.stats.peakStates} (kernel ${k?.peakStates ?? "?"})  ${ms.toFixed(1)} ms`);
    }
  }
  console.log(rows.join("\n"));
});

const fixtureObjects = existsSync(fixturesDir) ? readdirSync(fixturesDir).filter((f) => f.endsWith(".bpf.o")).sort() : [];

for (const f of fixtureObjects) {
  const base = f.replace(/\.bpf\.o$/, "");
  const reject = base.startsWith("reject_");
  test(`fixture ${f} is ${reject ? "rejected with the kernel's log" : "accepted"}`, () => {
    const spec = loadCollectionSpec(readFileSync(join(fixturesDir, f)), { name: base.split(".")[0]! });
    for (const p of spec.programs) {
      const r = verifyProgram(verifierInputFor(spec, p, { logLevel: 1 }));
      if (!reject) {
        assert.ok(r.accepted, `${f} ${p.name}: ${r.error?.message}\n${r.log.slice(-15).join("\n")}`);
        continue;
      }
      assert.equal(r.accepted, false);
      assert.ok(r.error instanceof VerifierError);
      assert.equal(r.error.code, "EVERIFY");
      const golden = JSON.parse(readFileSync(join(fixturesDir, "kernel", `${base}.json`), "utf8")) as { log: string[]; errno: number };
      const mask = (l: string): string => l.replace(/^(\d+: \(18\) r\d+ = )0x[0-9a-f]+(<masked>)? +;/, "$1<addr> ;").replace(/^(\d+: \(18\) r\d+ = )0xffff<masked> +;/, "$1<addr> ;");
      assert.deepEqual(r.log.map(mask), golden.log.map(mask));
      assert.equal(r.error.errno, golden.errno);
      assert.ok(r.error.source !== undefined, "the error carries the source line");
    }
  });
}
