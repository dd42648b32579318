/**
 * Conditional jumps (RFC 9669 §4.3): the condition as an i32 for the structurer's
 * `if`. BPF_JMP compares the 64-bit registers, BPF_JMP32 their low halves; BPF_K
 * operands are the imm sign-extended (to 64 bits for BPF_JMP), as predecode.ts
 * stored them.
 */
import { NUM_REGS } from "../vm/index.js";
import type { FnCompiler } from "./function.js";
import { Op } from "./wasm/opcodes.js";

/** eBPF jump op bits -> [i64 compare, i32 compare]; jset is handled apart. */
const CMP: Record<number, [Op, Op]> = {
  0x10: [Op.i64_eq, Op.i32_eq],
  0x20: [Op.i64_gt_u, Op.i32_gt_u],
  0x30: [Op.i64_ge_u, Op.i32_ge_u],
  0x50: [Op.i64_ne, Op.i32_ne],
  0x60: [Op.i64_gt_s, Op.i32_gt_s],
  0x70: [Op.i64_ge_s, Op.i32_ge_s],
  0xa0: [Op.i64_lt_u, Op.i32_lt_u],
  0xb0: [Op.i64_le_u, Op.i32_le_u],
  0xc0: [Op.i64_lt_s, Op.i32_lt_s],
  0xd0: [Op.i64_le_s, Op.i32_le_s],
};

export function emitCondition(f: FnCompiler, pc: number): void {
  const p = f.p;
  const c = f.c;
  const op = p.op[pc]!;
  const d = p.dst[pc]!;
  const s = p.src[pc]!;
  const isConst = s >= NUM_REGS;
  const lo = isConst ? p.constLo[s]! : 0;
  const hi = isConst ? p.constHi[s]! : 0;
  const jmp32 = (op & 0x07) === 0x06;
  const bits = op & 0xf0;
  f.get(d);
  if (jmp32) c.op(Op.i32_wrap_i64);
  if (isConst) {
    if (jmp32) c.i32(lo);
    else c.i64(lo, hi);
  } else {
    f.get(s);
    if (jmp32) c.op(Op.i32_wrap_i64);
  }
  if (bits === 0x40) {
    // jset: (dst & src) != 0; a non-zero i32 is already true for `if`
    if (jmp32) c.op(Op.i32_and);
    else {
      c.op(Op.i64_and);
      c.op(Op.i64_eqz);
      c.op(Op.i32_eqz);
    }
    return;
  }
  const cmp = CMP[bits];
  if (cmp === undefined) throw new Error(`jit: jump op 0x${op.toString(16)} at ${pc} has no emitter`);
  c.op(jmp32 ? cmp[1] : cmp[0]);
}
