// LPM_TRIE lookups that verified-mode JIT code walks in wasm (call.ts, inlineLpmLookup)
// against the map's own lookup (through the interpreter's helper call): random tries of
// several data sizes (chunks of 4, 2 and 1 bytes), inserts and deletes (intermediate
// nodes come and go), keys near the stored prefixes and prefixlens past the maximum.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { BPF_ANY, type BpfMap } from "../../src/maps/index.js";
import { Runtime } from "../../src/runtime/index.js";
import { Machine, predecode } from "../../src/vm/index.js";
import { JitMachine } from "../../src/jit/index.js";
import { call, exit, lddw, mov, prog, r } from "../support/build.js";

function key(plen: number, data: readonly number[]): Uint8Array {
  const k = new Uint8Array(4 + data.length);
  new DataView(k.buffer).setUint32(0, plen >>> 0, true);
  k.set(data, 4);
  return k;
}

/** r0 = bpf_map_lookup_elem(map, r1) on both engines, for each key. */
function lookups(rt: Runtime, map: BpfMap, keys: readonly Uint8Array[]): { interp: bigint[]; jit: bigint[]; inlined: boolean } {
  const p = predecode(prog(mov(2, r(1)), lddw(1, BigInt(map.address)), call(1), exit()));
  const helpers = rt.helpersFor("BPF_PROG_TYPE_XDP");
  const im = new Machine(p, rt.space, { helpers });
  const jm = new JitMachine(p, rt.space, { helpers, mode: "verified" });
  const region = rt.space.map(map.spec.keySize, { name: "key", kind: "mem" });
  try {
    const interp: bigint[] = [];
    const jit: bigint[] = [];
    for (const k of keys) {
      rt.space.u8.set(k, region.start);
      im.reset({ r1: BigInt(region.start) });
      const a = im.run();
      jm.reset({ r1: BigInt(region.start) });
      const b = jm.run();
      assert.equal(a.status, "exit");
      assert.equal(b.status, "exit");
      interp.push(a.status === "exit" ? a.r0 : -1n);
      jit.push(b.status === "exit" ? b.r0 : -1n);
    }
    return { interp, jit, inlined: !jm.compiled.imports.some((d) => d.kind === "lookup" || d.kind === "lookupDyn") };
  } finally {
    rt.space.unmap(region);
    im.close();
    jm.close();
  }
}

test("lpm: the JIT's inlined trie walk finds what the map finds", () => {
  const dataSizes = [1, 2, 3, 4, 5, 6, 7, 8, 16];
  fc.assert(
    fc.property(
      fc.constantFrom(...dataSizes).chain((ds) =>
        fc.record({
          ds: fc.constant(ds),
          ops: fc.array(fc.record({ del: fc.boolean(), plen: fc.integer({ min: 0, max: 8 * ds }), data: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: ds, maxLength: ds }) }), { maxLength: 24 }),
          probes: fc.array(fc.record({ from: fc.nat(), flip: fc.integer({ min: -1, max: 8 * ds - 1 }), plen: fc.integer({ min: 0, max: 8 * ds + 2 }) }), { minLength: 1, maxLength: 24 }),
        }),
      ),
      ({ ds, ops, probes }) => {
        const rt = new Runtime();
        const map = rt.createMap({ name: "t", type: "BPF_MAP_TYPE_LPM_TRIE", keySize: 4 + ds, valueSize: 8, maxEntries: 16, flags: 1 });
        let v = 1;
        for (const o of ops) {
          const k = key(o.plen, o.data);
          try {
            if (o.del) map.delete(k);
            else map.update(k, new Uint8Array(8).fill(v++ & 0xff), BPF_ANY);
          } catch {
            // -ENOENT, -ENOSPC: the trie stays as it was
          }
        }
        // Probes: stored prefixes' data with one bit flipped (or none), at several prefixlens.
        const keys = probes.map((q) => {
          const base = ops.length === 0 ? new Array<number>(ds).fill(0) : [...ops[q.from % ops.length]!.data];
          if (q.flip >= 0) base[q.flip >> 3] = base[q.flip >> 3]! ^ (0x80 >> (q.flip & 7));
          return key(q.plen, base);
        });
        const res = lookups(rt, map, keys);
        assert.ok(res.inlined, "the lookup was not inlined");
        assert.deepEqual(res.jit, res.interp);
      },
    ),
    { numRuns: 150 },
  );
});

test("lpm: inlined lookups in an empty trie, at /0 and at the full length", () => {
  const rt = new Runtime();
  const map = rt.createMap({ name: "t", type: "BPF_MAP_TYPE_LPM_TRIE", keySize: 8, valueSize: 4, maxEntries: 8, flags: 1 });
  const probe = [key(32, [10, 1, 2, 3]), key(0, [0, 0, 0, 0]), key(33, [10, 1, 2, 3]), key(0xffffffff, [10, 1, 2, 3])];
  let res = lookups(rt, map, probe);
  assert.deepEqual(res.jit, [0n, 0n, 0n, 0n]);
  map.update(key(0, [0, 0, 0, 0]), new Uint8Array([1, 0, 0, 0]), BPF_ANY);
  map.update(key(32, [10, 1, 2, 3]), new Uint8Array([2, 0, 0, 0]), BPF_ANY);
  map.update(key(24, [10, 1, 2, 0]), new Uint8Array([3, 0, 0, 0]), BPF_ANY);
  res = lookups(rt, map, [...probe, key(32, [10, 1, 2, 4]), key(32, [11, 0, 0, 0])]);
  assert.deepEqual(res.jit, res.interp);
  assert.ok(res.inlined);
  // /32 hit, /0 default, past the maximum nothing
  assert.notEqual(res.jit[0], 0n);
  assert.notEqual(res.jit[1], 0n);
  assert.equal(res.jit[2], 0n);
  assert.equal(res.jit[3], 0n);
  assert.notEqual(res.jit[4], res.jit[0]);
  assert.equal(res.jit[5], res.jit[1]);
});
