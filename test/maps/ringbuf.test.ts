// RINGBUF: the kernel's record layout, positions, reservation rules, wraparound,
// wakeups and the consumers (read, readInto, poll, async iteration).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BPF_RB_AVAIL_DATA,
  BPF_RB_CONS_POS,
  BPF_RB_FORCE_WAKEUP,
  BPF_RB_NO_WAKEUP,
  BPF_RB_PROD_POS,
  BPF_RB_RING_SIZE,
  BPF_RINGBUF_BUSY_BIT,
  BPF_RINGBUF_DISCARD_BIT,
  EAGAIN,
  EINVAL,
  type RingBufMap,
} from "../../src/maps/index.js";
import { makeEnv, mk, place, spec } from "./env.js";

const ring = (size = 4096) => {
  const env = makeEnv(2);
  return { env, rb: mk<RingBufMap>(env, spec("BPF_MAP_TYPE_RINGBUF", 0, 0, size)) };
};
const text = (s: Uint8Array | undefined): string | undefined => (s === undefined ? undefined : Buffer.from(s).toString());

test("record layout: 8-byte header with busy/discard bits, length, page offset; 8-byte rounding", () => {
  const { env, rb } = ring();
  const v = env.space.view;
  const a = rb.reserve(10);
  assert.equal(a, rb.dataAddr + 8);
  assert.equal(v.getUint32(a - 8, true), (10 | BPF_RINGBUF_BUSY_BIT) >>> 0);
  assert.equal(v.getUint32(a - 4, true), 3); // data starts at page 3 of struct bpf_ringbuf
  assert.equal(rb.query(BPF_RB_PROD_POS), 24); // round_up(10 + 8, 8)
  env.space.u8.set(Buffer.from("0123456789"), a);
  assert.equal(rb.read(), undefined); // still busy
  assert.equal(rb.submit(a), 0);
  assert.equal(v.getUint32(a - 8, true), 10);
  assert.equal(rb.query(BPF_RB_AVAIL_DATA), 24);
  assert.equal(text(rb.read()), "0123456789");
  assert.equal(rb.query(BPF_RB_CONS_POS), 24);
  assert.equal(rb.query(BPF_RB_AVAIL_DATA), 0);
  assert.equal(rb.query(BPF_RB_RING_SIZE), 4096);
  assert.equal(rb.query(99), 0);
  // A discarded record keeps its length with the discard bit; consumers skip it.
  const b = rb.reserve(4);
  assert.equal(rb.discard(b), 0);
  assert.equal(v.getUint32(b - 8, true), (4 | BPF_RINGBUF_DISCARD_BIT) >>> 0);
  assert.equal(rb.read(), undefined);
  assert.equal(rb.consumerPosition, 24 + 16);
  // Committing twice, or an address that is no record, is refused.
  assert.equal(rb.submit(b), -EINVAL);
  assert.equal(rb.submit(rb.dataAddr + 3), -EINVAL);
});

test("reserve refuses flags, oversized records and records that do not fit", () => {
  const { rb } = ring();
  assert.equal(rb.reserve(8, 1), 0);
  assert.equal(rb.reserve(4096), 0); // 4096 + 8 > ring
  assert.notEqual(rb.reserve(4096 - 16), 0); // 4088 bytes: position 4088 <= mask
  assert.equal(rb.reserve(1), 0); // would be 4096 ahead of the consumer
});

test("records commit out of order; the consumer stops at a busy one", () => {
  const { env, rb } = ring();
  const a = rb.reserve(3);
  const b = rb.reserve(3);
  env.space.u8.set(Buffer.from("bbb"), b);
  rb.submit(b);
  assert.equal(rb.read(), undefined);
  env.space.u8.set(Buffer.from("aaa"), a);
  rb.submit(a);
  assert.equal(text(rb.read()), "aaa");
  assert.equal(text(rb.read()), "bbb");
  assert.equal(rb.read(), undefined);
});

test("an uncommitted old record limits the producer (pending_pos)", () => {
  const { rb } = ring();
  const first = rb.reserve(100); // stays reserved
  let n = 0;
  while (rb.reserve(100) !== 0) n++;
  assert.equal(n, (4096 - 112 - 8) / 112 | 0);
  assert.notEqual(first, 0);
});

test("wraparound: a record crossing the end is contiguous for the program and whole for the consumer", () => {
  const { env, rb } = ring();
  // Advance positions to 4096 - 40.
  for (const size of [1016, 1016, 1016, 976]) {
    const r = rb.reserve(size);
    rb.submit(r);
    rb.read();
  }
  assert.equal(rb.consumerPosition, 4056);
  const a = rb.reserve(100);
  assert.equal(a - 8, rb.dataAddr + 4056);
  const msg = Buffer.alloc(100, 0);
  for (let i = 0; i < 100; i++) msg[i] = i;
  env.space.u8.set(msg, a); // runs past the end of the data area
  rb.submit(a);
  assert.deepEqual(Buffer.from(rb.read()!), msg);
  // The part past the end lives at the start of the ring, where the kernel's second mapping points.
  assert.equal(env.space.u8[rb.dataAddr + (100 - 32) - 1], 99);
  // Positions keep running past the size; pg_off follows the page of the header.
  const b = rb.reserve(8);
  assert.equal(env.space.view.getUint32(b - 4, true), 3);
  assert.equal(rb.query(BPF_RB_PROD_POS), 4056 + 112 + 16);
});

test("pg_off counts pages from the kernel's struct bpf_ringbuf", () => {
  const { env, rb } = ring(16384);
  const offs = [];
  for (let i = 0; i < 10; i++) {
    const a = rb.reserve(1500);
    offs.push(env.space.view.getUint32(a - 4, true) - 3 === (a - 8 - rb.dataAddr) >> 12);
  }
  assert.deepEqual(offs, new Array(10).fill(true));
  const last = rb.dataAddr + 9 * 1512;
  assert.equal(env.space.view.getUint32(last + 4, true), 3 + 3);
});

test("bpf_ringbuf_output copies from the address space; flags and space errors", () => {
  const { env, rb } = ring();
  const src = place(env, Buffer.from("hello world"));
  assert.equal(rb.output(src, 5, 0), 0);
  assert.equal(rb.output(src, 5, 4), -EINVAL);
  assert.equal(rb.output(src, 5000, 0), -EAGAIN);
  assert.equal(text(rb.read()), "hello");
  const buf = new Uint8Array(3);
  rb.outputBytes(Buffer.from("abcdef"));
  assert.equal(rb.readInto(buf), 6); // too small: not consumed
  const big = new Uint8Array(16);
  assert.equal(rb.readInto(big), 6);
  assert.equal(Buffer.from(big.subarray(0, 6)).toString(), "abcdef");
  assert.equal(rb.readInto(big), -1);
});

test("wakeups: only when the consumer caught up, unless forced or suppressed", () => {
  const { rb } = ring();
  const w0 = rb.wakeups;
  rb.outputBytes(Buffer.from("1")); // at the consumer position: wakes
  assert.equal(rb.wakeups, w0 + 1);
  rb.outputBytes(Buffer.from("2")); // behind an unread record: no wakeup
  assert.equal(rb.wakeups, w0 + 1);
  rb.outputBytes(Buffer.from("3"), BPF_RB_FORCE_WAKEUP);
  assert.equal(rb.wakeups, w0 + 2);
  assert.equal(rb.poll(() => {}), 3);
  rb.outputBytes(Buffer.from("4"), BPF_RB_NO_WAKEUP);
  assert.equal(rb.wakeups, w0 + 2);
  assert.equal(text(rb.read()), "4");
});

test("ringbuf map rejects element operations", () => {
  const { rb } = ring();
  assert.throws(() => rb.lookup(new Uint8Array(0)), /ENOTSUPP/);
  assert.throws(() => rb.nextKey(), /ENOTSUPP/);
});

test("async iteration receives records as they are submitted", async () => {
  const { rb } = ring(8192);
  const got: string[] = [];
  const ac = new AbortController();
  const consumer = (async () => {
    for await (const s of rb.records({ signal: ac.signal })) {
      got.push(Buffer.from(s).toString());
      if (got.length === 5) break;
    }
  })();
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 2));
    rb.outputBytes(Buffer.from(`r${i}`));
  }
  await consumer;
  assert.deepEqual(got, ["r0", "r1", "r2", "r3", "r4"]);
  // NO_WAKEUP records are found by a timeout poll.
  const late: string[] = [];
  setTimeout(() => rb.outputBytes(Buffer.from("quiet"), BPF_RB_NO_WAKEUP), 5);
  for await (const s of rb.records({ timeoutMs: 10, signal: AbortSignal.timeout(2000) })) {
    late.push(Buffer.from(s).toString());
    break;
  }
  assert.deepEqual(late, ["quiet"]);
  // Closing the map ends an iteration.
  const it = rb.records();
  const pending = it.next();
  rb.close();
  assert.equal((await pending).done, true);
});
