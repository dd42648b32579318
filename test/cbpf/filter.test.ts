// The filter compiler against tcpdump's golden data (../shared/pcap): for every row of
// filters.tsv, our program is tcpdump's (optimised and with -O), the instruction-count
// figure, and the verdicts of the compiled program on the cBPF interpreter and, converted
// to eBPF, on src/vm's interpreter equal tcpdump's packet for packet (mixed-10k.pcap,
// with counts on mixed-10k.pcapng and loopback-http.pcap). Every filters-invalid.tsv row
// is rejected with tcpdump's message.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CbpfProgram,
  EbpfFilter,
  FilterError,
  compileFilterExpression,
  formatListing,
  parseC,
  type SockFilter,
} from "../../src/cbpf/index.js";
import { readCapture, type PacketRecord } from "../../src/pcap/index.js";
import { HAVE_SHARED, bitmapHex, filterRows, needShared, readShared, readSharedText, type FilterRow } from "../pcap/fixtures.js";

const rows: FilterRow[] = HAVE_SHARED ? filterRows() : [];
const compiled = new Map<string, SockFilter[]>();
const program = (row: FilterRow): SockFilter[] => {
  let p = compiled.get(row.id);
  if (p === undefined) {
    p = compileFilterExpression(row.expr);
    compiled.set(row.id, p);
  }
  return p;
};

test("the seed: `ip and tcp port 8080` is tcpdump's 13-line listing", () => {
  const want = [
    "(000) ldh      [12]",
    "(001) jeq      #0x800           jt 2\tjf 12",
    "(002) ldb      [23]",
    "(003) jeq      #0x6             jt 4\tjf 12",
    "(004) ldh      [20]",
    "(005) jset     #0x1fff          jt 12\tjf 6",
    "(006) ldxb     4*([14]&0xf)",
    "(007) ldh      [x + 14]",
    "(008) jeq      #0x1f90          jt 11\tjf 9",
    "(009) ldh      [x + 16]",
    "(010) jeq      #0x1f90          jt 11\tjf 12",
    "(011) ret      #262144",
    "(012) ret      #0",
    "",
  ].join("\n");
  assert.equal(formatListing(compileFilterExpression("ip and tcp port 8080")), want);
});

test("every golden row: listing byte-identical to tcpdump -d, optimised and -O", needShared, () => {
  let identical = 0;
  let identicalUnopt = 0;
  const diffs: string[] = [];
  for (const row of rows) {
    const got = formatListing(program(row));
    if (got === readSharedText(`cbpf/${row.id}.d`)) identical++;
    else diffs.push(`${row.id} ${row.expr}`);
    const unopt = formatListing(compileFilterExpression(row.expr, { optimize: false }));
    if (unopt === readSharedText(`cbpf/${row.id}.unopt.d`)) identicalUnopt++;
    else diffs.push(`${row.id} (-O) ${row.expr}`);
  }
  assert.deepEqual(diffs, []);
  assert.equal(identical, 117);
  assert.equal(identicalUnopt, 117);
});

test("instruction count: total within 20% of tcpdump's optimised counts (it is equal)", needShared, () => {
  let ours = 0;
  let theirs = 0;
  for (const row of rows) {
    ours += program(row).length;
    theirs += row.insns;
  }
  const ratio = ours / theirs;
  console.log(`# filter compiler: ${ours} instructions over ${rows.length} rows, tcpdump ${theirs} (ratio ${ratio.toFixed(3)})`);
  assert.ok(Math.abs(ratio - 1) <= 0.2, `ratio ${ratio}`);
  assert.equal(ours, theirs);
});

const packets = HAVE_SHARED ? readCapture(readShared("mixed-10k.pcap")).packets : [];
const packetsNg = HAVE_SHARED ? readCapture(readShared("mixed-10k.pcapng")).packets : [];
const loopback = HAVE_SHARED ? readCapture(readShared("loopback-http.pcap")).packets : [];

type Engine = { matches(p: PacketRecord): boolean; close?(): void };
const ENGINES: ReadonlyArray<readonly [string, (p: SockFilter[]) => Engine]> = [
  ["cBPF interpreter", (p) => new CbpfProgram(p)],
  ["converted eBPF on the eBPF interpreter", (p) => new EbpfFilter(p)],
];

for (const [name, make] of ENGINES) {
  test(`${name}: verdicts equal tcpdump's on every packet of every golden row`, needShared, () => {
    for (const row of rows) {
      const e = make(program(row));
      try {
        const got = packets.map((p) => e.matches(p));
        assert.equal(bitmapHex(got), readSharedText(`cbpf/${row.id}.match`).trim(), `${row.id}: ${row.expr}`);
        assert.equal(got.filter(Boolean).length, row.matchesMixed10k, `${row.id} mixed-10k count`);
        assert.equal(packetsNg.filter((p) => e.matches(p)).length, row.matchesMixed10k, `${row.id} pcapng count`);
        assert.equal(loopback.filter((p) => e.matches(p)).length, row.matchesLoopback, `${row.id} loopback count`);
      } finally {
        e.close?.();
      }
    }
  });
}

test("the compiled program and tcpdump's cbpf/NNN.dd give the same verdicts", needShared, () => {
  for (const row of rows) {
    const ours = new CbpfProgram(program(row));
    const theirs = new CbpfProgram(parseC(readSharedText(`cbpf/${row.id}.dd`)));
    for (const p of packets) {
      if (ours.matches(p) !== theirs.matches(p)) assert.fail(`${row.id} (${row.expr}) packet ${p.index}`);
    }
  }
});

test("every filters-invalid.tsv row is rejected with tcpdump's message", needShared, () => {
  const lines = readSharedText("filters-invalid.tsv").split("\n").filter((l) => l !== "").slice(1);
  assert.equal(lines.length, 14);
  for (const line of lines) {
    const [expr, tcpdumpError, tcpdumpOError] = line.split("\t") as [string, string, string];
    const want = tcpdumpError.replace(/^tcpdump: /, "").replace(/^can't parse filter expression: /, "");
    assert.throws(
      () => compileFilterExpression(expr),
      (e: unknown) => {
        assert.ok(e instanceof FilterError, `${expr}: ${String(e)}`);
        assert.equal(e.code, "ECBPF");
        assert.equal(e.message, want, expr);
        return true;
      },
    );
    // "expression rejects all packets" comes from the optimiser: -O accepts the expression.
    if (tcpdumpOError.startsWith("(accepted")) assert.ok(compileFilterExpression(expr, { optimize: false }).length > 0);
  }
});

test("error positions point at the offending text", () => {
  const at = (expr: string): [string, number, number, string] => {
    try {
      compileFilterExpression(expr);
    } catch (e) {
      assert.ok(e instanceof FilterError);
      return [e.reason, e.position, e.length, e.message];
    }
    throw new Error(`${expr} compiled`);
  };
  assert.deepEqual(at("tcp port 99999"), ["semantic", 9, 5, "illegal port number 99999 > 65535"]);
  assert.deepEqual(at("host"), ["syntax", 4, 0, "syntax error"]);
  assert.deepEqual(at("tcp and and udp"), ["syntax", 8, 3, "syntax error"]);
  assert.deepEqual(at("ether host 01:02:03"), ["lexical", 11, 6, "bogus ethernet address 01:02:"]);
  assert.deepEqual(at("ip and host nosuchhost.example"), ["semantic", 12, 18, "unknown host 'nosuchhost.example'"]);
  assert.deepEqual(at("ip[1:3] = 0"), ["semantic", 0, 7, "data size must be 1, 2, or 4"]);
  assert.deepEqual(at("port 0x100000000"), ["lexical", 5, 11, "number 0x100000000 overflows 32 bits"]);
  // As in libpcap, what precedes a syntax error is compiled first.
  assert.deepEqual(at("host foo and ("), ["semantic", 5, 3, "unknown host 'foo'"]);
  const e = (() => {
    try {
      compileFilterExpression("tcp port 99999");
    } catch (x) {
      return x as FilterError;
    }
    return undefined;
  })();
  assert.equal(e?.caret(), "tcp port 99999\n         ^^^^^");
});
