// Throughput figures for the pcap readers and the two cBPF engines on
// ../shared/pcap/mixed-10k.pcap (not a test; run with `node --import tsx test/cbpf/bench.ts`).
// Each filter is timed in a child process of its own, so that V8 sees one program
// (as a real filtering run would) and no polymorphic call sites.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { compileFilter, parseC } from "../../src/cbpf/index.js";
import { CaptureReader, PacketRecord, readCapture } from "../../src/pcap/index.js";
import { HAVE_SHARED, SKIP_REASON, filterRows, readShared, readSharedText } from "../pcap/fixtures.js";

/** Rows of filters.tsv matching the README's throughput table (where present). */
const BENCH = ["tcp", "ip and tcp port 8080", "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0", "vlan and ip6", "port 53", "ip6 protochain 6"];

function best(rounds: number, fn: () => number): number {
  let b = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    const n = fn();
    b = Math.min(b, Number(process.hrtime.bigint() - t0) / n);
  }
  return b;
}

function child(engine: "interp" | "js", id: string): void {
  const pk = readCapture(readShared("mixed-10k.pcap")).packets;
  const prog = compileFilter(parseC(readSharedText(`cbpf/${id}.dd`)), { engine: engine === "js" ? "auto" : "interp" });
  let matches = 0;
  const ns = best(15, () => {
    matches = 0;
    for (let rep = 0; rep < 20; rep++) for (const p of pk) if (prog.run(p.buffer, p.len, p.caplen, p.dataOffset) !== 0) matches++;
    return 20 * pk.length;
  });
  process.stdout.write(JSON.stringify({ ns, matches: matches / 20, engine: prog.engine }));
}

function main(): void {
  if (!HAVE_SHARED) {
    console.log(`skipped: ${SKIP_REASON}`);
    return;
  }
  for (const name of ["mixed-10k.pcap", "mixed-10k.pcapng"]) {
    const bytes = readShared(name);
    const rec = new PacketRecord();
    const ns = best(5, () => {
      let n = 0;
      for (let rep = 0; rep < 20; rep++) {
        const r = new CaptureReader();
        for (let o = 0; o < bytes.length; o += 1 << 20) r.push(bytes.subarray(o, o + (1 << 20)));
        r.end();
        while (r.nextInto(rec)) n++;
      }
      return n;
    });
    console.log(`${name.padEnd(18)} ${(1e3 / ns).toFixed(1)} M records/s (${ns.toFixed(1)} ns/record, in memory, 1 MiB chunks)`);
  }
  const rows = filterRows();
  for (const expr of BENCH) {
    const row = rows.find((r) => r.expr === expr);
    if (row === undefined) continue;
    const cells: string[] = [];
    for (const engine of ["interp", "js"] as const) {
      const r = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", engine, row.id], { encoding: "utf8" });
      const res = JSON.parse(r.stdout) as { ns: number; engine: string };
      cells.push(`${res.engine.padEnd(6)} ${res.ns.toFixed(1).padStart(5)} ns/pkt`);
    }
    console.log(`${expr.padEnd(42)} ${cells.join("   ")}`);
  }
}

const i = process.argv.indexOf("--child");
if (i >= 0) child(process.argv[i + 1] as "interp" | "js", process.argv[i + 2]!);
else main();
