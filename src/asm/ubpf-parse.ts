/**
 * The uBPF assembly syntax of the BPF conformance suite (bpf_conformance's
 * bpf_assembler.cc; see conformance/FORMAT.md (b)):
 *
 *   mov %r0, 1      add32 %r1, %r2     neg %r1      sdiv %r1, 3     movsx864 %r1, %r2
 *   le16 %r1        be64 %r1           bswap32 %r1  (swap32 too)
 *   ldxw %r0, [%r1+2]   ldxsb %r0, [%r1]   stw [%r10-8], 5   stxdw [%r10-8], %r1
 *   lddw %r1, 0x1122334455667788        lddw %r1, map_fd(3)  (pseudo forms: pseudo.ts)
 *   lock add [%r1+0], %r2   lock fetch xor32 [%r10-4], %r3   lock xchg [..], %r1   lock cmpxchg32 [..], %r1
 *   jeq %r1, 0x11, +1   jne32 %r1, %r2, label   ja +3   ja32 label   exit
 *   call 5   call helper 5   call local label   call %r2 (callx)   call runtime 7 (kfunc; `, N` adds the module BTF index)
 *   ldabsw 12   ldindh %r1, 4   (uBPF's names for the legacy packet loads; not in the suite)
 *
 * Rules kept from the reference: the first `exit` is implicitly labelled `exit`;
 * a 32-bit immediate is unsigned hex (`0x...`, at most 0xffffffff, stored as its
 * bit pattern) or signed decimal; jump targets are `+N`, `-N` or a label (a bare
 * number is a label name); mnemonics without suffix are 64-bit, `32` selects the
 * 32-bit class. Extensions: spaces inside `[...]` are allowed, `add64` is `add`,
 * and an instruction may follow a label on the same line.
 */
import type { AluOp, Insn, JmpCond, MemSize } from "../isa/index.js";
import { fromHalves, hiOf, loOf } from "../isa/index.js";
import { fail, quote } from "./diagnostics.js";
import { Cursor, tokenize } from "./lexer.js";
import { checkReg, imm64, off16, type Item, type Target } from "./program.js";
import { atPseudo, parsePseudo } from "./pseudo.js";

type ItemBody = Omit<Item, "line" | "sourceLine">;
export interface Operand {
  readonly text: string;
  readonly col: number;
}

/** Splits operands on commas and blanks outside brackets; blanks inside brackets and parentheses are dropped. */
export function splitOperands(text: string, base: number): Operand[] {
  const out: Operand[] = [];
  let cur = "";
  let start = -1;
  let depth = 0;
  let lastWasComma = false;
  const flush = (): void => {
    if (start >= 0) out.push({ text: cur, col: base + start });
    cur = "";
    start = -1;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "[" || ch === "(") depth++;
    if (ch === "]" || ch === ")") depth = Math.max(0, depth - 1);
    const blank = ch === " " || ch === "\t" || ch === "\r";
    if (depth === 0 && (blank || ch === ",")) {
      if (ch === ",") {
        if (start < 0 && lastWasComma) fail(base + i, "empty operand between commas");
        if (start < 0 && out.length === 0) fail(base + i, "expected an operand before \",\"");
        flush();
        lastWasComma = true;
      } else if (start >= 0) {
        flush();
        lastWasComma = false;
      }
      continue;
    }
    if (blank) continue;
    if (start < 0) start = i;
    lastWasComma = false;
    cur += ch;
  }
  if (depth !== 0) fail(base + text.length, `unclosed "${text.lastIndexOf("[") > text.lastIndexOf("(") ? "[" : "("}"`);
  flush();
  return out;
}

const ALU_NAMES: Readonly<Record<string, AluOp>> = {
  add: "add", sub: "sub", mul: "mul", div: "div", sdiv: "sdiv", or: "or", and: "and", lsh: "lsh", rsh: "rsh",
  neg: "neg", mod: "mod", smod: "smod", xor: "xor", mov: "mov", arsh: "arsh",
};
const JMP_NAMES: Readonly<Record<string, JmpCond>> = {
  jeq: "jeq", jgt: "jgt", jge: "jge", jset: "jset", jne: "jne", jsgt: "jsgt", jsge: "jsge",
  jlt: "jlt", jle: "jle", jslt: "jslt", jsle: "jsle",
};
const SIZE_SUFFIX: Readonly<Record<string, MemSize>> = { b: 1, h: 2, w: 4, dw: 8 };

function reg(op: Operand | undefined, col: number): number {
  if (op === undefined) return fail(col, "expected a register (%r0-%r10), found end of line");
  const m = /^%r(\d{1,2})$/.exec(op.text);
  if (m === null) return fail(op.col, `expected a register (%r0-%r10), found ${quote(op.text)}`);
  return checkReg(Number(m[1]), op.col, op.text);
}

const NUM = /^([+-]?)(0[xX][0-9a-fA-F]+|\d+)$/;

/** A 32-bit immediate: hex (`0x`, unsigned, at most 0xffffffff) or signed decimal. */
function imm(op: Operand | undefined, col: number): number {
  if (op === undefined) return fail(col, "expected an immediate, found end of line");
  const m = NUM.exec(op.text);
  if (m === null || m[2]!.length > 40) return fail(op.col, `expected an immediate (decimal or 0x hex), found ${quote(op.text)}`);
  const neg = m[1] === "-";
  const mag = BigInt(m[2]!);
  if (/^0[xX]/.test(m[2]!)) {
    if (mag > 0xffffffffn) fail(op.col, `immediate ${quote(op.text)} does not fit in 32 bits (at most 0xffffffff)`);
    return Number(BigInt.asIntN(32, neg ? -mag : mag));
  }
  const v = neg ? -mag : mag;
  if (v < -(2n ** 31n) || v >= 2n ** 31n) fail(op.col, `immediate ${quote(op.text)} does not fit in a signed 32-bit field (write larger values in hex)`);
  return Number(v);
}

/** `[%rN+OFF]`, `[%rN-OFF]`, `[%rN]`. */
function mem(op: Operand | undefined, col: number): { base: number; off: number } {
  if (op === undefined) return fail(col, "expected a memory operand [%rN+OFF], found end of line");
  const m = /^\[(%r\d{1,2})(?:([+-])(0[xX][0-9a-fA-F]+|\d+))?\]$/.exec(op.text);
  if (m === null) return fail(op.col, `expected a memory operand [%rN+OFF], found ${quote(op.text)}`);
  const base = reg({ text: m[1]!, col: op.col + 1 }, op.col);
  if (m[3] === undefined) return { base, off: 0 };
  if (m[3].length > 40) fail(op.col, "offset is too long");
  const v = BigInt(m[3]);
  return { base, off: off16(m[2] === "-" ? -v : v, op.col) };
}

function target(op: Operand | undefined, col: number): Target {
  if (op === undefined) return fail(col, "expected a jump target (+N, -N or a label), found end of line");
  const m = /^([+-])(0[xX][0-9a-fA-F]+|\d+)$/.exec(op.text);
  if (m !== null && m[2]!.length <= 40) {
    const v = BigInt(m[2]!);
    return { kind: "rel", off: m[1] === "-" ? -v : v, col: op.col };
  }
  if (/^[A-Za-z_.$][A-Za-z0-9_.$]*$/.test(op.text)) return { kind: "label", name: op.text, col: op.col };
  return fail(op.col, `expected a jump target (+N, -N or a label), found ${quote(op.text)}`);
}

function count(ops: readonly Operand[], n: number, shape: string, endCol: number): void {
  if (ops.length === n) return;
  const at = ops.length > n ? ops[n]!.col : endCol;
  fail(at, `expected ${n} operand${n === 1 ? "" : "s"} (${shape}), found ${ops.length}`);
}

const one = (build: (pc: number, resolve: (t: Target, bits: 16 | 32) => number) => Insn): ItemBody => ({ slots: 1, build });

/** Parses the instruction `mnemonic ops...`; `mcol` is the mnemonic's column, `endCol` the column after the line. */
export function parseUbpfInstruction(mnemonic: string, mcol: number, ops: Operand[], endCol: number): ItemBody {
  const at = (i: number): number => ops[i]?.col ?? endCol;
  let m: RegExpExecArray | null;

  if (mnemonic === "exit") {
    count(ops, 0, "none", endCol);
    return one((pc) => ({ kind: "exit", pc }));
  }
  if ((m = /^([a-z]+?)(32|64)?$/.exec(mnemonic)) !== null && ALU_NAMES[m[1]!] !== undefined) {
    const op = ALU_NAMES[m[1]!]!;
    const alu64 = m[2] !== "32";
    if (op === "neg") {
      count(ops, 1, "DST", endCol);
      const dst = reg(ops[0], at(0));
      return one((pc) => ({ kind: "alu", pc, op, alu64, dst, src: { kind: "imm", imm: 0 } }));
    }
    count(ops, 2, "DST, SRC", endCol);
    const dst = reg(ops[0], at(0));
    const src = ops[1]!.text.startsWith("%") ? { kind: "reg" as const, reg: reg(ops[1], at(1)) } : { kind: "imm" as const, imm: imm(ops[1], at(1)) };
    return one((pc) => ({ kind: "alu", pc, op, alu64, dst, src }));
  }
  if ((m = /^movsx(8|16|32)(32|64)$/.exec(mnemonic)) !== null) {
    const width = Number(m[1]) as 8 | 16 | 32;
    const alu64 = m[2] === "64";
    if (!alu64 && width === 32) fail(mcol, "movsx3232 does not exist (32-bit sign extension takes 8 or 16 bits)");
    count(ops, 2, "DST, SRC", endCol);
    const dst = reg(ops[0], at(0));
    const src = reg(ops[1], at(1));
    return one((pc) => ({ kind: "alu", pc, op: "movsx", alu64, dst, src: { kind: "reg", reg: src }, extWidth: width }));
  }
  if ((m = /^(le|be|b?swap)(16|32|64)$/.exec(mnemonic)) !== null) {
    count(ops, 1, "DST", endCol);
    const dst = reg(ops[0], at(0));
    const order = m[1] === "le" ? "le" : m[1] === "be" ? "be" : "bswap";
    const width = Number(m[2]) as 16 | 32 | 64;
    return one((pc) => ({ kind: "end", pc, order, width, dst }));
  }
  if ((m = /^ldx(s?)(b|h|w|dw)$/.exec(mnemonic)) !== null) {
    const signed = m[1] === "s";
    const size = SIZE_SUFFIX[m[2]!]!;
    if (signed && size === 8) fail(mcol, "ldxsdw does not exist (a 64-bit load has nothing to sign-extend)");
    count(ops, 2, "DST, [SRC+OFF]", endCol);
    const dst = reg(ops[0], at(0));
    const { base, off } = mem(ops[1], at(1));
    return one((pc) => ({ kind: "ldx", pc, size, signed, dst, src: base, off }));
  }
  if ((m = /^st(x?)(b|h|w|dw)$/.exec(mnemonic)) !== null) {
    const size = SIZE_SUFFIX[m[2]!]!;
    count(ops, 2, m[1] === "x" ? "[DST+OFF], SRC" : "[DST+OFF], IMM", endCol);
    const { base, off } = mem(ops[0], at(0));
    if (m[1] === "x") {
      const src = reg(ops[1], at(1));
      return one((pc) => ({ kind: "stx", pc, size, dst: base, src, off }));
    }
    const v = imm(ops[1], at(1));
    return one((pc) => ({ kind: "st", pc, size, dst: base, off, imm: v }));
  }
  if (mnemonic === "lddw") return parseLddw(ops, at, endCol);
  if ((m = /^ld(abs|ind)(b|h|w)$/.exec(mnemonic)) !== null) {
    const size = SIZE_SUFFIX[m[2]!]! as 1 | 2 | 4;
    if (m[1] === "abs") {
      count(ops, 1, "IMM", endCol);
      const v = imm(ops[0], at(0));
      return one((pc) => ({ kind: "ld_abs", pc, size, src: 0, imm: v }));
    }
    count(ops, 2, "SRC, IMM", endCol);
    const src = reg(ops[0], at(0));
    const v = imm(ops[1], at(1));
    return one((pc) => ({ kind: "ld_ind", pc, size, src, imm: v }));
  }
  if (mnemonic === "ja" || mnemonic === "ja32") {
    count(ops, 1, "TARGET", endCol);
    const long = mnemonic === "ja32";
    const t = target(ops[0], at(0));
    return one((pc, resolve) => ({ kind: "ja", pc, long, off: resolve(t, long ? 32 : 16) }));
  }
  if ((m = /^(j[a-z]+?)(32)?$/.exec(mnemonic)) !== null && JMP_NAMES[m[1]!] !== undefined) {
    const cond = JMP_NAMES[m[1]!]!;
    const jmp32 = m[2] === "32";
    count(ops, 3, "DST, SRC, TARGET", endCol);
    const dst = reg(ops[0], at(0));
    const src = ops[1]!.text.startsWith("%") ? { kind: "reg" as const, reg: reg(ops[1], at(1)) } : { kind: "imm" as const, imm: imm(ops[1], at(1)) };
    const t = target(ops[2], at(2));
    return one((pc, resolve) => ({ kind: "jmp", pc, cond, jmp32, dst, src, off: resolve(t, 16) }));
  }
  if (mnemonic === "call") return parseCall(ops, at, endCol);
  if (mnemonic === "lock") return parseLock(ops, at, endCol);
  return fail(mcol, `unknown mnemonic ${quote(mnemonic)}`);
}

function parseLddw(ops: Operand[], at: (i: number) => number, endCol: number): ItemBody {
  count(ops, 2, "DST, IMM64", endCol);
  const dst = reg(ops[0], at(0));
  const op = ops[1]!;
  const c = new Cursor(tokenize(op.text, op.col));
  if (atPseudo(c)) {
    const spec = parsePseudo(c);
    c.expectEnd();
    return {
      slots: 2,
      build: (pc, resolve) => {
        const i1 = typeof spec.imm === "number" ? spec.imm : resolve(spec.imm, 32);
        return { kind: "ld_imm64", pc, dst, pseudo: spec.pseudo, imm: i1, imm2: spec.imm2, value: fromHalves(i1, spec.imm2) };
      },
    };
  }
  const m = NUM.exec(op.text);
  if (m === null || m[2]!.length > 40) return fail(op.col, `expected a 64-bit immediate or a pseudo form such as map_fd(3), found ${quote(op.text)}`);
  const mag = BigInt(m[2]!);
  const value = imm64(m[1] === "-" ? -mag : mag, op.col);
  return { slots: 2, build: (pc) => ({ kind: "ld_imm64", pc, dst, pseudo: "imm", imm: loOf(value), imm2: hiOf(value), value }) };
}

function parseCall(ops: Operand[], at: (i: number) => number, endCol: number): ItemBody {
  const kind = ops[0]?.text;
  if (kind === "local") {
    count(ops, 2, "local TARGET", endCol);
    const t = target(ops[1], at(1));
    return one((pc, resolve) => ({ kind: "call", pc, target: "local", imm: resolve(t, 32) }));
  }
  if (kind === "runtime" || kind === "kfunc") {
    if (ops.length !== 3) count(ops, 2, `${kind} ID[, MODULE_BTF_INDEX]`, endCol);
    const v = imm(ops[1], at(1));
    let off = 0;
    if (ops.length === 3) {
      const m = /^[+-]?\d+$/.exec(ops[2]!.text);
      if (m === null || ops[2]!.text.length > 10) return fail(ops[2]!.col, `expected a module BTF index, found ${quote(ops[2]!.text)}`);
      off = off16(BigInt(ops[2]!.text), ops[2]!.col, "module BTF index");
    }
    return one((pc) => ({ kind: "call", pc, target: "kfunc", imm: v, off }));
  }
  const rest = kind === "helper" ? ops.slice(1) : ops;
  const base = kind === "helper" ? 1 : 0;
  if (rest.length !== 1) count(ops, base + 1, kind === "helper" ? "helper ID" : "ID, local TARGET, runtime ID or %rN", endCol);
  const op = rest[0]!;
  if (op.text.startsWith("%")) {
    const r = reg(op, at(base));
    return one((pc) => ({ kind: "callx", pc, reg: r }));
  }
  const v = imm(op, at(base));
  return one((pc) => ({ kind: "call", pc, target: "helper", imm: v }));
}

function parseLock(ops: Operand[], at: (i: number) => number, endCol: number): ItemBody {
  let i = 0;
  const fetchWord = ops[0]?.text === "fetch";
  if (fetchWord) i++;
  const opTok = ops[i];
  const m = opTok === undefined ? null : /^(add|or|and|xor|xchg|cmpxchg)(32)?$/.exec(opTok.text);
  if (m === null) return fail(at(i), `expected an atomic operation (add, or, and, xor, xchg, cmpxchg, optionally with 32), found ${opTok === undefined ? "end of line" : quote(opTok.text)}`);
  const op = m[1] as "add" | "or" | "and" | "xor" | "xchg" | "cmpxchg";
  const size = m[2] === "32" ? 4 : 8;
  const fetch = fetchWord || op === "xchg" || op === "cmpxchg";
  const rest = ops.slice(i + 1);
  if (rest.length !== 2) {
    const bad = rest.length > 2 ? rest[2]!.col : endCol;
    fail(bad, `expected 2 operands after ${quote(opTok!.text)} ([DST+OFF], SRC), found ${rest.length}`);
  }
  const { base, off } = mem(rest[0], at(i + 1));
  const src = reg(rest[1], at(i + 2));
  return one((pc) => ({ kind: "atomic", pc, size, op, fetch, dst: base, src, off }));
}

