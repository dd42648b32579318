/**
 * Text forms of a cBPF program, as tcpdump prints them (libpcap 1.10's bpf_dump() and
 * bpf_image()):
 *
 *   -d    (000) ldh      [12]
 *         (001) jeq      #0x800           jt 2	jf 5          "(%03d) %-8s %-16s jt %d\tjf %d"
 *         (004) tax                                            "(%03d) %-8s %s", empty operand
 *   -dd   { 0x28, 0, 0, 0x0000000c },                          "{ 0x%x, %d, %d, 0x%08x },"
 *   -ddd  4                                                    count, then "%u %u %u %u"
 *         40 0 0 12
 *
 * Byte-for-byte as libpcap 1.10.3 (the tcpdump 4.99 of Debian 12) prints them, with one
 * deliberate exception: `ldx #pktlen` (BPF_LDX|BPF_W|BPF_LEN, 0x81), which 1.10.3 prints
 * as `unimp 0x81` and later libpcap as `ldx #pktlen`; the later form is used. libpcap's
 * compiler never emits 0x81, so no tcpdump -d listing can show the difference.
 *
 * The parsers read -dd (C initialisers, as many per line as present) and -ddd (also
 * the comma-separated one-line form `4,40 0 0 12,...` of iptables' xt_bpf --bytecode).
 */
import { CbpfError } from "../errors/index.js";
import * as C from "./constants.js";
import type { SockFilter } from "./constants.js";

const s32 = (k: number): number => k | 0;
const hex = (k: number): string => (k >>> 0).toString(16);

function absOperand(k: number): string {
  const off = s32(k);
  if (off >= C.SKF_AD_OFF && off < C.SKF_AD_OFF + C.SKF_AD_MAX) {
    const name = C.SKF_AD_NAMES[off - C.SKF_AD_OFF];
    if (name !== undefined) return `[${name}]`;
  }
  return `[${off}]`;
}

/** libpcap's bpf_image(): one line of `tcpdump -d`, without the newline. */
export function formatInsn(f: SockFilter, n: number): string {
  const k = f.k >>> 0;
  let op: string;
  let operand: string;
  switch (f.code) {
    case C.BPF_RET | C.BPF_K: [op, operand] = ["ret", `#${s32(k)}`]; break;
    case C.BPF_RET | C.BPF_A: [op, operand] = ["ret", ""]; break;
    case C.BPF_LD | C.BPF_W | C.BPF_ABS: [op, operand] = ["ld", absOperand(k)]; break;
    case C.BPF_LD | C.BPF_H | C.BPF_ABS: [op, operand] = ["ldh", absOperand(k)]; break;
    case C.BPF_LD | C.BPF_B | C.BPF_ABS: [op, operand] = ["ldb", absOperand(k)]; break;
    case C.BPF_LD | C.BPF_W | C.BPF_LEN: [op, operand] = ["ld", "#pktlen"]; break;
    case C.BPF_LDX | C.BPF_W | C.BPF_LEN: [op, operand] = ["ldx", "#pktlen"]; break;
    case C.BPF_LD | C.BPF_W | C.BPF_IND: [op, operand] = ["ld", `[x + ${s32(k)}]`]; break;
    case C.BPF_LD | C.BPF_H | C.BPF_IND: [op, operand] = ["ldh", `[x + ${s32(k)}]`]; break;
    case C.BPF_LD | C.BPF_B | C.BPF_IND: [op, operand] = ["ldb", `[x + ${s32(k)}]`]; break;
    case C.BPF_LD | C.BPF_IMM: [op, operand] = ["ld", `#0x${hex(k)}`]; break;
    case C.BPF_LDX | C.BPF_IMM: [op, operand] = ["ldx", `#0x${hex(k)}`]; break;
    case C.BPF_LDX | C.BPF_MSH | C.BPF_B: [op, operand] = ["ldxb", `4*([${s32(k)}]&0xf)`]; break;
    case C.BPF_LD | C.BPF_MEM: [op, operand] = ["ld", `M[${s32(k)}]`]; break;
    case C.BPF_LDX | C.BPF_MEM: [op, operand] = ["ldx", `M[${s32(k)}]`]; break;
    case C.BPF_ST: [op, operand] = ["st", `M[${s32(k)}]`]; break;
    case C.BPF_STX: [op, operand] = ["stx", `M[${s32(k)}]`]; break;
    case C.BPF_JMP | C.BPF_JA: [op, operand] = ["ja", `${s32(n + 1 + k)}`]; break;
    case C.BPF_JMP | C.BPF_JGT | C.BPF_K: [op, operand] = ["jgt", `#0x${hex(k)}`]; break;
    case C.BPF_JMP | C.BPF_JGE | C.BPF_K: [op, operand] = ["jge", `#0x${hex(k)}`]; break;
    case C.BPF_JMP | C.BPF_JEQ | C.BPF_K: [op, operand] = ["jeq", `#0x${hex(k)}`]; break;
    case C.BPF_JMP | C.BPF_JSET | C.BPF_K: [op, operand] = ["jset", `#0x${hex(k)}`]; break;
    case C.BPF_JMP | C.BPF_JGT | C.BPF_X: [op, operand] = ["jgt", "x"]; break;
    case C.BPF_JMP | C.BPF_JGE | C.BPF_X: [op, operand] = ["jge", "x"]; break;
    case C.BPF_JMP | C.BPF_JEQ | C.BPF_X: [op, operand] = ["jeq", "x"]; break;
    case C.BPF_JMP | C.BPF_JSET | C.BPF_X: [op, operand] = ["jset", "x"]; break;
    case C.BPF_ALU | C.BPF_ADD | C.BPF_X: [op, operand] = ["add", "x"]; break;
    case C.BPF_ALU | C.BPF_SUB | C.BPF_X: [op, operand] = ["sub", "x"]; break;
    case C.BPF_ALU | C.BPF_MUL | C.BPF_X: [op, operand] = ["mul", "x"]; break;
    case C.BPF_ALU | C.BPF_DIV | C.BPF_X: [op, operand] = ["div", "x"]; break;
    case C.BPF_ALU | C.BPF_MOD | C.BPF_X: [op, operand] = ["mod", "x"]; break;
    case C.BPF_ALU | C.BPF_AND | C.BPF_X: [op, operand] = ["and", "x"]; break;
    case C.BPF_ALU | C.BPF_OR | C.BPF_X: [op, operand] = ["or", "x"]; break;
    case C.BPF_ALU | C.BPF_XOR | C.BPF_X: [op, operand] = ["xor", "x"]; break;
    case C.BPF_ALU | C.BPF_LSH | C.BPF_X: [op, operand] = ["lsh", "x"]; break;
    case C.BPF_ALU | C.BPF_RSH | C.BPF_X: [op, operand] = ["rsh", "x"]; break;
    case C.BPF_ALU | C.BPF_ADD | C.BPF_K: [op, operand] = ["add", `#${s32(k)}`]; break;
    case C.BPF_ALU | C.BPF_SUB | C.BPF_K: [op, operand] = ["sub", `#${s32(k)}`]; break;
    case C.BPF_ALU | C.BPF_MUL | C.BPF_K: [op, operand] = ["mul", `#${s32(k)}`]; break;
    case C.BPF_ALU | C.BPF_DIV | C.BPF_K: [op, operand] = ["div", `#${s32(k)}`]; break;
    case C.BPF_ALU | C.BPF_MOD | C.BPF_K: [op, operand] = ["mod", `#${s32(k)}`]; break;
    case C.BPF_ALU | C.BPF_AND | C.BPF_K: [op, operand] = ["and", `#0x${hex(k)}`]; break;
    case C.BPF_ALU | C.BPF_OR | C.BPF_K: [op, operand] = ["or", `#0x${hex(k)}`]; break;
    case C.BPF_ALU | C.BPF_XOR | C.BPF_K: [op, operand] = ["xor", `#0x${hex(k)}`]; break;
    case C.BPF_ALU | C.BPF_LSH | C.BPF_K: [op, operand] = ["lsh", `#${s32(k)}`]; break;
    case C.BPF_ALU | C.BPF_RSH | C.BPF_K: [op, operand] = ["rsh", `#${s32(k)}`]; break;
    case C.BPF_ALU | C.BPF_NEG: [op, operand] = ["neg", ""]; break;
    case C.BPF_MISC | C.BPF_TAX: [op, operand] = ["tax", ""]; break;
    case C.BPF_MISC | C.BPF_TXA: [op, operand] = ["txa", ""]; break;
    default: [op, operand] = ["unimp", `0x${f.code.toString(16)}`];
  }
  const idx = String(n).padStart(3, "0");
  if (C.BPF_CLASS(f.code) === C.BPF_JMP && C.BPF_OP(f.code) !== C.BPF_JA) {
    return `(${idx}) ${op.padEnd(8)} ${operand.padEnd(16)} jt ${n + 1 + f.jt}\tjf ${n + 1 + f.jf}`;
  }
  return `(${idx}) ${op.padEnd(8)} ${operand}`;
}

/** `tcpdump -d`: one line per instruction, each ending in "\n". */
export function formatListing(prog: readonly SockFilter[]): string {
  let out = "";
  for (let i = 0; i < prog.length; i++) out += formatInsn(prog[i]!, i) + "\n";
  return out;
}

/** `tcpdump -dd`: C initialisers. */
export function formatC(prog: readonly SockFilter[]): string {
  let out = "";
  for (const f of prog) out += `{ 0x${f.code.toString(16)}, ${f.jt}, ${f.jf}, 0x${(f.k >>> 0).toString(16).padStart(8, "0")} },\n`;
  return out;
}

/** `tcpdump -ddd`: the count, then one "code jt jf k" line per instruction, in decimal. */
export function formatDecimal(prog: readonly SockFilter[]): string {
  let out = `${prog.length}\n`;
  for (const f of prog) out += `${f.code} ${f.jt} ${f.jf} ${f.k >>> 0}\n`;
  return out;
}

/** Parses a C integer literal (decimal, 0x hex, 0 octal; optional u/l suffixes). */
function cInt(tok: string, line: number, max: number, what: string): number {
  const t = tok.trim().replace(/[uUlL]+$/, "");
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) v = parseInt(t.slice(2), 16);
  else if (/^0[0-7]+$/.test(t)) v = parseInt(t.slice(1), 8);
  else if (/^[0-9]+$/.test(t)) v = parseInt(t, 10);
  else throw new CbpfError("syntax", `bad ${what} "${tok.trim()}": not an integer`, { line });
  if (v > max) throw new CbpfError("syntax", `${what} ${tok.trim()} does not fit (max ${max})`, { line });
  return v;
}

const lineOf = (text: string, at: number): number => {
  let n = 1;
  for (let i = 0; i < at; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
};

/**
 * Parses `tcpdump -dd` output: `{ code, jt, jf, k },` initialisers. Comments and text
 * outside the braces (a `struct sock_filter code[] = {` line, for instance) are ignored.
 */
export function parseC(text: string): SockFilter[] {
  const src = text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " ")).replace(/\/\/[^\n]*/g, "");
  const out: SockFilter[] = [];
  const re = /\{([^{}]*)\}/g;
  for (let m = re.exec(src); m !== null; m = re.exec(src)) {
    const line = lineOf(src, m.index);
    const parts = m[1]!.split(",").map((p) => p.trim());
    if (parts.length === 5 && parts[4] === "") parts.pop();
    if (parts.length !== 4) throw new CbpfError("syntax", `expected { code, jt, jf, k }, got {${m[1]}}`, { line });
    out.push({
      code: cInt(parts[0]!, line, 0xffff, "code"),
      jt: cInt(parts[1]!, line, 0xff, "jt"),
      jf: cInt(parts[2]!, line, 0xff, "jf"),
      k: cInt(parts[3]!, line, 0xffffffff, "k"),
    });
  }
  if (out.length === 0 && src.trim() !== "") throw new CbpfError("syntax", "no { code, jt, jf, k } initialiser found", { line: 1 });
  return out;
}

/**
 * Parses `tcpdump -ddd` output: a count, then that many "code jt jf k" groups in
 * decimal, separated by newlines or commas.
 */
export function parseDecimal(text: string): SockFilter[] {
  const records: { fields: string[]; line: number }[] = [];
  const lines = text.split("\n");
  lines.forEach((l, i) => {
    for (const rec of l.split(",")) {
      const fields = rec.trim().split(/\s+/).filter((x) => x !== "");
      if (fields.length > 0) records.push({ fields, line: i + 1 });
    }
  });
  const head = records[0];
  if (head === undefined) throw new CbpfError("syntax", "empty program text", { line: 1 });
  if (head.fields.length !== 1) throw new CbpfError("syntax", "the first number must be the instruction count", { line: head.line });
  const count = cInt(head.fields[0]!, head.line, C.BPF_MAXINSNS * 16, "instruction count");
  const body = records.slice(1);
  if (body.length !== count) {
    const last = body[body.length - 1];
    throw new CbpfError("syntax", `the count says ${count} instructions, but ${body.length} follow`, { line: last?.line ?? head.line });
  }
  return body.map(({ fields, line }) => {
    if (fields.length !== 4) throw new CbpfError("syntax", `expected "code jt jf k", got "${fields.join(" ")}"`, { line });
    if (fields.some((f) => !/^[0-9]+$/.test(f))) throw new CbpfError("syntax", `expected 4 decimal numbers, got "${fields.join(" ")}"`, { line });
    return {
      code: cInt(fields[0]!, line, 0xffff, "code"),
      jt: cInt(fields[1]!, line, 0xff, "jt"),
      jf: cInt(fields[2]!, line, 0xff, "jf"),
      k: cInt(fields[3]!, line, 0xffffffff, "k"),
    };
  });
}

/** Either form: `{` means -dd, otherwise -ddd. */
export function parseProgramText(text: string): SockFilter[] {
  return text.includes("{") ? parseC(text) : parseDecimal(text);
}
