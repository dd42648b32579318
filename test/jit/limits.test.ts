// Edge cases of the JIT against the interpreter: irreducible control flow (dispatch
// loop), call chains up to and past MAX_CALL_FRAMES, tail-call chains at the limit of
// 33, the instruction budget running out at every possible instruction, callx and
// helper callbacks, batch runs, shared memories, and maximum-size programs (1,000,000
// instructions, split into several wasm functions).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Insn } from "../../src/isa/index.js";
import { AddressSpace, Machine, MAX_TAIL_CALL_CNT, helperTable, predecode, runOnMemory, type HelperTable, type PredecodedProgram, type ResetArgs } from "../../src/vm/index.js";
import { JitMachine, compileProgram, runOnMemoryJit } from "../../src/jit/index.js";
import { add, alu, atomic, call, callLocal, callx, exit, ja, jmp, lddw, ldx, mov, prog, r, stx } from "../support/build.js";
import { randomMemory, randomProgram } from "./gen.js";

const MODES = ["checked", "verified"] as const;

/** Interpreter and JIT (both modes) on the same program and arguments. */
function both(insns: Insn[] | PredecodedProgram, args: ResetArgs = {}, helpers?: HelperTable, budget?: number) {
  const p = Array.isArray(insns) ? predecode(insns) : insns;
  const opts = { ...(helpers !== undefined ? { helpers } : {}), ...(budget !== undefined ? { budget } : {}) };
  const im = new Machine(p, new AddressSpace(), opts);
  im.reset(args);
  const interp = im.run();
  const out: Record<string, ReturnType<Machine["run"]>> = {};
  for (const mode of MODES) {
    const jm = new JitMachine(p, new AddressSpace(), { ...opts, mode });
    jm.reset(args);
    out[mode] = jm.run();
  }
  return { interp, checked: out.checked!, verified: out.verified!, im };
}

test("irreducible control flow runs through a dispatch loop with the interpreter's results", () => {
  // Two entries into the cycle {L1, L2}: fall into L1, or jump to L2.
  const insns = prog(
    mov(0, 0),
    mov(2, 5),
    jmp("jgt", 1, 3, 2), // -> L2
    add(0, 1), // L1
    alu("sub", 2, 1),
    add(0, 10), // L2
    jmp("jsgt", 2, 0, -4), // -> L1
    exit(),
  );
  const c = compileProgram(predecode(insns), { mode: "checked" });
  assert.equal(c.stats.dispatchLoops, 1);
  for (const r1 of [0n, 3n, 4n, 100n]) {
    const { interp, checked, verified } = both(insns, { r1 });
    assert.deepEqual(checked, interp);
    assert.equal((verified as { r0: bigint }).r0, (interp as { r0: bigint }).r0);
  }
});

/** main -> f1 -> f2 -> ... -> f(depth-1): each frame stores a value on its stack and adds it back after the call. */
function callChain(depth: number): Insn[] {
  const drafts = [];
  for (let k = 0; k < depth; k++) {
    const last = k === depth - 1;
    // frame k: *(u64 *)(r10 - 8) = k + 1; r0 = call next (or 0); r0 += *(u64 *)(r10 - 8); r0 *= 3
    drafts.push(mov(1, k + 1), stx(8, 10, -8, 1));
    if (last) drafts.push(mov(0, 0));
    else drafts.push(callLocal(4)); // the next frame starts 5 insns later (after the 4 below)
    drafts.push(ldx(8, 2, 10, -8), add(0, r(2)), alu("mul", 0, 3), exit());
  }
  // each frame is 7 insns (mov, stx, call or mov, ldx, add, mul, exit): the call skips 4
  return prog(...drafts);
}

test("call chains: MAX_CALL_FRAMES (8) frames run, the 9th faults as in the interpreter", () => {
  for (const depth of [1, 2, 7, 8, 9, 12]) {
    const { interp, checked, verified } = both(callChain(depth));
    assert.deepEqual(checked, interp, `depth ${depth}`);
    if (depth <= 8) {
      assert.equal(interp.status, "exit");
      assert.equal((verified as { r0: bigint }).r0, (interp as { r0: bigint }).r0);
    } else {
      assert.equal(interp.status, "fault");
      assert.equal(interp.status === "fault" && interp.fault.kind, "call_depth");
    }
  }
  // unbounded recursion
  const { interp, checked } = both(prog(add(1, 1), callLocal(-2), exit()));
  assert.deepEqual(checked, interp);
  assert.equal(interp.status === "fault" && interp.fault.kind, "call_depth");
});

function withTailCalls(programs: PredecodedProgram[]): HelperTable {
  return helperTable([{ id: 12, name: "bpf_tail_call", fn: (_ctx, _map, idx, _a, _b, h) => {
    const t = programs[Number(idx)];
    return t !== undefined && h.tailCall(t) ? 0n : -22n;
  } }]);
}

test("tail calls: a self chain stops after 33, chains across programs, from subprograms", () => {
  const programs: PredecodedProgram[] = [];
  const helpers = withTailCalls(programs);
  // self tail call: r6 counts the programs that ran
  const self = predecode(prog(add(6, 1), mov(3, 0), call(12), mov(0, r(6)), exit()));
  // a chain of 40 distinct programs, each adding its index
  const chain = Array.from({ length: 40 }, (_, i) => predecode(prog(add(7, i + 1), mov(3, i + 2), call(12), mov(0, r(7)), exit())));
  const fromSub = predecode(prog(mov(6, 100), callLocal(2), add(0, r(6)), exit(), mov(3, 1), call(12), mov(0, -1), exit()));
  programs.push(self, ...chain);
  for (const [name, p, want] of [["self", self, BigInt(MAX_TAIL_CALL_CNT + 1)], ["chain", chain[0]!, undefined], ["from a subprogram", fromSub, undefined]] as const) {
    // (these programs read registers across tail calls, which only checked mode keeps:
    // the verifier lets a tail-call target read r1 and r10 alone)
    const { interp, checked, im } = both(p, {}, helpers);
    assert.deepEqual(checked, interp, name);
    if (want !== undefined) assert.equal((interp as { r0: bigint }).r0, want);
    const jm = new JitMachine(p, new AddressSpace(), { helpers });
    jm.run();
    assert.equal(jm.tailCalls, im.tailCalls, name);
  }
});

test("tail calls in verified mode: the target gets r1 and the frame, 33 at most", () => {
  const programs: PredecodedProgram[] = [];
  const helpers = withTailCalls(programs);
  // *(u64 *)(r1 + 0) += 1; *(u64 *)(r10 - 8) = r1; tail call self; r0 = the count
  const self = predecode(prog(
    mov(6, r(1)), ldx(8, 2, 6, 0), add(2, 1), stx(8, 6, 0, 2), stx(8, 10, -8, 6),
    mov(3, 0), call(12), ldx(8, 1, 10, -8), ldx(8, 0, 1, 0), exit(),
  ));
  programs.push(self);
  for (const mode of MODES) {
    const space = new AddressSpace();
    const mem = space.map(8, { name: "ctx", kind: "mem" });
    const m = new JitMachine(self, space, { helpers, mode });
    const im = new Machine(self, space, { helpers });
    for (const machine of [im, m]) {
      space.u8.fill(0, mem.start, mem.end);
      machine.reset({ r1: BigInt(mem.start) });
      const res = machine.run();
      assert.equal(res.status === "exit" && res.r0, BigInt(MAX_TAIL_CALL_CNT + 1), mode);
    }
    assert.equal(m.tailCalls, MAX_TAIL_CALL_CNT);
  }
});

test("the budget runs out at every instruction exactly where the interpreter stops", () => {
  const helpers = helperTable([{ id: 1, name: "mix", fn: (a, b) => a ^ (b << 1n) }, { id: 2, name: "small", fn: (a) => a & 0xffn }]);
  for (const seed of [3, 11, 42]) {
    const insns = randomProgram(seed, { helpers: [1, 2] });
    const memory = randomMemory(seed);
    const full = runOnMemory(insns, { memory, helpers }).result;
    for (let budget = 1; budget <= Math.min(full.executed + 1, 400); budget++) {
      const a = runOnMemory(insns, { memory, helpers, budget });
      const b = runOnMemoryJit(insns, { memory, helpers, budget });
      assert.deepStrictEqual(b, a, `seed ${seed} budget ${budget}`);
    }
  }
});

test("callx to a subprogram and to a helper; a helper calling back into the program", () => {
  // bpf_loop-like helper 7: calls the callback r2 times r1 with (i, r3), sums the results
  const helpers = helperTable([{ id: 7, name: "loop", fn: (n, fn, ctx, _d, _e, h) => {
    let s = 0n;
    for (let i = 0n; i < n; i++) s += h.callFunction(fn, [i, ctx]);
    return s;
  } }, { id: 5, name: "five", fn: () => 5n }]);
  const insns = prog(
    { kind: "ld_imm64", dst: 2, pseudo: "func", imm: 11, imm2: 0, value: 0n }, // r2 = &cb (slot 12)
    mov(1, 4),
    mov(3, 100),
    call(7), // r0 = sum over i < 4 of (i * 2 + 100)
    mov(6, r(0)),
    { kind: "ld_imm64", dst: 8, pseudo: "func", imm: 5, imm2: 0, value: 0n }, // r8 = &cb
    mov(1, 1),
    mov(2, 7),
    callx(8), // r0 = 1 * 2 + 7
    exit(),
    // cb (slot 12): r0 = r1 * 2 + r2
    mov(0, r(1)),
    alu("mul", 0, 2),
    add(0, r(2)),
    exit(),
  );
  const p = predecode(insns);
  assert.equal(p.bySlot[12]?.kind, "alu");
  const { interp, checked, verified } = both(insns, {}, helpers);
  assert.deepEqual(checked, interp);
  assert.equal((interp as { r0: bigint }).r0, 9n);
  assert.equal((verified as { r0: bigint }).r0, 9n);
  assert.equal(interp.status === "exit" && interp.executed > 20, true);
  // callx with a helper id in the register
  const viaId = both(prog(mov(2, 5), callx(2), exit()), {}, helpers);
  assert.deepEqual(viaId.checked, viaId.interp);
  assert.equal((viaId.interp as { r0: bigint }).r0, 5n);
  // callx with a value that is neither
  const bad = both(prog(lddw(2, 0x1234567n), callx(2), exit()), {}, helpers);
  assert.deepEqual(bad.checked, bad.interp);
  assert.equal(bad.interp.status === "fault" && bad.interp.fault.kind, "bad_callx");
});

test("runRepeat and runList run many times inside one wasm call", () => {
  const space = new AddressSpace();
  const insns = prog(ldx(4, 0, 1, 0), add(0, 1), stx(4, 1, 0, 0), exit());
  const bufs = [10, 20, 30].map((v) => {
    const reg = space.map(8, { name: `b${v}`, kind: "mem" });
    space.view.setUint32(reg.start, v, true);
    return reg;
  });
  for (const mode of MODES) {
    const m = new JitMachine(predecode(insns), space, { mode });
    const r = m.runRepeat(5, { r1: BigInt(bufs[0]!.start) });
    assert.equal(r.status === "exit" && r.r0, 15n);
    assert.deepEqual([...m.runList(bufs.map((b) => b.start))], [16n, 21n, 31n]);
    m.close();
    for (const b of bufs) space.view.setUint32(b.start, [10, 20, 30][bufs.indexOf(b)]!, true);
  }
});

test("atomics on a shared memory use wasm atomic instructions with the same results", () => {
  const insns = prog(
    mov(2, 5),
    atomic(8, "add", 1, 0, 2, true), // r2 = old, *r1 += 5
    mov(3, 7),
    atomic(4, "xchg", 1, 8, 3), // r3 = old word at 8
    mov(0, 99),
    mov(4, 1),
    atomic(8, "cmpxchg", 1, 0, 4), // compare with r0
    add(0, r(2)),
    add(0, r(3)),
    ldx(8, 5, 1, 0),
    add(0, r(5)),
    exit(),
  );
  const memory = Uint8Array.from({ length: 16 }, (_, i) => i * 3);
  const interp = runOnMemory(insns, { memory });
  for (const mode of MODES) {
    const space = new AddressSpace({ shared: true });
    assert.ok(space.memory.buffer instanceof SharedArrayBuffer);
    const jit = runOnMemoryJit(insns, { memory, space, mode });
    assert.deepEqual(jit.memory, interp.memory, mode);
    assert.equal((jit.result as { r0: bigint }).r0, (interp.result as { r0: bigint }).r0, mode);
  }
});

/** A program of exactly n instructions: r0 counts, r1 = 3; "diamonds" branch on every other insn. */
function bigProgram(n: number, kind: "line" | "diamonds"): { insns: Insn[]; want: bigint } {
  const drafts = [mov(0, 0), mov(1, 3)];
  let want = 0n;
  if (kind === "line") {
    while (drafts.length < n - 1) drafts.push(add(0, 1));
    want = BigInt(n - 3);
  } else {
    for (let i = 0; drafts.length < n - 2; i++) {
      drafts.push(jmp("jgt", 1, i & 7, 1), add(0, 1));
      if (!(3 > (i & 7))) want++;
    }
    while (drafts.length < n - 1) drafts.push(ja(0));
  }
  drafts.push(exit());
  let pc = 0;
  return { insns: drafts.map((d) => ({ ...d, pc: pc++ }) as Insn), want };
}

test("maximum-size programs (1,000,000 instructions) compile into several functions and run", { timeout: 600_000 }, () => {
  for (const [kind, modes] of [["line", MODES], ["diamonds", ["verified"]]] as const) {
    const { insns, want } = bigProgram(1_000_000, kind);
    const p = predecode(insns);
    for (const mode of modes) {
      const c = compileProgram(p, { mode });
      assert.equal(c.stats.chunked, 1, `${kind} ${mode}`);
      const m = new JitMachine(p, new AddressSpace(), { mode, budget: 2_000_000 });
      const r = m.run();
      assert.equal(r.status, "exit", `${kind} ${mode}`);
      assert.equal((r as { r0: bigint }).r0, want, `${kind} ${mode}`);
      if (mode === "checked") assert.equal(r.executed, 1_000_000);
    }
  }
});

test("a large loop body split across parts, entered in the middle, agrees with the interpreter", { timeout: 300_000 }, () => {
  // r2 = 3; loop: [40,000 insns of diamonds]; r2 -= 1; if r2 != 0 goto loop. With r3 == 7
  // the program jumps into the middle of the loop body (an irreducible loop whose
  // body spans several parts).
  const body = bigProgram(40_000, "diamonds").insns.slice(2, -1);
  const drafts: Insn[] = [];
  const push = (d: object): void => void drafts.push({ ...d, pc: drafts.length } as Insn);
  push(mov(0, 0));
  push(mov(1, 3));
  push(mov(2, 3));
  push(jmp("jeq", 3, 7, 20_000));
  const top = drafts.length;
  for (const b of body) push(b);
  push(alu("sub", 2, 1));
  push(jmp("jne", 2, 0, top - (drafts.length + 1)));
  push(exit());
  const p = predecode(drafts);
  assert.equal(compileProgram(p, { mode: "checked" }).stats.chunked, 1);
  for (const r3 of [0n, 7n]) {
    const { interp, checked, verified } = both(p, { r3 }, undefined, 10_000_000);
    assert.equal(interp.status, "exit");
    assert.deepEqual(checked, interp);
    assert.equal((verified as { r0: bigint }).r0, (interp as { r0: bigint }).r0);
  }
});

test("kernel map helpers in checked mode: valid arguments take the i32 shortcut, invalid ones fault as in the interpreter", async () => {
  const { Runtime, ProgramFault } = await import("../../src/runtime/index.js");
  const outcome = (engine: "interp" | "jit", body: (hash: number, arr: number) => Insn[]) => {
    const rt = new Runtime();
    const hash = rt.createMap({ name: "h", type: "BPF_MAP_TYPE_HASH", keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
    const arr = rt.createMap({ name: "a", type: "BPF_MAP_TYPE_ARRAY", keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
    const prog = rt.loadProgram({ name: "p", type: "xdp", insns: body(hash.address, arr.address), engine });
    try {
      const r = prog.testRun({ dataIn: new Uint8Array(64), repeat: 3 });
      const dump = [...Array(4).keys()].map((i) => {
        const k = new Uint8Array([i, 0, 0, 0]);
        return [hash.lookup(k), arr.lookup(k)].map((v) => (v === undefined ? "-" : Buffer.from(v).toString("hex")));
      });
      return { r0: r.r0, executed: r.executed, dump };
    } catch (e) {
      if (e instanceof ProgramFault) return { fault: e.fault };
      throw e;
    }
  };
  // key at r10-4 = 2, value at r10-16 = 0x1122; update(map, key, value, flags); r0 = lookup(map, key)
  const upd = (m: number, keyReg: number, valReg: number, flags: number): Insn[] => prog(
    mov(6, 2), stx(4, 10, -4, 6), lddw(6, 0x1122n), stx(8, 10, -16, 6),
    lddw(1, BigInt(m)), mov(2, r(10)), add(2, -4), mov(3, r(10)), add(3, -16), mov(4, flags),
    ...(keyReg === 2 ? [] : [mov(2, keyReg)]), ...(valReg === 3 ? [] : [mov(3, valReg)]),
    call(2), mov(7, r(0)),
    lddw(1, BigInt(m)), mov(2, r(10)), add(2, -4), call(1), jmp("jeq", 0, 0, 1), ldx(8, 0, 0, 0), add(0, r(7)),
    lddw(1, BigInt(m)), mov(2, r(10)), add(2, -4), call(3), add(0, r(7)),
    exit(),
  );
  const cases: Array<[string, (h: number, a: number) => Insn[]]> = [
    ["hash: update, lookup, delete", (h) => upd(h, 2, 3, 0)],
    ["array: update with BPF_NOEXIST, lookup, delete", (_h, a) => upd(a, 2, 3, 1)],
    ["hash: key pointer NULL", (h) => upd(h, 0, 3, 0)],
    ["array: value pointer below the NULL guard", (_h, a) => upd(a, 2, 8, 0)],
    ["r1 is not a map", (h) => upd(h + 8, 2, 3, 0)],
    ["key across the end of the stack", (h) => prog(lddw(1, BigInt(h)), mov(2, r(10)), add(2, -2), call(1), exit())],
  ];
  for (const [name, body] of cases) {
    assert.deepEqual(outcome("jit", body), outcome("interp", body), name);
  }
  assert.ok("fault" in outcome("jit", cases[2]![1]));
});
