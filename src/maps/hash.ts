/**
 * The hash table family, after kernel/bpf/hashtab.c: BPF_MAP_TYPE_HASH, PERCPU_HASH,
 * LRU_HASH, LRU_PERCPU_HASH and HASH_OF_MAPS.
 *
 * Layout. Elements are preallocated in the address space, each
 * round_up(key_size, 8) + round_up(value_size, 8) bytes (key, then value: a lookup
 * returns the element address + round_up(key_size, 8), as htab_map_lookup_elem() does).
 * Per-CPU values live in a separate block, numCpus * round_up(value_size, 8) bytes per
 * element, CPUs adjacent, so a per-CPU value is already in the user-space ABI layout.
 * Buckets, chains and stored hashes are typed arrays: a lookup hashes the key bytes in
 * place (jhash2, as htab_map_hash()), walks one chain comparing stored hashes first,
 * and allocates nothing.
 *
 * Kernel behaviours kept:
 *  - n_buckets = roundup_pow_of_two(max_entries); new and updated elements go to the
 *    head of their bucket (an update of an existing key replaces its element by a
 *    fresh one from the per-CPU extra element, as prealloc htab does), so get_next_key
 *    and dumps walk buckets in the kernel's order; an unknown key restarts at the first
 *    element; with BPF_F_ZERO_SEED the order is the kernel's exactly;
 *  - -E2BIG when max_entries elements exist and the key is new; -EEXIST / -ENOENT for
 *    BPF_NOEXIST / BPF_EXIST; BPF_F_LOCK updates the value in place around its spin lock;
 *  - per-CPU maps update in place; a program's update sets its CPU's copy and zeroes the
 *    other CPUs' copies of a new element; user space reads and writes all CPUs;
 *  - LRU maps take a node from the LRU (bpf_lru_list.c, in lru.ts) before looking the
 *    key up, so a full map evicts instead of failing, even when the update then fails
 *    its flag check; program lookups set the node's ref bit, user-space lookups do not;
 *  - the bucket-at-a-time lookup batch (in_batch/out_batch = bucket index, -ENOSPC when
 *    a bucket does not fit in count, -ENOENT after the last bucket).
 * Not modelled: bucket lock contention (-EBUSY), timers and kptrs in values.
 */
import { BpfMap, type BatchOptions, type BatchResult, type CreateMapOptions } from "./base.js";
import { copyBytes, htabHash, jhash2w } from "./jhash.js";
import { BpfLru } from "./lru.js";
import { mapFromId } from "./registry.js";
import {
  BPF_EXIST,
  BPF_F_LOCK,
  BPF_F_NO_COMMON_LRU,
  BPF_F_ZERO_SEED,
  BPF_NOEXIST,
  E2BIG,
  EBADF,
  EEXIST,
  EINVAL,
  ENOENT,
  ENOMEM,
  ENOSPC,
  MapError,
  roundUp8,
  roundUpPow2,
  type MapEnv,
  type MapSpec,
} from "./types.js";
import { metaEqual } from "./validate.js";

export class HashMap extends BpfMap {
  readonly nBuckets: number;
  private readonly mask: number;
  private readonly seed: number;
  private readonly percpu: boolean;
  private readonly ofMaps: boolean;
  /** The LRU, for LRU_HASH and LRU_PERCPU_HASH. */
  readonly lru: BpfLru | undefined;
  private readonly heads: Int32Array;
  private readonly next: Int32Array;
  private readonly hashes: Int32Array;
  private readonly linked: Uint8Array;
  private readonly elemBase: number;
  private readonly elemSize: number;
  private readonly elemBaseW: number;
  private readonly elemWords: number;
  /** key_size / 4 when the key is whole words (jhash2), else 0. */
  private readonly keyWords: number;
  private w32: Int32Array;
  /** The Uint8Array view w32 was made alongside (typed array .buffer is slow to read). */
  private w32of: Uint8Array;
  private readonly keyPad: number;
  private readonly stride: number;
  private readonly pcpuBase: number;
  private readonly freeList: Int32Array;
  private freeTop = 0;
  private readonly extra: Int32Array;
  private count = 0;

  constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions = {}) {
    const lru = spec.type === "BPF_MAP_TYPE_LRU_HASH" || spec.type === "BPF_MAP_TYPE_LRU_PERCPU_HASH";
    const percpuLru = lru && (spec.flags & BPF_F_NO_COMMON_LRU) !== 0;
    let maxEntries = spec.maxEntries;
    if (percpuLru) {
      // Each CPU's LRU list gets the same number (>= 1) of nodes.
      maxEntries = Math.ceil(maxEntries / env.numCpus) * env.numCpus;
      if (maxEntries > 0xffffffff) maxEntries = Math.floor(spec.maxEntries / env.numCpus) * env.numCpus;
    }
    if (maxEntries > 2 ** 31) throw new MapError("create", spec.name, E2BIG, `max_entries ${maxEntries} > 2^31`);
    super(spec, env, opts, { maxEntries });
    this.percpu = spec.type === "BPF_MAP_TYPE_PERCPU_HASH" || spec.type === "BPF_MAP_TYPE_LRU_PERCPU_HASH";
    this.ofMaps = spec.type === "BPF_MAP_TYPE_HASH_OF_MAPS";
    this.seed = (spec.flags & BPF_F_ZERO_SEED) !== 0 ? 0 : (opts.hashSeed ?? 0) | 0;
    this.nBuckets = roundUpPow2(maxEntries);
    this.mask = this.nBuckets - 1;
    this.keyPad = roundUp8(spec.keySize);
    this.stride = roundUp8(spec.valueSize);
    this.elemSize = this.keyPad + (this.percpu ? 0 : this.stride);
    const hasExtra = !this.percpu && !lru;
    const nElems = maxEntries + (hasExtra ? env.numCpus : 0);
    this.heads = new Int32Array(this.nBuckets).fill(-1);
    this.next = new Int32Array(nElems).fill(-1);
    this.hashes = new Int32Array(nElems);
    this.linked = new Uint8Array(nElems);
    this.elemBase = this.allocate(nElems * this.elemSize, "elements").start;
    this.elemBaseW = this.elemBase >> 2;
    this.elemWords = this.elemSize >> 2;
    this.keyWords = (spec.keySize & 3) === 0 ? spec.keySize >> 2 : 0;
    this.w32of = env.space.u8;
    this.w32 = new Int32Array(this.w32of.buffer, 0, this.w32of.byteLength >> 2);
    this.pcpuBase = this.percpu ? this.allocate(nElems * env.numCpus * this.stride, "per-cpu values").start : 0;
    this.extra = new Int32Array(hasExtra ? env.numCpus : 0);
    if (lru) {
      this.lru = new BpfLru(nElems, percpuLru, env.numCpus, (n) => this.delFromHtab(n));
      this.freeList = new Int32Array(0);
    } else {
      this.lru = undefined;
      this.freeList = new Int32Array(nElems);
      for (let e = nElems - 1; e >= 0; e--) this.freeList[this.freeTop++] = e;
      for (let c = 0; c < this.extra.length; c++) this.extra[c] = this.freeList[--this.freeTop]!;
    }
    this.writeHeader();
  }

  override get userValueSize(): number {
    if (this.percpu) return this.stride * this.env.numCpus;
    return this.ofMaps ? 4 : this.valueSize;
  }

  override get isPercpu(): boolean {
    return this.percpu;
  }

  /** Number of elements in the map. */
  get size(): number {
    return this.count;
  }

  // ---- the table ----

  private elemAddr(e: number): number {
    return this.elemBase + e * this.elemSize;
  }

  private valueAddr(e: number, cpu: number): number {
    return this.percpu ? this.pcpuBase + (e * this.env.numCpus + cpu) * this.stride : this.elemBase + e * this.elemSize + this.keyPad;
  }

  /** Int32Array view of the address space (re-made when the memory grows). */
  private words(): Int32Array {
    const u8 = this.env.space.u8;
    if (u8 !== this.w32of) {
      this.w32of = u8;
      this.w32 = new Int32Array(u8.buffer, 0, u8.byteLength >> 2);
    }
    return this.w32;
  }

  /** htab_map_hash(); word-aligned keys in the address space are hashed a word at a time. */
  private hash(kb: Uint8Array, ko: number): number {
    if (this.keyWords > 0 && (ko & 3) === 0 && kb === this.env.space.u8) return jhash2w(this.words(), ko >> 2, this.keyWords, this.seed);
    return htabHash(kb, ko, this.keySize, this.seed) | 0;
  }

  /** lookup_elem_raw(): the element holding key, or -1. */
  private find(kb: Uint8Array, ko: number, h: number): number {
    const u8 = this.env.space.u8;
    if (this.keyWords > 0 && (ko & 3) === 0 && kb === u8) {
      const w = this.words();
      const kw = this.keyWords;
      const ki = ko >> 2;
      for (let e = this.heads[h & this.mask]!; e >= 0; e = this.next[e]!) {
        if (this.hashes[e] !== h) continue;
        const a = this.elemBaseW + e * this.elemWords;
        let i = 0;
        while (i < kw && w[a + i] === w[ki + i]) i++;
        if (i === kw) return e;
      }
      return -1;
    }
    const ks = this.keySize;
    for (let e = this.heads[h & this.mask]!; e >= 0; e = this.next[e]!) {
      if (this.hashes[e] !== h) continue;
      const a = this.elemBase + e * this.elemSize;
      let i = 0;
      while (i < ks && kb[ko + i] === u8[a + i]) i++;
      if (i === ks) return e;
    }
    return -1;
  }

  private link(e: number, h: number): void {
    const b = h & this.mask;
    this.hashes[e] = h;
    this.next[e] = this.heads[b]!;
    this.heads[b] = e;
    this.linked[e] = 1;
  }

  private unlink(e: number): void {
    const b = this.hashes[e]! & this.mask;
    let p = this.heads[b]!;
    if (p === e) {
      this.heads[b] = this.next[e]!;
    } else {
      while (this.next[p] !== e) p = this.next[p]!;
      this.next[p] = this.next[e]!;
    }
    this.next[e] = -1;
    this.linked[e] = 0;
  }

  /** htab_lru_map_delete_node(): the LRU evicts node n. */
  private delFromHtab(n: number): boolean {
    if (!this.linked[n]) return false;
    this.unlink(n);
    this.count--;
    this.dropInner(n);
    return true;
  }

  private freeElem(e: number): void {
    if (this.lru !== undefined) this.lru.pushFree(e);
    else this.freeList[this.freeTop++] = e;
  }

  private setKey(e: number, kb: Uint8Array, ko: number): void {
    copyBytes(kb, ko, this.env.space.u8, this.elemAddr(e), this.keySize);
  }

  // ---- update paths ----

  /** check_flags(). */
  private checkFlags(old: number, flags: number): number {
    const f = flags & ~BPF_F_LOCK;
    if (old >= 0 && f === BPF_NOEXIST) return -EEXIST;
    if (old < 0 && f === BPF_EXIST) return -ENOENT;
    return 0;
  }

  /**
   * The update of every type. `vb`/`vo` is a value_size value, or for a user-space
   * per-CPU update (allCpus) numCpus rounded values.
   */
  private doUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number, cpu: number, allCpus: boolean): number {
    if (this.lru !== undefined) return this.percpu ? this.lruPercpuUpdate(kb, ko, vb, vo, flags, cpu, allCpus) : this.lruUpdate(kb, ko, vb, vo, flags, cpu);
    if (this.percpu) return this.percpuUpdate(kb, ko, vb, vo, flags, cpu, allCpus);
    if ((flags & ~BPF_F_LOCK) > BPF_EXIST) return -EINVAL;
    const h = this.hash(kb, ko);
    if ((flags & BPF_F_LOCK) !== 0 && !this.hasSpinLock) return -EINVAL;
    const old = this.find(kb, ko, h);
    const err = this.checkFlags(old, flags);
    if (err !== 0) return err;
    if (old >= 0 && (flags & BPF_F_LOCK) !== 0) {
      this.copyValueIn(this.valueAddr(old, 0), vb, vo);
      return 0;
    }
    let e: number;
    if (old >= 0) {
      // Replace through this CPU's extra element; the old one becomes the extra.
      e = this.extra[cpu]!;
      this.extra[cpu] = old;
    } else {
      if (this.freeTop === 0 || this.count >= this.maxEntries) return -E2BIG;
      e = this.freeList[--this.freeTop]!;
    }
    this.setKey(e, kb, ko);
    this.copyValueIn(this.valueAddr(e, 0), vb, vo);
    this.link(e, h);
    if (old >= 0) {
      this.unlink(old);
      this.dropInner(old);
    } else {
      this.count++;
    }
    return 0;
  }

  private percpuUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number, cpu: number, allCpus: boolean): number {
    if (flags > BPF_EXIST) return -EINVAL;
    const h = this.hash(kb, ko);
    const old = this.find(kb, ko, h);
    const err = this.checkFlags(old, flags);
    if (err !== 0) return err;
    if (old >= 0) {
      this.pcpuCopy(old, vb, vo, cpu, allCpus);
      return 0;
    }
    if (this.freeTop === 0 || this.count >= this.maxEntries) return -E2BIG;
    const e = this.freeList[--this.freeTop]!;
    this.setKey(e, kb, ko);
    this.pcpuInit(e, vb, vo, cpu, allCpus);
    this.link(e, h);
    this.count++;
    return 0;
  }

  private lruUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number, cpu: number): number {
    if (flags > BPF_EXIST) return -EINVAL;
    const h = this.hash(kb, ko);
    const lru = this.lru!;
    // The node is taken (possibly evicting) before the key is looked up.
    const e = lru.popFree(cpu);
    if (e < 0) return -ENOMEM;
    this.setKey(e, kb, ko);
    this.copyValueIn(this.valueAddr(e, 0), vb, vo);
    const old = this.find(kb, ko, h);
    const err = this.checkFlags(old, flags);
    if (err !== 0) {
      lru.pushFree(e);
      return err;
    }
    this.link(e, h);
    if (old >= 0) {
      lru.ref[e] = 1;
      this.unlink(old);
      lru.pushFree(old);
    } else {
      this.count++;
    }
    return 0;
  }

  private lruPercpuUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number, cpu: number, allCpus: boolean): number {
    if (flags > BPF_EXIST) return -EINVAL;
    const h = this.hash(kb, ko);
    const lru = this.lru!;
    let e = -1;
    if (flags !== BPF_EXIST) {
      e = lru.popFree(cpu);
      if (e < 0) return -ENOMEM;
      this.setKey(e, kb, ko);
    }
    const old = this.find(kb, ko, h);
    const err = this.checkFlags(old, flags);
    if (err === 0) {
      if (old >= 0) {
        lru.ref[old] = 1;
        this.pcpuCopy(old, vb, vo, cpu, allCpus);
      } else {
        this.pcpuInit(e, vb, vo, cpu, allCpus);
        this.link(e, h);
        this.count++;
        e = -1;
      }
    }
    if (e >= 0) lru.pushFree(e);
    return err;
  }

  /** pcpu_copy_value(): one CPU's value_size bytes, or every CPU's rounded value. */
  private pcpuCopy(e: number, vb: Uint8Array, vo: number, cpu: number, allCpus: boolean): void {
    const u8 = this.space.u8;
    if (allCpus) u8.set(vb.subarray(vo, vo + this.stride * this.env.numCpus), this.valueAddr(e, 0));
    else u8.set(vb.subarray(vo, vo + this.valueSize), this.valueAddr(e, cpu));
  }

  /** pcpu_init_value(): a new element from a program gets zeros on the other CPUs. */
  private pcpuInit(e: number, vb: Uint8Array, vo: number, cpu: number, allCpus: boolean): void {
    if (!allCpus) this.space.u8.fill(0, this.valueAddr(e, 0), this.valueAddr(e, 0) + this.stride * this.env.numCpus);
    this.pcpuCopy(e, vb, vo, cpu, allCpus);
  }

  private doDelete(kb: Uint8Array, ko: number): number {
    const e = this.find(kb, ko, this.hash(kb, ko));
    if (e < 0) return -ENOENT;
    this.unlink(e);
    this.count--;
    this.dropInner(e);
    this.freeElem(e);
    return 0;
  }

  // ---- kernel side ----

  override lookupElem(keyAddr: number, cpu?: number): number {
    const u8 = this.env.space.u8;
    let e = -1;
    if (this.keyWords > 0 && (keyAddr & 3) === 0) {
      // The hot path (bpf_map_lookup_elem with a key on the stack), inlined.
      const w = u8 === this.w32of ? this.w32 : this.words();
      const kw = this.keyWords;
      const ki = keyAddr >> 2;
      const h = jhash2w(w, ki, kw, this.seed);
      const hashes = this.hashes;
      const next = this.next;
      for (let x = this.heads[h & this.mask]!; x >= 0; x = next[x]!) {
        if (hashes[x] !== h) continue;
        const a = this.elemBaseW + x * this.elemWords;
        let i = 0;
        while (i < kw && w[a + i] === w[ki + i]) i++;
        if (i === kw) {
          e = x;
          break;
        }
      }
    } else {
      e = this.find(u8, keyAddr, this.hash(u8, keyAddr));
    }
    if (e < 0) return 0;
    if (this.lru !== undefined) this.lru.ref[e] = 1;
    if (this.ofMaps) return this.space.view.getUint32(this.valueAddr(e, 0), true);
    return this.valueAddr(e, this.percpu ? (cpu ?? this.env.currentCpu()) : 0);
  }

  override lookupPercpuElem(keyAddr: number, cpu: number): number {
    if (!this.percpu || cpu < 0 || cpu >= this.env.numCpus) return 0;
    const u8 = this.space.u8;
    const e = this.find(u8, keyAddr, this.hash(u8, keyAddr));
    if (e < 0) return 0;
    if (this.lru !== undefined) this.lru.ref[e] = 1;
    return this.valueAddr(e, cpu);
  }

  override updateElem(keyAddr: number, valueAddr: number, flags: number, cpu?: number): number {
    if (this.ofMaps) return -EINVAL; // programs cannot update map-in-map values
    const u8 = this.space.u8;
    return this.doUpdate(u8, keyAddr, u8, valueAddr, flags, cpu ?? this.env.currentCpu(), false);
  }

  override deleteElem(keyAddr: number): number {
    return this.doDelete(this.space.u8, keyAddr);
  }

  override forEachElem(cb: (keyAddr: number, valueAddr: number) => number | bigint, flags: number, cpu?: number): number {
    if (flags !== 0) return -EINVAL;
    const c = cpu ?? this.env.currentCpu();
    let n = 0;
    for (let b = 0; b < this.nBuckets; b++) {
      for (let e = this.heads[b]!; e >= 0; ) {
        const nx = this.next[e]!;
        n++;
        const r = cb(this.elemAddr(e), this.valueAddr(e, this.percpu ? c : 0));
        if (r !== 0 && r !== 0n) return n;
        e = nx;
      }
    }
    return n;
  }

  // ---- user space ----

  private copyOut(e: number, out: Uint8Array, oo: number): void {
    if (this.percpu) {
      const a = this.valueAddr(e, 0);
      out.set(this.space.u8.subarray(a, a + this.stride * this.env.numCpus), oo);
    } else if (this.ofMaps) {
      const inner = this.innerAt(e);
      const id = inner?.id ?? 0;
      out[oo] = id & 0xff;
      out[oo + 1] = (id >>> 8) & 0xff;
      out[oo + 2] = (id >>> 16) & 0xff;
      out[oo + 3] = (id >>> 24) & 0xff;
    } else {
      this.copyValueOut(out, oo, this.valueAddr(e, 0));
    }
  }

  protected sysLookup(kb: Uint8Array, ko: number, out: Uint8Array): number {
    const e = this.find(kb, ko, this.hash(kb, ko));
    if (e < 0) return -ENOENT;
    this.copyOut(e, out, 0);
    return 0;
  }

  protected sysUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number): number {
    if (!this.ofMaps) return this.doUpdate(kb, ko, vb, vo, flags, this.env.currentCpu(), true);
    const id = (vb[vo]! | (vb[vo + 1]! << 8) | (vb[vo + 2]! << 16) | (vb[vo + 3]! << 24)) >>> 0;
    const inner = resolveInnerMap(this, id);
    if (typeof inner === "number") return inner;
    const slot = new Uint8Array(8);
    new DataView(slot.buffer).setUint32(0, inner.address, true);
    const r = this.doUpdate(kb, ko, slot, 0, flags, this.env.currentCpu(), false);
    if (r === 0) this.holdInner(inner);
    return r;
  }

  protected sysDelete(kb: Uint8Array, ko: number): number {
    return this.doDelete(kb, ko);
  }

  protected sysNextKey(kb: Uint8Array | undefined, ko: number, out: Uint8Array): number {
    let b = 0;
    if (kb !== undefined) {
      const h = this.hash(kb, ko);
      const e = this.find(kb, ko, h);
      if (e >= 0) {
        const nx = this.next[e]!;
        if (nx >= 0) return this.keyOut(nx, out);
        b = (h & this.mask) + 1;
      }
    }
    for (; b < this.nBuckets; b++) {
      const e = this.heads[b]!;
      if (e >= 0) return this.keyOut(e, out);
    }
    return -ENOENT;
  }

  private keyOut(e: number, out: Uint8Array): number {
    const a = this.elemAddr(e);
    out.set(this.space.u8.subarray(a, a + this.keySize));
    return 0;
  }

  protected override sysLookupAndDelete(kb: Uint8Array, ko: number, out: Uint8Array): number {
    const e = this.find(kb, ko, this.hash(kb, ko));
    if (e < 0) return -ENOENT;
    this.copyOut(e, out, 0);
    this.unlink(e);
    this.count--;
    this.dropInner(e);
    this.freeElem(e);
    return 0;
  }

  protected override batchSupport() {
    return { lookup: true, lookupAndDelete: true, update: true, delete: true };
  }

  /** __htab_map_lookup_and_delete_batch(): whole buckets at a time; the cursor is a bucket index. */
  protected override runLookupBatch(opts: BatchOptions, del: boolean): BatchResult {
    const op = del ? "lookup_and_delete_batch" : "lookup_batch";
    const elemFlags = opts.elemFlags ?? 0;
    if ((elemFlags & ~BPF_F_LOCK) !== 0 || ((elemFlags & BPF_F_LOCK) !== 0 && !this.hasSpinLock)) this.fail(op, -EINVAL);
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    if (opts.count <= 0) return { keys, values, outBatch: undefined, done: false };
    let batch = 0;
    if (opts.inBatch !== undefined) {
      if (opts.inBatch.length < 4) this.fail(op, -14);
      batch = new DataView(opts.inBatch.buffer, opts.inBatch.byteOffset, 4).getUint32(0, true);
    }
    if (batch >= this.nBuckets) return { keys, values, outBatch: undefined, done: true };
    let done = false;
    for (;;) {
      let n = 0;
      for (let e = this.heads[batch]!; e >= 0; e = this.next[e]!) n++;
      if (n > opts.count - keys.length) {
        if (keys.length === 0) throw new MapError(op, this.spec.name, ENOSPC, `bucket ${batch} holds ${n} elements, count is ${opts.count}`);
        break;
      }
      for (let e = this.heads[batch]!; e >= 0; ) {
        const nx = this.next[e]!;
        const k = new Uint8Array(this.keySize);
        this.keyOut(e, k);
        const v = new Uint8Array(this.userValueSize);
        this.copyOut(e, v, 0);
        keys.push(k);
        values.push(v);
        if (del) {
          this.unlink(e);
          this.count--;
          this.dropInner(e);
          this.freeElem(e);
        }
        e = nx;
      }
      batch++;
      if (batch >= this.nBuckets) {
        done = true;
        break;
      }
    }
    const outBatch = new Uint8Array(4);
    new DataView(outBatch.buffer).setUint32(0, batch, true);
    return { keys, values, outBatch, done };
  }

  // ---- HASH_OF_MAPS ----

  /** Inner maps by the address the values store, with the number of elements holding each. */
  private readonly inner = new Map<number, { map: BpfMap; n: number }>();

  private innerAt(e: number): BpfMap | undefined {
    return this.inner.get(this.space.view.getUint32(this.valueAddr(e, 0), true))?.map;
  }

  private holdInner(m: BpfMap): void {
    const h = this.inner.get(m.address);
    if (h === undefined) this.inner.set(m.address, { map: m, n: 1 });
    else h.n++;
    m.retain();
  }

  /** The element's value is being dropped: release the inner map it held. */
  private dropInner(e: number): void {
    if (!this.ofMaps) return;
    const addr = this.space.view.getUint32(this.valueAddr(e, 0), true);
    const h = this.inner.get(addr);
    if (h === undefined) return;
    if (--h.n === 0) this.inner.delete(addr);
    h.map.release();
  }

  protected override onFree(): void {
    for (const h of this.inner.values()) for (let i = 0; i < h.n; i++) h.map.release();
    this.inner.clear();
  }
}

/** bpf_map_fd_get_ptr(): the inner map for id, or -errno (EBADF unknown, EINVAL not like the template). */
export function resolveInnerMap(outer: BpfMap, id: number): BpfMap | number {
  const m = outer.links.map?.(id) ?? mapFromId(outer.env.space, id);
  if (m === undefined || m.closed) return -EBADF;
  const tmpl = outer.spec.innerMap;
  if (tmpl === undefined || !metaEqual(tmpl, m)) return -EINVAL;
  return m;
}
