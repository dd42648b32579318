/**
 * Code generation, core: the compiler state (link-layer offsets, scratch registers)
 * and the building blocks every primitive uses: loads relative to a header, compares,
 * and the link-layer type test. Follows gencode.c of libpcap 1.10 (gen_load_a,
 * gen_ncmp, gen_bcmp, gen_linktype, gen_ether_linktype, ...), so that the blocks, and
 * hence the optimised program, come out as libpcap's do.
 *
 * Link-layer types: Ethernet (EN10MB), RAW / IPV4 / IPV6 (no link header), NULL and
 * LOOP (4-byte address family), LINUX_SLL and LINUX_SLL2 (cooked captures); PPP only
 * as the inner link layer of `pppoes`. Code is generated as for a savefile (what
 * tcpdump -r does): no Linux ancillary loads, VLAN tags in the packet bytes.
 *
 * All offsets and constants are u32, as in the C code (an MPLS "offset -2" wraps).
 */
import * as C from "../constants.js";
import { FilterError } from "./errors.js";
import { Block, Slist, genAnd, genNot, genOr, sappend } from "./ir.js";
import * as N from "./names.js";

/** Link-layer types (LINKTYPE_ values of capture files). */
export const LT = { NULL: 0, EN10MB: 1, PPP: 9, RAW: 101, LOOP: 108, LINUX_SLL: 113, IPV4: 228, IPV6: 229, LINUX_SLL2: 276 } as const;

/** pcap_datalink_val_to_description() of the supported types. */
export const LINKTYPE_DESCRIPTION: Readonly<Record<number, string>> = {
  [LT.NULL]: "BSD loopback",
  [LT.EN10MB]: "Ethernet",
  [LT.PPP]: "PPP",
  [LT.RAW]: "Raw IP",
  [LT.LOOP]: "OpenBSD loopback",
  [LT.LINUX_SLL]: "Linux cooked v1",
  [LT.IPV4]: "Raw IPv4",
  [LT.IPV6]: "Raw IPv6",
  [LT.LINUX_SLL2]: "Linux cooked v2",
};

export const OFFSET_NOT_SET = 0xffffffff;
export const ETHERMTU = 1500;
const u32 = (v: number): number => v >>> 0;

/** An absolute offset: constant part plus, when variable, a value kept in scratch register `reg`. */
export interface AbsOffset {
  isVariable: boolean;
  constantPart: number;
  reg: number;
}

/** What an offset is relative to (gencode.c enum e_offrel). */
export type OffRel = "packet" | "linkhdr" | "prevlinkhdr" | "llc" | "prevmplshdr" | "linktype" | "linkpl" | "linkpl_nosnap" | "tran_ipv4" | "tran_ipv6";

export interface GenOptions {
  readonly linktype: number;
  readonly snaplen: number;
  /** The IPv4 netmask for `ip broadcast` (tcpdump -r uses 0). undefined: unknown. */
  readonly netmask: number | undefined;
  /** NULL link type: the address family field is big-endian in the file (a swapped savefile). */
  readonly nullBigEndian: boolean;
}

export class GenState {
  linktype: number;
  prevlinktype: number;
  readonly outermostlinktype: number;
  offLinkhdr: AbsOffset = { isVariable: false, constantPart: 0, reg: -1 };
  offPrevlinkhdr: AbsOffset = { isVariable: false, constantPart: 0, reg: -1 };
  offOutermostlinkhdr: AbsOffset = { isVariable: false, constantPart: 0, reg: -1 };
  offLinkpl: AbsOffset = { isVariable: false, constantPart: 0, reg: -1 };
  offLinktype: AbsOffset = { isVariable: false, constantPart: 0, reg: -1 };
  offNl = 0;
  offNlNosnap = 0;
  labelStackDepth = 0;
  vlanStackDepth = 0;
  readonly regused = new Array<boolean>(C.BPF_MEMWORDS).fill(false);
  curreg = 0;
  /** Set by protochain (a backward jump) and geneve (a block-local branch): no optimiser. */
  noOptimize = false;
  /** After `geneve`: the link layer is the encapsulated Ethernet frame. */
  isGeneve = false;
  /** Where the primitive being compiled is in the expression (for messages). */
  errPos = 0;
  errLen = 1;

  constructor(
    readonly expr: string,
    readonly opts: GenOptions,
  ) {
    this.linktype = this.prevlinktype = this.outermostlinktype = opts.linktype;
    const set = (linktype: number, linkpl: number, nl: number, nosnap: number): void => {
      this.offLinktype.constantPart = linktype;
      this.offLinkpl.constantPart = linkpl;
      this.offNl = nl;
      this.offNlNosnap = nosnap;
    };
    switch (opts.linktype) {
      case LT.EN10MB:
        set(12, 14, 0, 3);
        break;
      case LT.NULL:
      case LT.LOOP:
        set(0, 4, 0, 0);
        break;
      case LT.RAW:
      case LT.IPV4:
      case LT.IPV6:
        set(OFFSET_NOT_SET, 0, 0, 0);
        break;
      case LT.LINUX_SLL:
        set(14, 16, 0, 0);
        break;
      case LT.LINUX_SLL2:
        set(0, 20, 0, 0);
        break;
      default:
        throw new FilterError("unsupported", `link-layer type ${opts.linktype} is not supported by the filter compiler`, expr, 0, 0);
    }
  }

  /** bpf_error(): a semantic error at the current primitive. */
  error(message: string, reason: "semantic" | "unsupported" | "too_complex" = "semantic"): never {
    throw new FilterError(reason, message, this.expr, this.errPos, this.errLen);
  }

  get linktypeDescription(): string {
    return LINKTYPE_DESCRIPTION[this.linktype] ?? `DLT ${this.linktype}`;
  }

  /** alloc_reg(): the next free scratch register, searching round-robin from the last one. */
  allocReg(): number {
    for (let n = C.BPF_MEMWORDS; --n >= 0; ) {
      if (this.regused[this.curreg]) this.curreg = (this.curreg + 1) % C.BPF_MEMWORDS;
      else {
        this.regused[this.curreg] = true;
        return this.curreg;
      }
    }
    return this.error("too many registers needed to evaluate expression", "too_complex");
  }

  freeReg(n: number): void {
    this.regused[n] = false;
  }
}

export const stmt = (code: number, k = 0): Slist => new Slist(code, k);
export const block = (code: number, k = 0): Block => new Block(code, k);
const JMP = (op: number): number => op | C.BPF_JMP | C.BPF_K;

/** gen_abs_offset_varpart(): `ldx M[reg]` when the offset has a variable part. */
export function genAbsOffsetVarpart(g: GenState, off: AbsOffset): Slist | null {
  if (!off.isVariable) return null;
  if (off.reg === -1) off.reg = g.allocReg();
  return stmt(C.BPF_LDX | C.BPF_MEM, off.reg);
}

function genLoadAbsOffsetRel(g: GenState, off: AbsOffset, offset: number, size: number): Slist {
  const s = genAbsOffsetVarpart(g, off);
  if (s !== null) {
    sappend(s, stmt(C.BPF_LD | C.BPF_IND | size, u32(off.constantPart + offset)));
    return s;
  }
  return stmt(C.BPF_LD | C.BPF_ABS | size, u32(off.constantPart + offset));
}

/** gen_loadx_iphdrlen(): X = IPv4 header length (+ the variable part of the payload offset). */
export function genLoadxIphdrlen(g: GenState): Slist {
  const s = genAbsOffsetVarpart(g, g.offLinkpl);
  if (s !== null) {
    sappend(s, stmt(C.BPF_LD | C.BPF_IND | C.BPF_B, u32(g.offLinkpl.constantPart + g.offNl)));
    sappend(s, stmt(C.BPF_ALU | C.BPF_AND | C.BPF_K, 0xf));
    sappend(s, stmt(C.BPF_ALU | C.BPF_LSH | C.BPF_K, 2));
    sappend(s, stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_X));
    sappend(s, stmt(C.BPF_MISC | C.BPF_TAX));
    return s;
  }
  return stmt(C.BPF_LDX | C.BPF_MSH | C.BPF_B, u32(g.offLinkpl.constantPart + g.offNl));
}

/** gen_load_a(): A = the `size` field at `offset` from the header `rel`. */
export function genLoadA(g: GenState, rel: OffRel, offset: number, size: number): Slist {
  switch (rel) {
    case "packet":
      return stmt(C.BPF_LD | C.BPF_ABS | size, offset);
    case "linkhdr":
      return genLoadAbsOffsetRel(g, g.offLinkhdr, offset, size);
    case "prevlinkhdr":
      return genLoadAbsOffsetRel(g, g.offPrevlinkhdr, offset, size);
    case "llc":
      return genLoadAbsOffsetRel(g, g.offLinkpl, offset, size);
    case "prevmplshdr":
      return genLoadAbsOffsetRel(g, g.offLinkpl, u32(g.offNl - 4 + offset), size);
    case "linkpl":
      return genLoadAbsOffsetRel(g, g.offLinkpl, u32(g.offNl + offset), size);
    case "linkpl_nosnap":
      return genLoadAbsOffsetRel(g, g.offLinkpl, u32(g.offNlNosnap + offset), size);
    case "linktype":
      return genLoadAbsOffsetRel(g, g.offLinktype, offset, size);
    case "tran_ipv4": {
      const s = genLoadxIphdrlen(g);
      sappend(s, stmt(C.BPF_LD | C.BPF_IND | size, u32(g.offLinkpl.constantPart + g.offNl + offset)));
      return s;
    }
    case "tran_ipv6":
      return genLoadAbsOffsetRel(g, g.offLinkpl, u32(g.offNl + 40 + offset), size);
  }
}

/** gen_ncmp(): (field & mask) <jtype> v, reversed for `<`/`<=`. */
export function genNcmp(g: GenState, rel: OffRel, offset: number, size: number, mask: number, jtype: number, reverse: boolean, v: number): Block {
  const s = genLoadA(g, rel, offset, size);
  if (u32(mask) !== 0xffffffff) sappend(s, stmt(C.BPF_ALU | C.BPF_AND | C.BPF_K, mask));
  const b = block(JMP(jtype), v);
  b.stmts = s;
  if (reverse && (jtype === C.BPF_JGT || jtype === C.BPF_JGE)) genNot(b);
  return b;
}

export const genCmp = (g: GenState, rel: OffRel, off: number, size: number, v: number): Block => genNcmp(g, rel, off, size, 0xffffffff, C.BPF_JEQ, false, v);
export const genCmpGt = (g: GenState, rel: OffRel, off: number, size: number, v: number): Block => genNcmp(g, rel, off, size, 0xffffffff, C.BPF_JGT, false, v);
export const genCmpGe = (g: GenState, rel: OffRel, off: number, size: number, v: number): Block => genNcmp(g, rel, off, size, 0xffffffff, C.BPF_JGE, false, v);
export const genCmpLt = (g: GenState, rel: OffRel, off: number, size: number, v: number): Block => genNcmp(g, rel, off, size, 0xffffffff, C.BPF_JGE, true, v);
export const genCmpLe = (g: GenState, rel: OffRel, off: number, size: number, v: number): Block => genNcmp(g, rel, off, size, 0xffffffff, C.BPF_JGT, true, v);
export const genMcmp = (g: GenState, rel: OffRel, off: number, size: number, v: number, mask: number): Block => genNcmp(g, rel, off, size, mask, C.BPF_JEQ, false, v);

/** gen_bcmp(): compares `bytes` at `offset`, in words, then halfwords, then a byte, from the end. */
export function genBcmp(g: GenState, rel: OffRel, offset: number, bytes: Uint8Array): Block {
  let size = bytes.length;
  let b: Block | null = null;
  const be = (at: number, n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + bytes[at + i]!;
    return v;
  };
  const add = (tmp: Block): void => {
    if (b !== null) genAnd(b, tmp);
    b = tmp;
  };
  while (size >= 4) {
    add(genCmp(g, rel, offset + size - 4, C.BPF_W, be(size - 4, 4)));
    size -= 4;
  }
  while (size >= 2) {
    add(genCmp(g, rel, offset + size - 2, C.BPF_H, be(size - 2, 2)));
    size -= 2;
  }
  if (size > 0) add(genCmp(g, rel, offset, C.BPF_B, bytes[0]!));
  return b!;
}

/** gen_uncond(): `ld #!rsense; jeq #0`. */
function genUncond(rsense: boolean): Block {
  const b = block(JMP(C.BPF_JEQ));
  b.stmts = stmt(C.BPF_LD | C.BPF_IMM, rsense ? 0 : 1);
  return b;
}
export const genTrue = (): Block => genUncond(true);
export const genFalse = (): Block => genUncond(false);

/** gen_snap(): an 802.2 LLC + SNAP header with the given OUI and type. */
export function genSnap(g: GenState, orgcode: number, ptype: number): Block {
  const b = new Uint8Array([N.LLCSAP_SNAP, N.LLCSAP_SNAP, 0x03, orgcode >>> 16, orgcode >>> 8, orgcode, ptype >>> 8, ptype]);
  return genBcmp(g, "llc", 0, b);
}

function genEtherLinktype(g: GenState, llProto: number): Block {
  let b0: Block;
  let b1: Block;
  switch (llProto) {
    case N.LLCSAP_ISONS:
    case N.LLCSAP_IP:
    case N.LLCSAP_NETBEUI:
      b0 = genCmpGt(g, "linktype", 0, C.BPF_H, ETHERMTU);
      genNot(b0);
      b1 = genCmp(g, "llc", 0, C.BPF_H, (llProto << 8) | llProto);
      genAnd(b0, b1);
      return b1;
    case N.LLCSAP_IPX:
      b0 = genCmp(g, "llc", 0, C.BPF_B, N.LLCSAP_IPX);
      b1 = genCmp(g, "llc", 0, C.BPF_H, 0xffff);
      genOr(b0, b1);
      b0 = genSnap(g, 0x000000, N.ETHERTYPE_IPX);
      genOr(b0, b1);
      b0 = genCmpGt(g, "linktype", 0, C.BPF_H, ETHERMTU);
      genNot(b0);
      genAnd(b0, b1);
      b0 = genCmp(g, "linktype", 0, C.BPF_H, N.ETHERTYPE_IPX);
      genOr(b0, b1);
      return b1;
    case N.ETHERTYPE_ATALK:
    case N.ETHERTYPE_AARP:
      b0 = genCmpGt(g, "linktype", 0, C.BPF_H, ETHERMTU);
      genNot(b0);
      b1 = llProto === N.ETHERTYPE_ATALK ? genSnap(g, 0x080007, N.ETHERTYPE_ATALK) : genSnap(g, 0x000000, N.ETHERTYPE_AARP);
      genAnd(b0, b1);
      b0 = genCmp(g, "linktype", 0, C.BPF_H, llProto);
      genOr(b0, b1);
      return b1;
    default:
      if (llProto <= ETHERMTU) {
        b0 = genCmpGt(g, "linktype", 0, C.BPF_H, ETHERMTU);
        genNot(b0);
        b1 = genCmp(g, "linktype", 2, C.BPF_B, llProto);
        genAnd(b0, b1);
        return b1;
      }
      return genCmp(g, "linktype", 0, C.BPF_H, llProto);
  }
}

const LINUX_SLL_P_802_3 = 0x0001;
const LINUX_SLL_P_802_2 = 0x0004;

function genLinuxSllLinktype(g: GenState, llProto: number): Block {
  let b0: Block;
  let b1: Block;
  switch (llProto) {
    case N.LLCSAP_ISONS:
    case N.LLCSAP_IP:
    case N.LLCSAP_NETBEUI:
      b0 = genCmp(g, "linktype", 0, C.BPF_H, LINUX_SLL_P_802_2);
      b1 = genCmp(g, "llc", 0, C.BPF_H, (llProto << 8) | llProto);
      genAnd(b0, b1);
      return b1;
    case N.LLCSAP_IPX:
      b0 = genCmp(g, "llc", 0, C.BPF_B, N.LLCSAP_IPX);
      b1 = genSnap(g, 0x000000, N.ETHERTYPE_IPX);
      genOr(b0, b1);
      b0 = genCmp(g, "linktype", 0, C.BPF_H, LINUX_SLL_P_802_2);
      genAnd(b0, b1);
      b0 = genCmp(g, "linktype", 0, C.BPF_H, LINUX_SLL_P_802_3);
      genOr(b0, b1);
      b0 = genCmp(g, "linktype", 0, C.BPF_H, N.ETHERTYPE_IPX);
      genOr(b0, b1);
      return b1;
    case N.ETHERTYPE_ATALK:
    case N.ETHERTYPE_AARP:
      b0 = genCmp(g, "linktype", 0, C.BPF_H, LINUX_SLL_P_802_2);
      b1 = llProto === N.ETHERTYPE_ATALK ? genSnap(g, 0x080007, N.ETHERTYPE_ATALK) : genSnap(g, 0x000000, N.ETHERTYPE_AARP);
      genAnd(b0, b1);
      b0 = genCmp(g, "linktype", 0, C.BPF_H, llProto);
      genOr(b0, b1);
      return b1;
    default:
      if (llProto <= ETHERMTU) {
        b0 = genCmp(g, "linktype", 0, C.BPF_H, LINUX_SLL_P_802_2);
        b1 = genCmp(g, "linkhdr", g.offLinkpl.constantPart, C.BPF_B, llProto);
        genAnd(b0, b1);
        return b1;
      }
      return genCmp(g, "linktype", 0, C.BPF_H, llProto);
  }
}

const swap32 = (v: number): number => u32(((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24));

/** DLT_NULL: AF in the file's byte order, loaded big-endian; DLT_LOOP: AF in network order. */
function genLoopbackLinktype(g: GenState, af: number): Block {
  const v = g.linktype === LT.NULL && !g.opts.nullBigEndian ? swap32(af) : af;
  return genCmp(g, "linkhdr", 0, C.BPF_W, v);
}

const PPP_IP = 0x0021;
const PPP_OSI = 0x0023;
const PPP_NS = 0x0025;
const PPP_DECNET = 0x0027;
const PPP_APPLE = 0x0029;
const PPP_IPX = 0x002b;
const PPP_BRPDU = 0x0031;
const PPP_IPV6 = 0x0057;
export const PPP_MPLS_UCAST = 0x0281;

function ethertypeToPpptype(p: number): number {
  switch (p) {
    case N.ETHERTYPE_IP: return PPP_IP;
    case N.ETHERTYPE_IPV6: return PPP_IPV6;
    case N.ETHERTYPE_DN: return PPP_DECNET;
    case N.ETHERTYPE_ATALK: return PPP_APPLE;
    case N.ETHERTYPE_NS: return PPP_NS;
    case N.LLCSAP_ISONS: return PPP_OSI;
    case N.LLCSAP_8021D: return PPP_BRPDU;
    case N.LLCSAP_IPX: return PPP_IPX;
    default: return p;
  }
}

/** gen_mpls_linktype(): inside MPLS, IPv4/IPv6 by the bottom-of-stack bit and the version nibble. */
function genMplsLinktype(g: GenState, llProto: number): Block {
  if (llProto !== N.ETHERTYPE_IP && llProto !== N.ETHERTYPE_IPV6) return g.error("unsupported protocol over mpls");
  const b0 = genMcmp(g, "linkpl", u32(-2), C.BPF_B, 0x01, 0x01);
  const b1 = genMcmp(g, "linkpl", 0, C.BPF_B, llProto === N.ETHERTYPE_IP ? 0x40 : 0x60, 0xf0);
  genAnd(b0, b1);
  return b1;
}

const BSD_AFNUM_INET = 2;
const BSD_AFNUM_INET6 = [24, 28, 30] as const;

/** gen_linktype(): the packet's link-layer type is `llProto` (an Ethernet type, or an LLC SAP when <= 1500). */
export function genLinktype(g: GenState, llProto: number): Block {
  if (g.labelStackDepth > 0) return genMplsLinktype(g, llProto);
  switch (g.linktype) {
    case LT.EN10MB:
      // (gen_prevlinkhdr_check() adds nothing for the supported encapsulations, Geneve included.)
      return genEtherLinktype(g, llProto);
    case LT.LINUX_SLL:
      return genLinuxSllLinktype(g, llProto);
    case LT.RAW:
      if (llProto === N.ETHERTYPE_IP) return genMcmp(g, "linkhdr", 0, C.BPF_B, 0x40, 0xf0);
      if (llProto === N.ETHERTYPE_IPV6) return genMcmp(g, "linkhdr", 0, C.BPF_B, 0x60, 0xf0);
      return genFalse();
    case LT.IPV4:
      return llProto === N.ETHERTYPE_IP ? genTrue() : genFalse();
    case LT.IPV6:
      return llProto === N.ETHERTYPE_IPV6 ? genTrue() : genFalse();
    case LT.PPP:
      return genCmp(g, "linktype", 0, C.BPF_H, ethertypeToPpptype(llProto));
    case LT.NULL:
    case LT.LOOP:
      if (llProto === N.ETHERTYPE_IP) return genLoopbackLinktype(g, BSD_AFNUM_INET);
      if (llProto === N.ETHERTYPE_IPV6) {
        // A savefile may come from any BSD: all three AF_INET6 values.
        let b0 = genLoopbackLinktype(g, BSD_AFNUM_INET6[0]);
        const b1 = genLoopbackLinktype(g, BSD_AFNUM_INET6[1]);
        genOr(b0, b1);
        b0 = genLoopbackLinktype(g, BSD_AFNUM_INET6[2]);
        genOr(b0, b1);
        return b1;
      }
      return genFalse();
    default:
      // LINUX_SLL2 and the rest with a type field: an Ethernet type at off_linktype.
      if (g.offLinktype.constantPart !== OFFSET_NOT_SET) return genCmp(g, "linktype", 0, C.BPF_H, llProto);
      return g.error(`${g.linktypeDescription} link-layer type filtering not implemented`, "unsupported");
  }
}

/**
 * gen_prevlinkhdr_check(): inside Geneve, that there is an inner link-layer header (the
 * payload offset differs from the link header's); nothing otherwise.
 */
export function genPrevlinkhdrCheck(g: GenState): Block | null {
  if (!g.isGeneve) return null;
  const s = stmt(C.BPF_LD | C.BPF_MEM, g.offLinkhdr.reg);
  sappend(s, stmt(C.BPF_LDX | C.BPF_MEM, g.offLinkpl.reg));
  const b = block(C.BPF_JMP | C.BPF_JEQ | C.BPF_X);
  b.stmts = s;
  genNot(b);
  return b;
}

/** gen_llc_internal(): an 802.2 LLC frame (Ethernet: a length field, not NetWare 802.3). */
export function genLlc(g: GenState): Block {
  if (g.linktype !== LT.EN10MB) return g.error(`'llc' not supported for ${g.linktypeDescription}`);
  const b0 = genCmpGt(g, "linktype", 0, C.BPF_H, ETHERMTU);
  genNot(b0);
  const b1 = genCmp(g, "llc", 0, C.BPF_H, 0xffff);
  genNot(b1);
  genAnd(b0, b1);
  return b1;
}
