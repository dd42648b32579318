/**
 * The scanner of the filter language, with the semantics of libpcap 1.10's scanner.l:
 * at each position the longest match over all rules wins, and a tie goes to the
 * earlier rule (flex). The rules, in flex order:
 *
 *   keywords ("and"/"&&", "or"/"||", "not", "host", "tcp", ...)    -> their token
 *   [ \r\n\t]                                                       -> skipped
 *   + - * / % : [ ] ! < > ( ) & | ^ =   and  >= <= != == << >>       -> operators
 *   $B                                                              -> AID (ARCnet)
 *   MAC: B:B:B:B:B:B, B-B-..., B.B.B.B.B.B, XXXX.XXXX.XXXX, 12 hex  -> EID
 *   N: decimal, 0x hex, 0 octal (checked to fit 32 bits)            -> NUM
 *   N.N, N.N.N, N.N.N.N                                             -> HID
 *   IPv6 forms (8 groups, "::" compressed, embedded IPv4)          -> HID6
 *   B:+(B:+)+ (what a MAC address is not)                           -> "bogus ethernet address"
 *   icmptype, icmp-echo, tcpflags, tcp-syn, icmp6-echo, ...         -> NUM
 *   [A-Za-z0-9]([-_.A-Za-z0-9]*[.A-Za-z0-9])?                       -> ID
 *   \ followed by [^ !()\n\t]+                                      -> ID (without the backslash)
 *   any other character                                             -> LEX_ERROR
 *
 * So `tcp-syn` is a number, `10.0.0.1` a host, `8000-8100` an ID (a port range),
 * `112233445566` a MAC address and `ip proto tcp` a syntax error (`tcp` is a keyword;
 * `\tcp` is the name). Keywords are case-sensitive.
 */
import { FilterError } from "./errors.js";

/** Grammar terminals (grammar.y's %token names, lower-cased where they are keywords). */
export type TokenKind =
  | "NUM"
  | "ID"
  | "HID"
  | "HID6"
  | "EID"
  | "AID"
  | "EOF"
  | "LEX_ERROR"
  | Keyword
  | Punct;

export type Punct = "+" | "-" | "*" | "/" | "%" | ":" | "[" | "]" | "!" | "<" | ">" | "(" | ")" | "&" | "|" | "^" | "=" | ">=" | "<=" | "!=" | "<<" | ">>";

export type Keyword =
  | "DST" | "SRC" | "HOST" | "GATEWAY" | "NET" | "NETMASK" | "PORT" | "PORTRANGE" | "LESS" | "GREATER" | "PROTO" | "PROTOCHAIN" | "CBYTE"
  | "PNAME" | "TK_BROADCAST" | "TK_MULTICAST" | "AND" | "OR" | "LEN" | "INBOUND" | "OUTBOUND" | "IFINDEX"
  | "VLAN" | "MPLS" | "PPPOED" | "PPPOES" | "GENEVE" | "LLC"
  | "TYPE" | "SUBTYPE" | "DIR" | "ADDR1" | "ADDR2" | "ADDR3" | "ADDR4" | "RA" | "TA"
  | "PF_IFNAME" | "PF_RSET" | "PF_RNR" | "PF_SRNR" | "PF_REASON" | "PF_ACTION"
  | "ATM" | "MTP";

/** Protocol qualifiers (gencode.h Q_*), the value of a PNAME token. */
export const Q = {
  DEFAULT: 0, LINK: 1, IP: 2, ARP: 3, RARP: 4, SCTP: 5, TCP: 6, UDP: 7, ICMP: 8, IGMP: 9, IGRP: 10,
  ATALK: 11, DECNET: 12, LAT: 13, SCA: 14, MOPRC: 15, MOPDL: 16, IPV6: 17, ICMPV6: 18, AH: 19, ESP: 20,
  PIM: 21, VRRP: 22, AARP: 23, ISO: 24, ESIS: 25, ISIS: 26, CLNP: 27, STP: 28, IPX: 29, NETBEUI: 30,
  ISIS_L1: 31, ISIS_L2: 32, ISIS_IIH: 33, ISIS_SNP: 34, ISIS_CSNP: 35, ISIS_PSNP: 36, ISIS_LSP: 37, RADIO: 38, CARP: 39,
  UNDEF: 255,
} as const;

export interface Token {
  readonly kind: TokenKind;
  /** Source text (for ID/HID/...: the name; for `\name`: without the backslash). */
  readonly text: string;
  /** 0-based offset and length in the expression. */
  readonly pos: number;
  readonly len: number;
  /** NUM: the value (u32). PNAME: the Q_ protocol qualifier. */
  readonly value: number;
  /** A scanner error (bogus address, overflowing number) raised when the parser reads the token. */
  readonly error?: FilterError;
}

const KW: ReadonlyArray<readonly [string, Keyword, number?]> = [
  ["dst", "DST"], ["src", "SRC"],
  ["link", "PNAME", Q.LINK], ["ether", "PNAME", Q.LINK], ["ppp", "PNAME", Q.LINK], ["slip", "PNAME", Q.LINK],
  ["fddi", "PNAME", Q.LINK], ["tr", "PNAME", Q.LINK], ["wlan", "PNAME", Q.LINK],
  ["arp", "PNAME", Q.ARP], ["rarp", "PNAME", Q.RARP], ["ip", "PNAME", Q.IP], ["sctp", "PNAME", Q.SCTP], ["tcp", "PNAME", Q.TCP],
  ["udp", "PNAME", Q.UDP], ["icmp", "PNAME", Q.ICMP], ["igmp", "PNAME", Q.IGMP], ["igrp", "PNAME", Q.IGRP], ["pim", "PNAME", Q.PIM],
  ["vrrp", "PNAME", Q.VRRP], ["carp", "PNAME", Q.CARP], ["radio", "PNAME", Q.RADIO], ["ip6", "PNAME", Q.IPV6], ["icmp6", "PNAME", Q.ICMPV6],
  ["ah", "PNAME", Q.AH], ["esp", "PNAME", Q.ESP], ["atalk", "PNAME", Q.ATALK], ["aarp", "PNAME", Q.AARP], ["decnet", "PNAME", Q.DECNET],
  ["lat", "PNAME", Q.LAT], ["sca", "PNAME", Q.SCA], ["moprc", "PNAME", Q.MOPRC], ["mopdl", "PNAME", Q.MOPDL], ["iso", "PNAME", Q.ISO],
  ["esis", "PNAME", Q.ESIS], ["es-is", "PNAME", Q.ESIS], ["isis", "PNAME", Q.ISIS], ["is-is", "PNAME", Q.ISIS],
  ["l1", "PNAME", Q.ISIS_L1], ["l2", "PNAME", Q.ISIS_L2], ["iih", "PNAME", Q.ISIS_IIH], ["lsp", "PNAME", Q.ISIS_LSP],
  ["snp", "PNAME", Q.ISIS_SNP], ["csnp", "PNAME", Q.ISIS_CSNP], ["psnp", "PNAME", Q.ISIS_PSNP], ["clnp", "PNAME", Q.CLNP],
  ["stp", "PNAME", Q.STP], ["ipx", "PNAME", Q.IPX], ["netbeui", "PNAME", Q.NETBEUI],
  ["host", "HOST"], ["net", "NET"], ["mask", "NETMASK"], ["port", "PORT"], ["portrange", "PORTRANGE"], ["proto", "PROTO"],
  ["protochain", "PROTOCHAIN"], ["gateway", "GATEWAY"], ["type", "TYPE"], ["subtype", "SUBTYPE"], ["direction", "DIR"], ["dir", "DIR"],
  ["address1", "ADDR1"], ["addr1", "ADDR1"], ["address2", "ADDR2"], ["addr2", "ADDR2"], ["address3", "ADDR3"], ["addr3", "ADDR3"],
  ["address4", "ADDR4"], ["addr4", "ADDR4"], ["ra", "RA"], ["ta", "TA"], ["less", "LESS"], ["greater", "GREATER"], ["byte", "CBYTE"],
  ["broadcast", "TK_BROADCAST"], ["multicast", "TK_MULTICAST"], ["and", "AND"], ["&&", "AND"], ["or", "OR"], ["||", "OR"],
  ["len", "LEN"], ["length", "LEN"], ["inbound", "INBOUND"], ["outbound", "OUTBOUND"], ["ifindex", "IFINDEX"], ["vlan", "VLAN"],
  ["mpls", "MPLS"], ["pppoed", "PPPOED"], ["pppoes", "PPPOES"], ["geneve", "GENEVE"], ["llc", "LLC"],
  ["on", "PF_IFNAME"], ["ifname", "PF_IFNAME"], ["rset", "PF_RSET"], ["ruleset", "PF_RSET"], ["rnr", "PF_RNR"], ["rulenum", "PF_RNR"],
  ["srnr", "PF_SRNR"], ["subrulenum", "PF_SRNR"], ["reason", "PF_REASON"], ["action", "PF_ACTION"],
  // ATM and SS7 (MTP2/MTP3) primitives: recognised, so that they are keywords, not names.
  ...["lane", "metac", "bcc", "oam", "oamf4", "oamf4ec", "oamf4sc", "sc", "ilmic", "vpi", "vci", "connectmsg", "metaconnect"].map(
    (w) => [w, "ATM"] as const,
  ),
  ...["fisu", "lssu", "lsu", "msu", "hfisu", "hlssu", "hmsu", "sio", "opc", "dpc", "sls", "hsio", "hopc", "hdpc", "hsls"].map((w) => [w, "MTP"] as const),
];
/** The `not` keyword is the '!' token. */
const KEYWORDS: ReadonlyMap<string, { kind: TokenKind; value: number }> = new Map([
  ...KW.map(([w, kind, v]) => [w, { kind, value: v ?? 0 }] as const),
  ["not", { kind: "!" as TokenKind, value: 0 }],
]);

/** Named constants that scan as numbers. */
const NAMED: ReadonlyMap<string, number> = new Map([
  ["icmptype", 0], ["icmpcode", 1], ["icmp-echoreply", 0], ["icmp-unreach", 3], ["icmp-sourcequench", 4], ["icmp-redirect", 5],
  ["icmp-echo", 8], ["icmp-routeradvert", 9], ["icmp-routersolicit", 10], ["icmp-timxceed", 11], ["icmp-paramprob", 12],
  ["icmp-tstamp", 13], ["icmp-tstampreply", 14], ["icmp-ireq", 15], ["icmp-ireqreply", 16], ["icmp-maskreq", 17], ["icmp-maskreply", 18],
  ["icmp6type", 0], ["icmp6code", 1], ["icmp6-destinationunreach", 1], ["icmp6-packettoobig", 2], ["icmp6-timeexceeded", 3],
  ["icmp6-parameterproblem", 4], ["icmp6-echo", 128], ["icmp6-echoreply", 129], ["icmp6-multicastlistenerquery", 130],
  ["icmp6-multicastlistenerreportv1", 131], ["icmp6-multicastlistenerdone", 132], ["icmp6-routersolicit", 133],
  ["icmp6-routeradvert", 134], ["icmp6-neighborsolicit", 135], ["icmp6-neighboradvert", 136], ["icmp6-redirect", 137],
  ["icmp6-routerrenum", 138], ["icmp6-nodeinformationquery", 139], ["icmp6-nodeinformationresponse", 140],
  ["icmp6-ineighbordiscoverysolicit", 141], ["icmp6-ineighbordiscoveryadvert", 142], ["icmp6-multicastlistenerreportv2", 143],
  ["icmp6-homeagentdiscoveryrequest", 144], ["icmp6-homeagentdiscoveryreply", 145], ["icmp6-mobileprefixsolicit", 146],
  ["icmp6-mobileprefixadvert", 147], ["icmp6-certpathsolicit", 148], ["icmp6-certpathadvert", 149],
  ["icmp6-multicastrouteradvert", 151], ["icmp6-multicastroutersolicit", 152], ["icmp6-multicastrouterterm", 153],
  ["tcpflags", 13], ["tcp-fin", 0x01], ["tcp-syn", 0x02], ["tcp-rst", 0x04], ["tcp-push", 0x08], ["tcp-ack", 0x10],
  ["tcp-urg", 0x20], ["tcp-ece", 0x40], ["tcp-cwr", 0x80],
]);

const PUNCT1 = new Set("+-*/%:[]!<>()&|^=");
const PUNCT2: ReadonlyMap<string, Punct> = new Map([[">=", ">="], ["<=", "<="], ["!=", "!="], ["==", "="], ["<<", "<<"], [">>", ">>"]]);

// Regular expressions written so that the greedy JS match is flex's longest match.
const B = "[0-9A-Fa-f]{1,2}";
const B2 = "[0-9A-Fa-f]{4}";
const N = "(?:0[Xx][0-9A-Fa-f]+|[0-9]+)";
const W = "[0-9A-Fa-f]{1,4}";
const sticky = (src: string): RegExp => new RegExp(src, "y");
const RE_AID = sticky(`\\$${B}`);
const RE_MAC = [
  `${B}:${B}:${B}:${B}:${B}:${B}`, `${B}-${B}-${B}-${B}-${B}-${B}`, `${B}\\.${B}\\.${B}\\.${B}\\.${B}\\.${B}`, `${B2}\\.${B2}\\.${B2}`, `${B2}${B2}${B2}`,
].map(sticky);
const RE_NUM = sticky(N);
const RE_HID = [`${N}\\.${N}\\.${N}\\.${N}`, `${N}\\.${N}\\.${N}`, `${N}\\.${N}`].map(sticky);
const RE_V6 = ((): RegExp[] => {
  const ws = (n: number): string[] => Array.from({ length: n }, () => W);
  const v4 = `${N}\\.${N}\\.${N}\\.${N}`;
  const out: string[] = [ws(8).join(":")];
  // k groups with "::" at each of the k+1 places (V67x ... V600).
  for (let k = 7; k >= 0; k--) for (let x = 0; x <= k; x++) out.push(`${ws(x).join(":")}::${ws(k - x).join(":")}`);
  // Embedded IPv4: 6 groups, or k <= 5 groups with "::" somewhere.
  out.push(`${ws(6).join(":")}:${v4}`);
  for (let k = 5; k >= 0; k--) {
    for (let x = 0; x <= k; x++) {
      const right = ws(k - x).join(":");
      out.push(`${ws(x).join(":")}::${right}${right === "" ? "" : ":"}${v4}`);
    }
  }
  return out.map(sticky);
})();
const RE_BOGUS_MAC = sticky(`${B}:+(?:${B}:+)+`);
const RE_ID = sticky("[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?");
const RE_BACKSLASH = sticky("\\\\[^ !()\\n\\t]+");
const RE_NAMED = sticky("[a-z0-9-]+");

const matchLen = (re: RegExp, s: string, at: number): number => {
  re.lastIndex = at;
  const m = re.exec(s);
  return m === null ? 0 : m[0].length;
};
const longest = (res: readonly RegExp[], s: string, at: number): number => res.reduce((m, re) => Math.max(m, matchLen(re, s, at)), 0);

/** stou(): a NUM token's value, or the libpcap error for numbers that do not fit. */
function parseNumber(text: string): number | string {
  let n = 0;
  if (/^0[xX]/.test(text)) {
    for (const c of text.slice(2)) {
      if (n > 0xfffffff) return `number ${text} overflows 32 bits`;
      n = n * 16 + parseInt(c, 16);
    }
  } else if (text.startsWith("0")) {
    for (const c of text.slice(1)) {
      if (c > "7") return `number ${text} contains non-octal digit`;
      if (n > 0o3777777777) return `number ${text} overflows 32 bits`;
      n = n * 8 + Number(c);
    }
  } else {
    for (const c of text) {
      const d = Number(c);
      if (n > 429496729 || (n === 429496729 && d > 5)) return `number ${text} overflows 32 bits`;
      n = n * 10 + d;
    }
  }
  return n >>> 0;
}

/** inet_pton(AF_INET6) validity for a string that has the shape of an IPv6 address. */
export function parseIpv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  let s = text;
  const tail: number[] = [];
  const v4 = /(?:^|:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4 !== null) {
    const parts = v4.slice(1, 5).map((p) => (/^(0|[1-9]\d{0,2})$/.test(p) ? Number(p) : 256));
    if (parts.some((p) => p > 255)) return undefined;
    tail.push((parts[0]! << 8) | parts[1]!, (parts[2]! << 8) | parts[3]!);
    s = s.slice(0, s.length - v4[0].length + (v4[0].startsWith(":") ? 1 : 0));
    if (s.endsWith(":") && !s.endsWith("::")) s = s.slice(0, -1);
  } else if (/\./.test(s)) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const grp = (h: string): number[] | undefined => {
    if (h === "") return [];
    const g = h.split(":");
    if (g.some((x) => !/^[0-9A-Fa-f]{1,4}$/.test(x))) return undefined;
    return g.map((x) => parseInt(x, 16));
  };
  const left = grp(halves[0]!);
  const right = halves.length === 2 ? grp(halves[1]!) : [];
  if (left === undefined || right === undefined) return undefined;
  const r = [...right, ...tail];
  const total = left.length + r.length;
  if (halves.length === 2 ? total > 7 : total !== 8) return undefined;
  const words = [...left, ...new Array<number>(8 - total).fill(0), ...r];
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** Splits an expression into tokens (the last one is EOF). Never throws: scanner errors ride on their tokens. */
export function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  let at = 0;
  const tok = (kind: TokenKind, len: number, text = expr.slice(at, at + len), value = 0, error?: FilterError): Token =>
    error === undefined ? { kind, text, pos: at, len, value } : { kind, text, pos: at, len, value, error };
  while (at < expr.length) {
    const c = expr[at]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      at++;
      continue;
    }
    // Candidate lengths per rule, in flex rule order; the longest wins, the first on ties.
    let kwLen = 0;
    let kw: { kind: TokenKind; value: number } | undefined;
    for (let l = Math.min(expr.length - at, 12); l > 0; l--) {
      const k = KEYWORDS.get(expr.slice(at, at + l));
      if (k !== undefined) {
        kwLen = l;
        kw = k;
        break;
      }
    }
    const two = PUNCT2.get(expr.slice(at, at + 2));
    const namedLen = ((): number => {
      const l = matchLen(RE_NAMED, expr, at);
      for (let n = l; n > 0; n--) if (NAMED.has(expr.slice(at, at + n))) return n;
      return 0;
    })();
    const lens = [
      kwLen,
      PUNCT1.has(c) ? 1 : 0,
      two !== undefined ? 2 : 0,
      matchLen(RE_AID, expr, at),
      longest(RE_MAC, expr, at),
      matchLen(RE_NUM, expr, at),
      longest(RE_HID, expr, at),
      longest(RE_V6, expr, at),
      matchLen(RE_BOGUS_MAC, expr, at),
      namedLen,
      matchLen(RE_ID, expr, at),
      matchLen(RE_BACKSLASH, expr, at),
    ];
    let rule = -1;
    let len = 0;
    lens.forEach((l, i) => {
      if (l > len) {
        len = l;
        rule = i;
      }
    });
    if (rule < 0) {
      out.push(tok("LEX_ERROR", 1));
      at++;
      continue;
    }
    const text = expr.slice(at, at + len);
    const lexErr = (msg: string): FilterError => new FilterError("lexical", msg, expr, at, len);
    switch (rule) {
      case 0:
        out.push(tok(kw!.kind, len, text, kw!.value));
        break;
      case 1:
        out.push(tok(c as Punct, 1));
        break;
      case 2:
        out.push(tok(two!, 2));
        break;
      case 3:
        out.push(tok("AID", len, text.slice(1)));
        break;
      case 4:
        out.push(tok("EID", len));
        break;
      case 5: {
        const v = parseNumber(text);
        out.push(typeof v === "number" ? tok("NUM", len, text, v) : tok("LEX_ERROR", len, text, 0, lexErr(v)));
        break;
      }
      case 6:
        out.push(tok("HID", len));
        break;
      case 7:
        out.push(parseIpv6(text) !== undefined ? tok("HID6", len) : tok("HID6", len, text, 0, lexErr(`bogus IPv6 address ${text}`)));
        break;
      case 8:
        out.push(tok("EID", len, text, 0, lexErr(`bogus ethernet address ${text}`)));
        break;
      case 9:
        out.push(tok("NUM", len, text, NAMED.get(text)!));
        break;
      case 10:
        out.push(tok("ID", len));
        break;
      case 11:
        out.push(tok("ID", len, text.slice(1)));
        break;
    }
    at += len;
  }
  out.push({ kind: "EOF", text: "", pos: expr.length, len: 0, value: 0 });
  return out;
}
