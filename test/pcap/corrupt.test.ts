// Corrupt captures: every failure is a PcapError naming the byte offset and the record
// number; random and mutated inputs never raise anything else and always terminate.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { PcapError } from "../../src/errors/index.js";
import { CaptureReader, PcapWriter, PcapngWriter, collectBytes, readCapture } from "../../src/pcap/index.js";
import { block, concat, idb, le32, shb } from "./blocks.js";

const smallPcap = collectBytes((sink) => {
  const w = new PcapWriter(sink, { snaplen: 1000 });
  for (let i = 0; i < 5; i++) w.write({ tsSec: 100 + i, tsNsec: 0, data: new Uint8Array(50 + i) });
  w.close();
});
const smallPcapng = collectBytes((sink) => {
  const w = new PcapngWriter(sink, { interfaces: [{ linktype: 1 }, { linktype: 101, tsresol: 9 }] });
  for (let i = 0; i < 5; i++) w.write({ tsSec: 100 + i, tsNsec: 7, data: new Uint8Array(50 + i) }, i % 2);
  w.close();
});
// Record i of smallPcap starts at 24 + sum(16 + 50 + j, j < i).
const pcapRecordAt = (i: number): number => 24 + Array.from({ length: i }, (_, j) => 66 + j).reduce((a, b) => a + b, 0);

function expectPcapError(bytes: Uint8Array, where: { offset?: number; record?: number; message?: RegExp }): PcapError {
  let caught: unknown;
  try {
    readCapture(bytes);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof PcapError, `expected a PcapError, got ${String(caught)}`);
  assert.equal(caught.code, "EPCAP");
  if (where.offset !== undefined) assert.equal(caught.offset, where.offset, caught.message);
  if (where.record !== undefined) assert.equal(caught.record, where.record, caught.message);
  if (where.message !== undefined) assert.match(caught.message, where.message);
  assert.match(caught.message, /at byte offset \d+, record \d+/);
  return caught;
}

test("pcap: bad magic, truncated header, truncated record, absurd caplen", () => {
  expectPcapError(new Uint8Array(0), { offset: 0, message: /too short/ });
  expectPcapError(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), { offset: 0, message: /unknown file format: magic 0x01020304/ });
  expectPcapError(smallPcap.subarray(0, 20), { offset: 0, record: 0, message: /truncated pcap file header/ });
  expectPcapError(smallPcap.subarray(0, 24 + 10), { offset: 24, record: 0, message: /truncated pcap record header/ });
  expectPcapError(smallPcap.subarray(0, pcapRecordAt(3) + 20), { offset: pcapRecordAt(3), record: 3, message: /truncated pcap record \(caplen 53\)/ });
  // caplen 2^31 in record 2.
  const absurd = smallPcap.slice();
  new DataView(absurd.buffer).setUint32(pcapRecordAt(2) + 8, 0x80000000, true);
  expectPcapError(absurd, { offset: pcapRecordAt(2), record: 2, message: /absurd packet capture length 2147483648/ });
  // caplen above both the snaplen (1000) and 262144.
  const big = smallPcap.slice();
  new DataView(big.buffer).setUint32(pcapRecordAt(1) + 8, 300_000, true);
  expectPcapError(big, { offset: pcapRecordAt(1), record: 1, message: /bigger than snaplen of 1000/ });
  // Version 3.
  const v3 = smallPcap.slice();
  v3[4] = 3;
  expectPcapError(v3, { offset: 0, message: /unsupported pcap version 3/ });
  // Exactly at a record boundary: fine.
  assert.equal(readCapture(smallPcap.subarray(0, pcapRecordAt(2))).packets.length, 2);
});

test("pcapng: bad block lengths, missing SHB, bad byte-order magic, bad interface, caplen overflow", () => {
  const eth = idb(1, 0);
  const epb = (ifid: number, caplen: number, data = new Uint8Array(caplen)) => block(6, concat(le32(ifid, 0, 0, caplen, caplen), data));
  const at = (...parts: Uint8Array[]) => parts.reduce((n, p) => n + p.length, 0);
  // Not starting with an SHB.
  expectPcapError(concat(eth, shb()), { message: /unknown file format/ });
  // Byte-order magic broken.
  const badBom = shb();
  badBom[8] = 0;
  expectPcapError(badBom, { offset: 0, message: /bad byte-order magic/ });
  // Trailer differs from header.
  expectPcapError(concat(shb(), eth, block(6, concat(le32(0, 0, 0, 4, 4), new Uint8Array(4)), { tail: 999 })), {
    offset: at(shb(), eth),
    record: 0,
    message: /block length mismatch: header says 36, trailer says 999/,
  });
  // Same for a skipped (unknown) block.
  expectPcapError(concat(shb(), block(0x1234, new Uint8Array(8), { tail: 8 })), { offset: at(shb()), message: /block length mismatch/ });
  // Length not a multiple of 4, too small, absurd.
  const odd = block(6, new Uint8Array(20));
  new DataView(odd.buffer).setUint32(4, 30, true);
  expectPcapError(concat(shb(), eth, odd), { offset: at(shb(), eth), message: /not a multiple of 4/ });
  const tiny = block(6, new Uint8Array(20));
  new DataView(tiny.buffer).setUint32(4, 8, true);
  expectPcapError(concat(shb(), eth, tiny), { message: /smaller than the minimum 12/ });
  const huge = block(6, new Uint8Array(20));
  new DataView(huge.buffer).setUint32(4, 0x7ffffff0, true);
  expectPcapError(concat(shb(), eth, huge), { message: /absurd block length/ });
  // Packet on an undeclared interface; caplen bigger than its block.
  expectPcapError(concat(shb(), eth, epb(0, 4), epb(3, 4)), { offset: at(shb(), eth, epb(0, 4)), record: 1, message: /interface 3/ });
  const over = epb(0, 8);
  new DataView(over.buffer).setUint32(20, 100, true);
  expectPcapError(concat(shb(), eth, over), { message: /captured length 100 does not fit/ });
  // Truncated block at the end of the file.
  const full = concat(shb(), eth, epb(0, 40));
  expectPcapError(full.subarray(0, full.length - 10), { offset: at(shb(), eth), record: 0, message: /truncated pcapng block/ });
  // Version 2.0 section.
  const v2 = shb();
  v2[12] = 2;
  expectPcapError(v2, { message: /unsupported pcapng version 2\.0/ });
});

/** Reads until the end or an error; asserts the error is a PcapError. Returns the packet count. */
function readAll(bytes: Uint8Array, chunk: number): number {
  const r = new CaptureReader();
  let n = 0;
  try {
    for (let o = 0; o < bytes.length; o += chunk) {
      r.push(bytes.subarray(o, o + chunk));
      while (r.next() !== undefined) n++;
    }
    r.end();
    while (r.next() !== undefined) n++;
  } catch (e) {
    if (!(e instanceof PcapError)) throw e;
    assert.ok(Number.isInteger(e.offset) && e.offset >= 0 && Number.isInteger(e.record));
  }
  return n;
}

test("fuzz: random bytes give packets or a PcapError, never anything else", () => {
  const magics = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x0a, 0x0d, 0x0d, 0x0a],
    [0x34, 0xcd, 0xb2, 0xa1],
  ];
  fc.assert(
    fc.property(fc.constantFrom(...magics), fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 1, max: 64 }), (magic, rest, chunk) => {
      readAll(concat(Uint8Array.from(magic), rest), chunk);
      readAll(rest, chunk);
    }),
    { numRuns: 3000 },
  );
});

test("fuzz: mutations of valid pcap and pcapng files", () => {
  for (const valid of [smallPcap, smallPcapng]) {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(valid.length),
        fc.integer({ min: 1, max: 200 }),
        (edits, cut, chunk) => {
          const b = valid.slice(0, Math.max(cut, 1));
          for (const [at, v] of edits) if (at < b.length) b[at] = v;
          const n = readAll(b, chunk);
          assert.ok(n <= b.length / 16);
        },
      ),
      { numRuns: 3000 },
    );
  }
});
