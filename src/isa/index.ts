/** The eBPF instruction set (RFC 9669 + v4): encoding fields, the opcode table, the instruction model, codecs. */
export * from "./constants.js";
export * from "./insn.js";
export * from "./opcodes.js";
export * from "./decode.js";
export * from "./encode.js";
export * from "./u64.js";
