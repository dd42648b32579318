/**
 * One instruction in the uBPF/conformance syntax (see ubpf-parse.ts), in the
 * shape of uBPF's own disassembler: `mov32 %r0, 1`, `ldxw %r0, [%r1+2]`,
 * `jeq %r1, 17, +1`, `lddw %r1, 0x1122334455667788`, `lock fetch add [%r1], %r2`.
 * Immediates are signed decimal (the reference assembler reads every such
 * value back unchanged), ld_imm64 constants hex. Every string reassembles to
 * the same bytes with assemble(..., {syntax: "ubpf"}).
 */
import { assertNever } from "../errors/index.js";
import type { Insn } from "../isa/index.js";

const SIZE_SUFFIX: Readonly<Record<number, string>> = { 1: "b", 2: "h", 4: "w", 8: "dw" };

const r = (n: number): string => `%r${n}`;
const mem = (base: number, off: number): string => (off === 0 ? `[%r${base}]` : `[%r${base}${off < 0 ? "-" : "+"}${Math.abs(off)}]`);
const rel = (off: number): string => (off < 0 ? `${off}` : `+${off}`);

export function formatUbpf(insn: Insn): string {
  switch (insn.kind) {
    case "alu": {
      const sfx = insn.alu64 ? "" : "32";
      if (insn.op === "neg") return `neg${sfx} ${r(insn.dst)}`;
      const src = insn.src.kind === "reg" ? r(insn.src.reg) : `${insn.src.imm}`;
      if (insn.op === "movsx") return `movsx${insn.extWidth ?? 0}${insn.alu64 ? "64" : "32"} ${r(insn.dst)}, ${src}`;
      return `${insn.op}${sfx} ${r(insn.dst)}, ${src}`;
    }
    case "end":
      return `${insn.order}${insn.width} ${r(insn.dst)}`;
    case "jmp": {
      const src = insn.src.kind === "reg" ? r(insn.src.reg) : `${insn.src.imm}`;
      return `${insn.cond}${insn.jmp32 ? "32" : ""} ${r(insn.dst)}, ${src}, ${rel(insn.off)}`;
    }
    case "ja":
      return `${insn.long ? "ja32" : "ja"} ${rel(insn.off)}`;
    case "call":
      if (insn.target === "helper") return `call ${insn.imm}`;
      if (insn.target === "local") return `call local ${rel(insn.imm)}`;
      return insn.off ? `call runtime ${insn.imm}, ${insn.off}` : `call runtime ${insn.imm}`;
    case "callx":
      return `call ${r(insn.reg)}`;
    case "exit":
      return "exit";
    case "ld_imm64":
      return `lddw ${r(insn.dst)}, ${formatPseudoFunction(insn)}`;
    case "ld_abs":
      return `ldabs${SIZE_SUFFIX[insn.size]} ${insn.imm}`;
    case "ld_ind":
      return `ldind${SIZE_SUFFIX[insn.size]} ${r(insn.src)}, ${insn.imm}`;
    case "ldx":
      return `ldx${insn.signed ? "s" : ""}${SIZE_SUFFIX[insn.size]} ${r(insn.dst)}, ${mem(insn.src, insn.off)}`;
    case "st":
      return `st${SIZE_SUFFIX[insn.size]} ${mem(insn.dst, insn.off)}, ${insn.imm}`;
    case "stx":
      return `stx${SIZE_SUFFIX[insn.size]} ${mem(insn.dst, insn.off)}, ${r(insn.src)}`;
    case "atomic": {
      const fetch = insn.fetch && insn.op !== "xchg" && insn.op !== "cmpxchg" ? "fetch " : "";
      return `lock ${fetch}${insn.op}${insn.size === 4 ? "32" : ""} ${mem(insn.dst, insn.off)}, ${r(insn.src)}`;
    }
    default:
      return assertNever(insn, "instruction");
  }
}

/** The ld_imm64 operand: `0x...` for a constant, the function-style pseudo form (pseudo.ts) otherwise. */
export function formatPseudoFunction(insn: Extract<Insn, { kind: "ld_imm64" }>): string {
  const u = (n: number): string => `${n >>> 0}`;
  switch (insn.pseudo) {
    case "imm":
      return `0x${insn.value.toString(16)}`;
    case "map_value":
    case "map_idx_value":
      return `${insn.pseudo}(${u(insn.imm)}, ${u(insn.imm2)})`;
    case "func":
      return insn.imm2 === 0 ? `func(${rel(insn.imm)})` : `func(${rel(insn.imm)}, ${u(insn.imm2)})`;
    default:
      return insn.imm2 === 0 ? `${insn.pseudo}(${u(insn.imm)})` : `${insn.pseudo}(${u(insn.imm)}, ${u(insn.imm2)})`;
  }
}
