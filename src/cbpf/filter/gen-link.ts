/**
 * Code generation for link-layer primitives: broadcast and multicast, inbound /
 * outbound, ifindex, `vlan [id]`, `mpls [label]`, `pppoed`, `pppoes [id]` and `llc`.
 * Follows gencode.c of libpcap 1.10 for a savefile: VLAN tags are read from the packet
 * (no SKF_AD_VLAN_TAG_PRESENT), and `vlan`, `mpls` and `pppoes` move the offsets of
 * everything compiled after them, whatever the and/or/not around them, exactly as
 * libpcap does (`not vlan and tcp` looks for TCP four bytes further in).
 */
import * as C from "../constants.js";
import { Q } from "./lexer.js";
import { Block, genAnd, genNot, genOr, sappend, type Slist } from "./ir.js";
import { GenState, LT, PPP_MPLS_UCAST, block, genAbsOffsetVarpart, genCmp, genCmpGe, genLinktype, genLlc, genLoadA, genLoadxIphdrlen, genMcmp, genPrevlinkhdrCheck, genTrue, stmt } from "./gencode.js";
import { genEhostChecked, genPort, QD } from "./gen-addr.js";
import * as N from "./names.js";

const EBROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** gen_broadcast(): `[ether] broadcast` or `ip broadcast` (with the netmask). */
export function genBroadcast(g: GenState, proto: number): Block {
  switch (proto) {
    case Q.DEFAULT:
    case Q.LINK:
      if (g.linktype !== LT.EN10MB) return g.error("not a broadcast link");
      return genEhostChecked(g, EBROADCAST, QD.DST);
    case Q.IP: {
      if (g.opts.netmask === undefined) return g.error("netmask not known, so 'ip broadcast' not supported");
      const b0 = genLinktype(g, N.ETHERTYPE_IP);
      const hostmask = ~g.opts.netmask >>> 0;
      const b1 = genMcmp(g, "linkpl", 16, C.BPF_W, 0, hostmask);
      const b2 = genMcmp(g, "linkpl", 16, C.BPF_W, hostmask, hostmask);
      genOr(b1, b2);
      genAnd(b0, b2);
      return b2;
    }
    default:
      return g.error("only link-layer/IP broadcast filters supported");
  }
}

/** gen_multicast(): the group bit of the destination MAC, or IPv4 224/4 and up, or IPv6 ff00::/8. */
export function genMulticast(g: GenState, proto: number): Block {
  switch (proto) {
    case Q.DEFAULT:
    case Q.LINK: {
      if (g.linktype !== LT.EN10MB) break;
      const b1 = genPrevlinkhdrCheck(g);
      const b0 = block(C.BPF_JMP | C.BPF_JSET | C.BPF_K, 1);
      b0.stmts = genLoadA(g, "linkhdr", 0, C.BPF_B);
      if (b1 !== null) genAnd(b1, b0);
      return b0;
    }
    case Q.IP: {
      const b0 = genLinktype(g, N.ETHERTYPE_IP);
      const b1 = genCmpGe(g, "linkpl", 16, C.BPF_B, 224);
      genAnd(b0, b1);
      return b1;
    }
    case Q.IPV6: {
      const b0 = genLinktype(g, N.ETHERTYPE_IPV6);
      const b1 = genCmp(g, "linkpl", 24, C.BPF_B, 255);
      genAnd(b0, b1);
      return b1;
    }
  }
  return g.error("link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel");
}

const LINUX_SLL_OUTGOING = 4;

/** gen_inbound(): the packet direction, which only the cooked link types record in a savefile. */
export function genInbound(g: GenState, outbound: boolean): Block {
  let b0: Block;
  switch (g.linktype) {
    case LT.LINUX_SLL:
      b0 = genCmp(g, "linkhdr", 0, C.BPF_H, LINUX_SLL_OUTGOING);
      break;
    case LT.LINUX_SLL2:
      b0 = genCmp(g, "linkhdr", 10, C.BPF_B, LINUX_SLL_OUTGOING);
      break;
    default:
      return g.error(`inbound/outbound not supported on ${g.linktypeDescription} when reading savefiles`);
  }
  if (!outbound) genNot(b0);
  return b0;
}

/** gen_ifindex(): the interface index, recorded by LINUX_SLL2 only. */
export function genIfindex(g: GenState, ifindex: number): Block {
  if (g.linktype !== LT.LINUX_SLL2) return g.error(`ifindex not supported on ${g.linktypeDescription} when reading savefiles`);
  return genCmp(g, "linkhdr", 4, C.BPF_W, ifindex);
}

/** gen_vlan(): an 802.1Q / 802.1ad / QinQ tag (with VLAN ID `vlanNum`), then shifts every later offset by 4. */
export function genVlan(g: GenState, vlanNum: number, hasTag: boolean): Block {
  if (g.labelStackDepth > 0) return g.error("no VLAN match after MPLS");
  if (g.linktype !== LT.EN10MB) return g.error(`no VLAN support for ${g.linktypeDescription}`);
  let b0 = genLinktype(g, N.ETHERTYPE_8021Q);
  let b1 = genLinktype(g, N.ETHERTYPE_8021AD);
  genOr(b0, b1);
  b0 = b1;
  b1 = genLinktype(g, N.ETHERTYPE_8021QINQ);
  genOr(b0, b1);
  b0 = b1;
  if (hasTag) {
    if (vlanNum > 0x0fff) return g.error(`VLAN tag ${vlanNum} greater than maximum 4095`);
    const b = genMcmp(g, "linkpl", 0, C.BPF_H, vlanNum, 0x0fff);
    genAnd(b0, b);
    b0 = b;
  }
  g.offLinkpl.constantPart = (g.offLinkpl.constantPart + 4) >>> 0;
  g.offLinktype.constantPart = (g.offLinktype.constantPart + 4) >>> 0;
  g.vlanStackDepth++;
  return b0;
}

/** gen_mpls(): an MPLS label stack entry (with label `labelNum`), then moves the network layer 4 bytes in. */
export function genMpls(g: GenState, labelNum: number, hasLabel: boolean): Block {
  let b0: Block;
  if (g.labelStackDepth > 0) b0 = genMcmp(g, "prevmplshdr", 2, C.BPF_B, 0, 0x01);
  else if (g.linktype === LT.EN10MB) b0 = genLinktype(g, N.ETHERTYPE_MPLS);
  else if (g.linktype === LT.PPP) b0 = genLinktype(g, PPP_MPLS_UCAST);
  else return g.error(`no MPLS support for ${g.linktypeDescription}`);
  if (hasLabel) {
    if (labelNum > 0xfffff) return g.error(`MPLS label ${labelNum} greater than maximum 1048575`);
    const b1 = genMcmp(g, "linkpl", 0, C.BPF_W, (labelNum << 12) >>> 0, 0xfffff000);
    genAnd(b0, b1);
    b0 = b1;
  }
  g.offNlNosnap += 4;
  g.offNl += 4;
  g.labelStackDepth++;
  return b0;
}

export const genPppoed = (g: GenState): Block => genLinktype(g, N.ETHERTYPE_PPPOED);

/** gen_pppoes(): a PPPoE session frame (with session id); what follows is PPP inside it. */
export function genPppoes(g: GenState, sessNum: number, hasSess: boolean): Block {
  let b0 = genLinktype(g, N.ETHERTYPE_PPPOES);
  if (hasSess) {
    if (sessNum > 0xffff) return g.error(`PPPoE session number ${sessNum} greater than maximum 65535`);
    const b1 = genMcmp(g, "linkpl", 0, C.BPF_W, sessNum, 0x0000ffff);
    genAnd(b0, b1);
    b0 = b1;
  }
  // PUSH_LINKHDR(DLT_PPP, ...): the PPP header starts 6 bytes past the PPPoE header.
  g.prevlinktype = g.linktype;
  g.offPrevlinkhdr = { ...g.offLinkhdr };
  g.linktype = LT.PPP;
  g.isGeneve = false;
  g.offLinkhdr = { isVariable: g.offLinkpl.isVariable, constantPart: (g.offLinkpl.constantPart + g.offNl + 6) >>> 0, reg: g.offLinkpl.reg };
  g.offLinktype = { ...g.offLinkhdr };
  g.offLinkpl.constantPart = (g.offLinkhdr.constantPart + 2) >>> 0;
  g.offNl = 0;
  g.offNlNosnap = 0;
  return b0;
}

const LLC_S_FMT = 1;
const LLC_U_FMT = 3;
const LLC_S_CMD_MASK = 0x0f;
const LLC_U_CMD_MASK = 0xef;
const LLC_S: ReadonlyMap<string, number> = new Map([["rr", 0x0001], ["rnr", 0x0005], ["rej", 0x0009]]);
const LLC_U: ReadonlyMap<string, number> = new Map([
  ["ui", 0x03], ["ua", 0x63], ["disc", 0x43], ["dm", 0x0f], ["sabme", 0x6f], ["test", 0xe3], ["xid", 0xaf], ["frmr", 0x87],
]);

/** `llc`, `llc i|s|u`, `llc <S or U subtype>` (the name is checked first, as the grammar does). */
export function genLlcKind(g: GenState, kind: string | undefined): Block {
  const k = kind?.toLowerCase();
  if (k !== undefined && !["i", "s", "u"].includes(k) && !LLC_S.has(k) && !LLC_U.has(k)) return g.error(`unknown LLC type name "${kind}"`);
  const b0 = genLlc(g);
  if (k === undefined) return b0;
  let b1: Block;
  if (k === "i") {
    b1 = block(C.BPF_JMP | C.BPF_JSET | C.BPF_K, 0x01);
    b1.stmts = genLoadA(g, "llc", 2, C.BPF_B);
    genNot(b1);
  } else if (k === "s") b1 = genMcmp(g, "llc", 2, C.BPF_B, LLC_S_FMT, 0x03);
  else if (k === "u") b1 = genMcmp(g, "llc", 2, C.BPF_B, LLC_U_FMT, 0x03);
  else if (LLC_S.has(k)) b1 = genMcmp(g, "llc", 2, C.BPF_B, LLC_S.get(k)!, LLC_S_CMD_MASK);
  else b1 = genMcmp(g, "llc", 2, C.BPF_B, LLC_U.get(k)!, LLC_U_CMD_MASK);
  genAnd(b0, b1);
  return b1;
}

const GENEVE_PORT = 6081;
const ETHERTYPE_TEB = 0x6558;

/** gen_geneve_check(): UDP to port 6081, version 0, and the VNI when given. */
function genGeneveCheck(g: GenState, v6: boolean, vni: number, hasVni: boolean): Block {
  const rel = v6 ? "tran_ipv6" : "tran_ipv4";
  let b0 = genPort(g, GENEVE_PORT, N.IPPROTO_UDP, QD.DST, v6);
  let b1 = genMcmp(g, rel, 8, C.BPF_B, 0, 0xc0);
  genAnd(b0, b1);
  b0 = b1;
  if (hasVni) {
    if (vni > 0xffffff) return g.error(`Geneve VNI ${vni} greater than maximum 16777215`);
    b1 = genMcmp(g, rel, 12, C.BPF_W, (vni << 8) >>> 0, 0xffffff00);
    genAnd(b0, b1);
    b0 = b1;
  }
  return b0;
}

/**
 * gen_geneve(): a Geneve packet over IPv4 or IPv6 UDP (VNI `vni`); what follows applies to
 * the encapsulated frame, whose offsets are computed at run time into scratch registers
 * (so, as in libpcap, the optimiser is off).
 */
export function genGeneve(g: GenState, vni: number, hasVni: boolean): Block {
  // IPv4: X = IP header length; the jeq x (A = X) only leaves A = X for what follows.
  let b0 = genGeneveCheck(g, false, vni, hasVni);
  let s: Slist = genLoadxIphdrlen(g);
  sappend(s, stmt(C.BPF_MISC | C.BPF_TXA));
  let b1 = block(C.BPF_JMP | C.BPF_JEQ | C.BPF_X);
  b1.stmts = s;
  genAnd(b0, b1);
  const v4 = b1;
  b0 = genGeneveCheck(g, true, vni, hasVni);
  const vp = genAbsOffsetVarpart(g, g.offLinkpl);
  if (vp !== null) {
    sappend(vp, stmt(C.BPF_LD | C.BPF_IMM, 40));
    sappend(vp, stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_X));
    s = vp;
  } else s = stmt(C.BPF_LD | C.BPF_IMM, 40);
  sappend(s, stmt(C.BPF_MISC | C.BPF_TAX));
  b1 = block(C.BPF_JMP | C.BPF_JEQ | C.BPF_X);
  b1.stmts = s;
  genAnd(b0, b1);
  genOr(v4, b1);
  b0 = b1;
  // gen_geneve_offsets(): A = offset of the UDP header; compute the inner offsets.
  s = stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_K, (g.offLinkpl.constantPart + g.offNl + 8) >>> 0);
  sappend(s, stmt(C.BPF_MISC | C.BPF_TAX));
  sappend(s, stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_K, 2));
  g.offLinktype = { reg: g.allocReg(), isVariable: true, constantPart: 0 };
  sappend(s, stmt(C.BPF_ST, g.offLinktype.reg));
  sappend(s, stmt(C.BPF_LD | C.BPF_IND | C.BPF_B, 0));
  sappend(s, stmt(C.BPF_ALU | C.BPF_AND | C.BPF_K, 0x3f));
  sappend(s, stmt(C.BPF_ALU | C.BPF_MUL | C.BPF_K, 4));
  sappend(s, stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_K, 8));
  sappend(s, stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_X));
  // PUSH_LINKHDR(DLT_EN10MB, variable, 0, a new register)
  g.prevlinktype = g.linktype;
  g.offPrevlinkhdr = { ...g.offLinkhdr };
  g.linktype = LT.EN10MB;
  g.offLinkhdr = { isVariable: true, constantPart: 0, reg: g.allocReg() };
  sappend(s, stmt(C.BPF_ST, g.offLinkhdr.reg));
  g.noOptimize = true;
  sappend(s, stmt(C.BPF_LD | C.BPF_IND | C.BPF_H, 2));
  sappend(s, stmt(C.BPF_LDX | C.BPF_MEM, g.offLinkhdr.reg));
  const proto = stmt(C.BPF_JMP | C.BPF_JEQ | C.BPF_K, ETHERTYPE_TEB);
  sappend(s, proto);
  const txa = stmt(C.BPF_MISC | C.BPF_TXA);
  sappend(s, txa);
  proto.s.jt = txa;
  sappend(s, stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_K, 12));
  sappend(s, stmt(C.BPF_ST, g.offLinktype.reg));
  sappend(s, stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_K, 2));
  sappend(s, stmt(C.BPF_MISC | C.BPF_TAX));
  g.offLinkpl = { reg: g.allocReg(), isVariable: true, constantPart: 0 };
  const stx = stmt(C.BPF_STX, g.offLinkpl.reg);
  sappend(s, stx);
  proto.s.jf = stx;
  g.offNl = 0;
  b1 = genTrue();
  sappend(s, b1.stmts);
  b1.stmts = s;
  genAnd(b0, b1);
  g.isGeneve = true;
  return b1;
}
