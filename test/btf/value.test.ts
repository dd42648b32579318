/**
 * Map contents formatted by BTF exactly as `bpftool map dump` prints them
 * (plain, -j, -p). The goldens under test/golden/btf-values/ are the real
 * bpftool's output for maps the kernel created from our fixtures and filled
 * with the entries below (UPDATE_GOLDEN=1 as root rewrites them). The -j golden
 * carries the raw bytes, so the test feeds those bytes to formatMapDump() and
 * compares all three forms. As root with bpftool, the same runs live.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { formatMapDump, formatMapLookup, formatValue, fprintHex, parseBtf, type MapDumpEntry } from "../../src/btf/index.js";
import { loadCollectionSpec, objectNameFromPath, type MapSpecIn } from "../../src/elf/index.js";
import { dumpKernelMaps, type KernelMapDump, type MapUpdate } from "./kernel-maps.js";
import { BtfBuilder } from "./builder.js";
import { FIXTURE_DIR, UPDATE_GOLDEN, kernelAvailable, readBytes } from "./objects.js";
import { REPO_ROOT } from "../support/paths.js";

const GOLDEN = join(REPO_ROOT, "test", "golden", "btf-values");

const le32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const le16 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff];
const le64 = (n: bigint): number[] => Array.from({ length: 8 }, (_, i) => Number((BigInt.asUintN(64, n) >> BigInt(8 * i)) & 0xffn));
const ascii = (s: string, n: number): number[] => Array.from({ length: n }, (_, i) => (i < s.length ? s.charCodeAt(i) : 0));
const zeros = (n: number): number[] => new Array<number>(n).fill(0);

function misc(entry: 0 | 1): number[] {
  const v = zeros(80);
  const put = (off: number, bytes: number[]): void => bytes.forEach((b, i) => (v[off + i] = b));
  if (entry === 0) {
    put(0, [1, 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0x00]);
    put(8, le64(0x1122334455667788n));
    put(16, ascii("hello", 6));
    put(22, [1, 2, 3]);
    put(26, le16(0x0102));
    put(28, [...le16(0xfffe), ...le16(300)]);
    put(32, le32(0xfffffffd));
    put(48, [...le64(0xdeadbeefn), ...le64(0n)]);
    put(64, le32(0xffffffff));
    put(68, [0x41]);
  } else {
    put(0, [0, 0x02, 0, 0, 0, 0, 0, 0x40]);
    put(16, ascii("abcdef", 6));
    put(22, [0xff, 0, 0x7f]);
    put(26, le16(0xffff));
    put(32, le32(9));
    put(48, [...le64(1n), ...le64(0x8000000000000000n)]);
    put(68, [0x07]);
  }
  return v;
}

interface Case {
  readonly obj: string;
  readonly maps: readonly string[];
  readonly updates: Readonly<Record<string, readonly MapUpdate[]>>;
  readonly pinnedByName?: readonly string[];
}

const CASES: readonly Case[] = [
  {
    obj: "btf_maps.o",
    maps: ["flows", "counters", "raw_sizes", "pinned_lru", "locks", "misc", "percpu_raw", "trie"],
    pinnedByName: ["pinned_lru"],
    updates: {
      flows: [
        {
          key: [...le32(0x0100000a), ...le32(0x0200000a), ...le16(0x5000), ...le16(0xbb01), 6, 0, 0, 0],
          value: [...le64(3n), ...le64(180n), ...le32(2), 0b1101_0101, 0x0f, ...ascii("eth0", 8), ...zeros(2)],
        },
      ],
      counters: [{ key: le32(1), value: le64(12345n) }],
      raw_sizes: [{ key: le32(2), value: Array.from({ length: 16 }, (_, i) => i * 17) }],
      pinned_lru: [{ key: le64(0xabcdn), value: le32(77) }],
      locks: [{ key: le32(5), value: [...le32(10), ...le32(0), ...le64(99n)] }],
      misc: [
        { key: le32(0), value: misc(0) },
        { key: le32(1), value: misc(1) },
      ],
      percpu_raw: [{ key: le32(9), value: Array.from({ length: 24 }, (_, i) => 255 - i) }],
      trie: [{ key: [...le32(24), 10, 1, 2, 0], value: le32(3) }],
    },
  },
  {
    obj: "global_data.o",
    maps: ["global_d.data", "global_d.rodata", ".data.custom", "global_d.bss"],
    updates: { "global_d.bss": [{ key: le32(0), value: [...le64(1500n), ...le32(7)] }] },
  },
  {
    obj: "btf_kinds.o",
    maps: ["btf_kind.data"],
    updates: {},
  },
];

/**
 * Entries from a `bpftool -j map dump` (keys and values as "0x.." strings). Read with
 * a pattern, not JSON.parse: bpftool's "formatted" part is not always valid JSON
 * (it writes "(unsupported-kind" for a float).
 */
function entriesFromJson(json: string): MapDumpEntry[] {
  const bytes = (list: string): Uint8Array => Uint8Array.from((list.match(/0x[0-9a-f]{2}/g) ?? []).map((x) => parseInt(x, 16)));
  const out: MapDumpEntry[] = [];
  const re = /\{"key":\[([^\]]*)\],(?:"value":\[([^\]]*)\]|"values":\[((?:\{"cpu":\d+,"value":\[[^\]]*\]\},?)*)\])/g;
  for (const m of json.matchAll(re)) {
    if (m[3] !== undefined) out.push({ key: bytes(m[1]!), values: [...m[3].matchAll(/"value":\[([^\]]*)\]/g)].map((v) => bytes(v[1]!)) });
    else out.push({ key: bytes(m[1]!), value: bytes(m[2]!) });
  }
  return out;
}

function goldenPaths(obj: string, map: string): { plain: string; json: string; pretty: string } {
  const base = join(GOLDEN, obj, map);
  return { plain: `${base}.txt`, json: `${base}.json`, pretty: `${base}.pretty.json` };
}

function compare(spec: MapSpecIn, dump: KernelMapDump, where: string): void {
  const entries = entriesFromJson(dump.json);
  assert.equal(formatMapDump(spec, entries), dump.plain, `${where} (plain)`);
  assert.equal(formatMapDump(spec, entries, { json: true }), dump.json, `${where} (-j)`);
  assert.equal(formatMapDump(spec, entries, { pretty: true }), dump.pretty, `${where} (-p)`);
}

describe("map values formatted like bpftool map dump", () => {
  const live = kernelAvailable();
  for (const c of CASES) {
    const path = join(FIXTURE_DIR, c.obj);
    const spec = loadCollectionSpec(readBytes(path), { name: objectNameFromPath(path) });
    let fresh: Map<string, KernelMapDump> | undefined;
    const kernel = (): Map<string, KernelMapDump> => (fresh ??= dumpKernelMaps(path, c.maps, c.updates, { pinnedByName: c.pinnedByName ?? [] }));
    for (const name of c.maps) {
      const m = spec.maps.find((x) => x.name === name);
      it(`${c.obj} ${name} (golden)`, () => {
        assert.ok(m !== undefined, `no map ${name}`);
        const g = goldenPaths(c.obj, name);
        if (UPDATE_GOLDEN && live) {
          const d = kernel().get(name)!;
          mkdirSync(join(GOLDEN, c.obj), { recursive: true });
          writeFileSync(g.plain, d.plain);
          writeFileSync(g.json, d.json);
          writeFileSync(g.pretty, d.pretty);
        }
        assert.ok(existsSync(g.json), `missing golden ${g.json} (UPDATE_GOLDEN=1 as root with bpftool writes it)`);
        compare(m, { name, plain: readFileSync(g.plain, "utf8"), json: readFileSync(g.json, "utf8"), pretty: readFileSync(g.pretty, "utf8") }, name);
      });
      it(`${c.obj} ${name} (live kernel)`, { skip: live ? undefined : "needs root, bpftool and bpffs" }, () => {
        const d = kernel().get(name);
        assert.ok(d !== undefined, `kernel has no map ${name}`);
        compare(m!, d, `${name} live`);
      });
    }
  }
});

describe("formatValue and friends", () => {
  it("formats a struct in plain and JSON flavours", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, 32, 1); // [1]
    const chr = b.int("char", 1, 8, 2); // [2] BTF_INT_CHAR
    const arr = b.array(chr, int, 4); // [3]
    const ptr = b.ptr(int); // [4]
    const s = b.struct("s", 24, [["a", int, 0], ["name", arr, 32], ["p", ptr, 64], ["c", chr, 128]]);
    const btf = parseBtf(b.build());
    const v = new Uint8Array(24);
    new DataView(v.buffer).setInt32(0, -7, true);
    v.set([0x68, 0x69, 0, 0], 4);
    v[16] = 0x01;
    assert.equal(formatValue(btf.typeById(s), v), '{"a":-7,"name":"hi","p":0,"c":0x1}'.replace("0x1", '"\\u0001"'));
    assert.equal(
      formatValue(btf.typeById(s), v, { plain: true }),
      '{\n    "a": -7,\n    "name": "hi",\n    "p": (nil),\n    "c": 0x1\n}',
    );
  });

  it("reads big-endian values (bitfields as bpftool does under __BIG_ENDIAN_BITFIELD)", () => {
    const b = new BtfBuilder();
    const u32 = b.int("unsigned int", 4, 32);
    const s = b.struct("bf", 4, [["hi", u32, (4 << 24) | 0], ["lo", u32, (4 << 24) | 28]], true);
    const btf = parseBtf(b.build());
    const v = Uint8Array.from([0xa0, 0, 0, 0x0b]);
    assert.equal(formatValue(btf.typeById(s), v, { byteOrder: "big" }), '{"hi":"0xa","lo":"0xb"}');
    assert.equal(formatValue(btf.typeById(u32), Uint8Array.from([0, 0, 1, 2]), { byteOrder: "big" }), "258");
  });

  it("rejects a value shorter than its type", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, 32, 1);
    assert.throws(() => formatValue(parseBtf(b.build()).typeById(int), new Uint8Array(2)), /shorter than its type/);
  });

  it("fprintHex groups bytes like bpftool", () => {
    assert.equal(fprintHex(Uint8Array.from({ length: 20 }, (_, i) => i)), "00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f\n10 11 12 13");
  });

  it("formats a lookup and lookup errors", () => {
    const info = { type: "BPF_MAP_TYPE_HASH", keySize: 4, valueSize: 4 };
    const key = le32(1);
    assert.equal(formatMapLookup(info, { key: Uint8Array.from(key), value: Uint8Array.from(le32(2)) }), "key: 01 00 00 00  value: 02 00 00 00\n");
    assert.equal(
      formatMapLookup(info, { key: Uint8Array.from(key), errno: "ENOENT", message: "No such file or directory" }),
      "key: 01 00 00 00  value: <no entry>\n",
    );
    assert.equal(formatMapDump(info, []), "Found 0 elements\n");
  });
});
