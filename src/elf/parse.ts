/**
 * ELF64 bytes -> ElfFile model. Little- and big-endian files are read; ELF32
 * is refused. Every malformed input ends in an ElfError naming the record and
 * its byte offset: out-of-file sections, bad string indices, symbols naming
 * sections that do not exist, relocations outside their target.
 *
 * What this reader leaves out (a later loader adds what eBPF needs): program
 * headers, dynamic sections, section groups, compressed sections; all of them
 * are listed as sections but not interpreted.
 */
import { ElfError } from "../errors/index.js";
import * as E from "./constants.js";
import type { ElfFile, ElfRelocation, ElfRelocationSection, ElfSection, ElfSymbol } from "./types.js";
import { WireReader, readCString, readEhdr, readIdent, readRel, readShdr, readSym, safeNumber, type RawShdr } from "./wire.js";

const utf8 = new TextDecoder("utf-8");
const decodeName = (b: Uint8Array): string => utf8.decode(b);
const hex = (n: number): string => `0x${n.toString(16)}`;

export function parseElf(bytes: Uint8Array): ElfFile {
  const ident = readIdent(bytes);
  const r = new WireReader(bytes, ident.order);
  const eh = readEhdr(r);
  if (eh.identVersion !== E.EV_CURRENT) throw new ElfError(`unsupported EI_VERSION ${eh.identVersion}`, 6);
  if (eh.ehsize < E.EHDR64_SIZE) throw new ElfError(`e_ehsize ${eh.ehsize} is smaller than the ELF64 header (64)`, 52);

  const raw = readSectionHeaders(r, eh.shoff, eh.shnum, eh.shentsize);
  const sections = buildSections(r, raw, eh.shstrndx, raw[0]);
  const { symbols, symtab } = readSymbols(r, sections);
  const relocations = readRelocations(r, sections, symbols, symtab);

  return {
    byteOrder: ident.order,
    type: eh.type,
    machine: eh.machine,
    flags: eh.flags,
    entry: eh.entry,
    sections,
    symbols,
    relocations,
  };
}

function readSectionHeaders(r: WireReader, shoffBig: bigint, shnumField: number, shentsize: number): RawShdr[] {
  if (shoffBig === 0n) {
    if (shnumField !== 0) throw new ElfError(`e_shnum is ${shnumField} but e_shoff is 0`, 60);
    return [];
  }
  if (shentsize !== E.SHDR64_SIZE) throw new ElfError(`e_shentsize ${shentsize} is not the ELF64 section header size (64)`, 58);
  const shoff = safeNumber(shoffBig, "e_shoff", 40);
  r.check(shoff, E.SHDR64_SIZE, "section header table (e_shoff)");
  const first = readShdr(r, shoff, 0);
  // e_shnum == 0 with a table present: the real count is in section 0's sh_size (gABI extended numbering).
  const count = shnumField !== 0 ? shnumField : safeNumber(first.size, "section count in section 0 sh_size", shoff + 32);
  r.check(shoff, count * E.SHDR64_SIZE, `section header table of ${count} entries`);
  const out: RawShdr[] = [first];
  for (let i = 1; i < count; i++) out.push(readShdr(r, shoff + i * E.SHDR64_SIZE, i));
  return out;
}

function buildSections(r: WireReader, raw: readonly RawShdr[], shstrndxField: number, first: RawShdr | undefined): ElfSection[] {
  if (raw.length === 0) return [];
  const shstrndx = shstrndxField === E.SHN_XINDEX ? (first?.link ?? 0) : shstrndxField;
  if (shstrndx >= raw.length) throw new ElfError(`e_shstrndx ${shstrndx} names no section (there are ${raw.length})`, 62);

  // Bounds and numeric checks first, names second (the name table is itself a section).
  const placed = raw.map((h, i) => {
    const w = `section ${i}`;
    const size = safeNumber(h.size, `${w} sh_size`, h.at + 32);
    const offset = safeNumber(h.offset, `${w} sh_offset`, h.at + 24);
    const hasData = h.type !== E.SHT_NOBITS && h.type !== E.SHT_NULL;
    if (hasData) r.check(offset, size, `${w} contents (sh_offset ${offset}, sh_size ${size})`);
    return {
      h,
      size,
      offset,
      data: hasData ? r.bytes.subarray(offset, offset + size) : new Uint8Array(0),
      addralign: safeNumber(h.addralign, `${w} sh_addralign`, h.at + 48),
      entsize: safeNumber(h.entsize, `${w} sh_entsize`, h.at + 56),
    };
  });

  const names = shstrndx === E.SHN_UNDEF ? undefined : placed[shstrndx]!;
  if (names !== undefined && names.h.type !== E.SHT_STRTAB) {
    throw new ElfError(`section name table (section ${shstrndx}) has type ${hex(names.h.type)}, not SHT_STRTAB`, names.h.at + 4);
  }
  return placed.map((p, i) => {
    const name =
      names === undefined ? "" : decodeName(readCString(r, names.offset, names.offset + names.size, p.h.name, `section ${i} sh_name`));
    return {
      index: i,
      name,
      type: p.h.type,
      typeName: E.SECTION_TYPE_NAMES[p.h.type] ?? hex(p.h.type),
      flags: p.h.flags,
      alloc: (p.h.flags & E.SHF_ALLOC) !== 0n,
      write: (p.h.flags & E.SHF_WRITE) !== 0n,
      executable: (p.h.flags & E.SHF_EXECINSTR) !== 0n,
      addr: p.h.addr,
      offset: p.offset,
      size: p.size,
      link: p.h.link,
      info: p.h.info,
      addralign: p.addralign,
      entsize: p.entsize,
      data: p.data,
      headerOffset: p.h.at,
    };
  });
}

function tableEntries(s: ElfSection, entsize: number, what: string): number {
  if (s.entsize !== entsize) throw new ElfError(`${what} (section ${s.index} ${s.name}) has sh_entsize ${s.entsize}, expected ${entsize}`, s.headerOffset + 56);
  if (s.size % entsize !== 0) throw new ElfError(`${what} (section ${s.index} ${s.name}) size ${s.size} is not a multiple of ${entsize}`, s.headerOffset + 32);
  return s.size / entsize;
}

function readSymbols(r: WireReader, sections: readonly ElfSection[]): { symbols: ElfSymbol[]; symtab: ElfSection | undefined } {
  const tabs = sections.filter((s) => s.type === E.SHT_SYMTAB);
  if (tabs.length === 0) return { symbols: [], symtab: undefined };
  if (tabs.length > 1) throw new ElfError(`more than one SHT_SYMTAB (sections ${tabs.map((s) => s.index).join(", ")})`, tabs[1]!.headerOffset);
  const symtab = tabs[0]!;
  const count = tableEntries(symtab, E.SYM64_SIZE, "symbol table");
  const strtab = sections[symtab.link];
  if (strtab === undefined || strtab.type !== E.SHT_STRTAB || strtab.index === 0) {
    throw new ElfError(`symbol table sh_link ${symtab.link} is not a string table`, symtab.headerOffset + 40);
  }
  // Extended section indices (st_shndx == SHN_XINDEX) live in a SHT_SYMTAB_SHNDX section linked to this table.
  const shndxSec = sections.find((s) => s.type === E.SHT_SYMTAB_SHNDX && s.link === symtab.index);

  const symbols: ElfSymbol[] = [];
  for (let i = 0; i < count; i++) {
    const s = readSym(r, symtab.offset + i * E.SYM64_SIZE, i);
    const name = decodeName(readCString(r, strtab.offset, strtab.offset + strtab.size, s.name, `symbol ${i} st_name`));
    let sectionIndex = s.shndx;
    if (s.shndx === E.SHN_XINDEX) {
      if (shndxSec === undefined) throw new ElfError(`symbol ${i} (${name}) uses SHN_XINDEX but there is no SHT_SYMTAB_SHNDX section`, s.at + 6);
      if ((i + 1) * 4 > shndxSec.size) throw new ElfError(`symbol ${i} (${name}) has no entry in SHT_SYMTAB_SHNDX`, shndxSec.offset + i * 4);
      sectionIndex = r.u32(shndxSec.offset + i * 4, `SHT_SYMTAB_SHNDX entry ${i}`);
    }
    const special = s.shndx !== E.SHN_XINDEX && (sectionIndex === E.SHN_UNDEF || sectionIndex >= E.SHN_LORESERVE);
    if (!special && sectionIndex >= sections.length) {
      throw new ElfError(`symbol ${i} (${name}) names section ${sectionIndex}, which does not exist`, s.at + 6);
    }
    symbols.push({
      index: i,
      name,
      value: s.value,
      size: s.size,
      type: s.info & 0xf,
      bind: s.info >> 4,
      visibility: s.other & 3,
      sectionIndex,
      section: special ? undefined : sections[sectionIndex],
    });
  }
  return { symbols, symtab };
}

function readRelocations(
  r: WireReader,
  sections: readonly ElfSection[],
  symbols: readonly ElfSymbol[],
  symtab: ElfSection | undefined,
): ElfRelocationSection[] {
  const out: ElfRelocationSection[] = [];
  for (const sec of sections) {
    if (sec.type !== E.SHT_REL && sec.type !== E.SHT_RELA) continue;
    const rela = sec.type === E.SHT_RELA;
    const count = tableEntries(sec, rela ? E.RELA64_SIZE : E.REL64_SIZE, "relocation section");
    const target = sections[sec.info];
    if (target === undefined || sec.info === 0) {
      throw new ElfError(`relocation section ${sec.index} (${sec.name}) sh_info ${sec.info} names no target section`, sec.headerOffset + 44);
    }
    if (count > 0 && (symtab === undefined || sec.link !== symtab.index)) {
      throw new ElfError(`relocation section ${sec.index} (${sec.name}) sh_link ${sec.link} is not the symbol table`, sec.headerOffset + 40);
    }
    const entries: ElfRelocation[] = [];
    for (let i = 0; i < count; i++) {
      const what = `relocation ${i} of ${sec.name}`;
      const rr = readRel(r, sec.offset + i * sec.entsize, rela, what);
      const symbolIndex = Number(rr.info >> 32n);
      const type = Number(rr.info & 0xffffffffn);
      if (symbolIndex >= symbols.length && symbolIndex !== 0) {
        throw new ElfError(`${what}: symbol index ${symbolIndex} is outside the symbol table (${symbols.length} entries)`, rr.at + 8);
      }
      if (rr.offset >= BigInt(target.size) || target.type === E.SHT_NOBITS) {
        throw new ElfError(`${what}: r_offset 0x${rr.offset.toString(16)} lies outside ${target.name} (${target.size} bytes)`, rr.at);
      }
      entries.push({
        offset: Number(rr.offset),
        type,
        typeName: E.BPF_RELOC_NAMES[type] ?? hex(type),
        symbolIndex,
        symbol: symbolIndex === 0 ? undefined : symbols[symbolIndex],
        addend: rr.addend,
      });
    }
    out.push({ section: sec, target, entries });
  }
  return out;
}

/** The relocations that patch `section` (all SHT_REL/SHT_RELA sections targeting it, in order). */
export function relocationsFor(elf: ElfFile, section: ElfSection): ElfRelocation[] {
  return elf.relocations.filter((rs) => rs.target.index === section.index).flatMap((rs) => rs.entries);
}

/** The first section called `name`, if any. */
export function sectionByName(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}
