/**
 * ALU instructions: check_alu_op(), adjust_reg_min_max_vals(),
 * adjust_ptr_min_max_vals() and check_reg_sane_offset() of kernel/bpf/verifier.c.
 * Scalar results come from bounds.ts; this file decides which operand is a
 * pointer, what pointer arithmetic is allowed, and how ids and fixed offsets move.
 */
import type { AluInsn, EndianInsn } from "../isa/index.js";
import {
  UNKNOWN, isConst, known, ptrAddSub, ptrBounds, scalarAlu, scalarNeg, signExtend, signExtend32, sminNum,
  sminUnbounded, sync, umaxNum, zext32, byteSwap, type ScalarAluOp,
} from "./bounds.js";
import { EACCES, EINVAL, type Env } from "./env.js";
import { tnumStr } from "./tnum.js";
import { isPktPointer, regTypeStr, scalarReg, withIdRange, withOff, unknownScalar, withBounds, withRegId, type Reg } from "./state.js";

const ALU_STR: Record<string, string> = {
  add: "+=", sub: "-=", mul: "*=", div: "/=", sdiv: "/=", or: "|=", and: "&=", lsh: "<<=", rsh: ">>=",
  neg: "neg", mod: "%=", smod: "%=", xor: "^=", mov: "=", movsx: "=", arsh: "s>>=",
};

/** BPF_MAX_VAR_OFF: bound on pointer offsets. */
export const BPF_MAX_VAR_OFF = 1 << 29;

/** Scalars moved between registers share an id, so a later comparison refines both (assign_scalar_id_before_mov()). */
function withId(env: Env, regno: number, r: Reg): Reg {
  if (r.type === "SCALAR_VALUE" && r.id === 0 && !isConst(r.b)) {
    const n = withRegId(r, env.newId());
    env.setReg(regno, n);
    return n;
  }
  return r;
}

export function checkAlu(env: Env, insn: AluInsn | EndianInsn): void {
  if (insn.kind === "end") return checkEndian(env, insn);
  const dstno = insn.dst;
  if (insn.op === "neg") {
    const d = env.readReg(dstno);
    env.checkWritable(dstno);
    if (d.type !== "SCALAR_VALUE") {
      if (!env.privileged) env.fail(`R${dstno} pointer arithmetic prohibited`, EACCES);
      env.setReg(dstno, insn.alu64 ? unknownScalar() : scalarReg(sync(zext32(UNKNOWN))));
      return;
    }
    env.setReg(dstno, scalarReg(scalarNeg(d.b, !insn.alu64)));
    return;
  }
  if (insn.op === "mov" || insn.op === "movsx") return checkMov(env, insn);
  let src: Reg;
  if (insn.src.kind === "reg") src = env.readReg(insn.src.reg);
  else src = env.immReg(insn.pc, insn.src.imm, insn.alu64);
  const dst = env.readReg(dstno);
  if ((insn.op === "div" || insn.op === "mod" || insn.op === "sdiv" || insn.op === "smod") && insn.src.kind === "imm" && insn.src.imm === 0) {
    env.fail("div by zero", EINVAL);
  }
  if ((insn.op === "lsh" || insn.op === "rsh" || insn.op === "arsh") && insn.src.kind === "imm") {
    const size = insn.alu64 ? 64 : 32;
    if (insn.src.imm < 0 || insn.src.imm >= size) env.fail(`invalid shift ${insn.src.imm}`, EINVAL);
  }
  env.checkWritable(dstno);
  if (dst.type !== "SCALAR_VALUE" && src.type !== "SCALAR_VALUE") {
    if (insn.op === "sub" && env.privileged) {
      env.setReg(dstno, unknownScalar());
      return;
    }
    env.fail(`R${dstno} pointer ${ALU_STR[insn.op]!} pointer prohibited`, EACCES);
  }
  if (dst.type !== "SCALAR_VALUE") {
    // pointer += scalar: the offset's exact range matters (mark_chain_precision()).
    if (insn.src.kind === "reg") env.markPrecise(insn.src.reg);
    env.setReg(dstno, adjustPtr(env, insn, dstno, dst, src, false));
    return;
  }
  if (src.type !== "SCALAR_VALUE") {
    env.markPrecise(dstno);
    env.setReg(dstno, adjustPtr(env, insn, dstno, src, dst, true));
    return;
  }
  const op = insn.op as ScalarAluOp | "div" | "mod" | "sdiv" | "smod";
  env.setReg(dstno, scalarReg(scalarAlu(op, dst.b, src.b, !insn.alu64)));
}

function checkEndian(env: Env, insn: EndianInsn): void {
  const d = env.readReg(insn.dst);
  env.checkWritable(insn.dst);
  if (d.type !== "SCALAR_VALUE") {
    if (!env.privileged) env.fail(`R${insn.dst} pointer arithmetic prohibited`, EACCES);
    env.setReg(insn.dst, unknownScalar());
    return;
  }
  // scalar_byte_swap(): bswap always reverses the bytes, to_be on tsbpf's
  // little-endian machine too; to_le only truncates. Anything that changes the
  // value breaks its ties to other registers (the scalar id).
  const swap = insn.order !== "le";
  if (!swap && insn.width === 64) {
    env.setReg(insn.dst, d);
    return;
  }
  env.setReg(insn.dst, scalarReg(byteSwap(d.b, insn.width, swap)));
}

function checkMov(env: Env, insn: AluInsn): void {
  const dstno = insn.dst;
  if (insn.src.kind === "imm") {
    env.checkWritable(dstno);
    env.setReg(dstno, env.immReg(insn.pc, insn.src.imm, insn.alu64));
    return;
  }
  const srcno = insn.src.reg;
  let src = env.readReg(srcno);
  env.checkWritable(dstno);
  const ext = insn.op === "movsx" ? (insn.extWidth ?? 8) : 0;
  if (src.type !== "SCALAR_VALUE") {
    if (insn.alu64 && ext === 0) {
      env.setReg(dstno, src);
      return;
    }
    if (!env.privileged) env.fail(insn.alu64 ? `R${srcno} sign-extension part of pointer` : `R${srcno} partial copy of pointer`, EACCES);
    env.setReg(dstno, insn.alu64 ? unknownScalar() : scalarReg(sync(zext32(UNKNOWN))));
    return;
  }
  if (insn.alu64) {
    if (ext === 0) {
      src = withId(env, srcno, src);
      env.setReg(dstno, src);
      return;
    }
    const noSext = umaxNum(src.b) < 2 ** (ext - 1);
    if (noSext) src = withId(env, srcno, src);
    env.setReg(dstno, scalarReg(signExtend(src.b, (ext / 8) as 1 | 2 | 4), noSext ? src.id : 0));
    return;
  }
  if (ext === 0) {
    const isU32 = src.b.umaxH === 0;
    if (isU32) src = withId(env, srcno, src);
    env.setReg(dstno, scalarReg(sync(zext32(src.b)), isU32 ? src.id : 0));
    return;
  }
  const noSext = umaxNum(src.b) < 2 ** (ext - 1);
  if (noSext) src = withId(env, srcno, src);
  env.setReg(dstno, scalarReg(signExtend32(src.b, (ext / 8) as 1 | 2), noSext ? src.id : 0));
}

/** check_reg_sane_offset(). */
function saneOffset(env: Env, r: Reg, ptr: Reg, isOffReg: boolean): void {
  const ptrType = (): string => regTypeStr(ptr);
  const knownVal = isConst(r.b);
  // smin as a double: exact below 2^53 and monotonic above; the bounds here are 2^29.
  const val = sminNum(r.b);
  if (isOffReg && knownVal && (val >= BPF_MAX_VAR_OFF || val <= -BPF_MAX_VAR_OFF)) {
    env.fail(`math between ${ptrType()} pointer and ${r.b.smin} is not allowed`, EACCES);
  }
  if (r.off >= BPF_MAX_VAR_OFF || r.off <= -BPF_MAX_VAR_OFF) env.fail(`${ptrType()} pointer offset ${r.off} is not allowed`, EACCES);
  if (sminUnbounded(r.b)) env.fail(`math between ${ptrType()} pointer and register with unbounded min value is not allowed`, EACCES);
  if (val >= BPF_MAX_VAR_OFF || val <= -BPF_MAX_VAR_OFF) {
    env.fail(`value ${r.b.smin} makes ${ptrType()} pointer be out of bounds`, EACCES);
  }
}

const s32fits = (x: number): boolean => x === (x | 0);

/**
 * adjust_ptr_min_max_vals(): ptr <op> off, the result going to `dstno`.
 * `reversed` is scalar += pointer.
 */
function adjustPtr(env: Env, insn: AluInsn, dstno: number, ptr: Reg, off: Reg, reversed: boolean): Reg {
  const ptrType = (): string => regTypeStr(ptr);
  if (!insn.alu64) {
    if (insn.op === "sub" && env.privileged) return scalarReg(sync(zext32(UNKNOWN)));
    env.fail(`R${dstno} 32-bit pointer arithmetic prohibited`, EACCES);
  }
  if (ptr.maybeNull) env.fail(`R${dstno} pointer arithmetic on ${ptrType()} prohibited, null-check it first`, EACCES);
  const offKnown = isConst(off.b);
  switch (ptr.type) {
    case "PTR_TO_CTX": case "PTR_TO_MAP_VALUE": case "PTR_TO_MAP_KEY": case "PTR_TO_STACK": case "PTR_TO_PACKET_META":
    case "PTR_TO_PACKET": case "PTR_TO_MEM": case "PTR_TO_FUNC":
      break;
    case "PTR_TO_FLOW_KEYS":
      if (offKnown) break;
      env.fail(`R${dstno} pointer arithmetic on ${ptrType()} prohibited`, EACCES);
      break;
    case "CONST_PTR_TO_MAP":
      if (offKnown && off.b.sminH === 0 && off.b.sminL === 0 && insn.op === "add") break;
      env.fail(`R${dstno} pointer arithmetic on ${ptrType()} prohibited`, EACCES);
      break;
    default:
      env.fail(`R${dstno} pointer arithmetic on ${ptrType()} prohibited`, EACCES);
  }
  saneOffset(env, off, ptr, true);
  saneOffset(env, ptr, ptr, false);
  // smin as a double: exact whenever it matters (|sv| < 2^32).
  const sv = sminNum(off.b);
  const svSmall = sv > -4294967296 && sv < 4294967296;
  let res: Reg;
  const pb = ptr.b;
  const ob = off.b;
  switch (insn.op) {
    case "add": {
      if (offKnown && svSmall && s32fits(ptr.off + sv)) {
        // | 0: an int32 (s32fits), kept a small integer (a Reg field holding a heap
        // number would change every register's hidden class).
        res = withOff(ptr, (ptr.off + sv) | 0);
        break;
      }
      res = withBounds(ptr, ptrAddSub(pb, ob, false));
      if (isPktPointer(ptr)) res = withIdRange(res, env.newId(), 0);
      break;
    }
    case "sub": {
      if (reversed) env.fail(`R${dstno} tried to subtract pointer from scalar`, EACCES);
      if (ptr.type === "PTR_TO_STACK") env.fail(`R${dstno} subtraction from stack pointer prohibited`, EACCES);
      if (offKnown && svSmall && s32fits(ptr.off - sv)) {
        res = withOff(ptr, (ptr.off - sv) | 0);
        break;
      }
      res = withBounds(ptr, ptrAddSub(pb, ob, true));
      if (isPktPointer(ptr)) res = withIdRange(res, env.newId(), sv < 0 ? 0 : ptr.range);
      break;
    }
    case "and": case "or": case "xor":
      env.fail(`R${dstno} bitwise operator ${ALU_STR[insn.op]} on pointer prohibited`, EACCES);
      break;
    default:
      env.fail(`R${dstno} pointer arithmetic with ${ALU_STR[insn.op]} operator prohibited`, EACCES);
  }
  saneOffset(env, res, ptr, false);
  // Pointers carry no 32-bit bounds.
  res = withBounds(res, ptrBounds(res.b));
  if (!env.privileged) sanitizeCheckBounds(env, dstno, res);
  return res;
}

/** sanitize_check_bounds(): unprivileged pointer arithmetic must stay in bounds. */
function sanitizeCheckBounds(env: Env, dstno: number, r: Reg): void {
  if (r.type === "PTR_TO_STACK") {
    // check_stack_access_for_ptr_arithmetic() gets off = reg->off + var_off.value (as an int).
    const off = Number(BigInt.asIntN(32, BigInt(r.off) + r.b.var.value));
    if (!isConst(r.b)) {
      env.fail(`R${dstno} variable stack access prohibited for !root, var_off=${tnumStr(r.b.var)} off=${off}`, EACCES);
    }
    if (off >= 0 || off < -512) {
      env.fail(`R${dstno} stack pointer arithmetic goes out of range, prohibited for !root; off=${off}`, EACCES);
    }
  } else if (r.type === "PTR_TO_MAP_VALUE" && r.map !== undefined) {
    const lo = BigInt(r.off) + r.b.smin;
    const hi = BigInt(r.off) + r.b.umax;
    if (lo < 0n || hi >= BigInt(r.map.spec.valueSize) + 1n) {
      env.fail(`R${dstno} pointer arithmetic of map value goes out of range, prohibited for !root`, EACCES);
    }
  }
}

export { known };
