/**
 * Assembler diagnostics. Each line is parsed on its own and its first problem is
 * recorded (AssemblyScript's habit: collect, do not stop at the first line), then
 * assemble() throws one AsmErrorList that is an AsmError for the first problem
 * and carries all of them in `errors`.
 */
import { AsmError } from "../errors/index.js";

/** Thrown inside a line parser; turned into an AsmError with the line number and text. */
export class LineError {
  constructor(
    readonly column: number,
    readonly reason: string,
  ) {}
}

export const fail = (column: number, reason: string): never => {
  throw new LineError(column, reason);
};

/** Several assembler errors; line, column and message are those of the first one. */
export class AsmErrorList extends AsmError {
  readonly errors: readonly AsmError[];
  constructor(errors: readonly AsmError[]) {
    const first = errors[0]!;
    super(first.line, first.column, reasonOf(first));
    this.errors = errors;
    if (errors.length > 1) this.message = `${first.message}\n(and ${errors.length - 1} more error${errors.length > 2 ? "s" : ""})`;
    else this.message = first.message;
  }
}

const reasons = new WeakMap<AsmError, string>();
function reasonOf(e: AsmError): string {
  return reasons.get(e) ?? e.message;
}

/** Collects errors of one assembly run. */
export class Diagnostics {
  readonly errors: AsmError[] = [];
  /** More than this many errors and the rest are dropped (a binary file fed in by mistake has one per line). */
  static readonly LIMIT = 100;

  add(line: number, column: number, reason: string, sourceLine: string): void {
    if (this.errors.length >= Diagnostics.LIMIT) return;
    // The message shows the line with a caret, unless the line is too long to be worth printing.
    const e = new AsmError(line, column, reason, sourceLine.length <= 300 ? sourceLine.replace(/\t/g, " ") : undefined);
    reasons.set(e, reason);
    this.errors.push(e);
  }

  /** Runs `f` for one line; a LineError it throws is recorded. Returns f's result or undefined. */
  guard<T>(line: number, sourceLine: string, f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      if (e instanceof LineError) {
        this.add(line, e.column, e.reason, sourceLine);
        return undefined;
      }
      throw e;
    }
  }

  throwIfAny(): void {
    if (this.errors.length > 0) throw new AsmErrorList(this.errors);
  }
}

/** `"text"` for messages, shortened when long. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 37)}...` : text);
}
