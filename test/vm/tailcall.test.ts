// Tail calls (MAX_TAIL_CALL_CNT = 33, frames, program switch) and legacy LD_ABS/LD_IND.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AddressSpace, Machine, helperTable, predecode, MAX_TAIL_CALL_CNT, type PredecodedProgram } from "../../src/vm/index.js";
import { add, call, callLocal, exit, mov, prog, r, lddw } from "../support/build.js";
import type { Insn } from "../../src/isa/index.js";

function withTailCalls(programs: PredecodedProgram[]) {
  // helper 12 (bpf_tail_call): r3 = index into `programs`
  return helperTable([{ id: 12, name: "bpf_tail_call", fn: (_ctx, _map, idx, _a, _b, h) => {
    const t = programs[Number(idx)];
    return t !== undefined && h.tailCall(t) ? 0n : -22n;
  } }]);
}

test("a self tail call chain stops after 33 tail calls", () => {
  const programs: PredecodedProgram[] = [];
  const p = predecode(prog(add(6, 1), mov(3, 0), call(12), mov(0, r(6)), exit()));
  programs.push(p);
  const m = new Machine(p, new AddressSpace(), { helpers: withTailCalls(programs) });
  const res = m.run();
  assert.equal(res.status, "exit");
  assert.equal(m.getReg(0), BigInt(MAX_TAIL_CALL_CNT + 1));
  assert.equal(m.tailCalls, 33);
  // reset() restores the entry program and the count
  m.reset();
  m.run();
  assert.equal(m.getReg(0), 34n);
});

test("a tail call replaces the program: registers and stack carry over, the caller never resumes", () => {
  const programs: PredecodedProgram[] = [];
  const a = predecode(prog(mov(7, 40), lddw(8, 0x1234n), mov(3, 1), call(12), mov(0, -1), exit()));
  const b = predecode(prog(mov(0, r(7)), add(0, 2), exit()));
  programs.push(a, b);
  const m = new Machine(a, new AddressSpace(), { helpers: withTailCalls(programs) });
  assert.deepEqual(m.run(), { status: "exit", r0: 42n, executed: 7 });
  // a failed tail call continues with the next instruction
  const m2 = new Machine(predecode(prog(mov(3, 9), call(12), mov(0, 5), exit())), new AddressSpace(), { helpers: withTailCalls(programs) });
  assert.equal((m2.run() as { r0: bigint }).r0, 5n);
});

test("a tail call from a subprogram returns to the caller in the first program", () => {
  const programs: PredecodedProgram[] = [];
  const main = predecode(prog(mov(6, 100), callLocal(2), add(0, r(6)), exit(), /* sub at 4 */ mov(3, 1), call(12), mov(0, -1), exit()));
  const target = predecode(prog(mov(0, 7), exit()));
  programs.push(main, target);
  const m = new Machine(main, new AddressSpace(), { helpers: withTailCalls(programs) });
  const res = m.run();
  assert.equal(res.status, "exit");
  assert.equal(m.getReg(0), 107n);
});

test("LD_ABS / LD_IND through the program type's loader; out of bounds ends with r0 = 0", () => {
  const pkt = [0x45, 0x00, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef];
  const ldAbs = (_ctx: number, off: number, size: 1 | 2 | 4): number | undefined => {
    if (off < 0 || off + size > pkt.length) return undefined;
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + pkt[off + i]!;
    return v;
  };
  const run = (insns: Insn[]) => {
    const m = new Machine(insns, new AddressSpace(), { ldAbs });
    m.reset({ r1: 0x10000n });
    return m.run();
  };
  const ldabs = (size: 1 | 2 | 4, imm: number): Insn => ({ kind: "ld_abs", pc: 0, size, src: 0, imm });
  assert.equal((run([{ ...ldabs(2, 2), pc: 0 }, { kind: "exit", pc: 1 }]) as { r0: bigint }).r0, 0x1234n);
  assert.equal((run([{ ...ldabs(4, 4), pc: 0 }, { kind: "exit", pc: 1 }]) as { r0: bigint }).r0, 0xdeadbeefn);
  assert.deepEqual(run([{ kind: "alu", pc: 0, op: "mov", alu64: true, dst: 0, src: { kind: "imm", imm: 9 } }, { ...ldabs(4, 6), pc: 1 }, { kind: "alu", pc: 2, op: "mov", alu64: true, dst: 0, src: { kind: "imm", imm: 1 } }, { kind: "exit", pc: 3 }]), { status: "exit", r0: 0n, executed: 2 });
  const ind: Insn[] = [
    { kind: "alu", pc: 0, op: "mov", alu64: true, dst: 2, src: { kind: "imm", imm: 3 } },
    { kind: "ld_ind", pc: 1, size: 1, src: 2, imm: 1 },
    { kind: "exit", pc: 2 },
  ];
  assert.equal((run(ind) as { r0: bigint }).r0, 0xden);
  // without a loader it is a fault, not a crash
  const m = new Machine([ldabs(1, 0), { kind: "exit", pc: 1 }], new AddressSpace());
  const res = m.run();
  assert.equal(res.status, "fault");
});

test("a program with a million immediates runs (constant registers are shared)", () => {
  const n = 1_000_000;
  const insns: Insn[] = [{ kind: "alu", pc: 0, op: "mov", alu64: true, dst: 0, src: { kind: "imm", imm: 0 } }];
  for (let i = 1; i <= n; i++) insns.push({ kind: "alu", pc: i, op: "add", alu64: true, dst: 0, src: { kind: "imm", imm: 1 } });
  insns.push({ kind: "exit", pc: n + 1 });
  const m = new Machine(insns, new AddressSpace(), { budget: 2_000_000 });
  const res = m.run();
  assert.equal(res.status, "exit");
  assert.equal(m.getReg(0), 1_000_000n);
});
