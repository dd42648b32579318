/**
 * A second cBPF engine: the program compiled to a JavaScript function, which V8 then
 * compiles to machine code. Same semantics as the interpreter (libpcap's bpf_filter(),
 * see interp.ts), several times faster, because there is no dispatch at all:
 *
 * - a cBPF program with forward jumps only is a DAG, so it becomes structured code:
 *   every jump target t gets a labelled block `L<t>: { ... }` that opens at the start
 *   of the function and closes just before t, and a jump from i < t is `break L<t>`;
 * - a jump to `ret #k` is `return k`; A and X are int32 locals and M[0..15] are locals
 *   m0..m15 (zero-initialised);
 * - the generated text contains nothing but this fixed vocabulary and decimal numbers
 *   taken from the validated program.
 *
 * Not compiled (compileToJs returns undefined, and compileFilter falls back to the
 * interpreter): programs with a backward `ja` (libpcap's protochain loop), programs
 * with more than MAX_LABELS jump targets (to stay far from parser nesting limits), and
 * environments where `new Function` is forbidden (a Content-Security-Policy without
 * 'unsafe-eval').
 */
import { CbpfError } from "../errors/index.js";
import * as C from "./constants.js";
import type { SockFilter } from "./constants.js";
import { findFilterError, isKernelOpcode } from "./check.js";
import { CbpfProgram, type InterpreterOptions } from "./interp.js";

/** The filter function: packet bytes at pkt[offset .. offset + caplen), wire length; returns the u32 verdict. */
export type CbpfFilterFn = (pkt: Uint8Array, wirelen: number, caplen: number, offset: number) => number;

export const MAX_LABELS = 1000;

/** What both engines offer. */
export interface CbpfFilter {
  readonly engine: "interp" | "js" | "ebpf" | "jit";
  run(pkt: Uint8Array, wirelen: number, caplen: number, offset: number): number;
  matches(p: { readonly buffer: Uint8Array; readonly dataOffset: number; readonly caplen: number; readonly len: number }): boolean;
}

/** The JavaScript source of the filter's body (parameters p, wirelen, caplen, o), or undefined when not compilable. */
export function generateJs(prog: readonly SockFilter[]): string | undefined {
  const e = findFilterError(prog);
  if (e !== undefined) throw e;
  const bad = prog.findIndex((f) => !isKernelOpcode(f.code));
  if (bad >= 0) throw new CbpfError("unknown_opcode", `unknown opcode 0x${prog[bad]!.code.toString(16)}`, { pc: bad });
  const n = prog.length;
  const targetOf = (f: SockFilter, i: number, which: "jt" | "jf" | "k"): number => i + 1 + (which === "k" ? f.k | 0 : f[which]);
  // Jump targets that need a label (a jump to the next instruction, or to a ret, does not).
  const isRet = (t: number): boolean => C.BPF_CLASS(prog[t]!.code) === C.BPF_RET;
  const labels = new Set<number>();
  for (let i = 0; i < n; i++) {
    const f = prog[i]!;
    if (C.BPF_CLASS(f.code) !== C.BPF_JMP) continue;
    const ts = f.code === (C.BPF_JMP | C.BPF_JA) ? [targetOf(f, i, "k")] : [targetOf(f, i, "jt"), targetOf(f, i, "jf")];
    for (const t of ts) {
      if (t <= i) return undefined; // backward: left to the interpreter
      if (t !== i + 1 && !isRet(t)) labels.add(t);
    }
  }
  if (labels.size > MAX_LABELS) return undefined;
  const u = (k: number): string => String(k >>> 0);
  const s = (k: number): string => String(k | 0);
  const ret = (f: SockFilter): string => (f.code === (C.BPF_RET | C.BPF_A) ? "return A >>> 0;" : `return ${u(f.k)};`);
  const goto = (i: number, t: number): string => (t === i + 1 ? "" : isRet(t) ? ret(prog[t]!) : `break L${t};`);
  const memUsed = new Set<number>();
  const out: string[] = [];
  const sorted = [...labels].sort((a, b) => b - a);
  out.push(sorted.map((t) => `L${t}: {`).join(" "));
  for (let i = 0; i < n; i++) {
    if (labels.has(i)) out.push(`} // ${i}`);
    const f = prog[i]!;
    const k = f.k >>> 0;
    const load = (size: 1 | 2 | 4, ind: boolean): string => {
      const at = ind ? "t" : u(k);
      // X is an int32 holding a u32: X < 0 means X >= 2^31, always out of bounds.
      const head = ind ? `t = X + ${u(k)}; if (X < 0 || t + ${size} > caplen) return 0; ` : `if (${k + size} > caplen) return 0; `;
      if (size === 1) return `${head}A = p[o + ${at}];`;
      if (size === 2) return `${head}A = (p[o + ${at}] << 8) | p[o + ${at} + 1];`;
      return `${head}A = (p[o + ${at}] << 24) | (p[o + ${at} + 1] << 16) | (p[o + ${at} + 2] << 8) | p[o + ${at} + 3];`;
    };
    const src = C.BPF_SRC(f.code) === C.BPF_X;
    let line: string;
    switch (f.code) {
      case C.BPF_RET | C.BPF_K:
      case C.BPF_RET | C.BPF_A: line = ret(f); break;
      case C.BPF_LD | C.BPF_W | C.BPF_ABS: line = load(4, false); break;
      case C.BPF_LD | C.BPF_H | C.BPF_ABS: line = load(2, false); break;
      case C.BPF_LD | C.BPF_B | C.BPF_ABS: line = load(1, false); break;
      case C.BPF_LD | C.BPF_W | C.BPF_IND: line = load(4, true); break;
      case C.BPF_LD | C.BPF_H | C.BPF_IND: line = load(2, true); break;
      case C.BPF_LD | C.BPF_B | C.BPF_IND: line = load(1, true); break;
      case C.BPF_LDX | C.BPF_B | C.BPF_MSH: line = `if (${k + 1} > caplen) return 0; X = (p[o + ${u(k)}] & 15) << 2;`; break;
      case C.BPF_LD | C.BPF_W | C.BPF_LEN: line = "A = wirelen | 0;"; break;
      case C.BPF_LDX | C.BPF_W | C.BPF_LEN: line = "X = wirelen | 0;"; break;
      case C.BPF_LD | C.BPF_IMM: line = `A = ${s(k)};`; break;
      case C.BPF_LDX | C.BPF_IMM: line = `X = ${s(k)};`; break;
      case C.BPF_LD | C.BPF_MEM: memUsed.add(k); line = `A = m${k};`; break;
      case C.BPF_LDX | C.BPF_MEM: memUsed.add(k); line = `X = m${k};`; break;
      case C.BPF_ST: memUsed.add(k); line = `m${k} = A;`; break;
      case C.BPF_STX: memUsed.add(k); line = `m${k} = X;`; break;
      case C.BPF_MISC | C.BPF_TAX: line = "X = A;"; break;
      case C.BPF_MISC | C.BPF_TXA: line = "A = X;"; break;
      case C.BPF_ALU | C.BPF_NEG: line = "A = -A | 0;"; break;
      case C.BPF_JMP | C.BPF_JA: line = goto(i, targetOf(f, i, "k")); break;
      default:
        if (C.BPF_CLASS(f.code) === C.BPF_ALU) {
          const b = src ? "X" : s(k);
          const bu = src ? "(X >>> 0)" : u(k);
          switch (C.BPF_OP(f.code)) {
            case C.BPF_ADD: line = `A = (A + ${b}) | 0;`; break;
            case C.BPF_SUB: line = `A = (A - ${b}) | 0;`; break;
            case C.BPF_MUL: line = `A = Math.imul(A, ${b});`; break;
            case C.BPF_DIV: line = `${src ? "if (X === 0) return 0; " : ""}A = ((A >>> 0) / ${bu}) | 0;`; break;
            case C.BPF_MOD: line = `${src ? "if (X === 0) return 0; " : ""}A = ((A >>> 0) % ${bu}) | 0;`; break;
            case C.BPF_AND: line = `A &= ${b};`; break;
            case C.BPF_OR: line = `A |= ${b};`; break;
            case C.BPF_XOR: line = `A ^= ${b};`; break;
            case C.BPF_LSH: line = src ? "A = (X >>> 0) < 32 ? A << X : 0;" : `A <<= ${k & 31};`; break;
            default: line = src ? "A = (X >>> 0) < 32 ? (A >>> X) | 0 : 0;" : `A = (A >>> ${k & 31}) | 0;`; break; // BPF_RSH
          }
        } else {
          const b = src ? "(X >>> 0)" : u(k);
          let cond: string;
          switch (C.BPF_OP(f.code)) {
            case C.BPF_JEQ: cond = src ? "A === X" : `A === ${s(k)}`; break;
            case C.BPF_JGT: cond = `(A >>> 0) > ${b}`; break;
            case C.BPF_JGE: cond = `(A >>> 0) >= ${b}`; break;
            default: cond = `(A & ${src ? "X" : s(k)}) !== 0`; break; // BPF_JSET
          }
          const gt = goto(i, targetOf(f, i, "jt"));
          const gf = goto(i, targetOf(f, i, "jf"));
          line = gt === "" ? (gf === "" ? "" : `if (!(${cond})) { ${gf} }`) : `if (${cond}) { ${gt} } ${gf}`;
        }
    }
    out.push(`${line} // ${i}`);
  }
  const mems = [...memUsed].sort((a, b) => a - b).map((m) => `m${m} = 0`);
  const decl = `let A = 0, X = 0, t = 0${mems.length > 0 ? ", " + mems.join(", ") : ""};`;
  return `"use strict";\n${decl}\n${out.join("\n")}\nreturn 0;`;
}

/** Compiles to a JS function, or undefined when not possible (see the file header). */
export function compileToJs(prog: readonly SockFilter[]): CbpfFilterFn | undefined {
  const body = generateJs(prog);
  if (body === undefined) return undefined;
  try {
    return new Function("p", "wirelen", "caplen", "o", body) as CbpfFilterFn;
  } catch {
    return undefined; // eval forbidden (CSP), or a parser limit
  }
}

class JsFilter implements CbpfFilter {
  readonly engine = "js" as const;
  constructor(private readonly fn: CbpfFilterFn) {}
  run(pkt: Uint8Array, wirelen: number, caplen: number, offset: number): number {
    return this.fn(pkt, wirelen, caplen, offset);
  }
  matches(p: { readonly buffer: Uint8Array; readonly dataOffset: number; readonly caplen: number; readonly len: number }): boolean {
    return this.fn(p.buffer, p.len, p.caplen, p.dataOffset) !== 0;
  }
}

export interface FilterOptions extends InterpreterOptions {
  /** "auto" (default): JS when possible, else the interpreter. */
  readonly engine?: "auto" | "interp" | "js";
}

/** Validates and prepares a filter on the requested engine. */
export function compileFilter(prog: readonly SockFilter[], opts: FilterOptions = {}): CbpfFilter {
  const engine = opts.engine ?? "auto";
  if (engine !== "interp") {
    const fn = compileToJs(prog);
    if (fn !== undefined) return new JsFilter(fn);
    if (engine === "js") throw new CbpfError("unsupported", "this program cannot be compiled to JavaScript (backward jump, too many labels, or eval is forbidden)");
  }
  return new CbpfProgram(prog, opts);
}
