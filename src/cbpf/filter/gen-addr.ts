/**
 * Code generation for addresses and protocols: hosts and networks (IPv4, IPv6,
 * Ethernet, DECnet), ports and port ranges, `proto`, `protochain` and the protocol
 * abbreviations (`tcp`, `ip6`, ...). Follows gencode.c of libpcap 1.10: gen_host,
 * gen_hostop, gen_host6, gen_ehostop, gen_port, gen_portrange, gen_proto,
 * gen_protochain, gen_proto_abbrev, gen_scode, gen_ncode, gen_mcode, gen_mcode6,
 * gen_ecode, with their error messages.
 *
 * Notable libpcap semantics kept here: `port`/`portrange` test TCP, UDP and SCTP over
 * IPv4 (first fragments only) and IPv6 (next header only, no extension headers);
 * `ip6 proto N` also looks behind one fragment header; `host` without a protocol means
 * IPv4, ARP and RARP; a name that resolves to several addresses tests each of them.
 */
import * as C from "../constants.js";
import { Q } from "./lexer.js";
import { Block, Slist, genAnd, genNot, genOr } from "./ir.js";
import { GenState, block, genBcmp, genPrevlinkhdrCheck, genCmp, genCmpGe, genCmpLe, genLinktype, genLoadA, genMcmp, stmt } from "./gencode.js";
import * as N from "./names.js";

/** Address qualifiers (gencode.h). */
export const QA = { DEFAULT: 0, HOST: 1, NET: 2, PORT: 3, GATEWAY: 4, PROTO: 5, PROTOCHAIN: 6, PORTRANGE: 7, UNDEF: 255 } as const;
/** Direction qualifiers. */
export const QD = { DEFAULT: 0, SRC: 1, DST: 2, OR: 3, AND: 4, ADDR1: 5, ADDR2: 6, ADDR3: 7, ADDR4: 8, RA: 9, TA: 10, UNDEF: 255 } as const;

export interface Qual {
  readonly addr: number;
  readonly proto: number;
  readonly dir: number;
}
export const QERR: Qual = { addr: QA.UNDEF, proto: Q.UNDEF, dir: QD.UNDEF };

/** Keyword of each protocol qualifier, for messages. */
export const PROTO_NAME: Readonly<Record<number, string>> = {
  [Q.LINK]: "link", [Q.IP]: "ip", [Q.ARP]: "arp", [Q.RARP]: "rarp", [Q.SCTP]: "sctp", [Q.TCP]: "tcp", [Q.UDP]: "udp", [Q.ICMP]: "icmp",
  [Q.IGMP]: "igmp", [Q.IGRP]: "igrp", [Q.ATALK]: "atalk", [Q.DECNET]: "decnet", [Q.LAT]: "lat", [Q.SCA]: "sca", [Q.MOPRC]: "moprc",
  [Q.MOPDL]: "mopdl", [Q.IPV6]: "ip6", [Q.ICMPV6]: "icmp6", [Q.AH]: "ah", [Q.ESP]: "esp", [Q.PIM]: "pim", [Q.VRRP]: "vrrp",
  [Q.AARP]: "aarp", [Q.ISO]: "iso", [Q.ESIS]: "esis", [Q.ISIS]: "isis", [Q.CLNP]: "clnp", [Q.STP]: "stp", [Q.IPX]: "ipx",
  [Q.NETBEUI]: "netbeui", [Q.ISIS_L1]: "l1", [Q.ISIS_L2]: "l2", [Q.ISIS_IIH]: "iih", [Q.ISIS_SNP]: "snp", [Q.ISIS_CSNP]: "csnp",
  [Q.ISIS_PSNP]: "psnp", [Q.ISIS_LSP]: "lsp", [Q.RADIO]: "radio", [Q.CARP]: "carp",
};

const IPPROTO = { ICMP: 1, IGMP: 2, IGRP: 9, TCP: 6, UDP: 17, FRAGMENT: 44, ROUTING: 43, HOPOPTS: 0, DSTOPTS: 60, NONE: 59, ESP: 50, AH: 51, ICMPV6: 58, PIM: 103, VRRP: 112, SCTP: 132 } as const;
const ISO = { CLNP: 0x81, ESIS: 0x82, ISIS: 0x83 } as const;
const ISIS_PDU = { L1_LAN_IIH: 15, L2_LAN_IIH: 16, PTP_IIH: 17, L1_LSP: 18, L2_LSP: 20, L1_CSNP: 24, L2_CSNP: 25, L1_PSNP: 26, L2_PSNP: 27 } as const;

function dirError(g: GenState, dir: number, what: string): never {
  switch (dir) {
    case QD.ADDR1: return g.error(`'addr1' and 'address1' are not valid qualifiers for ${what}`);
    case QD.ADDR2: return g.error(`'addr2' and 'address2' are not valid qualifiers for ${what}`);
    case QD.ADDR3: return g.error(`'addr3' and 'address3' are not valid qualifiers for ${what}`);
    case QD.ADDR4: return g.error(`'addr4' and 'address4' are not valid qualifiers for ${what}`);
    case QD.RA: return g.error(`'ra' is not a valid qualifier for ${what}`);
    default: return g.error(`'ta' is not a valid qualifier for ${what}`);
  }
}

/**
 * The src/dst/and/or pattern shared by hosts and ports: `one(d)` generates the test
 * for a single direction (SRC or DST).
 */
function byDir(g: GenState, dir: number, what: string, one: (d: typeof QD.SRC | typeof QD.DST) => Block): Block {
  switch (dir) {
    case QD.SRC:
    case QD.DST:
      return one(dir);
    case QD.AND: {
      const b0 = one(QD.SRC);
      const b1 = one(QD.DST);
      genAnd(b0, b1);
      return b1;
    }
    case QD.DEFAULT:
    case QD.OR: {
      const b0 = one(QD.SRC);
      const b1 = one(QD.DST);
      genOr(b0, b1);
      return b1;
    }
    default:
      return dirError(g, dir, what);
  }
}

function genHostop(g: GenState, addr: number, mask: number, dir: number, llProto: number, srcOff: number, dstOff: number): Block {
  return byDir(g, dir, "addresses other than 802.11 MAC addresses", (d) => {
    const b0 = genLinktype(g, llProto);
    const b1 = genMcmp(g, "linkpl", d === QD.SRC ? srcOff : dstOff, C.BPF_W, addr, mask);
    genAnd(b0, b1);
    return b1;
  });
}

const word = (b: Uint8Array, i: number): number => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

function genHostop6(g: GenState, addr: Uint8Array, mask: Uint8Array, dir: number, llProto: number, srcOff: number, dstOff: number): Block {
  return byDir(g, dir, "addresses other than 802.11 MAC addresses", (d) => {
    const off = d === QD.SRC ? srcOff : dstOff;
    // Last word first: "this order is important" (gencode.c).
    const b1 = genMcmp(g, "linkpl", off + 12, C.BPF_W, word(addr, 12), word(mask, 12));
    let b0 = genMcmp(g, "linkpl", off + 8, C.BPF_W, word(addr, 8), word(mask, 8));
    genAnd(b0, b1);
    b0 = genMcmp(g, "linkpl", off + 4, C.BPF_W, word(addr, 4), word(mask, 4));
    genAnd(b0, b1);
    b0 = genMcmp(g, "linkpl", off, C.BPF_W, word(addr, 0), word(mask, 0));
    genAnd(b0, b1);
    b0 = genLinktype(g, llProto);
    genAnd(b0, b1);
    return b1;
  });
}

/** gen_ehostop() preceded by gen_prevlinkhdr_check() (inside Geneve: there is an inner Ethernet header). */
export function genEhostChecked(g: GenState, eaddr: Uint8Array, dir: number): Block {
  const tmp = genPrevlinkhdrCheck(g);
  const b = genEhostop(g, eaddr, dir);
  if (tmp !== null) genAnd(tmp, b);
  return b;
}

/** gen_ehostop(): Ethernet source/destination address. */
export function genEhostop(g: GenState, eaddr: Uint8Array, dir: number): Block {
  if (dir >= QD.ADDR1 && dir <= QD.TA) {
    const name = ["addr1' and 'address1", "addr2' and 'address2", "addr3' and 'address3", "addr4' and 'address4", "ra", "ta"][dir - QD.ADDR1];
    return g.error(`'${name}' ${dir >= QD.RA ? "is" : "are"} only supported on 802.11 with 802.11 headers`);
  }
  return byDir(g, dir, "", (d) => genBcmp(g, "linkhdr", d === QD.SRC ? 6 : 0, eaddr));
}

function genDnhostop(g: GenState, addr: number, dir: number): Block {
  const swap16 = (v: number): number => ((v & 0xff) << 8) | ((v >> 8) & 0xff);
  return byDir(g, dir, "addresses other than 802.11 MAC addresses", (d) => {
    const [offSh, offLh] = d === QD.DST ? [1, 7] : [3, 15];
    const a = swap16(addr & 0xffff);
    const b0 = genLinktype(g, N.ETHERTYPE_DN);
    let tmp = genMcmp(g, "linkpl", 2, C.BPF_H, swap16(0x0681), swap16(0x07ff));
    const b1 = genCmp(g, "linkpl", 2 + 1 + offLh, C.BPF_H, a);
    genAnd(tmp, b1);
    tmp = genMcmp(g, "linkpl", 2, C.BPF_B, 0x06, 0x7);
    let b2 = genCmp(g, "linkpl", 2 + offLh, C.BPF_H, a);
    genAnd(tmp, b2);
    genOr(b2, b1);
    tmp = genMcmp(g, "linkpl", 2, C.BPF_H, swap16(0x0281), swap16(0x07ff));
    b2 = genCmp(g, "linkpl", 2 + 1 + offSh, C.BPF_H, a);
    genAnd(tmp, b2);
    genOr(b2, b1);
    tmp = genMcmp(g, "linkpl", 2, C.BPF_B, 0x02, 0x7);
    b2 = genCmp(g, "linkpl", 2 + offSh, C.BPF_H, a);
    genAnd(tmp, b2);
    genOr(b2, b1);
    genAnd(b0, b1);
    return b1;
  });
}

/** gen_host(): an IPv4 (or DECnet) host or network under protocol qualifier `proto`. */
export function genHost(g: GenState, addr: number, mask: number, proto: number, dir: number, type: number): Block {
  const typestr = type === QA.NET ? "net" : "host";
  switch (proto) {
    case Q.DEFAULT: {
      let b0 = genHost(g, addr, mask, Q.IP, dir, type);
      if (g.labelStackDepth === 0) {
        const b1 = genHost(g, addr, mask, Q.ARP, dir, type);
        genOr(b0, b1);
        b0 = genHost(g, addr, mask, Q.RARP, dir, type);
        genOr(b1, b0);
      }
      return b0;
    }
    case Q.LINK:
      return g.error(`link-layer modifier applied to ${typestr}`);
    case Q.IP:
      return genHostop(g, addr, mask, dir, N.ETHERTYPE_IP, 12, 16);
    case Q.RARP:
      return genHostop(g, addr, mask, dir, N.ETHERTYPE_REVARP, 14, 24);
    case Q.ARP:
      return genHostop(g, addr, mask, dir, N.ETHERTYPE_ARP, 14, 24);
    case Q.DECNET:
      return genDnhostop(g, addr, dir);
    case Q.IPV6:
      return g.error("'ip6' modifier applied to ip host");
    case Q.ATALK: return g.error("AppleTalk host filtering not implemented");
    case Q.LAT: return g.error("LAT host filtering not implemented");
    case Q.SCA: return g.error("SCA host filtering not implemented");
    case Q.MOPRC: return g.error("MOPRC host filtering not implemented");
    case Q.MOPDL: return g.error("MOPDL host filtering not implemented");
    case Q.AARP: return g.error("AARP host filtering not implemented");
    case Q.ISO: return g.error("ISO host filtering not implemented");
    case Q.IPX: return g.error("IPX host filtering not implemented");
    default:
      return g.error(`'${PROTO_NAME[proto] ?? "?"}' modifier applied to ${typestr}`);
  }
}

/** gen_host6(): an IPv6 host or network. */
export function genHost6(g: GenState, addr: Uint8Array, mask: Uint8Array, proto: number, dir: number, type: number): Block {
  const typestr = type === QA.NET ? "net" : "host";
  switch (proto) {
    case Q.DEFAULT:
    case Q.IPV6:
      return genHostop6(g, addr, mask, dir, N.ETHERTYPE_IPV6, 8, 24);
    case Q.LINK:
      return g.error(`link-layer modifier applied to ip6 ${typestr}`);
    case Q.ATALK:
      return g.error(`AppleTalk modifier applied to ip6 ${typestr}`);
    default:
      return g.error(`'${PROTO_NAME[proto] ?? "?"}' modifier applied to ip6 ${typestr}`);
  }
}

/** gen_ipfrag(): not a non-first IPv4 fragment (`ldh [off]; jset #0x1fff`, inverted). */
export function genIpfrag(g: GenState): Block {
  const b = block(C.BPF_JMP | C.BPF_JSET | C.BPF_K, 0x1fff);
  b.stmts = genLoadA(g, "linkpl", 6, C.BPF_H);
  genNot(b);
  return b;
}

type PortAtom = (g: GenState, off: number) => Block;

function genPortop(g: GenState, proto: number, dir: number, v6: boolean, what: string, atom: PortAtom): Block {
  let b0: Block;
  if (v6) b0 = genCmp(g, "linkpl", 6, C.BPF_B, proto);
  else {
    const tmp = genCmp(g, "linkpl", 9, C.BPF_B, proto);
    b0 = genIpfrag(g);
    genAnd(tmp, b0);
  }
  const b1 = byDir(g, dir, what, (d) => atom(g, d === QD.SRC ? 0 : 2));
  genAnd(b0, b1);
  return b1;
}

function genPortGeneric(g: GenState, ipProto: number, dir: number, v6: boolean, what: string, atom: PortAtom): Block {
  const b0 = genLinktype(g, v6 ? N.ETHERTYPE_IPV6 : N.ETHERTYPE_IP);
  let b1: Block;
  if (ipProto === N.PROTO_UNDEF) {
    let tmp = genPortop(g, IPPROTO.TCP, dir, v6, what, atom);
    b1 = genPortop(g, IPPROTO.UDP, dir, v6, what, atom);
    genOr(tmp, b1);
    tmp = genPortop(g, IPPROTO.SCTP, dir, v6, what, atom);
    genOr(tmp, b1);
  } else b1 = genPortop(g, ipProto, dir, v6, what, atom);
  genAnd(b0, b1);
  return b1;
}

/** gen_port() (IPv4) or gen_port6() (IPv6) alone. */
export function genPort(g: GenState, port: number, ipProto: number, dir: number, v6: boolean): Block {
  return genPortGeneric(g, ipProto, dir, v6, "ports", (g2, off) => genCmp(g2, v6 ? "tran_ipv6" : "tran_ipv4", off, C.BPF_H, port));
}

/** `port N` for IPv4 then IPv6: gen_port() || gen_port6(). */
export function genPortBoth(g: GenState, port: number, ipProto: number, dir: number): Block {
  const b = genPort(g, port, ipProto, dir, false);
  genOr(genPort(g, port, ipProto, dir, true), b);
  return b;
}

function rangeAtom(rel: "tran_ipv4" | "tran_ipv6", p1: number, p2: number): PortAtom {
  const [lo, hi] = p1 > p2 ? [p2, p1] : [p1, p2];
  return (g, off) => {
    const b1 = genCmpGe(g, rel, off, C.BPF_H, lo);
    const b2 = genCmpLe(g, rel, off, C.BPF_H, hi);
    genAnd(b1, b2);
    return b2;
  };
}

/** `portrange A-B` for IPv4 then IPv6. */
export function genPortrangeBoth(g: GenState, p1: number, p2: number, ipProto: number, dir: number): Block {
  const b = genPortGeneric(g, ipProto, dir, false, "port ranges", rangeAtom("tran_ipv4", p1, p2));
  genOr(genPortGeneric(g, ipProto, dir, true, "port ranges", rangeAtom("tran_ipv6", p1, p2)), b);
  return b;
}

/** gen_proto(): protocol `v` inside `proto` (ip: the protocol field; ip6: the next header, also behind a fragment header). */
export function genProto(g: GenState, v: number, proto: number, dir: number): Block {
  if (dir !== QD.DEFAULT) return g.error("direction applied to 'proto'");
  switch (proto) {
    case Q.DEFAULT: {
      const b0 = genProto(g, v, Q.IP, dir);
      const b1 = genProto(g, v, Q.IPV6, dir);
      genOr(b0, b1);
      return b1;
    }
    case Q.LINK:
      return genLinktype(g, v);
    case Q.IP: {
      const b0 = genLinktype(g, N.ETHERTYPE_IP);
      const b1 = genCmp(g, "linkpl", 9, C.BPF_B, v);
      genAnd(b0, b1);
      return b1;
    }
    case Q.IPV6: {
      const b0 = genLinktype(g, N.ETHERTYPE_IPV6);
      let b2 = genCmp(g, "linkpl", 6, C.BPF_B, IPPROTO.FRAGMENT);
      const b1 = genCmp(g, "linkpl", 40, C.BPF_B, v);
      genAnd(b2, b1);
      b2 = genCmp(g, "linkpl", 6, C.BPF_B, v);
      genOr(b2, b1);
      genAnd(b0, b1);
      return b1;
    }
    case Q.ISO: {
      const b0 = genLinktype(g, N.LLCSAP_ISONS);
      const b1 = genCmp(g, "linkpl_nosnap", 0, C.BPF_B, v);
      genAnd(b0, b1);
      return b1;
    }
    case Q.ISIS: {
      const b0 = genProto(g, ISO.ISIS, Q.ISO, QD.DEFAULT);
      const b1 = genCmp(g, "linkpl_nosnap", 4, C.BPF_B, v);
      genAnd(b0, b1);
      return b1;
    }
    case Q.ARP: return g.error("arp does not encapsulate another protocol");
    case Q.RARP: return g.error("rarp does not encapsulate another protocol");
    case Q.ATALK: return g.error("AppleTalk encapsulation is not specifiable");
    case Q.DECNET: return g.error("DECNET encapsulation is not specifiable");
    case Q.LAT: return g.error("LAT does not encapsulate another protocol");
    case Q.SCA: return g.error("SCA does not encapsulate another protocol");
    case Q.MOPRC: return g.error("MOPRC does not encapsulate another protocol");
    case Q.MOPDL: return g.error("MOPDL does not encapsulate another protocol");
    case Q.CLNP: return g.error("'clnp proto' is not supported");
    default:
      return g.error(`'${PROTO_NAME[proto] ?? "?"} proto' is bogus`);
  }
}

/** gen_protochain(): follows IPv6 extension headers and IPv4/IPv6 AH headers (a loop: the optimiser is turned off). */
export function genProtochain(g: GenState, v: number, proto: number): Block {
  const reg2 = g.allocReg();
  if (proto === Q.DEFAULT) {
    const b0 = genProtochain(g, v, Q.IP);
    const b = genProtochain(g, v, Q.IPV6);
    genOr(b0, b);
    return b;
  }
  if (proto !== Q.IP && proto !== Q.IPV6) return g.error("bad protocol applied for 'protochain'");
  if (g.offLinkpl.isVariable) return g.error("'protochain' not supported with variable length headers");
  g.noOptimize = true;
  const base = g.offLinkpl.constantPart + g.offNl;
  const s: Slist[] = [stmt(0)]; // s[0]: a dummy, as in gencode.c
  const add = (x: Slist): Slist => {
    s.push(x);
    return x;
  };
  const jeq = (k: number): Slist => add(stmt(C.BPF_JMP | C.BPF_JEQ | C.BPF_K, k));
  let b0: Block;
  if (proto === Q.IP) {
    b0 = genLinktype(g, N.ETHERTYPE_IP);
    add(stmt(C.BPF_LD | C.BPF_ABS | C.BPF_B, base + 9)); // A = ip->ip_p
    add(stmt(C.BPF_LDX | C.BPF_MSH | C.BPF_B, base)); // X = ip_hl << 2
  } else {
    b0 = genLinktype(g, N.ETHERTYPE_IPV6);
    add(stmt(C.BPF_LD | C.BPF_ABS | C.BPF_B, base + 6)); // A = ip6->ip6_nxt
    add(stmt(C.BPF_LDX | C.BPF_IMM, 40)); // X = sizeof(struct ip6_hdr)
  }
  const again = s.length;
  const fix5 = jeq(v); // again: if (A == v) goto end
  const fix2 = jeq(IPPROTO.NONE); // if (A == IPPROTO_NONE) goto end
  fix5.s.jf = fix2;
  let fix3: Slist | undefined;
  if (proto === Q.IPV6) {
    const hdrs = [IPPROTO.HOPOPTS, IPPROTO.DSTOPTS, IPPROTO.ROUTING, IPPROTO.FRAGMENT].map((k) => jeq(k));
    fix2.s.jf = hdrs[0]!;
    for (let j = 0; j < 3; j++) hdrs[j]!.s.jf = hdrs[j + 1]!;
    fix3 = hdrs[3]!;
    // v6advance: A = P[X + head]; M[reg2] = A; X += (P[X + head + 1] + 1) * 8; A = M[reg2]
    const v6advance = add(stmt(C.BPF_LD | C.BPF_IND | C.BPF_B, base));
    add(stmt(C.BPF_ST, reg2));
    add(stmt(C.BPF_LD | C.BPF_IND | C.BPF_B, base + 1));
    add(stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_K, 1));
    add(stmt(C.BPF_ALU | C.BPF_MUL | C.BPF_K, 8));
    add(stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_X, 0));
    add(stmt(C.BPF_MISC | C.BPF_TAX));
    const ld = add(stmt(C.BPF_LD | C.BPF_MEM, reg2));
    ld.s.jf = add(stmt(C.BPF_JMP | C.BPF_JA, (again - s.length - 1) >>> 0)); // goto again (backward)
    for (const h of hdrs) h.s.jt = v6advance;
  } else {
    fix2.s.jf = add(stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_K, 0)); // nop
  }
  // ahcheck: if (A == IPPROTO_AH) fall through, else goto end
  const fix4 = jeq(IPPROTO.AH);
  if (fix3 !== undefined) fix3.s.jf = fix4;
  fix4.s.jt = add(stmt(C.BPF_MISC | C.BPF_TXA)); // A = X
  add(stmt(C.BPF_LD | C.BPF_IND | C.BPF_B, base)); // A = P[X + head]
  const st = add(stmt(C.BPF_ST, reg2));
  st.s.jt = add(stmt(C.BPF_MISC | C.BPF_TXA));
  add(stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_K, 1));
  add(stmt(C.BPF_MISC | C.BPF_TAX));
  add(stmt(C.BPF_LD | C.BPF_IND | C.BPF_B, base));
  add(stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_K, 2));
  add(stmt(C.BPF_ALU | C.BPF_MUL | C.BPF_K, 4));
  add(stmt(C.BPF_MISC | C.BPF_TAX));
  add(stmt(C.BPF_LD | C.BPF_MEM, reg2));
  add(stmt(C.BPF_JMP | C.BPF_JA, (again - s.length - 1) >>> 0));
  const end = add(stmt(C.BPF_ALU | C.BPF_ADD | C.BPF_K, 0)); // end: nop
  fix2.s.jt = end;
  fix4.s.jf = end;
  fix5.s.jt = end;
  for (let i = 0; i < s.length - 1; i++) s[i]!.next = s[i + 1]!;
  const b = block(C.BPF_JMP | C.BPF_JEQ | C.BPF_K, v);
  b.stmts = s[1]!;
  g.freeReg(reg2);
  genAnd(b0, b);
  return b;
}

/** gen_proto_abbrev(): a bare protocol name (`tcp`, `ip6`, `stp`, ...). */
export function genProtoAbbrev(g: GenState, proto: number): Block {
  const or = (...bs: Block[]): Block => {
    let b1 = bs[1]!;
    genOr(bs[0]!, b1);
    for (const b of bs.slice(2)) {
      genOr(b, b1);
    }
    return b1;
  };
  const isis = (...pdus: number[]): Block => {
    const bs: Block[] = [];
    // Generated in the order of the C code: first two, then each of the rest.
    for (const p of pdus) bs.push(genProto(g, p, Q.ISIS, QD.DEFAULT));
    return bs.length === 1 ? bs[0]! : or(...bs);
  };
  switch (proto) {
    case Q.SCTP: return genProto(g, IPPROTO.SCTP, Q.DEFAULT, QD.DEFAULT);
    case Q.TCP: return genProto(g, IPPROTO.TCP, Q.DEFAULT, QD.DEFAULT);
    case Q.UDP: return genProto(g, IPPROTO.UDP, Q.DEFAULT, QD.DEFAULT);
    case Q.ICMP: return genProto(g, IPPROTO.ICMP, Q.IP, QD.DEFAULT);
    case Q.IGMP: return genProto(g, IPPROTO.IGMP, Q.IP, QD.DEFAULT);
    case Q.IGRP: return genProto(g, IPPROTO.IGRP, Q.IP, QD.DEFAULT);
    case Q.PIM: return genProto(g, IPPROTO.PIM, Q.DEFAULT, QD.DEFAULT);
    case Q.VRRP:
    case Q.CARP: return genProto(g, IPPROTO.VRRP, Q.IP, QD.DEFAULT);
    case Q.IP: return genLinktype(g, N.ETHERTYPE_IP);
    case Q.ARP: return genLinktype(g, N.ETHERTYPE_ARP);
    case Q.RARP: return genLinktype(g, N.ETHERTYPE_REVARP);
    case Q.LINK: return g.error("link layer applied in wrong context");
    case Q.ATALK: return genLinktype(g, N.ETHERTYPE_ATALK);
    case Q.AARP: return genLinktype(g, N.ETHERTYPE_AARP);
    case Q.DECNET: return genLinktype(g, N.ETHERTYPE_DN);
    case Q.SCA: return genLinktype(g, N.ETHERTYPE_SCA);
    case Q.LAT: return genLinktype(g, N.ETHERTYPE_LAT);
    case Q.MOPDL: return genLinktype(g, N.ETHERTYPE_MOPDL);
    case Q.MOPRC: return genLinktype(g, N.ETHERTYPE_MOPRC);
    case Q.IPV6: return genLinktype(g, N.ETHERTYPE_IPV6);
    case Q.ICMPV6: return genProto(g, IPPROTO.ICMPV6, Q.IPV6, QD.DEFAULT);
    case Q.AH: return genProto(g, IPPROTO.AH, Q.DEFAULT, QD.DEFAULT);
    case Q.ESP: return genProto(g, IPPROTO.ESP, Q.DEFAULT, QD.DEFAULT);
    case Q.ISO: return genLinktype(g, N.LLCSAP_ISONS);
    case Q.ESIS: return genProto(g, ISO.ESIS, Q.ISO, QD.DEFAULT);
    case Q.ISIS: return genProto(g, ISO.ISIS, Q.ISO, QD.DEFAULT);
    case Q.ISIS_L1: return isis(ISIS_PDU.L1_LAN_IIH, ISIS_PDU.PTP_IIH, ISIS_PDU.L1_LSP, ISIS_PDU.L1_CSNP, ISIS_PDU.L1_PSNP);
    case Q.ISIS_L2: return isis(ISIS_PDU.L2_LAN_IIH, ISIS_PDU.PTP_IIH, ISIS_PDU.L2_LSP, ISIS_PDU.L2_CSNP, ISIS_PDU.L2_PSNP);
    case Q.ISIS_IIH: return isis(ISIS_PDU.L1_LAN_IIH, ISIS_PDU.L2_LAN_IIH, ISIS_PDU.PTP_IIH);
    case Q.ISIS_LSP: return isis(ISIS_PDU.L1_LSP, ISIS_PDU.L2_LSP);
    case Q.ISIS_SNP: return isis(ISIS_PDU.L1_CSNP, ISIS_PDU.L2_CSNP, ISIS_PDU.L1_PSNP, ISIS_PDU.L2_PSNP);
    case Q.ISIS_CSNP: return isis(ISIS_PDU.L1_CSNP, ISIS_PDU.L2_CSNP);
    case Q.ISIS_PSNP: return isis(ISIS_PDU.L1_PSNP, ISIS_PDU.L2_PSNP);
    case Q.CLNP: return genProto(g, ISO.CLNP, Q.ISO, QD.DEFAULT);
    case Q.STP: return genLinktype(g, N.LLCSAP_8021D);
    case Q.IPX: return genLinktype(g, N.LLCSAP_IPX);
    case Q.NETBEUI: return genLinktype(g, N.LLCSAP_NETBEUI);
    case Q.RADIO: return g.error("'radio' is not a valid protocol type");
    default: return g.error("unknown protocol qualifier");
  }
}

/** lookup_proto(): a protocol name under `proto` (ip/ip6: /etc/protocols; ether: libpcap's tables). */
export function lookupProto(g: GenState, name: string, proto: number): number {
  switch (proto) {
    case Q.DEFAULT:
    case Q.IP:
    case Q.IPV6: {
      const v = N.nameToProto(name);
      return v ?? g.error(`unknown ip proto '${name}'`);
    }
    case Q.LINK: {
      const v = N.nameToEtherProto(name) ?? N.nameToLlc(name);
      return v ?? g.error(`unknown ether proto '${name}'`);
    }
    case Q.ISO:
      if (name === "esis") return ISO.ESIS;
      if (name === "isis") return ISO.ISIS;
      if (name === "clnp") return ISO.CLNP;
      return g.error(`unknown osi proto '${name}'`);
    default:
      return N.PROTO_UNDEF;
  }
}

