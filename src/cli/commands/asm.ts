/** `tsbpf asm FILE [-o OUT]`: assembly text (either syntax) to raw instruction bytes, or a hex listing. */
import { assemble, type AsmSyntax } from "../../asm/index.js";
import { encodeProgram } from "../../isa/index.js";
import { CliFailure, readInput, type CliIo } from "../io.js";

export function asmCommand(file: string, opts: { output?: string; syntax?: AsmSyntax | "auto"; hex?: boolean }, io: CliIo): number {
  const text = new TextDecoder().decode(readInput(io, file, "assembly file"));
  const bytes = encodeProgram(assemble(text, { syntax: opts.syntax ?? "auto" }));
  if (opts.output !== undefined) {
    io.writeFile(opts.output, bytes);
    io.err(`${bytes.length / 8} instruction slots (${bytes.length} bytes) written to ${opts.output}\n`);
    return 0;
  }
  if (opts.hex === true || io.isTty) {
    for (let i = 0; i < bytes.length; i += 8) io.out(`${Array.from(bytes.subarray(i, i + 8), (b) => b.toString(16).padStart(2, "0")).join(" ")}\n`);
    return 0;
  }
  if (opts.hex === false) throw new CliFailure("refusing to write binary to stdout; use -o FILE or --hex");
  return 0;
}
