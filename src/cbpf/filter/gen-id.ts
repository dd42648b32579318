/**
 * Code generation for the "id" primitives: a name (gen_scode), a number or dotted
 * IPv4 address (gen_ncode), a network with a prefix length or mask (gen_mcode,
 * gen_mcode6) and a MAC address (gen_ecode), under the qualifiers in force. Follows
 * gencode.c and nametoaddr.c of libpcap 1.10, including their error messages.
 *
 * Name resolution is pluggable (FilterCompileOptions.resolveHost / resolveEther);
 * by default only `localhost` is known, as /etc/hosts has it on Debian, and no
 * Ethernet host names (/etc/ethers is absent there).
 */
import { Q, parseIpv6 } from "./lexer.js";
import { Block, genOr } from "./ir.js";
import { GenState, LT, OFFSET_NOT_SET } from "./gencode.js";
import { QA, type Qual, genEhostChecked, genHost, genHost6, genPortBoth, genPortrangeBoth, genProto, genProtochain, lookupProto } from "./gen-addr.js";
import * as N from "./names.js";

export interface Resolvers {
  /** Host name -> IPv4 (4 bytes) and IPv6 (16 bytes) addresses, in resolver order; undefined when unknown. */
  readonly resolveHost: (name: string) => readonly Uint8Array[] | undefined;
  /** Ethernet host name (/etc/ethers) -> 6 bytes. */
  readonly resolveEther: (name: string) => Uint8Array | undefined;
}

export const defaultResolvers: Resolvers = {
  resolveHost: (name) => (name === "localhost" ? [new Uint8Array([127, 0, 0, 1])] : undefined),
  resolveEther: () => undefined,
};

/** __pcap_atoin(): dotted decimal -> {value, bits}; bits < 0 for an invalid address (no hex, parts <= 255). */
export function atoin(s: string): { v: number; len: number } {
  let addr = 0;
  let len = 0;
  let i = 0;
  for (;;) {
    let n = 0;
    while (i < s.length && s[i] !== ".") {
      if (n > 25) return { v: 0, len: -1 };
      n = n * 10 + s.charCodeAt(i++) - 48;
    }
    if (n > 255) return { v: 0, len: -1 };
    addr = ((addr << 8) | (n & 0xff)) >>> 0;
    len += 8;
    if (i >= s.length) return { v: addr, len };
    i++;
  }
}

/** __pcap_atodn(): DECnet "area.node" -> 16-bit address (0 bits when malformed). */
function atodn(s: string): { v: number; len: number } {
  const m = /^\s*([+-]?\d+)\.([+-]?\d+)/.exec(s);
  if (m === null) return { v: 0, len: 0 };
  const area = Number(m[1]) >>> 0;
  const node = Number(m[2]) >>> 0;
  return { v: ((area << 10) & 0o176000) | (node & 0o1777), len: 32 };
}

/** pcap_ether_aton(): xx:xx:xx:xx:xx:xx and the other MAC spellings -> bytes. */
export function etherAton(s: string): Uint8Array {
  const out: number[] = [];
  const hex = (c: string | undefined): boolean => c !== undefined && /[0-9A-Fa-f]/.test(c);
  let i = 0;
  while (i < s.length) {
    if (s[i] === ":" || s[i] === "." || s[i] === "-") i++;
    let d = parseInt(s[i++] ?? "0", 16);
    if (hex(s[i])) d = (d << 4) | parseInt(s[i++]!, 16);
    out.push(d & 0xff);
  }
  return new Uint8Array(out.slice(0, 6));
}

const shl = (v: number, n: number): number => (n >= 32 ? 0 : (v << n) >>> 0);
const syntax = (g: GenState): never => g.error("syntax error in filter expression");

function portProto(g: GenState, proto: number, what: "port" | "portrange"): number {
  switch (proto) {
    case Q.UDP: return N.IPPROTO_UDP;
    case Q.TCP: return N.IPPROTO_TCP;
    case Q.SCTP: return N.IPPROTO_SCTP;
    case Q.DEFAULT: return N.PROTO_UNDEF;
    default: return g.error(`illegal qualifier of '${what}'`);
  }
}

/** Checks a named port's protocol against the qualifier (`tcp port domain` is fine; `udp port ssh` is not). */
function checkNamedProto(g: GenState, proto: number, realProto: number, what: string): number {
  const name = (p: number): string => (p === N.IPPROTO_TCP ? "tcp" : p === N.IPPROTO_UDP ? "udp" : "sctp");
  const want = proto === Q.UDP ? N.IPPROTO_UDP : proto === Q.TCP ? N.IPPROTO_TCP : proto === Q.SCTP ? N.IPPROTO_SCTP : undefined;
  if (want === undefined) return realProto;
  if (realProto !== N.PROTO_UNDEF && realProto !== want) return g.error(`${what} is ${name(realProto)}`);
  return want;
}

function checkPort(g: GenState, port: number): void {
  if (port < 0) g.error(`illegal port number ${port} < 0`);
  if (port > 65535) g.error(`illegal port number ${port} > 65535`);
}

/** gen_scode(): a name under the qualifiers. */
export function genScode(g: GenState, r: Resolvers, name: string, q: Qual): Block {
  const { proto, dir } = q;
  switch (q.addr) {
    case QA.NET: {
      let addr = N.nameToNet(name);
      if (addr === 0) return g.error(`unknown network '${name}'`);
      let mask = 0xffffffff;
      while (addr !== 0 && (addr & 0xff000000) === 0) {
        addr = shl(addr, 8);
        mask = shl(mask, 8);
      }
      return genHost(g, addr, mask, proto, dir, q.addr);
    }
    case QA.DEFAULT:
    case QA.HOST: {
      if (proto === Q.LINK) {
        if (g.linktype !== LT.EN10MB) return g.error("only ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel supports link-level host name");
        const e = r.resolveEther(name);
        if (e === undefined) return g.error(`unknown ether host '${name}'`);
        return genEhostChecked(g, e, dir);
      }
      if (proto === Q.DECNET) return g.error(`decnet name support not included, '${name}' cannot be translated`);
      const addrs = r.resolveHost(name);
      if (addrs === undefined || addrs.length === 0) return g.error(`unknown host '${name}'`);
      let tproto = proto;
      let tproto6 = proto;
      if (g.offLinktype.constantPart === OFFSET_NOT_SET && tproto === Q.DEFAULT) {
        tproto = Q.IP;
        tproto6 = Q.IPV6;
      }
      let b: Block | null = null;
      for (const a of addrs) {
        let tmp: Block;
        if (a.length === 4) {
          if (tproto === Q.IPV6) continue;
          const v = ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
          tmp = genHost(g, v, 0xffffffff, tproto, dir, q.addr);
        } else if (a.length === 16) {
          if (tproto6 === Q.IP) continue;
          tmp = genHost6(g, a, new Uint8Array(16).fill(0xff), tproto6, dir, q.addr);
        } else continue;
        if (b !== null) genOr(b, tmp);
        b = tmp;
      }
      if (b === null) return g.error(`unknown host '${name}'${proto === Q.DEFAULT ? "" : " for specified address family"}`);
      return b;
    }
    case QA.PORT: {
      if (proto !== Q.DEFAULT && proto !== Q.UDP && proto !== Q.TCP && proto !== Q.SCTP) return g.error("illegal qualifier of 'port'");
      const p = N.nameToPort(name);
      if (p === undefined) return g.error(`unknown port '${name}'`);
      const real = checkNamedProto(g, proto, p.proto, `port '${name}'`);
      checkPort(g, p.port);
      return genPortBoth(g, p.port, real, dir);
    }
    case QA.PORTRANGE: {
      if (proto !== Q.DEFAULT && proto !== Q.UDP && proto !== Q.TCP && proto !== Q.SCTP) return g.error("illegal qualifier of 'portrange'");
      const r2 = nameToPortrange(name);
      if (r2 === undefined) return g.error(`unknown port in range '${name}'`);
      const real = checkNamedProto(g, proto, r2.proto, `port in range '${name}'`);
      checkPort(g, r2.p1);
      checkPort(g, r2.p2);
      return genPortrangeBoth(g, r2.p1, r2.p2, real, dir);
    }
    case QA.GATEWAY:
      return g.error("'gateway' not supported in this configuration", "unsupported");
    case QA.PROTO: {
      const real = lookupProto(g, name, proto);
      if (real < 0) return g.error(`unknown protocol: ${name}`);
      return genProto(g, real, proto, dir);
    }
    case QA.PROTOCHAIN: {
      const real = lookupProto(g, name, proto);
      if (real < 0) return g.error(`unknown protocol: ${name}`);
      return genProtochain(g, real, proto);
    }
    default:
      return syntax(g);
  }
}

/** pcap_nametoportrange(): "N-M" (sscanf %d-%d) or "name-name". */
function nameToPortrange(name: string): { p1: number; p2: number; proto: number } | undefined {
  const m = /^\s*([+-]?\d+)-\s*([+-]?\d+)/.exec(name);
  if (m !== null) return { p1: Number(m[1]) | 0, p2: Number(m[2]) | 0, proto: N.PROTO_UNDEF };
  const dash = name.indexOf("-");
  if (dash < 0) return undefined;
  const a = N.nameToPort(name.slice(0, dash));
  if (a === undefined) return undefined;
  const b = N.nameToPort(name.slice(dash + 1));
  if (b === undefined) return undefined;
  return { p1: a.port, p2: b.port, proto: a.proto === b.proto ? b.proto : N.PROTO_UNDEF };
}

/** gen_ncode(): a number, or a dotted IPv4 address `s` (possibly abbreviated: `net 10.1`). */
export function genNcode(g: GenState, s: string | null, v: number, q: Qual): Block {
  const { proto, dir } = q;
  let vlen = 32;
  if (s !== null) {
    if (proto === Q.DECNET) {
      const d = atodn(s);
      if (d.len === 0) return g.error(`malformed decnet address '${s}'`);
      v = d.v;
      vlen = d.len;
    } else {
      const a = atoin(s);
      if (a.len < 0) return g.error(`invalid IPv4 address '${s}'`);
      v = a.v;
      vlen = a.len;
    }
  }
  switch (q.addr) {
    case QA.DEFAULT:
    case QA.HOST:
    case QA.NET: {
      if (proto === Q.DECNET) return genHost(g, v, 0, proto, dir, q.addr);
      if (proto === Q.LINK) return g.error("illegal link layer address");
      let mask = 0xffffffff;
      if (s === null && q.addr === QA.NET) {
        while (v !== 0 && (v & 0xff000000) === 0) {
          v = shl(v, 8);
          mask = shl(mask, 8);
        }
      } else {
        v = shl(v, 32 - vlen);
        mask = shl(mask, 32 - vlen);
      }
      return genHost(g, v, mask, proto, dir, q.addr);
    }
    case QA.PORT:
    case QA.PORTRANGE: {
      const what = q.addr === QA.PORT ? "port" : "portrange";
      const ipProto = portProto(g, proto, what);
      if (v > 65535) return g.error(`illegal port number ${v} > 65535`);
      return q.addr === QA.PORT ? genPortBoth(g, v, ipProto, dir) : genPortrangeBoth(g, v, v, ipProto, dir);
    }
    case QA.GATEWAY:
      return g.error("'gateway' requires a name");
    case QA.PROTO:
      return genProto(g, v, proto, dir);
    case QA.PROTOCHAIN:
      return genProtochain(g, v, proto);
    default:
      return syntax(g);
  }
}

/** gen_mcode(): `net A.B.C.D/len` or `net A.B.C.D mask M.M.M.M`. */
export function genMcode(g: GenState, s1: string, s2: string | null, masklen: number, q: Qual): Block {
  const a = atoin(s1);
  if (a.len < 0) return g.error(`invalid IPv4 address '${s1}'`);
  const n = shl(a.v, 32 - a.len);
  let m: number;
  if (s2 !== null) {
    const b = atoin(s2);
    if (b.len < 0) return g.error(`invalid IPv4 address '${s2}'`);
    m = shl(b.v, 32 - b.len);
    if ((n & ~m) !== 0) return g.error(`non-network bits set in "${s1} mask ${s2}"`);
  } else {
    if (masklen > 32) return g.error("mask length must be <= 32");
    m = masklen === 0 ? 0 : shl(0xffffffff, 32 - masklen);
    if ((n & ~m) !== 0) return g.error(`non-network bits set in "${s1}/${masklen}"`);
  }
  if (q.addr === QA.NET) return genHost(g, n, m, q.proto, q.dir, q.addr);
  return g.error("Mask syntax for networks only");
}

/** gen_mcode6(): an IPv6 address with a prefix length (128 for a host). */
export function genMcode6(g: GenState, s1: string, masklen: number, q: Qual): Block {
  const addr = parseIpv6(s1);
  if (addr === undefined) return g.error(`invalid ip6 address ${s1}`);
  if (masklen > 128) return g.error("mask length must be <= 128");
  const mask = new Uint8Array(16);
  mask.fill(0xff, 0, masklen >> 3);
  if (masklen % 8 !== 0) mask[masklen >> 3] = (0xff << (8 - (masklen % 8))) & 0xff;
  if (addr.some((b, i) => (b & ~mask[i]!) !== 0)) return g.error(`non-network bits set in "${s1}/${masklen}"`);
  if ((q.addr === QA.DEFAULT || q.addr === QA.HOST) && masklen !== 128) return g.error("Mask syntax for networks only");
  if (q.addr === QA.DEFAULT || q.addr === QA.HOST || q.addr === QA.NET) return genHost6(g, addr, mask, q.proto, q.dir, q.addr);
  return g.error("invalid qualifier against IPv6 address");
}

/** gen_ecode(): a MAC address (`ether host 00:11:...`, `ether src ...`). */
export function genEcode(g: GenState, s: string, q: Qual): Block {
  if ((q.addr === QA.HOST || q.addr === QA.DEFAULT) && q.proto === Q.LINK) {
    if (g.linktype !== LT.EN10MB) return g.error("ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel");
    return genEhostChecked(g, etherAton(s), q.dir);
  }
  return g.error("ethernet address used in non-ether expression");
}

/** gen_acode(): an ARCnet address, which Ethernet and the other supported link types do not have. */
export function genAcode(g: GenState): Block {
  return g.error("aid supported only on ARCnet");
}

