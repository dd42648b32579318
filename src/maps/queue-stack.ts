/**
 * BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO), after
 * kernel/bpf/queue_stack_maps.c: a ring of max_entries + 1 value slots with head and
 * tail indexes. Programs use bpf_map_push_elem / pop / peek; user space uses update
 * (push), lookup (peek) and lookup_and_delete (pop), keyless.
 *
 * push: BPF_EXIST overwrites the oldest element when full, otherwise a full map gives
 * -E2BIG; BPF_NOEXIST or unknown flags give -EINVAL. pop/peek on an empty map give
 * -ENOENT and zero the output. lookup/update/delete by key and get_next_key give -EINVAL.
 */
import { BpfMap, type CreateMapOptions } from "./base.js";
import { BPF_EXIST, BPF_NOEXIST, E2BIG, EINVAL, ENOENT, type MapEnv, type MapSpec } from "./types.js";

export class QueueStackMap extends BpfMap {
  private readonly lifo: boolean;
  private readonly slots: number;
  private readonly base: number;
  private head = 0;
  private tail = 0;

  constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions = {}) {
    super(spec, env, opts);
    this.lifo = spec.type === "BPF_MAP_TYPE_STACK";
    this.slots = spec.maxEntries + 1;
    this.base = this.allocate(this.slots * spec.valueSize, "elements").start;
    this.writeHeader();
  }

  /** Number of elements held. */
  get size(): number {
    return (this.head - this.tail + this.slots) % this.slots;
  }

  private doPush(vb: Uint8Array, vo: number, flags: number): number {
    if ((flags & BPF_NOEXIST) !== 0 || flags > BPF_EXIST) return -EINVAL;
    let head = this.head + 1;
    if (head >= this.slots) head = 0;
    if (head === this.tail) {
      if ((flags & BPF_EXIST) === 0) return -E2BIG;
      if (++this.tail >= this.slots) this.tail = 0;
    }
    this.space.u8.set(vb.subarray(vo, vo + this.valueSize), this.base + this.head * this.valueSize);
    this.head = head;
    return 0;
  }

  /** __queue_map_get() / __stack_map_get(). */
  private get(out: Uint8Array, oo: number, del: boolean): number {
    if (this.head === this.tail) {
      out.fill(0, oo, oo + this.valueSize);
      return -ENOENT;
    }
    let index: number;
    if (this.lifo) {
      index = this.head - 1;
      if (index < 0) index = this.slots - 1;
    } else {
      index = this.tail;
    }
    const a = this.base + index * this.valueSize;
    if (out === this.space.u8) out.copyWithin(oo, a, a + this.valueSize);
    else out.set(this.space.u8.subarray(a, a + this.valueSize), oo);
    if (del) {
      if (this.lifo) this.head = index;
      else if (++this.tail >= this.slots) this.tail = 0;
    }
    return 0;
  }

  override pushElem(valueAddr: number, flags: number): number {
    return this.doPush(this.space.u8, valueAddr, flags);
  }

  override popElem(valueAddr: number): number {
    return this.get(this.space.u8, valueAddr, true);
  }

  override peekElem(valueAddr: number): number {
    return this.get(this.space.u8, valueAddr, false);
  }

  protected sysLookup(_kb: Uint8Array, _ko: number, out: Uint8Array): number {
    return this.get(out, 0, false);
  }

  protected sysUpdate(_kb: Uint8Array, _ko: number, vb: Uint8Array, vo: number, flags: number): number {
    return this.doPush(vb, vo, flags);
  }

  protected sysDelete(): number {
    return -EINVAL;
  }

  protected sysNextKey(): number {
    return -EINVAL;
  }

  protected override sysLookupAndDelete(_kb: Uint8Array, _ko: number, out: Uint8Array, flags: number): number {
    if (flags !== 0) return -EINVAL;
    return this.get(out, 0, true);
  }

  /** User-space push (BPF_MAP_UPDATE_ELEM without a key). */
  push(value: Uint8Array, flags = 0): void {
    this.update(EMPTY, value, flags);
  }

  /** User-space pop (BPF_MAP_LOOKUP_AND_DELETE_ELEM without a key); undefined when empty. */
  pop(): Uint8Array | undefined {
    return this.lookupAndDelete(EMPTY);
  }

  /** User-space peek (BPF_MAP_LOOKUP_ELEM without a key); undefined when empty. */
  peek(): Uint8Array | undefined {
    return this.lookup(EMPTY);
  }
}

const EMPTY = new Uint8Array(0);
