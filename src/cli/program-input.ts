/**
 * What `tsbpf run` and `tsbpf disasm` accept as a program: an ELF object (a program
 * section chosen by name, or the first executable one), assembly text (either syntax),
 * or raw instruction bytes. Sniffed from the content, overridable with --format.
 */
import { decodeProgram, type ByteOrder, type Insn } from "../isa/index.js";
import { parseElf, sectionByName, type ElfFile, type ElfSection } from "../elf/index.js";
import { assemble, type AsmSyntax } from "../asm/index.js";
import { CliFailure } from "./io.js";

export type InputFormat = "auto" | "elf" | "asm" | "raw";

export interface ProgramInput {
  readonly insns: Insn[];
  /** Raw instruction bytes (little-endian unless the ELF says otherwise). */
  readonly bytes: Uint8Array | undefined;
  readonly format: "elf" | "asm" | "raw";
  readonly section?: string;
  readonly byteOrder: ByteOrder;
}

export const isElf = (b: Uint8Array): boolean => b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;

/** Heuristic: mostly printable bytes and no NULs means text. */
export function looksLikeText(b: Uint8Array): boolean {
  if (b.length === 0) return false;
  const n = Math.min(b.length, 4096);
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c === 0 || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d)) return false;
  }
  return true;
}

export function programSections(elf: ElfFile): ElfSection[] {
  return elf.sections.filter((s) => s.executable && s.size > 0);
}

export function loadProgramInput(bytes: Uint8Array, opts: { format?: InputFormat; section?: string; syntax?: AsmSyntax | "auto" } = {}): ProgramInput {
  const format = opts.format === undefined || opts.format === "auto" ? (isElf(bytes) ? "elf" : looksLikeText(bytes) ? "asm" : "raw") : opts.format;
  switch (format) {
    case "elf": {
      const elf = parseElf(bytes);
      const candidates = programSections(elf);
      let sec: ElfSection | undefined;
      if (opts.section !== undefined) {
        sec = sectionByName(elf, opts.section);
        if (sec === undefined) {
          throw new CliFailure(`no section '${opts.section}' in the object; program sections: ${candidates.map((s) => s.name).join(", ") || "none"}`);
        }
      } else {
        sec = candidates[0];
        if (sec === undefined) throw new CliFailure("the object has no executable section");
      }
      const data = sec.data;
      return { insns: decodeProgram(data, elf.byteOrder), bytes: data, format, section: sec.name, byteOrder: elf.byteOrder };
    }
    case "asm": {
      const text = new TextDecoder().decode(bytes);
      return { insns: assemble(text, { syntax: opts.syntax ?? "auto" }), bytes: undefined, format, byteOrder: "little" };
    }
    case "raw":
      return { insns: decodeProgram(bytes), bytes, format, byteOrder: "little" };
  }
}
