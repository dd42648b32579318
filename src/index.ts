/** tsbpf's public API: the instruction set, assembler/disassemblers, ELF reader and the machine. */
export * from "./errors/index.js";
export * from "./isa/index.js";
export * from "./asm/index.js";
export { parseElf, relocationsFor, sectionByName, type ElfFile, type ElfSection, type ElfSymbol, type ElfRelocation, type ElfRelocationSection } from "./elf/index.js";
export * from "./vm/index.js";
export * from "./conformance/index.js";
