/**
 * ByteQueue: the input side of the push parsers. Chunks are kept as they were pushed
 * (never copied) and a record that lies inside one chunk is handed out as a view of
 * it. Only a record that straddles two chunks is copied, into a "stitch" buffer of
 * exactly its size, after which reading continues in the original next chunk. So the
 * copy cost is one record per chunk boundary, and memory stays bounded by the chunks
 * not yet consumed plus one record.
 *
 * `skip(n)` may run past the data pushed so far (an unknown pcapng block larger than
 * the chunks): the debt is paid from later chunks without buffering them.
 */

const EMPTY = new Uint8Array(0);

export class ByteQueue {
  /** The current contiguous buffer; bytes [pos, buf.length) are unread. */
  buf: Uint8Array = EMPTY;
  pos = 0;
  /** Absolute stream offset of buf[0]. */
  base = 0;
  /** True once end() was called: no more chunks will come. */
  ended = false;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;

  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error("push() after end()");
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.normalize();
  }

  end(): void {
    this.ended = true;
  }

  /** Absolute offset of the read position. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Unread bytes (negative while a skip is still owed). */
  get available(): number {
    return this.buf.length - this.pos + this.queued;
  }

  /** Moves past an exhausted buffer to the next queued chunk (also pays skip debts). */
  private normalize(): void {
    while (this.pos >= this.buf.length && this.queue.length > 0) {
      this.pos -= this.buf.length;
      this.base += this.buf.length;
      const next = this.queue.shift()!;
      this.queued -= next.length;
      this.buf = next;
    }
  }

  /**
   * Makes n bytes contiguous at buf[pos..pos+n). Returns false when fewer than n bytes
   * are available yet. After a true return, `buf` and `pos` may have changed.
   */
  ensure(n: number): boolean {
    if (this.buf.length - this.pos >= n) return true;
    this.normalize();
    if (this.buf.length - this.pos >= n) return true;
    if (this.available < n) return false;
    const out = new Uint8Array(n);
    let have = this.buf.length - this.pos;
    out.set(this.buf.subarray(this.pos), 0);
    const start = this.base + this.pos;
    while (have < n) {
      const c = this.queue[0]!;
      const take = Math.min(c.length, n - have);
      out.set(take === c.length ? c : c.subarray(0, take), have);
      have += take;
      this.queued -= take;
      if (take === c.length) this.queue.shift();
      else this.queue[0] = c.subarray(take);
    }
    this.buf = out;
    this.pos = 0;
    this.base = start;
    return true;
  }

  /** Consumes n bytes, possibly more than are buffered. */
  skip(n: number): void {
    this.pos += n;
    this.normalize();
  }
}
