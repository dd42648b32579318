/**
 * The parser of the filter language: libpcap 1.10's grammar.y, as a backtracking
 * recursive-descent parser that builds a syntax tree. Code is generated afterwards by
 * a post-order walk (compile.ts), which is the order in which an LR parser runs its
 * semantic actions, so registers, VLAN/MPLS offset shifts and blocks come out as
 * libpcap's.
 *
 * Apart from arithmetic, grammar.y is LALR(1) without conflicts, i.e. unambiguous; the
 * places where an LR parser defers a decision (`(`, `not` and numbers after `and`/`or`
 * start either a term or an "id" that inherits the previous qualifiers) are parsed by
 * trying each alternative and keeping the longest, with memoisation. A syntax error is
 * reported at the furthest token any alternative reached, which is where an LR parser
 * stops. Arithmetic uses yacc's conflict resolution: precedence | < & < << >> < + - <
 * * / < unary minus, left-associative; `%` and `^` have no precedence, so the parser
 * shifts across them (`a * b % c` is `a * (b % c)`, `a % b + c` is `a % (b + c)`).
 *
 * Precedence of the boolean operators: `and` and `or` are equal and left-associative
 * (`a or b and c` is `(a or b) and c`); `not` binds tighter.
 */
import { FilterError } from "./errors.js";
import { Q, type Token, type TokenKind } from "./lexer.js";
import { QA, QD, type Qual } from "./gen-addr.js";

/** Where a node came from: token span in the expression. */
export interface Span {
  readonly pos: number;
  readonly len: number;
}

export type ArithNode =
  | { readonly k: "num"; readonly v: number; readonly at: Span }
  | { readonly k: "len"; readonly at: Span }
  | { readonly k: "load"; readonly proto: number; readonly index: ArithNode; readonly size: number; readonly at: Span }
  | { readonly k: "bin"; readonly op: BinOp; readonly l: ArithNode; readonly r: ArithNode; readonly at: Span }
  | { readonly k: "neg"; readonly e: ArithNode; readonly at: Span };

export type BinOp = "+" | "-" | "*" | "/" | "%" | "&" | "|" | "^" | "<<" | ">>";

/** The "id" forms (grammar.y `nid`, `pnum`, `paren pid`): their qualifier is inherited. */
export type IdNode =
  | { readonly k: "name"; readonly text: string; readonly at: Span }
  | { readonly k: "num"; readonly v: number; readonly at: Span }
  | { readonly k: "hid"; readonly text: string; readonly at: Span }
  | { readonly k: "hidlen"; readonly text: string; readonly bits: number; readonly at: Span }
  | { readonly k: "hidmask"; readonly text: string; readonly mask: string; readonly at: Span }
  | { readonly k: "hid6"; readonly text: string; readonly bits: number; readonly at: Span }
  | { readonly k: "eid"; readonly text: string; readonly at: Span }
  | { readonly k: "aid"; readonly text: string; readonly at: Span }
  | { readonly k: "idnot"; readonly e: IdNode; readonly at: Span }
  | { readonly k: "idbin"; readonly op: "and" | "or"; readonly l: IdNode; readonly r: IdNode; readonly at: Span };

export type ExprNode =
  | { readonly k: "bin"; readonly op: "and" | "or"; readonly l: ExprNode; readonly r: ExprNode | IdOperand; readonly at: Span }
  | { readonly k: "not"; readonly e: ExprNode; readonly at: Span }
  | { readonly k: "paren"; readonly e: ExprNode; readonly at: Span }
  | { readonly k: "qualified"; readonly q: Qual; readonly id: IdNode; readonly at: Span }
  | { readonly k: "pname"; readonly proto: number; readonly at: Span }
  | { readonly k: "rel"; readonly code: "jgt" | "jge" | "jeq"; readonly reversed: boolean; readonly a0: ArithNode; readonly a1: ArithNode; readonly at: Span }
  | { readonly k: "prim"; readonly what: Primitive; readonly at: Span };

/** An id after `and`/`or` (or `not` there): takes the qualifier of what precedes it. */
export interface IdOperand {
  readonly k: "idop";
  readonly id: IdNode;
  readonly at: Span;
}

/** The `other` primitives of grammar.y (no qualifier involved). */
export type Primitive =
  | { readonly p: "broadcast" | "multicast"; readonly proto: number }
  | { readonly p: "less" | "greater"; readonly n: number }
  | { readonly p: "byte"; readonly idx: number; readonly op: string; readonly val: number }
  | { readonly p: "inbound" | "outbound" | "pppoed" }
  | { readonly p: "ifindex"; readonly n: number }
  | { readonly p: "vlan" | "mpls" | "pppoes" | "geneve"; readonly n: number | undefined }
  | { readonly p: "llc"; readonly kind: string | undefined }
  | { readonly p: "unsupported"; readonly message: string };

type R<T> = readonly [T, number] | null;

export type ParseResult = { readonly ok: true; readonly tree: ExprNode | undefined } | { readonly ok: false; readonly error: FilterError; readonly at: number };

const BIN_PREC: Readonly<Record<string, number | undefined>> = { "|": 1, "&": 2, "<<": 3, ">>": 3, "+": 4, "-": 4, "*": 5, "/": 5, "%": undefined, "^": undefined };
const BIN_OPS = new Set<TokenKind>(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"]);
const UMINUS_PREC = 6;

const ATM_KEYWORD_NAME: Readonly<Record<string, string>> = { oamf4sc: "oam4sc", oamf4ec: "oam4ec" };
const MTP_HSL = new Set(["hfisu", "hlssu", "hmsu"]);
const MTP_FIELDS = new Set(["sio", "opc", "dpc", "sls", "hsio", "hopc", "hdpc", "hsls"]);

export class Parser {
  private far = 0;
  private readonly memo = new Map<string, R<unknown>>();

  constructor(
    private readonly expr: string,
    private readonly toks: readonly Token[],
  ) {}

  /**
   * Parses the whole expression (tree undefined for an empty one). On failure, `at` is
   * the index of the token where the parser stopped: the first scanner error it read,
   * or the token it could not accept.
   */
  parse(): ParseResult {
    const t0 = this.toks[0]!;
    let result: R<ExprNode> = null;
    if (t0.kind !== "EOF") {
      result = this.exprP(0);
      if (result !== null && this.kind(result[1]) !== "EOF") {
        this.fail(result[1]);
        result = null;
      }
    }
    // A scanner error wins when the parser got as far as its token (libpcap reports the first error).
    const limit = result === null ? this.far : this.toks.length - 1;
    for (let i = 0; i <= limit; i++) {
      const e = this.toks[i]!.error;
      if (e !== undefined) return { ok: false, error: e, at: i };
    }
    if (t0.kind === "EOF") return { ok: true, tree: undefined };
    if (result === null) {
      const at = Math.min(this.far, this.toks.length - 1);
      const t = this.toks[at]!;
      return { ok: false, error: new FilterError("syntax", "syntax error", this.expr, t.pos, t.len), at };
    }
    return { ok: true, tree: result[0] };
  }

  private kind(i: number): TokenKind {
    return this.toks[Math.min(i, this.toks.length - 1)]!.kind;
  }
  private tok(i: number): Token {
    return this.toks[Math.min(i, this.toks.length - 1)]!;
  }
  private fail(i: number): null {
    if (i > this.far) this.far = i;
    return null;
  }
  private expect(i: number, k: TokenKind): number | null {
    return this.kind(i) === k ? i + 1 : this.fail(i);
  }
  private span(i: number, j: number): Span {
    const a = this.tok(i);
    const b = this.tok(Math.max(i, j - 1));
    return { pos: a.pos, len: Math.max(a.len, b.pos + b.len - a.pos) };
  }
  private memoized<T>(name: string, i: number, f: () => R<T>): R<T> {
    const key = `${name}@${i}`;
    if (this.memo.has(key)) return this.memo.get(key) as R<T>;
    const r = f();
    this.memo.set(key, r);
    return r;
  }
  private longest<T>(...alts: (() => R<T>)[]): R<T> {
    let best: R<T> = null;
    for (const a of alts) {
      const r = a();
      if (r !== null && (best === null || r[1] > best[1])) best = r;
    }
    return best;
  }

  // expr: term | expr and term | expr and id | expr or term | expr or id
  private exprP(i: number): R<ExprNode> {
    return this.memoized("expr", i, () => {
      const first = this.termP(i);
      if (first === null) return null;
      let [node, j] = first;
      for (;;) {
        const k = this.kind(j);
        if (k !== "AND" && k !== "OR") break;
        const r = this.termOrId(j + 1);
        if (r === null) break;
        node = { k: "bin", op: k === "AND" ? "and" : "or", l: node, r: r[0], at: this.span(i, r[1]) };
        j = r[1];
      }
      return [node, j] as const;
    });
  }

  /** What may follow `and`/`or` in an expression: a term, or an id inheriting the qualifiers. */
  private termOrId(i: number): R<ExprNode | IdOperand> {
    return this.memoized("termOrId", i, () => {
      if (this.kind(i) === "!") {
        const r = this.termOrId(i + 1);
        if (r === null) return null;
        const at = this.span(i, r[1]);
        if (r[0].k === "idop") return [{ k: "idop", id: { k: "idnot", e: r[0].id, at }, at }, r[1]] as const;
        return [{ k: "not", e: r[0], at }, r[1]] as const;
      }
      return this.longest<ExprNode | IdOperand>(
        () => this.termP(i),
        () => {
          const r = this.idP(i);
          return r === null ? null : ([{ k: "idop", id: r[0], at: this.span(i, r[1]) }, r[1]] as const);
        },
      );
    });
  }

  // term: rterm | not term
  private termP(i: number): R<ExprNode> {
    return this.memoized("term", i, () => {
      if (this.kind(i) === "!") {
        const r = this.termP(i + 1);
        return r === null ? null : ([{ k: "not", e: r[0], at: this.span(i, r[1]) }, r[1]] as const);
      }
      return this.longest<ExprNode>(
        () => this.headId(i),
        () => {
          const j = this.expect(i, "(");
          if (j === null) return null;
          const r = this.exprP(j);
          if (r === null) return null;
          const e = this.expect(r[1], ")");
          return e === null ? null : ([{ k: "paren", e: r[0], at: this.span(i, e) }, e] as const);
        },
        () => this.other(i),
        () => this.relation(i),
        () => (this.kind(i) === "PNAME" ? ([{ k: "pname", proto: this.tok(i).value, at: this.span(i, i + 1) }, i + 1] as const) : this.fail(i)),
      );
    });
  }

  // head id; head: pqual dqual aqual | pqual dqual | pqual aqual | pqual PROTO | pqual PROTOCHAIN | pqual ndaqual
  private headId(i: number): R<ExprNode> {
    let j = i;
    let proto: number = Q.DEFAULT;
    if (this.kind(j) === "PNAME") proto = this.tok(j++).value;
    let dir: number = QD.DEFAULT;
    let addr: number = QA.DEFAULT;
    const k = this.kind(j);
    const dirs: Partial<Record<TokenKind, number>> = { ADDR1: QD.ADDR1, ADDR2: QD.ADDR2, ADDR3: QD.ADDR3, ADDR4: QD.ADDR4, RA: QD.RA, TA: QD.TA };
    const addrs: Partial<Record<TokenKind, number>> = { HOST: QA.HOST, NET: QA.NET, PORT: QA.PORT, PORTRANGE: QA.PORTRANGE };
    if (k === "SRC" || k === "DST") {
      dir = k === "SRC" ? QD.SRC : QD.DST;
      j++;
      const k2 = this.kind(j);
      if (k2 === "AND" || k2 === "OR") {
        if (this.kind(j + 1) !== (k === "SRC" ? "DST" : "SRC")) return this.fail(j + 1);
        dir = k2 === "AND" ? QD.AND : QD.OR;
        j += 2;
      }
      const a = addrs[this.kind(j)];
      if (a !== undefined) {
        addr = a;
        j++;
      }
    } else if (dirs[k] !== undefined) {
      dir = dirs[k]!;
      j++;
      const a = addrs[this.kind(j)];
      if (a !== undefined) {
        addr = a;
        j++;
      }
    } else if (addrs[k] !== undefined) {
      addr = addrs[k]!;
      j++;
    } else if (k === "PROTO" || k === "PROTOCHAIN" || k === "GATEWAY") {
      addr = k === "PROTO" ? QA.PROTO : k === "PROTOCHAIN" ? QA.PROTOCHAIN : QA.GATEWAY;
      j++;
    } else return this.fail(j);
    const r = this.idP(j);
    if (r === null) return null;
    return [{ k: "qualified", q: { proto, dir, addr }, id: r[0], at: this.span(i, r[1]) }, r[1]] as const;
  }

  // id: nid | pnum | paren pid ')'
  private idP(i: number): R<IdNode> {
    return this.memoized("id", i, () =>
      this.longest<IdNode>(
        () => this.nid(i),
        () => {
          const r = this.pnum(i);
          return r === null ? null : ([{ k: "num", v: r[0], at: this.span(i, r[1]) }, r[1]] as const);
        },
        () => {
          const j = this.expect(i, "(");
          if (j === null) return null;
          const r = this.pid(j);
          if (r === null) return null;
          const e = this.expect(r[1], ")");
          return e === null ? null : ([r[0], e] as const);
        },
      ),
    );
  }

  // nid: ID | HID '/' NUM | HID NETMASK HID | HID | HID6 '/' NUM | HID6 | EID | AID | not id
  private nid(i: number): R<IdNode> {
    const t = this.tok(i);
    switch (t.kind) {
      case "ID":
        return [{ k: "name", text: t.text, at: this.span(i, i + 1) }, i + 1];
      case "HID":
        if (this.kind(i + 1) === "/") {
          if (this.kind(i + 2) !== "NUM") return this.fail(i + 2);
          return [{ k: "hidlen", text: t.text, bits: this.tok(i + 2).value, at: this.span(i, i + 3) }, i + 3];
        }
        if (this.kind(i + 1) === "NETMASK") {
          if (this.kind(i + 2) !== "HID") return this.fail(i + 2);
          return [{ k: "hidmask", text: t.text, mask: this.tok(i + 2).text, at: this.span(i, i + 3) }, i + 3];
        }
        return [{ k: "hid", text: t.text, at: this.span(i, i + 1) }, i + 1];
      case "HID6":
        if (this.kind(i + 1) === "/") {
          if (this.kind(i + 2) !== "NUM") return this.fail(i + 2);
          return [{ k: "hid6", text: t.text, bits: this.tok(i + 2).value, at: this.span(i, i + 3) }, i + 3];
        }
        return [{ k: "hid6", text: t.text, bits: 128, at: this.span(i, i + 1) }, i + 1];
      case "EID":
        return [{ k: "eid", text: t.text, at: this.span(i, i + 1) }, i + 1];
      case "AID":
        return [{ k: "aid", text: t.text, at: this.span(i, i + 1) }, i + 1];
      case "!": {
        const r = this.idP(i + 1);
        return r === null ? null : ([{ k: "idnot", e: r[0], at: this.span(i, r[1]) }, r[1]] as const);
      }
      default:
        return this.fail(i);
    }
  }

  // pid: nid | qid and id | qid or id;  qid: pnum | pid
  private pid(i: number): R<IdNode> {
    let first: R<IdNode> = this.nid(i);
    let needMore = false;
    if (first === null) {
      const r = this.pnum(i);
      if (r === null) return null;
      first = [{ k: "num", v: r[0], at: this.span(i, r[1]) }, r[1]];
      needMore = true;
    }
    let [node, j] = first;
    for (;;) {
      const k = this.kind(j);
      if (k !== "AND" && k !== "OR") break;
      const r = this.idP(j + 1);
      if (r === null) break;
      node = { k: "idbin", op: k === "AND" ? "and" : "or", l: node, r: r[0], at: this.span(i, r[1]) };
      j = r[1];
      needMore = false;
    }
    return needMore ? this.fail(j) : ([node, j] as const);
  }

  // pnum: NUM | paren pnum ')'
  private pnum(i: number): R<number> {
    return this.memoized("pnum", i, () => {
      if (this.kind(i) === "NUM") return [this.tok(i).value, i + 1] as const;
      const j = this.expect(i, "(");
      if (j === null) return null;
      const r = this.pnum(j);
      if (r === null) return null;
      const e = this.expect(r[1], ")");
      return e === null ? null : ([r[0], e] as const);
    });
  }

  private num(i: number): R<number> {
    return this.kind(i) === "NUM" ? [this.tok(i).value, i + 1] : this.fail(i);
  }

  private prim(i: number, j: number, what: Primitive): R<ExprNode> {
    return [{ k: "prim", what, at: this.span(i, j) }, j];
  }

  /** A keyword optionally followed by a pnum (`vlan [N]`, `mpls [N]`, `pppoes [N]`, `geneve [N]`). */
  private withOptionalNum(i: number, p: "vlan" | "mpls" | "pppoes" | "geneve"): R<ExprNode> {
    const r = this.pnum(i + 1);
    return r === null ? this.prim(i, i + 1, { p, n: undefined }) : this.prim(i, r[1], { p, n: r[0] });
  }

  // other (and the ATM, MTP2/MTP3, pf and 802.11 forms, which no supported link type has)
  private other(i: number): R<ExprNode> {
    let j = i;
    let proto: number = Q.DEFAULT;
    if (this.kind(j) === "PNAME") proto = this.tok(j++).value;
    const t = this.tok(j);
    switch (t.kind) {
      case "TK_BROADCAST":
        return this.prim(i, j + 1, { p: "broadcast", proto });
      case "TK_MULTICAST":
        return this.prim(i, j + 1, { p: "multicast", proto });
      case "TYPE":
      case "SUBTYPE":
      case "DIR": {
        // p80211: TYPE type [SUBTYPE subtype] | SUBTYPE type_subtype | DIR dir
        const valueAt = (x: number): number | null => (this.kind(x) === "NUM" || this.kind(x) === "ID" ? x + 1 : this.fail(x));
        let e = valueAt(j + 1);
        if (e === null) return null;
        if (t.kind === "TYPE" && this.kind(e) === "SUBTYPE") {
          const e2 = valueAt(e + 1);
          if (e2 !== null) e = e2;
        }
        const message = t.kind === "DIR" ? "frame direction supported only with 802.11 headers" : "802.11 link-layer types supported only on 802.11";
        return this.prim(i, e, { p: "unsupported", message });
      }
    }
    if (j !== i) return this.fail(j);
    switch (t.kind) {
      case "LESS":
      case "GREATER": {
        const r = this.num(i + 1);
        return r === null ? null : this.prim(i, r[1], { p: t.kind === "LESS" ? "less" : "greater", n: r[0] });
      }
      case "CBYTE": {
        const a = this.num(i + 1);
        if (a === null) return null;
        const op = this.kind(a[1]);
        if (op !== "&" && op !== "|" && op !== "<" && op !== ">" && op !== "=") return this.fail(a[1]);
        const b = this.num(a[1] + 1);
        return b === null ? null : this.prim(i, b[1], { p: "byte", idx: a[0], op, val: b[0] });
      }
      case "INBOUND":
        return this.prim(i, i + 1, { p: "inbound" });
      case "OUTBOUND":
        return this.prim(i, i + 1, { p: "outbound" });
      case "IFINDEX": {
        const r = this.num(i + 1);
        return r === null ? null : this.prim(i, r[1], { p: "ifindex", n: r[0] });
      }
      case "VLAN":
        return this.withOptionalNum(i, "vlan");
      case "MPLS":
        return this.withOptionalNum(i, "mpls");
      case "PPPOES":
        return this.withOptionalNum(i, "pppoes");
      case "GENEVE":
        return this.withOptionalNum(i, "geneve");
      case "PPPOED":
        return this.prim(i, i + 1, { p: "pppoed" });
      case "LLC": {
        const n = this.tok(i + 1);
        if (n.kind === "ID") return this.prim(i, i + 2, { p: "llc", kind: n.text });
        if (n.kind === "PF_RNR") return this.prim(i, i + 2, { p: "llc", kind: "rnr" });
        return this.prim(i, i + 1, { p: "llc", kind: undefined });
      }
      case "PF_IFNAME":
      case "PF_RSET":
      case "PF_RNR":
      case "PF_SRNR":
      case "PF_REASON":
      case "PF_ACTION": {
        const want: TokenKind[] = t.kind === "PF_RNR" || t.kind === "PF_SRNR" ? ["NUM"] : t.kind === "PF_REASON" ? ["NUM", "ID"] : ["ID"];
        if (!want.includes(this.kind(i + 1))) return this.fail(i + 1);
        const name = { PF_IFNAME: "ifname", PF_RSET: "ruleset", PF_RNR: "rnr", PF_SRNR: "srnr", PF_REASON: "reason", PF_ACTION: "action" }[t.kind];
        return this.prim(i, i + 2, { p: "unsupported", message: `${name} supported only on PF linktype` });
      }
      case "ATM":
      case "MTP":
        return this.atmOrMtp(i);
      default:
        return this.fail(i);
    }
  }

  /** ATM (`lane`, `vpi 5`, ...) and SS7 (`fisu`, `sio > 3`, ...) primitives: parsed, then refused. */
  private atmOrMtp(i: number): R<ExprNode> {
    const t = this.tok(i);
    const w = t.text;
    const isField = w === "vpi" || w === "vci" || MTP_FIELDS.has(w);
    let j = i + 1;
    if (isField) {
      // value: NUM | relop NUM | irelop NUM | '(' NUM (or NUM)* ')'
      const k = this.kind(j);
      if (k === "NUM") j++;
      else if ([">", ">=", "=", "<=", "<", "!="].includes(k)) {
        if (this.kind(j + 1) !== "NUM") return this.fail(j + 1);
        j += 2;
      } else if (k === "(") {
        j++;
        if (this.kind(j) !== "NUM") return this.fail(j);
        j++;
        while (this.kind(j) === "OR") {
          if (this.kind(j + 1) !== "NUM") return this.fail(j + 1);
          j += 2;
        }
        if (this.kind(j) !== ")") return this.fail(j);
        j++;
      } else return this.fail(j);
    }
    const name = w === "lsu" ? "lssu" : (ATM_KEYWORD_NAME[w] ?? w);
    const where = t.kind === "ATM" ? "raw ATM" : MTP_FIELDS.has(w) ? "SS7" : MTP_HSL.has(w) ? "MTP2_HSL" : "MTP2";
    return this.prim(i, j, { p: "unsupported", message: `'${name}' supported only on ${where}` });
  }

  // arth relop arth | arth irelop arth
  private relation(i: number): R<ExprNode> {
    const a0 = this.arth(i);
    if (a0 === null) return null;
    const op = this.kind(a0[1]);
    const rel: Partial<Record<TokenKind, readonly ["jgt" | "jge" | "jeq", boolean]>> = {
      ">": ["jgt", false], ">=": ["jge", false], "=": ["jeq", false], "<=": ["jgt", true], "<": ["jge", true], "!=": ["jeq", true],
    };
    const r = rel[op];
    if (r === undefined) return this.fail(a0[1]);
    const a1 = this.arth(a0[1] + 1);
    if (a1 === null) return null;
    return [{ k: "rel", code: r[0], reversed: r[1], a0: a0[0], a1: a1[0], at: this.span(i, a1[1]) }, a1[1]];
  }

  /** arth, with yacc's precedence and shift-on-conflict rules (see the file header). */
  private arth(i: number): R<ArithNode> {
    return this.memoized("arth", i, () => {
      type Op = { readonly op: BinOp | "neg"; readonly at: number };
      const operands: ArithNode[] = [];
      const ops: Op[] = [];
      const prec = (o: Op): number | undefined => (o.op === "neg" ? UMINUS_PREC : BIN_PREC[o.op]);
      const reduce = (): void => {
        const o = ops.pop()!;
        if (o.op === "neg") {
          const e = operands.pop()!;
          operands.push({ k: "neg", e, at: { pos: this.tok(o.at).pos, len: e.at.pos + e.at.len - this.tok(o.at).pos } });
        } else {
          const r = operands.pop()!;
          const l = operands.pop()!;
          operands.push({ k: "bin", op: o.op, l, r, at: { pos: l.at.pos, len: r.at.pos + r.at.len - l.at.pos } });
        }
      };
      let j = i;
      for (;;) {
        while (this.kind(j) === "-") ops.push({ op: "neg", at: j++ });
        const p = this.primary(j);
        if (p === null) return null;
        operands.push(p[0]);
        j = p[1];
        const k = this.kind(j);
        if (!BIN_OPS.has(k)) break;
        const lp = BIN_PREC[k];
        // Reduce while the pending rule binds tighter (or equal: left-associative); shift when either has no precedence.
        while (ops.length > 0) {
          const rp = prec(ops[ops.length - 1]!);
          if (rp === undefined || lp === undefined || rp < lp) break;
          reduce();
        }
        ops.push({ op: k as BinOp, at: j++ });
      }
      while (ops.length > 0) reduce();
      return [operands[0]!, j] as const;
    });
  }

  // pnum | pname '[' arth ']' | pname '[' arth ':' NUM ']' | paren narth ')' | LEN  (unary minus: in arth())
  private primary(i: number): R<ArithNode> {
    const t = this.tok(i);
    switch (t.kind) {
      case "NUM":
        return [{ k: "num", v: t.value, at: this.span(i, i + 1) }, i + 1];
      case "LEN":
        return [{ k: "len", at: this.span(i, i + 1) }, i + 1];
      case "PNAME": {
        const j = this.expect(i + 1, "[");
        if (j === null) return null;
        const idx = this.arth(j);
        if (idx === null) return null;
        let e = idx[1];
        let size = 1;
        if (this.kind(e) === ":") {
          const n = this.num(e + 1);
          if (n === null) return null;
          size = n[0];
          e = n[1];
        }
        const close = this.expect(e, "]");
        return close === null ? null : ([{ k: "load", proto: t.value, index: idx[0], size, at: this.span(i, close) }, close] as const);
      }
      case "(": {
        const r = this.arth(i + 1);
        if (r === null) return null;
        const e = this.expect(r[1], ")");
        return e === null ? null : ([r[0], e] as const);
      }
      default:
        return this.fail(i);
    }
  }
}
