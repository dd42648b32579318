// `tsbpf filter` and `tsbpf cbpf` in-process: listings as tcpdump prints them, counting
// and writing the matching packets of a capture on every engine (and the same bytes as
// `tcpdump -r -w` writes, when tcpdump is installed), errors with libpcap's wording.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { main } from "../../src/cli/main.js";
import { nodeIo, type CliIo } from "../../src/cli/io.js";
import { PcapWriter, collectBytes, readCapture } from "../../src/pcap/index.js";
import { CbpfProgram, compileFilterExpression } from "../../src/cbpf/index.js";
import { HAVE_SHARED, PCAP_DIR, needShared, readSharedText } from "../pcap/fixtures.js";

async function cli(args: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { ...nodeIo, out: (t) => void (out += t), err: (t) => void (err += t), isTty: false };
  const status = await main(args, io);
  return { status, out, err };
}

const dir = mkdtempSync(join(tmpdir(), "tsbpf-filter-cli-"));
const MIXED = join(PCAP_DIR, "mixed-10k.pcap");
const MIXED_NG = join(PCAP_DIR, "mixed-10k.pcapng");
const SEED_LISTING = HAVE_SHARED ? readSharedText("cbpf/017.d") : "";

let haveTcpdump = true;
try {
  execFileSync("tcpdump", ["--version"], { stdio: "ignore" });
} catch {
  haveTcpdump = false;
}

test("filter -d prints tcpdump's listing; -dd and -ddd the other forms", async () => {
  let r = await cli(["filter", "-d", "ip and tcp port 8080"]);
  assert.equal(r.status, 0, r.err);
  assert.equal(r.out.split("\n").length, 14);
  assert.match(r.out, /^\(000\) ldh {6}\[12\]\n\(001\) jeq {6}#0x800 {11}jt 2\tjf 12\n/);
  assert.match(r.out, /\(011\) ret {6}#262144\n\(012\) ret {6}#0\n$/);
  if (HAVE_SHARED) assert.equal(r.out, SEED_LISTING);
  r = await cli(["filter", "-dd", "ip", "and", "tcp", "port", "8080"]);
  assert.equal(r.status, 0, r.err);
  if (HAVE_SHARED) assert.equal(r.out, readSharedText("cbpf/017.dd"));
  r = await cli(["filter", "-ddd", "tcp"]);
  assert.match(r.out, /^12\n40 0 0 12\n21 0 2 2048\n/);
  r = await cli(["filter", "-d", "-O", "ip and tcp port 8080"]);
  if (HAVE_SHARED) assert.equal(r.out, readSharedText("cbpf/017.unopt.d"));
  r = await cli(["filter", "-d", "-y", "RAW", "ip6"]);
  assert.equal(r.out, "(000) ldb      [0]\n(001) and      #0xf0\n(002) jeq      #0x60            jt 3\tjf 4\n(003) ret      #262144\n(004) ret      #0\n");
  r = await cli(["filter", "tcp"]);
  assert.equal(r.out, "12 instructions (use -d to list them, -r FILE to run them)\n");
});

test("filter -F reads the expression from a file; -- allows a leading minus", async () => {
  const f = join(dir, "expr.txt");
  writeFileSync(f, "# seed\nip and tcp\n  port 8080\n");
  const r = await cli(["filter", "-d", "-F", f]);
  assert.equal(r.status, 0, r.err);
  const s = await cli(["filter", "-d", "ip and tcp port 8080"]);
  assert.equal(r.out, s.out);
  const m = await cli(["filter", "-d", "--", "-ip[8] < -100"]);
  assert.equal(m.status, 0, m.err);
  if (HAVE_SHARED) assert.equal(m.out, readSharedText("cbpf/091.d"));
});

test("filter errors: libpcap's message, a caret under the text, status 1", async () => {
  let r = await cli(["filter", "-d", "tcp port 99999"]);
  assert.equal(r.status, 1);
  assert.equal(r.err, "tsbpf: illegal port number 99999 > 65535\n  tcp port 99999\n           ^^^^^\n");
  r = await cli(["filter", "-d", "tcp[tcpflags] & tcp-syn"]);
  assert.equal(r.status, 1);
  assert.match(r.err, /^tsbpf: can't parse filter expression: syntax error\n/);
  r = await cli(["filter", "-d", "ip host 10.0.0.1 and ip6"]);
  assert.match(r.err, /^tsbpf: expression rejects all packets\n/);
  r = await cli(["filter", "tcp", "-r", join(dir, "missing.pcap")]);
  assert.equal(r.status, 1);
  assert.match(r.err, /cannot read capture .*missing\.pcap.*no such file/);
  r = await cli(["filter", "tcp", "-r", MIXED, "--engine", "gpu"]);
  assert.notEqual(r.status, 0);
  const bad = join(dir, "bad.pcap");
  writeFileSync(bad, "not a capture at all");
  r = await cli(["filter", "tcp", "-r", bad]);
  assert.equal(r.status, 1);
  assert.match(r.err, /bad\.pcap: unknown file format/);
});

for (const engine of ["auto", "interp", "js", "ebpf", "jit"] as const) {
  test(`filter -r -w counts and writes the matching packets (engine ${engine})`, needShared, async () => {
    const out = join(dir, `seed-${engine}.pcap`);
    const r = await cli(["filter", "ip and tcp port 8080", "-r", MIXED, "-w", out, "--engine", engine]);
    assert.equal(r.status, 0, r.err);
    assert.equal(r.out, "301 of 10000 packets matched\n");
    assert.match(r.err, /^reading from file .*mixed-10k\.pcap, link-type EN10MB \(Ethernet\), snapshot length 262144\n$/);
    const written = readCapture(new Uint8Array(readFileSync(out)));
    assert.equal(written.format, "pcap");
    assert.equal(written.packets.length, 301);
    assert.equal(written.interfaces[0]!.linktype, 1);
  });
}

test("filter -r pcapng, -c stops after N matches, --pcapng writes pcapng", needShared, async () => {
  let r = await cli(["filter", "udp port 53", "-r", MIXED_NG, "-c", "7", "-w", join(dir, "dns.pcapng"), "--pcapng"]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^7 of \d+ packets matched\n$/);
  const c = readCapture(new Uint8Array(readFileSync(join(dir, "dns.pcapng"))));
  assert.equal(c.format, "pcapng");
  assert.equal(c.packets.length, 7);
  r = await cli(["filter", "vlan and ip6", "-r", MIXED_NG, "-q"]);
  assert.equal(r.out, "");
  r = await cli(["filter", "less 1", "-r", MIXED, "-w", join(dir, "none.pcap")]);
  assert.equal(r.out, "0 of 10000 packets matched\n");
  assert.equal(readCapture(new Uint8Array(readFileSync(join(dir, "none.pcap")))).packets.length, 0);
  r = await cli(["filter", "-d", "-r", MIXED, "tcp"]);
  assert.equal(r.out, readSharedText("cbpf/005.d"));
});

test("drop-in for tcpdump -r x.pcap -w y.pcap EXPR: the same bytes", { skip: !HAVE_SHARED ? "no ../shared" : !haveTcpdump ? "tcpdump is not installed" : false }, async () => {
  for (const [input, expr] of [[MIXED, "ip and tcp port 8080"], [MIXED_NG, "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0"], [join(PCAP_DIR, "loopback-http.pcap"), "tcp"]] as const) {
    const ours = join(dir, "ours.pcap");
    const theirs = join(dir, "theirs.pcap");
    execFileSync("tcpdump", ["-r", input, "-w", theirs, "--", expr], { stdio: "ignore" });
    for (const engine of ["auto", "jit"]) {
      const r = await cli(["filter", expr, "-r", input, "-w", ours, "--engine", engine]);
      assert.equal(r.status, 0, r.err);
      assert.deepEqual(readFileSync(ours), readFileSync(theirs), `${input}: ${expr} (${engine})`);
    }
  }
});

test("cbpf: loads -dd/-ddd text and raw bytes; lists, checks, converts, runs", needShared, async () => {
  const dd = join(PCAP_DIR, "cbpf/017.dd");
  let r = await cli(["cbpf", dd]);
  assert.equal(r.status, 0, r.err);
  assert.equal(r.out, readSharedText("cbpf/017.d"));
  const raw = join(dir, "seed.bin");
  r = await cli(["cbpf", dd, "-o", raw]);
  assert.equal(r.status, 0, r.err);
  assert.equal(readFileSync(raw).length, 13 * 8);
  r = await cli(["cbpf", raw, "-dd"]);
  assert.equal(r.out, readSharedText("cbpf/017.dd"));
  const ddd = join(dir, "seed.ddd");
  writeFileSync(ddd, (await cli(["cbpf", raw, "-ddd"])).out);
  r = await cli(["cbpf", ddd]);
  assert.equal(r.out, readSharedText("cbpf/017.d"));
  r = await cli(["cbpf", dd, "--check"]);
  assert.equal(r.status, 0);
  assert.equal(r.out, "kernel (bpf_check_classic): accepted\nlibpcap (bpf_validate): accepted\n");
  r = await cli(["cbpf", join(PCAP_DIR, "cbpf/055.dd"), "--check"]);
  assert.equal(r.status, 1);
  assert.match(r.out, /kernel \(bpf_check_classic\): rejected: .*backward/);
  r = await cli(["cbpf", dd, "--convert"]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^ {3}0: \(ac\) w0 \^= w0\n/);
  assert.match(r.out, /\(95\) exit/);
  for (const engine of ["interp", "js", "ebpf", "jit"]) {
    r = await cli(["cbpf", dd, "-r", MIXED, "--engine", engine]);
    assert.equal(r.out, "301 of 10000 packets matched\n", engine);
  }
  const garbage = join(dir, "garbage.txt");
  writeFileSync(garbage, "{ 0x28, 0, 0 }\n");
  r = await cli(["cbpf", garbage]);
  assert.equal(r.status, 1);
  assert.match(r.err, /garbage\.txt: line 1: expected \{ code, jt, jf, k \}/);
});

test("filter on big-endian and nanosecond captures, and on a truncated one", needShared, async () => {
  const src = readCapture(new Uint8Array(readFileSync(MIXED))).packets;
  const be = join(dir, "be-nano.pcap");
  writeFileSync(be, collectBytes((sink) => {
    const w = new PcapWriter(sink, { linktype: 1, snaplen: 262144, nanosecond: true, littleEndian: false });
    for (const p of src) w.write(p);
    w.close();
  }));
  let r = await cli(["filter", "ip and tcp port 8080", "-r", be, "-w", join(dir, "be-out.pcap")]);
  assert.equal(r.status, 0, r.err);
  assert.equal(r.out, "301 of 10000 packets matched\n");
  // A nanosecond file written with --nano keeps its resolution (the fast path copies records).
  const nano = join(dir, "le-nano.pcap");
  writeFileSync(nano, collectBytes((sink) => {
    const w = new PcapWriter(sink, { linktype: 1, snaplen: 262144, nanosecond: true });
    for (const p of src) w.write(p);
    w.close();
  }));
  r = await cli(["filter", "tcp", "-r", nano, "-w", join(dir, "nano-out.pcap"), "--nano"]);
  assert.equal(r.out, "4617 of 10000 packets matched\n");
  const back = readCapture(new Uint8Array(readFileSync(join(dir, "nano-out.pcap"))));
  assert.equal(back.interfaces[0]!.tsresol, 9);
  const tcp = new CbpfProgram(compileFilterExpression("tcp"));
  assert.deepEqual(back.packets.map((p) => p.timestampNs), src.filter((p) => tcp.matches(p)).map((p) => p.timestampNs));
  const cut = join(dir, "cut.pcap");
  writeFileSync(cut, readFileSync(MIXED).subarray(0, 100000));
  r = await cli(["filter", "tcp", "-r", cut]);
  assert.equal(r.status, 1);
  assert.match(r.err, /cut\.pcap: truncated pcap record/);
});

test("filter fast path: a record larger than the read buffer, an invalid caplen after good records (every engine)", async () => {
  // pcap header (snaplen 16 MiB), then records of a TCP/IPv4 Ethernet frame of `size` bytes.
  const record = (size: number, caplen = size): Uint8Array => {
    const r = new Uint8Array(16 + Math.min(size, caplen === size ? size : 0));
    const v = new DataView(r.buffer);
    v.setUint32(8, caplen, true);
    v.setUint32(12, size, true);
    if (r.length > 16 + 23) {
      r[16 + 12] = 0x08;
      r[16 + 14] = 0x45;
      r[16 + 23] = 6;
    }
    return r;
  };
  const file = (name: string, recs: Uint8Array[]): string => {
    const hdr = new Uint8Array(24);
    const v = new DataView(hdr.buffer);
    v.setUint32(0, 0xa1b2c3d4, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setUint32(16, 16 << 20, true);
    v.setUint32(20, 1, true);
    const path = join(dir, name);
    writeFileSync(path, Buffer.concat([hdr, ...recs]));
    return path;
  };
  const big = file("big-record.pcap", [record(60), record(9 << 20), record(70)]);
  const bad = file("bad-caplen.pcap", [record(60), record(80), record(60, 0x7fffffff)]);
  let first: Buffer | undefined;
  for (const engine of ["interp", "js", "ebpf", "jit"]) {
    const out = join(dir, `big-${engine}.pcap`);
    let r = await cli(["filter", "tcp", "-r", big, "-w", out, "--engine", engine]);
    assert.equal(r.status, 0, r.err);
    assert.equal(r.out, "3 of 3 packets matched\n", engine);
    const bytes = readFileSync(out);
    first ??= bytes;
    assert.deepEqual(bytes, first, engine);
    assert.equal(readCapture(new Uint8Array(bytes)).packets[1]!.caplen, 262144);
    r = await cli(["filter", "tcp", "-r", bad, "--engine", engine]);
    assert.equal(r.status, 1, engine);
    assert.match(r.err, /bad-caplen\.pcap: invalid packet capture length 2147483647/, engine);
  }
});
