/**
 * What a BPF object must be before the loader reads it as one (the ELF reader
 * accepts any ELF64): EM_BPF, ET_REL, a symbol table, and no two sections (nor
 * a section and the ELF or section headers) sharing file bytes. Plus the error
 * class for objects that are well-formed but use what tsbpf does not support.
 */
import { ElfError } from "../errors/index.js";
import * as E from "./constants.js";
import type { ElfFile, ElfSection, ElfSymbol } from "./types.js";

export type UnsupportedFeature = "kconfig" | "ksym" | "kfunc" | "extern" | "struct_ops" | "arena";

/**
 * A well-formed object using a feature tsbpf does not implement: `.kconfig`
 * and `.ksyms` externs, kfunc calls, struct_ops maps, arenas. `symbol` names
 * the extern (or the section) at fault.
 */
export class UnsupportedFeatureError extends ElfError {
  readonly feature: UnsupportedFeature;
  readonly symbol: string;
  constructor(feature: UnsupportedFeature, symbol: string, reason: string) {
    super(reason);
    this.feature = feature;
    this.symbol = symbol;
  }
}

export function checkBpfObject(elf: ElfFile): void {
  if (elf.machine !== E.EM_BPF) throw new ElfError(`e_machine ${elf.machine} is not EM_BPF (${E.EM_BPF}): not a BPF object`, 18);
  if (elf.type !== E.ET_REL) throw new ElfError(`e_type ${elf.type} is not ET_REL (${E.ET_REL}): a BPF object is relocatable`, 16);
  if (elf.symbols.length === 0) throw new ElfError("no symbol table (a stripped object?): programs and maps are found by their symbols");
  checkOverlaps(elf);
}

interface Range {
  readonly start: number;
  readonly end: number;
  readonly what: string;
}

function checkOverlaps(elf: ElfFile): void {
  const ranges: Range[] = [{ start: 0, end: E.EHDR64_SIZE, what: "the ELF header" }];
  const first = elf.sections[0];
  if (first !== undefined) {
    ranges.push({ start: first.headerOffset, end: first.headerOffset + elf.sections.length * E.SHDR64_SIZE, what: "the section header table" });
  }
  for (const s of elf.sections) {
    if (s.type === E.SHT_NOBITS || s.type === E.SHT_NULL || s.size === 0) continue;
    ranges.push({ start: s.offset, end: s.offset + s.size, what: `section ${s.index} (${s.name})` });
  }
  ranges.sort((a, b) => a.start - b.start || a.end - b.end);
  for (let i = 1; i < ranges.length; i++) {
    const a = ranges[i - 1]!;
    const b = ranges[i]!;
    if (b.start < a.end) throw new ElfError(`${b.what} (bytes ${b.start}..${b.end}) overlaps ${a.what} (bytes ${a.start}..${a.end})`, b.start);
  }
}

/** libbpf's sym_is_extern(): an undefined global or weak symbol without a type. */
export const isExtern = (s: ElfSymbol): boolean =>
  s.sectionIndex === E.SHN_UNDEF && (s.bind === E.STB_GLOBAL || s.bind === E.STB_WEAK) && s.type === E.STT_NOTYPE && s.index !== 0;

/** The name a relocation's symbol is known by (libbpf: a section symbol without a name goes by its section's name). */
export function symbolName(s: ElfSymbol): string {
  if (s.type === E.STT_SECTION && s.name === "") return s.section?.name ?? "";
  return s.name;
}

export const sectionLabel = (s: ElfSection): string => `section ${s.index} (${s.name})`;

/** Attaches an underlying error as `cause` (ElfError's constructor takes no options). */
export function withCause<T extends Error>(e: T, cause: unknown): T {
  Object.defineProperty(e, "cause", { value: cause, configurable: true, writable: true, enumerable: false });
  return e;
}
