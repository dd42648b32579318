/**
 * The fd arrays of kernel/bpf/arraymap.c whose values are other objects:
 * BPF_MAP_TYPE_PROG_ARRAY (tail-call targets) and BPF_MAP_TYPE_ARRAY_OF_MAPS.
 *
 * User space stores ids where libbpf stores fds (a program id, an inner map id) and
 * reads ids back, as bpf(2) does. Shared rules (bpf_fd_array_map_update_elem(),
 * fd_array_map_delete_elem()): update takes BPF_ANY only (-EINVAL), an index past
 * max_entries gives -E2BIG on update and delete and -ENOENT on lookup, deleting an empty
 * slot gives -ENOENT, an unknown id -EBADF, an incompatible object -EINVAL.
 * get_next_key walks every index, empty or not.
 *
 * PROG_ARRAY: the first program stored (or declared with setOwner()) fixes the program
 * type every other one must have (bpf_prog_map_compatible()).
 * ARRAY_OF_MAPS: an inner map must match the template (map_meta_equal()); a program's
 * lookup returns the inner map's CONST_PTR_TO_MAP address, kept in the address space
 * (8 bytes per index at valueBase) so a JIT can inline it as array_of_map_gen_lookup().
 */
import { nextArrayIndex, readU32, writeU32 } from "./array.js";
import { BpfMap, type CreateMapOptions, type ProgramRef } from "./base.js";
import { resolveInnerMap } from "./hash.js";
import { BPF_ANY, E2BIG, EBADF, EINVAL, ENOENT, type MapEnv, type MapSpec } from "./types.js";

abstract class FdArrayMap<T> extends BpfMap {
  protected readonly slots: Array<T | undefined>;

  protected constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions) {
    super(spec, env, opts);
    this.slots = new Array<T | undefined>(this.maxEntries).fill(undefined);
  }

  override get userValueSize(): number {
    return 4;
  }

  /** The object's id for bpf(2) lookups. */
  protected abstract idOf(x: T): number;
  /** Resolves an id stored by user space, or -errno. */
  protected abstract resolve(id: number): T | number;
  protected abstract put(index: number, x: T | undefined): void;

  protected sysLookup(kb: Uint8Array, ko: number, out: Uint8Array): number {
    const i = readU32(kb, ko);
    const x = i < this.maxEntries ? this.slots[i] : undefined;
    if (x === undefined) return -ENOENT;
    writeU32(out, 0, this.idOf(x));
    return 0;
  }

  protected sysUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number): number {
    if (flags !== BPF_ANY) return -EINVAL;
    const i = readU32(kb, ko);
    if (i >= this.maxEntries) return -E2BIG;
    const x = this.resolve(readU32(vb, vo));
    if (typeof x === "number") return x;
    this.put(i, x);
    return 0;
  }

  protected sysDelete(kb: Uint8Array, ko: number): number {
    const i = readU32(kb, ko);
    if (i >= this.maxEntries) return -E2BIG;
    if (this.slots[i] === undefined) return -ENOENT;
    this.put(i, undefined);
    return 0;
  }

  protected sysNextKey(kb: Uint8Array | undefined, ko: number, out: Uint8Array): number {
    const next = nextArrayIndex(kb === undefined ? undefined : readU32(kb, ko), this.maxEntries);
    if (next < 0) return next;
    writeU32(out, 0, next);
    return 0;
  }
}

export class ProgArrayMap extends FdArrayMap<ProgramRef> {
  private owner: string | undefined;

  constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions = {}) {
    super(spec, env, opts);
    this.writeHeader();
  }

  /** Program type all programs of this array must have, once fixed. */
  get ownerType(): string | undefined {
    return this.owner;
  }

  /** Fixes the owner type (a program that tail-calls through the map was loaded). */
  setOwner(type: string): boolean {
    if (this.owner === undefined) this.owner = type;
    return this.owner === type;
  }

  /** bpf_prog_map_compatible(). */
  isCompatible(prog: ProgramRef): boolean {
    return this.setOwner(prog.type);
  }

  /** The program a tail call to index jumps to, or undefined (the call falls through). */
  getProgramId(index: number): number | undefined {
    return index >= 0 && index < this.maxEntries ? this.slots[index]?.id : undefined;
  }

  getProgram(index: number): ProgramRef | undefined {
    return index >= 0 && index < this.maxEntries ? this.slots[index] : undefined;
  }

  /** Stores a program directly (the runtime's static initialisation of a prog array). */
  setProgram(index: number, prog: ProgramRef | undefined): number {
    if (index < 0 || index >= this.maxEntries) return -E2BIG;
    if (prog !== undefined && !this.isCompatible(prog)) return -EINVAL;
    this.put(index, prog);
    return 0;
  }

  protected idOf(p: ProgramRef): number {
    return p.id;
  }

  protected resolve(id: number): ProgramRef | number {
    const p = this.links.program?.(id);
    if (p === undefined) return -EBADF;
    return this.isCompatible(p) ? p : -EINVAL;
  }

  protected put(index: number, p: ProgramRef | undefined): void {
    this.slots[index] = p;
  }
}

export class ArrayOfMapsMap extends FdArrayMap<BpfMap> {
  /** Address of slot 0: each 8-byte slot holds an inner map address (0 = empty). */
  readonly valueBase: number;
  readonly valueStride = 8;

  constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions = {}) {
    super(spec, env, opts);
    this.valueBase = this.allocate(8 * this.maxEntries, "inner map pointers", { writable: false }).start;
    this.writeHeader(this.valueBase, this.valueStride);
  }

  /** The inner map at index. */
  innerMap(index: number): BpfMap | undefined {
    return index >= 0 && index < this.maxEntries ? this.slots[index] : undefined;
  }

  override lookupElem(keyAddr: number): number {
    const i = readU32(this.space.u8, keyAddr);
    return i < this.maxEntries ? this.space.view.getUint32(this.valueBase + 8 * i, true) : 0;
  }

  protected idOf(m: BpfMap): number {
    return m.id;
  }

  protected resolve(id: number): BpfMap | number {
    return resolveInnerMap(this, id);
  }

  protected put(index: number, m: BpfMap | undefined): void {
    m?.retain();
    const old = this.slots[index];
    this.slots[index] = m;
    this.space.view.setUint32(this.valueBase + 8 * index, m?.address ?? 0, true);
    old?.release();
  }

  protected override onFree(): void {
    for (const m of this.slots) m?.release();
    this.slots.fill(undefined);
  }
}
