/**
 * Loads and stores (BPF_LDX, BPF_ST, BPF_STX with BPF_MEM / BPF_MEMSX) as wasm memory
 * instructions on the runtime's memory.
 *
 * Verified mode: the address is the low 32 bits of the base register plus the
 * offset (a non-negative offset goes into the memarg); nothing else is checked,
 * since the verifier proved the access, and the wasm memory bound still keeps a
 * wrong one inside the address space.
 *
 * Checked mode: as the interpreter, an access must lie inside one region (with write
 * permission for stores). The register's upper half must be zero; the stack is
 * tested first (its bounds are instance constants), then a small cache per
 * direction kept in globals (CACHE_ENTRIES regions, round-robin); a miss calls `resolve`, which either fills the
 * cache or raises the interpreter's fault (same kind, pc, address, size, message).
 */
import { MAX_BPF_STACK, MAX_CALL_FRAMES } from "../isa/index.js";
import { CACHE_ENTRIES, G_STACK_LO, cacheGlobal } from "./abi.js";
import type { FnCompiler } from "./function.js";
import { Op } from "./wasm/opcodes.js";

const STACK_SIZE = MAX_CALL_FRAMES * MAX_BPF_STACK;

const sizeOf = (op: number): 1 | 2 | 4 | 8 => {
  const s = op & 0x18;
  return s === 0x10 ? 1 : s === 0x08 ? 2 : s === 0x00 ? 4 : 8;
};

const LOAD: Record<number, Op> = {
  0x71: Op.i64_load8_u,
  0x69: Op.i64_load16_u,
  0x61: Op.i64_load32_u,
  0x79: Op.i64_load,
  0x91: Op.i64_load8_s,
  0x89: Op.i64_load16_s,
  0x81: Op.i64_load32_s,
};
const STORE: Record<number, Op> = { 1: Op.i64_store8, 2: Op.i64_store16, 4: Op.i64_store32, 8: Op.i64_store };

/**
 * Pushes the i32 address of [reg + off] and returns the memarg offset to use.
 * In checked mode the access is checked first (faults do not return).
 */
export function address(f: FnCompiler, base: number, off: number, size: number, write: boolean, pc: number): number {
  const c = f.c;
  if (!f.checked) {
    f.get(base);
    c.op(Op.i32_wrap_i64);
    if (off >= 0) return off;
    c.i32(off);
    c.op(Op.i32_add);
    return 0;
  }
  checkAccess(f, base, off, size, write, pc);
  c.get(f.tA);
  c.op(Op.i32_wrap_i64);
  return 0;
}

/** Checked mode: sets tA = reg + off (i64) and proves [tA, tA+size) lies in one region, or faults. */
export function checkAccess(f: FnCompiler, base: number, off: number, size: number, write: boolean, pc: number): void {
  const c = f.c;
  f.get(base);
  c.i64(off);
  c.op(Op.i64_add);
  c.set(f.tA);
  c.block();
  f.get(base);
  c.i64(-1, 0);
  c.op(Op.i64_le_u);
  c.if_();
  // stack: tA - stackLo <= STACK_SIZE - size (unsigned)
  c.get(f.tA);
  c.gget(G_STACK_LO);
  c.op(Op.i64_extend_i32_u);
  c.op(Op.i64_sub);
  c.i64(STACK_SIZE - size);
  c.op(Op.i64_le_u);
  c.brIf(1);
  for (let e = 0; e < CACHE_ENTRIES; e++) {
    c.get(f.tA);
    c.gget(cacheGlobal(f.counting, write, e, false));
    c.op(Op.i64_ge_s);
    c.get(f.tA);
    c.i64(size);
    c.op(Op.i64_add);
    c.gget(cacheGlobal(f.counting, write, e, true));
    c.op(Op.i64_le_s);
    c.op(Op.i32_and);
    c.brIf(1);
  }
  c.end();
  // Miss: resolve(pc, aLo, aHi, size, write | regHigh << 1, adj) fills the cache or throws.
  c.i32(pc);
  c.get(f.tA);
  c.op(Op.i32_wrap_i64);
  c.get(f.tA);
  c.i64(32);
  c.op(Op.i64_shr_u);
  c.op(Op.i32_wrap_i64);
  c.i32(size);
  f.get(base);
  c.i64(32);
  c.op(Op.i64_shr_u);
  c.op(Op.i64_eqz);
  c.op(Op.i32_eqz);
  c.i32(1);
  c.op(Op.i32_shl);
  c.i32(write ? 1 : 0);
  c.op(Op.i32_or);
  c.i32(f.adj);
  f.callImport({ kind: "resolve" });
  c.end();
}

export function emitLoad(f: FnCompiler, pc: number): void {
  const p = f.p;
  const op = p.op[pc]!;
  const size = sizeOf(op);
  const offset = address(f, p.src[pc]!, p.off[pc]!, size, false, pc);
  f.c.mem(LOAD[op]!, size, offset);
  f.set(p.dst[pc]!);
}

export function emitStore(f: FnCompiler, pc: number): void {
  const p = f.p;
  const c = f.c;
  const op = p.op[pc]!;
  const size = sizeOf(op);
  const offset = address(f, p.dst[pc]!, p.off[pc]!, size, true, pc);
  const s = p.src[pc]!;
  if (s >= 11) c.i64(p.constLo[s]!, p.constHi[s]!);
  else f.get(s);
  c.mem(STORE[size]!, size, offset);
}
