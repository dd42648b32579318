/**
 * The kernel/LLVM assembly syntax, one instruction per line, as llvm-objdump
 * prints it (LLVM 14) plus the LLVM 17+ spellings of the v4 instructions and
 * the forms the kernel's disassembler prints (kernel/bpf/disasm.c):
 *
 *   r0 = 1            w1 += w2          r1 = -r1          r0 s>>= 3
 *   r1 s/= r2         w1 s%= 3          r0 = (s8)r1       w0 = (s16)w1
 *   r1 = be16 r1      r1 = le32 r1      r1 = bswap64 r1
 *   r1 = *(u32 *)(r10 - 4)              r0 = *(s8 *)(r1 + 0)
 *   *(u64 *)(r10 - 8) = r1              *(u32 *)(r1 + 0) = 5
 *   lock *(u64 *)(r0 + 0) += r1         (also |= &= ^=, u32 with w or r)
 *   r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)   (also _or _and _xor; atomic64_fetch_add)
 *   r0 = xchg_64(r1 + 0, r0)            w0 = xchg32_32(r1 + 0, w0)
 *   r0 = cmpxchg_64(r1 + 0, r0, r2)     w0 = cmpxchg32_32(r1 + 0, w0, w2)
 *   if r1 > 0x10 goto +3                if w1 s< w2 goto -2     if r1 & r2 goto label
 *   goto +3   gotol +70000   goto pc+3
 *   call 1    call local +3   call local label   call pc+3   callx r1
 *   call kfunc 7      call kfunc 7, 2     (BTF id; optional module BTF index, the off field)
 *   r1 = 0x1122334455667788 ll          r1 = map_fd(3) ll   r1 = map[id:3][0]+8   (see pseudo.ts)
 *   ld_pseudo r1, 1, 3                  (llvm-objdump 14's spelling; optional 4th operand = second-slot imm)
 *   r0 = *(u8 *)skb[12]                 r0 = *(u16 *)skb[r1]   r0 = *(u32 *)skb[r1 + 4]
 *   exit
 *
 * Immediates are decimal or 0x hex; 32-bit fields take -2^31..2^32-1 (values
 * above 2^31-1 are stored as their bit pattern, as llvm-mc does).
 */
import type { AluOp, AtomicOp, Insn, JmpCond, MemSize } from "../isa/index.js";
import { fromHalves, hiOf, loOf } from "../isa/index.js";
import { fail, quote } from "./diagnostics.js";
import { Cursor, describe, type Token } from "./lexer.js";
import { checkReg, imm32, imm64, off16, type Item, type Target } from "./program.js";
import { atPseudo, parsePseudo, signedNumber, target as parseTarget, type PseudoSpec } from "./pseudo.js";

export type Reg = { readonly n: number; readonly wide: boolean; readonly col: number; readonly text: string };
type ItemBody = Omit<Item, "line" | "sourceLine">;

const ASSIGN_OPS: Readonly<Record<string, AluOp>> = {
  "+=": "add", "-=": "sub", "*=": "mul", "/=": "div", "|=": "or", "&=": "and", "<<=": "lsh", ">>=": "rsh",
  "%=": "mod", "^=": "xor", "s>>=": "arsh", "s/=": "sdiv", "s%=": "smod",
};

const JMP_OPS: Readonly<Record<string, JmpCond>> = {
  "==": "jeq", "!=": "jne", ">": "jgt", ">=": "jge", "<": "jlt", "<=": "jle",
  "s>": "jsgt", "s>=": "jsge", "s<": "jslt", "s<=": "jsle", "&": "jset",
};

const LOCK_OPS: Readonly<Record<string, AtomicOp>> = { "+=": "add", "|=": "or", "&=": "and", "^=": "xor" };

const MEM_TYPES: Readonly<Record<string, { size: MemSize; signed: boolean }>> = {
  u8: { size: 1, signed: false }, u16: { size: 2, signed: false }, u32: { size: 4, signed: false }, u64: { size: 8, signed: false },
  s8: { size: 1, signed: true }, s16: { size: 2, signed: true }, s32: { size: 4, signed: true },
};

const one = (build: (pc: number, resolve: (t: Target, bits: 16 | 32) => number) => Insn): ItemBody => ({ slots: 1, build });

function reg(c: Cursor, what = "a register"): Reg {
  const t = c.next();
  if (t.kind !== "reg") return fail(t.col, `expected ${what}, found ${describe(t)}`);
  return { n: checkReg(t.n, t.col, t.text), wide: t.wide, col: t.col, text: t.text };
}

function wideReg(c: Cursor, what = "a 64-bit register (r0-r10)"): Reg {
  const r = reg(c, what);
  if (!r.wide) fail(r.col, `expected ${what}, found "${r.text}"`);
  return r;
}

function sameWidth(dst: Reg, src: Reg): void {
  if (dst.wide !== src.wide) fail(src.col, `"${src.text}" and "${dst.text}" differ in width: use r registers for 64-bit and w registers for 32-bit operations`);
}

function sameReg(expect: Reg, got: Reg, why: string): void {
  if (expect.n !== got.n) fail(got.col, `expected "${expect.text}" here (${why}), found "${got.text}"`);
}

/** `(u32 *)` -> size and signedness. */
function memType(c: Cursor): { size: MemSize; signed: boolean; col: number } {
  c.expectOp("(", "before the access type");
  const t = c.next();
  const m = t.kind === "ident" ? MEM_TYPES[t.text] : undefined;
  if (m === undefined) return fail(t.col, `expected an access type (u8, u16, u32, u64, s8, s16, s32), found ${describe(t)}`);
  c.expectOp("*", "in the access type");
  c.expectOp(")", "to close the access type");
  return { ...m, col: t.col };
}

/** `rB + OFF`, `rB - OFF` or `rB` (inside parentheses or not). */
function baseOffset(c: Cursor): { base: Reg; off: number } {
  const base = wideReg(c, "a base register (r0-r10)");
  let off = 0;
  if (c.isOp("+") || c.isOp("-")) {
    const neg = c.next().text === "-";
    const t = c.next();
    if (t.kind !== "num") return fail(t.col, `expected an offset, found ${describe(t)}`);
    off = off16(neg ? -t.value : t.value, t.col);
  }
  return { base, off };
}

/** `(rB + OFF)`. */
function memRef(c: Cursor): { base: Reg; off: number } {
  c.expectOp("(", "before the address");
  const r = baseOffset(c);
  c.expectOp(")", "to close the address");
  return r;
}

/** A register or a signed immediate operand. */
function operand(c: Cursor): { kind: "reg"; reg: Reg } | { kind: "imm"; imm: number } {
  if (c.peek().kind === "reg") return { kind: "reg", reg: reg(c) };
  const t = c.peek();
  if (t.kind !== "num" && !c.isOp("-") && !c.isOp("+")) return fail(t.col, `expected a register or an immediate, found ${describe(t)}`);
  const n = signedNumber(c, "an immediate");
  return { kind: "imm", imm: imm32(n.value, n.col) };
}

/** A jump target, with the kernel's `pc+N` spelling too. */
function jumpTarget(c: Cursor): Target {
  if (c.isIdent("pc") && (c.isOp("+", 1) || c.isOp("-", 1))) c.next();
  return parseTarget(c);
}

/** Parses one instruction (labels already consumed). */
export function parseLlvmInstruction(c: Cursor): ItemBody {
  const t = c.peek();
  if (t.kind === "ident") {
    switch (t.text) {
      case "exit":
        c.next();
        return one((pc) => ({ kind: "exit", pc }));
      case "goto":
      case "gotol":
      case "ja": {
        c.next();
        const long = t.text === "gotol";
        const tg = jumpTarget(c);
        return one((pc, resolve) => ({ kind: "ja", pc, long, off: resolve(tg, long ? 32 : 16) }));
      }
      case "call":
        c.next();
        return parseCall(c);
      case "callx": {
        c.next();
        const r = wideReg(c);
        return one((pc) => ({ kind: "callx", pc, reg: r.n }));
      }
      case "lock":
        c.next();
        return parseLock(c);
      case "if":
        c.next();
        return parseIf(c);
      case "ld_pseudo":
        c.next();
        return parseLdPseudo(c);
      default:
        return fail(t.col, `unknown instruction ${quote(t.text)}`);
    }
  }
  if (t.kind === "op" && t.text === "*") return parseStore(c);
  if (t.kind === "reg") return parseAssign(c);
  if (t.kind === "op" && t.text === "<") return fail(t.col, "llvm-objdump could not decode this instruction (<unknown>); there is nothing to assemble");
  return fail(t.col, `expected an instruction, found ${describe(t)}`);
}

function parseCall(c: Cursor): ItemBody {
  const t = c.peek();
  if (t.kind === "reg") {
    const r = wideReg(c);
    return one((pc) => ({ kind: "callx", pc, reg: r.n }));
  }
  if (c.isIdent("local") || (c.isIdent("pc") && (c.isOp("+", 1) || c.isOp("-", 1)))) {
    c.next();
    const tg = parseTarget(c);
    return one((pc, resolve) => ({ kind: "call", pc, target: "local", imm: resolve(tg, 32) }));
  }
  if (c.isIdent("kfunc")) {
    c.next();
    const n = signedNumber(c, "a kfunc BTF id");
    const imm = imm32(n.value, n.col);
    let off = 0;
    if (c.eatOp(",")) {
      const o = signedNumber(c, "a module BTF index");
      off = off16(o.value, o.col, "module BTF index");
    }
    return one((pc) => ({ kind: "call", pc, target: "kfunc", imm, off }));
  }
  if (c.isIdent("helper")) c.next();
  const p = c.peek();
  if (p.kind === "ident") fail(p.col, `calling a helper by name (${quote(p.text)}) is not supported yet; write its id (call 1)`);
  if (p.kind !== "num" && !c.isOp("-") && !c.isOp("+")) {
    fail(p.col, `expected a helper id, "local", "kfunc" or a register after "call", found ${describe(p)}`);
  }
  const n = signedNumber(c, "a helper id");
  const imm = imm32(n.value, n.col);
  return one((pc) => ({ kind: "call", pc, target: "helper", imm }));
}

function parseLock(c: Cursor): ItemBody {
  c.expectOp("*", 'after "lock"');
  const mt = memType(c);
  if (mt.signed || (mt.size !== 4 && mt.size !== 8)) fail(mt.col, "atomic operations are u32 or u64");
  const { base, off } = memRef(c);
  const o = c.next();
  const op = o.kind === "op" ? LOCK_OPS[o.text] : undefined;
  if (op === undefined) return fail(o.col, `expected "+=", "|=", "&=" or "^=", found ${describe(o)}`);
  const src = reg(c);
  if (mt.size === 8 && !src.wide) fail(src.col, `a 64-bit atomic takes an r register, found "${src.text}"`);
  const size = mt.size as 4 | 8;
  return one((pc) => ({ kind: "atomic", pc, size, op, fetch: false, dst: base.n, src: src.n, off }));
}

function parseIf(c: Cursor): ItemBody {
  const dst = reg(c);
  const o = c.next();
  const cond = o.kind === "op" ? JMP_OPS[o.text] : undefined;
  if (cond === undefined) return fail(o.col, `expected a comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &), found ${describe(o)}`);
  const src = operand(c);
  if (src.kind === "reg") sameWidth(dst, src.reg);
  c.expectIdent("goto", "after the condition");
  const tg = jumpTarget(c);
  const s = src.kind === "reg" ? { kind: "reg" as const, reg: src.reg.n } : src;
  return one((pc, resolve) => ({ kind: "jmp", pc, cond, jmp32: !dst.wide, dst: dst.n, src: s, off: resolve(tg, 16) }));
}

function parseLdPseudo(c: Cursor): ItemBody {
  const dst = wideReg(c);
  c.expectOp(",");
  const srcTok = c.peek();
  const src = signedNumber(c, "a pseudo source (0-6)");
  if (src.value < 0n || src.value > 6n) fail(srcTok.col, `ld_pseudo source ${src.value} is not one of 0-6`);
  c.expectOp(",");
  const a = signedNumber(c, "an immediate");
  const imm = imm32(a.value, a.col);
  let imm2 = 0;
  if (c.eatOp(",")) {
    const b = signedNumber(c, "the second-slot immediate");
    imm2 = imm32(b.value, b.col);
  }
  const pseudos = ["imm", "map_fd", "map_value", "btf_id", "func", "map_idx", "map_idx_value"] as const;
  const pseudo = pseudos[Number(src.value)]!;
  const value = fromHalves(imm, imm2);
  return { slots: 2, build: (pc) => ({ kind: "ld_imm64", pc, dst: dst.n, pseudo, imm, imm2, value }) };
}

function parseStore(c: Cursor): ItemBody {
  c.next(); // '*'
  const mt = memType(c);
  if (mt.signed) fail(mt.col, "stores take an unsigned access type (u8, u16, u32, u64)");
  const { base, off } = memRef(c);
  c.expectOp("=", "after the address");
  const v = operand(c);
  const size = mt.size;
  if (v.kind === "reg") {
    if (!v.reg.wide && size === 8) fail(v.reg.col, `a 64-bit store takes an r register, found "${v.reg.text}"`);
    const src = v.reg.n;
    return one((pc) => ({ kind: "stx", pc, size, dst: base.n, src, off }));
  }
  const imm = v.imm;
  return one((pc) => ({ kind: "st", pc, size, dst: base.n, off, imm }));
}

function ldImm64Item(dst: Reg, value: bigint): ItemBody {
  if (!dst.wide) fail(dst.col, `ld_imm64 loads a 64-bit register, found "${dst.text}"`);
  return { slots: 2, build: (pc) => ({ kind: "ld_imm64", pc, dst: dst.n, pseudo: "imm", imm: loOf(value), imm2: hiOf(value), value }) };
}

function pseudoItem(dst: Reg, spec: PseudoSpec): ItemBody {
  if (!dst.wide) fail(dst.col, `ld_imm64 loads a 64-bit register, found "${dst.text}"`);
  return {
    slots: 2,
    build: (pc, resolve) => {
      const imm = typeof spec.imm === "number" ? spec.imm : resolve(spec.imm, 32);
      return { kind: "ld_imm64", pc, dst: dst.n, pseudo: spec.pseudo, imm, imm2: spec.imm2, value: fromHalves(imm, spec.imm2) };
    },
  };
}

function parseAssign(c: Cursor): ItemBody {
  const dst = reg(c);
  const o = c.next();
  if (o.kind !== "op") return fail(o.col, `expected "=" or an operator such as "+=" after "${dst.text}", found ${describe(o)}`);
  if (o.text !== "=") {
    const op = ASSIGN_OPS[o.text];
    if (op === undefined) return fail(o.col, `expected "=" or an operator such as "+=" after "${dst.text}", found ${describe(o)}`);
    const src = operand(c);
    if (src.kind === "reg") sameWidth(dst, src.reg);
    const s = src.kind === "reg" ? { kind: "reg" as const, reg: src.reg.n } : src;
    return one((pc) => ({ kind: "alu", pc, op, alu64: dst.wide, dst: dst.n, src: s }));
  }
  return parseRhs(c, dst);
}

/** What follows `rD =`. */
function parseRhs(c: Cursor, dst: Reg): ItemBody {
  const t = c.peek();
  // Loads: *(u32 *)(r1 + 0), *(s8 *)(...), *(u8 *)skb[...]
  if (t.kind === "op" && t.text === "*") {
    c.next();
    const mt = memType(c);
    if (c.isIdent("skb")) return parseSkb(c, dst, mt);
    const { base, off } = memRef(c);
    if (!dst.wide && (mt.size === 8 || mt.signed)) fail(dst.col, `"${dst.text}" cannot receive a ${mt.signed ? "sign-extending" : "64-bit"} load; use an r register`);
    const size = mt.size;
    const signed = mt.signed;
    return one((pc) => ({ kind: "ldx", pc, size, signed, dst: dst.n, src: base.n, off }));
  }
  // Negation: r1 = -r1 (a negative immediate is a mov)
  if (t.kind === "op" && t.text === "-" && c.peek(1).kind === "reg") {
    c.next();
    const src = reg(c);
    sameWidth(dst, src);
    sameReg(dst, src, "negation works in place");
    return one((pc) => ({ kind: "alu", pc, op: "neg", alu64: dst.wide, dst: dst.n, src: { kind: "imm", imm: 0 } }));
  }
  // Sign-extending move: r1 = (s8)r2
  if (t.kind === "op" && t.text === "(") {
    c.next();
    const w = c.next();
    const widths: Readonly<Record<string, 8 | 16 | 32>> = { s8: 8, s16: 16, s32: 32 };
    const width = w.kind === "ident" ? widths[w.text] : undefined;
    if (width === undefined) return fail(w.col, `expected (s8), (s16) or (s32), found ${describe(w)}`);
    c.expectOp(")");
    const src = reg(c);
    sameWidth(dst, src);
    if (!dst.wide && width === 32) fail(w.col, "a 32-bit sign-extending move takes (s8) or (s16)");
    return one((pc) => ({ kind: "alu", pc, op: "movsx", alu64: dst.wide, dst: dst.n, src: { kind: "reg", reg: src.n }, extWidth: width }));
  }
  if (t.kind === "num" || (t.kind === "op" && (t.text === "-" || t.text === "+"))) {
    const n = signedNumber(c, "an immediate");
    if (c.eatIdent("ll")) return ldImm64Item(dst, imm64(n.value, n.col));
    if (dst.wide && (n.value < -(2n ** 31n) || n.value >= 2n ** 32n) && n.value >= -(2n ** 63n) && n.value < 2n ** 64n) {
      fail(n.col, `immediate ${n.value} does not fit in 32 bits; write "${dst.text} = ${n.value} ll" for a 64-bit constant`);
    }
    const imm = imm32(n.value, n.col);
    return one((pc) => ({ kind: "alu", pc, op: "mov", alu64: dst.wide, dst: dst.n, src: { kind: "imm", imm } }));
  }
  if (t.kind === "reg") {
    const src = reg(c);
    sameWidth(dst, src);
    return one((pc) => ({ kind: "alu", pc, op: "mov", alu64: dst.wide, dst: dst.n, src: { kind: "reg", reg: src.n } }));
  }
  if (t.kind === "ident") {
    if (atPseudo(c)) {
      const spec = parsePseudo(c);
      c.eatIdent("ll");
      return pseudoItem(dst, spec);
    }
    const end = /^(be|le|bswap)(16|32|64)$/.exec(t.text);
    if (end !== null) {
      c.next();
      const src = reg(c);
      sameReg(dst, src, "byte swaps work in place");
      const order = end[1] as "be" | "le" | "bswap";
      const width = Number(end[2]) as 16 | 32 | 64;
      return one((pc) => ({ kind: "end", pc, order, width, dst: dst.n }));
    }
    return parseAtomicCall(c, dst, t);
  }
  return fail(t.col, `expected a value after "=", found ${describe(t)}`);
}

function parseSkb(c: Cursor, dst: Reg, mt: { size: MemSize; signed: boolean; col: number }): ItemBody {
  c.next(); // skb
  if (mt.signed || mt.size === 8) fail(mt.col, "legacy packet loads are u8, u16 or u32");
  if (!dst.wide || dst.n !== 0) fail(dst.col, `legacy packet loads always write r0, found "${dst.text}"`);
  const size = mt.size as 1 | 2 | 4;
  c.expectOp("[", 'after "skb"');
  if (c.peek().kind === "reg") {
    const src = wideReg(c);
    let imm = 0;
    if (c.isOp("+") || c.isOp("-")) {
      const neg = c.next().text === "-";
      const n = c.next();
      if (n.kind !== "num") return fail(n.col, `expected an offset, found ${describe(n)}`);
      imm = imm32(neg ? -n.value : n.value, n.col);
    }
    c.expectOp("]");
    return one((pc) => ({ kind: "ld_ind", pc, size, src: src.n, imm }));
  }
  const n = signedNumber(c, "a packet offset");
  const imm = imm32(n.value, n.col);
  c.expectOp("]");
  return one((pc) => ({ kind: "ld_abs", pc, size, src: 0, imm }));
}

/** atomic_fetch_add(...), xchg_64(...), cmpxchg32_32(...) and the kernel's atomic64_* spellings. */
function parseAtomicCall(c: Cursor, dst: Reg, name: Token): ItemBody {
  c.next();
  const fetch = /^atomic(64)?_fetch_(add|or|and|xor)$/.exec(name.text);
  const llvmX = /^(xchg|cmpxchg)(_64|32_32)$/.exec(name.text);
  const kernX = /^atomic(64)?_(xchg|cmpxchg)$/.exec(name.text);
  if (fetch === null && llvmX === null && kernX === null) return fail(name.col, `unknown operation ${quote(name.text)}`);
  c.expectOp("(", `after ${name.text}`);
  let size: 4 | 8;
  let base: Reg;
  let off: number;
  if (llvmX !== null) {
    size = llvmX[2] === "_64" ? 8 : 4;
    ({ base, off } = baseOffset(c));
  } else {
    const mt = memType(c);
    if (mt.signed || (mt.size !== 4 && mt.size !== 8)) return fail(mt.col, "atomic operations are u32 or u64");
    const is64 = (fetch ?? kernX)![1] === "64";
    if (is64 && mt.size !== 8) fail(mt.col, `${name.text} works on u64`);
    if (kernX !== null && !is64 && mt.size !== 4) fail(mt.col, `${name.text} works on u32 (atomic64_${kernX[2]} on u64)`);
    size = mt.size;
    ({ base, off } = memRef(c));
  }
  c.expectOp(",");
  const kind = fetch !== null ? "fetch" : (llvmX ?? kernX)![llvmX !== null ? 1 : 2]!;
  const checkWidth = (r: Reg): void => {
    if (size === 8 && !r.wide) fail(r.col, `a 64-bit atomic takes r registers, found "${r.text}"`);
  };
  checkWidth(dst);
  if (kind === "cmpxchg") {
    if (dst.n !== 0) fail(dst.col, `cmpxchg returns the old value in r0, found "${dst.text}"`);
    const r0 = reg(c, "r0 (the compared value)");
    if (r0.n !== 0) fail(r0.col, `cmpxchg compares against r0, found "${r0.text}"`);
    c.expectOp(",");
    const src = reg(c);
    checkWidth(src);
    c.expectOp(")", `to close ${name.text}(`);
    return one((pc) => ({ kind: "atomic", pc, size, op: "cmpxchg", fetch: true, dst: base.n, src: src.n, off }));
  }
  const src = reg(c);
  checkWidth(src);
  sameReg(dst, src, "the old value is returned in the source register");
  c.expectOp(")", `to close ${name.text}(`);
  const op: AtomicOp = fetch !== null ? (fetch[2] as AtomicOp) : "xchg";
  return one((pc) => ({ kind: "atomic", pc, size, op, fetch: true, dst: base.n, src: src.n, off }));
}
