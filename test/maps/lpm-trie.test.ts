// LPM_TRIE: longest-prefix match, update/delete errno, get_next_key postorder, against a
// brute-force model; the bench's deny list.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { BPF_EXIST, BPF_F_NO_PREALLOC, BPF_NOEXIST, EEXIST, EINVAL, ENOENT, ENOSPC, MapError, ipv4LpmKey, lpmKey, type LpmTrieMap } from "../../src/maps/index.js";
import { makeEnv, mk, place, readU32, spec, u32 } from "./env.js";

function errno(f: () => unknown): number {
  try {
    f();
    return 0;
  } catch (e) {
    if (e instanceof MapError) return e.errno;
    throw e;
  }
}

const trie = (max: number, dataSize = 4, valueSize = 4) => spec("BPF_MAP_TYPE_LPM_TRIE", 4 + dataSize, valueSize, max, BPF_F_NO_PREALLOC);
const cidr = (k: Uint8Array): string => `${[...k.subarray(4)].join(".")}/${readU32(k)}`;

function denyList(): Array<[string, number]> {
  return readFileSync(new URL("../../../shared/bench/lpm_deny.txt", import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => {
      const [c, id] = l.trim().split(/\s+/);
      return [c!, Number(id)];
    });
}

test("lpm: the bench deny list (lpm_filter's deny_v4)", () => {
  const env = makeEnv(1);
  const m = mk<LpmTrieMap>(env, trie(64));
  const deny = denyList();
  assert.equal(deny.length, 8);
  for (const [c, id] of deny) m.update(ipv4LpmKey(c), u32(id), BPF_NOEXIST);
  assert.equal(m.size, 8);
  // The packets of the bench: tcp64 from 192.168.1.10 passes, udp512 from 10.1.2.3 matches /24.
  assert.equal(m.lookup(ipv4LpmKey("192.168.1.10/32")), undefined);
  assert.equal(readU32(m.lookup(ipv4LpmKey("10.1.2.3/32"))!), 3);
  assert.equal(readU32(m.lookup(ipv4LpmKey("10.1.3.3/32"))!), 2);
  assert.equal(readU32(m.lookup(ipv4LpmKey("10.200.0.1/32"))!), 1);
  assert.equal(readU32(m.lookup(ipv4LpmKey("172.31.0.1/32"))!), 4);
  assert.equal(m.lookup(ipv4LpmKey("172.32.0.1/32")), undefined);
  assert.equal(readU32(m.lookup(ipv4LpmKey("203.0.113.7/32"))!), 8);
  assert.equal(m.lookup(ipv4LpmKey("203.0.113.6/32")), undefined);
  // A lookup key's own prefix length limits the match.
  assert.equal(readU32(m.lookup(ipv4LpmKey("10.1.2.3/16"))!), 2);
  assert.equal(readU32(m.lookup(ipv4LpmKey("10.1.2.3/23"))!), 2);
  // Kernel side: the value pointer of the longest match.
  const ka = place(env, ipv4LpmKey("10.1.2.200/32"));
  assert.equal(env.space.view.getUint32(m.lookupElem(ka), true), 3);
  assert.equal(m.lookupElem(place(env, ipv4LpmKey("8.8.8.8/32"))), 0);
  // get_next_key: postorder, more specific first (order the kernel gives, checked in kernel-diff).
  const order = [...m.keys()].map(cidr);
  assert.deepEqual(order, ["10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/24", "192.168.2.0/24", "198.51.100.0/24", "203.0.113.7/32"]);
});

test("lpm: update and delete errno (kernel >= 6.13 rules)", () => {
  const env = makeEnv(1);
  const m = mk<LpmTrieMap>(env, trie(3));
  m.update(ipv4LpmKey("10.0.0.0/8"), u32(1));
  assert.equal(errno(() => m.update(ipv4LpmKey("10.0.0.0/8"), u32(1), BPF_NOEXIST)), EEXIST);
  assert.equal(errno(() => m.update(ipv4LpmKey("10.0.0.0/9"), u32(1), BPF_EXIST)), ENOENT);
  m.update(ipv4LpmKey("10.0.0.0/8"), u32(2), BPF_EXIST);
  m.update(ipv4LpmKey("10.128.0.0/9"), u32(3));
  m.update(ipv4LpmKey("11.0.0.0/8"), u32(4)); // makes an intermediate node
  assert.equal(errno(() => m.update(ipv4LpmKey("12.0.0.0/8"), u32(5))), ENOSPC); // full: new prefix
  m.update(ipv4LpmKey("11.0.0.0/8"), u32(6)); // full: replacing is fine
  assert.equal(errno(() => m.update(lpmKey(33, [1, 2, 3, 4]), u32(1))), EINVAL);
  assert.equal(errno(() => m.update(ipv4LpmKey("1.0.0.0/8"), u32(1), 3)), EINVAL);
  assert.equal(errno(() => m.delete(lpmKey(33, [1, 2, 3, 4]))), EINVAL);
  assert.equal(errno(() => m.delete(ipv4LpmKey("10.0.0.0/7"))), ENOENT);
  // The intermediate 10.0.0.0/7 node is not an entry: deleting or exact-updating it.
  assert.equal(errno(() => m.update(ipv4LpmKey("10.0.0.0/7"), u32(7), BPF_EXIST)), ENOENT);
  m.delete(ipv4LpmKey("10.0.0.0/8"));
  assert.equal(errno(() => m.delete(ipv4LpmKey("10.0.0.0/8"))), ENOENT);
  assert.equal(readU32(m.lookup(ipv4LpmKey("10.200.1.1/32"))!), 3);
  assert.equal(m.lookup(ipv4LpmKey("10.1.1.1/32")), undefined);
  m.update(ipv4LpmKey("12.0.0.0/8"), u32(5));
  assert.equal(m.size, 3);
  // Batches use the generic get_next_key walk.
  const b = m.lookupBatch({ count: 10 });
  assert.equal(b.keys.length, 3);
  assert.equal(b.done, true);
  assert.equal(m.deleteBatch(b.keys), 3);
  assert.equal(m.size, 0);
  assert.equal(m.nextKey(), undefined);
});

/** Brute force: the longest stored prefix covering the key. */
function modelLookup(model: Map<string, [number, number[], number]>, plen: number, data: number[]): number | undefined {
  let best: [number, number] | undefined;
  for (const [p, d, v] of model.values()) {
    if (p > plen) continue;
    let ok = true;
    for (let bit = 0; bit < p && ok; bit++) ok = ((d[bit >> 3]! >> (7 - (bit & 7))) & 1) === ((data[bit >> 3]! >> (7 - (bit & 7))) & 1);
    if (ok && (best === undefined || p > best[0])) best = [p, v];
  }
  return best?.[1];
}

const masked = (plen: number, data: number[]): number[] => data.map((b, i) => (i * 8 >= plen ? 0 : i * 8 + 8 <= plen ? b : b & (0xff << (8 - (plen - i * 8)))));

test("lpm model: random updates/deletes/lookups against brute force; get_next_key covers every prefix once, children first", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          op: fc.constantFrom("update", "update", "delete", "lookup"),
          plen: fc.integer({ min: 0, max: 16 }),
          data: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 2, maxLength: 2 }),
          flags: fc.constantFrom(0, BPF_NOEXIST, BPF_EXIST),
        }),
        { maxLength: 120 },
      ),
      (ops) => {
        const env = makeEnv(1);
        const max = 24;
        const m = mk<LpmTrieMap>(env, trie(max, 2));
        const model = new Map<string, [number, number[], number]>();
        ops.forEach(({ op, plen, data, flags }, i) => {
          const d = masked(plen, data);
          const id = `${plen}/${d.join(".")}`;
          const key = lpmKey(plen, d);
          if (op === "update") {
            const exists = model.has(id);
            const want = flags === BPF_NOEXIST && exists ? EEXIST : flags === BPF_EXIST && !exists ? ENOENT : !exists && model.size === max ? ENOSPC : 0;
            assert.equal(errno(() => m.update(key, u32(i), flags)), want, `${op} ${id}`);
            if (want === 0) model.set(id, [plen, d, i]);
          } else if (op === "delete") {
            assert.equal(errno(() => m.delete(key)), model.has(id) ? 0 : ENOENT);
            model.delete(id);
          } else {
            const got = m.lookup(lpmKey(plen, data));
            assert.equal(got === undefined ? undefined : readU32(got), modelLookup(model, plen, data), `lookup ${plen}/${data}`);
          }
        });
        const keys = [...m.keys()].map((k) => `${readU32(k)}/${[...k.subarray(4)].join(".")}`);
        assert.deepEqual([...keys].sort(), [...model.keys()].sort());
        // Postorder: a prefix comes after every stored prefix it covers.
        const pos = new Map(keys.map((k, i) => [k, i]));
        for (const [a, [pa, da]] of model) {
          for (const [b, [pb, db]] of model) {
            if (pb > pa && modelLookup(new Map([[a, [pa, da, 1]]]), pb, db) === 1) assert.ok(pos.get(b)! < pos.get(a)!, `${b} before ${a}`);
          }
        }
        // Resuming from each key gives the next one; from a missing key, the first.
        keys.forEach((k, i) => {
          const [p, rest] = k.split("/");
          const nk = m.nextKey(lpmKey(Number(p), rest!.split(".").map(Number)));
          assert.equal(nk === undefined ? undefined : `${readU32(nk)}/${[...nk.subarray(4)].join(".")}`, keys[i + 1]);
        });
        m.close();
      },
    ),
    { numRuns: 200 },
  );
});

test("lpm: wider keys (IPv6-sized, 16 bytes)", () => {
  const env = makeEnv(1);
  const m = mk<LpmTrieMap>(env, trie(16, 16, 8));
  const v6 = (s: number[], plen: number): Uint8Array => lpmKey(plen, [...s, ...new Array(16 - s.length).fill(0)]);
  m.update(v6([0x20, 0x01, 0x0d, 0xb8], 32), new Uint8Array(8).fill(1));
  m.update(v6([0x20, 0x01, 0x0d, 0xb8, 0, 1], 48), new Uint8Array(8).fill(2));
  assert.equal(m.lookup(v6([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0xff], 128))![0], 2);
  assert.equal(m.lookup(v6([0x20, 0x01, 0x0d, 0xb8, 0, 2], 128))![0], 1);
  assert.equal(m.lookup(v6([0x20, 0x02], 128)), undefined);
});
