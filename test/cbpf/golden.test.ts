// Every row of ../shared/pcap/filters.tsv: the tcpdump listings re-printed byte for byte,
// the interpreter's per-packet verdicts equal to tcpdump's (cbpf/NNN.match) on
// mixed-10k.pcap, the same counts on mixed-10k.pcapng and loopback-http.pcap, the
// kernel checker's verdict, and the converted eBPF giving the same verdicts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import {
  CbpfProgram,
  JitFilter,
  compileFilter,
  convertToEbpf,
  decodeProgram,
  encodeProgram,
  findClassicError,
  formatC,
  formatDecimal,
  formatListing,
  fromBytes,
  parseC,
  parseDecimal,
  toBytes,
  type CbpfFilter,
  type SockFilter,
} from "../../src/cbpf/index.js";
import { readCapture, type PacketRecord } from "../../src/pcap/index.js";
import { HAVE_SHARED, PCAP_DIR, SKIP_REASON, bitmapHex, filterRows, needShared, readShared, readSharedText, type FilterRow } from "../pcap/fixtures.js";
import { evalConverted } from "./ebpf-eval.js";

const rows: FilterRow[] = HAVE_SHARED ? filterRows() : [];
const packets = HAVE_SHARED ? readCapture(readShared("mixed-10k.pcap")).packets : [];
const packetsNg = HAVE_SHARED ? readCapture(readShared("mixed-10k.pcapng")).packets : [];
const loopback = HAVE_SHARED ? readCapture(readShared("loopback-http.pcap")).packets : [];
const VARIANTS = ["", ".unopt"] as const;
const load = (row: FilterRow, v: string): SockFilter[] => parseC(readSharedText(`cbpf/${row.id}${v}.dd`));
/** Programs the kernel rejects although libpcap runs them: `ip6 protochain` jumps backwards. */
const KERNEL_REJECTS = new Set(["ip6 protochain 6"]);

const verdicts = (prog: CbpfFilter, pkts: readonly PacketRecord[]): boolean[] => pkts.map((p) => prog.matches(p));

let tcpdump: string | undefined;
try {
  execFileSync("tcpdump", ["--version"], { stdio: "ignore" });
  tcpdump = "tcpdump";
} catch {
  tcpdump = undefined;
}

test("filters.tsv is what the README describes", needShared, () => {
  assert.equal(rows.length, 117);
  rows.forEach((r, i) => assert.equal(r.id, String(i + 1).padStart(3, "0")));
});

test("-d / -dd / -ddd listings are byte-identical to tcpdump's", needShared, () => {
  for (const row of rows) {
    for (const v of VARIANTS) {
      const dd = readSharedText(`cbpf/${row.id}${v}.dd`);
      const d = readSharedText(`cbpf/${row.id}${v}.d`);
      const prog = parseC(dd);
      assert.equal(prog.length, v === "" ? row.insns : row.insnsUnopt, `${row.id}${v} length`);
      assert.equal(formatC(prog), dd, `${row.id}${v} -dd`);
      assert.equal(formatListing(prog), d, `${row.id}${v} -d`);
      // -ddd, checked against the numbers of the -dd form (and against tcpdump itself below).
      const ddd = formatDecimal(prog);
      assert.deepEqual(parseDecimal(ddd), prog);
      assert.equal(ddd.split("\n")[0], String(prog.length));
      // Other round trips: model, bytes in both orders.
      assert.deepEqual(encodeProgram(decodeProgram(prog)), prog, `${row.id}${v} model round trip`);
      assert.deepEqual(fromBytes(toBytes(prog)), prog);
      assert.deepEqual(fromBytes(toBytes(prog, "big"), "big"), prog);
    }
  }
});

test("-ddd is byte-identical to tcpdump -ddd", { skip: !HAVE_SHARED ? SKIP_REASON : tcpdump === undefined ? "tcpdump is not installed" : false }, () => {
  for (const row of rows) {
    for (const v of VARIANTS) {
      const args = ["-r", join(PCAP_DIR, "mixed-10k.pcap"), ...(v === "" ? [] : ["-O"]), "-ddd", "--", row.expr];
      const want = execFileSync(tcpdump!, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      assert.equal(formatDecimal(load(row, v)), want, `${row.id}${v}: ${row.expr}`);
    }
  }
});

for (const engine of ["interp", "js"] as const) {
  test(`${engine}: verdicts equal tcpdump's, packet for packet (mixed-10k, pcapng, loopback-http)`, needShared, () => {
    let compiled = 0;
    for (const row of rows) {
      const want = readSharedText(`cbpf/${row.id}.match`).trim();
      for (const v of VARIANTS) {
        const prog = compileFilter(load(row, v), { engine: engine === "interp" ? "interp" : "auto" });
        if (prog.engine === "js") compiled++;
        const got = verdicts(prog, packets);
        assert.equal(bitmapHex(got), want, `${row.id}${v}: ${row.expr}`);
        assert.equal(got.filter(Boolean).length, row.matchesMixed10k, `${row.id}${v} count`);
        assert.equal(verdicts(prog, packetsNg).filter(Boolean).length, row.matchesMixed10k, `${row.id}${v} pcapng count`);
        assert.equal(verdicts(prog, loopback).filter(Boolean).length, row.matchesLoopback, `${row.id}${v} loopback count`);
      }
    }
    // Only the protochain programs (a backward ja) stay on the interpreter.
    if (engine === "js") assert.equal(compiled, rows.length * 2 - 2);
  });
}

test("jit: verdicts equal tcpdump's, packet for packet, one at a time and in blocks (mixed-10k, pcapng, loopback-http)", needShared, () => {
  // Blocks: packets copied into the filter's memory (runBlock), and read in place from
  // its ioBuffer (the CLI's zero-copy path).
  const block = (f: JitFilter, pkts: readonly PacketRecord[], inPlace: boolean): boolean[] => {
    const offsets = new Int32Array(pkts.length);
    const caplens = new Int32Array(pkts.length);
    const wirelens = new Int32Array(pkts.length);
    let size = 0;
    for (const p of pkts) size += p.caplen + 3; // odd gaps: unaligned packets
    const bytes = inPlace ? f.ioBuffer(size) : new Uint8Array(size);
    let at = 0;
    pkts.forEach((p, i) => {
      bytes.set(p.buffer.subarray(p.dataOffset, p.dataOffset + p.caplen), at);
      offsets[i] = at;
      caplens[i] = p.caplen;
      wirelens[i] = p.len;
      at += p.caplen + 3;
    });
    const out = new Uint32Array(pkts.length);
    f.runBlock(bytes, pkts.length, offsets, caplens, wirelens, out);
    return Array.from(out, (v) => v !== 0);
  };
  // The pcap walk: the file's own bytes, records walked by the program (the CLI's path).
  const file = readShared("mixed-10k.pcap");
  const walk = (f: JitFilter): boolean[] => {
    const bytes = f.ioBuffer(file.length);
    bytes.set(file);
    const got: boolean[] = [];
    for (let pos = 24; got.length < packets.length; ) {
      const n = f.filterPcapRecords(bytes, pos, bytes.length, 262144);
      assert.ok(n > 0);
      const v = f.pcapVerdicts();
      for (let i = 0; i < n; i++) {
        got.push(v[i] !== 0);
        pos += 16 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(pos + 8, true);
      }
    }
    return got;
  };
  for (const row of rows) {
    const want = readSharedText(`cbpf/${row.id}.match`).trim();
    for (const v of VARIANTS) {
      const f = new JitFilter(load(row, v));
      assert.equal(bitmapHex(walk(f)), want, `${row.id}${v} (pcap walk): ${row.expr}`);
      const got = verdicts(f, packets);
      assert.equal(bitmapHex(got), want, `${row.id}${v}: ${row.expr}`);
      assert.equal(bitmapHex(block(f, packets, false)), want, `${row.id}${v} (copied blocks): ${row.expr}`);
      assert.equal(bitmapHex(block(f, packets, true)), want, `${row.id}${v} (in place): ${row.expr}`);
      assert.equal(verdicts(f, packetsNg).filter(Boolean).length, row.matchesMixed10k, `${row.id}${v} pcapng count`);
      assert.equal(block(f, loopback, true).filter(Boolean).length, row.matchesLoopback, `${row.id}${v} loopback count`);
      f.close();
    }
  }
});

test("the kernel checker accepts every golden program but the backward-jumping protochain", needShared, () => {
  for (const row of rows) {
    for (const v of VARIANTS) {
      const e = findClassicError(load(row, v));
      if (KERNEL_REJECTS.has(row.expr)) {
        assert.equal(e?.reason, "jump_out_of_range", `${row.id}${v}`);
        assert.match(e!.message, /backward/);
      } else {
        assert.equal(e, undefined, `${row.id}${v}: ${row.expr}: ${e?.message}`);
      }
    }
  }
});

test("converted eBPF gives the interpreter's verdicts on every packet", needShared, () => {
  let compared = 0;
  for (const row of rows) {
    for (const v of VARIANTS) {
      const prog = load(row, v);
      const interp = new CbpfProgram(prog);
      const conv = convertToEbpf(prog, { check: !KERNEL_REJECTS.has(row.expr) });
      for (const p of packets) {
        const want = interp.run(p.buffer, p.len, p.caplen, p.dataOffset);
        const got = evalConverted(conv.insns, p.buffer, p.caplen, p.dataOffset, { len: p.len });
        if (got !== want) assert.fail(`${row.id}${v} (${row.expr}) packet ${p.index}: eBPF ${got}, cBPF ${want}`);
        compared++;
      }
    }
  }
  assert.equal(compared, rows.length * 2 * packets.length);
});
