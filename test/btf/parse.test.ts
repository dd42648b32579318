/**
 * BTF parsing: the object graph, both byte orders, the sanity checks (each a
 * BtfError naming the type), type queries, and .BTF.ext records.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  alignOf,
  BTF_KIND,
  fieldByPath,
  formatBtfDump,
  memberLayout,
  parseBtf,
  parseBtfExt,
  resolveType,
  sizeOf,
  type Btf,
  type BtfStruct,
} from "../../src/btf/index.js";
import { parseElf, sectionByName } from "../../src/elf/index.js";
import { BtfError, TsbpfError } from "../../src/errors/index.js";
import { BtfBuilder, recordOffset } from "./builder.js";
import { btfSection, fixtureObjects, readBytes } from "./objects.js";

const fixture = (name: string): string => fixtureObjects().find((f) => f.name === name)!.path;
const btfOf = (name: string): Btf => parseBtf(btfSection(fixture(name)));

/** Expects a BtfError; returns it. */
function rejects(bytes: Uint8Array, re: RegExp, typeId?: number): BtfError {
  let caught: unknown;
  try {
    parseBtf(bytes);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof BtfError, `expected a BtfError, got ${String(caught)}`);
  assert.equal(caught.code, "EBTF");
  assert.match(caught.message, re);
  if (typeId !== undefined) assert.equal(caught.typeId, typeId, caught.message);
  return caught;
}

/** Swaps a little-endian BTF blob to big-endian: every BTF record is made of u32 words. */
function toBigEndian(le: Uint8Array): Uint8Array {
  const out = le.slice();
  const v = new DataView(le.buffer, le.byteOffset, le.byteLength);
  const o = new DataView(out.buffer);
  o.setUint16(0, v.getUint16(0, true), false);
  for (let i = 4; i < 24; i += 4) o.setUint32(i, v.getUint32(i, true), false);
  const hdr = v.getUint32(4, true);
  const typeStart = hdr + v.getUint32(8, true);
  const typeLen = v.getUint32(12, true);
  for (let i = typeStart; i < typeStart + typeLen; i += 4) o.setUint32(i, v.getUint32(i, true), false);
  return out;
}

describe("parseBtf: the model", () => {
  it("builds an object graph with ids kept", () => {
    const btf = btfOf("btf_maps.o");
    const key = btf.get("flow_key", "struct");
    assert.equal(key.size, 16);
    assert.deepEqual(key.members.map((m) => [m.name, m.bitOffset]), [["saddr", 0], ["daddr", 32], ["sport", 64], ["dport", 80], ["proto", 96], ["pad", 104]]);
    const saddr = key.members[0]!.type;
    assert.equal(saddr.kind, "typedef");
    assert.equal(saddr.name, "__u32");
    assert.equal(resolveType(saddr).kind, "int");
    assert.equal(btf.typeById(saddr.id), saddr);
    const pad = key.members[5]!.type;
    assert.equal(pad.kind === "array" && pad.nelems, 3);
    assert.equal(btf.types[0]!.kind, "void");
  });

  it("reads every kind clang 14 emits", () => {
    const btf = btfOf("btf_kinds.o");
    const kinds = new Set(btf.types.map((t) => t.kind));
    for (const k of ["int", "ptr", "array", "struct", "union", "enum", "fwd", "typedef", "volatile", "const", "restrict", "func", "func_proto", "var", "datasec", "float", "decl_tag", "type_tag"]) {
      assert.ok(kinds.has(k as never), `missing ${k}`);
    }
    const sink = btf.get("kitchen_sink", "struct");
    assert.equal(sink.kindFlag, true);
    const big = sink.members.find((m) => m.name === "big")!;
    assert.deepEqual([big.bitOffset, big.bitfieldSize], [384, 40]);
    const tag = btf.find("arg_tag", "decl_tag")!;
    assert.equal(tag.componentIdx, 0);
    assert.equal(tag.target.name, "tagged_func");
    const fwd = btf.get("opaque", "fwd");
    assert.equal(fwd.fwdKind, "struct");
    const anonEnum = sink.members.find((m) => m.name === "colour")!.type;
    assert.ok(anonEnum.kind === "enum" && anonEnum.values.map((v) => v.value).join() === "0,5,4294967295");
  });

  it("reads a big-endian object's BTF", () => {
    const btf = btfOf("big_endian.o");
    assert.equal(btf.byteOrder, "big");
    assert.equal(btf.get("pair", "struct").size, 8);
  });

  it("gives the same model in both byte orders", () => {
    for (const f of fixtureObjects()) {
      const le = btfSection(f.path);
      if (le[0] !== 0x9f) continue; // already big-endian
      const be = parseBtf(toBigEndian(le));
      assert.equal(be.byteOrder, "big");
      assert.equal(formatBtfDump(be), formatBtfDump(parseBtf(le)), f.name);
    }
  });

  it("looks types up by name and kind", () => {
    const btf = btfOf("map_in_map.o");
    assert.equal(btf.find("inner_a")?.kind, "var");
    assert.equal(btf.find("inner_a", "struct"), undefined);
    assert.equal(btf.findAll("int").length, 1);
    assert.throws(() => btf.get("nope", "struct"), BtfError);
    assert.throws(() => btf.typeById(9999), (e: unknown) => e instanceof BtfError && e.typeId === 9999);
  });
});

describe("parseBtf: sanity checks", () => {
  const base = (): BtfBuilder => {
    const b = new BtfBuilder();
    b.int("int", 4, 32, 1); // [1]
    return b;
  };

  it("header: magic, version, flags, hdr_len, section bounds", () => {
    const ok = base().build();
    rejects(ok.subarray(0, 1), /too short/);
    const badMagic = ok.slice();
    badMagic[0] = 0x12;
    rejects(badMagic, /bad magic/);
    rejects(base().build("little", { version: 2 }), /version 2/);
    rejects(base().build("little", { flags: 1 }), /flags/);
    const shortHdr = ok.slice();
    new DataView(shortHdr.buffer).setUint32(4, 8, true);
    rejects(shortHdr, /hdr_len 8/);
    const bigType = ok.slice();
    new DataView(bigType.buffer).setUint32(12, 0x7fffffff, true);
    rejects(bigType, /outside the data/);
    rejects(ok.subarray(0, ok.length - 1), /outside the data|NUL/);
  });

  it("string section must start and end with NUL", () => {
    const b = base().build();
    const noEnd = b.slice();
    noEnd[noEnd.length - 1] = 0x41;
    rejects(noEnd, /not NUL-terminated/);
    const noStart = b.slice();
    const strStart = 24 + new DataView(b.buffer).getUint32(16, true);
    noStart[strStart] = 0x41;
    rejects(noStart, /does not start with an empty string/);
  });

  it("type ids and name offsets in range", () => {
    let b = base();
    b.ptr(99);
    rejects(b.build(), /type_id 99 is out of range/, 2);
    b = base();
    b.raw(BTF_KIND.TYPEDEF, 5000, { sizeOrType: 1 });
    rejects(b.build(), /name_off 5000/, 2);
    b = base();
    b.struct("s", 4, [["a", 42, 0]]);
    rejects(b.build(), /member 0 type_id 42/, 2);
  });

  it("records that run past the type section, unknown kinds, unused info bits", () => {
    let b = base();
    b.raw(BTF_KIND.STRUCT, "s", { vlen: 200, sizeOrType: 4 });
    rejects(b.build(), /runs past the end of the type section/, 2);
    b = base();
    b.raw(25, "x");
    rejects(b.build(), /invalid kind 25/, 2);
    b = base();
    b.raw(0, "");
    rejects(b.build(), /invalid kind 0/, 2);
    const blob = base().build();
    new DataView(blob.buffer).setUint32(24 + 4, (1 << 24) | (1 << 20), true);
    rejects(blob, /unused bits/, 1);
  });

  it("per-kind checks", () => {
    const cases: Array<[(b: BtfBuilder) => void, RegExp]> = [
      [(b) => b.int("odd", 3, 24), /size 3 is not/],
      [(b) => b.int("zero", 4, 0), /nr_bits 0/],
      [(b) => b.int("wide", 4, 30, 0, 4), /exceeds the type's 32 bits/],
      [(b) => b.int("enc", 4, 32, 3), /unsupported encoding 3/],
      [(b) => b.raw(BTF_KIND.PTR, "named", { sizeOrType: 1 }), /must not have a name/],
      [(b) => b.raw(BTF_KIND.TYPEDEF, "", { sizeOrType: 1 }), /has no name/],
      [(b) => b.func("f", 1), /not a FUNC_PROTO/],
      [(b) => b.func("f", b.funcProto(1, []), 7), /linkage 7/],
      [(b) => b.variable("v", 1, 9), /linkage 9/],
      [(b) => b.datasec(".data", 4, [[1, 0, 4]]), /not a VAR/],
      [(b) => b.datasec(".data", 4, [[b.variable("v", 1), 2, 4]]), /ends past the section size/],
      [(b) => b.funcProto(1, [["", 0], ["x", 1]]), /only an unnamed last parameter may be void/],
      [(b) => b.raw(BTF_KIND.FLOAT, "f", { sizeOrType: 3 }), /size 3 is not 2, 4, 8, 12 or 16/],
      [(b) => b.raw(BTF_KIND.DECL_TAG, "t", { sizeOrType: b.struct("s", 4, [["a", 1, 0]]), words: [5] }), /component_idx 5 is out of range/],
      [(b) => b.raw(BTF_KIND.DECL_TAG, "t", { sizeOrType: 1, words: [0] }), /only struct, union and func have components/],
      [(b) => b.raw(BTF_KIND.DECL_TAG, "t", { sizeOrType: 1, words: [-2 >>> 0] }), /less than -1/],
      [(b) => b.raw(BTF_KIND.ARRAY, "", { words: [1, b.ptr(1), 2] }), /not an integer/],
      [(b) => b.raw(BTF_KIND.ARRAY, "", { sizeOrType: 4, words: [1, 1, 2] }), /size 4 is not 0/],
      [(b) => b.enum32("e", 3, [["A", 1]]), /size 3 is not 1, 2, 4 or 8/],
      [(b) => b.struct("s", 4, [["a", 1, 8]]), /ends past the 4-byte struct/],
      [(b) => b.struct("s", 8, [["a", b.ptr(1), 4]]), /not byte aligned|ends past/],
      [(b) => b.struct("s", 4, [["a", 1, 3]], false), /bitfield ends past the 4-byte struct/],
      [(b) => b.struct("s", 4, [["a", 1, (33 << 24) | 0]], true), /bitfield ends past/],
      [(b) => b.struct("s", 4, [["f", b.raw(BTF_KIND.FWD, "opaque"), 0]]), /has no size/],
    ];
    for (const [make, re] of cases) {
      const b = base();
      make(b);
      rejects(b.build(), re);
    }
  });

  it("loops through typedefs, qualifiers, arrays and members are errors; through pointers they are fine", () => {
    let b = base();
    b.typedef("a", 3); // [2] -> [3]
    b.typedef("b", 2); // [3] -> [2]
    rejects(b.build(), /loop detected/);
    b = base();
    b.raw(BTF_KIND.CONST, "", { sizeOrType: 2 }); // [2] const -> itself
    rejects(b.build(), /loop detected/, 2);
    b = base();
    b.struct("self", 8, [["me", 2, 0]]); // [2] contains itself
    rejects(b.build(), /loop detected/, 2);
    b = base();
    b.array(3, 1, 2); // [2] array of [3]
    b.struct("s", 8, [["arr", 2, 0]]); // [3] contains [2]
    rejects(b.build(), /loop detected/);
    b = base();
    b.struct("list", 8, [["next", 3, 0]]); // [2]
    b.ptr(2); // [3]
    const btf = parseBtf(b.build());
    const list = btf.get("list", "struct");
    const next = list.members[0]!.type;
    assert.ok(next.kind === "ptr" && next.target === list);
  });

  it("array sizes overflowing u32 are errors", () => {
    const b = base();
    const a = b.array(1, 1, 1 << 20);
    b.array(a, 1, 1 << 20);
    rejects(b.build(), /overflows u32/);
  });

  it("a chain of 100000 typedefs parses without exhausting the stack", () => {
    const b = base();
    let prev = 1;
    for (let i = 0; i < 100_000; i++) prev = b.typedef(`t${i}`, prev);
    const btf = parseBtf(b.build());
    assert.equal(sizeOf(btf.typeById(prev)), 4);
  });

  it("every error is a TsbpfError, for any truncation of a real blob", () => {
    const blob = btfSection(fixture("btf_kinds.o"));
    for (let n = 0; n < blob.length; n += 7) {
      try {
        parseBtf(blob.subarray(0, n));
      } catch (e) {
        assert.ok(e instanceof TsbpfError, `truncated to ${n}: ${String(e)}`);
      }
    }
  });

  it("corrupting one record names its type id", () => {
    const b = base();
    b.ptr(1); // [2]
    b.typedef("t", 2); // [3]
    const blob = b.build();
    new DataView(blob.buffer).setUint32(recordOffset(b, 3) + 8, 77, true);
    rejects(blob, /type_id 77/, 3);
  });
});

describe("type queries", () => {
  const btf = btfOf("btf_kinds.o");
  const sink = btf.get("kitchen_sink", "struct");

  it("sizeOf and alignOf follow libbpf", () => {
    assert.equal(sizeOf(sink), 80);
    assert.equal(alignOf(sink), 8);
    assert.equal(sizeOf(btf.get("callback_t", "typedef")), 8);
    assert.equal(sizeOf(btf.get("sink_store", "var")), 80);
    assert.throws(() => sizeOf(btf.get("opaque", "fwd")), BtfError);
    assert.throws(() => sizeOf(btf.get("tagged_func", "func")), BtfError);
    const pair = btfOf("big_endian.o").get("pair", "struct");
    assert.equal(alignOf(pair), 4);
  });

  it("memberLayout handles kind_flag bitfields and plain members", () => {
    assert.deepEqual(
      (({ bitOffset, bitSize, byteOffset }) => ({ bitOffset, bitSize, byteOffset }))(memberLayout(sink, "small")),
      { bitOffset: 424, bitSize: 3, byteOffset: 53 },
    );
    assert.equal(memberLayout(sink, "text").byteOffset, 64);
    assert.throws(() => memberLayout(sink, "missing"), BtfError);
  });

  it("memberLayout handles old-style bitfields (kind_flag 0, INT carries offset and width)", () => {
    const b = new BtfBuilder();
    b.int("int", 4, 32, 1); // [1]
    b.int("int", 4, 5, 1, 3); // [2] 5-bit int at bit 3
    b.struct("old", 8, [["a", 1, 0], ["b", 2, 32]]);
    const old = parseBtf(b.build()).get("old", "struct") as BtfStruct;
    assert.deepEqual(
      (({ bitOffset, bitSize }) => ({ bitOffset, bitSize }))(memberLayout(old, "b")),
      { bitOffset: 35, bitSize: 5 },
    );
  });

  it("fieldByPath walks members, anonymous members and array indices", () => {
    assert.deepEqual((({ bitOffset, bitSize }) => ({ bitOffset, bitSize }))(fieldByPath(sink, "n.f")), { bitOffset: 0, bitSize: 0 });
    assert.equal(fieldByPath(sink, "text[3]").bitOffset, (64 + 3) * 8);
    assert.equal(fieldByPath(btf.get("sink_store", "var").type, "big").bitSize, 40);
    assert.throws(() => fieldByPath(sink, "text[99]"), BtfError);
    assert.throws(() => fieldByPath(sink, "n.nope"), BtfError);
    const b = new BtfBuilder();
    b.int("int", 4, 32, 1); // [1]
    const inner = b.struct("", 4, [["x", 1, 0]], false, true); // anonymous union
    b.struct("outer", 8, [["a", 1, 0], ["", inner, 32]]);
    assert.equal(fieldByPath(parseBtf(b.build()).get("outer", "struct"), "x").bitOffset, 32);
  });
});

describe("parseBtfExt", () => {
  const load = (name: string): { btf: Btf; ext: Uint8Array } => {
    const elf = parseElf(readBytes(fixture(name)));
    return { btf: parseBtf(sectionByName(elf, ".BTF")!.data), ext: sectionByName(elf, ".BTF.ext")!.data };
  };

  it("reads func_info and line_info per section", () => {
    const { btf, ext } = load("subprogs.o");
    const x = parseBtfExt(ext, btf);
    assert.deepEqual(x.funcInfo.map((s) => s.section), [".text", "xdp", "tc"]);
    const text = x.funcInfo.find((s) => s.section === ".text")!;
    assert.deepEqual(text.records.map((r) => [r.insnOff, r.func.name]), [[0, "global_helper"], [64, "middle"], [128, "unused_global"], [152, "leaf"]]);
    const line = x.lineInfo.find((s) => s.section === "xdp")!.records[0]!;
    assert.match(line.line, /global_helper\(ctx->ingress_ifindex\)/);
    assert.ok(line.lineNumber > 0);
  });

  it("reads CO-RE relocation records", () => {
    const { btf, ext } = load("core.o");
    const relos = parseBtfExt(ext, btf).coreRelos.flatMap((s) => s.records);
    assert.deepEqual(
      relos.map((r) => [r.kind, r.type.name, r.accessStr]),
      [
        ["field_byte_offset", "task_like", "0:0"],
        ["field_byte_offset", "task_like", "0:2:1"],
        ["field_exists", "task_like", "0:1"],
        ["type_size", "task_like", "0"],
        ["enumval_value", "state_like", "1"],
      ],
    );
  });

  it("rejects malformed BTF.ext with a BtfError", () => {
    const { btf, ext } = load("subprogs.o");
    const bad = (f: (v: DataView, b: Uint8Array) => void, re: RegExp): void => {
      const copy = ext.slice();
      f(new DataView(copy.buffer), copy);
      assert.throws(() => parseBtfExt(copy, btf), (e: unknown) => e instanceof BtfError && re.test(e.message));
    };
    bad((_v, b) => (b[0] = 0), /bad magic/);
    bad((v) => v.setUint32(4, 4, true), /hdr_len 4/);
    const hdr = new DataView(ext.buffer, ext.byteOffset).getUint32(4, true);
    const fiOff = hdr + new DataView(ext.buffer, ext.byteOffset).getUint32(8, true);
    bad((v) => v.setUint32(fiOff, 4, true), /record size 4/);
    bad((v) => v.setUint32(fiOff + 8, 0, true), /has no records/);
    bad((v) => v.setUint32(fiOff + 8, 100000, true), /past the end/);
    bad((v) => v.setUint32(fiOff + 4, 0x7fffff, true), /string offset/);
    bad((v) => v.setUint32(fiOff + 12 + 4, 1, true), /not a FUNC/);
    bad((v) => v.setUint32(12, 0xffffff, true), /outside the data/);
    assert.throws(() => parseBtfExt(ext.subarray(0, 6), btf), BtfError);
  });
});
