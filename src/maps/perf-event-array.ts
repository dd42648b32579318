/**
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY and the perf buffers behind it.
 *
 * The kernel map holds perf event fds; programs write with bpf_perf_event_output(), the
 * event being a PERF_COUNT_SW_BPF_OUTPUT event opened on one CPU whose ring user space
 * mmaps (libbpf's perf_buffer opens one per CPU and stores it at index cpu). Here a
 * PerfBuffer is that event and its ring: a metadata page (perf_event_mmap_page's
 * data_head at +1024, data_tail at +1032, data_offset, data_size) and 2^n data pages in
 * the address space, written in the kernel's record format:
 *
 *   PERF_RECORD_SAMPLE (9): perf_event_header {u32 type; u16 misc; u16 size},
 *                           u32 raw size, raw data zero-padded so the record is 8-aligned
 *   PERF_RECORD_LOST (2):   header, u64 id, u64 lost  (emitted once space is back)
 *
 * Output errors as __bpf_perf_event_output(): flags outside BPF_F_INDEX_MASK -EINVAL,
 * index past max_entries -E2BIG, empty slot -ENOENT, event of another CPU -EOPNOTSUPP,
 * ring full -ENOSPC (counted as lost). bpf(2) lookups give -ENOTSUPP (the kernel has no
 * way to read an event fd back); update takes a PerfBuffer id (BPF_ANY only); delete
 * empties a slot.
 */
import { nextArrayIndex, readU32 } from "./array.js";
import { BpfMap, type CreateMapOptions } from "./base.js";
import type { RecordsOptions } from "./ringbuf.js";
import {
  BPF_ANY,
  BPF_F_CURRENT_CPU,
  E2BIG,
  EBADF,
  EINVAL,
  ENOENT,
  ENOSPC,
  ENOTSUPP,
  EOPNOTSUPP,
  MapError,
  PAGE_SIZE,
  isPowerOfTwo,
  type MapEnv,
  type MapSpec,
} from "./types.js";

export const PERF_RECORD_LOST = 2;
export const PERF_RECORD_SAMPLE = 9;
/** PERF_RECORD_MISC_KERNEL. */
const MISC_KERNEL = 1;

/** A record read from a perf buffer. */
export type PerfRecord =
  | { readonly type: "sample"; readonly cpu: number; readonly data: Uint8Array }
  | { readonly type: "lost"; readonly cpu: number; readonly lost: number };

const buffers = new Map<number, PerfBuffer>();
let lastBufferId = 0;

/** A perf event (PERF_COUNT_SW_BPF_OUTPUT on one CPU) and its mmap'ed ring. */
export class PerfBuffer {
  /** Stands for the event's fd in map values. */
  readonly id: number;
  readonly cpu: number;
  readonly dataSize: number;
  private readonly meta: number;
  private readonly data: number;
  private head = 0;
  private tail = 0;
  private lostPending = 0;
  /** Samples dropped because the ring was full. */
  lostTotal = 0;
  wakeups = 0;
  private waiters: Array<() => void> = [];
  private closedFlag = false;

  constructor(
    private readonly env: MapEnv,
    opts: { cpu: number; pages?: number },
  ) {
    const pages = opts.pages ?? 8;
    if (!isPowerOfTwo(pages)) throw new RangeError(`perf buffer page count ${pages} is not a power of 2`);
    this.id = ++lastBufferId;
    this.cpu = opts.cpu;
    this.dataSize = pages * PAGE_SIZE;
    const r = env.space.map(PAGE_SIZE + this.dataSize, { name: `perf buffer cpu${opts.cpu}`, kind: "mem", align: PAGE_SIZE });
    this.meta = r.start;
    this.data = r.start + PAGE_SIZE;
    const v = env.space.view;
    v.setBigUint64(this.meta + 1040, BigInt(PAGE_SIZE), true);
    v.setBigUint64(this.meta + 1048, BigInt(this.dataSize), true);
    buffers.set(this.id, this);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  private sync(): void {
    const v = this.env.space.view;
    v.setBigUint64(this.meta + 1024, BigInt(this.head), true);
    v.setBigUint64(this.meta + 1032, BigInt(this.tail), true);
  }

  private put(bytes: Uint8Array): void {
    const u8 = this.env.space.u8;
    let off = this.head % this.dataSize;
    let i = 0;
    while (i < bytes.length) {
      const n = Math.min(bytes.length - i, this.dataSize - off);
      u8.set(bytes.subarray(i, i + n), this.data + off);
      i += n;
      off = (off + n) % this.dataSize;
    }
    this.head += bytes.length;
  }

  private get(pos: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    const u8 = this.env.space.u8;
    let off = pos % this.dataSize;
    let i = 0;
    while (i < n) {
      const k = Math.min(n - i, this.dataSize - off);
      out.set(u8.subarray(this.data + off, this.data + off + k), i);
      i += k;
      off = (off + k) % this.dataSize;
    }
    return out;
  }

  /** perf_event_output() of one PERF_RECORD_SAMPLE with raw data parts; 0 or -ENOSPC. */
  writeSample(parts: readonly Uint8Array[]): number {
    const sum = parts.reduce((n, p) => n + p.length, 0);
    const rawSize = Math.ceil((sum + 4) / 8) * 8 - 4;
    const size = 8 + 4 + rawSize;
    const lostSize = this.lostPending > 0 ? 24 : 0;
    if (size > 0xffff || this.head - this.tail + size + lostSize > this.dataSize) {
      this.lostPending++;
      this.lostTotal++;
      return -ENOSPC;
    }
    if (lostSize > 0) {
      const rec = new Uint8Array(24);
      const dv = new DataView(rec.buffer);
      dv.setUint32(0, PERF_RECORD_LOST, true);
      dv.setUint16(6, 24, true);
      dv.setBigUint64(8, BigInt(this.id), true);
      dv.setBigUint64(16, BigInt(this.lostPending), true);
      this.put(rec);
      this.lostPending = 0;
    }
    const rec = new Uint8Array(size);
    const dv = new DataView(rec.buffer);
    dv.setUint32(0, PERF_RECORD_SAMPLE, true);
    dv.setUint16(4, MISC_KERNEL, true);
    dv.setUint16(6, size, true);
    dv.setUint32(8, rawSize, true);
    let o = 12;
    for (const p of parts) {
      rec.set(p, o);
      o += p.length;
    }
    this.put(rec);
    this.sync();
    this.wakeups++;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
    return 0;
  }

  /** The next record (consuming it), or undefined. */
  read(): PerfRecord | undefined {
    if (this.tail >= this.head) return undefined;
    const hdr = new DataView(this.get(this.tail, 8).buffer);
    const type = hdr.getUint32(0, true);
    const size = hdr.getUint16(6, true);
    const body = this.get(this.tail + 8, size - 8);
    this.tail += size;
    this.sync();
    const bv = new DataView(body.buffer);
    if (type === PERF_RECORD_LOST) return { type: "lost", cpu: this.cpu, lost: Number(bv.getBigUint64(8, true)) };
    const raw = bv.getUint32(0, true);
    return { type: "sample", cpu: this.cpu, data: body.slice(4, 4 + raw) };
  }

  waitForData(opts: RecordsOptions = {}): Promise<void> {
    return new Promise((resolve) => {
      if (this.closedFlag || this.tail < this.head || opts.signal?.aborted === true) return resolve();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        opts.signal?.removeEventListener("abort", done);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      this.waiters.push(done);
      opts.signal?.addEventListener("abort", done, { once: true });
      if (opts.timeoutMs !== undefined) timer = setTimeout(done, opts.timeoutMs);
    });
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    buffers.delete(this.id);
    const r = this.env.space.find(this.meta, 1);
    if (r !== undefined) this.env.space.unmap(r);
    for (const f of this.waiters) f();
    this.waiters = [];
  }
}

export class PerfEventArrayMap extends BpfMap {
  private readonly slots: Array<PerfBuffer | undefined>;

  constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions = {}) {
    super(spec, env, opts);
    this.slots = new Array<PerfBuffer | undefined>(this.maxEntries).fill(undefined);
    this.writeHeader();
  }

  /** The buffer at index, if any. */
  bufferAt(index: number): PerfBuffer | undefined {
    return this.slots[index];
  }

  /**
   * bpf_perf_event_output(): writes size bytes at dataAddr (then `ctx` bytes, for the
   * skb/xdp variants' BPF_F_CTXLEN_MASK part) to the buffer flags & BPF_F_INDEX_MASK
   * selects (BPF_F_CURRENT_CPU: the index of `cpu`, default the current CPU).
   */
  output(flags: number | bigint, dataAddr: number, size: number, cpu?: number, ctx?: Uint8Array): number {
    const f = BigInt(flags);
    if (ctx === undefined && f >> 32n !== 0n) return -EINVAL;
    const c = cpu ?? this.env.currentCpu();
    let index = Number(f & 0xffffffffn);
    if (index === BPF_F_CURRENT_CPU) index = c;
    if (index >= this.maxEntries) return -E2BIG;
    const buf = this.slots[index];
    if (buf === undefined || buf.closed) return -ENOENT;
    if (buf.cpu !== c) return -EOPNOTSUPP;
    const data = this.space.u8.slice(dataAddr, dataAddr + size);
    return buf.writeSample(ctx === undefined ? [data] : [data, ctx]);
  }

  /** Opens a perf buffer on cpu and stores it at index (default: cpu), as perf_buffer__new does per CPU. */
  openBuffer(opts: { cpu: number; index?: number; pages?: number }): PerfBuffer {
    const index = opts.index ?? opts.cpu;
    if (index >= this.maxEntries) throw new MapError("update", this.spec.name, E2BIG, `index ${index} >= max_entries ${this.maxEntries}`);
    const b = new PerfBuffer(this.env, { cpu: opts.cpu, pages: opts.pages ?? 8 });
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, index, true);
    const val = new Uint8Array(4);
    new DataView(val.buffer).setUint32(0, b.id, true);
    this.update(key, val, BPF_ANY);
    return b;
  }

  /** A reader over one buffer per CPU (indexes 0..numCpus-1), like libbpf's perf_buffer. */
  reader(opts: { pages?: number } = {}): PerfReader {
    const n = Math.min(this.env.numCpus, this.maxEntries);
    const bufs: PerfBuffer[] = [];
    for (let cpu = 0; cpu < n; cpu++) bufs.push(this.openBuffer({ cpu, pages: opts.pages ?? 8 }));
    return new PerfReader(bufs);
  }

  protected sysLookup(): number {
    return -ENOTSUPP;
  }

  protected sysUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number): number {
    if (flags !== BPF_ANY) return -EINVAL;
    const index = readU32(kb, ko);
    if (index >= this.maxEntries) return -E2BIG;
    const buf = buffers.get(readU32(vb, vo));
    if (buf === undefined) return -EBADF;
    this.slots[index] = buf;
    return 0;
  }

  protected sysDelete(kb: Uint8Array, ko: number): number {
    const index = readU32(kb, ko);
    if (index >= this.maxEntries) return -E2BIG;
    if (this.slots[index] === undefined) return -ENOENT;
    this.slots[index] = undefined;
    return 0;
  }

  protected sysNextKey(kb: Uint8Array | undefined, ko: number, out: Uint8Array): number {
    const next = nextArrayIndex(kb === undefined ? undefined : readU32(kb, ko), this.maxEntries);
    if (next < 0) return next;
    new DataView(out.buffer, out.byteOffset, 4).setUint32(0, next, true);
    return 0;
  }
}

/** Reads several per-CPU perf buffers; records() yields as they arrive. */
export class PerfReader {
  constructor(readonly buffers: readonly PerfBuffer[]) {}

  /** The next record of any buffer (lowest CPU first), or undefined. */
  read(): PerfRecord | undefined {
    for (const b of this.buffers) {
      const r = b.read();
      if (r !== undefined) return r;
    }
    return undefined;
  }

  /** Consumes every available record; returns how many. */
  poll(cb: (rec: PerfRecord) => void): number {
    let n = 0;
    for (let r = this.read(); r !== undefined; r = this.read()) {
      cb(r);
      n++;
    }
    return n;
  }

  async *records(opts: RecordsOptions = {}): AsyncGenerator<PerfRecord, void, undefined> {
    for (;;) {
      if (opts.signal?.aborted === true) return;
      const r = this.read();
      if (r !== undefined) {
        yield r;
        continue;
      }
      if (this.buffers.every((b) => b.closed)) return;
      const ac = new AbortController();
      const onAbort = (): void => ac.abort();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const waitOpts: RecordsOptions = opts.timeoutMs === undefined ? { signal: ac.signal } : { signal: ac.signal, timeoutMs: opts.timeoutMs };
      await Promise.race(this.buffers.map((b) => b.waitForData(waitOpts)));
      ac.abort();
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }

  close(): void {
    for (const b of this.buffers) b.close();
  }
}
