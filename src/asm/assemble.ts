/**
 * assemble(text, {syntax}) -> Insn[]. Reads the kernel/LLVM syntax
 * (llvm-parse.ts) or the uBPF syntax of the conformance suite (ubpf-parse.ts);
 * `auto` picks uBPF when the text names registers as `%rN` or uses a uBPF-only
 * mnemonic, and the kernel syntax otherwise. Errors are collected per line and
 * thrown together as one AsmErrorList (an AsmError for the first of them).
 * Any input string ends in Insn[] or an AsmError; nothing else is thrown.
 */
import type { Insn } from "../isa/index.js";
import { Diagnostics } from "./diagnostics.js";
import { Cursor, tokenize } from "./lexer.js";
import { parseLlvmInstruction } from "./llvm-parse.js";
import { ProgramBuilder } from "./program.js";
import { isObjdumpHeader, stripComment, stripObjdumpDecorations } from "./source.js";
import { parseUbpfInstruction, splitOperands } from "./ubpf-parse.js";

export type AsmSyntax = "llvm" | "ubpf";

export interface AssembleOptions {
  /** Which syntax the text is in; "auto" (the default) detects it. */
  readonly syntax?: AsmSyntax | "auto";
}

const LINE_BREAK = /\r\n|\n|\r/;

/** Assembles a program. Throws AsmError (an AsmErrorList when there are several errors). */
export function assemble(text: string, options: AssembleOptions = {}): Insn[] {
  const syntax = options.syntax === undefined || options.syntax === "auto" ? detectSyntax(text) : options.syntax;
  const lines = text.split(LINE_BREAK);
  const diag = new Diagnostics();
  const builder = new ProgramBuilder(diag);
  if (syntax === "ubpf") assembleUbpf(lines, builder, diag);
  else assembleLlvm(lines, builder, diag);
  diag.throwIfAny();
  const insns = builder.finish();
  diag.throwIfAny();
  return insns;
}

function assembleLlvm(lines: readonly string[], builder: ProgramBuilder, diag: Diagnostics): void {
  lines.forEach((source, i) => {
    const line = i + 1;
    diag.guard(line, source, () => {
      const text = stripComment(source);
      if (isObjdumpHeader(text)) return;
      const c = new Cursor(tokenize(stripObjdumpDecorations(text)));
      // Labels: `name:` (several may precede one instruction).
      while (c.peek().kind === "ident" && c.isOp(":", 1)) {
        const t = c.next();
        c.next();
        builder.defineLabel(t.text, line, t.col);
      }
      if (c.atEnd()) return;
      const body = parseLlvmInstruction(c);
      c.expectEnd();
      builder.add({ ...body, line, sourceLine: source });
    });
  });
}

function assembleUbpf(lines: readonly string[], builder: ProgramBuilder, diag: Diagnostics): void {
  let firstExit: { slot: number; line: number } | undefined;
  lines.forEach((source, i) => {
    const line = i + 1;
    diag.guard(line, source, () => {
      const text = stripComment(source);
      const word = /\s*(\S+)/y;
      for (;;) {
        const m = word.exec(text);
        if (m === null) return;
        const w = m[1]!;
        const col = m.index + m[0].length - w.length + 1;
        if (w.endsWith(":") && w.length > 1) {
          builder.defineLabel(w.slice(0, -1), line, col);
          continue;
        }
        const rest = word.lastIndex;
        const body = parseUbpfInstruction(w, col, splitOperands(text.slice(rest), rest + 1), text.length + 1);
        if (w === "exit" && firstExit === undefined) firstExit = { slot: builder.currentSlot, line };
        builder.add({ ...body, line, sourceLine: source });
        return;
      }
    });
  });
  // The reference assembler labels the first `exit` as `exit`, unless the program defines that label itself.
  if (firstExit !== undefined && !builder.hasLabel("exit")) builder.defineLabel("exit", firstExit.line, 1, firstExit.slot);
}

/** uBPF-only mnemonics: their presence (or a `%rN` register) marks the uBPF syntax. */
const UBPF_WORD =
  /^(?:(?:add|sub|mul|div|sdiv|or|and|lsh|rsh|neg|mod|smod|xor|mov|arsh)(?:32|64)?|movsx\d+|(?:le|be|b?swap)(?:16|32|64)|ldxs?(?:b|h|w|dw)|stx?(?:b|h|w|dw)|lddw|ld(?:abs|ind)(?:b|h|w)|ja32|j(?:eq|gt|ge|set|ne|sgt|sge|lt|le|slt|sle)(?:32)?)$/;

/** Guesses the syntax of `text`: "ubpf" if it uses `%rN` registers or a uBPF mnemonic, else "llvm". */
export function detectSyntax(text: string): AsmSyntax {
  for (const raw of text.split(LINE_BREAK)) {
    const line = stripComment(raw);
    if (/%r\d/.test(line)) return "ubpf";
    const words = line.trim().split(/\s+/);
    let k = 0;
    while (k < words.length && /^[A-Za-z_.$][\w.$]*:$/.test(words[k]!)) k++;
    const w = words[k];
    if (w === undefined || w === "") continue;
    if (UBPF_WORD.test(w) && !line.includes("=")) return "ubpf";
  }
  return "llvm";
}
