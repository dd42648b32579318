// Program.testRun's `trace`: every instruction a BPF_PROG_TEST_RUN executes, stepped on
// the interpreter with the real ctx and packet (what `tsbpf run OBJ.o --trace` prints).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadCollectionSpec } from "../../src/elf/index.js";
import { Runtime, TestRunError, loadCollection } from "../../src/runtime/index.js";
import type { TraceEvent } from "../../src/vm/index.js";
import { FIXTURES } from "../jit/harness.js";

const fixture = (name: string) => loadCollectionSpec(new Uint8Array(readFileSync(join(FIXTURES, `${name}.bpf.o`))), { name });

test("testRun({ trace }) sees every executed instruction and gives the untraced result", () => {
  const rt = new Runtime();
  const col = loadCollection(rt, fixture("csum_diff"));
  try {
    const prog = [...col.programs.values()][0]!;
    const pkt = new Uint8Array(64).map((_, i) => i * 7);
    const plain = prog.testRun({ dataIn: pkt });
    const events: TraceEvent[] = [];
    const traced = prog.testRun({ dataIn: pkt, trace: (e) => events.push(e) });
    assert.equal(traced.r0, plain.r0);
    assert.deepEqual(traced.dataOut, plain.dataOut);
    assert.equal(events.length, traced.executed);
    assert.ok(events.length > 100, `${events.length} events`);
    assert.deepEqual(events.map((e) => e.index), events.map((_, i) => i + 1));
    assert.equal(events[0]!.pc, 0);
    assert.equal(events.at(-1)!.insn.kind, "exit");
    // The first load reads ctx->data_end into a register: the change is reported.
    assert.ok(events[0]!.changed.length === 1, "the first instruction changes one register");
    assert.throws(() => prog.testRun({ dataIn: pkt, engine: "jit", trace: () => {} }), (e: unknown) => e instanceof TestRunError && /needs the interpreter/.test(e.message));
  } finally {
    col.close();
  }
});
