// Every ALU, byte-swap and conditional-jump operation, both widths and both operand
// forms, against the BigInt reference model on edge values and random values.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { AluOp, Insn, JmpCond } from "../../src/isa/index.js";
import { AddressSpace, Machine } from "../../src/vm/index.js";
import { EDGE_VALUES, refAlu, refCond, refSwap } from "../support/reference.js";

const space = new AddressSpace();
const ALU_OPS: AluOp[] = ["add", "sub", "mul", "div", "sdiv", "or", "and", "lsh", "rsh", "mod", "smod", "xor", "mov", "arsh"];
const CONDS: JmpCond[] = ["jeq", "jgt", "jge", "jset", "jne", "jsgt", "jsge", "jlt", "jle", "jslt", "jsle"];

function run(insns: Insn[], regs: Record<number, bigint>): bigint {
  const m = new Machine(insns, space);
  try {
    m.reset();
    for (const [r, v] of Object.entries(regs)) m.setReg(Number(r), v);
    const res = m.run();
    assert.equal(res.status, "exit", res.status === "fault" ? res.fault.message : "");
    return m.getReg(0);
  } finally {
    m.close();
  }
}

/** r0 = a; r0 op= (r1 = b | imm); exit */
function aluProgram(op: AluOp, alu64: boolean, useImm: boolean, imm: number, extWidth?: 8 | 16 | 32): Insn[] {
  const src = useImm ? ({ kind: "imm", imm } as const) : ({ kind: "reg", reg: 1 } as const);
  const alu: Insn = extWidth === undefined
    ? { kind: "alu", pc: 0, op, alu64, dst: 0, src }
    : { kind: "alu", pc: 0, op, alu64, dst: 0, src, extWidth };
  return [alu, { kind: "exit", pc: 1 }];
}

const sext32 = (imm: number): bigint => BigInt.asUintN(64, BigInt(imm));

test("ALU register forms match the reference on edge values", () => {
  for (const op of ALU_OPS) {
    for (const alu64 of [true, false]) {
      for (const a of EDGE_VALUES) {
        for (const b of EDGE_VALUES) {
          const got = run(aluProgram(op, alu64, false, 0), { 0: a, 1: b });
          assert.equal(got, refAlu(op, alu64, a, b), `${op}${alu64 ? "64" : "32"} ${a} ${b}`);
        }
      }
    }
  }
});

test("ALU immediate forms sign-extend the immediate (and shifts mask it)", () => {
  const imms = [0, 1, -1, 7, 31, 32, 63, 64, 0x7fffffff, -0x80000000, 0x12345678, -2];
  for (const op of ALU_OPS) {
    for (const alu64 of [true, false]) {
      for (const a of EDGE_VALUES) {
        for (const imm of imms) {
          const got = run(aluProgram(op, alu64, true, imm), { 0: a });
          assert.equal(got, refAlu(op, alu64, a, sext32(imm)), `${op}${alu64 ? "64" : "32"} ${a} imm ${imm}`);
        }
      }
    }
  }
});

test("neg and movsx", () => {
  for (const a of EDGE_VALUES) {
    for (const alu64 of [true, false]) {
      assert.equal(run([{ kind: "alu", pc: 0, op: "neg", alu64, dst: 0, src: { kind: "imm", imm: 0 } }, { kind: "exit", pc: 1 }], { 0: a }), refAlu("neg", alu64, a, 0n));
      for (const w of alu64 ? ([8, 16, 32] as const) : ([8, 16] as const)) {
        assert.equal(run(aluProgram("movsx", alu64, false, 0, w), { 0: 0xdeadn, 1: a }), refAlu("movsx", alu64, 0n, a, w), `movsx${w} ${alu64} ${a}`);
      }
    }
  }
});

test("byte swaps: le, be, bswap at 16/32/64", () => {
  for (const order of ["le", "be", "bswap"] as const) {
    for (const width of [16, 32, 64] as const) {
      for (const a of EDGE_VALUES) {
        const got = run([{ kind: "end", pc: 0, order, width, dst: 0 }, { kind: "exit", pc: 1 }], { 0: a });
        assert.equal(got, refSwap(order, width, a), `${order}${width} ${a.toString(16)}`);
      }
    }
  }
});

test("conditional jumps against the reference, register and immediate forms", () => {
  // r0 = 0; if r1 <cond> r2|imm goto +1; exit; r0 = 1; exit
  for (const cond of CONDS) {
    for (const jmp32 of [false, true]) {
      for (const a of EDGE_VALUES) {
        for (const b of EDGE_VALUES) {
          const prog: Insn[] = [
            { kind: "alu", pc: 0, op: "mov", alu64: true, dst: 0, src: { kind: "imm", imm: 0 } },
            { kind: "jmp", pc: 1, cond, jmp32, dst: 1, src: { kind: "reg", reg: 2 }, off: 1 },
            { kind: "exit", pc: 2 },
            { kind: "alu", pc: 3, op: "mov", alu64: true, dst: 0, src: { kind: "imm", imm: 1 } },
            { kind: "exit", pc: 4 },
          ];
          assert.equal(run(prog, { 1: a, 2: b }), refCond(cond, jmp32, a, b) ? 1n : 0n, `${cond}${jmp32 ? "32" : ""} ${a} ${b}`);
        }
        const imm = Number(BigInt.asIntN(32, a));
        const prog: Insn[] = [
          { kind: "alu", pc: 0, op: "mov", alu64: true, dst: 0, src: { kind: "imm", imm: 0 } },
          { kind: "jmp", pc: 1, cond, jmp32, dst: 1, src: { kind: "imm", imm }, off: 1 },
          { kind: "exit", pc: 2 },
          { kind: "alu", pc: 3, op: "mov", alu64: true, dst: 0, src: { kind: "imm", imm: 1 } },
          { kind: "exit", pc: 4 },
        ];
        for (const x of EDGE_VALUES) {
          assert.equal(run(prog, { 1: x }), refCond(cond, jmp32, x, sext32(imm)) ? 1n : 0n, `${cond}${jmp32 ? "32" : ""} ${x} imm ${imm}`);
        }
      }
    }
  }
});

test("random operands: every ALU op agrees with the reference (property)", () => {
  const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  fc.assert(
    fc.property(fc.constantFrom(...ALU_OPS), fc.boolean(), u64, u64, (op, alu64, a, b) => {
      return run(aluProgram(op, alu64, false, 0), { 0: a, 1: b }) === refAlu(op, alu64, a, b);
    }),
    { numRuns: 3000 },
  );
});
