// Model-based property tests: random operation sequences on HASH / PERCPU_HASH /
// ARRAY maps compared with a plain JS Map, through both the user-space and the
// kernel-side (address) interfaces.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { BPF_ANY, BPF_EXIST, BPF_F_NO_PREALLOC, BPF_NOEXIST, E2BIG, EEXIST, EINVAL, ENOENT, MapError, createMap, type BpfMap } from "../../src/maps/index.js";
import { makeEnv, place } from "./env.js";

function errno(f: () => unknown): number {
  try {
    f();
    return 0;
  } catch (e) {
    if (e instanceof MapError) return e.errno;
    throw e;
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

type Cmd =
  | { t: "update"; k: number; v: number; flags: number; viaProg: boolean }
  | { t: "delete"; k: number; viaProg: boolean }
  | { t: "lookup"; k: number; viaProg: boolean }
  | { t: "lookupAndDelete"; k: number }
  | { t: "walk" }
  | { t: "batch"; count: number };

const cmd = (keys: number): fc.Arbitrary<Cmd> =>
  fc.oneof(
    fc.record({ t: fc.constant("update" as const), k: fc.nat(keys), v: fc.nat(), flags: fc.constantFrom(BPF_ANY, BPF_NOEXIST, BPF_EXIST), viaProg: fc.boolean() }),
    fc.record({ t: fc.constant("delete" as const), k: fc.nat(keys), viaProg: fc.boolean() }),
    fc.record({ t: fc.constant("lookup" as const), k: fc.nat(keys), viaProg: fc.boolean() }),
    fc.record({ t: fc.constant("lookupAndDelete" as const), k: fc.nat(keys) }),
    fc.record({ t: fc.constant("walk" as const) }),
    fc.record({ t: fc.constant("batch" as const), count: fc.integer({ min: 1, max: 6 }) }),
  );

function keyBytes(k: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (k * 131 + i * 7) & 0xff;
  b[0] = k & 0xff;
  b[size - 1] = (k >> 8) & 0xff;
  return b;
}

function valBytes(v: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (v >> ((i & 3) * 8)) & 0xff;
  return b;
}

test("hash maps behave like a bounded JS Map", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(4, 5, 8, 16),
      fc.constantFrom(1, 3, 8),
      fc.constantFrom(0, BPF_F_NO_PREALLOC),
      fc.integer({ min: 1, max: 12 }),
      fc.array(cmd(20), { maxLength: 150 }),
      (keySize, valueSize, flags, max, cmds) => {
        const env = makeEnv(2);
        const m = createMap({ name: "model", type: "BPF_MAP_TYPE_HASH", keySize, valueSize, maxEntries: max, flags }, env);
        const model = new Map<string, string>();
        const kslot = place(env, new Uint8Array(keySize));
        const vslot = place(env, new Uint8Array(valueSize));
        for (const c of cmds) {
          if (c.t === "walk" || c.t === "batch") {
            checkWalk(m, model, c.t === "batch" ? c.count : 0);
            continue;
          }
          const key = keyBytes(c.k, keySize);
          const kh = hex(key);
          const exists = model.has(kh);
          env.space.u8.set(key, kslot);
          if (c.t === "update") {
            const val = valBytes(c.v, valueSize);
            const want = c.flags === BPF_NOEXIST && exists ? EEXIST : c.flags === BPF_EXIST && !exists ? ENOENT : !exists && model.size >= max ? E2BIG : 0;
            let got: number;
            if (c.viaProg) {
              env.space.u8.set(val, vslot);
              got = -m.updateElem(kslot, vslot, c.flags) | 0;
            } else got = errno(() => m.update(key, val, c.flags));
            assert.equal(got, want);
            if (want === 0) model.set(kh, hex(val));
          } else if (c.t === "delete") {
            const got = c.viaProg ? -m.deleteElem(kslot) | 0 : errno(() => m.delete(key));
            assert.equal(got, exists ? 0 : ENOENT);
            model.delete(kh);
          } else if (c.t === "lookup") {
            if (c.viaProg) {
              const va = m.lookupElem(kslot);
              assert.equal(va !== 0, exists);
              if (va !== 0) assert.equal(hex(env.space.u8.slice(va, va + valueSize)), model.get(kh));
            } else {
              const v = m.lookup(key);
              assert.equal(v === undefined ? undefined : hex(v), model.get(kh));
            }
          } else {
            const v = m.lookupAndDelete(key);
            assert.equal(v === undefined ? undefined : hex(v), model.get(kh));
            model.delete(kh);
          }
        }
        checkWalk(m, model, 3);
        m.close();
      },
    ),
    { numRuns: 300 },
  );
});

function checkWalk(m: BpfMap, model: Map<string, string>, batch: number): void {
  const seen = new Map<string, string>();
  if (batch === 0) {
    for (const [k, v] of m.entries()) {
      assert.ok(!seen.has(hex(k)), "a key is visited once");
      seen.set(hex(k), hex(v));
    }
  } else {
    let inBatch: Uint8Array | undefined;
    for (let guard = 0; guard < 1000; guard++) {
      let r;
      try {
        r = m.lookupBatch({ count: batch, inBatch });
      } catch (e) {
        // A bucket larger than count: ENOSPC, retry with a larger count.
        assert.ok(e instanceof MapError && e.errno === 28);
        batch++;
        continue;
      }
      r.keys.forEach((k, i) => seen.set(hex(k), hex(r.values[i]!)));
      if (r.done) break;
      inBatch = r.outBatch;
    }
  }
  assert.deepEqual([...seen.entries()].sort(), [...model.entries()].sort());
}

test("array maps behave like a fixed JS array", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("BPF_MAP_TYPE_ARRAY" as const, "BPF_MAP_TYPE_PERCPU_ARRAY" as const),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 10 }),
      fc.array(fc.record({ i: fc.nat(12), v: fc.nat(), flags: fc.constantFrom(BPF_ANY, BPF_NOEXIST, BPF_EXIST, 3), cpu: fc.nat(2) }), { maxLength: 80 }),
      (type, valueSize, max, cmds) => {
        const env = makeEnv(3);
        const m = createMap({ name: "model", type, keySize: 4, valueSize, maxEntries: max, flags: 0 }, env);
        const stride = Math.ceil(valueSize / 8) * 8;
        const model: string[] = Array.from({ length: max }, () => "00".repeat(m.userValueSize));
        const kslot = place(env, new Uint8Array(4));
        const vslot = place(env, new Uint8Array(valueSize));
        for (const c of cmds) {
          const key = Uint8Array.from([c.i, 0, 0, 0]);
          env.space.u8.set(key, kslot);
          const val = valBytes(c.v, valueSize);
          env.space.u8.set(val, vslot);
          env.cpu = c.cpu;
          const want = c.flags === 3 ? EINVAL : c.i >= max ? E2BIG : c.flags === BPF_NOEXIST ? EEXIST : 0;
          assert.equal(-m.updateElem(kslot, vslot, c.flags) | 0, want);
          if (want === 0) {
            const cur = Buffer.from(model[c.i]!, "hex");
            const off = type === "BPF_MAP_TYPE_PERCPU_ARRAY" ? c.cpu * stride : 0;
            cur.set(val, off);
            model[c.i] = cur.toString("hex");
          }
          const got = m.lookup(key);
          assert.equal(got === undefined ? undefined : hex(got), model[c.i]);
        }
        for (let i = 0; i < max; i++) assert.equal(hex(m.lookup(Uint8Array.from([i, 0, 0, 0]))!), model[i]);
        m.close();
      },
    ),
    { numRuns: 200 },
  );
});
