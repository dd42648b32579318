/**
 * The opcode table: one entry per valid opcode byte, composed from the encoding
 * fields (as rbpf composes its constants), read by the decoder, the encoder, the
 * assemblers, the disassemblers and the interpreter. An opcode byte missing here is
 * "unknown opcode" (the kernel's "unknown opcode %02x"). Variants selected by other
 * fields (sdiv/smod/movsx by `off`, atomics by `imm`, pseudo calls by `src`) are
 * resolved by the decoder, since the byte alone does not name them.
 */
import * as C from "./constants.js";
import type { AluOp, JmpCond, MemSize } from "./insn.js";

export type OpcodeShape =
  | { readonly kind: "alu"; readonly op: Exclude<AluOp, "sdiv" | "smod" | "movsx">; readonly alu64: boolean; readonly source: "K" | "X" }
  | { readonly kind: "end"; readonly alu64: boolean; readonly source: "K" | "X" }
  | { readonly kind: "jmp"; readonly cond: JmpCond; readonly jmp32: boolean; readonly source: "K" | "X" }
  | { readonly kind: "ja"; readonly long: boolean }
  | { readonly kind: "call"; readonly source: "K" | "X" }
  | { readonly kind: "exit" }
  | { readonly kind: "ld_imm64" }
  | { readonly kind: "ld_abs" | "ld_ind"; readonly size: 1 | 2 | 4 }
  | { readonly kind: "ldx"; readonly size: MemSize; readonly signed: boolean }
  | { readonly kind: "st" | "stx"; readonly size: MemSize }
  | { readonly kind: "atomic"; readonly size: 4 | 8 };

export type OpcodeInfo = OpcodeShape & {
  readonly code: number;
  /** The kernel's spelling of the composed opcode, e.g. "BPF_ALU64|BPF_ADD|BPF_K". */
  readonly name: string;
};

export const ALU_OPS: ReadonlyArray<readonly [number, Exclude<AluOp, "sdiv" | "smod" | "movsx">, string]> = [
  [C.BPF_ADD, "add", "BPF_ADD"], [C.BPF_SUB, "sub", "BPF_SUB"], [C.BPF_MUL, "mul", "BPF_MUL"],
  [C.BPF_DIV, "div", "BPF_DIV"], [C.BPF_OR, "or", "BPF_OR"], [C.BPF_AND, "and", "BPF_AND"],
  [C.BPF_LSH, "lsh", "BPF_LSH"], [C.BPF_RSH, "rsh", "BPF_RSH"], [C.BPF_NEG, "neg", "BPF_NEG"],
  [C.BPF_MOD, "mod", "BPF_MOD"], [C.BPF_XOR, "xor", "BPF_XOR"], [C.BPF_MOV, "mov", "BPF_MOV"],
  [C.BPF_ARSH, "arsh", "BPF_ARSH"],
];

export const JMP_CONDS: ReadonlyArray<readonly [number, JmpCond, string]> = [
  [C.BPF_JEQ, "jeq", "BPF_JEQ"], [C.BPF_JGT, "jgt", "BPF_JGT"], [C.BPF_JGE, "jge", "BPF_JGE"],
  [C.BPF_JSET, "jset", "BPF_JSET"], [C.BPF_JNE, "jne", "BPF_JNE"], [C.BPF_JSGT, "jsgt", "BPF_JSGT"],
  [C.BPF_JSGE, "jsge", "BPF_JSGE"], [C.BPF_JLT, "jlt", "BPF_JLT"], [C.BPF_JLE, "jle", "BPF_JLE"],
  [C.BPF_JSLT, "jslt", "BPF_JSLT"], [C.BPF_JSLE, "jsle", "BPF_JSLE"],
];

export const SIZES: ReadonlyArray<readonly [number, MemSize, string]> = [
  [C.BPF_B, 1, "BPF_B"], [C.BPF_H, 2, "BPF_H"], [C.BPF_W, 4, "BPF_W"], [C.BPF_DW, 8, "BPF_DW"],
];

export const sizeField = (size: MemSize): number => SIZES.find((s) => s[1] === size)![0];

function buildTable(): ReadonlyArray<OpcodeInfo | undefined> {
  const t: (OpcodeInfo | undefined)[] = new Array(256).fill(undefined);
  const put = (code: number, name: string, shape: OpcodeShape): void => {
    if (t[code] !== undefined) throw new Error(`opcode table: 0x${code.toString(16)} defined twice`);
    t[code] = { ...shape, code, name };
  };
  for (const [cls, clsName, alu64] of [[C.BPF_ALU, "BPF_ALU", false], [C.BPF_ALU64, "BPF_ALU64", true]] as const) {
    for (const [srcBit, srcName, source] of [[C.BPF_K, "BPF_K", "K"], [C.BPF_X, "BPF_X", "X"]] as const) {
      for (const [opBits, op, opName] of ALU_OPS) {
        // neg has only the BPF_K form (the kernel rejects BPF_NEG|BPF_X).
        if (op === "neg" && source === "X") continue;
        put(cls | opBits | srcBit, `${clsName}|${opName}|${srcName}`, { kind: "alu", op, alu64, source });
      }
    }
    // BPF_ALU|BPF_END|BPF_TO_LE/BE: le/be; BPF_ALU64|BPF_END|BPF_TO_LE: bswap (v4); ALU64|END|TO_BE is invalid.
    put(cls | C.BPF_END | C.BPF_TO_LE, `${clsName}|BPF_END|BPF_TO_LE`, { kind: "end", alu64, source: "K" });
    if (!alu64) put(cls | C.BPF_END | C.BPF_TO_BE, `${clsName}|BPF_END|BPF_TO_BE`, { kind: "end", alu64, source: "X" });
  }
  for (const [cls, clsName, jmp32] of [[C.BPF_JMP, "BPF_JMP", false], [C.BPF_JMP32, "BPF_JMP32", true]] as const) {
    for (const [srcBit, srcName, source] of [[C.BPF_K, "BPF_K", "K"], [C.BPF_X, "BPF_X", "X"]] as const) {
      for (const [opBits, cond, opName] of JMP_CONDS) {
        put(cls | opBits | srcBit, `${clsName}|${opName}|${srcName}`, { kind: "jmp", cond, jmp32, source });
      }
    }
    put(cls | C.BPF_JA, `${clsName}|BPF_JA`, { kind: "ja", long: jmp32 });
  }
  put(C.BPF_JMP | C.BPF_CALL | C.BPF_K, "BPF_JMP|BPF_CALL", { kind: "call", source: "K" });
  put(C.BPF_JMP | C.BPF_CALL | C.BPF_X, "BPF_JMP|BPF_CALL|BPF_X", { kind: "call", source: "X" });
  put(C.BPF_JMP | C.BPF_EXIT, "BPF_JMP|BPF_EXIT", { kind: "exit" });

  put(C.BPF_LD | C.BPF_IMM | C.BPF_DW, "BPF_LD|BPF_IMM|BPF_DW", { kind: "ld_imm64" });
  for (const [sizeBits, size, sizeName] of SIZES) {
    if (size !== 8) {
      put(C.BPF_LD | C.BPF_ABS | sizeBits, `BPF_LD|BPF_ABS|${sizeName}`, { kind: "ld_abs", size });
      put(C.BPF_LD | C.BPF_IND | sizeBits, `BPF_LD|BPF_IND|${sizeName}`, { kind: "ld_ind", size });
      put(C.BPF_LDX | C.BPF_MEMSX | sizeBits, `BPF_LDX|BPF_MEMSX|${sizeName}`, { kind: "ldx", size, signed: true });
    }
    put(C.BPF_LDX | C.BPF_MEM | sizeBits, `BPF_LDX|BPF_MEM|${sizeName}`, { kind: "ldx", size, signed: false });
    put(C.BPF_ST | C.BPF_MEM | sizeBits, `BPF_ST|BPF_MEM|${sizeName}`, { kind: "st", size });
    put(C.BPF_STX | C.BPF_MEM | sizeBits, `BPF_STX|BPF_MEM|${sizeName}`, { kind: "stx", size });
  }
  put(C.BPF_STX | C.BPF_ATOMIC | C.BPF_W, "BPF_STX|BPF_ATOMIC|BPF_W", { kind: "atomic", size: 4 });
  put(C.BPF_STX | C.BPF_ATOMIC | C.BPF_DW, "BPF_STX|BPF_ATOMIC|BPF_DW", { kind: "atomic", size: 8 });
  return t;
}

/** OPCODES[code] describes opcode byte `code`, or is undefined when the byte is not an instruction. */
export const OPCODES: ReadonlyArray<OpcodeInfo | undefined> = buildTable();

/** The atomic operations by imm value (BPF_ADD.. with optional BPF_FETCH, BPF_XCHG, BPF_CMPXCHG). */
export const ATOMIC_IMMS: ReadonlyArray<readonly [number, "add" | "or" | "and" | "xor" | "xchg" | "cmpxchg", boolean]> = [
  [C.BPF_ADD, "add", false], [C.BPF_ADD | C.BPF_FETCH, "add", true],
  [C.BPF_OR, "or", false], [C.BPF_OR | C.BPF_FETCH, "or", true],
  [C.BPF_AND, "and", false], [C.BPF_AND | C.BPF_FETCH, "and", true],
  [C.BPF_XOR, "xor", false], [C.BPF_XOR | C.BPF_FETCH, "xor", true],
  [C.BPF_XCHG, "xchg", true], [C.BPF_CMPXCHG, "cmpxchg", true],
];

export const LD_IMM64_PSEUDOS = ["imm", "map_fd", "map_value", "btf_id", "func", "map_idx", "map_idx_value"] as const;
