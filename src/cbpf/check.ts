/**
 * The two validity rules for classic BPF programs:
 *
 * - checkClassic(): the Linux kernel's, i.e. bpf_check_basics_ok() + bpf_check_classic()
 *   + check_load_and_stores() in net/core/filter.c, in the kernel's order, so the first
 *   error reported is the one that made the kernel return -EINVAL. The kernel prints no
 *   message; the reasons here paraphrase its comments, and `reason` is a stable tag.
 *   Jumps are unsigned, so every jump goes forward.
 *
 * - validateFilter(): libpcap's pcap_validate_filter() (bpf_filter.c), what userland
 *   libpcap requires before interpreting a program. It is weaker: no scratch-memory
 *   initialisation check, no shift-range check, no ancillary-load check, and a `ja` may
 *   go backwards (k read as signed), because libpcap implements `ip6 protochain` with a
 *   backward jump. Such programs run in libpcap and in our interpreter but the kernel
 *   rejects them.
 */
import { CbpfError } from "../errors/index.js";
import * as C from "./constants.js";
import type { SockFilter } from "./constants.js";

export type CheckReason =
  | "empty" // flen == 0
  | "too_long" // flen > BPF_MAXINSNS
  | "unknown_opcode" // !chk_code_allowed(code)
  | "div_by_zero" // BPF_DIV/BPF_MOD with K == 0
  | "shift_too_large" // BPF_LSH/BPF_RSH with K >= 32
  | "bad_mem_index" // M[k] with k >= BPF_MEMWORDS
  | "jump_out_of_range" // a target beyond the last instruction
  | "unknown_ancillary" // absolute load at k >= SKF_AD_OFF that names no extension
  | "no_ret" // the last instruction is not a RET
  | "uninit_mem"; // M[k] read on a path where it was not written (check_load_and_stores)

/** The codes chk_code_allowed() accepts. */
const ALLOWED: ReadonlySet<number> = new Set([
  ...[C.BPF_ADD, C.BPF_SUB, C.BPF_MUL, C.BPF_DIV, C.BPF_MOD, C.BPF_AND, C.BPF_OR, C.BPF_XOR, C.BPF_LSH, C.BPF_RSH].flatMap((op) => [
    C.BPF_ALU | op | C.BPF_K,
    C.BPF_ALU | op | C.BPF_X,
  ]),
  C.BPF_ALU | C.BPF_NEG,
  C.BPF_LD | C.BPF_W | C.BPF_ABS,
  C.BPF_LD | C.BPF_H | C.BPF_ABS,
  C.BPF_LD | C.BPF_B | C.BPF_ABS,
  C.BPF_LD | C.BPF_W | C.BPF_LEN,
  C.BPF_LD | C.BPF_W | C.BPF_IND,
  C.BPF_LD | C.BPF_H | C.BPF_IND,
  C.BPF_LD | C.BPF_B | C.BPF_IND,
  C.BPF_LD | C.BPF_IMM,
  C.BPF_LD | C.BPF_MEM,
  C.BPF_LDX | C.BPF_W | C.BPF_LEN,
  C.BPF_LDX | C.BPF_B | C.BPF_MSH,
  C.BPF_LDX | C.BPF_IMM,
  C.BPF_LDX | C.BPF_MEM,
  C.BPF_ST,
  C.BPF_STX,
  C.BPF_MISC | C.BPF_TAX,
  C.BPF_MISC | C.BPF_TXA,
  C.BPF_RET | C.BPF_K,
  C.BPF_RET | C.BPF_A,
  C.BPF_JMP | C.BPF_JA,
  ...[C.BPF_JEQ, C.BPF_JGE, C.BPF_JGT, C.BPF_JSET].flatMap((op) => [C.BPF_JMP | op | C.BPF_K, C.BPF_JMP | op | C.BPF_X]),
]);

export const isKernelOpcode = (code: number): boolean => ALLOWED.has(code);

/** bpf_anc_helper(): the ancillary offsets (SKF_AD_OFF + SKF_AD_x) the kernel knows. */
const ANCILLARY: ReadonlySet<number> = new Set(
  [
    C.SKF_AD_PROTOCOL, C.SKF_AD_PKTTYPE, C.SKF_AD_IFINDEX, C.SKF_AD_NLATTR, C.SKF_AD_NLATTR_NEST, C.SKF_AD_MARK,
    C.SKF_AD_QUEUE, C.SKF_AD_HATYPE, C.SKF_AD_RXHASH, C.SKF_AD_CPU, C.SKF_AD_ALU_XOR_X, C.SKF_AD_VLAN_TAG,
    C.SKF_AD_VLAN_TAG_PRESENT, C.SKF_AD_PAY_OFFSET, C.SKF_AD_RANDOM, C.SKF_AD_VLAN_TPID,
  ].map((x) => (C.SKF_AD_OFF + x) >>> 0),
);

export const isAncillaryLoad = (f: SockFilter): boolean =>
  (f.code === (C.BPF_LD | C.BPF_W | C.BPF_ABS) || f.code === (C.BPF_LD | C.BPF_H | C.BPF_ABS) || f.code === (C.BPF_LD | C.BPF_B | C.BPF_ABS)) &&
  ANCILLARY.has(f.k >>> 0);

const err = (reason: CheckReason, message: string, pc?: number): CbpfError =>
  new CbpfError(reason, message, pc === undefined ? {} : { pc });

const hex = (code: number): string => `0x${code.toString(16).padStart(2, "0")}`;

/** The kernel's verdict: undefined when the program is accepted, else the first error. */
export function findClassicError(prog: readonly SockFilter[]): CbpfError | undefined {
  const flen = prog.length;
  if (flen === 0) return err("empty", "empty program (bpf_check_basics_ok: flen == 0)");
  if (flen > C.BPF_MAXINSNS) return err("too_long", `program has ${flen} instructions, more than BPF_MAXINSNS (${C.BPF_MAXINSNS})`);
  for (let pc = 0; pc < flen; pc++) {
    const f = prog[pc]!;
    const k = f.k >>> 0;
    if (!ALLOWED.has(f.code)) return err("unknown_opcode", `unknown opcode ${hex(f.code)} (chk_code_allowed)`, pc);
    switch (f.code) {
      case C.BPF_ALU | C.BPF_DIV | C.BPF_K:
      case C.BPF_ALU | C.BPF_MOD | C.BPF_K:
        if (k === 0) return err("div_by_zero", `${f.code === (C.BPF_ALU | C.BPF_DIV | C.BPF_K) ? "division" : "modulo"} by constant zero`, pc);
        break;
      case C.BPF_ALU | C.BPF_LSH | C.BPF_K:
      case C.BPF_ALU | C.BPF_RSH | C.BPF_K:
        if (k >= 32) return err("shift_too_large", `shift by ${k}, not below 32`, pc);
        break;
      case C.BPF_LD | C.BPF_MEM:
      case C.BPF_LDX | C.BPF_MEM:
      case C.BPF_ST:
      case C.BPF_STX:
        if (k >= C.BPF_MEMWORDS) return err("bad_mem_index", `invalid memory address M[${k}] (BPF_MEMWORDS is ${C.BPF_MEMWORDS})`, pc);
        break;
      case C.BPF_JMP | C.BPF_JA:
        // The kernel compares k as unsigned: a "backward" ja is a huge forward one.
        if (k >= flen - pc - 1) {
          const to = (pc + 1 + k) | 0;
          return err("jump_out_of_range", `ja to ${to}${to <= pc ? " (backward jump)" : ""}, beyond the last instruction ${flen - 1}`, pc);
        }
        break;
      case C.BPF_JMP | C.BPF_JEQ | C.BPF_K:
      case C.BPF_JMP | C.BPF_JEQ | C.BPF_X:
      case C.BPF_JMP | C.BPF_JGE | C.BPF_K:
      case C.BPF_JMP | C.BPF_JGE | C.BPF_X:
      case C.BPF_JMP | C.BPF_JGT | C.BPF_K:
      case C.BPF_JMP | C.BPF_JGT | C.BPF_X:
      case C.BPF_JMP | C.BPF_JSET | C.BPF_K:
      case C.BPF_JMP | C.BPF_JSET | C.BPF_X:
        if (pc + f.jt + 1 >= flen || pc + f.jf + 1 >= flen) {
          return err("jump_out_of_range", `conditional jump to ${pc + 1 + f.jt}/${pc + 1 + f.jf}, beyond the last instruction ${flen - 1}`, pc);
        }
        break;
      case C.BPF_LD | C.BPF_W | C.BPF_ABS:
      case C.BPF_LD | C.BPF_H | C.BPF_ABS:
      case C.BPF_LD | C.BPF_B | C.BPF_ABS:
        if (!isAncillaryLoad(f) && k >= C.SKF_AD_OFF >>> 0) {
          return err("unknown_ancillary", `ancillary load at SKF_AD_OFF + ${k - (C.SKF_AD_OFF >>> 0)} is unknown or unsupported`, pc);
        }
        break;
    }
  }
  const last = prog[flen - 1]!.code;
  if (last !== (C.BPF_RET | C.BPF_K) && last !== (C.BPF_RET | C.BPF_A)) {
    return err("no_ret", "last instruction must be a RET code", flen - 1);
  }
  return findUninitMem(prog);
}

/**
 * check_load_and_stores(): one forward pass with a 16-bit "written" mask; a jump
 * narrows the mask of its targets, so a cell counts as written at an instruction only
 * if it is written on every path reaching it. Assumes the jumps were range-checked.
 */
export function findUninitMem(prog: readonly SockFilter[]): CbpfError | undefined {
  const flen = prog.length;
  const masks = new Uint16Array(flen).fill(0xffff);
  let valid = 0;
  for (let pc = 0; pc < flen; pc++) {
    valid &= masks[pc]!;
    const f = prog[pc]!;
    const k = f.k >>> 0;
    switch (f.code) {
      case C.BPF_ST:
      case C.BPF_STX:
        valid |= 1 << k;
        break;
      case C.BPF_LD | C.BPF_MEM:
      case C.BPF_LDX | C.BPF_MEM:
        if ((valid & (1 << k)) === 0) return err("uninit_mem", `M[${k}] is read before it is written on some path (check_load_and_stores)`, pc);
        break;
      case C.BPF_JMP | C.BPF_JA:
        masks[pc + 1 + k] &= valid;
        valid = 0xffff;
        break;
      case C.BPF_JMP | C.BPF_JEQ | C.BPF_K:
      case C.BPF_JMP | C.BPF_JEQ | C.BPF_X:
      case C.BPF_JMP | C.BPF_JGE | C.BPF_K:
      case C.BPF_JMP | C.BPF_JGE | C.BPF_X:
      case C.BPF_JMP | C.BPF_JGT | C.BPF_K:
      case C.BPF_JMP | C.BPF_JGT | C.BPF_X:
      case C.BPF_JMP | C.BPF_JSET | C.BPF_K:
      case C.BPF_JMP | C.BPF_JSET | C.BPF_X:
        masks[pc + 1 + f.jt] &= valid;
        masks[pc + 1 + f.jf] &= valid;
        valid = 0xffff;
        break;
    }
  }
  return undefined;
}

/** Throws the kernel's first objection as a CbpfError (with `pc` and `reason`). */
export function checkClassic(prog: readonly SockFilter[]): void {
  const e = findClassicError(prog);
  if (e !== undefined) throw e;
}

/** libpcap's pcap_validate_filter(): undefined when valid for userland interpretation. */
export function findFilterError(prog: readonly SockFilter[]): CbpfError | undefined {
  const len = prog.length;
  if (len < 1) return err("empty", "empty program");
  for (let i = 0; i < len; i++) {
    const f = prog[i]!;
    const k = f.k >>> 0;
    const from = i + 1;
    switch (C.BPF_CLASS(f.code)) {
      case C.BPF_LD:
      case C.BPF_LDX:
        switch (C.BPF_MODE(f.code)) {
          case C.BPF_IMM:
          case C.BPF_ABS:
          case C.BPF_IND:
          case C.BPF_MSH:
          case C.BPF_LEN:
            break;
          case C.BPF_MEM:
            if (k >= C.BPF_MEMWORDS) return err("bad_mem_index", `invalid memory address M[${k}]`, i);
            break;
          default:
            return err("unknown_opcode", `unknown opcode ${hex(f.code)}`, i);
        }
        break;
      case C.BPF_ST:
      case C.BPF_STX:
        if (k >= C.BPF_MEMWORDS) return err("bad_mem_index", `invalid memory address M[${k}]`, i);
        break;
      case C.BPF_ALU:
        switch (C.BPF_OP(f.code)) {
          case C.BPF_DIV:
          case C.BPF_MOD:
            if (C.BPF_SRC(f.code) === C.BPF_K && k === 0) return err("div_by_zero", "division or modulo by constant zero", i);
            break;
          case C.BPF_ADD: case C.BPF_SUB: case C.BPF_MUL: case C.BPF_OR: case C.BPF_AND:
          case C.BPF_XOR: case C.BPF_LSH: case C.BPF_RSH: case C.BPF_NEG:
            break;
          default:
            return err("unknown_opcode", `unknown opcode ${hex(f.code)}`, i);
        }
        break;
      case C.BPF_JMP:
        switch (C.BPF_OP(f.code)) {
          case C.BPF_JA:
            // u_int arithmetic: from + k wraps, so a backward ja within the program passes.
            if (((from + k) >>> 0) >= len) return err("jump_out_of_range", `ja to ${(from + k) | 0}, outside the program`, i);
            break;
          case C.BPF_JEQ: case C.BPF_JGT: case C.BPF_JGE: case C.BPF_JSET:
            if (from + f.jt >= len || from + f.jf >= len) return err("jump_out_of_range", `conditional jump to ${from + f.jt}/${from + f.jf}, outside the program`, i);
            break;
          default:
            return err("unknown_opcode", `unknown opcode ${hex(f.code)}`, i);
        }
        break;
      case C.BPF_RET:
      case C.BPF_MISC:
        break;
    }
  }
  if (C.BPF_CLASS(prog[len - 1]!.code) !== C.BPF_RET) return err("no_ret", "last instruction must be a RET code", len - 1);
  return undefined;
}

export function validateFilter(prog: readonly SockFilter[]): void {
  const e = findFilterError(prog);
  if (e !== undefined) throw e;
}
