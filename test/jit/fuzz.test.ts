// Differential fuzzing: random valid programs (gen.ts: loops, bpf-to-bpf calls, helper
// calls, atomics, every ALU operation with edge-value operands) run on the interpreter
// and on the JIT in checked mode (structured and dispatch-loop control flow) and in
// verified mode. Checked mode must give the identical RunResult (r0, executed count)
// and memory; verified mode the same r0 and memory. Any difference fails and prints
// the seed and the program. TSBPF_FUZZ_RUNS sets the number of programs (default 300).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatLlvm } from "../../src/asm/index.js";
import type { Insn } from "../../src/isa/index.js";
import { helperTable, runOnMemory, type RunOnMemoryResult } from "../../src/vm/index.js";
import { runOnMemoryJit } from "../../src/jit/index.js";
import { randomMemory, randomProgram } from "./gen.js";

const RUNS = Number(process.env.TSBPF_FUZZ_RUNS ?? 300);

const helpers = helperTable([
  { id: 1, name: "mix", fn: (a, b, c, d, e) => BigInt.asUintN(64, a * 0x9e3779b97f4a7c15n + (b ^ (c << 7n)) - d + (e >> 3n)) },
  { id: 2, name: "small", fn: (a, b) => Number(BigInt.asUintN(20, a + b)) },
]);

const listing = (insns: readonly Insn[]): string => insns.map((i) => `${String(i.pc).padStart(4)}: ${formatLlvm(i)}`).join("\n");
const show = (r: RunOnMemoryResult): string => JSON.stringify({ ...r, memory: Buffer.from(r.memory).toString("hex") }, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v));

function check(seed: number): void {
  const insns = randomProgram(seed, { helpers: [1, 2] });
  const memory = randomMemory(seed);
  const interp = runOnMemory(insns, { memory, helpers });
  const where = `seed ${seed}\n${listing(insns)}\ninterp: ${show(interp)}`;
  assert.equal(interp.result.status, "exit", `generator produced a faulting program: ${where}`);
  for (const forceDispatch of [false, true]) {
    const jit = runOnMemoryJit(insns, { memory, helpers, forceDispatch });
    assert.deepStrictEqual(jit, interp, `checked${forceDispatch ? " (dispatch)" : ""}: ${where}\njit: ${show(jit)}`);
  }
  const verified = runOnMemoryJit(insns, { memory, helpers, mode: "verified" });
  assert.equal(verified.result.status, "exit", `verified: ${where}\njit: ${show(verified)}`);
  assert.deepStrictEqual({ r0: (verified.result as { r0: bigint }).r0, memory: verified.memory }, { r0: (interp.result as { r0: bigint }).r0, memory: interp.memory }, `verified: ${where}\njit: ${show(verified)}`);
}

test(`differential fuzz: ${RUNS} random programs, interpreter = JIT (checked, dispatch, verified)`, () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0x7fffffff }), (seed) => check(seed)), { numRuns: RUNS });
});

test("differential fuzz: fixed seeds", () => {
  for (let seed = 1; seed <= 50; seed++) check(seed);
});
