/**
 * Where the interesting fields of a BPF object sit, for tests that corrupt
 * them: the ELF header, every section header, every symbol and relocation
 * record, and the .BTF header and type records. Offsets are absolute file
 * offsets; `width` is the field size in bytes.
 */
import { BtfReader, detectOrder, readBtfHeader, readTypeRecords } from "../../src/btf/wire.js";
import { parseElf, sectionByName, type ElfFile } from "../../src/elf/index.js";

export interface Field {
  readonly what: string;
  readonly offset: number;
  readonly width: 1 | 2 | 4 | 8;
}

export function fieldsOf(bytes: Uint8Array): Field[] {
  const elf: ElfFile = parseElf(bytes);
  const out: Field[] = [
    { what: "e_type", offset: 16, width: 2 },
    { what: "e_machine", offset: 18, width: 2 },
    { what: "e_shoff", offset: 40, width: 8 },
    { what: "e_shentsize", offset: 58, width: 2 },
    { what: "e_shnum", offset: 60, width: 2 },
    { what: "e_shstrndx", offset: 62, width: 2 },
  ];
  for (const s of elf.sections) {
    const h = s.headerOffset;
    const n = `section ${s.index} (${s.name})`;
    out.push(
      { what: `${n} sh_name`, offset: h, width: 4 },
      { what: `${n} sh_type`, offset: h + 4, width: 4 },
      { what: `${n} sh_flags`, offset: h + 8, width: 8 },
      { what: `${n} sh_offset`, offset: h + 24, width: 8 },
      { what: `${n} sh_size`, offset: h + 32, width: 8 },
      { what: `${n} sh_link`, offset: h + 40, width: 4 },
      { what: `${n} sh_info`, offset: h + 44, width: 4 },
      { what: `${n} sh_entsize`, offset: h + 56, width: 8 },
    );
  }
  const symtab = elf.sections.find((s) => s.typeName === "SHT_SYMTAB");
  if (symtab !== undefined) {
    for (let i = 0; i < elf.symbols.length; i++) {
      const o = symtab.offset + i * 24;
      const n = `symbol ${i} (${elf.symbols[i]!.name})`;
      out.push(
        { what: `${n} st_name`, offset: o, width: 4 },
        { what: `${n} st_info`, offset: o + 4, width: 1 },
        { what: `${n} st_shndx`, offset: o + 6, width: 2 },
        { what: `${n} st_value`, offset: o + 8, width: 8 },
        { what: `${n} st_size`, offset: o + 16, width: 8 },
      );
    }
  }
  for (const rs of elf.relocations) {
    rs.entries.forEach((_, i) => {
      const o = rs.section.offset + i * rs.section.entsize;
      out.push({ what: `${rs.section.name}[${i}] r_offset`, offset: o, width: 8 }, { what: `${rs.section.name}[${i}] r_info`, offset: o + 8, width: 8 });
    });
  }
  const btf = sectionByName(elf, ".BTF");
  if (btf !== undefined && btf.size >= 24) {
    for (const [what, off, width] of [["magic", 0, 2], ["hdr_len", 4, 4], ["type_off", 8, 4], ["type_len", 12, 4], ["str_off", 16, 4], ["str_len", 20, 4]] as const) {
      out.push({ what: `.BTF ${what}`, offset: btf.offset + off, width });
    }
    // Every type record's common fields: name_off, info, size/type.
    try {
      const r = new BtfReader(btf.data, detectOrder(btf.data, ".BTF"));
      const h = readBtfHeader(r);
      for (const t of readTypeRecords(r, h.typeStart, h.typeLen)) {
        out.push(
          { what: `.BTF [${t.id}] name_off`, offset: btf.offset + t.at, width: 4 },
          { what: `.BTF [${t.id}] info`, offset: btf.offset + t.at + 4, width: 4 },
          { what: `.BTF [${t.id}] size/type`, offset: btf.offset + t.at + 8, width: 4 },
        );
      }
    } catch {
      // already broken: no record fields
    }
  }
  const ext = sectionByName(elf, ".BTF.ext");
  if (ext !== undefined && ext.size >= 32) {
    for (let o = 4; o < 32; o += 4) out.push({ what: `.BTF.ext header +${o}`, offset: ext.offset + o, width: 4 });
  }
  return out;
}

/** A copy of `bytes` with the field set; unchanged when the field lies past the end (a truncated file). */
export function writeField(bytes: Uint8Array, f: Field, value: bigint, littleEndian: boolean): Uint8Array {
  const copy = bytes.slice();
  if (f.offset + f.width > copy.length) return copy;
  const v = new DataView(copy.buffer);
  const x = BigInt.asUintN(f.width * 8, value);
  if (f.width === 1) v.setUint8(f.offset, Number(x));
  else if (f.width === 2) v.setUint16(f.offset, Number(x), littleEndian);
  else if (f.width === 4) v.setUint32(f.offset, Number(x), littleEndian);
  else v.setBigUint64(f.offset, x, littleEndian);
  return copy;
}

export function findField(bytes: Uint8Array, what: string | RegExp): Field {
  const f = fieldsOf(bytes).find((x) => (typeof what === "string" ? x.what === what : what.test(x.what)));
  if (f === undefined) throw new Error(`no field ${String(what)}`);
  return f;
}
