/**
 * ALU, ALU64 and byte-order instructions (RFC 9669 §4.1-4.2), with the semantics of
 * the interpreter (src/vm/interpreter.ts) and the kernel (___bpf_prog_run):
 *
 *  - 32-bit operations work on the low halves and zero-extend the result;
 *  - BPF_K operands of 64-bit operations are the imm sign-extended (predecode.ts
 *    already stored them so, as constant registers);
 *  - division by zero gives 0, modulo by zero leaves dst (32-bit: its low half);
 *    INT_MIN sdiv -1 = INT_MIN, INT_MIN smod -1 = 0 (wasm's div_s traps on those,
 *    so -1 divisors take the negation instead; wasm's rem_s already gives 0);
 *  - shift counts are masked to the operand width, as wasm shifts do;
 *  - byte swaps (wasm has none) are shifts, rotates and masks.
 */
import { NUM_REGS } from "../vm/index.js";
import type { FnCompiler } from "./function.js";
import { Op, ValType } from "./wasm/opcodes.js";

const OP_SDIV64 = 0x100;
const OP_SMOD64 = 0x101;
const OP_SDIV32 = 0x102;
const OP_SMOD32 = 0x103;
const OP_MOVSX8_64 = 0x104;
const OP_MOVSX16_64 = 0x105;
const OP_MOVSX32_64 = 0x106;
const OP_MOVSX8_32 = 0x107;
const OP_MOVSX16_32 = 0x108;
const OP_LE16 = 0x109;
const OP_LE32 = 0x10a;
const OP_LE64 = 0x10b;
const OP_BE16 = 0x10c;
const OP_BE32 = 0x10d;
const OP_BE64 = 0x10e;

/** Simple binary operations: eBPF op bits -> [i64 op, i32 op]. */
const SIMPLE: Record<number, [Op, Op]> = {
  0x00: [Op.i64_add, Op.i32_add],
  0x10: [Op.i64_sub, Op.i32_sub],
  0x20: [Op.i64_mul, Op.i32_mul],
  0x40: [Op.i64_or, Op.i32_or],
  0x50: [Op.i64_and, Op.i32_and],
  0x60: [Op.i64_shl, Op.i32_shl],
  0x70: [Op.i64_shr_u, Op.i32_shr_u],
  0xa0: [Op.i64_xor, Op.i32_xor],
  0xc0: [Op.i64_shr_s, Op.i32_shr_s],
};

export function emitAlu(f: FnCompiler, pc: number): void {
  const p = f.p;
  const c = f.c;
  const op = p.op[pc]!;
  const d = p.dst[pc]!;
  const s = p.src[pc]!;
  const isConst = s >= NUM_REGS;
  const lo = isConst ? p.constLo[s]! : 0;
  const hi = isConst ? p.constHi[s]! : 0;
  const src64 = (): void => (isConst ? c.i64(lo, hi) : f.get(s));
  const src32 = (): void => {
    if (isConst) c.i32(lo);
    else {
      f.get(s);
      c.op(Op.i32_wrap_i64);
    }
  };
  const dst32 = (): void => {
    f.get(d);
    c.op(Op.i32_wrap_i64);
  };
  const done32 = (): void => {
    c.op(Op.i64_extend_i32_u);
    f.set(d);
  };

  if (op < 0x100) {
    const alu64 = (op & 0x07) === 0x07;
    const bits = op & 0xf0;
    const simple = SIMPLE[bits];
    if (simple !== undefined) {
      if (alu64) {
        f.get(d);
        src64();
        c.op(simple[0]);
        f.set(d);
      } else {
        dst32();
        src32();
        c.op(simple[1]);
        done32();
      }
      return;
    }
    switch (bits) {
      case 0xb0: // mov
        if (alu64) src64();
        else if (isConst) c.i64(lo, 0);
        else {
          src32();
          c.op(Op.i64_extend_i32_u);
        }
        f.set(d);
        return;
      case 0x80: // neg
        if (alu64) {
          c.i64(0);
          f.get(d);
          c.op(Op.i64_sub);
          f.set(d);
        } else {
          c.i32(0);
          dst32();
          c.op(Op.i32_sub);
          done32();
        }
        return;
      case 0x30: // div (unsigned): by zero gives 0
        if (alu64) divmod64(f, d, s, isConst, lo, hi, false, false);
        else divmod32(f, d, s, isConst, lo, false, false);
        return;
      case 0x90: // mod (unsigned): by zero leaves dst
        if (alu64) divmod64(f, d, s, isConst, lo, hi, true, false);
        else divmod32(f, d, s, isConst, lo, true, false);
        return;
    }
    throw new Error(`jit: ALU op 0x${op.toString(16)} at ${pc} has no emitter`);
  }

  switch (op) {
    case OP_SDIV64:
      return divmod64(f, d, s, isConst, lo, hi, false, true);
    case OP_SMOD64:
      return divmod64(f, d, s, isConst, lo, hi, true, true);
    case OP_SDIV32:
      return divmod32(f, d, s, isConst, lo, false, true);
    case OP_SMOD32:
      return divmod32(f, d, s, isConst, lo, true, true);
    case OP_MOVSX8_64:
    case OP_MOVSX16_64:
    case OP_MOVSX32_64:
      src64();
      c.op(op === OP_MOVSX8_64 ? Op.i64_extend8_s : op === OP_MOVSX16_64 ? Op.i64_extend16_s : Op.i64_extend32_s);
      f.set(d);
      return;
    case OP_MOVSX8_32:
    case OP_MOVSX16_32:
      src32();
      c.op(op === OP_MOVSX8_32 ? Op.i32_extend8_s : Op.i32_extend16_s);
      done32();
      return;
    case OP_LE16:
    case OP_LE32:
      f.get(d);
      c.i64(op === OP_LE16 ? 0xffff : -1, 0);
      c.op(Op.i64_and);
      f.set(d);
      return;
    case OP_LE64:
      return;
    case OP_BE16:
      // ((x & 0xff) << 8) | ((x >> 8) & 0xff), on the low half
      dst32();
      c.tee(f.t32);
      c.i32(0xff);
      c.op(Op.i32_and);
      c.i32(8);
      c.op(Op.i32_shl);
      c.get(f.t32);
      c.i32(8);
      c.op(Op.i32_shr_u);
      c.i32(0xff);
      c.op(Op.i32_and);
      c.op(Op.i32_or);
      done32();
      return;
    case OP_BE32:
      dst32();
      bswap32(f);
      done32();
      return;
    case OP_BE64:
      bswap64(f, d);
      return;
  }
  throw new Error(`jit: micro-op 0x${op.toString(16)} at ${pc} has no ALU emitter`);
}

/** bswap32 of the i32 on the stack: (rotl(x, 8) & 0x00ff00ff) | (rotr(x, 8) & 0xff00ff00). */
function bswap32(f: FnCompiler): void {
  const c = f.c;
  c.tee(f.t32);
  c.i32(8);
  c.op(Op.i32_rotl);
  c.i32(0x00ff00ff);
  c.op(Op.i32_and);
  c.get(f.t32);
  c.i32(8);
  c.op(Op.i32_rotr);
  c.i32(0xff00ff00 | 0);
  c.op(Op.i32_and);
  c.op(Op.i32_or);
}

/** dst = bswap64(dst): swap bytes within halfwords, halfwords within words, then the words. */
function bswap64(f: FnCompiler, d: number): void {
  const c = f.c;
  const M8 = [0x00ff00ff, 0x00ff00ff] as const;
  const M16 = [0x0000ffff, 0x0000ffff] as const;
  // x = ((x >> 8) & M8) | ((x & M8) << 8)
  f.get(d);
  c.tee(f.tA);
  c.i64(8);
  c.op(Op.i64_shr_u);
  c.i64(M8[0], M8[1]);
  c.op(Op.i64_and);
  c.get(f.tA);
  c.i64(M8[0], M8[1]);
  c.op(Op.i64_and);
  c.i64(8);
  c.op(Op.i64_shl);
  c.op(Op.i64_or);
  // x = ((x >> 16) & M16) | ((x & M16) << 16)
  c.tee(f.tA);
  c.i64(16);
  c.op(Op.i64_shr_u);
  c.i64(M16[0], M16[1]);
  c.op(Op.i64_and);
  c.get(f.tA);
  c.i64(M16[0], M16[1]);
  c.op(Op.i64_and);
  c.i64(16);
  c.op(Op.i64_shl);
  c.op(Op.i64_or);
  // swap the 32-bit words
  c.i64(32);
  c.op(Op.i64_rotl);
  f.set(d);
}

function divmod64(f: FnCompiler, d: number, s: number, isConst: boolean, lo: number, hi: number, mod: boolean, signed: boolean): void {
  const c = f.c;
  const div = signed ? (mod ? Op.i64_rem_s : Op.i64_div_s) : mod ? Op.i64_rem_u : Op.i64_div_u;
  if (isConst) {
    if (lo === 0 && hi === 0) {
      // by zero: div gives 0, mod leaves dst
      if (!mod) {
        c.i64(0);
        f.set(d);
      }
      return;
    }
    if (signed && lo === -1 && hi === -1) {
      // x sdiv -1 = -x (wrapping), x smod -1 = 0
      if (mod) c.i64(0);
      else {
        c.i64(0);
        f.get(d);
        c.op(Op.i64_sub);
      }
      f.set(d);
      return;
    }
    f.get(d);
    c.i64(lo, hi);
    c.op(div);
    f.set(d);
    return;
  }
  f.get(s);
  c.op(Op.i64_eqz);
  c.ifT(ValType.I64);
  if (mod) f.get(d);
  else c.i64(0);
  c.else_();
  if (signed && !mod) {
    f.get(s);
    c.i64(-1);
    c.op(Op.i64_eq);
    c.ifT(ValType.I64);
    c.i64(0);
    f.get(d);
    c.op(Op.i64_sub);
    c.else_();
    f.get(d);
    f.get(s);
    c.op(div);
    c.end();
  } else {
    f.get(d);
    f.get(s);
    c.op(div);
  }
  c.end();
  f.set(d);
}

function divmod32(f: FnCompiler, d: number, s: number, isConst: boolean, lo: number, mod: boolean, signed: boolean): void {
  const c = f.c;
  const div = signed ? (mod ? Op.i32_rem_s : Op.i32_div_s) : mod ? Op.i32_rem_u : Op.i32_div_u;
  const dst32 = (): void => {
    f.get(d);
    c.op(Op.i32_wrap_i64);
  };
  if (isConst) {
    if (lo === 0) {
      if (mod) dst32();
      else c.i32(0);
    } else if (signed && lo === -1) {
      if (mod) c.i32(0);
      else {
        c.i32(0);
        dst32();
        c.op(Op.i32_sub);
      }
    } else {
      dst32();
      c.i32(lo);
      c.op(div);
    }
    c.op(Op.i64_extend_i32_u);
    f.set(d);
    return;
  }
  f.get(s);
  c.op(Op.i32_wrap_i64);
  c.tee(f.t32b);
  c.op(Op.i32_eqz);
  c.ifT(ValType.I32);
  if (mod) dst32();
  else c.i32(0);
  c.else_();
  if (signed && !mod) {
    c.get(f.t32b);
    c.i32(-1);
    c.op(Op.i32_eq);
    c.ifT(ValType.I32);
    c.i32(0);
    dst32();
    c.op(Op.i32_sub);
    c.else_();
    dst32();
    c.get(f.t32b);
    c.op(div);
    c.end();
  } else {
    dst32();
    c.get(f.t32b);
    c.op(div);
  }
  c.end();
  c.op(Op.i64_extend_i32_u);
  f.set(d);
}
