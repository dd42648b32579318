/**
 * Spellings of the ld_imm64 pseudo sources (src_reg of BPF_LD|BPF_IMM|BPF_DW,
 * include/uapi/linux/bpf.h), accepted by both assemblers:
 *
 *   function style (tsbpf; what formatUbpf prints)   bpftool style (what formatXlated prints)
 *   map_fd(FD)                  src 1                 map[id:ID]  map[fd:FD]
 *   map_value(FD, OFF)          src 2                 map[id:ID][0]+OFF
 *   btf_id(ID[, BTF_FD])        src 3                 -
 *   func(+N | -N | label)       src 4                 subprog[+N]  subprog[label]
 *   map_idx(IDX)                src 5                 map[idx:IDX]
 *   map_idx_value(IDX, OFF)     src 6                 map[idx:IDX]+OFF
 *
 * The second argument is the imm of the second slot; it may be given for every
 * kind (default 0), so any encoding has a spelling. LLVM's own
 * `ld_pseudo rD, SRC, IMM` (what llvm-objdump prints) is parsed by the LLVM-syntax
 * assembler itself.
 */
import type { LdImm64Pseudo } from "../isa/index.js";
import { fail, quote } from "./diagnostics.js";
import { describe, type Cursor } from "./lexer.js";
import { imm32, type Target } from "./program.js";

export interface PseudoSpec {
  readonly pseudo: Exclude<LdImm64Pseudo, "imm">;
  /** imm of the first slot, or for func a target resolved at fix-up time. */
  readonly imm: number | Target;
  readonly imm2: number;
}

export const PSEUDO_FUNCTION_NAMES: Readonly<Record<Exclude<LdImm64Pseudo, "imm">, string>> = {
  map_fd: "map_fd",
  map_value: "map_value",
  btf_id: "btf_id",
  func: "func",
  map_idx: "map_idx",
  map_idx_value: "map_idx_value",
};

const BY_NAME = new Map(Object.entries(PSEUDO_FUNCTION_NAMES).map(([k, v]) => [v, k as PseudoSpec["pseudo"]]));

/** True when the cursor is at the start of a pseudo form. */
export function atPseudo(c: Cursor): boolean {
  const t = c.peek();
  if (t.kind !== "ident") return false;
  if (BY_NAME.has(t.text)) return c.isOp("(", 1);
  return (t.text === "map" || t.text === "subprog") && c.isOp("[", 1);
}

/** An integer with an optional sign. */
export function signedNumber(c: Cursor, what: string): { value: bigint; col: number } {
  const start = c.peek();
  let neg = false;
  if (c.eatOp("-")) neg = true;
  else c.eatOp("+");
  const t = c.next();
  if (t.kind !== "num") return fail(t.col, `expected ${what}, found ${describe(t)}`);
  return { value: neg ? -t.value : t.value, col: start.col };
}

/** A jump or call target: `+N`, `-N`, a bare number (LLVM reads it as the offset) or a label. */
export function target(c: Cursor, allowBare = true): Target {
  const t = c.peek();
  if (t.kind === "ident") {
    c.next();
    return { kind: "label", name: t.text, col: t.col };
  }
  if ((t.kind === "op" && (t.text === "+" || t.text === "-")) || (allowBare && t.kind === "num")) {
    const n = signedNumber(c, "a jump offset");
    return { kind: "rel", off: n.value, col: n.col };
  }
  return fail(t.col, `expected a jump target (+N, -N or a label), found ${describe(t)}`);
}

export function parsePseudo(c: Cursor): PseudoSpec {
  const head = c.next();
  if (head.kind !== "ident") return fail(head.col, "expected a pseudo ld_imm64 form");
  if (head.text === "map") return bpftoolMap(c);
  if (head.text === "subprog") {
    c.expectOp("[");
    const t = target(c);
    c.expectOp("]", "after the subprog target");
    return { pseudo: "func", imm: t, imm2: 0 };
  }
  const pseudo = BY_NAME.get(head.text);
  if (pseudo === undefined) return fail(head.col, `unknown pseudo form ${quote(head.text)}`);
  c.expectOp("(", `after ${head.text}`);
  let imm: number | Target;
  if (pseudo === "func") imm = target(c);
  else {
    const n = signedNumber(c, `the ${head.text} argument`);
    imm = imm32(n.value, n.col);
  }
  let imm2 = 0;
  if (c.eatOp(",")) {
    const n = signedNumber(c, "the second-slot immediate");
    imm2 = imm32(n.value, n.col);
  } else if (pseudo === "map_value" || pseudo === "map_idx_value") {
    const t = c.peek();
    fail(t.col, `expected ", OFFSET" (the offset into the map value) in ${head.text}(...), found ${describe(t)}`);
  }
  c.expectOp(")", `to close ${head.text}(`);
  return { pseudo, imm, imm2 };
}

function bpftoolMap(c: Cursor): PseudoSpec {
  c.expectOp("[");
  const kind = c.next();
  if (kind.kind !== "ident" || (kind.text !== "id" && kind.text !== "fd" && kind.text !== "idx")) {
    return fail(kind.col, `expected "id:", "fd:" or "idx:" in map[...], found ${describe(kind)}`);
  }
  c.expectOp(":");
  const n = signedNumber(c, "a map id");
  const imm = imm32(n.value, n.col);
  c.expectOp("]");
  if (kind.text === "idx") {
    if (c.eatOp("+")) {
      const o = signedNumber(c, "an offset into the map value");
      return { pseudo: "map_idx_value", imm, imm2: imm32(o.value, o.col) };
    }
    return { pseudo: "map_idx", imm, imm2: 0 };
  }
  if (c.eatOp("[")) {
    const z = c.next();
    if (z.kind !== "num" || z.value !== 0n) fail(z.col, `expected "[0]" (bpftool's spelling of a map value address), found ${describe(z)}`);
    c.expectOp("]");
    c.expectOp("+", "before the offset into the map value");
    const o = signedNumber(c, "an offset into the map value");
    return { pseudo: "map_value", imm, imm2: imm32(o.value, o.col) };
  }
  return { pseudo: "map_fd", imm, imm2: 0 };
}
