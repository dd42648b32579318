// The shared bench objects (../shared/bench/obj) on the interpreter and on the JIT in
// checked and verified mode, over both packets with repeats: equal r0, data_out,
// executed count (checked), map contents and address-space bytes; and the anchor
// return values. TSBPF_SHARED points at the shared directory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadCollectionSpec } from "../../src/elf/index.js";
import { BENCH_DIR, benchObject, benchPacket, denyList } from "../support/bench.js";
import { missing } from "../support/paths.js";
import { dumpMaps, loadCollectionWith, newRuntime, type EngineChoice } from "./harness.js";

const skip = missing(BENCH_DIR, "TSBPF_SHARED");
const WANT: Record<string, [number, number]> = {
  alu_loop: [4085796046, 4085796046],
  stack_sieve: [309, 309],
  csum_pkt: [28552, 1519],
  flow_count: [2, 2],
  lpm_filter: [2, 1],
};

function runAll(name: string, engine: EngineChoice) {
  const rt = newRuntime();
  const col = loadCollectionWith(rt, loadCollectionSpec(benchObject(name), { name }), engine);
  try {
    if (name === "lpm_filter") for (const { key, value } of denyList()) col.maps.get("deny_v4")!.update(key, value);
    const runs: unknown[] = [];
    const prog = col.programs.get(name)!;
    for (const pkt of ["tcp64", "udp512", "tcp64"] as const) {
      for (const cpu of [0, 1]) {
        const r = prog.testRun({ dataIn: benchPacket(pkt), repeat: 7, cpu });
        runs.push({ pkt, cpu, retval: r.retval, r0: r.r0, dataOut: Buffer.from(r.dataOut!).toString("hex"), ...("mode" in engine && engine.mode === "verified" ? {} : { executed: r.executed }) });
      }
    }
    const memory = rt.space.u8.slice();
    for (const map of col.maps.values()) for (const at of [20, 92]) memory.fill(0, map.address + at, map.address + at + 4);
    return { runs, maps: dumpMaps(col), memory };
  } finally {
    col.close();
  }
}

for (const name of Object.keys(WANT)) {
  test(`${name}: interpreter = JIT (checked) = JIT (verified), anchor results`, { skip }, () => {
    const interp = runAll(name, { engine: "interp" });
    const checked = runAll(name, { engine: "jit", mode: "checked" });
    const verified = runAll(name, { engine: "jit", mode: "verified" });
    assert.deepEqual(checked, interp);
    const strip = (o: typeof interp) => ({ ...o, runs: o.runs.map((r) => ({ ...(r as object), executed: undefined })) });
    assert.deepEqual(strip(verified), strip(interp));
    const [tcp, udp] = WANT[name]!;
    assert.deepEqual((interp.runs as { retval: number }[]).map((r) => r.retval), [tcp, tcp, udp, udp, tcp, tcp]);
  });
}
