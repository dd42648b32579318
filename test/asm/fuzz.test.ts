/**
 * Property tests (fast-check): the assembler turns any string into Insn[] or a
 * TsbpfError, never another exception, and never hangs; every slot that
 * decodes survives decode -> format -> assemble -> encode in both syntaxes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { assemble, disassemble, formatLlvm, formatUbpf, formatXlated, type AsmSyntax } from "../../src/asm/index.js";
import { AsmError, DecodeError } from "../../src/errors/index.js";
import { decodeAt, decodeRaw, encodeProgram, type Insn } from "../../src/isa/index.js";
import { everyInstruction } from "./corpus.js";
import { hex } from "./helpers.js";

const SYNTAXES: ReadonlyArray<AsmSyntax | "auto"> = ["llvm", "ubpf", "auto"];

/** Assembling either succeeds or throws an AsmError; anything else fails the property. */
function assembleOrAsmError(text: string, syntax: AsmSyntax | "auto"): Insn[] | undefined {
  try {
    return assemble(text, { syntax });
  } catch (e) {
    if (e instanceof AsmError) {
      assert.ok(e.line >= 1 && e.column >= 1, `bad position ${e.line}:${e.column}`);
      return undefined;
    }
    throw e;
  }
}

const lines = everyInstruction().flatMap((i) => [formatLlvm(i), formatUbpf(i), formatLlvm(i, { alu32: true })]);
const ALPHABET = [..."rw0123456789 +-*/%&|^=<>!()[],:;#sxul.%\t_abcdefghijklmnopqrstuvwxyz", "ll", "goto", "if", "lock", "r10", "0x", "%r1", "exit", "call", "\n"];

describe("assembler fuzz", () => {
  it("random strings: result or AsmError", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.constantFrom(...SYNTAXES), (s, syntax) => {
        assembleOrAsmError(s, syntax);
      }),
      { numRuns: 3000 },
    );
  });
  it("random token soup: result or AsmError", () => {
    const soup = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 40 }).map((a) => a.join(""));
    fc.assert(
      fc.property(soup, fc.constantFrom(...SYNTAXES), (s, syntax) => {
        assembleOrAsmError(s, syntax);
      }),
      { numRuns: 5000 },
    );
  });
  it("mutated valid lines: result or AsmError", () => {
    const mutation = fc.record({
      at: fc.nat(),
      del: fc.nat(4),
      ins: fc.oneof(fc.string({ maxLength: 3 }), fc.constantFrom(...ALPHABET)),
    });
    fc.assert(
      fc.property(fc.constantFrom(...lines), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.constantFrom(...SYNTAXES), (line, muts, syntax) => {
        let s = line;
        for (const m of muts) {
          const at = m.at % (s.length + 1);
          s = s.slice(0, at) + m.ins + s.slice(at + m.del);
        }
        assembleOrAsmError(s, syntax);
      }),
      { numRuns: 5000 },
    );
  });
  it("huge numbers and long inputs finish quickly", () => {
    const start = Date.now();
    for (const s of ["r1 = " + "9".repeat(5000), "lddw %r1, 0x" + "f".repeat(5000), "goto " + "+".repeat(10000), "r1 = 1\n".repeat(20000), "(".repeat(50000)]) {
      assembleOrAsmError(s, "auto");
    }
    assert.ok(Date.now() - start < 5000);
  });
  it("a program of garbage lines reports at most 100 errors", () => {
    let caught: unknown;
    try {
      assemble("nonsense\n".repeat(1000), { syntax: "llvm" });
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof AsmError);
    assert.equal((caught as AsmError & { errors: AsmError[] }).errors.length, 100);
  });
});

describe("decode -> format -> assemble -> encode", () => {
  /** 16 random bytes, each field biased towards valid encodings (small registers, reserved fields zero, special imm values). */
  const slot = fc
    .record({
      code: fc.integer({ min: 0, max: 255 }),
      dst: fc.oneof(fc.nat(10), fc.nat(15)),
      src: fc.oneof(fc.constant(0), fc.nat(10), fc.nat(15)),
      off: fc.oneof(fc.constant(0), fc.constantFrom(1, 8, 16, 32, -1), fc.integer({ min: -32768, max: 32767 })),
      imm: fc.oneof(fc.constant(0), fc.constantFrom(16, 32, 64, 1, 0x41, 0xe1, 0xf1, -1), fc.integer()),
      imm2: fc.oneof(fc.constant(0), fc.integer()),
    })
    .map(({ code, dst, src, off, imm, imm2 }) => {
      const b = new Uint8Array(16);
      const v = new DataView(b.buffer);
      b[0] = code;
      b[1] = dst | (src << 4);
      v.setInt16(2, off, true);
      v.setInt32(4, imm, true);
      v.setInt32(12, imm2, true);
      return b;
    });
  it("every decodable slot round-trips through llvm and ubpf text", () => {
    let decoded = 0;
    fc.assert(
      fc.property(slot, (b) => {
        let insn: Insn;
        try {
          insn = decodeAt(decodeRaw(b), 0);
        } catch (e) {
          if (e instanceof DecodeError) return;
          throw e;
        }
        decoded++;
        const n = insn.kind === "ld_imm64" ? 16 : 8;
        const want = hex(b.subarray(0, n));
        for (const [text, syntax] of [[formatLlvm(insn), "llvm"], [formatLlvm(insn, { alu32: true }), "llvm"], [formatUbpf(insn), "ubpf"]] as const) {
          assert.equal(hex(encodeProgram(assemble(text, { syntax }))), want, text);
        }
        formatXlated(insn);
      }),
      { numRuns: 20000 },
    );
    assert.ok(decoded > 1000, `only ${decoded} random slots decoded`);
  });
  it("disassemble never throws on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom("llvm", "xlated", "ubpf" as const), (b, style) => {
        disassemble(b, { style });
        disassemble(b, { style, listing: true, byteOrder: "big" });
      }),
      { numRuns: 2000 },
    );
  });
});
