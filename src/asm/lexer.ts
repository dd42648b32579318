/**
 * Tokens of the kernel/LLVM assembly syntax (`r1 = *(u32 *)(r10 - 4)`,
 * `if w1 s< w2 goto -2`, `lock *(u64 *)(r0 + 0) += r1`). The same lexer reads
 * the argument lists of the pseudo ld_imm64 forms (`map_value(3, 8)`) in the
 * uBPF syntax. Columns are 1-based positions in the source line.
 */
import { fail, quote } from "./diagnostics.js";

export type Token =
  | { readonly kind: "reg"; readonly col: number; readonly text: string; readonly wide: boolean; readonly n: number }
  | { readonly kind: "ident"; readonly col: number; readonly text: string }
  | { readonly kind: "num"; readonly col: number; readonly text: string; readonly value: bigint }
  | { readonly kind: "op"; readonly col: number; readonly text: string }
  | { readonly kind: "eof"; readonly col: number; readonly text: "" };

/** Operators, longest first so that `s>>=` wins over `s>` and `>>=` over `>=`. */
const OPERATORS = [
  "s>>=", "<<=", ">>=", "s/=", "s%=", "s>=", "s<=",
  "s>", "s<", "+=", "-=", "*=", "/=", "|=", "&=", "^=", "%=", "==", "!=", ">=", "<=",
  ">", "<", "=", "&", "(", ")", "*", "+", "-", "[", "]", ",", ":",
] as const;

const isIdentStart = (c: string): boolean => /[A-Za-z_.$]/.test(c);
const isIdentChar = (c: string): boolean => /[A-Za-z0-9_.$]/.test(c);
const isDigit = (c: string): boolean => c >= "0" && c <= "9";

/** Splits `text` (already stripped of comments) into tokens; `base` is the column of text[0]. */
export function tokenize(text: string, base = 1): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\v" || c === "\f") {
      i++;
      continue;
    }
    const col = base + i;
    // Operators before identifiers: `s>=` is an operator (no s-operator continues with a letter), `s8` an identifier.
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op !== undefined) {
      out.push({ kind: "op", col, text: op });
      i += op.length;
      continue;
    }
    if (isDigit(c)) {
      const hexNum = c === "0" && (text[i + 1] === "x" || text[i + 1] === "X");
      let j = hexNum ? i + 2 : i;
      while (j < text.length && (hexNum ? /[0-9a-fA-F]/.test(text[j]!) : isDigit(text[j]!))) j++;
      if (hexNum && j === i + 2) fail(col, `expected hex digits after "0x"`);
      if (j < text.length && isIdentChar(text[j]!)) fail(col, `malformed number ${quote(text.slice(i, j + 1))}`);
      // No field is wider than 64 bits: refuse absurd literals before converting them.
      if (j - i > 40) fail(col, "number is too long");
      out.push({ kind: "num", col, text: text.slice(i, j), value: BigInt(text.slice(i, j)) });
      i = j;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < text.length && isIdentChar(text[j]!)) j++;
      const word = text.slice(i, j);
      const m = /^([rw])(\d{1,2})$/.exec(word);
      if (m !== null) out.push({ kind: "reg", col, text: word, wide: m[1] === "r", n: Number(m[2]) });
      else out.push({ kind: "ident", col, text: word });
      i = j;
      continue;
    }
    fail(col, `unexpected character "${c}"`);
  }
  out.push({ kind: "eof", col: base + text.length, text: "" });
  return out;
}

/** Describes a token for "expected X, found Y" messages. */
export function describe(t: Token): string {
  return t.kind === "eof" ? "end of line" : quote(t.text);
}

/** A cursor over one line's tokens with expect-style helpers that fail with a column. */
export class Cursor {
  private i = 0;
  constructor(readonly tokens: readonly Token[]) {}

  peek(k = 0): Token {
    return this.tokens[Math.min(this.i + k, this.tokens.length - 1)]!;
  }
  next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }
  atEnd(): boolean {
    return this.peek().kind === "eof";
  }
  isOp(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === "op" && t.text === text;
  }
  isIdent(text?: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === "ident" && (text === undefined || t.text === text);
  }
  /** Consumes the operator if present. */
  eatOp(text: string): boolean {
    if (!this.isOp(text)) return false;
    this.next();
    return true;
  }
  eatIdent(text: string): boolean {
    if (!this.isIdent(text)) return false;
    this.next();
    return true;
  }
  expectOp(text: string, context?: string): Token {
    const t = this.peek();
    if (t.kind !== "op" || t.text !== text) fail(t.col, `expected "${text}"${context ? ` ${context}` : ""}, found ${describe(t)}`);
    return this.next();
  }
  expectIdent(text: string, context?: string): Token {
    const t = this.peek();
    if (t.kind !== "ident" || t.text !== text) fail(t.col, `expected "${text}"${context ? ` ${context}` : ""}, found ${describe(t)}`);
    return this.next();
  }
  expectEnd(): void {
    const t = this.peek();
    if (t.kind !== "eof") fail(t.col, `unexpected ${describe(t)} after the end of the instruction`);
  }
}
