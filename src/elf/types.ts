/**
 * The ELF model: what a BPF object loader needs from an ELF64 file, as an
 * object graph (symbols and relocations point at their sections and symbols,
 * not at indices only). 64-bit quantities that are addresses or symbol values
 * stay bigint; file offsets and sizes, which the reader has checked against the
 * file length, are numbers.
 */
import type { ByteOrder } from "./wire.js";

export interface ElfSection {
  /** Index in the section header table. */
  readonly index: number;
  readonly name: string;
  /** sh_type (SHT_*), and its name when known ("SHT_PROGBITS"), else the hex value. */
  readonly type: number;
  readonly typeName: string;
  /** sh_flags (SHF_*). */
  readonly flags: bigint;
  readonly alloc: boolean;
  readonly write: boolean;
  readonly executable: boolean;
  readonly addr: bigint;
  /** sh_offset: where the contents start in the file. */
  readonly offset: number;
  /** sh_size. For SHT_NOBITS this is the size in memory; `data` is then empty. */
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** The contents (a view into the file bytes); empty for SHT_NOBITS and SHT_NULL. */
  readonly data: Uint8Array;
  /** Byte offset of this section's header in the file (for error messages). */
  readonly headerOffset: number;
}

export interface ElfSymbol {
  /** Index in the symbol table (0 is the null symbol). */
  readonly index: number;
  readonly name: string;
  readonly value: bigint;
  readonly size: bigint;
  /** STT_* (st_info & 0xf). */
  readonly type: number;
  /** STB_* (st_info >> 4). */
  readonly bind: number;
  /** STV_* (st_other & 3). */
  readonly visibility: number;
  /** st_shndx, with SHN_XINDEX resolved through SHT_SYMTAB_SHNDX: a section index or SHN_UNDEF/SHN_ABS/SHN_COMMON. */
  readonly sectionIndex: number;
  /** The section the symbol is defined in, when sectionIndex names one. */
  readonly section: ElfSection | undefined;
}

export interface ElfRelocation {
  /** r_offset: byte offset in the target section. */
  readonly offset: number;
  /** ELF64_R_TYPE(r_info), e.g. R_BPF_64_64. */
  readonly type: number;
  readonly typeName: string;
  /** ELF64_R_SYM(r_info): index into the symbol table; 0 = no symbol. */
  readonly symbolIndex: number;
  readonly symbol: ElfSymbol | undefined;
  /** r_addend for SHT_RELA; undefined for SHT_REL (the addend is in the target bytes). */
  readonly addend: bigint | undefined;
}

/** One SHT_REL/SHT_RELA section and the section its entries patch. */
export interface ElfRelocationSection {
  readonly section: ElfSection;
  readonly target: ElfSection;
  readonly entries: readonly ElfRelocation[];
}

export interface ElfFile {
  readonly byteOrder: ByteOrder;
  /** e_type (ET_REL for objects clang writes). */
  readonly type: number;
  /** e_machine (EM_BPF = 247). */
  readonly machine: number;
  readonly flags: number;
  readonly entry: bigint;
  /** All sections, index 0 (SHT_NULL) included, in header order. */
  readonly sections: readonly ElfSection[];
  /** The SHT_SYMTAB entries, index 0 (the null symbol) included; empty when there is no symbol table. */
  readonly symbols: readonly ElfSymbol[];
  /** Every SHT_REL/SHT_RELA section, in header order. */
  readonly relocations: readonly ElfRelocationSection[];
}
