/**
 * Code generation for arithmetic: packet loads `proto[expr:size]`, `len`, constants,
 * + - * / % & | ^ << >> and unary minus, and the relations between them; plus
 * `len`-based `less`/`greater` and `byte`. Follows gencode.c of libpcap 1.10
 * (gen_load, gen_arth, gen_neg, gen_loadi, gen_loadlen, gen_relation, gen_len,
 * gen_byteop): every intermediate value lives in a scratch register, so the
 * unoptimised code is long and the optimiser folds it.
 *
 * `tcp[...]`, `udp[...]`, `icmp[...]` and the other transport loads are IPv4 only and
 * first-fragment only; `icmp6[...]` is relative to a 40-byte IPv6 header.
 */
import * as C from "../constants.js";
import { Q } from "./lexer.js";
import { Block, Slist, genAnd, genNot, sappend } from "./ir.js";
import { GenState, block, genAbsOffsetVarpart, genCmp, genCmpGt, genCmpLt, genLoadxIphdrlen, stmt } from "./gencode.js";
import { genIpfrag, genProtoAbbrev } from "./gen-addr.js";

/** A value being computed: its code, the protocol checks it needs, and the register holding it. */
export interface Arth {
  b: Block | null;
  s: Slist;
  regno: number;
}

const xferToX = (a: Arth): Slist => stmt(C.BPF_LDX | C.BPF_MEM, a.regno);
const xferToA = (a: Arth): Slist => stmt(C.BPF_LD | C.BPF_MEM, a.regno);

/** gen_loadi(): a constant. */
export function genLoadi(g: GenState, val: number): Arth {
  const reg = g.allocReg();
  const s = stmt(C.BPF_LD | C.BPF_IMM, val);
  s.next = stmt(C.BPF_ST, reg);
  return { b: null, s, regno: reg };
}

/** gen_loadlen(): the wire length. */
export function genLoadlen(g: GenState): Arth {
  const reg = g.allocReg();
  const s = stmt(C.BPF_LD | C.BPF_LEN);
  s.next = stmt(C.BPF_ST, reg);
  return { b: null, s, regno: reg };
}

/** gen_load(): `proto[inst : size]`. */
export function genLoad(g: GenState, proto: number, inst: Arth, size: number): Arth {
  const regno = g.allocReg();
  g.freeReg(inst.regno);
  let sizeCode: number;
  switch (size) {
    case 1: sizeCode = C.BPF_B; break;
    case 2: sizeCode = C.BPF_H; break;
    case 4: sizeCode = C.BPF_W; break;
    default: return g.error("data size must be 1, 2, or 4");
  }
  /** X = inst (+ the variable part of the header offset), then A = P[X + k]. */
  const indirect = (varpart: Slist | null, k: number): void => {
    let s: Slist;
    if (varpart !== null) {
      s = varpart;
      sappend(s, xferToA(inst));
      sappend(s, stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_X));
      sappend(s, stmt(C.BPF_MISC | C.BPF_TAX));
    } else s = xferToX(inst);
    sappend(s, stmt(C.BPF_LD | C.BPF_IND | sizeCode, k));
    sappend(inst.s, s);
  };
  switch (proto) {
    case Q.RADIO:
      return g.error("radio information not present in capture");
    case Q.LINK:
      indirect(genAbsOffsetVarpart(g, g.offLinkhdr), g.offLinkhdr.constantPart);
      break;
    case Q.IP:
    case Q.ARP:
    case Q.RARP:
    case Q.ATALK:
    case Q.DECNET:
    case Q.SCA:
    case Q.LAT:
    case Q.MOPRC:
    case Q.MOPDL:
    case Q.IPV6: {
      indirect(genAbsOffsetVarpart(g, g.offLinkpl), (g.offLinkpl.constantPart + g.offNl) >>> 0);
      const b = genProtoAbbrev(g, proto);
      if (inst.b !== null) genAnd(inst.b, b);
      inst.b = b;
      break;
    }
    case Q.SCTP:
    case Q.TCP:
    case Q.UDP:
    case Q.ICMP:
    case Q.IGMP:
    case Q.IGRP:
    case Q.PIM:
    case Q.VRRP:
    case Q.CARP: {
      const s = genLoadxIphdrlen(g);
      sappend(s, xferToA(inst));
      sappend(s, stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_X));
      sappend(s, stmt(C.BPF_MISC | C.BPF_TAX));
      sappend(s, stmt(C.BPF_LD | C.BPF_IND | sizeCode, (g.offLinkpl.constantPart + g.offNl) >>> 0));
      sappend(inst.s, s);
      const b = genIpfrag(g);
      genAnd(genProtoAbbrev(g, proto), b);
      if (inst.b !== null) genAnd(inst.b, b);
      genAnd(genProtoAbbrev(g, Q.IP), b);
      inst.b = b;
      break;
    }
    case Q.ICMPV6: {
      let b = genProtoAbbrev(g, Q.IPV6);
      if (inst.b !== null) genAnd(inst.b, b);
      inst.b = b;
      b = genCmp(g, "linkpl", 6, C.BPF_B, 58);
      genAnd(inst.b, b);
      inst.b = b;
      indirect(genAbsOffsetVarpart(g, g.offLinkpl), (g.offLinkpl.constantPart + g.offNl + 40) >>> 0);
      break;
    }
    default:
      return g.error("unsupported index operation");
  }
  inst.regno = regno;
  sappend(inst.s, stmt(C.BPF_ST, regno));
  return inst;
}

/** gen_relation(): a0 <code> a1 (code: jgt/jge/jeq; `reversed` for <=, <, !=). */
export function genRelation(g: GenState, code: number, a0: Arth, a1: Arth, reversed: boolean): Block {
  const s0 = xferToX(a1);
  const s1 = xferToA(a0);
  let b: Block;
  if (code === C.BPF_JEQ) {
    b = block(C.BPF_JMP | code | C.BPF_K);
    sappend(s1, stmt(C.BPF_ALU | C.BPF_SUB | C.BPF_X));
  } else b = block(C.BPF_JMP | code | C.BPF_X);
  if (reversed) genNot(b);
  sappend(s0, s1);
  sappend(a1.s, s0);
  sappend(a0.s, a1.s);
  b.stmts = a0.s;
  g.freeReg(a0.regno);
  g.freeReg(a1.regno);
  let tmp: Block | null;
  if (a0.b !== null) {
    if (a1.b !== null) {
      genAnd(a0.b, a1.b);
      tmp = a1.b;
    } else tmp = a0.b;
  } else tmp = a1.b;
  if (tmp !== null) genAnd(tmp, b);
  return b;
}

/** gen_neg(): -a. */
export function genNeg(_g: GenState, a: Arth): Arth {
  sappend(a.s, xferToA(a));
  sappend(a.s, stmt(C.BPF_ALU | C.BPF_NEG));
  sappend(a.s, stmt(C.BPF_ST, a.regno));
  return a;
}

/** gen_arth(): a0 <op> a1 (op: a BPF_ALU operation). */
export function genArth(g: GenState, code: number, a0: Arth, a1: Arth): Arth {
  const first = a1.s.s;
  const constant = first.code === (C.BPF_LD | C.BPF_IMM);
  if (code === C.BPF_DIV && constant && first.k === 0) return g.error("division by zero");
  if (code === C.BPF_MOD && constant && first.k === 0) return g.error("modulus by zero");
  if ((code === C.BPF_LSH || code === C.BPF_RSH) && constant && first.k > 31) return g.error("shift by more than 31 bits");
  const s0 = xferToX(a1);
  const s1 = xferToA(a0);
  sappend(s1, stmt(C.BPF_ALU | C.BPF_X | code));
  sappend(s0, s1);
  sappend(a1.s, s0);
  sappend(a0.s, a1.s);
  g.freeReg(a0.regno);
  g.freeReg(a1.regno);
  const reg = g.allocReg();
  a0.regno = reg;
  sappend(a0.s, stmt(C.BPF_ST, reg));
  return a0;
}

function genLen(jmp: number, n: number): Block {
  const b = block(C.BPF_JMP | jmp | C.BPF_K, n);
  b.stmts = stmt(C.BPF_LD | C.BPF_W | C.BPF_LEN);
  return b;
}
/** `greater N`: len >= N. */
export const genGreater = (n: number): Block => genLen(C.BPF_JGE, n);
/** `less N`: len <= N. */
export function genLess(n: number): Block {
  const b = genLen(C.BPF_JGT, n);
  genNot(b);
  return b;
}

/** gen_byteop(): `byte IDX op VAL` on the link-layer header. */
export function genByteop(g: GenState, op: string, idx: number, val: number): Block {
  switch (op) {
    case "=":
      return genCmp(g, "linkhdr", idx, C.BPF_B, val);
    case "<":
      return genCmpLt(g, "linkhdr", idx, C.BPF_B, val);
    case ">":
      return genCmpGt(g, "linkhdr", idx, C.BPF_B, val);
  }
  // `&` and `|`: libpcap tests only the ALU result against 0, without loading the byte.
  const b = block(C.BPF_JMP | C.BPF_JEQ | C.BPF_K);
  b.stmts = stmt(C.BPF_ALU | (op === "|" ? C.BPF_OR : C.BPF_AND) | C.BPF_K, val);
  genNot(b);
  return b;
}

