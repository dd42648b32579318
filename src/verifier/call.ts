/**
 * Calls: check_helper_call() / check_func_arg() / check_mem_size_reg() for helpers
 * (prototypes in helpers-table.ts), reference tracking (acquire on
 * bpf_ringbuf_reserve and the bpf_sk_lookup_* socket lookups, release on
 * submit/discard and bpf_sk_release, check_reference_leak at exit),
 * bpf_spin_lock/unlock (process_spin_lock), bpf-to-bpf calls (check_func_call,
 * prepare_func_exit) and callbacks (push_callback_call with
 * set_loop_callback_state / set_map_elem_callback_state).
 */
import type { CallInsn } from "../isa/index.js";
import { mapTypeId } from "../maps/index.js";
import { UNKNOWN, fromBig, isConst, isZero, known, sync, toBig, umaxNum, S64_MIN } from "./bounds.js";
import { E2BIG, EACCES, EFAULT, EINVAL, VerifyFail, type Env } from "./env.js";
import { familiesOf, helperProto, mapFuncCompatible, type ArgType, type HelperProto } from "./helpers-table.js";
import { checkGlobalCallArgs } from "./globals.js";
import { helperMemAccess, memAccess, type RawStackWrite } from "./mem.js";
import { markSlotPrecise } from "./precision.js";
import { tnumStr } from "./tnum.js";
import {
  STACK_SPILL, STACK_ZERO, slotByte,
  NOT_INIT, copyState, curFrame, regWith, forEachReg, isPktPointer, isPointer, newFrame, ptrReg, ptrTo, regTypeStr, scalarReg,
  unknownScalar, type MapRef, type Reg, type VState,
} from "./state.js";
import { regStr } from "./log.js";

const MAX_CALL_FRAMES = 8;
const BPF_MAX_VAR_SIZ = 1 << 29;
const MAX_ERRNO = 4095n;

interface Meta {
  map?: MapRef;
  releaseRegno: number;
  refObjId: number;
  memSize: number;
  subprog: number;
  rawRegno: number;
  msizeMax: bigint;
  /** meta->const_map_key: the constant key of an array lookup, or -1. */
  constMapKey: bigint;
  /** meta->regno / meta->access_size of a raw-mode (MEM_UNINIT) stack argument. */
  rawWrite?: RawStackWrite;
}

const isNullReg = (r: Reg): boolean => r.type === "SCALAR_VALUE" && isZero(r.b);

/**
 * mem_types of the kernel's compatible_reg_types: what ARG_PTR_TO_MAP_KEY,
 * ARG_PTR_TO_MAP_VALUE and ARG_PTR_TO_MEM accept (PTR_TO_BUF and trusted BTF
 * pointers exist in the kernel only; the message lists them all the same).
 */
const MEM_TYPES = ["fp", "pkt", "pkt_meta", "map_key", "map_value", "mem", "ringbuf_mem", "buf", "trusted_ptr_"];

/** Types accepted for an argument, as compatible_reg_types lists them. */
function expectedTypes(t: ArgType): string[] | undefined {
  switch (t) {
    case "CONST_MAP_PTR": return ["map_ptr"];
    case "MAP_KEY": case "MAP_VALUE": case "UNINIT_MAP_VALUE":
    case "MEM": case "MEM_OR_NULL": case "UNINIT_MEM": case "UNINIT_MEM_OR_NULL":
      return MEM_TYPES;
    case "CTX": return ["ctx"];
    case "FUNC": return ["func"];
    case "STACK_OR_NULL": return ["fp"];
    case "CONST_STR": return ["map_value"];
    case "RINGBUF_MEM_RELEASE": return ["ringbuf_mem"];
    case "SPIN_LOCK": return ["map_value"];
    // btf_id_sock_common_types: the sk pointers plus any BTF pointer (printed as the kernel's "ptr_", "trusted_ptr_").
    case "SOCK_COMMON_RELEASE": return ["sock_common", "sock", "tcp_sock", "xdp_sock", "ptr_", "trusted_ptr_"];
    default: return undefined;
  }
}

function typeOk(t: ArgType, r: Reg): boolean {
  switch (t) {
    case "CONST_MAP_PTR": return r.type === "CONST_PTR_TO_MAP";
    // check_reg_type(): the register's type must be one of mem_types exactly (no
    // PTR_MAYBE_NULL, and MEM_RDONLY only where the argument is read-only).
    case "MAP_KEY": case "MAP_VALUE": case "UNINIT_MAP_VALUE":
      return !r.maybeNull && (r.type === "PTR_TO_STACK" || isPktPointer(r) || r.type === "PTR_TO_MAP_KEY" || r.type === "PTR_TO_MAP_VALUE" || (r.type === "PTR_TO_MEM" && !r.rdonly));
    case "CTX": return r.type === "PTR_TO_CTX";
    case "MEM": case "MEM_OR_NULL":
      return !r.maybeNull && (r.type === "PTR_TO_STACK" || isPktPointer(r) || r.type === "PTR_TO_MAP_KEY" || r.type === "PTR_TO_MAP_VALUE" || r.type === "PTR_TO_MEM");
    case "UNINIT_MEM": case "UNINIT_MEM_OR_NULL":
      return !r.maybeNull && !r.rdonly && (r.type === "PTR_TO_STACK" || isPktPointer(r) || r.type === "PTR_TO_MAP_KEY" || r.type === "PTR_TO_MAP_VALUE" || r.type === "PTR_TO_MEM");
    case "FUNC": return r.type === "PTR_TO_FUNC";
    case "STACK_OR_NULL": return r.type === "PTR_TO_STACK";
    case "CONST_STR": return r.type === "PTR_TO_MAP_VALUE" && !r.maybeNull;
    case "RINGBUF_MEM_RELEASE": return r.type === "PTR_TO_MEM" && r.ringbuf && !r.maybeNull;
    case "SPIN_LOCK": return r.type === "PTR_TO_MAP_VALUE" && !r.maybeNull;
    case "SOCK_COMMON_RELEASE": return (r.type === "PTR_TO_SOCKET" || r.type === "PTR_TO_SOCK_COMMON") && !r.maybeNull;
    default: return true;
  }
}

const mayBeNull = (t: ArgType): boolean => t === "MEM_OR_NULL" || t === "UNINIT_MEM_OR_NULL" || t === "STACK_OR_NULL";
const isMemArg = (t: ArgType): boolean => t === "MEM" || t === "MEM_OR_NULL" || t === "UNINIT_MEM" || t === "UNINIT_MEM_OR_NULL";
const isWriteMem = (t: ArgType): boolean => t === "UNINIT_MEM" || t === "UNINIT_MEM_OR_NULL";

/** check_func_arg(). */
function checkArg(env: Env, proto: HelperProto, arg: number, meta: Meta): void {
  const t = proto.args[arg]!;
  const regno = arg + 1;
  const r = env.readReg(regno);
  if (t === "ANYTHING") {
    if (isPointer(r) && !env.privileged) env.fail(`R${regno} leaks addr into helper function`, EACCES);
    return;
  }
  if (isPktPointer(r) && !(env.progType === "BPF_PROG_TYPE_XDP" || env.progType === "BPF_PROG_TYPE_SCHED_CLS" || env.progType === "BPF_PROG_TYPE_SCHED_ACT" || env.progType === "BPF_PROG_TYPE_CGROUP_SKB")) {
    env.fail("helper access to the packet is not allowed", EACCES);
  }
  const sizeArg = t === "CONST_SIZE" || t === "CONST_SIZE_OR_ZERO" || t === "ALLOC_SIZE_OR_ZERO";
  const nullOk = isNullReg(r) && mayBeNull(t);
  if (nullOk) env.markPrecise(regno); // NULL passed as a scalar 0: it must stay 0
  if (!sizeArg && !nullOk) {
    if (!typeOk(t, r)) env.fail(`R${regno} type=${regTypeStr(r)} expected=${(expectedTypes(t) ?? ["scalar"]).join(", ")}`, EACCES);
    if (t === "RINGBUF_MEM_RELEASE") {
      if (r.off) env.fail(`R${regno} must have zero offset when passed to release func or trusted arg to kfunc`, EINVAL);
      if (!isZero(r.b)) env.fail(`variable ${regTypeStr(r)} access var_off=${tnumStr(r.b.var)} disallowed`, EACCES);
    } else if (r.type === "PTR_TO_CTX" || r.type === "CONST_PTR_TO_MAP" || r.type === "PTR_TO_FUNC") {
      if (r.off < 0) env.fail(`negative offset ${regTypeStr(r)} ptr R${regno} off=${r.off} disallowed`, EACCES);
      if (r.off) env.fail(`dereference of modified ${regTypeStr(r)} ptr R${regno} off=${r.off} disallowed`, EACCES);
      if (!isZero(r.b)) env.fail(`variable ${regTypeStr(r)} access var_off=${tnumStr(r.b.var)} disallowed`, EACCES);
    }
  } else if (sizeArg && r.type !== "SCALAR_VALUE") {
    env.fail(`R${regno} type=${regTypeStr(r)} expected=scalar`, EACCES);
  }
  if (t === "RINGBUF_MEM_RELEASE" || t === "SOCK_COMMON_RELEASE") {
    if (!r.refObjId && !isNullReg(r)) env.fail(`R${regno} must be referenced when passed to release function`, EINVAL);
    meta.releaseRegno = regno;
  }
  if (r.refObjId) {
    if (meta.refObjId) env.fail(`more than one arg with ref_obj_id R${regno} ${r.refObjId} ${meta.refObjId}`, EACCES);
    meta.refObjId = r.refObjId;
  }
  switch (t) {
    case "CONST_MAP_PTR":
      meta.map = r.map;
      break;
    case "MAP_KEY":
      if (meta.map === undefined) env.fail("invalid map_ptr to access map->key", EACCES);
      helperMemAccess(env, regno, r, meta.map.spec.keySize, "read", false, false);
      if (canElideValueNullness(meta.map)) meta.constMapKey = constantMapKey(env, r, meta.map.spec.keySize);
      break;
    case "MAP_VALUE":
    case "UNINIT_MAP_VALUE": {
      if (meta.map === undefined) env.fail("invalid map_ptr to access map->value", EACCES);
      // bpf_map_pop_elem / peek_elem fill the value (MEM_UNINIT | MEM_WRITE).
      const uninit = t === "UNINIT_MAP_VALUE";
      meta.rawWrite = helperMemAccess(env, regno, r, meta.map.spec.valueSize, uninit ? "write" : "read", false, uninit) ?? meta.rawWrite;
      break;
    }
    case "FUNC":
      meta.subprog = r.subprog;
      break;
    case "CONST_SIZE":
    case "CONST_SIZE_OR_ZERO": {
      const prev = proto.args[arg - 1]!;
      const mem = env.regs[regno - 1]!;
      const zeroOk = t === "CONST_SIZE_OR_ZERO";
      if (r.b.sminH < 0) env.fail(`R${regno} min value is negative, either use unsigned or 'var &= const'`, EACCES);
      if ((r.b.uminH | r.b.uminL) === 0 && !zeroOk) env.fail(`R${regno} invalid zero-sized read: u64=[${r.b.umin},${r.b.umax}]`, EACCES);
      if (umaxNum(r.b) >= BPF_MAX_VAR_SIZ) env.fail(`R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`, EACCES);
      meta.msizeMax = r.b.umax;
      env.markPrecise(regno); // check_mem_size_reg()
      if (isMemArg(prev)) {
        // check_mem_size_reg(): the helper may touch umax bytes. Raw mode (the
        // helper fills uninitialised memory) only with a constant size: with a
        // variable one the helper may fill less, so the memory must be initialised.
        // A NULL buffer passes only with a size of zero (check_helper_mem_access).
        // The NULL must stay NULL for states pruned against this one.
        if (isNullReg(mem) && mayBeNull(prev)) env.markPrecise(regno - 1);
        const write = isWriteMem(prev);
        const raw = write && isConst(r.b);
        meta.rawWrite = helperMemAccess(env, regno - 1, mem, Number(r.b.umax), write ? "write" : "read", zeroOk, raw) ?? meta.rawWrite;
      }
      break;
    }
    case "ALLOC_SIZE_OR_ZERO":
      if (r.type !== "SCALAR_VALUE" || !isConst(r.b)) env.fail(`R${regno} is not a known constant'`, EACCES);
      env.markPrecise(regno);
      meta.memSize = Number(r.b.var.value);
      break;
    case "CONST_STR":
      checkConstStr(env, regno, r);
      break;
    case "SPIN_LOCK":
      break;
    default:
      break;
  }
}

/** can_elide_value_nullness(): arrays, whose in-range elements always exist. */
function canElideValueNullness(map: MapRef): boolean {
  const t = map.spec.type;
  // Not for an inner map's template (index -1): tsbpf does not trust that the map
  // found at run time has the template's max_entries (BPF_F_INNER_MAP lets it differ).
  return (t === "BPF_MAP_TYPE_ARRAY" || t === "BPF_MAP_TYPE_PERCPU_ARRAY") && map.index >= 0;
}

/**
 * get_constant_map_key(): the key behind a stack pointer when it is known —
 * key_size STACK_ZERO bytes, or a spilled constant scalar of exactly key_size
 * bytes — else -1. Privileged (bpf_capable) programs only. A spilled key is marked
 * precise, so that pruning cannot merge a state with a different key; STACK_ZERO
 * bytes are compared exactly anyway.
 */
function constantMapKey(env: Env, key: Reg, keySize: number): bigint {
  if (!env.privileged || key.type !== "PTR_TO_STACK" || !isConst(key.b)) return -1n;
  const stackOff = key.off + Number(BigInt.asIntN(32, key.b.var.value));
  const slot = -stackOff - 1;
  const spi = Math.floor(slot / 8);
  const off = slot % 8;
  const sl = env.cur.frames[key.frameno]!.stack[spi];
  if (sl === undefined) return -1n;
  let zeroSize = 0;
  for (let i = off; i >= 0 && slotByte(sl.types, i) === STACK_ZERO; i--) zeroSize++;
  if (zeroSize >= keySize) return 0n;
  const spilled = sl.spilled;
  if (slotByte(sl.types, 7) !== STACK_SPILL || spilled === undefined || spilled.type !== "SCALAR_VALUE") return -1n;
  let spillSize = 0;
  for (let i = off; i >= 0 && slotByte(sl.types, i) === STACK_SPILL; i--) spillSize++;
  if (spillSize !== keySize || !isConst(spilled.b)) return -1n;
  // The verdict now relies on this value: states with another key must not be pruned against this one.
  markSlotPrecise(env, key.frameno, spi);
  return BigInt.asIntN(64, spilled.b.var.value);
}

/** check_reg_const_str(): a NUL-terminated string in a read-only map value. */
function checkConstStr(env: Env, regno: number, r: Reg): void {
  const spec = r.map!.spec;
  if ((spec.flags & (1 << 7)) === 0) env.fail(`R${regno} does not point to a readonly map'`, EACCES);
  if (!isConst(r.b)) env.fail(`R${regno} is not a constant address'`, EACCES);
  const off = r.off + Number(r.b.var.value);
  if (off < 0 || off >= spec.valueSize) env.fail(`invalid access to map value, value_size=${spec.valueSize} off=${off} size=1`, EACCES);
  const frozen = env.maps[r.map!.index]?.frozenValue;
  if (frozen !== undefined) {
    let end = -1;
    for (let i = off; i < spec.valueSize; i++) if (frozen[i] === 0) { end = i; break; }
    if (end < 0) env.fail("string is not zero-terminated", EINVAL);
  }
}

/** process_spin_lock(). */
function spinLock(env: Env, regno: number, lock: boolean): void {
  const r = env.regs[regno]!;
  if (!isConst(r.b)) env.fail(`R${regno} doesn't have constant offset. bpf_spin_lock has to be at the constant offset`, EINVAL);
  const spec = r.map!.spec;
  if (spec.spinLockOffset === undefined) env.fail(`map '${spec.name}' has no valid bpf_spin_lock`, EINVAL);
  const off = Number(r.b.var.value) + r.off;
  if (off !== spec.spinLockOffset) env.fail(`off ${off} doesn't point to 'struct bpf_spin_lock' that is at ${spec.spinLockOffset}`, EINVAL);
  if (lock) {
    if (env.cur.lock !== undefined) env.fail("Locking two bpf_spin_locks are not allowed", EINVAL);
    env.cur.lock = { id: r.id, map: r.map!.index };
  } else {
    if (env.cur.lock === undefined) env.fail("bpf_spin_unlock without taking a lock", EINVAL);
    if (env.cur.lock.id !== r.id || env.cur.lock.map !== r.map!.index) env.fail("bpf_spin_unlock of different lock", EINVAL);
    env.cur.lock = undefined;
  }
}

/** release_reference(): the reference goes away and every register holding it becomes unknown. */
function releaseReference(env: Env, refObjId: number): boolean {
  const before = env.cur.refs.length;
  env.cur.refs = env.cur.refs.filter((x) => x.id !== refObjId);
  if (env.cur.refs.length === before) return false;
  forEachReg(env.cur, (r) => (r.refObjId === refObjId ? unknownScalar() : undefined));
  return true;
}

/** check_resource_leak(): no held lock, no unreleased reference. */
export function checkResourceLeak(env: Env, what: string, checkRefs: boolean): void {
  if (env.cur.lock !== undefined) env.fail(`${what} cannot be used inside bpf_spin_lock-ed region`, EINVAL);
  if (checkRefs && env.cur.refs.length > 0) {
    for (const ref of env.cur.refs) env.verbose(`Unreleased reference id=${ref.id} alloc_insn=${ref.insn}\n`);
    env.fail(`${what} would lead to reference leak`, EINVAL);
  }
}

/** clear_all_pkt_pointers(): after a helper that may move packet data. */
function clearPktPointers(st: VState): void {
  forEachReg(st, (r) => (isPktPointer(r) || r.type === "PTR_TO_PACKET_END" ? unknownScalar() : undefined));
}

export type CallOutcome = { readonly next: number };

/** check_helper_call(). Returns the next instruction. */
export function checkHelperCall(env: Env, insn: CallInsn): CallOutcome {
  const id = insn.imm;
  const proto = helperProto(id);
  const name = proto?.name ?? `unknown`;
  if (id < 0 || id >= 212) env.fail(`invalid func ${name}#${id}`, EINVAL);
  const fams = familiesOf(env.progType);
  if (proto === undefined || !proto.families.some((f) => fams.includes(f)) || (proto.needsPrivilege && !env.privileged)) {
    env.fail(`program of this type cannot use helper ${name}#${id}`, EINVAL);
  }
  if (proto.gplOnly && !env.gpl) env.fail("cannot call GPL-restricted function from non-GPL compatible program", EINVAL);
  if (env.cur.lock !== undefined && id !== 94) env.fail("function calls are not allowed while holding a lock", EINVAL);
  const meta: Meta = { releaseRegno: 0, refObjId: 0, memSize: 0, subprog: -1, rawRegno: -1, msizeMax: 0n, constMapKey: -1n };
  for (let i = 0; i < proto.args.length; i++) checkArg(env, proto, i, meta);
  // The stack a raw-mode argument names is written by the helper: byte by byte
  // unknown stores, as check_helper_call() simulates them.
  if (meta.rawWrite !== undefined) {
    for (let i = 0; i < meta.rawWrite.size; i++) memAccess(env, meta.rawWrite.regno, i, 1, "write", -1, undefined, undefined, false);
  }
  if (proto.args.some((a) => a === "SPIN_LOCK")) spinLock(env, 1, id === 93);
  // record_func_key(): prints without a newline, so "processed ..." follows on the same line.
  if (id === 12 && meta.map?.spec.type !== "BPF_MAP_TYPE_PROG_ARRAY") {
    const msg = "expected prog array map for tail call";
    env.verbose(msg);
    throw new VerifyFail(EINVAL, msg);
  }
  if (meta.releaseRegno) {
    let ok = false;
    if (meta.refObjId) ok = releaseReference(env, meta.refObjId);
    else if (isNullReg(env.regs[meta.releaseRegno]!)) {
      env.markPrecise(meta.releaseRegno);
      ok = true;
    }
    if (!ok) env.fail(`func ${name}#${id} reference has not been acquired before`, EINVAL);
  }
  if (meta.map !== undefined && !mapFuncCompatible(meta.map.spec.type, id)) {
    env.fail(`cannot pass map_type ${mapTypeId(meta.map.spec.type)} into func ${name}#${id}`, EINVAL);
  }
  if (id === 12) checkResourceLeak(env, "tail_call", true);
  if ((id === 181 || id === 164) && meta.subprog >= 0) pushCallback(env, insn, meta);
  // Caller-saved registers are clobbered, R0 takes the return type.
  env.clobberCallerSaved();
  env.markRegScratched(0);
  let r0: Reg;
  switch (proto.ret) {
    case "INTEGER":
      r0 = unknownScalar();
      if (id === 8) r0 = scalarReg(sync(fromBig({ ...toBig(UNKNOWN), umax: BigInt(env.nrCpus - 1), u32max: BigInt(env.nrCpus - 1), smax: BigInt(env.nrCpus - 1), s32max: BigInt(env.nrCpus - 1), smin: 0n, s32min: 0n })));
      if (id === 45 || id === 114 || id === 115) r0 = scalarReg(sync(fromBig({ ...toBig(UNKNOWN), smax: meta.msizeMax, s32max: meta.msizeMax, smin: -MAX_ERRNO, s32min: -MAX_ERRNO })));
      break;
    case "VOID":
      r0 = NOT_INIT;
      break;
    case "MAP_VALUE_OR_NULL": {
      if (meta.map === undefined) env.fail("kernel subsystem misconfigured verifier", EINVAL);
      // An array lookup with a constant key below max_entries cannot fail.
      const notNull = id === 1 && canElideValueNullness(meta.map) && meta.constMapKey >= 0n && meta.constMapKey < BigInt(meta.map.spec.maxEntries);
      if (notNull) {
        // Only a non-NULL value of a map with a bpf_spin_lock gets an id here (the lock's identity).
        r0 = ptrTo("PTR_TO_MAP_VALUE", meta.map, 0, false, meta.map.spec.spinLockOffset !== undefined ? env.newId() : 0);
      } else {
        r0 = ptrTo("PTR_TO_MAP_VALUE", meta.map, 0, true, env.newId());
      }
      break;
    }
    case "SOCKET_OR_NULL":
    case "SOCK_COMMON_OR_NULL": {
      // Acquired like a ringbuf record: the NULL-check id is then the reference id.
      r0 = ptrReg(proto.ret === "SOCKET_OR_NULL" ? "PTR_TO_SOCKET" : "PTR_TO_SOCK_COMMON", { maybeNull: true, id: env.newId() });
      const ref = env.newId();
      env.cur.refs = [...env.cur.refs, { id: ref, insn: env.insnIdx }];
      r0 = regWith(r0, { id: ref, refObjId: ref });
      break;
    }
    case "RINGBUF_MEM_OR_NULL": {
      r0 = ptrReg("PTR_TO_MEM", { ringbuf: true, maybeNull: true, memSize: meta.memSize, id: env.newId() });
      const ref = env.newId();
      env.cur.refs = [...env.cur.refs, { id: ref, insn: env.insnIdx }];
      r0 = regWith(r0, { id: ref, refObjId: ref });
      break;
    }
  }
  env.setReg(0, r0);
  void S64_MIN;
  if (proto.changesPktData) clearPktPointers(env.cur);
  if (id === 12) {
    // A tail call that succeeds does not return; one that fails continues with R0 unknown? No: bpf_tail_call returns only on failure.
  }
  return { next: insn.pc + 1 };
}

/** push_callback_call(): explore the callback later, entering it from this call. */
function pushCallback(env: Env, insn: CallInsn, meta: Meta): void {
  const caller = curFrame(env.cur);
  if (insn.imm === 181) {
    const r1 = caller.regs[1]!;
    // bpf_loop: no iteration to simulate when the count is known to be zero.
    if (r1.type === "SCALAR_VALUE" && (r1.b.umaxH | r1.b.umaxL) === 0) {
      env.markPrecise(1); // skipping the callback relies on the count
      return;
    }
  }
  if (env.cur.frames.length >= MAX_CALL_FRAMES) env.fail(`the call stack of ${env.cur.frames.length + 1} frames is too deep`, E2BIG);
  const st = copyState(env.cur);
  const callerCopy = curFrame(st);
  const callee = newFrame(st.frames.length, insn.pc, meta.subprog, true, insn.pc);
  if (insn.imm === 181) {
    callee.regs[1] = unknownScalar();
    callee.regs[2] = callerCopy.regs[3]!;
  } else {
    const map = meta.map!;
    callee.regs[1] = callerCopy.regs[1]!;
    callee.regs[2] = ptrTo("PTR_TO_MAP_KEY", map);
    callee.regs[3] = ptrTo("PTR_TO_MAP_VALUE", map);
    callee.regs[4] = callerCopy.regs[3]!;
  }
  st.frames.push(callee);
  st.unroll++;
  env.push(st, meta.subprog, insn.pc);
}

/** check_func_call(): a bpf-to-bpf call. Returns the callee's first instruction. */
export function checkLocalCall(env: Env, insn: CallInsn): number {
  if (!env.privileged) env.fail("function calls to other bpf functions are allowed for CAP_BPF and CAP_SYS_ADMIN", EINVAL);
  const depth = env.cur.frames.length;
  if (depth >= MAX_CALL_FRAMES) env.fail(`the call stack of ${depth + 1} frames is too deep`, E2BIG);
  const target = insn.pc + 1 + insn.imm;
  const caller = curFrame(env.cur);
  const global = env.globalFuncs.get(target);
  if (global !== undefined) {
    // A global function is verified once on its own (after the main program) for
    // any arguments its prototype allows: here only the arguments are checked. It
    // knows nothing of the caller's lock; static ones are walked with it held.
    if (env.cur.lock !== undefined) env.fail("global function calls are not allowed while holding a lock,\nuse static function instead", EINVAL);
    checkGlobalCallArgs(env, global);
    env.verbose(`Func#${global.subprog} ('${global.name}') is global and assumed valid.\n`);
    if (!env.calledGlobals.includes(target)) env.calledGlobals.push(target);
    if (global.changesPktData) clearPktPointers(env.cur);
    env.clobberCallerSaved();
    env.markRegScratched(0);
    env.setReg(0, unknownScalar());
    return insn.pc + 1;
  }
  const callee = newFrame(depth, insn.pc, target);
  for (let i = 1; i <= 5; i++) callee.regs[i] = caller.regs[i]!;
  for (let i = 0; i <= 5; i++) caller.regs[i] = NOT_INIT;
  env.cur.frames.push(callee);
  if (env.log.level > 0) {
    env.verbose("caller:\n");
    env.verbose(frameLine(env, env.cur.frames.length - 2) + "\n");
    env.verbose("callee:\n");
    env.verbose(frameLine(env, env.cur.frames.length - 1) + "\n");
  }
  env.markAllScratched();
  return target;
}

function frameLine(env: Env, k: number): string {
  const f = env.cur.frames[k]!;
  let s = f.frameno ? ` frame${f.frameno}:` : "";
  for (let i = 0; i < 11; i++) {
    const r = f.regs[i]!;
    if (r.type !== "NOT_INIT") s += ` R${i}=${regStr(r, f.frameno)}`;
  }
  return s;
}

/** prepare_func_exit(): back to the caller; for callbacks, back to the helper call. */
export function funcExit(env: Env): number {
  const st = env.cur;
  const callee = curFrame(st);
  const r0 = callee.regs[0]!;
  if (r0.type === "PTR_TO_STACK") env.fail("cannot return stack pointer to the caller", EINVAL);
  // A callback's return value range is checked: it must stay exact.
  if (callee.inCallback && r0.type === "SCALAR_VALUE") env.markPrecise(0);
  st.frames.pop();
  const caller = curFrame(st);
  if (callee.inCallback) {
    if (r0.type !== "SCALAR_VALUE") env.fail("R0 not a scalar value", EACCES);
    if (r0.b.smin < 0n || r0.b.smax > 1n) {
      env.fail(`At callback return the register R0 has smin=${r0.b.smin} smax=${r0.b.smax} should have been in [0, 1]`, EINVAL);
    }
    env.markAllScratched();
    return callee.callbackCall;
  }
  caller.regs[0] = r0;
  env.markAllScratched();
  return callee.callsite + 1;
}

export { EFAULT, known };
