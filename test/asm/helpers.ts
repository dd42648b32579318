import assert from "node:assert/strict";
import { AsmError } from "../../src/errors/index.js";
import { assemble, type AsmSyntax } from "../../src/asm/index.js";
import { encodeProgram } from "../../src/isa/index.js";

export const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

/** Assembles `text` and returns the bytes as "b7 00 ..." (slots separated by " | "). */
export function bytesOf(text: string, syntax: AsmSyntax | "auto" = "auto"): string {
  const b = encodeProgram(assemble(text, { syntax }));
  const slots: string[] = [];
  for (let i = 0; i < b.length; i += 8) slots.push(hex(b.subarray(i, i + 8)));
  return slots.join(" | ");
}

/** Asserts that assembling fails with an AsmError at (line, column) whose message matches `re`. */
export function asmFails(text: string, syntax: AsmSyntax, line: number, column: number, re: RegExp): AsmError {
  let caught: unknown;
  try {
    assemble(text, { syntax });
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof AsmError, `expected AsmError for ${JSON.stringify(text)}, got ${String(caught)}`);
  assert.equal(caught.code, "EASM");
  assert.deepEqual([caught.line, caught.column], [line, column], `position of: ${caught.message}`);
  assert.match(caught.message, re);
  return caught;
}
