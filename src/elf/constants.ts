/**
 * ELF constants used by the reader, with the names of the System V gABI and
 * include/uapi/linux/elf.h. Only what an eBPF object needs is listed; unknown
 * values are kept as numbers in the model and printed as hex.
 */

export const ELFMAG = [0x7f, 0x45, 0x4c, 0x46] as const; // "\x7fELF"
export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;
export const EV_CURRENT = 1;

/** e_type */
export const ET_NONE = 0;
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;

/** e_machine: Linux BPF (the value clang -target bpf writes). */
export const EM_BPF = 247;

/** Sizes of the ELF64 records. */
export const EHDR64_SIZE = 64;
export const SHDR64_SIZE = 64;
export const SYM64_SIZE = 24;
export const REL64_SIZE = 16;
export const RELA64_SIZE = 24;

/** Special section indices. */
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

/** sh_type */
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_HASH = 5;
export const SHT_DYNAMIC = 6;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_DYNSYM = 11;
export const SHT_INIT_ARRAY = 14;
export const SHT_FINI_ARRAY = 15;
export const SHT_GROUP = 17;
export const SHT_SYMTAB_SHNDX = 18;
export const SHT_LLVM_ADDRSIG = 0x6fff4c03;

export const SECTION_TYPE_NAMES: Readonly<Record<number, string>> = {
  [SHT_NULL]: "SHT_NULL",
  [SHT_PROGBITS]: "SHT_PROGBITS",
  [SHT_SYMTAB]: "SHT_SYMTAB",
  [SHT_STRTAB]: "SHT_STRTAB",
  [SHT_RELA]: "SHT_RELA",
  [SHT_HASH]: "SHT_HASH",
  [SHT_DYNAMIC]: "SHT_DYNAMIC",
  [SHT_NOTE]: "SHT_NOTE",
  [SHT_NOBITS]: "SHT_NOBITS",
  [SHT_REL]: "SHT_REL",
  [SHT_DYNSYM]: "SHT_DYNSYM",
  [SHT_INIT_ARRAY]: "SHT_INIT_ARRAY",
  [SHT_FINI_ARRAY]: "SHT_FINI_ARRAY",
  [SHT_GROUP]: "SHT_GROUP",
  [SHT_SYMTAB_SHNDX]: "SHT_SYMTAB_SHNDX",
  [SHT_LLVM_ADDRSIG]: "SHT_LLVM_ADDRSIG",
};

/** sh_flags */
export const SHF_WRITE = 0x1n;
export const SHF_ALLOC = 0x2n;
export const SHF_EXECINSTR = 0x4n;
export const SHF_MERGE = 0x10n;
export const SHF_STRINGS = 0x20n;
export const SHF_INFO_LINK = 0x40n;

/** Symbol binding (st_info >> 4). */
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;

/** Symbol type (st_info & 0xf). */
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;

/** Symbol visibility (st_other & 3). */
export const STV_DEFAULT = 0;
export const STV_INTERNAL = 1;
export const STV_HIDDEN = 2;
export const STV_PROTECTED = 3;

/** BPF relocation types (llvm/BinaryFormat/ELFRelocs/BPF.def). */
export const R_BPF_NONE = 0;
export const R_BPF_64_64 = 1;
export const R_BPF_64_ABS64 = 2;
export const R_BPF_64_ABS32 = 3;
export const R_BPF_64_NODYLD32 = 4;
export const R_BPF_64_32 = 10;

export const BPF_RELOC_NAMES: Readonly<Record<number, string>> = {
  [R_BPF_NONE]: "R_BPF_NONE",
  [R_BPF_64_64]: "R_BPF_64_64",
  [R_BPF_64_ABS64]: "R_BPF_64_ABS64",
  [R_BPF_64_ABS32]: "R_BPF_64_ABS32",
  [R_BPF_64_NODYLD32]: "R_BPF_64_NODYLD32",
  [R_BPF_64_32]: "R_BPF_64_32",
};
