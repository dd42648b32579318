// The converted eBPF of every golden filter, run on the eBPF interpreter (src/vm) with a
// socket-filter-like context: r1 -> struct __sk_buff (len = wire length), legacy packet
// loads (BPF_LD_ABS/IND) served by the Machine's `ldAbs` loader from the captured bytes.
// Verdicts must equal the cBPF interpreter's on every packet of mixed-10k.pcap.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CbpfProgram, convertToEbpf, parseC } from "../../src/cbpf/index.js";
import { readCapture, type PacketRecord } from "../../src/pcap/index.js";
import { AddressSpace, Machine } from "../../src/vm/index.js";
import { HAVE_SHARED, filterRows, needShared, readShared, readSharedText } from "../pcap/fixtures.js";

/** struct __sk_buff is 192 bytes (include/uapi/linux/bpf.h); only `len` (offset 0) is read here. */
const SK_BUFF_SIZE = 192;

test("converted eBPF on the eBPF interpreter = cBPF interpreter, every golden filter, every packet", needShared, () => {
  const packets = HAVE_SHARED ? readCapture(readShared("mixed-10k.pcap")).packets : [];
  const space = new AddressSpace();
  const ctx = space.map(SK_BUFF_SIZE, { name: "__sk_buff", kind: "ctx" });
  let cur: PacketRecord = packets[0]!;
  const ldAbs = (_ctx: number, offset: number, size: 1 | 2 | 4): number | undefined => {
    if (offset < 0 || offset + size > cur.caplen) return undefined;
    const b = cur.buffer;
    const o = cur.dataOffset + offset;
    return size === 1 ? b[o]! : size === 2 ? (b[o]! << 8) | b[o + 1]! : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  };
  let runs = 0;
  for (const row of filterRows()) {
    for (const v of ["", ".unopt"]) {
      const prog = parseC(readSharedText(`cbpf/${row.id}${v}.dd`));
      const interp = new CbpfProgram(prog);
      const conv = convertToEbpf(prog, { check: row.expr !== "ip6 protochain 6" });
      const m = new Machine(conv.insns, space, { ldAbs });
      try {
        for (const p of packets) {
          cur = p;
          space.view.setUint32(ctx.start, p.len, true);
          m.reset({ r1: BigInt(ctx.start) });
          const res = m.run();
          if (res.status !== "exit") assert.fail(`${row.id}${v} packet ${p.index}: ${res.fault.message}`);
          const want = interp.run(p.buffer, p.len, p.caplen, p.dataOffset);
          if (Number(res.r0 & 0xffffffffn) !== want) assert.fail(`${row.id}${v} (${row.expr}) packet ${p.index}: eBPF ${res.r0}, cBPF ${want}`);
          runs++;
        }
      } finally {
        m.close();
      }
    }
  }
  assert.equal(runs, 117 * 2 * packets.length);
});
