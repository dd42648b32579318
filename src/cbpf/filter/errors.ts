/**
 * Errors of the filter compiler. Messages use libpcap's wording ("syntax error",
 * "unknown host 'x'", "illegal port number 70000 > 65535"); `position` is the 0-based
 * character offset in the expression where the problem was found, and `length` the
 * length of the text at fault, so that callers can underline it.
 */
import { CbpfError } from "../../errors/index.js";

export type FilterErrorReason =
  | "syntax" // the expression does not parse (libpcap: "can't parse filter expression: syntax error")
  | "lexical" // a token that is not one (bogus addresses, numbers that overflow 32 bits)
  | "semantic" // parses, but means nothing (unknown names, out-of-range values, bad qualifiers)
  | "rejects_all" // the optimiser proved that no packet can match ("expression rejects all packets")
  | "unsupported" // valid for libpcap on other link types or platforms, not here
  | "too_complex"; // the program does not fit (registers, jump offsets)

export class FilterError extends CbpfError {
  /** 0-based offset in the expression. */
  readonly position: number;
  /** Length of the offending text (at least 1, except at the end of the expression). */
  readonly length: number;
  readonly expression: string;
  constructor(reason: FilterErrorReason, message: string, expression: string, position: number, length = 1) {
    super(reason, message);
    this.position = Math.max(0, Math.min(position, expression.length));
    this.length = Math.max(0, Math.min(length, expression.length - this.position));
    this.expression = expression;
  }

  /** The expression with a caret line under the offending text (two lines, no newline at the end). */
  caret(): string {
    const n = Math.max(1, this.length);
    return `${this.expression}\n${" ".repeat(this.position)}${"^".repeat(n)}`;
  }
}
