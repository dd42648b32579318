/**
 * The runtime's address space (DESIGN.md §3): one WebAssembly.Memory that the
 * interpreter, the JIT and the user-space map API all read and write. Every pointer a
 * program holds is an offset into it, widened to 64 bits. The first 64 KiB are never
 * mapped, so NULL and small integers fault. Regions (stacks, ctx, packet data, map
 * storage) are carved out of the rest; in checked mode an access must fall entirely
 * inside one region with the right permission, so a region's neighbour is as
 * unreachable as unmapped memory.
 */

export type RegionKind = "stack" | "ctx" | "packet" | "map" | "global" | "mem";

export interface Region {
  readonly name: string;
  readonly kind: RegionKind;
  /** First byte (inclusive). */
  readonly start: number;
  /** One past the last byte. */
  readonly end: number;
  readonly writable: boolean;
}

export interface MapOptions {
  name: string;
  kind: RegionKind;
  writable?: boolean;
  /** Power-of-two alignment of the start address; default 8. */
  align?: number;
}

export const WASM_PAGE = 65536;
/** Addresses below this are never mapped (NULL guard). */
export const NULL_GUARD = 0x10000;
/** A 32-bit wasm memory cannot exceed 4 GiB; pointers therefore always have a zero high half. */
const MAX_PAGES = 65536;

export interface AddressSpaceOptions {
  /** Initial size in bytes (rounded up to 64 KiB pages). Default 1 MiB. */
  initialBytes?: number;
  /** Upper bound on growth, in bytes. Default 1 GiB. */
  maxBytes?: number;
  /** Share the memory between worker threads (SharedArrayBuffer). */
  shared?: boolean;
}

export class AddressSpace {
  readonly memory: WebAssembly.Memory;
  /** Views over the current buffer; replaced when the memory grows (see refresh()). */
  u8!: Uint8Array;
  view!: DataView;
  /** Mapped regions, sorted by start. */
  private regionList: Region[] = [];
  /** Free extents [start, end) below `top`, reused first-fit by map(). */
  private free: Array<{ start: number; end: number }> = [];
  private top = NULL_GUARD;
  private readonly maxPages: number;
  /** Allocation extent of each region (by start address at mapping time), for setBounds(). */
  private readonly extents = new Map<Region, { start: number; end: number }>();
  /** Bumped on every map/unmap/setBounds so engines can cache region lookups safely. */
  generation = 0;

  constructor(opts: AddressSpaceOptions = {}) {
    const initial = Math.max(2, Math.ceil((opts.initialBytes ?? 1 << 20) / WASM_PAGE));
    this.maxPages = Math.min(MAX_PAGES, Math.ceil((opts.maxBytes ?? 1 << 30) / WASM_PAGE));
    this.memory = new WebAssembly.Memory({ initial, maximum: this.maxPages, shared: opts.shared ?? false });
    this.refresh();
  }

  /** Re-creates the typed views after the memory grew. */
  refresh(): void {
    const buf = this.memory.buffer;
    if (this.u8 === undefined || this.u8.buffer !== buf || this.u8.byteLength !== buf.byteLength) {
      this.u8 = new Uint8Array(buf);
      this.view = new DataView(buf);
    }
  }

  get regions(): readonly Region[] {
    return this.regionList;
  }

  /** Maps `size` bytes (zero-filled) and returns the region. Throws RangeError when the memory limit is reached. */
  map(size: number, opts: MapOptions): Region {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`cannot map ${size} bytes for ${opts.name}`);
    const align = opts.align ?? 8;
    let start = -1;
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i]!;
      const s = alignUp(f.start, align);
      if (s + size <= f.end) {
        start = s;
        // Keep the unused head and tail of the extent free.
        const rest = [];
        if (s > f.start) rest.push({ start: f.start, end: s });
        if (s + size < f.end) rest.push({ start: s + size, end: f.end });
        this.free.splice(i, 1, ...rest);
        break;
      }
    }
    if (start < 0) {
      start = alignUp(this.top, align);
      const end = start + size;
      const needPages = Math.ceil(end / WASM_PAGE);
      const havePages = this.memory.buffer.byteLength / WASM_PAGE;
      if (needPages > this.maxPages) throw new RangeError(`address space exhausted mapping ${size} bytes for ${opts.name}`);
      if (needPages > havePages) {
        // Grow geometrically so that many small mappings do not grow page by page.
        this.memory.grow(Math.min(this.maxPages, Math.max(needPages, havePages * 2)) - havePages);
        this.refresh();
      }
      if (start > this.top) this.free.push({ start: this.top, end: start });
      this.top = end;
    }
    this.u8.fill(0, start, start + size);
    const region: Region = { name: opts.name, kind: opts.kind, start, end: start + size, writable: opts.writable ?? true };
    this.extents.set(region, { start, end: start + size });
    const at = this.regionList.findIndex((r) => r.start > start);
    this.regionList.splice(at < 0 ? this.regionList.length : at, 0, region);
    this.generation++;
    return region;
  }

  /** Maps a copy of `bytes` (a zero-length input maps one byte, then narrows the region to nothing). */
  mapBytes(bytes: Uint8Array, opts: MapOptions): Region {
    const r = this.map(Math.max(1, bytes.length), opts);
    this.u8.set(bytes, r.start);
    if (bytes.length === 0) this.setBounds(r, r.start, r.start);
    return r;
  }

  /**
   * Moves a region's accessible window within its allocation: a packet buffer keeps its
   * headroom and tailroom mapped while only [data_meta, data_end) is accessible, and
   * bpf_xdp_adjust_head/tail/meta move the window.
   */
  setBounds(region: Region, start: number, end: number): void {
    const ext = this.extents.get(region);
    if (ext === undefined) throw new RangeError(`${region.name} is not mapped`);
    if (start < ext.start || end > ext.end || start > end) {
      throw new RangeError(`bounds [${start}, ${end}) outside ${region.name}'s allocation [${ext.start}, ${ext.end})`);
    }
    const r = region as { start: number; end: number };
    r.start = start;
    r.end = end;
    this.generation++;
  }

  unmap(region: Region): void {
    const i = this.regionList.indexOf(region);
    if (i < 0) return;
    this.regionList.splice(i, 1);
    const ext = this.extents.get(region)!;
    this.extents.delete(region);
    this.free.push({ start: ext.start, end: ext.end });
    this.free.sort((a, b) => a.start - b.start);
    // Merge neighbouring free extents.
    const merged: Array<{ start: number; end: number }> = [];
    for (const f of this.free) {
      const last = merged[merged.length - 1];
      if (last !== undefined && last.end >= f.start) last.end = Math.max(last.end, f.end);
      else merged.push({ ...f });
    }
    this.free = merged;
    this.generation++;
  }

  /** The region containing [addr, addr+size), or undefined. */
  find(addr: number, size: number): Region | undefined {
    const list = this.regionList;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = list[mid]!;
      if (addr < r.start) hi = mid - 1;
      else if (addr >= r.end) lo = mid + 1;
      else return addr + size <= r.end ? r : undefined;
    }
    return undefined;
  }

  /** Copies bytes out of the address space (user-space view, unchecked but bounds-safe). */
  read(addr: number, size: number): Uint8Array {
    return this.u8.slice(addr, addr + size);
  }

  write(addr: number, bytes: Uint8Array): void {
    this.u8.set(bytes, addr);
  }
}

const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;
