/**
 * Memory accesses: check_mem_access() and what it calls in kernel/bpf/verifier.c —
 * stack reads and writes with spill tracking (check_stack_{read,write}_{fixed,var}_off,
 * save_register_state), map values (check_map_access, check_map_access_type,
 * check_mem_region_access), packets (check_packet_access), ctx (check_ctx_access,
 * __check_ptr_off_reg), PTR_TO_MEM, sockets (check_sock_access), map pointers
 * (check_ptr_to_map_access, mapptr.ts), plus pointer alignment for atomics and the
 * stack, and the memory checks of helper arguments (check_helper_mem_access,
 * check_stack_range_initialized).
 */
import type { AtomicInsn, LdxInsn, StInsn, StxInsn } from "../isa/index.js";
import { UNKNOWN, coerceToSize, isConst, isZero, known, knownImm, signExtend, sminNum, smaxNum, umaxNum, valueSNum, type Bounds } from "./bounds.js";
import { bpfSockCommonValid, bpfSockValid, ctxAccess, directPacketAccess } from "./ctx.js";
import { EACCES, EFAULT, EINVAL, type Env } from "./env.js";
import { ptrToMapAccess } from "./mapptr.js";
import { Tnum, fls64, tnumAdd, tnumConstPair, tnumIsAligned, tnumStr } from "./tnum.js";
import {
  EMPTY_SLOT, STACK_INVALID, STACK_MISC, STACK_SPILL, STACK_ZERO, constScalar, hasSpill, setSlotByte, slotByte, spillToMisc, isPktPointer, isPointer, ptrTo, regTypeStr, scalarReg, unknownScalar, withRegId,
  type Frame, type Reg, type Slot,
} from "./state.js";

export const MAX_BPF_STACK = 512;
const BPF_MAX_VAR_OFF = 1 << 29;
export const MAX_PACKET_OFF = 0xffff;

type Access = "read" | "write";


function frameOf(env: Env, r: Reg): Frame {
  return env.cur.frames[r.frameno]!;
}

function updateStackDepth(env: Env, frame: Frame, off: number): void {
  const sp = env.subprogs.find((s) => s.start === frame.subprogStart);
  if (sp !== undefined && -off > sp.stackDepth) sp.stackDepth = -off;
}

/** check_generic_ptr_alignment() / check_pkt_ptr_alignment() when strict. */
function checkAlignment(env: Env, r: Reg, off: number, size: number, strict: boolean): void {
  if (r.type === "PTR_TO_STACK") strict = true;
  if (!strict || size === 1) return;
  const b = r.b;
  if (isPktPointer(r)) {
    const c = 2 + r.off + off;
    const t = tnumAdd(new Tnum(b.vh, b.vl, b.mh, b.ml), tnumConstPair(c >> 31, c));
    if (!tnumIsAligned(t, size)) env.fail(`misaligned packet access off 2+${tnumStr(r.b.var)}+${r.off}+${off} size ${size}`, EACCES);
    return;
  }
  const c = r.off + off;
  const t = tnumAdd(new Tnum(b.vh, b.vl, b.mh, b.ml), tnumConstPair(c >> 31, c));
  if (!tnumIsAligned(t, size)) {
    const desc = r.type === "PTR_TO_MAP_VALUE" ? "value " : r.type === "PTR_TO_CTX" ? "context " : r.type === "PTR_TO_STACK" ? "stack " : "";
    env.fail(`misaligned ${desc}access off ${tnumStr(r.b.var)}+${r.off}+${off} size ${size}`, EACCES);
  }
}

/** __check_mem_access(). */
function memAccessOk(env: Env, regno: number, r: Reg, off: bigint, size: number, memSize: number, zeroOk: boolean): void {
  const sizeOk = size > 0 || (size === 0 && zeroOk);
  if (sizeOk && off >= 0n && BigInt(size) <= BigInt(memSize) - off) return;
  switch (r.type) {
    case "PTR_TO_MAP_KEY":
      env.fail(`invalid access to map key, key_size=${memSize} off=${off} size=${size}`, EACCES);
      break;
    case "PTR_TO_MAP_VALUE":
      env.fail(`invalid access to map value, value_size=${memSize} off=${off} size=${size}`, EACCES);
      break;
    case "PTR_TO_PACKET": case "PTR_TO_PACKET_META": case "PTR_TO_PACKET_END":
      env.fail(`invalid access to packet, off=${off} size=${size}, R${regno}(id=${r.id},off=${off},r=${memSize})`, EACCES);
      break;
    default:
      env.fail(`invalid access to memory, mem_size=${memSize} off=${off} size=${size}`, EACCES);
  }
}

/** check_mem_region_access(): a variable offset within [0, memSize). */
function memRegionAccess(env: Env, regno: number, r: Reg, off: number, size: number, memSize: number, zeroOk: boolean): void {
  const b = r.b;
  // Fast path: small non-negative ranges (exact as doubles) inside the memory.
  const smin = sminNum(b);
  const umax = umaxNum(b);
  if (smin >= 0 && umax < BPF_MAX_VAR_OFF && (size > 0 || (size === 0 && zeroOk)) && smin + off >= 0 && size <= memSize - (smin + off) && size <= memSize - (umax + off)) return;
  const o = BigInt(off);
  if (b.smin < 0n && (b.smin === -(1n << 63n) || BigInt.asIntN(32, o + b.smin) !== o + b.smin || b.smin + o < 0n)) {
    env.fail(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`, EACCES);
  }
  try {
    memAccessOk(env, regno, r, b.smin + o, size, memSize, zeroOk);
  } catch (e) {
    env.verbose(`R${regno} min value is outside of the allowed memory range\n`);
    throw e;
  }
  if (b.umax >= BigInt(BPF_MAX_VAR_OFF)) env.fail(`R${regno} unbounded memory access, make sure to bounds check any such access`, EACCES);
  try {
    memAccessOk(env, regno, r, b.umax + o, size, memSize, zeroOk);
  } catch (e) {
    env.verbose(`R${regno} max value is outside of the allowed memory range\n`);
    throw e;
  }
}

/** check_map_access(): the value bounds plus the bpf_spin_lock field. */
function mapAccess(env: Env, regno: number, r: Reg, off: number, size: number, zeroOk: boolean): void {
  const spec = r.map!.spec;
  memRegionAccess(env, regno, r, off, size, spec.valueSize, zeroOk);
  const lock = spec.spinLockOffset;
  if (lock !== undefined) {
    const lo = sminNum(r.b) + off;
    const hi = umaxNum(r.b) + off + size;
    if (lo < lock + 4 && lock < hi) env.fail("bpf_spin_lock cannot be accessed directly by load/store", EACCES);
  }
}

function mapAccessType(env: Env, regno: number, r: Reg, off: number, size: number, t: Access): void {
  const flags = r.map!.spec.flags;
  const BPF_F_RDONLY_PROG = 1 << 7;
  const BPF_F_WRONLY_PROG = 1 << 8;
  void regno;
  if (t === "write" && (flags & BPF_F_RDONLY_PROG) !== 0) {
    env.fail(`write into map forbidden, value_size=${r.map!.spec.valueSize} off=${off} size=${size}`, EACCES);
  }
  if (t === "read" && (flags & BPF_F_WRONLY_PROG) !== 0) {
    env.fail(`read from map forbidden, value_size=${r.map!.spec.valueSize} off=${off} size=${size}`, EACCES);
  }
}

/** check_packet_access(). */
export function packetAccess(env: Env, regno: number, r: Reg, off: number, size: number, zeroOk: boolean): void {
  if (r.b.sminH < 0) env.fail(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`, EACCES);
  // In range (the common case): nothing to report.
  if (r.range >= 0 && (size > 0 || (size === 0 && zeroOk)) && off >= 0 && size <= r.range - off) return;
  try {
    if (r.range < 0) throw new Error("range");
    memAccessOk(env, regno, r, BigInt(off), size, r.range, zeroOk);
  } catch (e) {
    if (e instanceof Error && e.message === "range") {
      env.fail(`R${regno} offset is outside of the packet`, EACCES);
    }
    env.verbose(`R${regno} offset is outside of the packet\n`);
    throw e;
  }
}

/** __check_ptr_off_reg(): ctx and other pointers must be passed unmodified. */
function checkPtrOffReg(env: Env, r: Reg, regno: number, fixedOffOk: boolean): void {
  const t = regTypeStr(r);
  if (r.off < 0) env.fail(`negative offset ${t} ptr R${regno} off=${r.off} disallowed`, EACCES);
  if (!fixedOffOk && r.off) env.fail(`dereference of modified ${t} ptr R${regno} off=${r.off} disallowed`, EACCES);
  if (!isZero(r.b)) env.fail(`variable ${t} access var_off=${tnumStr(r.b.var)} disallowed`, EACCES);
}

/**
 * check_stack_access_within_bounds(): [min_off, max_off) of an access of `size`
 * bytes at `off` from the stack pointer `r`. Reads (helper reads too) without
 * allow_uninit_stack may only touch the stack allocated so far
 * (check_stack_slot_within_bounds); anything ending above the frame pointer is
 * EINVAL, anything below it or under -MAX_BPF_STACK EACCES.
 */
function stackBounds(env: Env, regno: number, r: Reg, off: number, size: number, t: Access): [number, number] {
  const extra = t === "read" ? " read from" : " write to";
  let minOff: number;
  let maxOff: number;
  if (isConst(r.b)) {
    minOff = valueSNum(r.b) + off;
    maxOff = minOff + size;
  } else {
    const smin = sminNum(r.b);
    const smax = smaxNum(r.b);
    if (smax >= BPF_MAX_VAR_OFF || smin <= -BPF_MAX_VAR_OFF) {
      env.fail(`invalid unbounded variable-offset${extra} stack R${regno}`, EACCES);
    }
    minOff = smin + off;
    maxOff = smax + off + size;
  }
  const uninitOk = t === "write" || env.privileged;
  const frame = frameOf(env, r);
  const minValid = uninitOk ? -MAX_BPF_STACK : -frame.stack.length * 8;
  let errno = 0;
  if (minOff < minValid || minOff > -1) errno = EACCES;
  else if (maxOff > 0) errno = EINVAL;
  else if (size < 0) errno = EFAULT;
  if (errno !== 0) {
    if (isConst(r.b)) env.fail(`invalid${extra} stack R${regno} off=${off} size=${size}`, errno);
    env.fail(`invalid variable-offset${extra} stack R${regno} var_off=${tnumStr(r.b.var)} off=${off} size=${size}`, errno);
  }
  return [minOff, maxOff];
}

function slotOf(frame: Frame, spi: number): Slot {
  return frame.stack[spi] ?? EMPTY_SLOT;
}

function growStack(frame: Frame, spi: number): void {
  while (frame.stack.length <= spi) frame.stack.push(EMPTY_SLOT);
}

const spillable = (r: Reg): boolean => isPointer(r) && r.type !== "NOT_INIT";

/** check_stack_write_fixed_off(). `value` is the stored register (undefined for BPF_ST: imm). */
function stackWriteFixed(env: Env, r: Reg, offAbs: number, size: number, valueRegno: number, value: Reg | undefined, imm: number | undefined): void {
  const frame = frameOf(env, r);
  const slot = -offAbs - 1;
  const spi = Math.floor(slot / 8);
  growStack(frame, spi);
  updateStackDepth(env, frame, offAbs);
  env.markSlotScratched(spi);
  let sl = slotOf(frame, spi);
  if (!env.privileged && hasSpill(sl.types) && sl.spilled !== undefined && sl.spilled.type !== "SCALAR_VALUE" && size !== 8) {
    env.fail("attempt to corrupt spilled pointer on stack", EACCES);
  }
  const aligned = offAbs % 8 === 0;
  const save = (reg: Reg): void => {
    let types = sl.types;
    let i = 8;
    for (; i > 8 - size; i--) types = setSlotByte(types, i - 1, STACK_SPILL);
    for (; i > 0; i--) {
      const c = slotByte(types, i - 1);
      if (c !== STACK_ZERO && c !== STACK_INVALID) types = setSlotByte(types, i - 1, STACK_MISC);
    }
    frame.stack[spi] = { types, spilled: reg };
    // A register spill: backtracking follows the value through the slot (INSN_F_STACK_ACCESS).
    env.hist.stackAccess(env.insnIdx, frame.frameno, spi);
  };
  if (value !== undefined && aligned && value.type === "SCALAR_VALUE" && env.privileged) {
    const fits = widthOf(value) <= 8 * size;
    let v = value;
    if (fits && v.id === 0 && !isConst(v.b)) {
      v = withRegId(v, env.newId());
      env.setReg(valueRegno, v);
    }
    save(fits ? v : withRegId(v, 0));
    return;
  }
  if (value === undefined && aligned && imm !== undefined && env.privileged) {
    save(scalarReg(knownImm(imm, true)));
    return;
  }
  if (value !== undefined && spillable(value)) {
    if (size !== 8) {
      env.linfo(env.insnIdx, "; ");
      env.fail("invalid size of register spill", EACCES);
    }
    if (frame !== env.frame && value.type === "PTR_TO_STACK") env.fail("cannot spill pointers to stack into stack frame of the caller", EINVAL);
    save(value);
    return;
  }
  let types = spillToMisc(sl.types);
  const zero = (value !== undefined && value.type === "SCALAR_VALUE" && isZero(value.b)) ||
    (value === undefined && imm === 0);
  // STACK_ZERO is no register spill: the zero must stay exact (mark_chain_precision() of the kernel).
  if (zero && value !== undefined) env.markPrecise(valueRegno);
  for (let i = 0; i < size; i++) types = setSlotByte(types, (slot - i) % 8, zero ? STACK_ZERO : STACK_MISC);
  sl = { types, spilled: undefined };
  frame.stack[spi] = sl;
}

/** get_reg_width(): bits needed for the unsigned maximum. */
function widthOf(r: Reg): number {
  return fls64(r.b.umaxH, r.b.umaxL);
}

/** check_stack_write_var_off(). */
function stackWriteVar(env: Env, r: Reg, minOff: number, maxOff: number, value: Reg | undefined, imm: number | undefined): void {
  const frame = frameOf(env, r);
  const zero = (value !== undefined && value.type === "SCALAR_VALUE" && isZero(value.b)) || (value === undefined && imm === 0);
  updateStackDepth(env, frame, minOff);
  // Byte by byte as the kernel does, each slot written once when its bytes are done.
  let curSpi = -1;
  let types = 0;
  for (let i = minOff; i < maxOff; i++) {
    const slot = -i - 1;
    const spi = Math.floor(slot / 8);
    if (spi !== curSpi) {
      if (curSpi >= 0) frame.stack[curSpi] = { types, spilled: undefined };
      curSpi = spi;
      growStack(frame, spi);
      env.markSlotScratched(spi);
      const sl = slotOf(frame, spi);
      if (!env.privileged && sl.spilled !== undefined && sl.spilled.type !== "SCALAR_VALUE") {
        env.fail(`spilled ptr in range of var-offset stack write; insn ${env.insnIdx}, ptr off: ${i}`, EACCES);
      }
      types = spillToMisc(sl.types);
    }
    const j = slot % 8;
    const c = slotByte(types, j);
    if (c === STACK_INVALID && !env.privileged) env.fail(`uninit stack in range of var-offset write prohibited for !root; insn ${env.insnIdx}, off: ${i}`, EACCES);
    types = setSlotByte(types, j, zero && c === STACK_ZERO ? STACK_ZERO : STACK_MISC);
  }
  if (curSpi >= 0) frame.stack[curSpi] = { types, spilled: undefined };
}

/** check_stack_read_fixed_off(): the loaded register, or undefined when dstRegno < 0 (helper use). */
function stackReadFixed(env: Env, r: Reg, offAbs: number, size: number, dstRegno: number): Reg | undefined {
  const frame = frameOf(env, r);
  const slot = -offAbs - 1;
  const spi = Math.floor(slot / 8);
  env.markSlotScratched(spi);
  const sl = slotOf(frame, spi);
  const st = sl.types;
  if (slotByte(st, 7) === STACK_SPILL && sl.spilled !== undefined) {
    const reg = sl.spilled;
    // A fill: backtracking follows the value back into the slot.
    if (dstRegno >= 0) env.hist.stackAccess(env.insnIdx, frame.frameno, spi);
    let spillSize = 1;
    for (let i = 7; i > 0 && slotByte(st, i - 1) === STACK_SPILL; i--) spillSize++;
    if (size !== 8 || spillSize !== 8) {
      if (reg.type !== "SCALAR_VALUE") {
        env.linfo(env.insnIdx, "; ");
        env.fail("invalid size of register fill", EACCES);
      }
      if (dstRegno < 0) return undefined;
      if (size <= spillSize && offAbs % 8 === 0) {
        return spillSize !== size ? withRegId(reg, 0) : reg;
      }
      let spillCnt = 0;
      let zeroCnt = 0;
      for (let i = 0; i < size; i++) {
        const c = slotByte(st, (slot - i) % 8);
        if (c === STACK_SPILL) spillCnt++;
        else if (c === STACK_ZERO) zeroCnt++;
        else if (c === STACK_MISC || (c === STACK_INVALID && env.privileged)) continue;
        else env.fail(`invalid read from stack off ${offAbs}+${i} size ${size}`, EACCES);
      }
      if (spillCnt === size && isZero(reg.b)) return constScalar(0n);
      if (zeroCnt === size) return constScalar(0n);
      return unknownScalar();
    }
    if (dstRegno >= 0) return reg;
    if (isPointer(reg) && !env.privileged) env.fail(`leaking pointer from stack off ${offAbs}`, EACCES);
    return undefined;
  }
  let zeros = 0;
  for (let i = 0; i < size; i++) {
    const c = slotByte(st, (slot - i) % 8);
    if (c === STACK_ZERO) zeros++;
    else if (c === STACK_MISC || (c === STACK_INVALID && env.privileged)) continue;
    else env.fail(`invalid read from stack off ${offAbs}+${i} size ${size}`, EACCES);
  }
  if (dstRegno < 0) return undefined;
  return zeros === size ? constScalar(0n) : unknownScalar();
}

/** check_stack_read_var_off(): every byte in range must be initialised. */
function stackReadVar(env: Env, regno: number, r: Reg, minOff: number, maxOff: number, size: number): Reg {
  const frame = frameOf(env, r);
  let allZero = true;
  for (let i = minOff; i < maxOff; i++) {
    const slot = -i - 1;
    const spi = Math.floor(slot / 8);
    env.markSlotScratched(spi);
    const sl = slotOf(frame, spi);
    const c = slotByte(sl.types, slot % 8);
    if (c === STACK_ZERO) continue;
    allZero = false;
    if (c === STACK_MISC) continue;
    if (c === STACK_SPILL && (sl.spilled?.type === "SCALAR_VALUE" || env.privileged)) continue;
    if (c === STACK_INVALID && env.privileged) continue;
    env.fail(`invalid variable-offset read from stack R${regno} var_off=${tnumStr(r.b.var)}+${i - minOff} size ${size}`, EACCES);
  }
  return allZero ? constScalar(0n) : unknownScalar();
}

/**
 * check_mem_access(): one load or store of `size` bytes at insn offset `off`
 * through register `regno`. For loads, returns the loaded register (not yet
 * zero/sign-extended); `value` is the stored register for BPF_STX.
 */
export function memAccess(env: Env, regno: number, off: number, size: number, t: Access, valueRegno: number, value: Reg | undefined, imm: number | undefined, strictAlign: boolean): Reg | undefined {
  const r = env.regs[regno]!;
  checkAlignment(env, r, off, size, strictAlign);
  const o = off + r.off;
  switch (r.type) {
    case "PTR_TO_MAP_KEY": {
      if (r.maybeNull) break;
      if (t === "write") env.fail(`write to change key R${regno} not allowed`, EACCES);
      memRegionAccess(env, regno, r, o, size, r.map!.spec.keySize, false);
      return unknownScalar();
    }
    case "PTR_TO_MAP_VALUE": {
      if (r.maybeNull) break;
      if (t === "write" && value !== undefined && isPointer(value) && !env.privileged) env.fail(`R${valueRegno} leaks addr into map`, EACCES);
      mapAccessType(env, regno, r, o, size, t);
      mapAccess(env, regno, r, o, size, false);
      if (t === "read") {
        const frozen = env.maps[r.map!.index]?.frozenValue;
        if (frozen !== undefined && isConst(r.b) && (r.map!.spec.flags & (1 << 7)) !== 0) {
          const at = o + Number(r.b.var.value);
          let v = 0n;
          for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(frozen[at + i] ?? 0);
          return constScalar(v);
        }
        return unknownScalar();
      }
      return undefined;
    }
    case "PTR_TO_MEM": {
      if (r.maybeNull) break;
      if (t === "write" && r.rdonly) env.fail(`R${regno} cannot write into ${regTypeStr(r)}`, EACCES);
      if (t === "write" && value !== undefined && isPointer(value) && !env.privileged) env.fail(`R${valueRegno} leaks addr into mem`, EACCES);
      memRegionAccess(env, regno, r, o, size, r.memSize, false);
      return t === "read" ? unknownScalar() : undefined;
    }
    case "PTR_TO_CTX": {
      if (t === "write" && value !== undefined && isPointer(value) && !env.privileged) env.fail(`R${valueRegno} leaks addr into ctx`, EACCES);
      checkPtrOffReg(env, r, regno, false);
      const acc = ctxAccess(env.progType, o, size, t === "write", env.attach, env.privileged);
      if (acc === undefined) env.fail(`invalid bpf_context access off=${o} size=${size}`, EACCES);
      if (t === "write") return undefined;
      if (acc.regType === "SCALAR_VALUE") return unknownScalar();
      return ptrTo(acc.regType, undefined, 0, acc.maybeNull ?? false, acc.maybeNull ? env.newId() : 0);
    }
    case "PTR_TO_STACK": {
      const [minOff, maxOff] = stackBounds(env, regno, r, o, size, t);
      if (t === "read") {
        if (isConst(r.b)) return stackReadFixed(env, r, minOff, size, valueRegno) ?? unknownScalar();
        return stackReadVar(env, regno, r, minOff, maxOff, size);
      }
      if (isConst(r.b)) stackWriteFixed(env, r, minOff, size, valueRegno, value, imm);
      else {
        // Zeroes kept as STACK_ZERO need the written register exact (the kernel's zero_used).
        if (value !== undefined && value.type === "SCALAR_VALUE" && isZero(value.b)) env.markPrecise(valueRegno);
        stackWriteVar(env, r, minOff, maxOff, value, imm);
      }
      return undefined;
    }
    case "CONST_PTR_TO_MAP":
      ptrToMapAccess(env, regno, r, o, size, t === "write");
      return unknownScalar();
    case "PTR_TO_SOCKET":
    case "PTR_TO_SOCK_COMMON": {
      if (r.maybeNull) break;
      if (t === "write") env.fail(`R${regno} cannot write into ${regTypeStr(r)}`, EACCES);
      sockAccess(env, regno, r, o, size);
      return unknownScalar();
    }
    case "PTR_TO_PACKET":
    case "PTR_TO_PACKET_META": {
      if (t === "write" && !directPacketAccess(env.progType, true)) env.fail("cannot write into packet", EACCES);
      if (t === "write" && value !== undefined && isPointer(value) && !env.privileged) env.fail(`R${valueRegno} leaks addr into packet`, EACCES);
      packetAccess(env, regno, r, o, size, false);
      return t === "read" ? unknownScalar() : undefined;
    }
    default:
      break;
  }
  return env.fail(`R${regno} invalid mem access '${regTypeStr(r)}'`, EACCES);
}

/**
 * check_sock_access(): reads through a socket pointer go to struct bpf_sock fields
 * (bpf_sock_is_valid_access; bpf_sock_common_is_valid_access for sock_common).
 */
function sockAccess(env: Env, regno: number, r: Reg, off: number, size: number): void {
  if (r.b.sminH < 0) env.fail(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`, EACCES);
  const ok = r.type === "PTR_TO_SOCKET" ? bpfSockValid(off, size) : bpfSockCommonValid(off, size);
  if (!ok) env.fail(`R${regno} invalid ${regTypeStr(r)} access off=${off} size=${size}`, EACCES);
}

const UNKNOWN_LOADED = [1, 2, 3, 4, 5, 6, 7].map((size) => scalarReg(coerceToSize(UNKNOWN, size), 0));
/** An unknown scalar zero-extended from `size` bytes. */
const unknownLoaded = (size: number): Reg => UNKNOWN_LOADED[size - 1]!;

/** LDX: check_load_mem(). */
export function checkLoad(env: Env, insn: LdxInsn): void {
  env.readReg(insn.src);
  env.checkWritable(insn.dst);
  let v = memAccess(env, insn.src, insn.off, insn.size, "read", insn.dst, undefined, undefined, false) ?? unknownScalar();
  if (v.type === "SCALAR_VALUE" && insn.size < 8) {
    // An unknown value narrowed to the load's size is the same every time.
    if (v === unknownScalar() && !insn.signed) v = unknownLoaded(insn.size);
    else v = scalarReg(insn.signed ? signExtend(v.b, insn.size as 1 | 2 | 4) : coerceToSize(v.b, insn.size), 0);
  }
  env.setReg(insn.dst, v);
}

/** STX / ST: check_store_reg() and the BPF_ST path. */
export function checkStore(env: Env, insn: StxInsn | StInsn): void {
  let value: Reg | undefined;
  let valueRegno = -1;
  if (insn.kind === "stx") {
    value = env.readReg(insn.src);
    valueRegno = insn.src;
  }
  // BPF_ST into ctx is checked like BPF_STX: the kernel dropped "BPF_ST stores into
  // R%d ctx is not allowed" (6.x), the field's is_valid_access decides.
  env.readReg(insn.dst);
  memAccess(env, insn.dst, insn.off, insn.size, "write", valueRegno, value, insn.kind === "st" ? insn.imm : undefined, false);
}

/** check_atomic(): read-modify-write on map values, stack and mem, aligned. */
export function checkAtomic(env: Env, insn: AtomicInsn): void {
  const src = env.readReg(insn.src);
  const dst = env.readReg(insn.dst);
  if (insn.op === "cmpxchg") {
    const r0 = env.readReg(0);
    if (isPointer(r0) && !env.privileged) env.fail("R0 leaks addr into mem", EACCES);
  }
  if (isPointer(src) && !env.privileged) env.fail(`R${insn.src} leaks addr into mem`, EACCES);
  if (dst.type === "PTR_TO_CTX" || isPktPointer(dst) || dst.type === "PTR_TO_FLOW_KEYS" || dst.type === "PTR_TO_SOCK_COMMON" || dst.type === "PTR_TO_SOCKET") {
    env.fail(`BPF_ATOMIC stores into R${insn.dst} ${regTypeStr(dst)} is not allowed`, EACCES);
  }
  const loadReg = insn.op === "cmpxchg" ? 0 : insn.src;
  if (insn.fetch) env.checkWritable(loadReg);
  const old = memAccess(env, insn.dst, insn.off, insn.size, "read", insn.fetch ? loadReg : -1, undefined, undefined, true);
  memAccess(env, insn.dst, insn.off, insn.size, "write", -1, undefined, undefined, true);
  if (insn.fetch) {
    let v = old ?? unknownScalar();
    if (v.type !== "SCALAR_VALUE" || insn.op !== "xchg") v = v.type === "SCALAR_VALUE" ? v : v;
    if (v.type === "SCALAR_VALUE") v = scalarReg(insn.size === 4 ? coerceToSize(v.b, 4) : v.b);
    // A fetched stack spill of a pointer stays a pointer (as the kernel's load does); anything else is a scalar.
    env.setReg(loadReg, v.type === "SCALAR_VALUE" ? withRegId(v, 0) : v);
  }
}

/**
 * check_helper_mem_access(): `size` bytes at register `regno` for a helper that
 * reads them or (`t` = "write", MEM_WRITE) writes them. `raw` is the kernel's
 * meta->raw_mode (MEM_UNINIT: the helper fills the memory, so stack bytes need
 * not be initialised). Returns the stack range a raw-mode helper writes, for
 * checkHelperCall to mark once every argument is checked, or undefined.
 */
export function helperMemAccess(env: Env, regno: number, r: Reg, size: number, t: Access, zeroOk: boolean, raw: boolean): RawStackWrite | undefined {
  switch (r.type) {
    case "PTR_TO_PACKET":
    case "PTR_TO_PACKET_META":
      if (t === "write" && !directPacketAccess(env.progType, true)) env.fail("cannot write into packet", EACCES);
      packetAccess(env, regno, r, r.off, size, zeroOk);
      return undefined;
    case "PTR_TO_MAP_KEY":
      if (t === "write") env.fail(`R${regno} cannot write into ${regTypeStr(r)}`, EACCES);
      memRegionAccess(env, regno, r, r.off, size, r.map!.spec.keySize, false);
      return undefined;
    case "PTR_TO_MAP_VALUE":
      mapAccessType(env, regno, r, r.off, size, t);
      mapAccess(env, regno, r, r.off, size, zeroOk);
      return undefined;
    case "PTR_TO_MEM":
      if (r.rdonly && t === "write") env.fail(`R${regno} cannot write into ${regTypeStr(r)}`, EACCES);
      memRegionAccess(env, regno, r, r.off, size, r.memSize, zeroOk);
      return undefined;
    case "PTR_TO_STACK":
      return stackRangeInitialized(env, regno, r, size, t, zeroOk, raw);
    default:
      if (zeroOk && size === 0 && r.type === "SCALAR_VALUE" && isZero(r.b)) return undefined;
      return env.fail(`R${regno} type=${regTypeStr(r)} expected=fp`, EACCES);
  }
}

/** scrub_spilled_slot() on every byte of a slot. */
function scrubSpilledSlot(types: number): number {
  let t = types;
  for (let j = 0; j < 8; j++) if (slotByte(t, j) !== STACK_INVALID) t = setSlotByte(t, j, STACK_MISC);
  return t;
}

/** The stack bytes a raw-mode helper argument fills (meta->regno, meta->access_size). */
export interface RawStackWrite {
  readonly regno: number;
  readonly size: number;
}

/**
 * check_stack_range_initialized(). Raw mode (MEM_UNINIT, constant offset) only
 * checks the bounds: the bytes are marked written after the argument checks.
 * Otherwise every byte must be initialised (STACK_MISC or STACK_ZERO, STACK_INVALID
 * with allow_uninit_stack, a spilled scalar, or any spill with allow_ptr_leaks);
 * a write (MEM_WRITE) leaves them STACK_MISC.
 */
function stackRangeInitialized(env: Env, regno: number, r: Reg, size: number, t: Access, zeroOk: boolean, raw: boolean): RawStackWrite | undefined {
  if (size === 0 && !zeroOk) env.fail("invalid zero-sized read", EACCES);
  const clobber = t === "write";
  const [minOff] = stackBounds(env, regno, r, r.off, size, t);
  let lo: number;
  let hi: number;
  if (isConst(r.b)) {
    lo = minOff;
    hi = minOff + size;
  } else {
    if (!env.privileged) env.fail(`R${regno} variable offset stack access prohibited for !root, var_off=${tnumStr(r.b.var)}`, EACCES);
    // Only initialised stack may be passed with a variable offset: the helper's
    // partial writes could not be tracked.
    raw = false;
    lo = sminNum(r.b) + r.off;
    hi = smaxNum(r.b) + r.off + size;
  }
  const frame = frameOf(env, r);
  if (lo < 0) {
    updateStackDepth(env, frame, lo);
    growStack(frame, Math.floor((-lo - 1) / 8));
  }
  if (raw) return { regno, size };
  for (let i = lo; i < hi; i++) {
    const slot = -i - 1;
    const spi = Math.floor(slot / 8);
    env.markSlotScratched(spi);
    const sl = slotOf(frame, spi);
    const j = slot % 8;
    const c = slotByte(sl.types, j);
    if (c === STACK_MISC) continue;
    if (c === STACK_ZERO || (c === STACK_INVALID && env.privileged)) {
      if (clobber) frame.stack[spi] = { types: setSlotByte(sl.types, j, STACK_MISC), spilled: sl.spilled };
      continue;
    }
    // is_spilled_reg() looks at the slot's last byte: an uninitialised byte beside
    // a narrow scalar spill passes too.
    if (slotByte(sl.types, 7) === STACK_SPILL && sl.spilled !== undefined && (sl.spilled.type === "SCALAR_VALUE" || env.privileged)) {
      // A helper writing over a spill leaves unknown bytes (scrub_spilled_slot: all but STACK_INVALID become STACK_MISC).
      if (clobber) frame.stack[spi] = { types: scrubSpilledSlot(sl.types), spilled: undefined };
      continue;
    }
    if (isConst(r.b)) env.fail(`invalid read from stack R${regno} off ${lo}+${i - lo} size ${size}`, EACCES);
    env.fail(`invalid read from stack R${regno} var_off ${tnumStr(r.b.var)}+${i - lo} size ${size}`, EACCES);
  }
  return undefined;
}

export { UNKNOWN, known, EFAULT };
export type { Bounds };
