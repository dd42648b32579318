/**
 * Legacy map definitions: SEC("maps") holds an array of `struct bpf_map_def`
 *   { u32 type; u32 key_size; u32 value_size; u32 max_entries; u32 map_flags; }
 * one per symbol, as samples/bpf and older tools wrote them. Follows libbpf
 * 0.x's bpf_object__init_user_maps(): every non-section symbol in the section is
 * a map, all definitions have the same size (section size / number of maps);
 * a shorter definition leaves the missing fields zero, a longer one's extra
 * bytes (iproute2's id/pinning/inner fields) are ignored.
 */
import { ElfError } from "../errors/index.js";
import * as E from "./constants.js";
import { adjustRingbufSize, mapTypeName } from "./map-types.js";
import type { MapSpecIn } from "./object-types.js";
import type { ElfFile, ElfSection } from "./types.js";
import type { ByteOrder } from "./wire.js";

/** A legacy map and its offset in the section (relocations find maps by symbol value). */
export interface LegacyMapPlacement {
  readonly spec: MapSpecIn;
  readonly offset: number;
}

export function legacyMaps(elf: ElfFile, sec: ElfSection, order: ByteOrder): LegacyMapPlacement[] {
  const syms = elf.symbols.filter((s) => s.sectionIndex === sec.index && s.section !== undefined && s.type !== E.STT_SECTION);
  if (sec.size === 0 || syms.length === 0 || sec.size % syms.length !== 0) {
    throw new ElfError(
      `section ${sec.name}: unable to determine legacy map definition size (${sec.size} bytes, ${syms.length} map symbols)`,
      sec.headerOffset + 32,
    );
  }
  if (sec.data.length !== sec.size) throw new ElfError(`section ${sec.name}: legacy map definitions have no contents (${sec.typeName})`, sec.headerOffset + 4);
  const defSize = sec.size / syms.length;
  const view = new DataView(sec.data.buffer, sec.data.byteOffset, sec.data.byteLength);
  const le = order === "little";
  return syms.map((s) => {
    const name = s.name;
    if (s.bind === E.STB_LOCAL) throw new ElfError(`map '${name}' (legacy): static maps are not supported`);
    const off = Number(s.value);
    if (s.value + BigInt(defSize) > BigInt(sec.size)) {
      throw new ElfError(`map '${name}' (legacy): definition at offset ${s.value} runs past the end of section ${sec.name} (${sec.size} bytes)`);
    }
    const field = (i: number): number => (i * 4 + 4 <= defSize ? view.getUint32(off + i * 4, le) : 0);
    const typeId = field(0);
    const type = mapTypeName(typeId, name);
    const maxEntries = field(3);
    const spec: MapSpecIn = {
      name,
      type,
      typeId,
      keySize: field(1),
      valueSize: field(2),
      maxEntries: type === "BPF_MAP_TYPE_RINGBUF" ? adjustRingbufSize(maxEntries) : maxEntries,
      flags: field(4),
      kind: "legacy",
      section: sec.name,
    };
    return { spec, offset: off };
  });
}
