/**
 * The ELF64 wire format: raw records exactly as they sit in the file
 * (Elf64_Ehdr, Elf64_Shdr, Elf64_Sym, Elf64_Rel, Elf64_Rela), read through a
 * bounds-checked reader. Nothing here interprets the records; parse.ts builds
 * the model from them. Every read that would leave the buffer throws an
 * ElfError naming the field and its byte offset, never a RangeError.
 *
 *   Elf64_Ehdr (64 bytes)                 Elf64_Shdr (64 bytes)
 *   0  e_ident[16]                        0  sh_name u32     32 sh_size u64
 *   16 e_type u16     18 e_machine u16    4  sh_type u32     40 sh_link u32
 *   20 e_version u32  24 e_entry u64      8  sh_flags u64    44 sh_info u32
 *   32 e_phoff u64    40 e_shoff u64      16 sh_addr u64     48 sh_addralign u64
 *   48 e_flags u32    52 e_ehsize u16     24 sh_offset u64   56 sh_entsize u64
 *   54 e_phentsize    56 e_phnum
 *   58 e_shentsize    60 e_shnum          Elf64_Sym (24 bytes)
 *   62 e_shstrndx                         0 st_name u32  4 st_info u8  5 st_other u8
 *                                         6 st_shndx u16  8 st_value u64  16 st_size u64
 *   Elf64_Rel (16) / Elf64_Rela (24)
 *   0 r_offset u64  8 r_info u64 (sym = info >> 32, type = info & 0xffffffff)  [16 r_addend s64]
 */
import { ElfError } from "../errors/index.js";
import * as E from "./constants.js";

export type ByteOrder = "little" | "big";

/** Bounds-checked little/big-endian reader over the file bytes. */
export class WireReader {
  readonly bytes: Uint8Array;
  readonly littleEndian: boolean;
  private readonly view: DataView;

  constructor(bytes: Uint8Array, order: ByteOrder) {
    this.bytes = bytes;
    this.littleEndian = order === "little";
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Throws unless [offset, offset+size) lies inside the file. */
  check(offset: number, size: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0 || offset + size > this.bytes.length) {
      throw new ElfError(`${what}: ${size} bytes at offset ${offset} lie outside the file (${this.bytes.length} bytes)`, offset);
    }
  }

  u8(offset: number, what: string): number {
    this.check(offset, 1, what);
    return this.view.getUint8(offset);
  }
  u16(offset: number, what: string): number {
    this.check(offset, 2, what);
    return this.view.getUint16(offset, this.littleEndian);
  }
  u32(offset: number, what: string): number {
    this.check(offset, 4, what);
    return this.view.getUint32(offset, this.littleEndian);
  }
  u64(offset: number, what: string): bigint {
    this.check(offset, 8, what);
    return this.view.getBigUint64(offset, this.littleEndian);
  }
  s64(offset: number, what: string): bigint {
    this.check(offset, 8, what);
    return this.view.getBigInt64(offset, this.littleEndian);
  }
}

/** A 64-bit field that must be usable as a JS number (a file offset, a size, a count). */
export function safeNumber(v: bigint, what: string, offset: number): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`${what} 0x${v.toString(16)} is too large`, offset);
  return Number(v);
}

export interface RawEhdr {
  readonly class: number;
  readonly data: number;
  readonly identVersion: number;
  readonly osabi: number;
  readonly abiversion: number;
  readonly type: number;
  readonly machine: number;
  readonly version: number;
  readonly entry: bigint;
  readonly phoff: bigint;
  readonly shoff: bigint;
  readonly flags: number;
  readonly ehsize: number;
  readonly phentsize: number;
  readonly phnum: number;
  readonly shentsize: number;
  readonly shnum: number;
  readonly shstrndx: number;
}

/** Reads e_ident and decides the byte order; the rest of the header needs it. */
export function readIdent(bytes: Uint8Array): { class: number; data: number; order: ByteOrder } {
  if (bytes.length < 16) throw new ElfError(`file is ${bytes.length} bytes, too short for e_ident (16 bytes)`, 0);
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== E.ELFMAG[i]) throw new ElfError("not an ELF file: bad magic in e_ident[0..3]", i);
  }
  const cls = bytes[4]!;
  const data = bytes[5]!;
  if (cls === E.ELFCLASS32) throw new ElfError("ELF32 is not supported (EI_CLASS = ELFCLASS32); eBPF objects are ELF64", 4);
  if (cls !== E.ELFCLASS64) throw new ElfError(`invalid EI_CLASS ${cls}`, 4);
  if (data !== E.ELFDATA2LSB && data !== E.ELFDATA2MSB) throw new ElfError(`invalid EI_DATA ${data}`, 5);
  return { class: cls, data, order: data === E.ELFDATA2LSB ? "little" : "big" };
}

export function readEhdr(r: WireReader): RawEhdr {
  r.check(0, E.EHDR64_SIZE, "ELF64 header");
  return {
    class: r.u8(4, "EI_CLASS"),
    data: r.u8(5, "EI_DATA"),
    identVersion: r.u8(6, "EI_VERSION"),
    osabi: r.u8(7, "EI_OSABI"),
    abiversion: r.u8(8, "EI_ABIVERSION"),
    type: r.u16(16, "e_type"),
    machine: r.u16(18, "e_machine"),
    version: r.u32(20, "e_version"),
    entry: r.u64(24, "e_entry"),
    phoff: r.u64(32, "e_phoff"),
    shoff: r.u64(40, "e_shoff"),
    flags: r.u32(48, "e_flags"),
    ehsize: r.u16(52, "e_ehsize"),
    phentsize: r.u16(54, "e_phentsize"),
    phnum: r.u16(56, "e_phnum"),
    shentsize: r.u16(58, "e_shentsize"),
    shnum: r.u16(60, "e_shnum"),
    shstrndx: r.u16(62, "e_shstrndx"),
  };
}

export interface RawShdr {
  /** Byte offset of this header in the file. */
  readonly at: number;
  readonly name: number;
  readonly type: number;
  readonly flags: bigint;
  readonly addr: bigint;
  readonly offset: bigint;
  readonly size: bigint;
  readonly link: number;
  readonly info: number;
  readonly addralign: bigint;
  readonly entsize: bigint;
}

export function readShdr(r: WireReader, at: number, index: number): RawShdr {
  const w = `section header ${index}`;
  r.check(at, E.SHDR64_SIZE, w);
  return {
    at,
    name: r.u32(at, `${w} sh_name`),
    type: r.u32(at + 4, `${w} sh_type`),
    flags: r.u64(at + 8, `${w} sh_flags`),
    addr: r.u64(at + 16, `${w} sh_addr`),
    offset: r.u64(at + 24, `${w} sh_offset`),
    size: r.u64(at + 32, `${w} sh_size`),
    link: r.u32(at + 40, `${w} sh_link`),
    info: r.u32(at + 44, `${w} sh_info`),
    addralign: r.u64(at + 48, `${w} sh_addralign`),
    entsize: r.u64(at + 56, `${w} sh_entsize`),
  };
}

export interface RawSym {
  readonly at: number;
  readonly name: number;
  readonly info: number;
  readonly other: number;
  readonly shndx: number;
  readonly value: bigint;
  readonly size: bigint;
}

export function readSym(r: WireReader, at: number, index: number): RawSym {
  const w = `symbol ${index}`;
  r.check(at, E.SYM64_SIZE, w);
  return {
    at,
    name: r.u32(at, `${w} st_name`),
    info: r.u8(at + 4, `${w} st_info`),
    other: r.u8(at + 5, `${w} st_other`),
    shndx: r.u16(at + 6, `${w} st_shndx`),
    value: r.u64(at + 8, `${w} st_value`),
    size: r.u64(at + 16, `${w} st_size`),
  };
}

export interface RawRel {
  readonly at: number;
  readonly offset: bigint;
  readonly info: bigint;
  /** Only in SHT_RELA records. */
  readonly addend: bigint | undefined;
}

export function readRel(r: WireReader, at: number, withAddend: boolean, what: string): RawRel {
  r.check(at, withAddend ? E.RELA64_SIZE : E.REL64_SIZE, what);
  return {
    at,
    offset: r.u64(at, `${what} r_offset`),
    info: r.u64(at + 8, `${what} r_info`),
    addend: withAddend ? r.s64(at + 16, `${what} r_addend`) : undefined,
  };
}

/** A NUL-terminated string inside [tableStart, tableEnd), raw bytes. */
export function readCString(r: WireReader, tableStart: number, tableEnd: number, index: number, what: string): Uint8Array {
  const start = tableStart + index;
  if (index < 0 || start >= tableEnd) {
    throw new ElfError(`${what}: string index ${index} lies outside its string table (${tableEnd - tableStart} bytes)`, start);
  }
  let end = start;
  while (end < tableEnd && r.bytes[end] !== 0) end++;
  if (end >= tableEnd) throw new ElfError(`${what}: string at index ${index} is not NUL-terminated inside its string table`, start);
  return r.bytes.subarray(start, end);
}
