// The five shared bench objects load and run with the kernel's results
// (../shared/bench/ANCHORS.md and README.md): return values for tcp64 and udp512 and
// the map contents afterwards. TSBPF_SHARED points at the shared directory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadCollectionSpec } from "../../src/elf/index.js";
import { Runtime, loadCollection } from "../../src/runtime/index.js";
import { BENCH_DIR, benchObject, benchPacket, denyList } from "../support/bench.js";
import { missing } from "../support/paths.js";

const skip = missing(BENCH_DIR, "TSBPF_SHARED");

function load(name: string, rt = new Runtime()) {
  const spec = loadCollectionSpec(benchObject(name), { name });
  const col = loadCollection(rt, spec);
  const prog = col.programs.get(name);
  assert.ok(prog, `program ${name}`);
  return { rt, col, prog: prog! };
}

test("alu_loop and stack_sieve return the anchor values on both packets", { skip }, () => {
  for (const [name, want] of [["alu_loop", 4085796046], ["stack_sieve", 309]] as const) {
    const { prog } = load(name);
    for (const pkt of ["tcp64", "udp512"] as const) {
      const r = prog.testRun({ dataIn: benchPacket(pkt) });
      assert.equal(r.retval, want, `${name} ${pkt}`);
      assert.deepEqual(r.dataOut, benchPacket(pkt));
    }
  }
});

test("csum_pkt: 28552 (tcp64) and 1519 (udp512)", { skip }, () => {
  const { prog } = load("csum_pkt");
  assert.equal(prog.testRun({ dataIn: benchPacket("tcp64") }).retval, 28552);
  assert.equal(prog.testRun({ dataIn: benchPacket("udp512") }).retval, 1519);
});

test("flow_count: XDP_PASS, the flow table counts packets and bytes, port 23 is dropped", { skip }, () => {
  const { prog, col } = load("flow_count");
  const flows = col.maps.get("flows")!;
  assert.equal(flows.spec.type, "BPF_MAP_TYPE_HASH");
  const r = prog.testRun({ dataIn: benchPacket("tcp64"), repeat: 5 });
  assert.equal(r.retval, 2);
  prog.testRun({ dataIn: benchPacket("udp512"), repeat: 3 });
  const entries = new Map<string, [bigint, bigint]>();
  for (let k = flows.nextKey(); k !== undefined; k = flows.nextKey(k)) {
    const v = new DataView(flows.lookup(k)!.buffer);
    entries.set(Buffer.from(k).toString("hex"), [v.getBigUint64(0, true), v.getBigUint64(8, true)]);
  }
  // keys: saddr, daddr, sport, dport (network order), proto, pad
  assert.deepEqual(entries.get("c0a8010ac0a80114" + "9c40" + "0050" + "06000000"), [5n, 5n * 64n]);
  assert.deepEqual(entries.get("0a0102030a040506" + "9c41" + "270f" + "11000000"), [3n, 3n * 512n]);
  assert.equal(entries.size, 2);
  // TCP destination port 23 -> XDP_DROP
  const telnet = benchPacket("tcp64");
  telnet[14 + 20 + 2] = 0;
  telnet[14 + 20 + 3] = 23;
  assert.equal(prog.testRun({ dataIn: telnet }).retval, 1);
  // not IPv4 -> XDP_PASS, table untouched
  const arp = benchPacket("tcp64");
  arp[12] = 0x08;
  arp[13] = 0x06;
  const before = flows.nextKey() !== undefined ? 3 : 0;
  assert.equal(prog.testRun({ dataIn: arp }).retval, 2);
  assert.equal(before, 3);
});

test("lpm_filter: miss passes, hit drops, per-CPU verdict counters", { skip }, () => {
  const { prog, col } = load("lpm_filter");
  const deny = col.maps.get("deny_v4")!;
  for (const { key, value } of denyList()) deny.update(key, value);
  assert.equal(prog.testRun({ dataIn: benchPacket("tcp64"), repeat: 4, cpu: 1 }).retval, 2);
  assert.equal(prog.testRun({ dataIn: benchPacket("udp512"), repeat: 3, cpu: 1 }).retval, 1);
  const verdicts = col.maps.get("verdicts")!;
  const slot = (i: number) => {
    const k = new Uint8Array(4);
    new DataView(k.buffer).setUint32(0, i, true);
    return verdicts.lookupPerCpu(k)!.map((v) => new DataView(v.buffer, v.byteOffset).getBigUint64(0, true));
  };
  assert.deepEqual(slot(2), [0n, 4n]);
  assert.deepEqual(slot(1), [0n, 3n]);
  assert.deepEqual(slot(0), [0n, 0n]);
});
