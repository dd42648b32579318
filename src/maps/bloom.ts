/**
 * BPF_MAP_TYPE_BLOOM_FILTER, after kernel/bpf/bloom_filter.c.
 *
 * A bit array of roundup_pow_of_two(max_entries * nr_hash_funcs * 7 / 5) bits (at
 * least 64), nr_hash_funcs = map_extra & 0xf (5 when 0). Value v sets bit
 * jhash(v, seed + i) & mask for i < nr_hash_funcs; a peek tests them: -ENOENT means
 * "certainly absent", 0 "maybe present" (false positives, never false negatives).
 * With BPF_F_ZERO_SEED (or tsbpf's default seed 0) the bits are the kernel's.
 *
 * Programs use push (flags must be BPF_ANY) and peek; user space uses update (push) and
 * lookup (peek, with the value to test passed as the value). pop, delete and
 * get_next_key give -EOPNOTSUPP; lookup/update by key from a program -EINVAL.
 */
import { BpfMap, type CreateMapOptions } from "./base.js";
import { htabHash } from "./jhash.js";
import { BPF_ANY, BPF_F_ZERO_SEED, EINVAL, ENOENT, EOPNOTSUPP, roundUpPow2, type MapEnv, type MapSpec } from "./types.js";

export class BloomFilterMap extends BpfMap {
  readonly nrHashFuncs: number;
  /** Number of bits minus one. */
  readonly bitsetMask: number;
  private readonly seed: number;
  private readonly bits: number;

  constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions = {}) {
    super(spec, env, opts);
    this.nrHashFuncs = (spec.mapExtra ?? 0) & 0xf || 5;
    const nrBits0 = spec.maxEntries * this.nrHashFuncs;
    const nrBits = Math.floor(nrBits0 / 5) * 7;
    let bytes: number;
    if (nrBits0 > 0xffffffff || nrBits > 0xffffffff || nrBits > 2 ** 31) {
      this.bitsetMask = 0xffffffff;
      bytes = 2 ** 29;
    } else {
      const n = nrBits <= 64 ? 64 : roundUpPow2(nrBits);
      this.bitsetMask = n - 1;
      bytes = n / 8;
    }
    this.seed = (spec.flags & BPF_F_ZERO_SEED) !== 0 ? 0 : (opts.hashSeed ?? 0) | 0;
    this.bits = this.allocate(Math.ceil(bytes / 8) * 8, "bitset").start;
    this.writeHeader();
  }

  private bitOf(vb: Uint8Array, vo: number, i: number): number {
    return (htabHash(vb, vo, this.valueSize, (this.seed + i) | 0) & this.bitsetMask) >>> 0;
  }

  private doPush(vb: Uint8Array, vo: number, flags: number): number {
    if (flags !== BPF_ANY) return -EINVAL;
    const u8 = this.space.u8;
    for (let i = 0; i < this.nrHashFuncs; i++) {
      const h = this.bitOf(vb, vo, i);
      u8[this.bits + (h >>> 3)]! |= 1 << (h & 7);
    }
    return 0;
  }

  private doPeek(vb: Uint8Array, vo: number): number {
    const u8 = this.space.u8;
    for (let i = 0; i < this.nrHashFuncs; i++) {
      const h = this.bitOf(vb, vo, i);
      if ((u8[this.bits + (h >>> 3)]! & (1 << (h & 7))) === 0) return -ENOENT;
    }
    return 0;
  }

  override pushElem(valueAddr: number, flags: number): number {
    return this.doPush(this.space.u8, valueAddr, flags);
  }

  override peekElem(valueAddr: number): number {
    return this.doPeek(this.space.u8, valueAddr);
  }

  override popElem(_valueAddr: number): number {
    return -EOPNOTSUPP;
  }

  override deleteElem(_keyAddr: number): number {
    return -EOPNOTSUPP;
  }

  /** User-space lookup of a bloom filter tests the value it is given: `out` holds it. */
  protected sysLookup(_kb: Uint8Array, _ko: number, out: Uint8Array): number {
    return this.doPeek(out, 0);
  }

  protected sysUpdate(_kb: Uint8Array, _ko: number, vb: Uint8Array, vo: number, flags: number): number {
    return this.doPush(vb, vo, flags);
  }

  protected sysDelete(): number {
    return -EOPNOTSUPP;
  }

  protected sysNextKey(): number {
    return -EOPNOTSUPP;
  }

  protected override sysLookupAndDelete(): number {
    return -EOPNOTSUPP;
  }

  /** Adds a value (BPF_MAP_UPDATE_ELEM). */
  add(value: Uint8Array): void {
    this.update(EMPTY, value, BPF_ANY);
  }

  /** Whether value may be in the set (BPF_MAP_LOOKUP_ELEM with the value): false means certainly not. */
  has(value: Uint8Array): boolean {
    return this.lookupInto(EMPTY, value.slice(0, this.valueSize));
  }
}

const EMPTY = new Uint8Array(0);
