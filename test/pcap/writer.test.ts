// Writing then reading back: pcap (µs/ns magic, both byte orders), pcapng (both byte
// orders, if_tsresol 6/9, several interfaces, several sections, unknown blocks, SPB,
// obsolete PB, if_tsoffset, binary resolutions), and the timestamp arithmetic.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import {
  CaptureReader,
  PcapngWriter,
  PcapWriter,
  collectBytes,
  readCapture,
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_RAW,
  LINKTYPE_NULL,
  LINKTYPE_LOOP,
  LINKTYPE_LINUX_SLL,
  linktypeName,
  linktypeFromName,
  type PacketLike,
} from "../../src/pcap/index.js";
import { secNsecToTicks, ticksOut, ticksToSecNsec, tsOut, tsUnit } from "../../src/pcap/timestamp.js";
import { CaptureFileWriter, scanCaptureFile } from "../../src/pcap/node.js";
import { needShared, readShared } from "./fixtures.js";
import { block, concat, idb, le32, opt, shb } from "./blocks.js";

const pkt = (i: number, size = 40 + ((i * 37) % 200)): PacketLike => ({
  tsSec: 1_600_000_000 + i,
  tsNsec: (i * 123_456_789) % 1_000_000_000,
  data: Uint8Array.from({ length: size }, (_, j) => (i * 31 + j) & 0xff),
  len: size + (i % 3 === 0 ? 100 : 0),
});
const pkts = Array.from({ length: 50 }, (_, i) => pkt(i));


test("pcap round trip: µs and ns magic, little and big endian", () => {
  for (const nanosecond of [false, true]) {
    for (const littleEndian of [true, false]) {
      const bytes = collectBytes((sink) => {
        const w = new PcapWriter(sink, { nanosecond, littleEndian, linktype: LINKTYPE_RAW, snaplen: 200, chunkSize: 4096 });
        for (const p of pkts) w.write(p);
        w.close();
      });
      const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
      const want = nanosecond ? "a1b23c4d" : "a1b2c3d4";
      assert.equal(magic, littleEndian ? want.match(/../g)!.reverse().join("") : want);
      const c = readCapture(bytes);
      assert.equal(c.packets.length, pkts.length);
      assert.equal(c.interfaces[0]!.linktype, LINKTYPE_RAW);
      assert.equal(c.interfaces[0]!.tsresol, nanosecond ? 9 : 6);
      c.packets.forEach((r, i) => {
        const p = pkts[i]!;
        const caplen = Math.min(200, p.data.length);
        assert.equal(r.tsSec, p.tsSec);
        assert.equal(r.tsNsec, nanosecond ? p.tsNsec : Math.floor(p.tsNsec / 1000) * 1000);
        assert.equal(r.caplen, caplen);
        assert.equal(r.len, p.len);
        assert.deepEqual(r.data, p.data.subarray(0, caplen));
        assert.equal(r.linktype, LINKTYPE_RAW);
      });
    }
  }
});

test("pcapng round trip: byte orders, resolutions, several interfaces and sections", () => {
  const section = (littleEndian: boolean): Uint8Array =>
    collectBytes((sink) => {
      const w = new PcapngWriter(sink, {
        littleEndian,
        interfaces: [
          { linktype: LINKTYPE_ETHERNET, tsresol: 6, name: "eth0" },
          { linktype: LINKTYPE_LINUX_SLL2, tsresol: 9, snaplen: 0 },
        ],
      });
      const lo = w.addInterface({ linktype: LINKTYPE_NULL, tsresol: 3, snaplen: 64 });
      assert.equal(lo, 2);
      pkts.forEach((p, i) => w.write(p, i % 3));
      w.close();
    });
  const bytes = concat(section(true), section(false));
  const r = new CaptureReader();
  r.push(bytes);
  r.end();
  const got = [];
  for (let p = r.next(); p !== undefined; p = r.next()) got.push(p);
  assert.equal(got.length, 2 * pkts.length);
  assert.equal(r.interfaces.length, 3);
  assert.equal(r.interfaces[0]!.name, "eth0");
  got.forEach((g, j) => {
    const i = j % pkts.length;
    const p = pkts[i]!;
    const ifid = i % 3;
    const caplen = ifid === 2 ? Math.min(64, p.data.length) : p.data.length;
    const nsec = ifid === 0 ? Math.floor(p.tsNsec / 1000) * 1000 : ifid === 1 ? p.tsNsec : Math.floor(p.tsNsec / 1e6) * 1e6;
    assert.equal(g.section, j < pkts.length ? 0 : 1);
    assert.equal(g.interfaceId, ifid);
    assert.equal(g.linktype, [LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2, LINKTYPE_NULL][ifid]);
    assert.equal(g.tsSec, p.tsSec, `packet ${j}`);
    assert.equal(g.tsNsec, nsec, `packet ${j}`);
    assert.equal(g.caplen, caplen);
    assert.equal(g.len, p.len);
    assert.deepEqual(g.data, p.data.subarray(0, caplen));
  });
});

test("re-writing mixed-10k as pcap (ns) and pcapng gives the same packets", needShared, () => {
  const src = readCapture(readShared("mixed-10k.pcap")).packets;
  const asPcap = collectBytes((sink) => {
    const w = new PcapWriter(sink, { nanosecond: true });
    for (const p of src) w.write(p);
    w.close();
  });
  const asNg = collectBytes((sink) => {
    const w = new PcapngWriter(sink, { interfaces: [{ linktype: 1, tsresol: 9 }] });
    for (const p of src) w.write(p);
    w.close();
  });
  for (const bytes of [asPcap, asNg]) {
    const back = readCapture(bytes).packets;
    assert.equal(back.length, src.length);
    back.forEach((p, i) => {
      const s = src[i]!;
      assert.ok(p.tsSec === s.tsSec && p.tsNsec === s.tsNsec && p.caplen === s.caplen && p.len === s.len, `packet ${i}`);
      assert.equal(Buffer.compare(p.data, s.data), 0);
    });
  }
  // The original classic file is reproduced byte for byte by the µs writer.
  const orig = readShared("mixed-10k.pcap");
  const again = collectBytes((sink) => {
    const w = new PcapWriter(sink, {});
    for (const p of src) w.write(p);
    w.close();
  });
  assert.equal(Buffer.compare(again.subarray(24), orig.subarray(24)), 0);
});


test("pcapng: unknown blocks skipped, SPB, obsolete PB, if_tsoffset, binary if_tsresol", () => {
  const data = Uint8Array.from({ length: 10 }, (_, i) => i);
  const tsoffset = new Uint8Array(8);
  new DataView(tsoffset.buffer).setBigInt64(0, 1000n, true);
  const bytes = concat(
    shb(),
    block(0x00000bad, new Uint8Array(100)), // custom block
    idb(LINKTYPE_LINUX_SLL, 6, concat(opt(9, Uint8Array.of(0x80 | 20)), opt(14, tsoffset), opt(0, new Uint8Array(0)))),
    block(4, new Uint8Array(40)), // name resolution block
    block(3, concat(le32(10), data)), // SPB: origlen 10, interface snaplen 6
    block(2, concat(new Uint8Array([0, 0, 0, 0]), le32(0, 3 << 20, 10, 12), data)), // PB: ts 3 s in 2^-20 units
    block(6, concat(le32(0, 1, 0x80000, 10, 10), data)), // EPB: ts 2^32 + 2^19 ticks of 2^-20 s
    block(5, new Uint8Array(24)), // interface statistics
    block(0x40000bad, new Uint8Array(5000)), // a large unknown block
  );
  for (const chunk of [bytes.length, 7, 1]) {
    const r = new CaptureReader();
    const got = [];
    for (let o = 0; o < bytes.length; o += chunk) {
      r.push(bytes.subarray(o, o + chunk));
      for (let p = r.next(); p !== undefined; p = r.next()) got.push(p);
    }
    r.end();
    for (let p = r.next(); p !== undefined; p = r.next()) got.push(p);
    assert.equal(got.length, 3);
    const [spb, pb, epb] = got;
    assert.equal(r.interfaces[0]!.linktype, LINKTYPE_LINUX_SLL);
    assert.deepEqual([spb!.caplen, spb!.len, spb!.tsSec], [6, 10, 0]);
    assert.deepEqual(spb!.data, data.subarray(0, 6));
    assert.deepEqual([pb!.caplen, pb!.len, pb!.tsSec, pb!.tsNsec], [10, 12, 1003, 0]);
    // 2^32 + 2^19 ticks of 2^-20 s = 4096.5 s, plus if_tsoffset 1000.
    assert.deepEqual([epb!.tsSec, epb!.tsNsec], [5096, 500_000_000]);
  }
});

test("timestamp arithmetic is exact (fast-check against BigInt)", () => {
  const units = [0, 3, 6, 9, 10, 11, 12, 15, 0x80 | 10, 0x80 | 20, 0x80 | 32, 0x80 | 40].map(tsUnit);
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(...units), (ticks, u) => {
      ticksToSecNsec(Number(ticks >> 32n), Number(ticks & 0xffffffffn), u);
      const sec = ticks / u.perSecBig;
      const nsec = ((ticks % u.perSecBig) * 1_000_000_000n) / u.perSecBig;
      if (sec <= BigInt(Number.MAX_SAFE_INTEGER)) assert.equal(BigInt(tsOut.sec), sec);
      assert.equal(BigInt(tsOut.nsec), nsec);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 999_999_999 }), fc.integer({ min: 0, max: 9 }), (sec, nsec, exp) => {
      const u = tsUnit(exp);
      secNsecToTicks(sec, nsec, u);
      const want = BigInt(sec) * u.perSecBig + BigInt(nsec) / 10n ** BigInt(9 - exp);
      assert.equal((BigInt(ticksOut.hi) << 32n) + BigInt(ticksOut.lo), want);
    }),
    { numRuns: 2000 },
  );
});

test("linktype names", () => {
  assert.deepEqual(
    [LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LOOP, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2].map(linktypeName),
    ["NULL", "EN10MB", "RAW", "LOOP", "LINUX_SLL", "LINUX_SLL2"],
  );
  assert.equal(linktypeFromName("en10mb"), 1);
  assert.equal(linktypeFromName("DLT_LINUX_SLL2"), 276);
  assert.equal(linktypeName(9999), "LINKTYPE_9999");
});

test("writer argument checks", () => {
  const w = new PcapWriter(() => {});
  assert.throws(() => w.write({ tsSec: -1, tsNsec: 0, data: new Uint8Array(1) }), { code: "EUSAGE" });
  assert.throws(() => w.write({ tsSec: 0, tsNsec: 1e9, data: new Uint8Array(1) }), { code: "EUSAGE" });
  w.close();
  assert.throws(() => w.write({ tsSec: 0, tsNsec: 0, data: new Uint8Array(1) }), { code: "EUSAGE" });
  const g = new PcapngWriter(() => {});
  assert.throws(() => g.write({ tsSec: 0, tsNsec: 0, data: new Uint8Array(1) }, 5), { code: "EUSAGE" });
  assert.throws(() => g.addInterface({ linktype: 1, tsresol: 12 }), { code: "EUSAGE" });
});

test("Node adapter writes through a stream", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-pcap-"));
  try {
    for (const kind of ["pcap", "pcapng"] as const) {
      const path = join(dir, `out.${kind}`);
      const w = kind === "pcap" ? CaptureFileWriter.pcap(path, { nanosecond: true, chunkSize: 4096 }) : CaptureFileWriter.pcapng(path, { chunkSize: 4096 });
      for (let i = 0; i < 2000; i++) {
        const p = w.write(pkt(i));
        if (p) await p;
      }
      assert.equal(w.count, 2000);
      await w.close();
      const res = await scanCaptureFile(path, () => {});
      assert.equal(res.count, 2000);
      assert.equal(readCapture(new Uint8Array(readFileSync(path))).packets[1999]!.tsSec, pkt(1999).tsSec);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("classic pcap variants: Kuznetzov's modified format (a1b2cd34), FCS bits in the linktype field", () => {
  const hdr = new Uint8Array(24);
  const v = new DataView(hdr.buffer);
  v.setUint32(0, 0xa1b2cd34, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, 0x24000001, true); // EN10MB, FCS present, 2 words
  const rec = new Uint8Array(24 + 6);
  const r = new DataView(rec.buffer);
  r.setUint32(0, 1234, true);
  r.setUint32(4, 5678, true);
  r.setUint32(8, 6, true);
  r.setUint32(12, 60, true);
  r.setUint32(16, 3, true); // ifindex, protocol, pkt_type: ignored
  rec.set([1, 2, 3, 4, 5, 6], 24);
  const c = readCapture(concat(hdr, rec, rec));
  assert.equal(c.packets.length, 2);
  assert.deepEqual(c.interfaces[0], { linktype: 1, snaplen: 65535, tsresol: 6, tsoffset: 0, section: 0, fcsBits: 32 });
  assert.deepEqual([c.packets[1]!.tsSec, c.packets[1]!.tsNsec, c.packets[1]!.caplen, c.packets[1]!.len], [1234, 5_678_000, 6, 60]);
  assert.deepEqual(c.packets[1]!.data, Uint8Array.of(1, 2, 3, 4, 5, 6));
});
