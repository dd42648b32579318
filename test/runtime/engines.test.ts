// The runtime's engine choice (EngineChoice, src/runtime/program.ts): the JIT in
// verified mode by default for programs the verifier accepted, the interpreter for
// unverified ones, the checked JIT on request. And the differential check through the public API: every fixture
// of test/fixtures/runtime gives the same runs, faults, maps, trace_pipe, perf samples
// and address-space bytes whatever the engine choice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadCollectionSpec } from "../../src/elf/index.js";
import { ProgramFault, Runtime, chooseEngine, loadCollection } from "../../src/runtime/index.js";
import { assemble } from "../../src/asm/index.js";
import { FIXTURES, runManifest, type Manifest, type Outcome } from "../jit/harness.js";

const fixture = (name: string) => loadCollectionSpec(new Uint8Array(readFileSync(join(FIXTURES, `${name}.bpf.o`))), { name });

test("verified programs run on the JIT without per-access checks by default; unverified ones on the interpreter", () => {
  const col = loadCollection(new Runtime(), fixture("array_basic"));
  for (const p of col.programs.values()) {
    assert.equal(p.engine, "jit");
    assert.equal(p.jitMode, "verified");
    assert.equal(p.verified, true);
  }
  col.close();
  const unverified = loadCollection(new Runtime(), fixture("array_basic"), { verify: false });
  for (const p of unverified.programs.values()) assert.deepEqual([p.engine, p.jitMode, p.verified], ["interp", undefined, false]);
  unverified.close();
  const interp = loadCollection(new Runtime(), fixture("array_basic"), { engine: "interp" });
  for (const p of interp.programs.values()) assert.equal(p.engine, "interp");
  interp.close();
  const checked = loadCollection(new Runtime(), fixture("array_basic"), { verify: false, engine: "jit" });
  for (const p of checked.programs.values()) assert.deepEqual([p.engine, p.jitMode], ["jit", "checked"]);
  checked.close();
});

test("--engine jit runs unverified programs on the checked JIT, callbacks included; chooseEngine's table", () => {
  const col = loadCollection(new Runtime(), fixture("bpf_loop"), { verify: false, engine: "jit" });
  for (const p of col.programs.values()) assert.deepEqual([p.engine, p.jitMode], ["jit", "checked"]);
  col.close();
  const verified = loadCollection(new Runtime(), fixture("bpf_loop"), { engine: "jit" });
  for (const p of verified.programs.values()) assert.deepEqual([p.engine, p.jitMode], ["jit", "verified"]);
  verified.close();
  assert.deepEqual(chooseEngine("auto", true), { engine: "jit", jitMode: "verified" });
  assert.deepEqual(chooseEngine("auto", false), { engine: "interp", jitMode: undefined });
  assert.deepEqual(chooseEngine("jit", true), { engine: "jit", jitMode: "verified" });
  assert.deepEqual(chooseEngine("jit", false), { engine: "jit", jitMode: "checked" });
  assert.deepEqual(chooseEngine("interp", true), { engine: "interp", jitMode: undefined });
  // jitMode forces the JIT in that mode (testing the JIT itself).
  assert.deepEqual(chooseEngine("auto", false, "checked"), { engine: "jit", jitMode: "checked" });
});

test("testRun's engine overrides the program's per run; count: true counts on the verified JIT", () => {
  const data = new Uint8Array(64);
  const interp = loadCollection(new Runtime(), fixture("array_basic"), { engine: "interp" });
  const counted = loadCollection(new Runtime(), fixture("array_basic"), { count: true });
  const plain = loadCollection(new Runtime(), fixture("array_basic"));
  try {
    for (const [name, p] of interp.programs) {
      if (p.type !== "BPF_PROG_TYPE_XDP") continue;
      const want = p.testRun({ dataIn: data });
      const c = counted.programs.get(name)!;
      assert.equal(c.engine, "jit");
      const got = c.testRun({ dataIn: data });
      assert.equal(got.r0, want.r0);
      assert.equal(got.executed, want.executed);
      const q = plain.programs.get(name)!;
      assert.equal(q.testRun({ dataIn: data, engine: "interp" }).executed, want.executed);
      assert.equal(q.testRun({ dataIn: data }).executed, 0);
    }
  } finally {
    interp.close();
    counted.close();
    plain.close();
  }
});

function firstDiff(a: Uint8Array, b: Uint8Array): string {
  if (a.length !== b.length) return `sizes ${a.length} / ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `first difference at 0x${i.toString(16)}: ${a[i]} / ${b[i]}`;
  return "";
}

const noExecuted = (o: Outcome): Outcome => ({ ...o, runs: o.runs.map((r) => {
  const { executed: _e, ...rest } = r as Record<string, unknown>;
  return rest;
}) });

function assertSame(name: string, a: Outcome, b: Outcome): void {
  assert.deepEqual(b.runs, a.runs, `${name}: runs (results and faults)`);
  assert.deepEqual(b.trace, a.trace, `${name}: trace_pipe`);
  assert.deepEqual(b.perf, a.perf, `${name}: perf samples`);
  assert.deepEqual(b.maps, a.maps, `${name}: maps`);
  assert.equal(firstDiff(b.memory, a.memory), "", `${name}: address space`);
}

for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith(".json")).sort()) {
  const m = JSON.parse(readFileSync(join(FIXTURES, file), "utf8")) as Manifest;
  if (m.expect !== "accepted") continue;
  for (const object of m.objects ?? [file.replace(/\.json$/, ".bpf.o")]) {
    test(`${object}: the default engine (JIT) = the interpreter; unverified: --engine jit = the interpreter`, () => {
      const interp = runManifest(m, object, { load: { engine: "interp" } });
      assertSame(`${object} default`, noExecuted(interp), noExecuted(runManifest(m, object, { load: {} })));
      // With executed counts: the verified JIT counting, the checked JIT (or the interpreter it routes to).
      assertSame(`${object} counted`, interp, runManifest(m, object, { load: { count: true } }));
      assertSame(`${object} unverified`, interp, runManifest(m, object, { load: { verify: false, engine: "jit" } }));
    });
  }
}

test("faults of unverified programs are the same on both engines", () => {
  const programs: Array<[string, string]> = [
    ["read past the packet", "r2 = *(u32 *)(r1 + 0)\nr0 = *(u64 *)(r2 + 60)\nexit"],
    ["read of the packet", "r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 12)\nexit"],
    ["write below the stack", "r2 = 1\n*(u64 *)(r10 - 4104) = r2\nr0 = 0\nexit"],
    ["NULL read", "r2 = 0\nr0 = *(u32 *)(r2 + 8)\nexit"],
    ["misaligned atomic", "r2 = 1\n*(u64 *)(r10 - 16) = r2\nlock *(u64 *)(r10 - 12) += r2\nr0 = 0\nexit"],
    ["budget", "r0 = 0\nloop:\nr0 += 1\ngoto loop"],
    ["unknown helper", "call 999\nexit"],
    ["recursion too deep", "call local f\nexit\nf:\ncall local f\nexit"],
  ];
  for (const [name, text] of programs) {
    const outcome = (engine: "interp" | "jit") => {
      const rt = new Runtime({ budget: 5000 });
      const p = rt.loadProgram({ name: "p", type: "xdp", insns: assemble(text), engine });
      assert.equal(p.engine, engine);
      try {
        const r = p.testRun({ dataIn: new Uint8Array(40).fill(0x45), repeat: 2 });
        return { r0: r.r0, executed: r.executed };
      } catch (e) {
        if (e instanceof ProgramFault) return { fault: e.fault };
        throw e;
      } finally {
        p.close();
      }
    };
    const want = outcome("interp");
    if (name !== "read of the packet") assert.ok("fault" in want, `${name} faults`);
    assert.deepEqual(outcome("jit"), want, name);
  }
});

test("a verified program's tail call into an unverified program does not run it unchecked", () => {
  const outcome = (engine: "auto" | "interp") => {
    const rt = new Runtime();
    const col = loadCollection(rt, fixture("tail_call_chain"), engine === "interp" ? { engine } : {});
    // An unverified stage that writes through NULL + 16 replaces stage2 in the chain.
    const bad = rt.loadProgram({ name: "bad", type: "xdp", insns: assemble("r1 = 0\n*(u64 *)(r1 + 16) = r1\nr0 = 2\nexit") });
    assert.equal(bad.verified, false);
    const chain = col.maps.get("chain")!;
    chain.update(new Uint8Array([1, 0, 0, 0]), new Uint8Array([bad.id, 0, 0, 0]));
    const entry = col.programs.get("entry")!;
    assert.equal(entry.engine, engine === "auto" ? "jit" : "interp");
    try {
      const r = entry.testRun({ dataIn: new Uint8Array(64) });
      return { r0: r.r0 };
    } catch (e) {
      if (e instanceof ProgramFault) return { fault: e.fault.message };
      throw e;
    } finally {
      bad.close();
      col.close();
    }
  };
  const want = outcome("interp");
  assert.match((want as { fault?: string }).fault ?? "", /invalid write of 8 bytes at 0x10/);
  assert.deepEqual(outcome("auto"), want);
});
