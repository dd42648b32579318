/** A small builder for test programs as Insn[] (pc is assigned by `prog`), for tests that must not depend on the assembler. */
import type { AluOp, AtomicOp, Insn, JmpCond, MemSize } from "../../src/isa/index.js";

type NoPc<T> = T extends Insn ? Omit<T, "pc"> : never;
export type Draft = NoPc<Insn>;

export function prog(...drafts: Draft[]): Insn[] {
  let pc = 0;
  return drafts.map((d) => {
    const insn = { ...d, pc } as Insn;
    pc += d.kind === "ld_imm64" ? 2 : 1;
    return insn;
  });
}

export const alu = (op: AluOp, dst: number, src: number | { reg: number }, alu64 = true): Draft => ({
  kind: "alu", op, alu64, dst, src: typeof src === "number" ? { kind: "imm", imm: src } : { kind: "reg", reg: src.reg },
});
export const r = (reg: number): { reg: number } => ({ reg });
export const mov = (dst: number, src: number | { reg: number }): Draft => alu("mov", dst, src);
export const add = (dst: number, src: number | { reg: number }): Draft => alu("add", dst, src);
export const exit = (): Draft => ({ kind: "exit" });
export const ja = (off: number): Draft => ({ kind: "ja", off, long: false });
export const jmp = (cond: JmpCond, dst: number, src: number | { reg: number }, off: number, jmp32 = false): Draft => ({
  kind: "jmp", cond, jmp32, dst, off, src: typeof src === "number" ? { kind: "imm", imm: src } : { kind: "reg", reg: src.reg },
});
export const ldx = (size: MemSize, dst: number, src: number, off: number, signed = false): Draft => ({ kind: "ldx", size, signed, dst, src, off });
export const stx = (size: MemSize, dst: number, off: number, src: number): Draft => ({ kind: "stx", size, dst, src, off });
export const st = (size: MemSize, dst: number, off: number, imm: number): Draft => ({ kind: "st", size, dst, off, imm });
export const lddw = (dst: number, value: bigint): Draft => ({
  kind: "ld_imm64", dst, pseudo: "imm", imm: Number(BigInt.asIntN(32, value)), imm2: Number(BigInt.asIntN(32, value >> 32n)), value: BigInt.asUintN(64, value),
});
export const atomic = (size: 4 | 8, op: AtomicOp, dst: number, off: number, src: number, fetch = false): Draft => ({
  kind: "atomic", size, op, fetch: fetch || op === "xchg" || op === "cmpxchg", dst, src, off,
});
export const call = (id: number): Draft => ({ kind: "call", target: "helper", imm: id });
export const callLocal = (rel: number): Draft => ({ kind: "call", target: "local", imm: rel });
export const callx = (reg: number): Draft => ({ kind: "callx", reg });
