/**
 * Global data: every non-empty .data, .data.*, .rodata, .rodata.* (PROGBITS)
 * and .bss, .bss.* (NOBITS) section becomes a single-element ARRAY map
 * (key u32 0, value = the section), as libbpf's
 * bpf_object__init_internal_map() does:
 *   - names from internal_map_name(): "<object name>.data", the object name cut
 *     so the whole fits in 15 characters (the suffix always gets at least 7);
 *     sections with a second dot (".rodata.str1.1") keep their own name, cut to 15;
 *     characters other than [A-Za-z0-9_.] become '_';
 *   - .rodata*: BPF_F_RDONLY_PROG; BPF_F_MMAPABLE when the section's DATASEC has a
 *     non-static variable;
 *   - btfValue: the section's DATASEC (bpftool formats the value with it).
 * .data and .rodata maps start with the section's bytes; .bss maps start zeroed
 * (no `contents`).
 */
import type { Btf, BtfDatasec } from "../btf/index.js";
import * as E from "./constants.js";
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG } from "./map-types.js";
import type { MapKind, MapSpecIn } from "./object-types.js";
import type { ElfSection } from "./types.js";

/** BPF_OBJ_NAME_LEN, NUL included. */
const BPF_OBJ_NAME_LEN = 16;

/** internal_map_name() in libbpf. */
export function internalMapName(objectName: string, realName: string): string {
  const sfxLen = Math.min(Math.max(7, realName.length), BPF_OBJ_NAME_LEN - 1);
  const custom = realName.indexOf(".", 1) !== -1;
  const pfxLen = custom ? 0 : Math.min(BPF_OBJ_NAME_LEN - sfxLen - 1, objectName.length);
  const name = (objectName.slice(0, pfxLen) + realName.slice(0, sfxLen)).slice(0, BPF_OBJ_NAME_LEN - 1);
  return name.replace(/[^A-Za-z0-9_.]/g, "_");
}

/** .data / .rodata / .bss (and their dotted variants) -> the map kind, or undefined for other sections. */
export function dataSectionKind(s: ElfSection): Exclude<MapKind, "btf" | "legacy" | "kconfig"> | undefined {
  const is = (base: string): boolean => s.name === base || s.name.startsWith(`${base}.`);
  if (s.type === E.SHT_PROGBITS && !s.executable) {
    if (is(".data")) return "data";
    if (is(".rodata")) return "rodata";
  }
  if (s.type === E.SHT_NOBITS && is(".bss")) return "bss";
  return undefined;
}

function mmapable(sec: BtfDatasec | undefined): boolean {
  return sec !== undefined && sec.vars.some((v) => v.type.kind === "var" && v.type.linkage !== "static");
}

export function dataMap(objectName: string, s: ElfSection, kind: "data" | "rodata" | "bss", btf: Btf | undefined): MapSpecIn {
  const datasec = btf?.find(s.name, "datasec");
  let flags = kind === "rodata" ? BPF_F_RDONLY_PROG : 0;
  if (mmapable(datasec)) flags |= BPF_F_MMAPABLE;
  const spec: MapSpecIn = {
    name: internalMapName(objectName, s.name),
    type: "BPF_MAP_TYPE_ARRAY",
    typeId: 2,
    keySize: 4,
    valueSize: s.size,
    maxEntries: 1,
    flags,
    kind,
    section: s.name,
    realName: s.name,
  };
  if (datasec !== undefined) spec.btfValue = datasec;
  if (kind !== "bss") {
    const key = new Uint8Array(4); // index 0, the same in either byte order
    spec.contents = [{ key, value: s.data.slice() }];
  }
  return spec;
}
