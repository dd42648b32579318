// The issue-3 runtime fixtures (test/fixtures/runtime: every object the kernel
// accepted) on the interpreter and on the JIT in checked and in verified mode: every
// run's retval, r0, data_out, ctx_out and executed count (or error), trace_pipe
// output, perf samples, every map's contents and the bytes of the whole address
// space must be equal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, runManifest, type Manifest, type Outcome } from "./harness.js";

const manifests = readdirSync(FIXTURES).filter((f) => f.endsWith(".json")).sort();

function firstDiff(a: Uint8Array, b: Uint8Array): string {
  if (a.length !== b.length) return `sizes ${a.length} / ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `first difference at 0x${i.toString(16)}: ${a[i]} / ${b[i]}`;
  return "";
}

function compare(name: string, want: Outcome, got: Outcome): void {
  assert.deepEqual(got.runs, want.runs, `${name}: runs`);
  assert.deepEqual(got.trace, want.trace, `${name}: trace_pipe`);
  assert.deepEqual(got.perf, want.perf, `${name}: perf samples`);
  assert.deepEqual(got.maps, want.maps, `${name}: maps`);
  assert.equal(firstDiff(got.memory, want.memory), "", `${name}: address space`);
}

for (const file of manifests) {
  const m = JSON.parse(readFileSync(join(FIXTURES, file), "utf8")) as Manifest;
  if (m.expect !== "accepted") continue;
  for (const object of m.objects ?? [file.replace(/\.json$/, ".bpf.o")]) {
    test(`${object}: interpreter = JIT (checked) = JIT (verified)`, () => {
      const interp = runManifest(m, object, { engine: "interp" });
      compare(`${object} checked`, interp, runManifest(m, object, { engine: "jit", mode: "checked" }));
      const verified = runManifest(m, object, { engine: "jit", mode: "verified" });
      const interpNoCount = { ...interp, runs: interp.runs.map((r) => ({ ...(r as object), executed: undefined })) };
      compare(`${object} verified`, { ...interpNoCount, runs: interpNoCount.runs.map(stripExecuted) }, { ...verified, runs: verified.runs.map(stripExecuted) });
    });
  }
}

function stripExecuted(r: unknown): unknown {
  const { executed: _e, ...rest } = r as Record<string, unknown>;
  return rest;
}
