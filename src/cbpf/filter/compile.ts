/**
 * The filter compiler's driver, libpcap's pcap_compile(): scan, parse, generate code
 * (a post-order walk of the syntax tree, i.e. the order of the grammar's semantic
 * actions), close the expression with `ret #snaplen` / `ret #0`, optimise, lay out.
 *
 * Qualifier inheritance (`host a or b`, `tcp port 80 or 443`, `not host a and b`)
 * follows grammar.y's `$<blk>0`: an id after `and`/`or` takes the qualifiers of the
 * value on its left; a parenthesised term takes those in force before the paren, so
 * `host a and (port 80) or b` means `... or host b`.
 */
import * as C from "../constants.js";
import type { SockFilter } from "../constants.js";
import { FilterError } from "./errors.js";
import { tokenize, type Token } from "./lexer.js";
import { Parser, type ArithNode, type ExprNode, type IdNode, type Span } from "./parser.js";
import { Block, finishParse, genAnd, genNot, genOr } from "./ir.js";
import { GenState, LT } from "./gencode.js";
import { QA, QERR, genProtoAbbrev, type Qual } from "./gen-addr.js";
import { defaultResolvers, genAcode, genEcode, genMcode, genMcode6, genNcode, genScode, type Resolvers } from "./gen-id.js";
import { genArth, genByteop, genGreater, genLess, genLoad, genLoadi, genLoadlen, genNeg, genRelation, type Arth } from "./gen-arith.js";
import { genBroadcast, genGeneve, genIfindex, genInbound, genLlcKind, genMpls, genMulticast, genPppoed, genPppoes, genVlan } from "./gen-link.js";
import { emitProgram } from "./emit.js";
import { optimize, type Icode } from "./optimize.js";

export interface FilterCompileOptions {
  /** LINKTYPE_ of the capture (default 1, Ethernet). Also: 0 NULL, 101 RAW, 108 LOOP, 113 LINUX_SLL, 228 IPV4, 229 IPV6, 276 LINUX_SLL2. */
  readonly linktype?: number;
  /** The value of `ret` for a match (default 262144, tcpdump's for a savefile). */
  readonly snaplen?: number;
  /** IPv4 netmask for `ip broadcast` (default 0, as tcpdump -r; null: unknown, and `ip broadcast` is refused). */
  readonly netmask?: number | null;
  /** Run libpcap's optimiser (default true; tcpdump -O turns it off). */
  readonly optimize?: boolean;
  /** NULL link type from a big-endian file (the address family is compared in the file's byte order). */
  readonly nullBigEndian?: boolean;
  /** Host name resolution (default: only `localhost`). */
  readonly resolveHost?: Resolvers["resolveHost"];
  /** Ethernet host names, /etc/ethers (default: none). */
  readonly resolveEther?: Resolvers["resolveEther"];
}

const BIN_CODE: Readonly<Record<string, number>> = {
  "+": C.BPF_ADD, "-": C.BPF_SUB, "*": C.BPF_MUL, "/": C.BPF_DIV, "%": C.BPF_MOD, "&": C.BPF_AND, "|": C.BPF_OR, "^": C.BPF_XOR,
  "<<": C.BPF_LSH, ">>": C.BPF_RSH,
};
const REL_CODE = { jgt: C.BPF_JGT, jge: C.BPF_JGE, jeq: C.BPF_JEQ } as const;

class Walker {
  constructor(
    private readonly g: GenState,
    private readonly r: Resolvers,
  ) {}

  private at(s: Span): void {
    this.g.errPos = s.pos;
    this.g.errLen = s.len;
  }

  /** Generates `n`; `before` is the qualifier of the value to its left (grammar.y's $<blk>0). */
  expr(n: ExprNode, before: Qual): { b: Block; q: Qual } {
    const g = this.g;
    switch (n.k) {
      case "bin": {
        const l = this.expr(n.l, before);
        let r: { b: Block; q: Qual };
        if (n.r.k === "idop") r = { b: this.id(n.r.id, l.q), q: l.q };
        else r = this.expr(n.r, l.q);
        if (n.op === "and") genAnd(l.b, r.b);
        else genOr(l.b, r.b);
        return r;
      }
      case "not": {
        const r = this.expr(n.e, before);
        genNot(r.b);
        return r;
      }
      case "paren":
        return { b: this.expr(n.e, before).b, q: before };
      case "qualified":
        return { b: this.id(n.id, n.q), q: n.q };
      case "pname":
        this.at(n.at);
        return { b: genProtoAbbrev(g, n.proto), q: QERR };
      case "rel": {
        const a0 = this.arith(n.a0);
        const a1 = this.arith(n.a1);
        this.at(n.at);
        return { b: genRelation(g, REL_CODE[n.code], a0, a1, n.reversed), q: QERR };
      }
      case "prim": {
        this.at(n.at);
        const w = n.what;
        let b: Block;
        switch (w.p) {
          case "broadcast": b = genBroadcast(g, w.proto); break;
          case "multicast": b = genMulticast(g, w.proto); break;
          case "less": b = genLess(w.n); break;
          case "greater": b = genGreater(w.n); break;
          case "byte": b = genByteop(g, w.op, w.idx, w.val); break;
          case "inbound": b = genInbound(g, false); break;
          case "outbound": b = genInbound(g, true); break;
          case "ifindex": b = genIfindex(g, w.n); break;
          case "vlan": b = genVlan(g, w.n ?? 0, w.n !== undefined); break;
          case "mpls": b = genMpls(g, w.n ?? 0, w.n !== undefined); break;
          case "pppoed": b = genPppoed(g); break;
          case "pppoes": b = genPppoes(g, w.n ?? 0, w.n !== undefined); break;
          case "llc": b = genLlcKind(g, w.kind); break;
          case "geneve": b = genGeneve(g, w.n ?? 0, w.n !== undefined); break;
          case "unsupported": return g.error(w.message, "unsupported");
        }
        return { b, q: QERR };
      }
    }
  }

  /** An id under qualifiers `q` (grammar.y nid/pnum/pid). */
  id(n: IdNode, q: Qual): Block {
    const g = this.g;
    switch (n.k) {
      case "idnot": {
        const b = this.id(n.e, q);
        genNot(b);
        return b;
      }
      case "idbin": {
        const l = this.id(n.l, q);
        const r = this.id(n.r, q);
        if (n.op === "and") genAnd(l, r);
        else genOr(l, r);
        return r;
      }
    }
    this.at(n.at);
    switch (n.k) {
      case "name":
        return genScode(g, this.r, n.text, q);
      case "num":
        return genNcode(g, null, n.v, q);
      case "hid":
        if (q.addr === QA.PORT) return g.error("'port' modifier applied to ip host");
        if (q.addr === QA.PORTRANGE) return g.error("'portrange' modifier applied to ip host");
        if (q.addr === QA.PROTO) return g.error("'proto' modifier applied to ip host");
        if (q.addr === QA.PROTOCHAIN) return g.error("'protochain' modifier applied to ip host");
        return genNcode(g, n.text, 0, q);
      case "hidlen":
        return genMcode(g, n.text, null, n.bits, q);
      case "hidmask":
        return genMcode(g, n.text, n.mask, 0, q);
      case "hid6":
        return genMcode6(g, n.text, n.bits, q);
      case "eid":
        return genEcode(g, n.text, q);
      case "aid":
        return genAcode(g);
    }
  }

  arith(n: ArithNode): Arth {
    const g = this.g;
    switch (n.k) {
      case "num":
        this.at(n.at);
        return genLoadi(g, n.v);
      case "len":
        this.at(n.at);
        return genLoadlen(g);
      case "load": {
        const inst = this.arith(n.index);
        this.at(n.at);
        return genLoad(g, n.proto, inst, n.size);
      }
      case "bin": {
        const a0 = this.arith(n.l);
        const a1 = this.arith(n.r);
        this.at(n.at);
        return genArth(g, BIN_CODE[n.op]!, a0, a1);
      }
      case "neg": {
        const a = this.arith(n.e);
        this.at(n.at);
        return genNeg(g, a);
      }
    }
  }
}

/** The syntax tree of an expression (undefined when empty); throws FilterError on syntax errors. */
export function parseFilterExpression(expr: string): ExprNode | undefined {
  let r;
  try {
    r = new Parser(expr, tokenize(expr)).parse();
  } catch (e) {
    if (e instanceof RangeError) throw new FilterError("too_complex", "expression too complex: nested too deeply", expr, 0, expr.length);
    throw e;
  }
  if (!r.ok) throw r.error;
  return r.tree;
}

/**
 * libpcap runs the grammar's actions while it parses, so a semantic error in what
 * precedes a syntax (or scanner) error is reported instead of it: `host foo and (` is
 * "unknown host 'foo'". This approximates what the LR parser has reduced when it
 * stops at token `at`: the longest prefix that parses (closing open parentheses, and
 * completing a relation cut after its operator with a number) and that the parser
 * would have reduced: one followed by `and`, `or`, `)` or the end, or by the failing
 * token itself (through `(` or `not` just shifted). A lone protocol name before an
 * unexpected token is a qualifier the parser has not reduced yet.
 */
function prefixTree(expr: string, toks: readonly Token[], at: number): ExprNode | undefined {
  const eof = toks[toks.length - 1]!;
  const synth = (kind: Token["kind"], value = 0): Token => ({ kind, text: kind === "NUM" ? String(value) : kind, pos: eof.pos, len: 0, value });
  const FOLLOW = new Set<Token["kind"]>(["AND", "OR", ")", "EOF"]);
  const OPS = new Set<Token["kind"]>(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", ">", "<", ">=", "<=", "=", "!="]);
  for (let k = at, tries = 0; k > 0 && tries < 256; k--, tries++) {
    const next = toks[k]!;
    const shiftedOnly = toks.slice(k, at).every((t) => t.kind === "(" || t.kind === "!");
    if (!(FOLLOW.has(next.kind) || k === at || shiftedOnly)) continue;
    const head = toks.slice(0, k);
    const last = head[head.length - 1]!;
    if (last.kind === "PNAME" && !FOLLOW.has(next.kind)) continue;
    const beforeLast = head[head.length - 2];
    const completes: Token[][] = [[]];
    if (OPS.has(last.kind) && !(last.kind === "/" && (beforeLast?.kind === "HID" || beforeLast?.kind === "HID6"))) completes.push([synth("NUM", 1)]);
    for (const tail of completes) {
      const body = [...head, ...tail];
      const open = body.filter((t) => t.kind === "(").length - body.filter((t) => t.kind === ")").length;
      const r = new Parser(expr, [...body, ...new Array<Token>(Math.max(0, open)).fill(synth(")")), eof]).parse();
      if (r.ok) return r.tree;
    }
  }
  return undefined;
}

/**
 * Compiles a pcap-filter(7) expression to classic BPF, as `tcpdump -r FILE -d EXPR`
 * does (libpcap 1.10: same instructions, same order). Throws FilterError.
 */
export function compileFilterExpression(expr: string, opts: FilterCompileOptions = {}): SockFilter[] {
  try {
    return compileUnguarded(expr, opts);
  } catch (e) {
    // Recursion in the parser and the code generator follows the nesting of the
    // expression; libpcap's parser stack has a limit too ("memory exhausted").
    if (e instanceof RangeError) throw new FilterError("too_complex", "expression too complex: nested too deeply", expr, 0, expr.length);
    throw e;
  }
}

function compileUnguarded(expr: string, opts: FilterCompileOptions): SockFilter[] {
  const snaplen = opts.snaplen ?? 262144;
  const toks = tokenize(expr);
  const parsed = new Parser(expr, toks).parse();
  const g = new GenState(expr, {
    linktype: opts.linktype ?? LT.EN10MB,
    snaplen,
    netmask: opts.netmask === null ? undefined : (opts.netmask ?? 0) >>> 0,
    nullBigEndian: opts.nullBigEndian ?? false,
  });
  const resolvers: Resolvers = {
    resolveHost: opts.resolveHost ?? defaultResolvers.resolveHost,
    resolveEther: opts.resolveEther ?? defaultResolvers.resolveEther,
  };
  if (!parsed.ok) {
    const partial = prefixTree(expr, toks, parsed.at);
    if (partial !== undefined) new Walker(g, resolvers).expr(partial, QERR);
    throw parsed.error;
  }
  const tree = parsed.tree;
  let root: Block;
  if (tree === undefined) root = new Block(C.BPF_RET | C.BPF_K, snaplen);
  else root = finishParse(new Walker(g, resolvers).expr(tree, QERR).b, snaplen);
  const ic: Icode = { root, curMark: 0 };
  if ((opts.optimize ?? true) && !g.noOptimize) {
    optimize(ic, expr);
    if (ic.root.s.code === (C.BPF_RET | C.BPF_K) && ic.root.s.k === 0) {
      throw new FilterError("rejects_all", "expression rejects all packets", expr, 0, expr.length);
    }
  }
  return emitProgram(ic, expr);
}
