/**
 * Map type ids -> kernel names for the loader, from the maps module's table
 * (src/maps/types.ts, enum bpf_map_type with explicit ids), plus the few map
 * facts libbpf's object loading needs.
 */
import { ElfError } from "../errors/index.js";
import { MAP_TYPES } from "../maps/types.js";

const byId = new Map(MAP_TYPES.map((t) => [t.id, t.name] as const));

/** "BPF_MAP_TYPE_HASH" for 1; an ElfError naming the map for an id the kernel does not define. */
export function mapTypeName(id: number, mapName: string): string {
  const n = id === 0 ? undefined : byId.get(id);
  if (n === undefined) throw new ElfError(`map '${mapName}': ${id === 0 ? "map type isn't specified" : `unknown map type ${id}`}`);
  return n;
}

export const isMapInMap = (type: string): boolean => type === "BPF_MAP_TYPE_ARRAY_OF_MAPS" || type === "BPF_MAP_TYPE_HASH_OF_MAPS";

export const PAGE_SIZE = 4096;

/**
 * libbpf's adjust_ringbuf_sz(): ring buffer sizes become a power-of-two
 * multiple of the page size (0 stays 0 so the kernel reports it).
 */
export function adjustRingbufSize(sz: number): number {
  if (sz === 0) return 0;
  const pages = sz / PAGE_SIZE;
  if (sz % PAGE_SIZE === 0 && (pages & (pages - 1)) === 0) return sz;
  for (let mul = 1; mul <= 0xffffffff / PAGE_SIZE; mul *= 2) {
    if (mul * PAGE_SIZE > sz) return mul * PAGE_SIZE;
  }
  return sz;
}

/** BPF_F_* map_flags used by the loader. */
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_MMAPABLE = 1 << 10;
