/**
 * loadCollectionSpec(): ELF bytes -> ObjectSpec, pure (no runtime, no I/O).
 * The steps follow libbpf's bpf_object_open() and bpf_object__relocate():
 *   1. read the ELF (parse.ts) and check it is a BPF object (EM_BPF, ET_REL,
 *      symbols, no overlapping sections);
 *   2. license, version; .BTF and .BTF.ext (with DATASEC sizes and variable
 *      offsets filled in from the ELF, btf_fixup_datasec());
 *   3. reject externs (.kconfig, .ksyms, kfuncs) and struct_ops / arena
 *      sections, naming the symbol;
 *   4. maps: legacy SEC("maps"), BTF-defined SEC(".maps"), global data;
 *   5. functions by symbol, relocations recorded per function;
 *   6. each entry point linked with its subprograms; map references rewritten;
 *   7. static initialisation of prog arrays and map-in-maps (.rel.maps).
 * Every malformed input ends in a TsbpfError (ElfError, BtfError, or
 * UnsupportedFeatureError) saying where and why.
 *
 * CO-RE relocations are applied when LoadOptions.coreTarget gives a target BTF
 * (btf/core.ts); otherwise the records are only remapped onto the programs.
 *
 * Not supported (rejected with UnsupportedFeatureError): .kconfig and .ksyms
 * externs, kfunc calls, struct_ops maps, arenas. Not done: BPF static linking
 * of several objects, weak-symbol overriding.
 */
import { applyCoreRelos, fixupDatasec, parseBtf, parseBtfExt, type Btf, type BtfExt, type BtfVarSecinfo } from "../btf/index.js";
import { ElfError } from "../errors/index.js";
import * as E from "./constants.js";
import { linkProgram } from "./link.js";
import { btfMaps, staticInit, type BtfMapPlacement } from "./maps-btf.js";
import { dataMap, dataSectionKind } from "./maps-data.js";
import { legacyMaps } from "./maps-legacy.js";
import { checkBpfObject, isExtern, UnsupportedFeatureError } from "./object-checks.js";
import type { LoadOptions, MapSpecIn, ObjectSpec, ProgramSpecIn } from "./object-types.js";
import { parseElf } from "./parse.js";
import { collectFunctions, recordRelocations } from "./programs.js";
import { sectionInfo } from "./section-names.js";
import type { ElfFile, ElfSection } from "./types.js";

const LICENSE_MAX = 128; // libbpf's obj->license[] size

/** The object name libbpf derives from a path: base name up to the first ".". */
export function objectNameFromPath(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  const dot = base.indexOf(".");
  return dot === -1 ? base : base.slice(0, dot);
}

export function loadCollectionSpec(bytes: Uint8Array, opts: LoadOptions = {}): ObjectSpec {
  const elf = parseElf(bytes);
  checkBpfObject(elf);
  const order = elf.byteOrder;
  const name = opts.name ?? "obj";

  const license = readLicense(elf);
  const kernelVersion = readVersion(elf);
  const { btf, btfExt } = readBtf(elf);
  rejectUnsupported(elf, btf);
  if (btf !== undefined) fixupDatasecs(elf, btf);

  // Maps, in libbpf's order: legacy, BTF-defined, global data.
  const maps: MapSpecIn[] = [];
  const mapIndexAt = new Map<string, number>(); // "section:offset" -> index into maps
  const dataMapOf = new Map<number, number>(); // section index -> index into maps
  const legacySec = elf.sections.find((s) => s.name === "maps");
  if (legacySec !== undefined) {
    for (const m of legacyMaps(elf, legacySec, order)) {
      mapIndexAt.set(`${legacySec.index}:${m.offset}`, maps.length);
      maps.push(m.spec);
    }
  }
  const btfMapSec = elf.sections.find((s) => s.name === ".maps");
  let placedBtfMaps: BtfMapPlacement[] = [];
  if (btfMapSec !== undefined) {
    placedBtfMaps = btfMaps(elf, btf, btfMapSec);
    for (const m of placedBtfMaps) {
      mapIndexAt.set(`${btfMapSec.index}:${m.offset}`, maps.length);
      maps.push(m.spec);
    }
  }
  for (const s of elf.sections) {
    const kind = dataSectionKind(s);
    if (kind === undefined || s.size === 0) continue;
    dataMapOf.set(s.index, maps.length);
    maps.push(dataMap(name, s, kind, btf));
  }
  const names = new Set<string>();
  for (const m of maps) {
    if (names.has(m.name)) throw new ElfError(`two maps are named '${m.name}'`);
    names.add(m.name);
  }

  // Functions and their relocations.
  const funcs = collectFunctions(elf, order);
  recordRelocations(elf, funcs, {
    isMapSection: (i) => i === legacySec?.index || i === btfMapSec?.index,
    mapAt: (i, off) => mapIndexAt.get(`${i}:${off}`),
    dataMapOf: (i) => dataMapOf.get(i),
  });

  const programs: ProgramSpecIn[] = [];
  for (const f of funcs) {
    if (f.isSubprog) continue;
    const info = sectionInfo(f.section.name);
    const linked = linkProgram(f, funcs, maps, btfExt);
    const p: ProgramSpecIn = {
      name: f.name,
      section: info.autoload ? f.section.name : f.section.name.slice(1),
      type: info.type,
      typeId: info.typeId,
      sleepable: info.sleepable,
      xdpFrags: info.xdpFrags,
      autoload: info.autoload,
      global: f.global,
      ...linked,
      license,
    };
    if (info.expectedAttachType !== undefined) {
      p.expectedAttachType = info.expectedAttachType;
      p.expectedAttachTypeId = info.expectedAttachTypeId!;
    }
    if (info.attachTo !== undefined) p.attachTo = info.attachTo;
    if (opts.coreTarget !== undefined && p.coreRelos.length > 0) {
      const core = applyCoreRelos(p.insns, p.coreRelos, opts.coreTarget, { byteOrder: order });
      p.insns = core.insns;
      p.coreResults = core.results;
    }
    programs.push(p);
  }

  if (btfMapSec !== undefined) {
    staticInit(elf, btfMapSec, placedBtfMaps, (prog, secIndex, value) =>
      funcs.some((f) => !f.isSubprog && f.name === prog && f.section.index === secIndex && f.secInsnOff * 8 === value),
    );
  }

  const spec: ObjectSpec = { name, license, kernelVersion, byteOrder: order, maps, programs, elf };
  if (btf !== undefined) spec.btf = btf;
  if (btfExt !== undefined) spec.btfExt = btfExt;
  return spec;
}

function readLicense(elf: ElfFile): string {
  const s = elf.sections.find((x) => x.name === "license");
  if (s === undefined) return "";
  const d = s.data.subarray(0, LICENSE_MAX - 1);
  const nul = d.indexOf(0);
  return new TextDecoder("utf-8").decode(nul === -1 ? d : d.subarray(0, nul));
}

function readVersion(elf: ElfFile): number {
  const s = elf.sections.find((x) => x.name === "version");
  if (s === undefined) return 0;
  if (s.size !== 4 || s.data.length !== 4) throw new ElfError(`section version: size ${s.size} is not 4 (a u32 kernel version)`, s.headerOffset + 32);
  return new DataView(s.data.buffer, s.data.byteOffset, 4).getUint32(0, elf.byteOrder === "little");
}

function readBtf(elf: ElfFile): { btf?: Btf; btfExt?: BtfExt } {
  const s = elf.sections.find((x) => x.name === ".BTF");
  if (s === undefined) return {};
  if (s.type !== E.SHT_PROGBITS) throw new ElfError(`section .BTF has type ${s.typeName}, not SHT_PROGBITS`, s.headerOffset + 4);
  const btf = parseBtf(s.data);
  if (btf.byteOrder !== elf.byteOrder) throw new ElfError(`.BTF is ${btf.byteOrder}-endian in a ${elf.byteOrder}-endian object`, s.offset);
  const x = elf.sections.find((y) => y.name === ".BTF.ext");
  if (x === undefined) return { btf };
  if (x.type !== E.SHT_PROGBITS) throw new ElfError(`section .BTF.ext has type ${x.typeName}, not SHT_PROGBITS`, x.headerOffset + 4);
  return { btf, btfExt: parseBtfExt(x.data, btf) };
}

/** Externs and sections tsbpf cannot honour, named precisely. */
function rejectUnsupported(elf: ElfFile, btf: Btf | undefined): void {
  const inSec = (sec: string, name: string): BtfVarSecinfo | undefined => btf?.find(sec, "datasec")?.vars.find((v) => v.type.name === name);
  for (const s of elf.symbols) {
    if (!isExtern(s)) continue;
    if (inSec(".kconfig", s.name) !== undefined) {
      throw new UnsupportedFeatureError("kconfig", s.name, `extern '${s.name}' (.kconfig): Kconfig externs are not supported`);
    }
    const ks = inSec(".ksyms", s.name);
    if (ks !== undefined && ks.type.kind === "func") {
      throw new UnsupportedFeatureError("kfunc", s.name, `extern function '${s.name}' (.ksyms): kfunc calls are not supported`);
    }
    if (ks !== undefined) throw new UnsupportedFeatureError("ksym", s.name, `extern '${s.name}' (.ksyms): kernel symbol externs are not supported`);
    throw new UnsupportedFeatureError("extern", s.name, `extern symbol '${s.name}' is not defined in this object (no BPF static linking)`);
  }
  for (const s of elf.sections) {
    if (/^\??\.struct_ops(\.link)?$/.test(s.name)) {
      throw new UnsupportedFeatureError("struct_ops", s.name, `section ${s.name}: struct_ops maps are not supported`);
    }
    if (s.name === ".addr_space.1") throw new UnsupportedFeatureError("arena", s.name, `section ${s.name}: arena globals are not supported`);
  }
}

/**
 * btf_fixup_datasec() for every DATASEC: size from the ELF section, offsets of
 * global variables from their symbols; hidden globals become static (which
 * keeps a data map from being mmapable, as in libbpf).
 */
function fixupDatasecs(elf: ElfFile, btf: Btf): void {
  for (const t of btf.types) {
    if (t.kind !== "datasec" || t.name === ".kconfig" || t.name === ".ksyms") continue;
    const sec: ElfSection | undefined = elf.sections.find((s) => s.name === t.name);
    if (t.size === 0 && (sec === undefined || sec.size === 0)) {
      throw new ElfError(`BTF DATASEC '${t.name}' (type [${t.id}]): no ELF section of that name to take its size from`);
    }
    const symOf = (name: string): (typeof elf.symbols)[number] | undefined =>
      elf.symbols.find((s) => s.type === E.STT_OBJECT && (s.bind === E.STB_GLOBAL || s.bind === E.STB_WEAK) && s.name === name);
    const offsets = new Map<BtfVarSecinfo, number>();
    for (const v of t.vars) {
      if (v.type.kind !== "var" || v.type.linkage === "static" || v.type.linkage === "extern") continue;
      const sym = symOf(v.type.name);
      if (sym === undefined) throw new ElfError(`BTF DATASEC '${t.name}': no ELF symbol for variable '${v.type.name}'`);
      offsets.set(v, Number(sym.value));
      if (sym.visibility === E.STV_HIDDEN || sym.visibility === E.STV_INTERNAL) (v.type as { linkage: string }).linkage = "static";
    }
    fixupDatasec(t, sec?.size ?? t.size, (v) => offsets.get(v));
  }
}
