// Unverified programs that call back and call through function pointers computed at
// run time give the interpreter's results on the checked JIT: a callback (bpf_loop,
// bpf_for_each_map_elem, a helper reached by callx) starts with the caller's r0 and
// r6-r9 and leaves r1-r5 as it ended; callx or a callback to a slot the JIT did not
// compile as an entry runs on the interpreter inside the JIT's run (same stack, budget,
// executed count, faults). Each program runs on both engines; r0, the executed count,
// the fault, the packet and the map must be equal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { assemble } from "../../src/asm/index.js";
import { ProgramFault, Runtime } from "../../src/runtime/index.js";

function outcome(engine: "interp" | "jit", text: (map: number) => string, budget = 1_000_000): unknown {
  const rt = new Runtime({ budget });
  const map = rt.createMap({ name: "a", type: "BPF_MAP_TYPE_ARRAY", keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
  for (let i = 0; i < 4; i++) map.update(new Uint8Array([i, 0, 0, 0]), new Uint8Array([i * 3 + 1, 0, 0, 0, 0, 0, 0, 0]));
  const prog = rt.loadProgram({ name: "p", type: "xdp", insns: assemble(text(map.address)), ...(engine === "jit" ? { engine: "jit", jitMode: "checked" } : { engine: "interp" }) });
  assert.equal(prog.engine, engine);
  const values = () => [0, 1, 2, 3].map((i) => Buffer.from(map.lookup(new Uint8Array([i, 0, 0, 0]))!).toString("hex"));
  try {
    const r = prog.testRun({ dataIn: new Uint8Array(64).fill(7), repeat: 2 });
    return { r0: r.r0, executed: r.executed, data: Buffer.from(r.dataOut!).toString("hex"), map: values() };
  } catch (e) {
    if (e instanceof ProgramFault) return { fault: e.fault, map: values() };
    throw e;
  } finally {
    prog.close();
  }
}

function same(name: string, text: (map: number) => string, budget?: number): unknown {
  const want = outcome("interp", text, budget);
  assert.deepEqual(outcome("jit", text, budget), want, name);
  return want;
}

// The callback reads the caller's r0 and r6-r9, sets r1-r5 (the caller reads them after
// the helper) and clobbers r6 (the caller's comes back).
const CALLBACK = `
cb:
  r0 += r6
  r0 += r7
  r0 += r8
  r0 += r9
  r1 += r0
  r2 = r0
  r3 = 77
  r4 = r10
  r5 = 99
  r6 = 1
  *(u64 *)(r10 - 8) = r1
  r0 = 0
  exit
`;
const SETUP = `
  r6 = 0x1111
  r7 = 0x2222
  r8 = 0x3333
  r9 = 0x4444
  r0 = 0x5555
`;
const SUM = `
  r0 += r1
  r0 += r2
  r0 += r3
  r0 += r4
  r0 += r5
  r0 += r6
  exit
`;

test("bpf_loop: the callback starts with the caller's r0 and r6-r9; r1-r5 after the helper are the callback's", () => {
  const r = same("bpf_loop", () => `${SETUP}
  r1 = 3
  r2 = func(cb)
  r3 = 0
  r4 = 0
  call 181
${SUM}${CALLBACK}`);
  assert.ok("r0" in (r as object));
});

test("bpf_loop through a function pointer computed at run time (a slot that is no compiled entry)", () => {
  // func(cb) + 1 enters cb at its second instruction.
  same("bpf_loop computed", () => `${SETUP}
  r1 = 4
  r2 = func(cb)
  r2 += 1
  r3 = 0
  r4 = 0
  call 181
${SUM}${CALLBACK}`);
});

test("bpf_for_each_map_elem: callback registers, and a callback that calls bpf_loop through a computed pointer", () => {
  same("for_each", (m) => `${SETUP}
  r1 = ${m} ll
  r2 = func(each)
  r3 = 0
  r4 = 0
  call 164
${SUM}
each:
  r0 = *(u64 *)(r3 + 0)
  r0 += r6
  *(u64 *)(r3 + 0) = r0
  r1 = 2
  r2 = func(cb)
  r2 += 2
  r3 = 0
  r4 = 0
  call 181
  r0 = 0
  exit
${CALLBACK}`);
});

test("callx through computed pointers, to a helper id (bpf_loop), and their faults", () => {
  same("callx computed", () => `${SETUP}
  r1 = func(f)
  r1 += 1
  callx r1
${SUM}
f:
  r0 = 1000
  r0 += r6
  r1 = r0
  r6 = 5
  exit
`);
  same("callx helper id", () => `${SETUP}
  r6 = 181
  r1 = 2
  r2 = func(cb)
  r3 = 0
  r4 = 0
  callx r6
  r6 = 0x1111
${SUM}${CALLBACK}`);
  const mid = same("callx into ld_imm64", () => `
  r1 = func(g)
  r1 += 1
  callx r1
  exit
g:
  r0 = 0x123456789 ll
  exit
`) as { fault?: { kind: string } };
  assert.equal(mid.fault?.kind, "bad_callx");
  const deep = same("recursion through computed pointers", () => `
  call local f
  exit
f:
  r0 = 0
  r1 = func(f)
  r1 += 1
  callx r1
  exit
`) as { fault?: { kind: string } };
  assert.equal(deep.fault?.kind, "call_depth");
  const out = same("callx out of the program", () => `
  r1 = 1
  r1 <<= 32
  r1 += 1000
  callx r1
  exit
`) as { fault?: { kind: string } };
  assert.equal(out.fault?.kind, "bad_callx");
});

test("the budget runs out inside a function the JIT hands to the interpreter, at the same instruction", () => {
  for (const budget of [40, 41, 100, 1000]) {
    const r = same(`budget ${budget}`, () => `
  r6 = 0
loop:
  r6 += 1
  r1 = func(f)
  r1 += 1
  r1 = r1
  callx r1
  if r6 < 5 goto loop
  r0 = r6
  exit
f:
  r0 = 0
  r2 = 3
inner:
  r2 -= 1
  if r2 != 0 goto inner
  exit
`, budget) as { fault?: { kind: string } };
    if (budget < 100) assert.equal(r.fault?.kind, "budget");
  }
});

// Random programs (gen.ts) whose helper 2 now and then calls back into an arbitrary slot
// (mostly slots the JIT never compiled as entries, some past the end): every result,
// fault, executed count and memory byte must be the interpreter's.
test("differential fuzz: helper callbacks into arbitrary slots", async () => {
  const fc = (await import("fast-check")).default;
  const { helperTable, runOnMemory } = await import("../../src/vm/index.js");
  const { runOnMemoryJit } = await import("../../src/jit/index.js");
  const { randomMemory, randomProgram } = await import("./gen.js");
  const runs = Math.max(20, Math.floor(Number(process.env.TSBPF_FUZZ_RUNS ?? 300) / 3));
  const check = (seed: number): void => {
    const insns = randomProgram(seed, { helpers: [1, 2] });
    let len = 0;
    for (const i of insns) len += i.kind === "ld_imm64" ? 2 : 1;
    const helpers = helperTable([
      { id: 1, name: "mix", fn: (a, b, c, d, e) => BigInt.asUintN(64, a * 0x9e3779b97f4a7c15n + (b ^ (c << 7n)) - d + (e >> 3n)) },
      {
        id: 2, name: "small", callsBack: true, fn: (a, b, c, d, e, ctx) => {
          if ((a & 3n) === 0n) return ctx.callFunction((1n << 32n) | (b % BigInt(len + 2)), [a >> 2n, b, c, d, e]);
          return Number(BigInt.asUintN(20, a + b));
        },
      },
    ]);
    const memory = randomMemory(seed);
    const interp = runOnMemory(insns, { memory, helpers, budget: 200_000 });
    const jit = runOnMemoryJit(insns, { memory, helpers, budget: 200_000 });
    assert.deepStrictEqual(jit, interp, `seed ${seed}`);
  };
  fc.assert(fc.property(fc.integer({ min: 0, max: 0x7fffffff }), (seed) => check(seed)), { numRuns: runs });
  for (let seed = 1; seed <= 30; seed++) check(seed);
});

test("a helper that calls back without declaring callsBack gives its callback zeros for r0 and r6-r9, even inside a declared one's callback", async () => {
  const { helperTable } = await import("../../src/vm/index.js");
  const { runOnMemoryJit } = await import("../../src/jit/index.js");
  const { runOnMemory } = await import("../../src/vm/index.js");
  const helpers = (declared: boolean) => helperTable([
    { id: 2, name: "outer", callsBack: true, fn: (a, _b, _c, _d, _e, ctx) => ctx.callFunction(a, []) },
    { id: 3, name: "inner", callsBack: declared, fn: (a, _b, _c, _d, _e, ctx) => ctx.callFunction(a, []) },
  ]);
  // main: r6 = 5, outer(cb1); cb1: r6 = 7, inner(cb2); cb2: r0 = r6.
  const insns = assemble("r6 = 5\nr1 = func(cb1)\ncall 2\nexit\ncb1:\nr6 = 7\nr1 = func(cb2)\ncall 3\nexit\ncb2:\nr0 = r6\nexit");
  const r0 = (x: ReturnType<typeof runOnMemory>) => (x.result.status === "exit" ? x.result.r0 : undefined);
  assert.equal(r0(runOnMemory(insns, { helpers: helpers(false) })), 7n);
  assert.equal(r0(runOnMemoryJit(insns, { helpers: helpers(true) })), 7n);
  assert.equal(r0(runOnMemoryJit(insns, { helpers: helpers(false) })), 0n);
});
