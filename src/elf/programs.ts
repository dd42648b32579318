/**
 * Functions and their relocations, as libbpf's bpf_object__add_programs() and
 * bpf_object__collect_prog_relos() / bpf_program__record_reloc() find them:
 *   - every executable PROGBITS section holds functions, one per STT_FUNC
 *     symbol (several programs per section); functions in .text are
 *     subprograms, the others entry points (a static entry point is an error);
 *   - every relocation against an executable section is recorded on the
 *     function containing its instruction: a call into .text, the address of a
 *     .text function (bpf_loop callbacks: BPF_PSEUDO_FUNC), a map, or global
 *     data. Anything else (a relocation on another instruction, against an
 *     undefined or special symbol, or a section that is neither) is an
 *     ElfError naming the relocation, the symbol and the instruction.
 */
import { ElfError } from "../errors/index.js";
import { decodeRaw, type RawInsn } from "../isa/index.js";
import * as E from "./constants.js";
import { symbolName } from "./object-checks.js";
import type { ElfFile, ElfSection, ElfSymbol } from "./types.js";
import type { ByteOrder } from "./wire.js";

export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;
const CALL = 0x85; // BPF_JMP | BPF_CALL
const LD_IMM64 = 0x18; // BPF_LD | BPF_IMM | BPF_DW

export type Relo =
  | { readonly kind: "call"; readonly symOff: number; readonly symbol: string }
  | { readonly kind: "subprog_addr"; readonly symOff: number; readonly symbol: string }
  | { readonly kind: "map"; readonly map: number }
  | { readonly kind: "data"; readonly map: number; readonly symOff: number };

export interface FuncBlock {
  readonly name: string;
  readonly section: ElfSection;
  /** Index of the function's first slot in its section. */
  readonly secInsnOff: number;
  /** The function's slots, in native order (decodeRaw handles big-endian objects). */
  readonly raw: RawInsn[];
  readonly global: boolean;
  readonly isSubprog: boolean;
  /** Relocations by slot index relative to the function's start. */
  readonly relos: Map<number, Relo>;
}

/** Finds a map for a relocation's symbol: the map index, or undefined when the section holds no maps. */
export interface MapResolver {
  /** A symbol in .maps or the legacy "maps" section: the map at that offset. */
  mapAt(sectionIndex: number, offset: number): number | undefined;
  isMapSection(sectionIndex: number): boolean;
  /** The global data map of a .data/.rodata/.bss section. */
  dataMapOf(sectionIndex: number): number | undefined;
}

export function collectFunctions(elf: ElfFile, order: ByteOrder): FuncBlock[] {
  const out: FuncBlock[] = [];
  for (const sec of elf.sections) {
    if (sec.type !== E.SHT_PROGBITS || !sec.executable || sec.size === 0) continue;
    if (sec.size % 8 !== 0) throw new ElfError(`section ${sec.index} (${sec.name}): size ${sec.size} is not a multiple of 8 (one instruction)`, sec.headerOffset + 32);
    const slots = decodeRaw(sec.data, order);
    const isText = sec.name === ".text";
    const funcs = elf.symbols.filter((s) => s.sectionIndex === sec.index && s.section !== undefined && s.type === E.STT_FUNC);
    for (const s of funcs) {
      const where = `section '${sec.name}': program '${s.name}'`;
      if (s.value % 8n !== 0n || s.size % 8n !== 0n || s.size === 0n) {
        throw new ElfError(`${where}: corrupted (offset ${s.value}, size ${s.size}: not whole instructions)`);
      }
      if (s.value + s.size > BigInt(sec.size)) throw new ElfError(`${where} at offset ${s.value} (${s.size} bytes) crosses the section boundary (${sec.size} bytes)`);
      if (!isText && s.bind === E.STB_LOCAL) throw new ElfError(`${where} is static and not supported`);
      const start = Number(s.value) / 8;
      out.push({
        name: s.name,
        section: sec,
        secInsnOff: start,
        raw: slots.slice(start, start + Number(s.size) / 8).map((r) => ({ ...r })),
        global: s.bind !== E.STB_LOCAL,
        isSubprog: isText,
        relos: new Map(),
      });
    }
  }
  // libbpf sorts programs by section index, then by offset.
  out.sort((a, b) => a.section.index - b.section.index || a.secInsnOff - b.secInsnOff);
  return out;
}

/** The function of `section` containing slot `idx` (find_prog_by_sec_insn). */
export function functionAt(funcs: readonly FuncBlock[], sectionIndex: number, idx: number): FuncBlock | undefined {
  return funcs.find((f) => f.section.index === sectionIndex && idx >= f.secInsnOff && idx < f.secInsnOff + f.raw.length);
}

/** libbpf's sym_is_subprog(): a .text section symbol (static functions) or a global .text function. */
function isSubprogSymbol(s: ElfSymbol, textIndex: number | undefined): boolean {
  if (textIndex === undefined || s.sectionIndex !== textIndex) return false;
  if (s.bind === E.STB_LOCAL && s.type === E.STT_SECTION) return true;
  return (s.bind === E.STB_GLOBAL || s.bind === E.STB_WEAK) && s.type === E.STT_FUNC;
}

export function recordRelocations(elf: ElfFile, funcs: readonly FuncBlock[], maps: MapResolver): void {
  const text = elf.sections.find((s) => s.name === ".text" && s.executable && s.size > 0);
  for (const rs of elf.relocations) {
    const target = rs.target;
    if (target.type !== E.SHT_PROGBITS || !target.executable) continue;
    rs.entries.forEach((rel, i) => {
      const where = `section ${rs.section.name}: relocation ${i}`;
      const sym = rel.symbol;
      if (sym === undefined) throw new ElfError(`${where}: has no symbol (symbol index 0)`);
      const name = symbolName(sym);
      if (rel.offset % 8 !== 0) throw new ElfError(`${where} against '${name}': offset ${rel.offset} is not at an instruction`);
      const idx = rel.offset / 8;
      const fn = functionAt(funcs, target.index, idx);
      if (fn === undefined) return; // libbpf: not inside any function (an overridden weak one); skipped
      const local = idx - fn.secInsnOff;
      const insn = fn.raw[local]!;
      const at = `${where}: insn ${local} of '${fn.name}' against '${name}'`;
      if (insn.code !== CALL && insn.code !== LD_IMM64) throw new ElfError(`${at}: not a call or ld_imm64 (code 0x${insn.code.toString(16)})`);
      if (insn.code === LD_IMM64 && local + 1 >= fn.raw.length) throw new ElfError(`${at}: ld_imm64 is cut off by the end of the function`);
      fn.relos.set(local, resolve(at, sym, name, insn, text?.index, maps));
      if (fn.relos.get(local)!.kind === "subprog_addr") insn.src = BPF_PSEUDO_FUNC;
    });
  }
}

function resolve(at: string, sym: ElfSymbol, name: string, insn: RawInsn, textIndex: number | undefined, maps: MapResolver): Relo {
  const shndx = sym.sectionIndex;
  if (insn.code === CALL) {
    if (insn.src !== BPF_PSEUDO_CALL) throw new ElfError(`${at}: incorrect bpf_call opcode (src_reg ${insn.src}, expected BPF_PSEUDO_CALL)`);
    if (shndx === E.SHN_UNDEF || shndx !== textIndex) throw new ElfError(`${at}: bad call relocation into section '${sym.section?.name ?? shndx}' (only .text holds subprograms)`);
    if (sym.value % 8n !== 0n) throw new ElfError(`${at}: bad call relocation at offset ${sym.value}`);
    return { kind: "call", symOff: Number(sym.value), symbol: name };
  }
  if (shndx === E.SHN_UNDEF || shndx >= E.SHN_LORESERVE || sym.section === undefined) {
    throw new ElfError(`${at}: relocation against a symbol in special section 0x${shndx.toString(16)} (an uninitialised global?)`);
  }
  if (isSubprogSymbol(sym, textIndex)) {
    if (sym.value % 8n !== 0n || insn.imm % 8 !== 0) throw new ElfError(`${at}: bad subprogram address at offset ${sym.value}+${insn.imm}`);
    return { kind: "subprog_addr", symOff: Number(sym.value), symbol: name };
  }
  if (maps.isMapSection(shndx)) {
    const m = maps.mapAt(shndx, Number(sym.value));
    if (m === undefined) throw new ElfError(`${at}: no map at offset ${sym.value} of section '${sym.section.name}'`);
    return { kind: "map", map: m };
  }
  const d = maps.dataMapOf(shndx);
  if (d === undefined) throw new ElfError(`${at}: bad data relocation against section '${sym.section.name}'`);
  return { kind: "data", map: d, symOff: Number(sym.value) };
}
