/**
 * One instruction as the kernel prints it: print_bpf_insn() in
 * kernel/bpf/disasm.c, the text of verifier logs and of `bpftool prog dump
 * xlated` (which adds the print_imm/print_call callbacks of
 * tools/bpf/bpftool/xlated_dumper.c for ld_imm64 and calls):
 *
 *   (b7) r0 = 0                 (61) r1 = *(u32 *)(r1 +0)     (7b) *(u64 *)(r10 -8) = r1
 *   (25) if r1 > 0x10 goto pc+3 (05) goto pc-2                (85) call bpf_map_lookup_elem#1
 *   (18) r1 = map[id:5]         (18) r1 = map[id:5][0]+8      (85) call pc+3
 *   (c3) lock *(u32 *)(r1 +0) += r2                            (db) r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)
 *
 * Differences from the kernel, by choice: callx (0x8d, which the kernel does
 * not accept) prints `callx rN` instead of a helper call; helper names come
 * from `helperName` (without it every helper prints as `unknown#ID`, as the
 * kernel does for ids it does not know).
 */
import { assertNever } from "../errors/index.js";
import type { Insn, RawInsn } from "../isa/index.js";
import { encodeInsn } from "../isa/index.js";
import { JMP_TEXT } from "./format-llvm.js";

export interface XlatedFormatOptions {
  /** Name of helper `id` without the `#id` suffix (e.g. "bpf_map_lookup_elem"), or undefined if unknown. */
  readonly helperName?: (id: number) => string | undefined;
  /** Name of the kfunc with BTF id `id`; without it kfunc calls print as `kernel-function#ID`. */
  readonly kfuncName?: (id: number) => string | undefined;
  /**
   * How ld_imm64 immediates print: "bpftool" (default) uses bpftool's `map[id:N]`,
   * `map[id:N][0]+OFF`, `map[idx:N]+OFF`, `subprog[+N]`; "kernel" prints the raw
   * 64-bit value in hex as the verifier log does.
   */
  readonly imm?: "bpftool" | "kernel";
}

const ALU_TEXT = {
  add: "+=", sub: "-=", mul: "*=", div: "/=", sdiv: "s/=", or: "|=", and: "&=", lsh: "<<=", rsh: ">>=",
  mod: "%=", smod: "s%=", xor: "^=", mov: "=", movsx: "=", arsh: "s>>=", neg: "neg",
} as const;

const hex2 = (n: number): string => n.toString(16).padStart(2, "0");
/** printf("%+d"). */
const signed = (n: number): string => (n < 0 ? `${n}` : `+${n}`);
const sizeType = (size: number): string => `u${size * 8}`;

/** The opcode byte of `insn` as the kernel prints it in `(%02x)`. */
export function opcodeOf(insn: Insn): number {
  return encodeInsn(insn)[0]!.code;
}

export function formatXlated(insn: Insn, options: XlatedFormatOptions = {}): string {
  const raw: RawInsn = encodeInsn(insn)[0]!;
  return `(${hex2(raw.code)}) ${xlatedBody(insn, options)}`;
}

function xlatedBody(insn: Insn, options: XlatedFormatOptions): string {
  switch (insn.kind) {
    case "alu": {
      const w = insn.alu64 ? "r" : "w";
      if (insn.op === "neg") return `${w}${insn.dst} = -${w}${insn.dst}`;
      if (insn.src.kind === "reg") {
        const sx = insn.op === "movsx" ? `(s${insn.extWidth ?? 0})` : "";
        return `${w}${insn.dst} ${ALU_TEXT[insn.op]} ${sx}${w}${insn.src.reg}`;
      }
      return `${w}${insn.dst} ${ALU_TEXT[insn.op]} ${insn.src.imm}`;
    }
    case "end":
      return `r${insn.dst} = ${insn.order}${insn.width} r${insn.dst}`;
    case "jmp": {
      const w = insn.jmp32 ? "w" : "r";
      const src = insn.src.kind === "reg" ? `${w}${insn.src.reg}` : `0x${(insn.src.imm >>> 0).toString(16)}`;
      return `if ${w}${insn.dst} ${JMP_TEXT[insn.cond]} ${src} goto pc${signed(insn.off)}`;
    }
    case "ja":
      return `${insn.long ? "gotol" : "goto"} pc${signed(insn.off)}`;
    case "call":
      if (insn.target === "local") return `call pc${signed(insn.imm)}`;
      if (insn.target === "kfunc") return `call ${options.kfuncName?.(insn.imm) ?? "kernel-function"}#${insn.imm}`;
      return `call ${options.helperName?.(insn.imm) ?? "unknown"}#${insn.imm}`;
    case "callx":
      return `callx r${insn.reg}`;
    case "exit":
      return "exit";
    case "ld_imm64":
      return `r${insn.dst} = ${ldImm64Text(insn, options.imm ?? "bpftool")}`;
    case "ld_abs":
      return `r0 = *(${sizeType(insn.size)} *)skb[${insn.imm}]`;
    case "ld_ind":
      return `r0 = *(${sizeType(insn.size)} *)skb[r${insn.src} + ${insn.imm}]`;
    case "ldx":
      return `r${insn.dst} = *(${insn.signed ? "s" : "u"}${insn.size * 8} *)(r${insn.src} ${signed(insn.off)})`;
    case "st":
      return `*(${sizeType(insn.size)} *)(r${insn.dst} ${signed(insn.off)}) = ${insn.imm}`;
    case "stx":
      return `*(${sizeType(insn.size)} *)(r${insn.dst} ${signed(insn.off)}) = r${insn.src}`;
    case "atomic": {
      const t = sizeType(insn.size);
      const a = `(r${insn.dst} ${signed(insn.off)})`;
      const n64 = insn.size === 8 ? "64" : "";
      switch (insn.op) {
        case "cmpxchg":
          return `r0 = atomic${n64}_cmpxchg((${t} *)${a}, r0, r${insn.src})`;
        case "xchg":
          return `r${insn.src} = atomic${n64}_xchg((${t} *)${a}, r${insn.src})`;
        default:
          if (!insn.fetch) return `lock *(${t} *)${a} ${ALU_TEXT[insn.op]} r${insn.src}`;
          return `r${insn.src} = atomic${n64}_fetch_${insn.op}((${t} *)${a}, r${insn.src})`;
      }
    }
    default:
      return assertNever(insn, "instruction");
  }
}

function ldImm64Text(insn: Extract<Insn, { kind: "ld_imm64" }>, style: "bpftool" | "kernel"): string {
  if (style === "bpftool") {
    const u = (n: number): number => n >>> 0;
    switch (insn.pseudo) {
      case "map_fd":
        return `map[id:${u(insn.imm)}]`;
      case "map_value":
        return `map[id:${u(insn.imm)}][0]+${u(insn.imm2)}`;
      case "map_idx_value":
        return `map[idx:${u(insn.imm)}]+${u(insn.imm2)}`;
      case "func":
        return `subprog[${signed(insn.imm)}]`;
      default:
        break;
    }
  }
  return `0x${insn.value.toString(16)}`;
}
