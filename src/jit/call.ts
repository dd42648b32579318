/**
 * Calls and returns: helpers (imports), bpf-to-bpf calls (wasm calls with a new
 * frame), callx, tail calls, exit, and the legacy packet loads.
 *
 *  - A helper is an imported JS function taking r1-r5 as i64 (BigInt at the
 *    boundary) plus the pc and frame pointer for HelperContext. In verified mode the
 *    kernel map helpers get i32 pointers instead, and lookups in array maps known at
 *    compile time are inlined as the kernel's array_map_gen_lookup() does:
 *    r0 = index < max_entries ? value_base + index * stride (+ cpu * cpu_stride) : 0.
 *  - A bpf-to-bpf call passes fp - 512 as the callee's frame (r10), and in checked
 *    mode faults when that would exceed MAX_CALL_FRAMES, as the interpreter does.
 *  - A tail call (bpf_tail_call succeeded: the JS side left the target's table index
 *    in the scratch area) calls the target program's entry through the machine's
 *    function table with the current registers and frame, and returns what it
 *    returns: the target replaces the rest of this frame, as in the kernel. Entries
 *    have the full ABI in checked mode and the lean one in verified mode (the
 *    verifier lets a tail-call target read only r1 and r10), so a verified run passes
 *    six values in and one out.
 */
import { LPM_NODE_CHILD0, LPM_NODE_DATA, LPM_NODE_FLAGS, LPM_NODE_PREFIXLEN, LPM_NODE_VALUE, type LpmLayout } from "../maps/index.js";
import { FaultCode, G_CPU, G_STACK_LO, G_TAIL, type Abi } from "./abi.js";
import type { FnCompiler } from "./function.js";
import { Op, ValType } from "./wasm/opcodes.js";

const FRAME = 512;

/** `return` with this function's ABI. */
export function emitReturn(f: FnCompiler): void {
  const c = f.c;
  if (f.abi === "full") for (let r = 0; r <= 5; r++) f.get(r);
  else if (f.abi === "chunk") {
    c.i32(-1);
    for (let r = 0; r <= 10; r++) f.get(r);
  } else f.get(0);
  c.op(Op.return);
}

/** After a helper: if it requested a tail call, run the target in this frame and return its result. */
function tailCallCheck(f: FnCompiler): void {
  const c = f.c;
  f.usesTable = true;
  c.gget(G_TAIL);
  c.tee(f.t32);
  c.if_();
  c.i32(0);
  c.gset(G_TAIL);
  if (f.m.entryAbi === "full") {
    for (let r = 0; r <= 10; r++) f.get(r);
  } else {
    pushHelperArgs(f);
  }
  c.get(f.fp);
  c.get(f.t32);
  c.callIndirect(f.m.entryType);
  if (f.m.entryAbi === "full") for (let r = 5; r >= 0; r--) f.set(r);
  else f.set(0);
  emitReturn(f);
  c.end();
}

function pushHelperArgs(f: FnCompiler): void {
  for (let r = 1; r <= 5; r++) f.get(r);
}

const wrapReg = (f: FnCompiler, r: number): void => {
  f.get(r);
  f.c.op(Op.i32_wrap_i64);
};

export function emitHelperCall(f: FnCompiler, pc: number): void {
  const c = f.c;
  const id = f.p.imm[pc]!;
  const name = f.m.helperName(id);
  if (name === undefined) {
    f.fault(FaultCode.UnknownHelper, id, pc);
    return;
  }
  if (f.checked && f.m.helperCallsBack(id)) {
    // The callback sees the caller's r0 and r6-r9 and leaves r1-r5 (helperRegs in abi.ts).
    c.i32(pc);
    c.get(f.fp);
    for (let r = 0; r <= 9; r++) f.get(r);
    f.callImport({ kind: "helperRegs", id });
    for (let r = 5; r >= 0; r--) f.set(r);
    tailCallCheck(f);
    return;
  }
  if (f.m.fastHelpers && (f.checked ? checkedMapHelper(f, pc, id, name) : fastHelper(f, id, name))) return;
  c.i32(pc);
  c.get(f.fp);
  pushHelperArgs(f);
  f.callImport({ kind: "helper", id });
  f.set(0);
  tailCallCheck(f);
}


/**
 * Checked mode: the kernel map helpers get r1-r4 as i32 halves (no BigInt); the JS
 * side takes the shortcut only for arguments the helper would accept as they are
 * and otherwise calls the helper, so results and faults are the interpreter's.
 */
function checkedMapHelper(f: FnCompiler, pc: number, id: number, name: string): boolean {
  const c = f.c;
  const kind = id === 1 && name === "bpf_map_lookup_elem" ? "lookupChecked" : id === 2 && name === "bpf_map_update_elem" ? "updateChecked" : id === 3 && name === "bpf_map_delete_elem" ? "deleteChecked" : undefined;
  if (kind === undefined) return false;
  c.i32(pc);
  c.get(f.fp);
  for (let r = 1; r <= (kind === "updateChecked" ? 4 : 2); r++) {
    wrapReg(f, r);
    f.get(r);
    c.i64(32);
    c.op(Op.i64_shr_u);
    c.op(Op.i32_wrap_i64);
  }
  f.callImport({ kind, id });
  c.op(kind === "lookupChecked" ? Op.i64_extend_i32_u : Op.i64_extend_i32_s);
  f.set(0);
  return true;
}

/** Verified-mode map helpers with i32 pointers; true when handled. */
function fastHelper(f: FnCompiler, id: number, name: string): boolean {
  const c = f.c;
  const kind = id === 1 && name === "bpf_map_lookup_elem" ? "lookup" : id === 2 && name === "bpf_map_update_elem" ? "update" : id === 3 && name === "bpf_map_delete_elem" ? "delete" : undefined;
  if (kind === undefined) return false;
  const known = f.known[1];
  const map = known !== undefined && known < 1n << 32n ? f.m.mapAt(Number(known)) : undefined;
  if (kind === "lookup" && map?.array !== undefined) {
    inlineArrayLookup(f, map.array);
    return true;
  }
  if (kind === "lookup" && map?.lpm !== undefined) {
    inlineLpmLookup(f, map.lpm);
    return true;
  }
  if (map !== undefined) {
    wrapReg(f, 2);
    if (kind === "update") {
      wrapReg(f, 3);
      wrapReg(f, 4);
    }
    f.callImport({ kind, map: map.addr });
  } else {
    wrapReg(f, 1);
    wrapReg(f, 2);
    if (kind === "update") {
      wrapReg(f, 3);
      wrapReg(f, 4);
    }
    f.callImport({ kind: kind === "lookup" ? "lookupDyn" : kind === "update" ? "updateDyn" : "deleteDyn" });
  }
  c.op(kind === "lookup" ? Op.i64_extend_i32_u : Op.i64_extend_i32_s);
  f.set(0);
  return true;
}

function inlineArrayLookup(f: FnCompiler, a: { valueBase: number; valueStride: number; cpuStride: number; maxEntries: number }): void {
  const c = f.c;
  // index = *(u32 *)r2
  wrapReg(f, 2);
  c.mem(Op.i32_load, 4, 0);
  c.tee(f.t32);
  c.i32(a.maxEntries);
  c.op(Op.i32_ge_u);
  c.ifT(ValType.I64);
  c.i64(0);
  c.else_();
  c.get(f.t32);
  c.i32(a.valueStride);
  c.op(Op.i32_mul);
  c.i32(a.valueBase);
  c.op(Op.i32_add);
  if (a.cpuStride !== 0) {
    c.gget(G_CPU);
    c.i32(a.cpuStride);
    c.op(Op.i32_mul);
    c.op(Op.i32_add);
  }
  c.op(Op.i64_extend_i32_u);
  c.end();
  f.set(0);
}

/**
 * An LPM trie lookup walked in wasm over the map's node records (lpm-trie.ts's
 * lookupNode, which follows the kernel's trie_lookup_elem): from the root, each node's
 * match length with the key is the number of leading equal bits of the prefix data,
 * capped at both prefix lengths; a full-length match returns at once, a match shorter
 * than the node's prefix ends the walk, a real node on the way is the best so far, and
 * the key's bit at the node's prefix length picks the child. r0 = the best node's value
 * address or 0. A key whose prefixlen exceeds the trie's maximum finds nothing.
 *
 * The match length of a 4-, 2- or 1-byte chunk comes from the little-endian xor of the
 * two chunks: its lowest non-zero byte is the first differing byte in memory order, and
 * that byte's leading zeros are the equal bits within it.
 */
function inlineLpmLookup(f: FnCompiler, t: LpmLayout): void {
  const c = f.c;
  const key = f.scratch32(0);
  const n = f.scratch32(1);
  const found = f.scratch32(2);
  const keyPlen = f.scratch32(3);
  const np = f.scratch32(4);
  const m = f.scratch32(5);
  const diff = f.scratch32(6);
  const lim = f.scratch32(7);
  wrapReg(f, 2);
  c.tee(key);
  c.mem(Op.i32_load, 4, 0);
  c.set(keyPlen);
  c.i32(0);
  c.set(found);
  c.block(); // $done
  c.get(keyPlen);
  c.i32(t.maxPrefixlen);
  c.op(Op.i32_gt_u);
  c.brIf(0);
  c.i32(t.rootAddr);
  c.mem(Op.i32_load, 4, 0);
  c.set(n);
  c.loop(); // $walk
  c.get(n);
  c.op(Op.i32_eqz);
  c.brIf(1);
  c.get(n);
  c.mem(Op.i32_load, 4, LPM_NODE_PREFIXLEN);
  c.tee(np);
  c.get(keyPlen);
  c.get(np);
  c.get(keyPlen);
  c.op(Op.i32_lt_u);
  c.op(Op.select);
  c.set(lim);
  // m = equal leading bits of the data
  c.block(); // $matched
  for (let o = 0; o < t.dataSize; ) {
    const size = t.dataSize - o >= 4 ? 4 : t.dataSize - o >= 2 ? 2 : 1;
    const ld = size === 4 ? Op.i32_load : size === 2 ? Op.i32_load16_u : Op.i32_load8_u;
    c.get(n);
    c.mem(ld, size, LPM_NODE_DATA + o);
    c.get(key);
    c.mem(ld, size, 4 + o);
    c.op(Op.i32_xor);
    c.tee(diff);
    c.if_();
    // 8 * o + (byte index of the lowest set bit) * 8 + clz8 of that byte
    c.get(diff);
    c.op(Op.i32_ctz);
    c.i32(-8);
    c.op(Op.i32_and);
    c.tee(m);
    c.i32(8 * o - 24);
    c.op(Op.i32_add);
    c.get(diff);
    c.get(m);
    c.op(Op.i32_shr_u);
    c.i32(0xff);
    c.op(Op.i32_and);
    c.op(Op.i32_clz);
    c.op(Op.i32_add);
    c.set(m);
    c.br(1);
    c.end();
    o += size;
  }
  c.i32(8 * t.dataSize);
  c.set(m);
  c.end(); // $matched
  // m = min(m, lim)
  c.get(m);
  c.get(lim);
  c.get(m);
  c.get(lim);
  c.op(Op.i32_lt_u);
  c.op(Op.select);
  c.tee(m);
  c.i32(t.maxPrefixlen);
  c.op(Op.i32_eq);
  c.if_();
  c.get(n);
  c.mem(Op.i32_load, 4, LPM_NODE_VALUE);
  c.set(found);
  c.br(2);
  c.end();
  c.get(m);
  c.get(np);
  c.op(Op.i32_lt_u);
  c.brIf(1);
  // a real node is the best match so far
  c.get(n);
  c.mem(Op.i32_load, 4, LPM_NODE_FLAGS);
  c.i32(1);
  c.op(Op.i32_and);
  c.op(Op.i32_eqz);
  c.if_();
  c.get(n);
  c.mem(Op.i32_load, 4, LPM_NODE_VALUE);
  c.set(found);
  c.end();
  // n = child[key bit np]: (key data byte np >> 3) >> (7 - (np & 7)) & 1, times 4
  c.get(n);
  c.get(key);
  c.get(np);
  c.i32(3);
  c.op(Op.i32_shr_u);
  c.op(Op.i32_add);
  c.mem(Op.i32_load8_u, 1, 4);
  c.i32(7);
  c.get(np);
  c.i32(7);
  c.op(Op.i32_and);
  c.op(Op.i32_sub);
  c.op(Op.i32_shr_u);
  c.i32(1);
  c.op(Op.i32_and);
  c.i32(2);
  c.op(Op.i32_shl);
  c.op(Op.i32_add);
  c.mem(Op.i32_load, 4, LPM_NODE_CHILD0);
  c.set(n);
  c.br(0);
  c.end(); // $walk
  c.end(); // $done
  c.get(found);
  c.op(Op.i64_extend_i32_u);
  f.set(0);
}

/**
 * Fault when a new frame would exceed MAX_CALL_FRAMES (the interpreter's depth test).
 * Verified mode keeps it too: one compare per call, and a wrong verdict about
 * recursion then ends in a fault instead of exhausting the host's stack.
 */
function callDepthCheck(f: FnCompiler, pc: number): void {
  const c = f.c;
  c.get(f.fp);
  c.i32(FRAME);
  c.op(Op.i32_sub);
  c.gget(G_STACK_LO);
  c.op(Op.i32_le_u);
  c.if_();
  f.fault(FaultCode.CallDepth, () => c.get(f.fp), pc);
  c.end();
}

/** Calls function `slot` in a new frame and stores its results. */
function callInNewFrame(f: FnCompiler, slot: number): void {
  const c = f.c;
  const abi: Abi = f.checked ? "full" : "lean";
  if (abi === "full") {
    for (let r = 0; r <= 9; r++) f.get(r);
    c.get(f.fp);
    c.i32(FRAME);
    c.op(Op.i32_sub);
    c.op(Op.i64_extend_i32_u);
  } else {
    pushHelperArgs(f);
  }
  c.get(f.fp);
  c.i32(FRAME);
  c.op(Op.i32_sub);
  f.callFunc(slot, abi);
  if (abi === "full") for (let r = 5; r >= 0; r--) f.set(r);
  else f.set(0);
  f.resetR10();
}

export function emitLocalCall(f: FnCompiler, pc: number): void {
  callDepthCheck(f, pc);
  callInNewFrame(f, f.p.target[pc]!);
}

export function emitCallx(f: FnCompiler, pc: number): void {
  const c = f.c;
  const s = f.p.src[pc]!;
  // A PTR_TO_FUNC value (bit 32 set) calls the subprogram, anything else the helper of that id.
  f.get(s);
  c.i64(32);
  c.op(Op.i64_shr_u);
  c.i64(1);
  c.op(Op.i64_eq);
  c.if_();
  for (const e of f.m.callxEntries) {
    wrapReg(f, s);
    c.i32(e);
    c.op(Op.i32_eq);
    c.if_();
    callDepthCheck(f, pc);
    callInNewFrame(f, e);
    c.br(1);
    c.end();
  }
  if (f.checked) {
    // A slot the JIT did not compile as an entry: the machine runs it on the interpreter.
    c.i32(pc);
    c.get(f.fp);
    wrapReg(f, s);
    for (let r = 0; r <= 9; r++) f.get(r);
    f.callImport({ kind: "callSlot" });
    for (let r = 5; r >= 0; r--) f.set(r);
    f.resetR10();
  } else {
    f.fault(FaultCode.CallxNoEntry, () => wrapReg(f, s), pc);
  }
  c.else_();
  c.i32(pc);
  c.get(f.fp);
  wrapReg(f, s);
  f.get(s);
  c.i64(32);
  c.op(Op.i64_shr_u);
  c.op(Op.i32_wrap_i64);
  if (f.checked) {
    // Any helper, bpf_loop included: registers as for helperRegs.
    for (let r = 0; r <= 9; r++) f.get(r);
    f.callImport({ kind: "helperDynRegs" });
    for (let r = 5; r >= 0; r--) f.set(r);
  } else {
    pushHelperArgs(f);
    f.callImport({ kind: "helperDyn" });
    f.set(0);
  }
  tailCallCheck(f);
  c.end();
}

/** BPF_LD | BPF_ABS / BPF_IND: r0 = the program type's packet load at imm (+ src); out of bounds ends the run. */
export function emitLdAbs(f: FnCompiler, pc: number): void {
  const c = f.c;
  const p = f.p;
  const op = p.op[pc]!;
  const size = (op & 0x18) === 0x10 ? 1 : (op & 0x18) === 0x08 ? 2 : 4;
  c.i32(pc);
  wrapReg(f, 6);
  if ((op & 0xe0) === 0x40) {
    wrapReg(f, p.src[pc]!);
    c.i32(p.imm[pc]!);
    c.op(Op.i32_add);
  } else {
    c.i32(p.imm[pc]!);
  }
  c.i32(size);
  f.callImport({ kind: "ldAbs" });
  c.op(Op.i64_extend_i32_u);
  f.set(0);
}
