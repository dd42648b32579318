/**
 * BpfMap: what every map family shares.
 *
 * A map has two faces, as in the kernel:
 *
 *  - the kernel side, used by helpers and engines: addresses in the runtime's address
 *    space in, addresses or 0 / -errno out (`lookupElem`, `updateElem`, ...), with no
 *    allocation on the hot paths;
 *  - the user-space side, with bytes, as bpf(2) gives it to bpftool and libbpf
 *    (`lookup`, `update`, `nextKey`, batch operations), including the permission and
 *    flag checks that kernel/bpf/syscall.c makes before calling the map's ops.
 *
 * Both faces share one implementation per family: the family's internal operations
 * take a key or value as (bytes, offset), so a key can come from the address space
 * (kernel side: the bytes are `space.u8`) or from a caller's Uint8Array (user side).
 *
 * Every map owns a small read-only header region; its start is the map's `address`,
 * the CONST_PTR_TO_MAP value programs hold. Header layout: tsbpf's own fields first,
 *   0 map_type  4 key_size  8 value_size  12 max_entries  16 map_flags  20 id
 *   24 value base address (array maps) 28 value stride   32..47 name (NUL-padded)
 * (where the kernel's struct bpf_map has sha[32] and excl), then, for the privileged
 * programs the verifier lets read the map as struct bpf_map / struct bpf_array
 * (src/verifier/mapptr.ts, Linux 6.18 offsets), the fields such programs read:
 *   64 map_type  68 key_size  72 value_size  76 max_entries  80 map_extra (u64)
 *   88 map_flags  92 id  104 numa_node (-1)  136..151 name  296 elem_size  300 index_mask
 * up to sizeof(struct bpf_array), so that every offset the verifier accepts is mapped.
 */
import type { AddressSpace, Region, RegionKind } from "../vm/index.js";
import { copyBytes } from "./jhash.js";
import { allocateMapId, registerMap, unregisterMap } from "./registry.js";
import {
  BPF_ANY,
  BPF_F_LOCK,
  BPF_F_RDONLY,
  BPF_F_WRONLY,
  EBADF,
  EBUSY,
  EFAULT,
  EINVAL,
  ENOENT,
  ENOMEM,
  ENOTSUPP,
  EPERM,
  MapError,
  mapTypeId,
  roundUp8,
  type MapEnv,
  type MapSpec,
  type MapTypeName,
} from "./types.js";

/** A program a PROG_ARRAY, DEVMAP or CPUMAP value refers to (by id, as bpf() reports it). */
export interface ProgramRef {
  readonly id: number;
  /** Program type, kernel name ("BPF_PROG_TYPE_XDP"). */
  readonly type: string;
  /** Expected attach type, kernel name ("BPF_XDP_DEVMAP"), where it matters. */
  readonly expectedAttachType?: string;
}

/** How a map resolves the ids user space stores in fd-like values. */
export interface MapLinks {
  /** Program by id (PROG_ARRAY, DEVMAP and CPUMAP values); unknown ids give -EBADF. */
  program?(id: number): ProgramRef | undefined;
  /** Map by id (map-in-map values); default: the live maps of the same address space. */
  map?(id: number): BpfMap | undefined;
  /** Whether a network device with this ifindex exists (DEVMAP); default: any ifindex > 0. */
  device?(ifindex: number): boolean;
}

export interface CreateMapOptions {
  links?: MapLinks;
  /**
   * hashrnd for hash maps and the bloom filter when BPF_F_ZERO_SEED is not set. The
   * kernel draws it at random; tsbpf defaults to 0 so that runs are reproducible
   * (with seed 0, iteration order equals the kernel's with BPF_F_ZERO_SEED).
   */
  hashSeed?: number;
  /** CONFIG_NR_CPUS, the bound on CPUMAP max_entries (default 8192). */
  nrCpus?: number;
}

/** Result of a lookup batch (BPF_MAP_LOOKUP_BATCH / BPF_MAP_LOOKUP_AND_DELETE_BATCH). */
export interface BatchResult {
  readonly keys: Uint8Array[];
  readonly values: Uint8Array[];
  /** Opaque cursor to pass as `inBatch` to continue (the kernel's out_batch). */
  readonly outBatch: Uint8Array | undefined;
  /** The kernel returned -ENOENT: the map has been walked to its end. */
  readonly done: boolean;
}

export interface BatchOptions {
  /** Resume after this cursor (a previous result's outBatch); undefined = from the start. */
  inBatch?: Uint8Array | undefined;
  /** Maximum number of elements (the kernel's batch.count). */
  count: number;
  /** Per-element flags (only BPF_F_LOCK is allowed). */
  elemFlags?: number;
}

/** A batch update or delete that stopped on an error: `count` elements were processed. */
export class MapBatchError extends MapError {
  readonly count: number;
  constructor(op: string, map: string, errno: number, count: number) {
    super(op, map, errno, `after ${count} elements`);
    this.count = count;
  }
}

/** sizeof(struct bpf_array) rounded up to 8 (see the header layout above). */
const HEADER_SIZE = 312;
const ARRAY_FAMILY: ReadonlySet<string> = new Set([
  "BPF_MAP_TYPE_ARRAY", "BPF_MAP_TYPE_PERCPU_ARRAY", "BPF_MAP_TYPE_PROG_ARRAY", "BPF_MAP_TYPE_PERF_EVENT_ARRAY",
  "BPF_MAP_TYPE_CGROUP_ARRAY", "BPF_MAP_TYPE_ARRAY_OF_MAPS",
]);
const BPF_OBJ_NAME_LEN = 16;

export abstract class BpfMap {
  readonly spec: Readonly<MapSpec>;
  readonly type: MapTypeName;
  readonly typeId: number;
  /** Name as the kernel keeps it (at most 15 characters). */
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  /** max_entries after the kernel's adjustments (e.g. per-CPU LRU rounding). */
  readonly maxEntries: number;
  /** map_flags after the kernel's adjustments (e.g. DEVMAP adds BPF_F_RDONLY_PROG). */
  readonly flags: number;
  readonly id: number;
  /** CONST_PTR_TO_MAP: start of the map's read-only header region. */
  readonly address: number;
  readonly env: MapEnv;
  readonly links: MapLinks;
  private readonly regionList: Region[] = [];
  private frozenFlag = false;
  private closedFlag = false;
  /** Outer maps and user handles holding this map (map-in-map values keep inner maps alive). */
  private refs = 1;

  protected constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions, adjusted: { maxEntries?: number; flags?: number } = {}) {
    this.spec = Object.freeze({ ...spec });
    this.type = spec.type;
    this.typeId = mapTypeId(spec.type);
    this.name = spec.name.slice(0, BPF_OBJ_NAME_LEN - 1);
    this.keySize = spec.keySize;
    this.valueSize = spec.valueSize;
    this.maxEntries = adjusted.maxEntries ?? spec.maxEntries;
    this.flags = adjusted.flags ?? spec.flags;
    this.env = env;
    this.links = opts.links ?? {};
    this.id = allocateMapId();
    const hdr = this.allocate(HEADER_SIZE, "hdr", { writable: false });
    this.address = hdr.start;
    registerMap(this);
  }

  /** Writes the header once the family knows its layout. */
  protected writeHeader(valueBase = 0, valueStride = 0): void {
    const v = this.space.view;
    const a = this.address;
    v.setUint32(a, this.typeId, true);
    v.setUint32(a + 4, this.keySize, true);
    v.setUint32(a + 8, this.valueSize, true);
    v.setUint32(a + 12, this.maxEntries, true);
    v.setUint32(a + 16, this.flags, true);
    v.setUint32(a + 20, this.id, true);
    v.setUint32(a + 24, valueBase, true);
    v.setUint32(a + 28, valueStride, true);
    for (let i = 0; i < this.name.length; i++) this.space.u8[a + 32 + i] = this.name.charCodeAt(i) & 0x7f;
    // The struct bpf_map / bpf_array fields at the kernel's offsets.
    v.setUint32(a + 64, this.typeId, true);
    v.setUint32(a + 68, this.keySize, true);
    v.setUint32(a + 72, this.valueSize, true);
    v.setUint32(a + 76, this.maxEntries, true);
    v.setBigUint64(a + 80, BigInt(this.spec.mapExtra ?? 0), true);
    v.setUint32(a + 88, this.flags, true);
    v.setUint32(a + 92, this.id, true);
    v.setInt32(a + 104, -1, true);
    for (let i = 0; i < this.name.length; i++) this.space.u8[a + 136 + i] = this.name.charCodeAt(i) & 0x7f;
    if (ARRAY_FAMILY.has(this.type)) {
      // elem_size = round_up(value_size, 8); index_mask = roundup_pow_of_two(max_entries) - 1.
      v.setUint32(a + 296, (this.valueSize + 7) & ~7, true);
      let pow = 1;
      while (pow < this.maxEntries && pow < 0x80000000) pow *= 2;
      v.setUint32(a + 300, (pow - 1) >>> 0, true);
    }
  }

  protected get space(): AddressSpace {
    return this.env.space;
  }

  /** Maps storage for this map; an exhausted address space is the kernel's -ENOMEM. */
  protected allocate(size: number, what: string, opts: { writable?: boolean; align?: number; kind?: RegionKind } = {}): Region {
    let r: Region;
    try {
      r = this.space.map(Math.max(8, size), {
        name: `map ${this.spec.name} ${what}`,
        kind: opts.kind ?? "map",
        writable: opts.writable ?? true,
        align: opts.align ?? 8,
      });
    } catch (e) {
      if (e instanceof RangeError) throw new MapError("create", this.spec.name, ENOMEM, `cannot map ${size} bytes of ${what}`);
      throw e;
    }
    this.regionList.push(r);
    return r;
  }

  get regions(): readonly Region[] {
    return this.regionList;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get frozen(): boolean {
    return this.frozenFlag;
  }

  /** Size of a value as user space sees it (bpf_map_value_size()). */
  get userValueSize(): number {
    return this.valueSize;
  }

  /** The per-CPU value stride (round_up(value_size, 8)); per-CPU maps only. */
  get percpuValueSize(): number {
    return roundUp8(this.valueSize);
  }

  get isPercpu(): boolean {
    return false;
  }

  // ---- kernel side (helpers, engines) ---------------------------------------------------

  /** bpf_map_lookup_elem(): value address, or 0. */
  lookupElem(_keyAddr: number, _cpu?: number): number {
    return 0;
  }
  /** bpf_map_update_elem(): 0 or -errno. */
  updateElem(_keyAddr: number, _valueAddr: number, _flags: number, _cpu?: number): number {
    return -EINVAL;
  }
  /** bpf_map_delete_elem(): 0 or -errno. */
  deleteElem(_keyAddr: number, _cpu?: number): number {
    return -EINVAL;
  }
  /** bpf_map_push_elem() (queue, stack, bloom filter). */
  pushElem(_valueAddr: number, _flags: number): number {
    return -EINVAL;
  }
  /** bpf_map_pop_elem() (queue, stack). */
  popElem(_valueAddr: number): number {
    return -EINVAL;
  }
  /** bpf_map_peek_elem() (queue, stack; bloom filter: membership test). */
  peekElem(_valueAddr: number): number {
    return -EINVAL;
  }
  /** bpf_map_lookup_percpu_elem(): the value of `cpu` (per-CPU maps), or 0. */
  lookupPercpuElem(_keyAddr: number, _cpu: number): number {
    return 0;
  }
  /**
   * bpf_for_each_map_elem(): calls `cb(keyAddr, valueAddr)` per element until it
   * returns non-zero; returns the number of elements visited, or -errno.
   */
  forEachElem(_cb: (keyAddr: number, valueAddr: number) => number | bigint, _flags: number, _cpu?: number): number {
    return -EINVAL;
  }

  // ---- the family's internal operations (bytes at an offset) ------------------------------

  /** Copies the user-space value of key into out[0..userValueSize); 0 or -errno. */
  protected abstract sysLookup(kb: Uint8Array, ko: number, out: Uint8Array, flags: number): number;
  protected abstract sysUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number): number;
  protected abstract sysDelete(kb: Uint8Array, ko: number): number;
  /** get_next_key: key undefined = first key; writes keySize bytes to out. */
  protected abstract sysNextKey(kb: Uint8Array | undefined, ko: number, out: Uint8Array): number;
  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM; -ENOTSUPP where the kernel has no such op. */
  protected sysLookupAndDelete(_kb: Uint8Array, _ko: number, _out: Uint8Array, _flags: number): number {
    return -ENOTSUPP;
  }
  /** Which batch operations the kernel's ops table has for this type. */
  protected batchSupport(): { lookup: boolean; lookupAndDelete: boolean; update: boolean; delete: boolean } {
    return { lookup: false, lookupAndDelete: false, update: false, delete: false };
  }
  /** Whether the value has a bpf_spin_lock (btf_record_has_field(BPF_SPIN_LOCK)). */
  protected get hasSpinLock(): boolean {
    return this.spec.spinLockOffset !== undefined;
  }

  // ---- user space (bpf(2) as libbpf uses it) ------------------------------------------------

  private check(op: string, key: Uint8Array | undefined, read: boolean, write: boolean): void {
    if (this.closedFlag) throw new MapError(op, this.spec.name, EBADF, "map is closed");
    if (read && (this.flags & BPF_F_WRONLY) !== 0) throw new MapError(op, this.spec.name, EPERM, "map was created BPF_F_WRONLY");
    if (write && (this.flags & BPF_F_RDONLY) !== 0) throw new MapError(op, this.spec.name, EPERM, "map was created BPF_F_RDONLY");
    if (write && this.frozenFlag) throw new MapError(op, this.spec.name, EPERM, "map is frozen");
    if (key !== undefined && key.length < this.keySize) throw new MapError(op, this.spec.name, EFAULT, `key has ${key.length} bytes, key_size is ${this.keySize}`);
  }

  private checkElemFlags(op: string, flags: number): void {
    if ((flags & BPF_F_LOCK) !== 0 && !this.hasSpinLock) throw new MapError(op, this.spec.name, EINVAL, "BPF_F_LOCK on a value without bpf_spin_lock");
  }

  protected fail(op: string, err: number): never {
    throw new MapError(op, this.spec.name, -err);
  }

  /** BPF_MAP_LOOKUP_ELEM: a copy of the value, or undefined when the key is absent (ENOENT). */
  lookup(key: Uint8Array = EMPTY, flags = 0): Uint8Array | undefined {
    const out = new Uint8Array(this.userValueSize);
    return this.lookupInto(key, out, flags) ? out : undefined;
  }

  /** Allocation-free lookup: fills out[0..userValueSize); false when the key is absent. */
  lookupInto(key: Uint8Array, out: Uint8Array, flags = 0): boolean {
    if ((flags & ~BPF_F_LOCK) !== 0) this.fail("lookup", -EINVAL);
    this.check("lookup", key, true, false);
    this.checkElemFlags("lookup", flags);
    if (out.length < this.userValueSize) throw new MapError("lookup", this.spec.name, EFAULT, `value buffer has ${out.length} bytes, needs ${this.userValueSize}`);
    const r = this.sysLookup(key, 0, out, flags);
    if (r === -ENOENT) return false;
    if (r < 0) this.fail("lookup", r);
    return true;
  }

  /** BPF_MAP_UPDATE_ELEM; throws MapError with the kernel's errno. */
  update(key: Uint8Array, value: Uint8Array, flags = BPF_ANY): void {
    this.check("update", key, false, true);
    this.checkElemFlags("update", flags);
    if (value.length < this.userValueSize) throw new MapError("update", this.spec.name, EFAULT, `value has ${value.length} bytes, needs ${this.userValueSize}`);
    const r = this.sysUpdate(key, 0, value, 0, flags);
    if (r < 0) this.fail("update", r);
  }

  /** BPF_MAP_DELETE_ELEM; throws MapError (ENOENT when absent). */
  delete(key: Uint8Array): void {
    this.check("delete", key, false, true);
    const r = this.sysDelete(key, 0);
    if (r < 0) this.fail("delete", r);
  }

  /**
   * BPF_MAP_GET_NEXT_KEY: the key after `key`, the first key for undefined (and, for
   * hash maps, for a key that is not in the map); undefined at the end.
   */
  nextKey(key?: Uint8Array): Uint8Array | undefined {
    this.check("get_next_key", key, true, false);
    const out = new Uint8Array(this.keySize);
    const r = this.sysNextKey(key, 0, out);
    if (r === -ENOENT) return undefined;
    if (r < 0) this.fail("get_next_key", r);
    return out;
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM (hash maps; queue/stack pop): undefined on ENOENT. */
  lookupAndDelete(key: Uint8Array = EMPTY, flags = 0): Uint8Array | undefined {
    this.check("lookup_and_delete", key, true, true);
    this.checkElemFlags("lookup_and_delete", flags);
    const out = new Uint8Array(this.userValueSize);
    const r = this.sysLookupAndDelete(key, 0, out, flags);
    if (r === -ENOENT) return undefined;
    if (r < 0) this.fail("lookup_and_delete", r);
    return out;
  }

  /** BPF_MAP_FREEZE: the syscall side becomes read-only (updates and deletes give EPERM). */
  freeze(): void {
    if (this.closedFlag) throw new MapError("freeze", this.spec.name, EBADF, "map is closed");
    if (this.hasSpinLock) this.fail("freeze", -ENOTSUPP);
    if ((this.flags & BPF_F_RDONLY) !== 0) this.fail("freeze", -EPERM);
    if (this.frozenFlag) this.fail("freeze", -EBUSY);
    this.frozenFlag = true;
  }

  /** Keys in get_next_key order. */
  *keys(): IterableIterator<Uint8Array> {
    let k = this.nextKey(undefined);
    while (k !== undefined) {
      yield k;
      k = this.nextKey(k);
    }
  }

  /** [key, value] pairs in get_next_key order (as `bpftool map dump` walks them). */
  *entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v !== undefined) yield [k, v];
    }
  }

  /** BPF_MAP_LOOKUP_BATCH. */
  lookupBatch(opts: BatchOptions): BatchResult {
    this.check("lookup_batch", undefined, true, false);
    if (!this.batchSupport().lookup) this.fail("lookup_batch", -ENOTSUPP);
    return this.runLookupBatch(opts, false);
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_BATCH (hash maps). */
  lookupAndDeleteBatch(opts: BatchOptions): BatchResult {
    this.check("lookup_and_delete_batch", undefined, true, true);
    if (!this.batchSupport().lookupAndDelete) this.fail("lookup_and_delete_batch", -ENOTSUPP);
    return this.runLookupBatch(opts, true);
  }

  /** The kernel's lookup batch; families with their own (hash maps) override it. */
  protected runLookupBatch(opts: BatchOptions, _del: boolean): BatchResult {
    return this.genericLookupBatch(opts);
  }

  /** generic_map_lookup_batch(): walks get_next_key from in_batch (a key). */
  protected genericLookupBatch(opts: BatchOptions): BatchResult {
    const op = "lookup_batch";
    const elemFlags = opts.elemFlags ?? 0;
    if ((elemFlags & ~BPF_F_LOCK) !== 0) this.fail(op, -EINVAL);
    this.checkElemFlags(op, elemFlags);
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    if (opts.count <= 0) return { keys, values, outBatch: undefined, done: false };
    let prev: Uint8Array | undefined = opts.inBatch === undefined ? undefined : opts.inBatch.slice(0, this.keySize);
    if (prev !== undefined && prev.length < this.keySize) this.fail(op, -EFAULT);
    let err = 0;
    while (keys.length < opts.count) {
      const key = new Uint8Array(this.keySize);
      err = this.sysNextKey(prev, 0, key);
      if (err !== 0) break;
      const value = new Uint8Array(this.userValueSize);
      err = this.sysLookup(key, 0, value, elemFlags);
      if (err === 0) {
        keys.push(key);
        values.push(value);
      } else if (err !== -ENOENT) {
        this.fail(op, err);
      }
      prev = key;
    }
    if (err !== 0 && err !== -ENOENT) this.fail(op, err);
    return { keys, values, outBatch: keys.length > 0 ? prev : undefined, done: err === -ENOENT };
  }

  /** BPF_MAP_UPDATE_BATCH (generic_map_update_batch()): returns the number updated. */
  updateBatch(keys: readonly Uint8Array[], values: readonly Uint8Array[], opts: { elemFlags?: number } = {}): number {
    const op = "update_batch";
    this.check(op, undefined, false, true);
    if (!this.batchSupport().update) this.fail(op, -ENOTSUPP);
    const elemFlags = opts.elemFlags ?? 0;
    if ((elemFlags & ~BPF_F_LOCK) !== 0) this.fail(op, -EINVAL);
    this.checkElemFlags(op, elemFlags);
    const n = Math.min(keys.length, values.length);
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      const v = values[i]!;
      const r = k.length < this.keySize || v.length < this.userValueSize ? -EFAULT : this.sysUpdate(k, 0, v, 0, elemFlags);
      if (r < 0) throw new MapBatchError(op, this.spec.name, -r, i);
    }
    return n;
  }

  /** BPF_MAP_DELETE_BATCH (generic_map_delete_batch()): returns the number deleted. */
  deleteBatch(keys: readonly Uint8Array[], opts: { elemFlags?: number } = {}): number {
    const op = "delete_batch";
    this.check(op, undefined, false, true);
    if (!this.batchSupport().delete) this.fail(op, -ENOTSUPP);
    const elemFlags = opts.elemFlags ?? 0;
    if ((elemFlags & ~BPF_F_LOCK) !== 0) this.fail(op, -EINVAL);
    this.checkElemFlags(op, elemFlags);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const r = k.length < this.keySize ? -EFAULT : this.sysDelete(k, 0);
      if (r < 0) throw new MapBatchError(op, this.spec.name, -r, i);
    }
    return keys.length;
  }

  /** Splits a per-CPU user value (numCpus values, each rounded up to 8 bytes) into one value per CPU. */
  splitPerCpu(value: Uint8Array): Uint8Array[] {
    const stride = roundUp8(this.valueSize);
    const out: Uint8Array[] = [];
    for (let c = 0; c < this.env.numCpus; c++) out.push(value.slice(c * stride, c * stride + this.valueSize));
    return out;
  }

  /** Builds a per-CPU user value from one value per CPU (missing CPUs are zero). */
  joinPerCpu(values: readonly Uint8Array[]): Uint8Array {
    const stride = roundUp8(this.valueSize);
    const out = new Uint8Array(stride * this.env.numCpus);
    values.forEach((v, c) => {
      if (c < this.env.numCpus) out.set(v.subarray(0, this.valueSize), c * stride);
    });
    return out;
  }

  /** Per-CPU lookup, split by CPU. */
  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    const v = this.lookup(key);
    return v === undefined ? undefined : this.splitPerCpu(v);
  }

  // ---- value copies honouring bpf_spin_lock (copy_map_value / check_and_init_map_value) ----

  /** copy_map_value(): the value without its spin lock word. */
  protected copyValueIn(dst: number, vb: Uint8Array, vo: number): void {
    const u8 = this.space.u8;
    const lock = this.spec.spinLockOffset;
    if (lock === undefined) {
      copyBytes(vb, vo, u8, dst, this.valueSize);
    } else {
      copyBytes(vb, vo, u8, dst, lock);
      copyBytes(vb, vo + lock + 4, u8, dst + lock + 4, this.valueSize - lock - 4);
    }
  }

  /** copy_map_value() to user space then check_and_init_map_value(): the lock word reads as 0. */
  protected copyValueOut(out: Uint8Array, oo: number, src: number): void {
    copyBytes(this.space.u8, src, out, oo, this.valueSize);
    const lock = this.spec.spinLockOffset;
    if (lock !== undefined) out.fill(0, oo + lock, oo + lock + 4);
  }

  /** Copies between two places of the address space, keeping dst's spin lock word. */
  protected copyValueWithin(dst: number, src: number): void {
    this.copyValueIn(dst, this.space.u8, src);
  }

  // ---- lifetime ---------------------------------------------------------------------------

  /** An outer map (or another holder) keeps this map alive. */
  retain(): void {
    this.refs++;
  }

  /** Drops a reference taken by retain(); frees the map when none is left. */
  release(): void {
    if (--this.refs === 0) this.free();
  }

  /** Closes the user's handle; storage is freed when no outer map still holds the map. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.release();
  }

  /** Releases what the map holds (inner maps, programs); families extend it. */
  protected onFree(): void {}

  private free(): void {
    this.onFree();
    unregisterMap(this);
    for (const r of this.regionList) this.space.unmap(r);
    this.regionList.length = 0;
    this.closedFlag = true;
  }
}

const EMPTY = new Uint8Array(0);
