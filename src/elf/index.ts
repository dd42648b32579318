/** ELF64 reader (both byte orders): sections, symbols, relocations. The BPF object model builds on it. */
export { parseElf, relocationsFor, sectionByName } from "./parse.js";
export type { ElfFile, ElfSection, ElfSymbol, ElfRelocation, ElfRelocationSection } from "./types.js";
export type { ByteOrder } from "./wire.js";
export * from "./constants.js";
