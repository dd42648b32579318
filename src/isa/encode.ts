/**
 * Insn -> RawInsn slots -> bytes: the inverse of decode.ts. Field ranges are checked
 * here (s16 offsets, s32 immediates, registers r0-r10), so an assembler or a rewriter
 * cannot produce bytes that decode to something else.
 */
import { EncodeError, assertNever } from "../errors/index.js";
import * as C from "./constants.js";
import type { Insn, RawInsn } from "./insn.js";
import { ALU_OPS, ATOMIC_IMMS, JMP_CONDS, LD_IMM64_PSEUDOS, sizeField } from "./opcodes.js";
import { hiOf, loOf } from "./u64.js";
import type { ByteOrder } from "./decode.js";

function s16(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) throw new EncodeError(`${what} ${v} does not fit in 16 bits (-32768..32767)`);
  return v;
}
function s32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new EncodeError(`${what} ${v} does not fit in a signed 32-bit immediate`);
  return v;
}
function reg(v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 10) throw new EncodeError(`register r${v} does not exist (r0-r10)`);
  return v;
}

const aluBits = (op: string): number => ALU_OPS.find((a) => a[1] === op)![0];

export function encodeInsn(insn: Insn): RawInsn[] {
  const one = (code: number, dst: number, src: number, off: number, imm: number): RawInsn[] => [
    { code, dst: reg(dst), src: reg(src), off: s16(off, "offset"), imm: s32(imm, "immediate") },
  ];
  switch (insn.kind) {
    case "alu": {
      const cls = insn.alu64 ? C.BPF_ALU64 : C.BPF_ALU;
      const base = insn.op === "sdiv" ? "div" : insn.op === "smod" ? "mod" : insn.op === "movsx" ? "mov" : insn.op;
      const off = insn.op === "sdiv" || insn.op === "smod" ? 1 : insn.op === "movsx" ? (insn.extWidth ?? 0) : 0;
      if (insn.op === "movsx" && insn.src.kind !== "reg") throw new EncodeError("movsx takes a register source");
      if (insn.op === "neg") return one(cls | C.BPF_NEG | C.BPF_K, insn.dst, 0, 0, 0);
      return insn.src.kind === "reg"
        ? one(cls | aluBits(base) | C.BPF_X, insn.dst, insn.src.reg, off, 0)
        : one(cls | aluBits(base) | C.BPF_K, insn.dst, 0, off, insn.src.imm);
    }
    case "end": {
      const code = insn.order === "bswap" ? C.BPF_ALU64 | C.BPF_END | C.BPF_TO_LE : C.BPF_ALU | C.BPF_END | (insn.order === "le" ? C.BPF_TO_LE : C.BPF_TO_BE);
      return one(code, insn.dst, 0, 0, insn.width);
    }
    case "jmp": {
      const cls = insn.jmp32 ? C.BPF_JMP32 : C.BPF_JMP;
      const bits = JMP_CONDS.find((j) => j[1] === insn.cond)![0];
      return insn.src.kind === "reg"
        ? one(cls | bits | C.BPF_X, insn.dst, insn.src.reg, insn.off, 0)
        : one(cls | bits | C.BPF_K, insn.dst, 0, insn.off, insn.src.imm);
    }
    case "ja":
      return insn.long ? one(C.BPF_JMP32 | C.BPF_JA, 0, 0, 0, insn.off) : one(C.BPF_JMP | C.BPF_JA, 0, 0, insn.off, 0);
    case "call": {
      const src = insn.target === "helper" ? 0 : insn.target === "local" ? C.BPF_PSEUDO_CALL : C.BPF_PSEUDO_KFUNC_CALL;
      return one(C.BPF_JMP | C.BPF_CALL, 0, src, insn.target === "kfunc" ? (insn.off ?? 0) : 0, insn.imm);
    }
    case "callx":
      return one(C.BPF_JMP | C.BPF_CALL | C.BPF_X, insn.reg, 0, 0, 0);
    case "exit":
      return one(C.BPF_JMP | C.BPF_EXIT, 0, 0, 0, 0);
    case "ld_imm64": {
      const src = LD_IMM64_PSEUDOS.indexOf(insn.pseudo);
      const lo = insn.pseudo === "imm" ? loOf(insn.value) : insn.imm;
      const hi = insn.pseudo === "imm" ? hiOf(insn.value) : insn.imm2;
      return [
        { code: C.BPF_LD | C.BPF_IMM | C.BPF_DW, dst: reg(insn.dst), src, off: 0, imm: s32(lo, "immediate") },
        { code: 0, dst: 0, src: 0, off: 0, imm: s32(hi, "immediate") },
      ];
    }
    case "ld_abs":
    case "ld_ind": {
      const mode = insn.kind === "ld_abs" ? C.BPF_ABS : C.BPF_IND;
      return one(C.BPF_LD | mode | sizeField(insn.size), 0, insn.kind === "ld_ind" ? insn.src : 0, 0, insn.imm);
    }
    case "ldx":
      return one(C.BPF_LDX | (insn.signed ? C.BPF_MEMSX : C.BPF_MEM) | sizeField(insn.size), insn.dst, insn.src, insn.off, 0);
    case "st":
      return one(C.BPF_ST | C.BPF_MEM | sizeField(insn.size), insn.dst, 0, insn.off, insn.imm);
    case "stx":
      return one(C.BPF_STX | C.BPF_MEM | sizeField(insn.size), insn.dst, insn.src, insn.off, 0);
    case "atomic": {
      const a = ATOMIC_IMMS.find((x) => x[1] === insn.op && x[2] === insn.fetch);
      if (a === undefined) throw new EncodeError(`atomic ${insn.op} ${insn.fetch ? "with" : "without"} fetch does not exist`);
      return one(C.BPF_STX | C.BPF_ATOMIC | sizeField(insn.size), insn.dst, insn.src, insn.off, a[0]);
    }
    default:
      return assertNever(insn, "instruction");
  }
}

export function rawToBytes(raw: readonly RawInsn[], order: ByteOrder = "little"): Uint8Array {
  const out = new Uint8Array(raw.length * 8);
  const view = new DataView(out.buffer);
  const le = order === "little";
  raw.forEach((r, i) => {
    const o = i * 8;
    out[o] = r.code;
    out[o + 1] = le ? (r.dst & 0xf) | ((r.src & 0xf) << 4) : ((r.dst & 0xf) << 4) | (r.src & 0xf);
    view.setInt16(o + 2, r.off, le);
    view.setInt32(o + 4, r.imm, le);
  });
  return out;
}

export function encodeProgram(insns: readonly Insn[], order: ByteOrder = "little"): Uint8Array {
  return rawToBytes(insns.flatMap(encodeInsn), order);
}
