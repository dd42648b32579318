// Map hot-path timings (not part of npm test): `node --import tsx test/maps/bench.ts`.
// A kernel-side lookup as a program does it: the key sits at an address (the stack),
// the map hashes it in place. Prints ns per operation and a calibration loop, since
// absolute numbers depend on the machine.
import { BPF_ANY, BPF_NOEXIST, createMap, type ArrayMap, type HashMap, type LpmTrieMap, ipv4LpmKey } from "../../src/maps/index.js";
import { makeEnv, place, u32 } from "./env.js";

const env = makeEnv(2);
const u8 = env.space.u8;

function time(label: string, reps: number, body: (i: number) => number): void {
  let sink = 0;
  for (let i = 0; i < reps / 10; i++) sink += body(i); // warm up
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) sink += body(i);
    runs.push(Number(process.hrtime.bigint() - t0) / reps);
  }
  runs.sort((a, b) => a - b);
  console.log(`${label.padEnd(52)} ${runs[2]!.toFixed(1).padStart(7)} ns/op${sink === 0.5 ? "!" : ""}`);
}

let x = 1;
time("calibration: x = (x * 31 + i) | 0", 20_000_000, (i) => (x = (x * 31 + i) | 0) & 0);

const N = Number(process.env.FLOWS ?? 10_000);
const h = createMap({ name: "flows", type: "BPF_MAP_TYPE_HASH", keySize: 16, valueSize: 8, maxEntries: 65536, flags: 0 }, env) as HashMap;
const keys: Uint8Array[] = [];
const slot = place(env, new Uint8Array(16));
const val = place(env, new Uint8Array(8));
for (let i = 0; i < N; i++) {
  const k = new Uint8Array(16);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, 0x0a000000 + i, false);
  dv.setUint32(4, 0xc0a80001, false);
  dv.setUint16(8, 1024 + (i & 1023));
  dv.setUint16(10, 80);
  k[12] = 6;
  keys.push(k);
  u8.set(k, slot);
  h.updateElem(slot, val, BPF_NOEXIST);
}
// Build keys in place with word stores, as a program writes its stack.
const w = new Int32Array(u8.buffer);
const kw = keys.map((k) => new Int32Array(k.buffer));
const setKey = (i: number): void => {
  const k = kw[i % N]!;
  const s = slot >> 2;
  w[s] = k[0]!;
  w[s + 1] = k[1]!;
  w[s + 2] = k[2]!;
  w[s + 3] = k[3]!;
};
time("store 16-byte key (baseline)", 2_000_000, (i) => (setKey(i), 0));
time(`HASH 16-byte key lookup, hit (${N} flows)`, 2_000_000, (i) => (setKey(i), h.lookupElem(slot)));
time("HASH 16-byte key lookup, same key", 2_000_000, () => h.lookupElem(slot));
time("HASH 16-byte key update, existing key", 1_000_000, (i) => (setKey(i), h.updateElem(slot, val, BPF_ANY)));
let miss = 0;
time("HASH 16-byte key lookup, miss", 2_000_000, () => {
  w[slot >> 2] = 0x7f000000 + (miss++ & 0xffff);
  return h.lookupElem(slot);
});
const ins = createMap({ name: "ins", type: "BPF_MAP_TYPE_HASH", keySize: 16, valueSize: 8, maxEntries: 1 << 20, flags: 0 }, env) as HashMap;
let n = 0;
time("HASH 16-byte key insert + delete", 500_000, () => {
  w[slot >> 2] = n++;
  return ins.updateElem(slot, val, BPF_NOEXIST) + ins.deleteElem(slot);
});

const a = createMap({ name: "arr", type: "BPF_MAP_TYPE_ARRAY", keySize: 4, valueSize: 8, maxEntries: 256, flags: 0 }, env) as ArrayMap;
const ka = place(env, u32(7));
time("ARRAY lookup", 5_000_000, () => a.lookupElem(ka));
time("ARRAY update", 2_000_000, () => a.updateElem(ka, val, BPF_ANY));
const pa = createMap({ name: "parr", type: "BPF_MAP_TYPE_PERCPU_ARRAY", keySize: 4, valueSize: 8, maxEntries: 256, flags: 0 }, env) as ArrayMap;
time("PERCPU_ARRAY lookup", 5_000_000, () => pa.lookupElem(ka));

const lpm = createMap({ name: "deny", type: "BPF_MAP_TYPE_LPM_TRIE", keySize: 8, valueSize: 4, maxEntries: 64, flags: 1 }, env) as LpmTrieMap;
for (const c of ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "172.16.0.0/12", "192.168.0.0/24", "192.168.2.0/24", "198.51.100.0/24", "203.0.113.7/32"]) lpm.update(ipv4LpmKey(c), u32(1));
const kl = place(env, ipv4LpmKey("10.1.2.3/32"));
const kp = place(env, ipv4LpmKey("192.168.1.10/32"));
time("LPM_TRIE lookup (lpm_deny, match /24)", 2_000_000, () => lpm.lookupElem(kl));
time("LPM_TRIE lookup (lpm_deny, no match)", 2_000_000, () => lpm.lookupElem(kp));
