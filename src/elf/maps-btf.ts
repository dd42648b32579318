/**
 * BTF-defined maps: the variables of SEC(".maps"), each a struct whose members
 * describe the map through their types (libbpf's bpf_helpers.h):
 *   __uint(name, N)      int (*name)[N]          -> N, the array's nelems
 *   __type(name, T)      typeof(T) *name         -> T (key / value)
 *   __array(name, T)     typeof(T) *name[]       -> inner map / prog array values
 * Follows parse_btf_map_def() and bpf_object__init_user_btf_map() in libbpf's
 * libbpf.c, including its errors (strict mode: unknown fields are errors), and
 * bpf_object__collect_map_relos() for static initialisation
 * (`.values = { [1] = &prog }`) through the .rel.maps relocations.
 */
import { BtfError, ElfError } from "../errors/index.js";
import { resolveType, sizeOf, type Btf, type BtfComposite, type BtfDatasec, type BtfType } from "../btf/index.js";
import * as E from "./constants.js";
import { adjustRingbufSize, isMapInMap, mapTypeName } from "./map-types.js";
import { withCause } from "./object-checks.js";
import type { MapSpecIn } from "./object-types.js";
import type { ElfFile, ElfSection } from "./types.js";

interface MapDef {
  type?: number;
  keySize?: number;
  valueSize?: number;
  maxEntries?: number;
  flags?: number;
  numaNode?: number;
  mapExtra?: bigint;
  pinning?: number;
  key?: BtfType;
  value?: BtfType;
  inner?: MapDef;
}

/** A BTF-defined map and where its definition sits in .maps (for static initialisation). */
export interface BtfMapPlacement {
  readonly spec: MapSpecIn;
  readonly offset: number;
  readonly size: number;
  readonly def: BtfComposite;
}

function fail(map: string, why: string): never {
  throw new ElfError(`map '${map}': ${why}`);
}

/** get_map_field_int(): the member's type is PTR -> ARRAY[N]; N is the value. */
function fieldInt(map: string, name: string, t: BtfType): number {
  const p = resolveType(t);
  if (p.kind !== "ptr") fail(map, `attr '${name}': expected PTR, got ${p.kind.toUpperCase()}`);
  const a = p.target;
  if (a.kind !== "array") fail(map, `attr '${name}': expected ARRAY, got ${a.kind.toUpperCase()}`);
  return a.nelems;
}

/** get_map_field_long(): as fieldInt, or an ENUM / ENUM64 with a single value. */
function fieldLong(map: string, name: string, t: BtfType): bigint {
  const r = resolveType(t);
  if (r.kind === "ptr") return BigInt(fieldInt(map, name, t));
  if (r.kind === "enum" || r.kind === "enum64") {
    if (r.values.length !== 1) fail(map, `attr '${name}': invalid __ulong`);
    return BigInt.asUintN(64, BigInt(r.values[0]!.value));
  }
  return fail(map, `attr '${name}': expected ENUM or ENUM64, got ${r.kind.toUpperCase()}`);
}

function typeSize(map: string, what: string, t: BtfType): number {
  try {
    return sizeOf(t);
  } catch (e) {
    throw withCause(new ElfError(`map '${map}': can't determine ${what} size for type [${t.id}]`), e);
  }
}

function setSize(map: string, what: "key" | "value", def: MapDef, sz: number): void {
  const cur = what === "key" ? def.keySize : def.valueSize;
  if (cur !== undefined && cur !== 0 && cur !== sz) fail(map, `conflicting ${what} size ${cur} != ${sz}`);
  if (what === "key") def.keySize = sz;
  else def.valueSize = sz;
}

function parseDef(map: string, s: BtfComposite, isInner: boolean): MapDef {
  const def: MapDef = {};
  s.members.forEach((m, i) => {
    switch (m.name) {
      case "type":
        def.type = fieldInt(map, m.name, m.type);
        break;
      case "max_entries":
        def.maxEntries = fieldInt(map, m.name, m.type);
        break;
      case "map_flags":
        def.flags = fieldInt(map, m.name, m.type);
        break;
      case "numa_node":
        def.numaNode = fieldInt(map, m.name, m.type);
        break;
      case "key_size":
        setSize(map, "key", def, fieldInt(map, m.name, m.type));
        break;
      case "value_size":
        setSize(map, "value", def, fieldInt(map, m.name, m.type));
        break;
      case "key":
      case "value": {
        if (m.type.kind !== "ptr") fail(map, `${m.name} spec is not PTR: ${m.type.kind.toUpperCase()}`);
        const target = m.type.target;
        setSize(map, m.name, def, typeSize(map, m.name, target));
        def[m.name] = target;
        break;
      }
      case "values": {
        const type = def.type ?? 0;
        const mim = type === 12 || type === 13; // BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS
        const progArray = type === 3; // BPF_MAP_TYPE_PROG_ARRAY
        const desc = mim ? "map-in-map inner" : "prog-array value";
        if (isInner) fail(map, "multi-level inner maps not supported");
        if (i !== s.members.length - 1) fail(map, `'values' member should be last`);
        if (!mim && !progArray) fail(map, "should be map-in-map or prog-array");
        if (def.valueSize !== undefined && def.valueSize !== 4) fail(map, `conflicting value size ${def.valueSize} != 4`);
        def.valueSize = 4;
        const arr = m.type;
        if (arr.kind !== "array" || arr.nelems !== 0) fail(map, `${desc} spec is not a zero-sized array`);
        const p = resolveType(arr.elem);
        if (p.kind !== "ptr") fail(map, `${desc} def is of unexpected kind ${p.kind.toUpperCase()}`);
        const inner = resolveType(p.target);
        if (progArray) {
          if (inner.kind !== "func_proto") fail(map, `prog-array value def is of unexpected kind ${inner.kind.toUpperCase()}`);
          break;
        }
        if (inner.kind !== "struct") fail(map, `map-in-map inner def is of unexpected kind ${inner.kind.toUpperCase()}`);
        def.inner = parseDef(`${map}.inner`, inner, true);
        break;
      }
      case "pinning": {
        if (isInner) fail(map, "inner def can't be pinned");
        const v = fieldInt(map, m.name, m.type);
        if (v !== 0 && v !== 1) fail(map, `invalid pinning value ${v}`);
        def.pinning = v;
        break;
      }
      case "map_extra":
        def.mapExtra = fieldLong(map, m.name, m.type);
        break;
      default:
        fail(map, `unknown field '${m.name}'`);
    }
  });
  if (def.type === undefined || def.type === 0) fail(map, "map type isn't specified");
  return def;
}

/** bpf_spin_lock inside the value (top-level members, as the kernel's btf_find_spin_lock() looks). */
export function spinLockOffset(value: BtfType | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = resolveType(value);
  if (v.kind !== "struct") return undefined;
  for (const m of v.members) {
    const mt = resolveType(m.type);
    if (mt.kind === "struct" && mt.name === "bpf_spin_lock") return m.bitOffset / 8;
  }
  return undefined;
}

function specFromDef(name: string, def: MapDef, section: string): MapSpecIn {
  const type = mapTypeName(def.type!, name);
  const spec: MapSpecIn = {
    name,
    type,
    typeId: def.type!,
    keySize: def.keySize ?? 0,
    valueSize: def.valueSize ?? 0,
    maxEntries: type === "BPF_MAP_TYPE_RINGBUF" || type === "BPF_MAP_TYPE_USER_RINGBUF" ? adjustRingbufSize(def.maxEntries ?? 0) : (def.maxEntries ?? 0),
    flags: def.flags ?? 0,
    kind: "btf",
    section,
  };
  if (def.mapExtra !== undefined) spec.mapExtra = def.mapExtra;
  if (def.numaNode !== undefined) spec.numaNode = def.numaNode;
  if (def.key !== undefined) spec.btfKey = def.key;
  if (def.value !== undefined) spec.btfValue = def.value;
  const lock = spinLockOffset(def.value);
  if (lock !== undefined) spec.spinLockOffset = lock;
  return spec;
}

/** bpf_object__init_user_btf_maps(): one MapSpecIn per VAR of the .maps DATASEC, in DATASEC order. */
export function btfMaps(elf: ElfFile, btf: Btf | undefined, maps: ElfSection): BtfMapPlacement[] {
  if (btf === undefined) throw new ElfError(`section ${maps.name}: BTF-defined maps need a .BTF section`, maps.headerOffset);
  const sec: BtfDatasec | undefined = btf.find(maps.name, "datasec");
  if (sec === undefined) throw new ElfError(`DATASEC '${maps.name}' not found in .BTF`);
  const out: BtfMapPlacement[] = [];
  sec.vars.forEach((vi, i) => {
    const v = vi.type;
    const name = v.name;
    if (name === "") fail(`#${i}`, "empty name");
    if (vi.offset + vi.size > maps.size) fail(name, "BTF data is corrupted (definition lies outside the .maps section)");
    if (v.kind !== "var") fail(name, `unexpected var kind ${(v as BtfType).kind.toUpperCase()}`);
    if (v.linkage !== "global") fail(name, `unsupported map linkage ${v.linkage}`);
    const def = resolveType(v.type);
    if (def.kind !== "struct") fail(name, `unexpected def kind ${def.kind.toUpperCase()}`);
    if (def.size > vi.size) fail(name, "invalid def size");
    let parsed: MapDef;
    try {
      parsed = parseDef(name, def, false);
    } catch (e) {
      if (e instanceof BtfError) throw withCause(new ElfError(`map '${name}': ${e.message}`), e);
      throw e;
    }
    const spec = specFromDef(name, parsed, maps.name);
    spec.pinning = parsed.pinning === 1 ? "by_name" : "none";
    if (parsed.inner !== undefined) spec.innerMap = specFromDef(`${name}.inner`, parsed.inner, maps.name);
    out.push({ spec, offset: vi.offset, size: vi.size, def });
  });
  void elf;
  return out;
}

/**
 * bpf_object__collect_map_relos(): each relocation in .rel.maps fills one slot
 * of a map-in-map (with a map) or of a prog array (with an entry-point program).
 */
export function staticInit(
  elf: ElfFile,
  maps: ElfSection,
  placed: readonly BtfMapPlacement[],
  isEntryProgram: (name: string, sectionIndex: number, value: number) => boolean,
): void {
  const relos = elf.relocations.filter((r) => r.target.index === maps.index).flatMap((r) => r.entries);
  relos.forEach((rel, i) => {
    const where = `${maps.name} relocation ${i}`;
    const sym = rel.symbol;
    if (sym === undefined) throw new ElfError(`${where}: no symbol`);
    const name = sym.name;
    const m = placed.find((p) => p.offset <= rel.offset && rel.offset + 8 <= p.offset + p.size);
    if (m === undefined) throw new ElfError(`${where}: cannot find map '${name}' at offset ${rel.offset}`);
    const spec = m.spec;
    let content: { index: number; map: string } | { index: number; program: string };
    if (isMapInMap(spec.type)) {
      if (sym.sectionIndex !== maps.index) throw new ElfError(`${where}: '${name}' isn't a BTF-defined map`);
      if (spec.type === "BPF_MAP_TYPE_HASH_OF_MAPS" && spec.keySize !== 4) throw new ElfError(`${where}: hash-of-maps '${spec.name}' should have key size 4`);
      const target = placed.find((p) => p.spec.name === name);
      if (target === undefined) throw new ElfError(`${where}: '${name}' isn't a valid map reference`);
      content = { index: 0, map: name };
    } else if (spec.type === "BPF_MAP_TYPE_PROG_ARRAY") {
      if (sym.type !== E.STT_FUNC || !isEntryProgram(name, sym.sectionIndex, Number(sym.value))) {
        throw new ElfError(`${where}: '${name}' isn't an entry-point program`);
      }
      content = { index: 0, program: name };
    } else {
      throw new ElfError(`${where}: map '${spec.name}' (${spec.type}) can't be statically initialised`);
    }
    const last = m.def.members[m.def.members.length - 1];
    if (last === undefined || last.name !== "values") throw new ElfError(`${where}: map '${spec.name}' has no 'values' member`);
    const moff = last.bitOffset / 8;
    const rel0 = rel.offset - m.offset;
    if (rel0 < moff || (rel0 - moff) % 8 !== 0) throw new ElfError(`${where}: offset ${rel.offset} is not a 'values' slot of map '${spec.name}'`);
    const index = (rel0 - moff) / 8;
    if (index >= spec.maxEntries) throw new ElfError(`${where}: slot ${index} is beyond max_entries ${spec.maxEntries} of map '${spec.name}'`);
    content.index = index;
    const list = (spec.contents ??= []);
    const at = list.findIndex((c) => "index" in c && c.index === index);
    if (at >= 0) list[at] = content;
    else list.push(content);
  });
  for (const p of placed) p.spec.contents?.sort((a, b) => ("index" in a ? a.index : 0) - ("index" in b ? b.index : 0));
}
