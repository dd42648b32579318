/**
 * `tsbpf disasm FILE [--section S] [--style llvm|xlated|ubpf]`: for an ELF object
 * without --section, the whole `llvm-objdump -d` listing; otherwise one program (an ELF
 * section, raw bytes, or assembly text) in the chosen style.
 */
import { disassemble, objdump, type DisasmStyle } from "../../asm/index.js";
import { basename } from "node:path";
import { CliFailure, readInput, type CliIo } from "../io.js";
import { isElf, loadProgramInput, type InputFormat } from "../program-input.js";

export function disasmCommand(file: string, opts: { section?: string; style?: string; format?: InputFormat; listing?: boolean }, io: CliIo): number {
  const bytes = readInput(io, file, "program");
  const style = (opts.style ?? "llvm") as DisasmStyle;
  if (!["llvm", "xlated", "ubpf"].includes(style)) throw new CliFailure(`unknown style '${opts.style}' (llvm, xlated, ubpf)`);
  if (isElf(bytes) && opts.section === undefined && style === "llvm" && opts.format !== "raw") {
    io.out(objdump(bytes, basename(file)));
    return 0;
  }
  const input = loadProgramInput(bytes, { format: opts.format ?? "auto", ...(opts.section !== undefined ? { section: opts.section } : {}) });
  const lines = input.bytes !== undefined
    ? disassemble(input.bytes, { style, byteOrder: input.byteOrder, listing: opts.listing ?? style === "llvm", indexFormat: "bpftool" })
    : disassemble(input.insns, { style, listing: opts.listing ?? style === "llvm", indexFormat: "bpftool" });
  for (const l of lines) io.out(`${l}\n`);
  return 0;
}
