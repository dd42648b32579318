/**
 * A tiny ELF64 relocatable-object writer for tests: wraps instruction bytes in
 * sections so llvm-objdump (and our reader) can read them, in either byte
 * order. Layout: header, section contents, .strtab, .symtab, .rel* sections,
 * .shstrtab, then the section header table. Not part of the library.
 */
import * as E from "../../src/elf/constants.js";

export interface BuildSection {
  readonly name: string;
  readonly data: Uint8Array;
  readonly type?: number;
  readonly flags?: bigint;
  readonly addralign?: number;
  /** For SHT_NOBITS: the size in memory (data must be empty). */
  readonly size?: number;
}

export interface BuildSymbol {
  readonly name: string;
  /** Section name, or undefined for SHN_UNDEF; a number is used as st_shndx directly. */
  readonly section?: string | number;
  readonly value?: bigint | number;
  readonly size?: bigint | number;
  readonly type?: number;
  readonly bind?: number;
}

export interface BuildRelocation {
  /** Name of the section the relocation patches. */
  readonly target: string;
  readonly offset: number;
  readonly symbol: string;
  readonly type: number;
}

export interface BuildElfOptions {
  readonly sections: readonly BuildSection[];
  readonly symbols?: readonly BuildSymbol[];
  readonly relocations?: readonly BuildRelocation[];
  readonly byteOrder?: "little" | "big";
  readonly machine?: number;
}

class StrTab {
  readonly parts: number[] = [0];
  private readonly index = new Map<string, number>([["", 0]]);
  add(s: string): number {
    const got = this.index.get(s);
    if (got !== undefined) return got;
    const at = this.parts.length;
    this.parts.push(...new TextEncoder().encode(s), 0);
    this.index.set(s, at);
    return at;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

export function buildElf(opts: BuildElfOptions): Uint8Array {
  const le = (opts.byteOrder ?? "little") === "little";
  const shstr = new StrTab();
  const str = new StrTab();
  const symbols = opts.symbols ?? [];
  const relocs = opts.relocations ?? [];

  type Sec = { name: string; type: number; flags: bigint; data: Uint8Array; size: number; link: number; info: number; align: number; entsize: number };
  const secs: Sec[] = [{ name: "", type: E.SHT_NULL, flags: 0n, data: new Uint8Array(0), size: 0, link: 0, info: 0, align: 0, entsize: 0 }];
  for (const s of opts.sections) {
    const type = s.type ?? E.SHT_PROGBITS;
    secs.push({
      name: s.name, type, flags: s.flags ?? E.SHF_ALLOC | E.SHF_EXECINSTR, data: s.data,
      size: type === E.SHT_NOBITS ? (s.size ?? 0) : s.data.length, link: 0, info: 0, align: s.addralign ?? 8, entsize: 0,
    });
  }
  const secIndex = (name: string): number => {
    const i = secs.findIndex((s) => s.name === name);
    if (i < 0) throw new Error(`buildElf: no section ${name}`);
    return i;
  };

  // Symbols: null, locals, globals (sh_info = first global).
  const ordered = [...symbols.filter((s) => (s.bind ?? E.STB_LOCAL) === E.STB_LOCAL), ...symbols.filter((s) => (s.bind ?? E.STB_LOCAL) !== E.STB_LOCAL)];
  const symData = new Uint8Array((ordered.length + 1) * E.SYM64_SIZE);
  const sv = new DataView(symData.buffer);
  ordered.forEach((s, k) => {
    const o = (k + 1) * E.SYM64_SIZE;
    sv.setUint32(o, str.add(s.name), le);
    sv.setUint8(o + 4, ((s.bind ?? E.STB_LOCAL) << 4) | (s.type ?? E.STT_NOTYPE));
    sv.setUint16(o + 6, typeof s.section === "number" ? s.section : s.section === undefined ? 0 : secIndex(s.section), le);
    sv.setBigUint64(o + 8, BigInt(s.value ?? 0), le);
    sv.setBigUint64(o + 16, BigInt(s.size ?? 0), le);
  });
  const symIndex = (name: string): number => ordered.findIndex((s) => s.name === name) + 1;
  const strIdx = secs.length;
  secs.push({ name: ".strtab", type: E.SHT_STRTAB, flags: 0n, data: str.bytes(), size: 0, link: 0, info: 0, align: 1, entsize: 0 });
  const symtabIdx = secs.length;
  const firstGlobal = symbols.filter((s) => (s.bind ?? E.STB_LOCAL) === E.STB_LOCAL).length + 1;
  secs.push({ name: ".symtab", type: E.SHT_SYMTAB, flags: 0n, data: symData, size: symData.length, link: strIdx, info: firstGlobal, align: 8, entsize: E.SYM64_SIZE });

  for (const target of [...new Set(relocs.map((r) => r.target))]) {
    const mine = relocs.filter((r) => r.target === target);
    const data = new Uint8Array(mine.length * E.REL64_SIZE);
    const dv = new DataView(data.buffer);
    mine.forEach((r, k) => {
      dv.setBigUint64(k * 16, BigInt(r.offset), le);
      dv.setBigUint64(k * 16 + 8, (BigInt(symIndex(r.symbol)) << 32n) | BigInt(r.type), le);
    });
    secs.push({ name: `.rel${target}`, type: E.SHT_REL, flags: 0n, data, size: data.length, link: symtabIdx, info: secIndex(target), align: 8, entsize: E.REL64_SIZE });
  }
  const shstrIdx = secs.length;
  secs.push({ name: ".shstrtab", type: E.SHT_STRTAB, flags: 0n, data: new Uint8Array(0), size: 0, link: 0, info: 0, align: 1, entsize: 0 });
  const names = secs.map((s) => shstr.add(s.name));
  secs[shstrIdx]!.data = shstr.bytes();
  secs[strIdx]!.data = str.bytes();
  for (const s of secs) if (s.type !== E.SHT_NOBITS) s.size = s.data.length;

  // Layout.
  let off = E.EHDR64_SIZE;
  const offsets = secs.map((s) => {
    if (s.type === E.SHT_NULL) return 0;
    off = align(off, Math.max(1, s.align));
    const at = off;
    if (s.type !== E.SHT_NOBITS) off += s.data.length;
    return at;
  });
  const shoff = align(off, 8);
  const total = shoff + secs.length * E.SHDR64_SIZE;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set(E.ELFMAG, 0);
  out[4] = E.ELFCLASS64;
  out[5] = le ? E.ELFDATA2LSB : E.ELFDATA2MSB;
  out[6] = E.EV_CURRENT;
  v.setUint16(16, E.ET_REL, le);
  v.setUint16(18, opts.machine ?? E.EM_BPF, le);
  v.setUint32(20, E.EV_CURRENT, le);
  v.setBigUint64(40, BigInt(shoff), le);
  v.setUint16(52, E.EHDR64_SIZE, le);
  v.setUint16(58, E.SHDR64_SIZE, le);
  v.setUint16(60, secs.length, le);
  v.setUint16(62, shstrIdx, le);
  secs.forEach((s, i) => {
    if (s.type !== E.SHT_NOBITS) out.set(s.data, offsets[i]!);
    const h = shoff + i * E.SHDR64_SIZE;
    v.setUint32(h, names[i]!, le);
    v.setUint32(h + 4, s.type, le);
    v.setBigUint64(h + 8, s.flags, le);
    v.setBigUint64(h + 24, BigInt(offsets[i]!), le);
    v.setBigUint64(h + 32, BigInt(s.size), le);
    v.setUint32(h + 40, s.link, le);
    v.setUint32(h + 44, s.info, le);
    v.setBigUint64(h + 48, BigInt(s.align), le);
    v.setBigUint64(h + 56, BigInt(s.entsize), le);
  });
  return out;
}
