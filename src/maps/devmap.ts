/**
 * XDP redirect targets: BPF_MAP_TYPE_DEVMAP, DEVMAP_HASH (kernel/bpf/devmap.c) and
 * CPUMAP (kernel/bpf/cpumap.c).
 *
 * Values are struct bpf_devmap_val {u32 ifindex; u32 prog fd/id} and struct
 * bpf_cpumap_val {u32 qsize; u32 prog fd/id} (value_size 4 or 8). User space writes a
 * program id where libbpf writes an fd, and reads the id back. Programs may look a
 * DEVMAP entry up and get a read-only pointer to its value (the kernel adds
 * BPF_F_RDONLY_PROG to the map flags), so values are kept in the address space.
 *
 * DEVMAP update: flags > BPF_EXIST -EINVAL, index past max_entries -E2BIG, BPF_NOEXIST
 * -EEXIST (every slot exists), ifindex 0 empties the slot (with a program: -EINVAL), an
 * unknown ifindex or a program that is not XDP/BPF_XDP_DEVMAP -EINVAL; delete past
 * max_entries -EINVAL, of an empty slot 0. DEVMAP_HASH keys are any u32 in hash buckets:
 * BPF_NOEXIST on an existing key -EEXIST, a new key in a full map -E2BIG, delete of a
 * missing key -ENOENT, get_next_key in bucket order. CPUMAP: qsize 0 empties the slot,
 * qsize > 16384 -EOVERFLOW, a CPU that does not exist -ENODEV, a program that is not
 * XDP/BPF_XDP_CPUMAP -ENOMEM (the kernel's entry allocation fails).
 */
import { nextArrayIndex, readU32, writeU32 } from "./array.js";
import { BpfMap, type CreateMapOptions } from "./base.js";
import { BPF_EXIST, BPF_NOEXIST, E2BIG, EEXIST, EINVAL, ENODEV, ENOENT, ENOMEM, EOVERFLOW, roundUpPow2, type MapEnv, type MapSpec } from "./types.js";
import { effectiveFlags } from "./validate.js";

/** A DEVMAP / DEVMAP_HASH entry. */
export interface DevmapEntry {
  readonly key: number;
  readonly ifindex: number;
  /** Program run on the egress device (BPF_XDP_DEVMAP), 0 for none. */
  readonly progId: number;
}

/** A CPUMAP entry. */
export interface CpumapEntry {
  readonly cpu: number;
  readonly qsize: number;
  readonly progId: number;
}

abstract class SlotMap extends BpfMap {
  /** Value slots (8 bytes each) in a region programs can read but not write. */
  protected readonly base: number;

  protected constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions, slots: number) {
    super(spec, env, opts, { flags: effectiveFlags(spec) });
    this.base = this.allocate(8 * slots, "values", { writable: false }).start;
  }

  protected slotAddr(s: number): number {
    return this.base + 8 * s;
  }

  protected writeSlot(s: number, a: number, b: number): void {
    const v = this.space.view;
    v.setUint32(this.slotAddr(s), a, true);
    v.setUint32(this.slotAddr(s) + 4, b, true);
  }

  protected readSlot(s: number, out: Uint8Array): void {
    const a = this.slotAddr(s);
    out.set(this.space.u8.subarray(a, a + this.valueSize));
  }

  /** The program id a value refers to: -1 none, else resolved (0 = invalid). */
  protected progOf(vb: Uint8Array, vo: number): number {
    if (this.valueSize < 8) return -1;
    return new DataView(vb.buffer, vb.byteOffset + vo + 4, 4).getInt32(0, true);
  }

  /** Whether program id is an XDP program with the expected attach type. */
  protected progOk(id: number, attach: string): boolean {
    const p = this.links.program?.(id);
    return p !== undefined && p.type === "BPF_PROG_TYPE_XDP" && p.expectedAttachType === attach;
  }

  protected deviceOk(ifindex: number): boolean {
    return this.links.device !== undefined ? this.links.device(ifindex) : ifindex > 0;
  }
}

export class DevMap extends SlotMap {
  private readonly present: Uint8Array;

  constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions = {}) {
    super(spec, env, opts, spec.maxEntries);
    this.present = new Uint8Array(spec.maxEntries);
    this.writeHeader(this.base, 8);
  }

  /** __dev_map_lookup_elem(): the entry at index, for bpf_redirect_map(). */
  lookupDevice(index: number): DevmapEntry | undefined {
    if (index < 0 || index >= this.maxEntries || !this.present[index]) return undefined;
    const v = this.space.view;
    return { key: index, ifindex: v.getUint32(this.slotAddr(index), true), progId: v.getUint32(this.slotAddr(index) + 4, true) };
  }

  /** Every entry, in index order (for BPF_F_BROADCAST). */
  devices(): DevmapEntry[] {
    const out: DevmapEntry[] = [];
    for (let i = 0; i < this.maxEntries; i++) if (this.present[i]) out.push(this.lookupDevice(i)!);
    return out;
  }

  override lookupElem(keyAddr: number): number {
    const i = readU32(this.space.u8, keyAddr);
    return i < this.maxEntries && this.present[i] ? this.slotAddr(i) : 0;
  }

  protected sysLookup(kb: Uint8Array, ko: number, out: Uint8Array): number {
    const i = readU32(kb, ko);
    if (i >= this.maxEntries || !this.present[i]) return -ENOENT;
    this.readSlot(i, out);
    return 0;
  }

  protected sysUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number): number {
    const i = readU32(kb, ko);
    if (flags > BPF_EXIST) return -EINVAL;
    if (i >= this.maxEntries) return -E2BIG;
    if (flags === BPF_NOEXIST) return -EEXIST;
    const ifindex = readU32(vb, vo);
    const prog = this.progOf(vb, vo);
    if (ifindex === 0) {
      if (prog > 0) return -EINVAL;
      this.present[i] = 0;
      this.writeSlot(i, 0, 0);
      return 0;
    }
    if (!this.deviceOk(ifindex)) return -EINVAL;
    if (prog > 0 && !this.progOk(prog, "BPF_XDP_DEVMAP")) return -EINVAL;
    this.writeSlot(i, ifindex, prog > 0 ? prog : 0);
    this.present[i] = 1;
    return 0;
  }

  protected sysDelete(kb: Uint8Array, ko: number): number {
    const i = readU32(kb, ko);
    if (i >= this.maxEntries) return -EINVAL;
    this.present[i] = 0;
    this.writeSlot(i, 0, 0);
    return 0;
  }

  protected sysNextKey(kb: Uint8Array | undefined, ko: number, out: Uint8Array): number {
    const next = nextArrayIndex(kb === undefined ? undefined : readU32(kb, ko), this.maxEntries);
    if (next < 0) return next;
    writeU32(out, 0, next);
    return 0;
  }
}

export class DevMapHash extends SlotMap {
  readonly nBuckets: number;
  private readonly heads: Int32Array;
  private readonly next: Int32Array;
  private readonly slotKey: Uint32Array;
  private readonly freeList: Int32Array;
  private freeTop = 0;
  private items = 0;

  constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions = {}) {
    super(spec, env, opts, spec.maxEntries + 1);
    this.nBuckets = roundUpPow2(spec.maxEntries);
    this.heads = new Int32Array(this.nBuckets).fill(-1);
    const n = spec.maxEntries + 1;
    this.next = new Int32Array(n).fill(-1);
    this.slotKey = new Uint32Array(n);
    this.freeList = new Int32Array(n);
    for (let s = n - 1; s >= 0; s--) this.freeList[this.freeTop++] = s;
    this.writeHeader();
  }

  private find(key: number): number {
    for (let s = this.heads[key & (this.nBuckets - 1)]!; s >= 0; s = this.next[s]!) if (this.slotKey[s] === key) return s;
    return -1;
  }

  private unlink(s: number): void {
    const b = this.slotKey[s]! & (this.nBuckets - 1);
    if (this.heads[b] === s) this.heads[b] = this.next[s]!;
    else {
      let p = this.heads[b]!;
      while (this.next[p] !== s) p = this.next[p]!;
      this.next[p] = this.next[s]!;
    }
    this.next[s] = -1;
  }

  lookupDevice(key: number): DevmapEntry | undefined {
    const s = this.find(key >>> 0);
    if (s < 0) return undefined;
    const v = this.space.view;
    return { key: key >>> 0, ifindex: v.getUint32(this.slotAddr(s), true), progId: v.getUint32(this.slotAddr(s) + 4, true) };
  }

  /** Every entry, in bucket order. */
  devices(): DevmapEntry[] {
    const out: DevmapEntry[] = [];
    for (let b = 0; b < this.nBuckets; b++) for (let s = this.heads[b]!; s >= 0; s = this.next[s]!) out.push(this.lookupDevice(this.slotKey[s]!)!);
    return out;
  }

  override lookupElem(keyAddr: number): number {
    const s = this.find(readU32(this.space.u8, keyAddr));
    return s < 0 ? 0 : this.slotAddr(s);
  }

  protected sysLookup(kb: Uint8Array, ko: number, out: Uint8Array): number {
    const s = this.find(readU32(kb, ko));
    if (s < 0) return -ENOENT;
    this.readSlot(s, out);
    return 0;
  }

  protected sysUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number): number {
    if (flags > BPF_EXIST) return -EINVAL;
    const key = readU32(kb, ko);
    const old = this.find(key);
    if (old >= 0 && (flags & BPF_NOEXIST) !== 0) return -EEXIST;
    const ifindex = readU32(vb, vo);
    const prog = this.progOf(vb, vo);
    if (ifindex === 0 || !this.deviceOk(ifindex)) return -EINVAL;
    if (prog > 0 && !this.progOk(prog, "BPF_XDP_DEVMAP")) return -EINVAL;
    if (old < 0 && this.items >= this.maxEntries) return -E2BIG;
    const s = this.freeList[--this.freeTop]!;
    this.slotKey[s] = key;
    this.writeSlot(s, ifindex, prog > 0 ? prog : 0);
    if (old >= 0) {
      this.unlink(old);
      this.freeList[this.freeTop++] = old;
    } else {
      this.items++;
    }
    const b = key & (this.nBuckets - 1);
    this.next[s] = this.heads[b]!;
    this.heads[b] = s;
    return 0;
  }

  protected sysDelete(kb: Uint8Array, ko: number): number {
    const s = this.find(readU32(kb, ko));
    if (s < 0) return -ENOENT;
    this.unlink(s);
    this.freeList[this.freeTop++] = s;
    this.items--;
    return 0;
  }

  protected sysNextKey(kb: Uint8Array | undefined, ko: number, out: Uint8Array): number {
    let b = 0;
    if (kb !== undefined) {
      const key = readU32(kb, ko);
      const s = this.find(key);
      if (s >= 0) {
        const nx = this.next[s]!;
        if (nx >= 0) {
          writeU32(out, 0, this.slotKey[nx]!);
          return 0;
        }
        b = (key & (this.nBuckets - 1)) + 1;
      }
    }
    for (; b < this.nBuckets; b++) {
      const s = this.heads[b]!;
      if (s >= 0) {
        writeU32(out, 0, this.slotKey[s]!);
        return 0;
      }
    }
    return -ENOENT;
  }
}

export class CpuMap extends SlotMap {
  private readonly present: Uint8Array;

  constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions = {}) {
    super(spec, env, opts, spec.maxEntries);
    this.present = new Uint8Array(spec.maxEntries);
    this.writeHeader(this.base, 8);
  }

  /** __cpu_map_lookup_elem(): the entry for a CPU, for bpf_redirect_map(). */
  lookupCpu(key: number): CpumapEntry | undefined {
    if (key < 0 || key >= this.maxEntries || !this.present[key]) return undefined;
    const v = this.space.view;
    return { cpu: key, qsize: v.getUint32(this.slotAddr(key), true), progId: v.getUint32(this.slotAddr(key) + 4, true) };
  }

  override lookupElem(keyAddr: number): number {
    const i = readU32(this.space.u8, keyAddr);
    return i < this.maxEntries && this.present[i] ? this.slotAddr(i) : 0;
  }

  protected sysLookup(kb: Uint8Array, ko: number, out: Uint8Array): number {
    const i = readU32(kb, ko);
    if (i >= this.maxEntries || !this.present[i]) return -ENOENT;
    this.readSlot(i, out);
    return 0;
  }

  protected sysUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number): number {
    const cpu = readU32(kb, ko);
    const qsize = readU32(vb, vo);
    const prog = this.valueSize >= 8 ? this.progOf(vb, vo) : 0;
    if (flags > BPF_EXIST) return -EINVAL;
    if (cpu >= this.maxEntries) return -E2BIG;
    if (flags === BPF_NOEXIST) return -EEXIST;
    if (qsize > 16384) return -EOVERFLOW;
    if (cpu >= this.env.numCpus) return -ENODEV;
    if (qsize === 0) {
      this.present[cpu] = 0;
      this.writeSlot(cpu, 0, 0);
      return 0;
    }
    if (prog > 0 && !this.progOk(prog, "BPF_XDP_CPUMAP")) return -ENOMEM;
    this.writeSlot(cpu, qsize, prog > 0 ? prog : 0);
    this.present[cpu] = 1;
    return 0;
  }

  protected sysDelete(kb: Uint8Array, ko: number): number {
    const i = readU32(kb, ko);
    if (i >= this.maxEntries) return -EINVAL;
    this.present[i] = 0;
    this.writeSlot(i, 0, 0);
    return 0;
  }

  protected sysNextKey(kb: Uint8Array | undefined, ko: number, out: Uint8Array): number {
    const next = nextArrayIndex(kb === undefined ? undefined : readU32(kb, ko), this.maxEntries);
    if (next < 0) return next;
    writeU32(out, 0, next);
    return 0;
  }
}
