/**
 * BPF_MAP_TYPE_RINGBUF, after kernel/bpf/ringbuf.c, with a libbpf-style consumer.
 *
 * Data area: max_entries bytes (a power of two, a multiple of the page size), addressed
 * by free-running 64-bit positions masked by max_entries - 1. A record is an 8-byte
 * header (struct bpf_ringbuf_hdr: u32 len with BPF_RINGBUF_BUSY_BIT while reserved and
 * BPF_RINGBUF_DISCARD_BIT once discarded, u32 pg_off) and the sample, the whole
 * rounded up to 8 bytes. pg_off counts pages from the kernel's struct bpf_ringbuf, whose
 * data starts at page 3 (after the metadata, consumer and producer pages).
 *
 * The kernel maps the data pages twice in a row so that a record crossing the end is
 * contiguous for the program. The address space is linear, so tsbpf maps 2 x max_entries
 * bytes: a record crossing the end is written by the program into the second copy, and
 * commit copies that part to the start of the ring, where consumers read it (the
 * reservation first copies the old bytes up, so unwritten bytes read as the kernel's).
 *
 * reserve fails (NULL) for flags != 0, a record longer than the ring, or when the new
 * producer position would be more than max_entries - 1 ahead of the consumer or of the
 * oldest uncommitted record (pending_pos). Commit wakes the consumer when
 * BPF_RB_FORCE_WAKEUP is given, or when the record sits at the consumer position (the
 * consumer caught up) and BPF_RB_NO_WAKEUP is not given.
 */
import { BpfMap, type CreateMapOptions } from "./base.js";
import {
  BPF_RB_AVAIL_DATA,
  BPF_RB_CONS_POS,
  BPF_RB_FORCE_WAKEUP,
  BPF_RB_NO_WAKEUP,
  BPF_RB_PROD_POS,
  BPF_RB_RING_SIZE,
  BPF_RINGBUF_BUSY_BIT,
  BPF_RINGBUF_DISCARD_BIT,
  BPF_RINGBUF_HDR_SZ,
  EAGAIN,
  EINVAL,
  ENOTSUPP,
  PAGE_SIZE,
  roundUp8,
  type MapEnv,
  type MapSpec,
} from "./types.js";

/** RINGBUF_MAX_RECORD_SZ. */
const MAX_RECORD_SZ = Math.floor(0xffffffff / 4);
/** Pages before the data in struct bpf_ringbuf (RINGBUF_NR_META_PAGES). */
const META_PAGES = 3;

export interface RecordsOptions {
  /** Stops the iteration. */
  signal?: AbortSignal;
  /** Re-check for records this often even without a wakeup (ring_buffer__poll()'s timeout). */
  timeoutMs?: number;
}

export class RingBufMap extends BpfMap {
  /** Address of the data area (position 0). */
  readonly dataAddr: number;
  readonly dataSize: number;
  private readonly mask: number;
  /** consumer_pos (u64) at +0 and producer_pos (u64) at +8, as user space would mmap them. */
  private readonly posAddr: number;
  private consumerPos = 0;
  private producerPos = 0;
  private pendingPos = 0;
  /** Number of wakeups the ring has signalled. */
  wakeups = 0;
  private waiters: Array<() => void> = [];

  constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions = {}) {
    super(spec, env, opts);
    this.dataSize = spec.maxEntries;
    this.mask = this.dataSize - 1;
    this.posAddr = this.allocate(16, "positions", { writable: false }).start;
    this.dataAddr = this.allocate(2 * this.dataSize, "data", { align: PAGE_SIZE }).start;
    this.writeHeader();
  }

  private setPositions(): void {
    const v = this.space.view;
    v.setBigUint64(this.posAddr, BigInt(this.consumerPos), true);
    v.setBigUint64(this.posAddr + 8, BigInt(this.producerPos), true);
  }

  private hdrLen(pos: number): number {
    return this.space.view.getUint32(this.dataAddr + (pos & this.mask), true);
  }

  // ---- producer (helpers) ----

  /** bpf_ringbuf_reserve(): address of the sample, or 0. */
  reserve(size: number, flags: number | bigint = 0): number {
    if (flags !== 0 && flags !== 0n) return 0;
    if (size > MAX_RECORD_SZ) return 0;
    const len = roundUp8(size + BPF_RINGBUF_HDR_SZ);
    if (len > this.dataSize) return 0;
    const prod = this.producerPos;
    let pend = this.pendingPos;
    while (pend < prod) {
      const l = this.hdrLen(pend);
      if ((l & BPF_RINGBUF_BUSY_BIT) !== 0) break;
      pend += roundUp8(((l & ~BPF_RINGBUF_DISCARD_BIT) >>> 0) + BPF_RINGBUF_HDR_SZ);
    }
    this.pendingPos = pend;
    const newProd = prod + len;
    if (newProd - this.consumerPos > this.mask || newProd - pend > this.mask) return 0;
    const off = prod & this.mask;
    const hdr = this.dataAddr + off;
    const v = this.space.view;
    v.setUint32(hdr, (size | BPF_RINGBUF_BUSY_BIT) >>> 0, true);
    v.setUint32(hdr + 4, META_PAGES + (off >>> 12), true);
    const over = off + len - this.dataSize;
    if (over > 0) this.space.u8.copyWithin(this.dataAddr + this.dataSize, this.dataAddr, this.dataAddr + over);
    this.producerPos = newProd;
    this.setPositions();
    return hdr + BPF_RINGBUF_HDR_SZ;
  }

  /** bpf_ringbuf_submit(). */
  submit(sampleAddr: number, flags: number | bigint = 0): number {
    return this.commit(sampleAddr, Number(flags), false);
  }

  /** bpf_ringbuf_discard(). */
  discard(sampleAddr: number, flags: number | bigint = 0): number {
    return this.commit(sampleAddr, Number(flags), true);
  }

  /** Whether addr is the sample of a record reserved and not yet committed. */
  isReserved(sampleAddr: number): boolean {
    const hdr = sampleAddr - BPF_RINGBUF_HDR_SZ;
    if (hdr < this.dataAddr || hdr >= this.dataAddr + this.dataSize || (hdr & 7) !== 0) return false;
    return (this.space.view.getUint32(hdr, true) & BPF_RINGBUF_BUSY_BIT) !== 0;
  }

  /** Whether addr is a record sample of this ring still waiting for submit/discard. */
  ownsRecord(sampleAddr: number): boolean {
    return this.isReserved(sampleAddr);
  }

  private commit(sampleAddr: number, flags: number, discard: boolean): number {
    if (!this.isReserved(sampleAddr)) return -EINVAL;
    const hdr = sampleAddr - BPF_RINGBUF_HDR_SZ;
    const v = this.space.view;
    const len = v.getUint32(hdr, true);
    const size = (len & ~BPF_RINGBUF_BUSY_BIT) >>> 0;
    const recPos = hdr - this.dataAddr;
    const over = recPos + roundUp8(size + BPF_RINGBUF_HDR_SZ) - this.dataSize;
    if (over > 0) this.space.u8.copyWithin(this.dataAddr, this.dataAddr + this.dataSize, this.dataAddr + this.dataSize + over);
    v.setUint32(hdr, (discard ? size | BPF_RINGBUF_DISCARD_BIT : size) >>> 0, true);
    if ((flags & BPF_RB_FORCE_WAKEUP) !== 0) this.wakeup();
    else if ((this.consumerPos & this.mask) === recPos && (flags & BPF_RB_NO_WAKEUP) === 0) this.wakeup();
    return 0;
  }

  /** bpf_ringbuf_output(): copies size bytes at dataAddr into a new record. */
  output(dataAddr: number, size: number, flags: number | bigint = 0): number {
    const f = Number(flags);
    if ((f & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) !== 0) return -EINVAL;
    const rec = this.reserve(size, 0);
    if (rec === 0) return -EAGAIN;
    this.space.u8.copyWithin(rec, dataAddr, dataAddr + size);
    return this.commit(rec, f, false);
  }

  /** bpf_ringbuf_output() from bytes outside the address space (tests, user producers). */
  outputBytes(bytes: Uint8Array, flags = 0): number {
    if ((flags & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) !== 0) return -EINVAL;
    const rec = this.reserve(bytes.length, 0);
    if (rec === 0) return -EAGAIN;
    this.space.u8.set(bytes, rec);
    return this.commit(rec, flags, false);
  }

  /** bpf_ringbuf_query(). */
  query(flag: number | bigint): number {
    switch (Number(flag)) {
      case BPF_RB_AVAIL_DATA:
        return this.producerPos - this.consumerPos;
      case BPF_RB_RING_SIZE:
        return this.dataSize;
      case BPF_RB_CONS_POS:
        return this.consumerPos;
      case BPF_RB_PROD_POS:
        return this.producerPos;
      default:
        return 0;
    }
  }

  private wakeup(): void {
    this.wakeups++;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  // ---- consumer (ring_buffer__consume() in libbpf) ----

  /** Position of the next record to consume (consumer_pos). */
  get consumerPosition(): number {
    return this.consumerPos;
  }

  get producerPosition(): number {
    return this.producerPos;
  }

  /** Copies the sample at pos (size bytes) out of the ring, wrapping at the end. */
  private copySample(pos: number, size: number, out: Uint8Array): void {
    const start = (pos + BPF_RINGBUF_HDR_SZ) & this.mask;
    const first = Math.min(size, this.dataSize - start);
    const u8 = this.space.u8;
    out.set(u8.subarray(this.dataAddr + start, this.dataAddr + start + first));
    if (first < size) out.set(u8.subarray(this.dataAddr, this.dataAddr + size - first), first);
  }

  /**
   * Skips discarded records and returns [pos, size] of the next committed one, consuming
   * it; undefined when the ring is empty or its next record is still reserved.
   */
  private next(peek: boolean, fits: (size: number) => boolean = () => true): [number, number] | undefined {
    let cons = this.consumerPos;
    while (cons < this.producerPos) {
      const len = this.hdrLen(cons);
      if ((len & BPF_RINGBUF_BUSY_BIT) !== 0) break;
      const size = (len & ~BPF_RINGBUF_DISCARD_BIT) >>> 0;
      const pos = cons;
      if ((len & BPF_RINGBUF_DISCARD_BIT) === 0) {
        if (peek || !fits(size)) return [pos, size];
        cons += roundUp8(size + BPF_RINGBUF_HDR_SZ);
        this.consumerPos = cons;
        this.setPositions();
        return [pos, size];
      }
      cons += roundUp8(size + BPF_RINGBUF_HDR_SZ);
      this.consumerPos = cons;
      this.setPositions();
    }
    return undefined;
  }

  /** The next record's sample (a copy), or undefined. */
  read(): Uint8Array | undefined {
    const r = this.next(true);
    if (r === undefined) return undefined;
    const out = new Uint8Array(r[1]);
    this.copySample(r[0], r[1], out);
    this.next(false);
    return out;
  }

  /**
   * Copies the next record into buf and returns its length; -1 when there is none.
   * A record longer than buf is not consumed: the result is its length, larger than buf.
   */
  readInto(buf: Uint8Array): number {
    const r = this.next(false, (size) => size <= buf.length);
    if (r === undefined) return -1;
    if (r[1] <= buf.length) this.copySample(r[0], r[1], buf);
    return r[1];
  }

  /** Consumes every available record (ring_buffer__consume()); returns how many. */
  poll(cb: (sample: Uint8Array) => void): number {
    let n = 0;
    for (let s = this.read(); s !== undefined; s = this.read()) {
      cb(s);
      n++;
    }
    return n;
  }

  /** Resolves at the next wakeup (or abort / timeout). */
  waitForWakeup(opts: RecordsOptions = {}): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || opts.signal?.aborted === true) return resolve();
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

  /** Records as they are committed: `for await (const sample of ringbuf.records())`. */
  async *records(opts: RecordsOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      if (opts.signal?.aborted === true) return;
      const s = this.read();
      if (s !== undefined) {
        yield s;
        continue;
      }
      if (this.closed) return;
      await this.waitForWakeup(opts);
    }
  }

  protected override onFree(): void {
    this.wakeup();
  }

  // ---- bpf(2) on a ring buffer map ----

  protected sysLookup(): number {
    return -ENOTSUPP;
  }

  protected sysUpdate(): number {
    return -ENOTSUPP;
  }

  protected sysDelete(): number {
    return -ENOTSUPP;
  }

  protected sysNextKey(): number {
    return -ENOTSUPP;
  }
}
