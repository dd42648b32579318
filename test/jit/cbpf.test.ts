// Legacy packet loads (BPF_LD_ABS/IND) through the JIT: the eBPF conversion of every
// golden pcap filter (../shared/pcap, 117 expressions, optimised and not) on the
// first 1,000 packets of mixed-10k.pcap, with a socket-filter-like ctx whose loads the
// `ldAbs` loader serves. The JIT in checked mode must give the interpreter's r0 and
// executed count on every packet, verified mode the same r0; out-of-bounds loads end
// the run with 0 in the middle of a batch too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { convertToEbpf, parseC } from "../../src/cbpf/index.js";
import { readCapture, type PacketRecord } from "../../src/pcap/index.js";
import { AddressSpace, Machine, predecode } from "../../src/vm/index.js";
import { JitMachine } from "../../src/jit/index.js";
import { HAVE_SHARED, filterRows, needShared, readShared, readSharedText } from "../pcap/fixtures.js";

const SK_BUFF_SIZE = 192;

test("converted cBPF filters: interpreter = JIT (checked, verified) on every golden filter", needShared, () => {
  const packets = HAVE_SHARED ? readCapture(readShared("mixed-10k.pcap")).packets.slice(0, 1000) : [];
  const space = new AddressSpace();
  const ctx = space.map(SK_BUFF_SIZE, { name: "__sk_buff", kind: "ctx" });
  let cur: PacketRecord = packets[0]!;
  const ldAbs = (_ctx: number, offset: number, size: 1 | 2 | 4): number | undefined => {
    if (offset < 0 || offset + size > cur.caplen) return undefined;
    const b = cur.buffer;
    const o = cur.dataOffset + offset;
    return size === 1 ? b[o]! : size === 2 ? (b[o]! << 8) | b[o + 1]! : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  };
  let compared = 0;
  for (const row of filterRows()) {
    for (const v of ["", ".unopt"]) {
      const conv = convertToEbpf(parseC(readSharedText(`cbpf/${row.id}${v}.dd`)), { check: row.expr !== "ip6 protochain 6" });
      const p = predecode(conv.insns);
      const machines = [new Machine(p, space, { ldAbs }), new JitMachine(p, space, { ldAbs }), new JitMachine(p, space, { ldAbs, mode: "verified" })];
      try {
        for (const pkt of packets) {
          cur = pkt;
          space.view.setUint32(ctx.start, pkt.len, true);
          const [a, b, c] = machines.map((m) => {
            m.reset({ r1: BigInt(ctx.start) });
            return m.run();
          });
          assert.deepEqual(b, a, `${row.id}${v} (${row.expr}) packet ${pkt.index}`);
          assert.equal(c!.status === "exit" && c!.r0, a!.status === "exit" && a!.r0, `${row.id}${v} verified, packet ${pkt.index}`);
          compared++;
        }
        // a batch over one packet keeps going after runs ended by out-of-bounds loads
        cur = packets[0]!;
        space.view.setUint32(ctx.start, cur.len, true);
        const jm = machines[1] as JitMachine;
        const once = jm.runRepeat(1, { r1: BigInt(ctx.start) });
        assert.deepEqual(jm.runRepeat(5, { r1: BigInt(ctx.start) }), once);
      } finally {
        for (const m of machines) m.close();
      }
    }
  }
  assert.equal(compared, 117 * 2 * packets.length);
});
