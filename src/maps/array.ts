/**
 * BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY, after kernel/bpf/arraymap.c.
 *
 * All max_entries elements exist from creation, zero-filled, each round_up(value_size, 8)
 * bytes. A lookup is address arithmetic, which is what the kernel's array_map_gen_lookup()
 * inlines and what a JIT can inline from `valueBase`, `valueStride` and `cpuStride`:
 *
 *     value(index, cpu) = valueBase + index * valueStride + cpu * cpuStride
 *
 * Per-CPU arrays keep the CPUs of one index next to each other, so a per-CPU value is
 * stored exactly as user space exchanges it (numCpus values of round_up(value_size, 8)).
 *
 * Semantics: update with BPF_NOEXIST gives -EEXIST (every element exists), an index
 * past max_entries gives -E2BIG on update and NULL/-ENOENT on lookup, delete gives
 * -EINVAL, get_next_key restarts at 0 for an out-of-range key. BPF_F_RDONLY_PROG maps
 * (.rodata) live in a region programs cannot store to.
 */
import { BpfMap, type CreateMapOptions } from "./base.js";
import {
  BPF_EXIST,
  BPF_F_LOCK,
  BPF_F_MMAPABLE,
  BPF_F_RDONLY_PROG,
  BPF_NOEXIST,
  E2BIG,
  EEXIST,
  EINVAL,
  ENOENT,
  ENOTSUPP,
  PAGE_SIZE,
  roundUp8,
  type MapEnv,
  type MapSpec,
} from "./types.js";

export class ArrayMap extends BpfMap {
  /** Address of element 0 (CPU 0). */
  readonly valueBase: number;
  /** Bytes between consecutive indexes. */
  readonly valueStride: number;
  /** Bytes between the CPUs of one index (0 for a plain array). */
  readonly cpuStride: number;
  private readonly percpu: boolean;
  private readonly elemSize: number;
  /** Where bpf_for_each_map_elem() puts the u32 key it passes to the callback. */
  private readonly keySlot: number;

  constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions = {}) {
    super(spec, env, opts);
    this.percpu = spec.type === "BPF_MAP_TYPE_PERCPU_ARRAY";
    this.elemSize = roundUp8(spec.valueSize);
    this.cpuStride = this.percpu ? this.elemSize : 0;
    this.valueStride = this.percpu ? this.elemSize * env.numCpus : this.elemSize;
    const mmapable = (spec.flags & BPF_F_MMAPABLE) !== 0;
    let size = this.valueStride * this.maxEntries;
    if (mmapable) size = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
    const storage = this.allocate(size, "values", { writable: (spec.flags & BPF_F_RDONLY_PROG) === 0, align: mmapable ? PAGE_SIZE : 8 });
    this.valueBase = storage.start;
    this.keySlot = this.allocate(8, "for_each key", { writable: false }).start;
    this.writeHeader(this.valueBase, this.valueStride);
  }

  override get userValueSize(): number {
    return this.percpu ? this.elemSize * this.env.numCpus : this.valueSize;
  }

  override get isPercpu(): boolean {
    return this.percpu;
  }

  /** Address of the value at index for cpu (no bounds check). */
  valueAddress(index: number, cpu = 0): number {
    return this.valueBase + index * this.valueStride + cpu * this.cpuStride;
  }

  /**
   * map_direct_value_addr(): address of byte `off` of the single value, for
   * BPF_PSEUDO_MAP_VALUE loads of global data; -errno if the map is not a
   * one-element array.
   */
  directValueAddr(off: number): number {
    if (this.percpu || this.maxEntries !== 1) return -ENOTSUPP;
    if (off < 0 || off >= this.valueSize) return -EINVAL;
    return this.valueBase + off;
  }

  private index(kb: Uint8Array, ko: number): number {
    return (kb[ko]! | (kb[ko + 1]! << 8) | (kb[ko + 2]! << 16) | (kb[ko + 3]! << 24)) >>> 0;
  }

  // ---- kernel side ----

  override lookupElem(keyAddr: number, cpu?: number): number {
    const u8 = this.space.u8;
    const i = (u8[keyAddr]! | (u8[keyAddr + 1]! << 8) | (u8[keyAddr + 2]! << 16) | (u8[keyAddr + 3]! << 24)) >>> 0;
    if (i >= this.maxEntries) return 0;
    return this.valueBase + i * this.valueStride + (this.percpu ? (cpu ?? this.env.currentCpu()) * this.cpuStride : 0);
  }

  override lookupPercpuElem(keyAddr: number, cpu: number): number {
    if (!this.percpu || cpu < 0 || cpu >= this.env.numCpus) return 0;
    const i = this.index(this.space.u8, keyAddr);
    return i >= this.maxEntries ? 0 : this.valueAddress(i, cpu);
  }

  override updateElem(keyAddr: number, valueAddr: number, flags: number, cpu?: number): number {
    const err = this.checkUpdate(this.space.u8, keyAddr, flags);
    if (err !== 0) return err;
    const i = this.index(this.space.u8, keyAddr);
    if (this.percpu) {
      // From a program: only this CPU's copy, value_size bytes.
      const dst = this.valueAddress(i, cpu ?? this.env.currentCpu());
      this.space.u8.copyWithin(dst, valueAddr, valueAddr + this.valueSize);
    } else {
      this.copyValueWithin(this.valueAddress(i), valueAddr);
    }
    return 0;
  }

  override deleteElem(_keyAddr: number): number {
    return -EINVAL;
  }

  override forEachElem(cb: (keyAddr: number, valueAddr: number) => number | bigint, flags: number, cpu?: number): number {
    if (flags !== 0) return -EINVAL;
    const c = this.percpu ? (cpu ?? this.env.currentCpu()) : 0;
    const view = this.space.view;
    let n = 0;
    for (let i = 0; i < this.maxEntries; i++) {
      view.setUint32(this.keySlot, i, true);
      n++;
      const r = cb(this.keySlot, this.valueAddress(i, c));
      if (r !== 0 && r !== 0n) break;
    }
    return n;
  }

  // ---- shared by both sides ----

  /** array_map_update_elem() / bpf_percpu_array_update() checks, in the kernel's order. */
  private checkUpdate(kb: Uint8Array, ko: number, flags: number): number {
    if (this.percpu ? flags > BPF_EXIST : (flags & ~BPF_F_LOCK) > BPF_EXIST) return -EINVAL;
    if (this.index(kb, ko) >= this.maxEntries) return -E2BIG;
    if ((flags & BPF_NOEXIST) !== 0) return -EEXIST;
    if ((flags & BPF_F_LOCK) !== 0 && !this.hasSpinLock) return -EINVAL;
    return 0;
  }

  protected sysLookup(kb: Uint8Array, ko: number, out: Uint8Array): number {
    const i = this.index(kb, ko);
    if (i >= this.maxEntries) return -ENOENT;
    const src = this.valueAddress(i);
    if (this.percpu) out.set(this.space.u8.subarray(src, src + this.valueStride));
    else this.copyValueOut(out, 0, src);
    return 0;
  }

  protected sysUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number): number {
    const err = this.checkUpdate(kb, ko, flags);
    if (err !== 0) return err;
    const dst = this.valueAddress(this.index(kb, ko));
    // User space writes every CPU's copy, round_up(value_size, 8) bytes each.
    if (this.percpu) this.space.u8.set(vb.subarray(vo, vo + this.valueStride), dst);
    else this.copyValueIn(dst, vb, vo);
    return 0;
  }

  protected sysDelete(): number {
    return -EINVAL;
  }

  protected sysNextKey(kb: Uint8Array | undefined, ko: number, out: Uint8Array): number {
    const next = nextArrayIndex(kb === undefined ? undefined : this.index(kb, ko), this.maxEntries);
    if (next < 0) return next;
    writeU32(out, 0, next);
    return 0;
  }

  protected override batchSupport() {
    return { lookup: true, lookupAndDelete: false, update: true, delete: false };
  }
}

/** array_map_get_next_key(): the index after `index`, 0 for none or out of range, -ENOENT at the end. */
export function nextArrayIndex(index: number | undefined, maxEntries: number): number {
  if (index === undefined || index >= maxEntries) return 0;
  if (index === maxEntries - 1) return -ENOENT;
  return index + 1;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

export const readU32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
