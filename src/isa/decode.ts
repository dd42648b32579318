/**
 * bytes -> RawInsn[] -> Insn[]. Field checks follow the kernel's (kernel/bpf/verifier.c:
 * check_alu_op, check_cond_jmp_op, do_check, check_ld_imm, resolve_pseudo_ldimm64) and
 * reuse its wording ("BPF_ALU uses reserved fields", "unknown opcode 8d") so a program
 * rejected here is rejected for the reason the kernel would give. Only encoding rules
 * live here; semantic rules (division by a zero constant, shift ranges, r10 writes,
 * jump targets) belong to the verifier and the structure check.
 */
import { DecodeError } from "../errors/index.js";
import * as C from "./constants.js";
import type { AluOp, Insn, LdImm64Pseudo, Operand, RawInsn } from "./insn.js";
import { ATOMIC_IMMS, LD_IMM64_PSEUDOS, OPCODES } from "./opcodes.js";
import { fromHalves } from "./u64.js";

export type ByteOrder = "little" | "big";

/** Splits bytes into 8-byte slots. In a big-endian object the register nibbles are swapped, as in the kernel's struct bitfields. */
export function decodeRaw(bytes: Uint8Array, order: ByteOrder = "little"): RawInsn[] {
  if (bytes.length % C.INSN_SIZE !== 0) {
    throw new DecodeError(Math.floor(bytes.length / C.INSN_SIZE), `program length ${bytes.length} is not a multiple of 8 bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = order === "little";
  const out: RawInsn[] = [];
  for (let o = 0; o < bytes.length; o += 8) {
    const regs = bytes[o + 1]!;
    out.push({
      code: bytes[o]!,
      dst: le ? regs & 0x0f : regs >> 4,
      src: le ? regs >> 4 : regs & 0x0f,
      off: view.getInt16(o + 2, le),
      imm: view.getInt32(o + 4, le),
    });
  }
  return out;
}

const hex2 = (n: number): string => n.toString(16).padStart(2, "0");

function checkReg(pc: number, reg: number): number {
  if (reg >= C.MAX_BPF_REG) throw new DecodeError(pc, `R${reg} is invalid`);
  return reg;
}

/** Decodes the instruction at slot `pc`. ld_imm64 reads slot pc+1 too. */
export function decodeAt(raw: readonly RawInsn[], pc: number): Insn {
  const r = raw[pc];
  if (r === undefined) throw new DecodeError(pc, "no instruction at this index");
  const info = OPCODES[r.code];
  if (info === undefined) {
    // Linux 6.15+ knows 8- and 16-bit BPF_ATOMIC for load-acquire / store-release
    // (which tsbpf does not implement); a read-modify-write of those sizes is
    // check_atomic_rmw()'s "invalid atomic operand size".
    const size = r.code & 0x18;
    const atomicNarrow = (r.code & 0xe7) === (C.BPF_STX | C.BPF_ATOMIC) && (size === C.BPF_B || size === C.BPF_H);
    if (atomicNarrow && ATOMIC_IMMS.some((x) => x[0] === r.imm)) throw new DecodeError(pc, "invalid atomic operand size");
    throw new DecodeError(pc, `unknown opcode ${hex2(r.code)}`);
  }
  const reserved = (what: string): never => {
    throw new DecodeError(pc, `${what} uses reserved fields`);
  };
  const dst = checkReg(pc, r.dst);
  switch (info.kind) {
    case "alu": {
      const cls = "BPF_ALU";
      const src: Operand = info.source === "X" ? { kind: "reg", reg: checkReg(pc, r.src) } : { kind: "imm", imm: r.imm };
      if (info.op === "neg") {
        if (r.src !== 0 || r.off !== 0 || r.imm !== 0) reserved("BPF_NEG");
        return { kind: "alu", pc, op: "neg", alu64: info.alu64, dst, src };
      }
      if (info.op === "mov") {
        if (info.source === "X") {
          const widths = info.alu64 ? [0, 8, 16, 32] : [0, 8, 16];
          if (!widths.includes(r.off) || r.imm !== 0) reserved("BPF_MOV");
          if (r.off !== 0) return { kind: "alu", pc, op: "movsx", alu64: info.alu64, dst, src, extWidth: r.off as 8 | 16 | 32 };
        } else if (r.src !== 0 || r.off !== 0) reserved("BPF_MOV");
        return { kind: "alu", pc, op: "mov", alu64: info.alu64, dst, src };
      }
      if (info.source === "X" ? r.imm !== 0 : r.src !== 0) reserved(cls);
      let op: AluOp = info.op;
      if (r.off === 1 && (op === "div" || op === "mod")) op = op === "div" ? "sdiv" : "smod";
      else if (r.off !== 0) reserved(cls);
      return { kind: "alu", pc, op, alu64: info.alu64, dst, src };
    }
    case "end": {
      if (r.src !== 0 || r.off !== 0 || (r.imm !== 16 && r.imm !== 32 && r.imm !== 64)) reserved("BPF_END");
      const order = info.alu64 ? "bswap" : info.source === "K" ? "le" : "be";
      return { kind: "end", pc, order, width: r.imm as 16 | 32 | 64, dst };
    }
    case "jmp": {
      const src: Operand = info.source === "X" ? { kind: "reg", reg: checkReg(pc, r.src) } : { kind: "imm", imm: r.imm };
      if (info.source === "X" ? r.imm !== 0 : r.src !== 0) reserved("BPF_JMP/JMP32");
      return { kind: "jmp", pc, cond: info.cond, jmp32: info.jmp32, dst, src, off: r.off };
    }
    case "ja":
      if (r.src !== 0 || r.dst !== 0 || (info.long ? r.off !== 0 : r.imm !== 0)) reserved("BPF_JA");
      return { kind: "ja", pc, off: info.long ? r.imm : r.off, long: info.long };
    case "call":
      if (info.source === "X") {
        // callx (LLVM, uBPF): target register in dst_reg.
        if (r.src !== 0 || r.off !== 0 || r.imm !== 0) reserved("BPF_CALL");
        return { kind: "callx", pc, reg: dst };
      }
      if (r.dst !== 0 || (r.src !== C.BPF_PSEUDO_KFUNC_CALL && r.off !== 0) || r.src > C.BPF_PSEUDO_KFUNC_CALL) reserved("BPF_CALL");
      if (r.src === C.BPF_PSEUDO_KFUNC_CALL) return { kind: "call", pc, target: "kfunc", imm: r.imm, off: r.off };
      return { kind: "call", pc, target: r.src === 0 ? "helper" : "local", imm: r.imm };
    case "exit":
      if (r.src !== 0 || r.dst !== 0 || r.off !== 0 || r.imm !== 0) reserved("BPF_EXIT");
      return { kind: "exit", pc };
    case "ld_imm64": {
      if (r.off !== 0) reserved("BPF_LD_IMM64");
      const next = raw[pc + 1];
      if (next === undefined || next.code !== 0 || next.dst !== 0 || next.src !== 0 || next.off !== 0) {
        throw new DecodeError(pc, "invalid bpf_ld_imm64 insn");
      }
      const pseudo: LdImm64Pseudo | undefined = LD_IMM64_PSEUDOS[r.src];
      if (pseudo === undefined) throw new DecodeError(pc, `unrecognized bpf_ld_imm64 insn (src_reg ${r.src})`);
      return { kind: "ld_imm64", pc, dst, pseudo, imm: r.imm, imm2: next.imm, value: fromHalves(r.imm, next.imm) };
    }
    case "ld_abs":
    case "ld_ind":
      if (r.dst !== 0 || r.off !== 0 || (info.kind === "ld_abs" && r.src !== 0)) reserved("BPF_LD_[ABS|IND]");
      return { kind: info.kind, pc, size: info.size, src: checkReg(pc, r.src), imm: r.imm };
    case "ldx":
      if (r.imm !== 0) reserved("BPF_LDX");
      return { kind: "ldx", pc, size: info.size, signed: info.signed, dst, src: checkReg(pc, r.src), off: r.off };
    case "st":
      if (r.src !== 0) reserved("BPF_ST");
      return { kind: "st", pc, size: info.size, dst, off: r.off, imm: r.imm };
    case "stx":
      if (r.imm !== 0) reserved("BPF_STX");
      return { kind: "stx", pc, size: info.size, dst, src: checkReg(pc, r.src), off: r.off };
    case "atomic": {
      const a = ATOMIC_IMMS.find((x) => x[0] === r.imm);
      if (a === undefined) throw new DecodeError(pc, `BPF_ATOMIC uses invalid atomic opcode ${hex2(r.imm & 0xff)}`);
      return { kind: "atomic", pc, size: info.size, op: a[1], fetch: a[2], dst, src: checkReg(pc, r.src), off: r.off };
    }
  }
}

/** Decodes a whole program. Throws DecodeError naming the first bad slot. */
export function decodeProgram(bytesOrRaw: Uint8Array | readonly RawInsn[], order: ByteOrder = "little"): Insn[] {
  const raw = bytesOrRaw instanceof Uint8Array ? decodeRaw(bytesOrRaw, order) : bytesOrRaw;
  const out: Insn[] = [];
  for (let pc = 0; pc < raw.length; ) {
    // The first half of an ld_imm64 in the last slot: the kernel's check_subprogs()
    // runs before the ld_imm64 checks and sees a program not ending in exit or jump.
    if (pc === raw.length - 1 && raw[pc]!.code === (C.BPF_LD | C.BPF_IMM | C.BPF_DW)) {
      throw new DecodeError(pc, "last insn is not an exit or jmp");
    }
    const insn = decodeAt(raw, pc);
    out.push(insn);
    pc += insn.kind === "ld_imm64" ? 2 : 1;
  }
  return out;
}
