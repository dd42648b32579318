// Reading the shared captures: classic pcap and pcapng give the same 10,000 packets,
// chunking does not change anything, the Node adapter streams them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { CaptureReader, PacketRecord, PcapReader, PcapngReader, readCapture, sniffFormat, LINKTYPE_ETHERNET, type PcapHeader } from "../../src/pcap/index.js";
import { packetsOfFile, scanCaptureFile } from "../../src/pcap/node.js";
import { PCAP_DIR, needShared, readShared } from "./fixtures.js";

const same = (a: PacketRecord, b: PacketRecord): boolean =>
  a.tsSec === b.tsSec && a.tsNsec === b.tsNsec && a.caplen === b.caplen && a.len === b.len && Buffer.compare(a.data, b.data) === 0;

/** Feeds `bytes` in chunks of the given sizes (cycled) and collects clones. */
function readChunked(bytes: Uint8Array, sizes: readonly number[]): PacketRecord[] {
  const r = new CaptureReader();
  const out: PacketRecord[] = [];
  const rec = new PacketRecord();
  let o = 0;
  for (let i = 0; o < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    r.push(bytes.subarray(o, o + n));
    o += n;
    while (r.nextInto(rec)) out.push(rec.clone());
  }
  r.end();
  while (r.nextInto(rec)) out.push(rec.clone());
  assert.ok(r.done);
  return out;
}

test("mixed-10k.pcap and mixed-10k.pcapng hold the same 10,000 packets", needShared, () => {
  const a = readCapture(readShared("mixed-10k.pcap"));
  const b = readCapture(readShared("mixed-10k.pcapng"));
  assert.equal(a.format, "pcap");
  assert.equal(b.format, "pcapng");
  assert.equal(a.packets.length, 10_000);
  assert.equal(b.packets.length, 10_000);
  assert.deepEqual(a.interfaces, [{ linktype: LINKTYPE_ETHERNET, snaplen: 262144, tsresol: 6, tsoffset: 0, section: 0 }]);
  assert.equal(b.interfaces[0]!.linktype, LINKTYPE_ETHERNET);
  assert.equal(b.interfaces[0]!.snaplen, 262144);
  assert.equal(b.interfaces[0]!.tsresol, 6);
  for (let i = 0; i < a.packets.length; i++) {
    assert.ok(same(a.packets[i]!, b.packets[i]!), `packet ${i} differs`);
    assert.equal(a.packets[i]!.index, i);
  }
  // README: wire lengths 60..1514, 57 truncated packets, strictly increasing timestamps from 1700000000.
  assert.equal(a.packets[0]!.tsSec, 1_700_000_000);
  assert.equal(a.packets.filter((p) => p.caplen < p.len).length, 57);
  assert.ok(a.packets.every((p) => p.len >= 60 && p.len <= 1514));
  assert.ok(a.packets.every((p, i) => i === 0 || p.timestampNs > a.packets[i - 1]!.timestampNs));
  // Data are views of the input, not copies.
  assert.equal(a.packets[5]!.data.buffer, a.packets[6]!.data.buffer);
});

test("loopback-http.pcap: 118 packets, frames larger than 1514", needShared, () => {
  const c = readCapture(readShared("loopback-http.pcap"));
  assert.equal(c.packets.length, 118);
  assert.equal(c.interfaces[0]!.linktype, LINKTYPE_ETHERNET);
  assert.ok(c.packets.some((p) => p.len > 1514));
  assert.equal(Math.max(...c.packets.map((p) => p.len)), 20066);
});

test("chunk boundaries anywhere give the same packets", needShared, () => {
  for (const name of ["mixed-10k.pcap", "mixed-10k.pcapng"]) {
    const bytes = readShared(name);
    const whole = readCapture(bytes).packets;
    for (const sizes of [[65536], [1000, 7, 3, 4096], [1 << 20]]) {
      const got = readChunked(bytes, sizes);
      assert.equal(got.length, whole.length, `${name} ${sizes}`);
      got.forEach((p, i) => assert.ok(same(p, whole[i]!), `${name} chunks ${sizes}: packet ${i}`));
    }
  }
});

test("tiny chunks (fast-check): any split of a small capture reads the same", needShared, () => {
  const full = readShared("loopback-http.pcap");
  const bytes = full.subarray(0, 4000);
  const cut = readCapture(full).packets.filter((p) => p.dataOffset + p.caplen <= bytes.length).length;
  assert.ok(cut > 0);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 20 }), (sizes) => {
      // The prefix ends mid-record, so reading must end with a truncation error after `cut` packets.
      const r = new CaptureReader();
      let o = 0;
      let n = 0;
      for (let i = 0; o < bytes.length; i++) {
        r.push(bytes.subarray(o, o + sizes[i % sizes.length]!));
        o += sizes[i % sizes.length]!;
        while (r.next() !== undefined) n++;
      }
      r.end();
      assert.throws(() => {
        while (r.next() !== undefined) n++;
      }, /truncated/);
      assert.equal(n, cut);
    }),
    { numRuns: 200 },
  );
});

test("format sniffing and header details", needShared, () => {
  assert.equal(sniffFormat(readShared("mixed-10k.pcap")), "pcap");
  assert.equal(sniffFormat(readShared("mixed-10k.pcapng")), "pcapng");
  assert.equal(sniffFormat(new Uint8Array([1, 2, 3, 4])), undefined);
  const r = new CaptureReader();
  r.push(readShared("mixed-10k.pcap"));
  r.next();
  const h = (r.reader as PcapReader).header as PcapHeader;
  assert.deepEqual(
    { le: h.littleEndian, ns: h.nanosecond, v: [h.versionMajor, h.versionMinor], snap: h.snaplen, lt: h.linktype },
    { le: true, ns: false, v: [2, 4], snap: 262144, lt: 1 },
  );
  const g = new CaptureReader();
  g.push(readShared("mixed-10k.pcapng"));
  g.next();
  const ng = g.reader as PcapngReader;
  assert.equal(ng.section?.littleEndian, true);
  assert.equal(ng.section?.versionMajor, 1);
  assert.equal(ng.interfaces[0]!.name, "synthetic0");
});

test("Node adapter: streams a file in small chunks with constant memory", needShared, async () => {
  let n = 0;
  let bytes = 0;
  const res = await scanCaptureFile(
    join(PCAP_DIR, "mixed-10k.pcapng"),
    (rec) => {
      n++;
      bytes += rec.caplen;
    },
    { chunkSize: 4096 },
  );
  assert.equal(res.count, 10_000);
  assert.equal(res.format, "pcapng");
  assert.equal(n, 10_000);
  assert.ok(bytes > 0);
  let m = 0;
  for await (const p of packetsOfFile(join(PCAP_DIR, "loopback-http.pcap"), { chunkSize: 1000 })) {
    assert.equal(p.index, m);
    m++;
  }
  assert.equal(m, 118);
  // Early stop.
  const stopped = await scanCaptureFile(join(PCAP_DIR, "mixed-10k.pcap"), (rec) => rec.index < 9);
  assert.equal(stopped.count, 10);
});
