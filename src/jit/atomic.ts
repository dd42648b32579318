/**
 * BPF_STX | BPF_ATOMIC (RFC 9669 §5.3): add, or, and, xor, each optionally with
 * BPF_FETCH (the old value to src, zero-extended for 32 bits), xchg and cmpxchg
 * (compare with r0 or w0, the old value to r0).
 *
 * On an unshared memory only one thread touches the bytes, so a plain load, the
 * operation and a store are atomic enough and cheapest. On a shared memory (a
 * SharedArrayBuffer spanning worker threads) the wasm threads proposal's
 * `atomic.rmw` instructions are used. Checked mode tests the region and, as the
 * interpreter, the natural alignment before either.
 */
import { FaultCode } from "./abi.js";
import type { FnCompiler } from "./function.js";
import { checkAccess } from "./mem.js";
import { AtomicOp, Op } from "./wasm/opcodes.js";

const ADD = 0x00;
const OR = 0x40;
const AND = 0x50;
const XOR = 0xa0;
const XCHG = 0xe0;
const CMPXCHG = 0xf0;

const PLAIN: Record<number, [Op, Op]> = {
  [ADD]: [Op.i64_add, Op.i32_add],
  [OR]: [Op.i64_or, Op.i32_or],
  [AND]: [Op.i64_and, Op.i32_and],
  [XOR]: [Op.i64_xor, Op.i32_xor],
};
const RMW: Record<number, [AtomicOp, AtomicOp]> = {
  [ADD]: [AtomicOp.i64_atomic_rmw_add, AtomicOp.i32_atomic_rmw_add],
  [OR]: [AtomicOp.i64_atomic_rmw_or, AtomicOp.i32_atomic_rmw_or],
  [AND]: [AtomicOp.i64_atomic_rmw_and, AtomicOp.i32_atomic_rmw_and],
  [XOR]: [AtomicOp.i64_atomic_rmw_xor, AtomicOp.i32_atomic_rmw_xor],
  [XCHG]: [AtomicOp.i64_atomic_rmw_xchg, AtomicOp.i32_atomic_rmw_xchg],
};

export function emitAtomic(f: FnCompiler, pc: number): void {
  const p = f.p;
  const c = f.c;
  const size = p.op[pc] === 0xdb ? 8 : 4;
  const wide = size === 8;
  const d = p.dst[pc]!;
  const s = p.src[pc]!;
  const imm = p.imm[pc]!;
  const fetch = (imm & 1) !== 0;
  const kind = imm & ~1;
  const off = p.off[pc]!;

  // Address into t32 (plus a memarg offset in verified mode).
  let offset = 0;
  if (f.checked) {
    checkAccess(f, d, off, size, true, pc);
    c.get(f.tA);
    c.i64(size - 1);
    c.op(Op.i64_and);
    c.op(Op.i64_eqz);
    c.op(Op.i32_eqz);
    c.if_();
    f.fault(FaultCode.MisalignedAtomic, () => {
      c.get(f.tA);
      c.op(Op.i32_wrap_i64);
    }, pc);
    c.end();
    c.get(f.tA);
    c.op(Op.i32_wrap_i64);
  } else {
    f.get(d);
    c.op(Op.i32_wrap_i64);
    if (off >= 0) offset = off;
    else {
      c.i32(off);
      c.op(Op.i32_add);
    }
  }
  c.set(f.t32);

  const srcV = (): void => {
    f.get(s);
    if (!wide) c.op(Op.i32_wrap_i64);
  };
  const widen = (): void => {
    if (!wide) c.op(Op.i64_extend_i32_u);
  };
  const load = wide ? Op.i64_load : Op.i32_load;
  const store = wide ? Op.i64_store : Op.i32_store;

  if (kind === CMPXCHG) {
    if (f.m.sharedMemory) {
      c.get(f.t32);
      f.get(0);
      if (!wide) c.op(Op.i32_wrap_i64);
      srcV();
      c.atomic(wide ? AtomicOp.i64_atomic_rmw_cmpxchg : AtomicOp.i32_atomic_rmw_cmpxchg, size, offset);
      widen();
      f.set(0);
      return;
    }
    // old = *p; if (old == r0) *p = src; r0 = old
    c.get(f.t32);
    c.mem(load, size, offset);
    widen();
    c.set(f.tB);
    c.get(f.tB);
    f.get(0);
    if (!wide) {
      c.i64(-1, 0);
      c.op(Op.i64_and);
    }
    c.op(Op.i64_eq);
    c.if_();
    c.get(f.t32);
    srcV();
    c.mem(store, size, offset);
    c.end();
    c.get(f.tB);
    f.set(0);
    return;
  }

  if (f.m.sharedMemory) {
    const rmw = RMW[kind];
    if (rmw === undefined) throw new Error(`jit: atomic op 0x${imm.toString(16)} at ${pc}`);
    c.get(f.t32);
    srcV();
    c.atomic(wide ? rmw[0] : rmw[1], size, offset);
    if (fetch) {
      widen();
      f.set(s);
    } else c.op(Op.drop);
    return;
  }

  // old = *p
  c.get(f.t32);
  c.mem(load, size, offset);
  widen();
  c.set(f.tB);
  // *p = op(old, src)
  c.get(f.t32);
  if (kind === XCHG) srcV();
  else {
    const ops = PLAIN[kind];
    if (ops === undefined) throw new Error(`jit: atomic op 0x${imm.toString(16)} at ${pc}`);
    c.get(f.tB);
    if (!wide) c.op(Op.i32_wrap_i64);
    srcV();
    c.op(wide ? ops[0] : ops[1]);
  }
  c.mem(store, size, offset);
  if (fetch) {
    c.get(f.tB);
    f.set(s);
  }
}
