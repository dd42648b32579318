/**
 * Assembler and disassemblers for eBPF: the kernel/LLVM syntax (`r0 = 1`,
 * `if r1 > r2 goto +3`) and the uBPF syntax of the conformance suite
 * (`mov %r0, 1`), llvm-objdump's listing of a whole object, and the kernel's
 * (bpftool prog dump xlated / verifier log) instruction text.
 */
export { assemble, detectSyntax, type AsmSyntax, type AssembleOptions } from "./assemble.js";
export { AsmErrorList } from "./diagnostics.js";
export { formatLlvm, type LlvmFormatOptions } from "./format-llvm.js";
export { formatUbpf } from "./format-ubpf.js";
export { formatXlated, type XlatedFormatOptions } from "./format-xlated.js";
export { disassemble, type DisassembleOptions, type DisasmStyle } from "./disassemble.js";
export { objdump, type ObjdumpOptions } from "./objdump.js";
