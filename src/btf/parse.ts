/**
 * .BTF bytes -> Btf (an object graph). Both byte orders (the magic decides).
 *
 * The checks follow the kernel's btf_check_meta() / btf_resolve() passes in
 * kernel/bpf/btf.c, minus what a loader cannot know yet (DATASEC sizes and
 * variable offsets are zero in objects clang writes until the loader fills
 * them; identifier spelling is not checked):
 *   - header: version 1, flags 0, sections inside the data, types before strings,
 *     string section starting and ending with NUL;
 *   - every record: a known kind, no unused info bits, kind data inside the type
 *     section, every type id in range, every name offset inside the string section,
 *     names present where the kernel requires them and absent where it forbids them;
 *   - per kind: INT sizes and bit ranges, ENUM/FLOAT sizes, FUNC -> FUNC_PROTO,
 *     linkage values, `...` only as the last parameter, DECL_TAG component indices,
 *     DATASEC entries that are VARs (or FUNCs, for .ksyms), array index types;
 *   - no loop through typedefs, modifiers, arrays, struct/union members or VARs
 *     (a pointer may point back: `struct list { struct list *next; }` is fine);
 *   - sizes: arrays whose total size overflows u32, members that end past their
 *     struct, non-bitfield members not at a byte boundary.
 * Every failure is a BtfError naming the type id and what is wrong.
 */
import { BtfError } from "../errors/index.js";
import { Btf, typeId } from "./btf.js";
import {
  BTF_INT_BOOL,
  BTF_INT_CHAR,
  BTF_INT_SIGNED,
  BTF_KIND,
  BTF_MAX_NAME_OFFSET,
  BTF_VERSION,
  KIND_BY_ID,
  LINKAGE_BY_ID,
  type Linkage,
} from "./constants.js";
import { sizeOf } from "./query.js";
import { VOID, type BtfFuncProto, type BtfType, type IntEncoding } from "./types.js";
import { BtfReader, BtfStrings, detectOrder, readBtfHeader, readTypeRecords, type RawBtfType } from "./wire.js";

export function parseBtf(bytes: Uint8Array): Btf {
  const order = detectOrder(bytes, ".BTF");
  const r = new BtfReader(bytes, order);
  const h = readBtfHeader(r);
  if (h.version !== BTF_VERSION) throw new BtfError(`unsupported BTF version ${h.version}`, { offset: 2 });
  if (h.flags !== 0) throw new BtfError(`unsupported btf_header.flags 0x${h.flags.toString(16)}`, { offset: 3 });
  r.check(h.typeStart, h.typeLen, "type section (type_off, type_len)");
  r.check(h.strStart, h.strLen, "string section (str_off, str_len)");
  if (h.typeStart % 4 !== 0) throw new BtfError(`type section offset ${h.typeStart - h.hdrLen} is not 4-byte aligned`, { offset: 8 });
  if (h.typeStart + h.typeLen > h.strStart && h.strStart + h.strLen > h.typeStart && h.typeLen > 0 && h.strLen > 0) {
    throw new BtfError("type and string sections overlap", { offset: 8 });
  }
  if (h.strLen === 0 || h.strLen > BTF_MAX_NAME_OFFSET + 1) throw new BtfError(`invalid string section size ${h.strLen}`, { offset: 20 });
  const strBytes = bytes.subarray(h.strStart, h.strStart + h.strLen);
  if (strBytes[0] !== 0) throw new BtfError("string section does not start with an empty string", { offset: h.strStart });
  if (strBytes[h.strLen - 1] !== 0) throw new BtfError("string section is not NUL-terminated", { offset: h.strStart + h.strLen - 1 });
  const strings = new BtfStrings(strBytes);

  const raws = readTypeRecords(r, h.typeStart, h.typeLen);
  const count = raws.length + 1;
  for (const raw of raws) checkRecord(raw, count, strings);

  const types = buildGraph(raws, strings);
  for (const raw of raws) checkReferences(raw, types);
  checkLoops(types);
  for (const t of types) checkSizes(t);
  return new Btf(order, h, types, strings);
}

function checkRecord(t: RawBtfType, count: number, strings: BtfStrings): void {
  const fail = (why: string): never => {
    throw new BtfError(`${KIND_BY_ID[t.kind]!.toUpperCase()}: ${why}`, { typeId: t.id, offset: t.at });
  };
  const name = (off: number, what: string): void => {
    if (!strings.valid(off)) fail(`${what} name_off ${off} is outside the string section (${strings.length} bytes)`);
  };
  const ref = (id: number, what: string): void => {
    if (id >= count) fail(`${what} ${id} is out of range (${count} types, ids 0..${count - 1})`);
  };
  const named = t.nameOff !== 0;
  name(t.nameOff, "type");
  const needName = (): void => {
    if (!named) fail("has no name");
  };
  const noName = (): void => {
    if (named) fail("must not have a name");
  };
  const noVlen = (): void => {
    if (t.vlen !== 0) fail(`vlen ${t.vlen} is not 0`);
  };
  const noKflag = (): void => {
    if (t.kflag) fail("kind_flag is set");
  };

  switch (t.kind) {
    case BTF_KIND.INT: {
      noVlen();
      noKflag();
      const v = t.intData!;
      if ((v & 0xf0000000) !== 0) fail(`int data 0x${v.toString(16)} has unused bits set`);
      const bits = v & 0xff;
      const off = (v >>> 16) & 0xff;
      const enc = (v >>> 24) & 0x0f;
      if (![1, 2, 4, 8, 16].includes(t.sizeOrType)) fail(`size ${t.sizeOrType} is not 1, 2, 4, 8 or 16`);
      if (bits === 0 || bits > 128) fail(`nr_bits ${bits} is not in 1..128`);
      if (off + bits > t.sizeOrType * 8) fail(`bits_offset ${off} + nr_bits ${bits} exceeds the type's ${t.sizeOrType * 8} bits`);
      if (enc !== 0 && enc !== BTF_INT_SIGNED && enc !== BTF_INT_CHAR && enc !== BTF_INT_BOOL) fail(`unsupported encoding ${enc}`);
      break;
    }
    case BTF_KIND.PTR:
    case BTF_KIND.VOLATILE:
    case BTF_KIND.CONST:
    case BTF_KIND.RESTRICT:
      noName();
      noVlen();
      noKflag();
      ref(t.sizeOrType, "type_id");
      break;
    case BTF_KIND.TYPEDEF:
      needName();
      noVlen();
      noKflag();
      ref(t.sizeOrType, "type_id");
      break;
    case BTF_KIND.TYPE_TAG:
      needName();
      noVlen();
      ref(t.sizeOrType, "type_id");
      break;
    case BTF_KIND.ARRAY: {
      noName();
      noVlen();
      noKflag();
      if (t.sizeOrType !== 0) fail(`size ${t.sizeOrType} is not 0`);
      ref(t.array!.type, "elem type_id");
      ref(t.array!.indexType, "index_type_id");
      if (t.array!.type === 0) fail("element type is void");
      break;
    }
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION:
      t.members!.forEach((m, i) => {
        name(m.nameOff, `member ${i}`);
        ref(m.type, `member ${i} type_id`);
        if (m.type === 0) fail(`member ${i} has type void`);
      });
      break;
    case BTF_KIND.ENUM:
    case BTF_KIND.ENUM64: {
      if (![1, 2, 4, 8].includes(t.sizeOrType)) fail(`size ${t.sizeOrType} is not 1, 2, 4 or 8`);
      const vals = t.enums ?? t.enums64!;
      vals.forEach((e, i) => {
        name(e.nameOff, `value ${i}`);
        if (e.nameOff === 0) fail(`value ${i} has no name`);
      });
      break;
    }
    case BTF_KIND.FWD:
      needName();
      noVlen();
      if (t.sizeOrType !== 0) fail(`type ${t.sizeOrType} is not 0`);
      break;
    case BTF_KIND.FUNC:
      needName();
      noKflag();
      if (t.vlen > 2) fail(`linkage ${t.vlen} is not static, global or extern`);
      ref(t.sizeOrType, "type_id");
      break;
    case BTF_KIND.FUNC_PROTO:
      noName();
      noKflag();
      ref(t.sizeOrType, "ret_type_id");
      t.params!.forEach((p, i) => {
        name(p.nameOff, `param ${i}`);
        ref(p.type, `param ${i} type_id`);
        if (p.type === 0 && (i !== t.params!.length - 1 || p.nameOff !== 0)) fail(`param ${i}: only an unnamed last parameter may be void ('...')`);
      });
      break;
    case BTF_KIND.VAR:
      needName();
      noVlen();
      noKflag();
      ref(t.sizeOrType, "type_id");
      if (t.sizeOrType === 0) fail("has type void");
      if (t.linkage! > 2) fail(`linkage ${t.linkage} is not static, global or extern`);
      break;
    case BTF_KIND.DATASEC:
      needName();
      noKflag();
      t.secinfos!.forEach((s, i) => {
        ref(s.type, `var ${i} type_id`);
        if (t.sizeOrType !== 0 && s.offset + s.size > t.sizeOrType) fail(`var ${i} (offset ${s.offset}, size ${s.size}) ends past the section size ${t.sizeOrType}`);
      });
      break;
    case BTF_KIND.FLOAT:
      needName();
      noVlen();
      noKflag();
      if (![2, 4, 8, 12, 16].includes(t.sizeOrType)) fail(`size ${t.sizeOrType} is not 2, 4, 8, 12 or 16`);
      break;
    case BTF_KIND.DECL_TAG:
      needName();
      noVlen();
      ref(t.sizeOrType, "type_id");
      if (t.componentIdx! < -1) fail(`component_idx ${t.componentIdx} is less than -1`);
      break;
  }
}

const ENCODINGS: Readonly<Record<number, IntEncoding>> = { 0: "none", [BTF_INT_SIGNED]: "signed", [BTF_INT_CHAR]: "char", [BTF_INT_BOOL]: "bool" };
const linkage = (n: number): Linkage => LINKAGE_BY_ID[n]!;

/** Two passes: one object per record, then the references between them. */
function buildGraph(raws: readonly RawBtfType[], strings: BtfStrings): BtfType[] {
  const types: Record<string, unknown>[] = [VOID as unknown as Record<string, unknown>];
  const str = (off: number): string => strings.at(off, "name_off");
  for (const t of raws) {
    const o: Record<string, unknown> = { kind: KIND_BY_ID[t.kind], id: typeId(t.id), name: str(t.nameOff) };
    switch (t.kind) {
      case BTF_KIND.INT: {
        const v = t.intData!;
        Object.assign(o, { size: t.sizeOrType, bitsOffset: (v >>> 16) & 0xff, bits: v & 0xff, encoding: ENCODINGS[(v >>> 24) & 0x0f] });
        break;
      }
      case BTF_KIND.ARRAY:
        o.nelems = t.array!.nelems;
        break;
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
        Object.assign(o, { size: t.sizeOrType, kindFlag: t.kflag });
        break;
      case BTF_KIND.ENUM:
        Object.assign(o, { size: t.sizeOrType, signed: t.kflag, values: t.enums!.map((e) => ({ name: str(e.nameOff), value: t.kflag ? e.val | 0 : e.val >>> 0 })) });
        break;
      case BTF_KIND.ENUM64:
        Object.assign(o, {
          size: t.sizeOrType,
          signed: t.kflag,
          values: t.enums64!.map((e) => {
            const u = (BigInt(e.hi >>> 0) << 32n) | BigInt(e.lo >>> 0);
            return { name: str(e.nameOff), value: t.kflag ? BigInt.asIntN(64, u) : u };
          }),
        });
        break;
      case BTF_KIND.FWD:
        o.fwdKind = t.kflag ? "union" : "struct";
        break;
      case BTF_KIND.FUNC:
        o.linkage = linkage(t.vlen);
        break;
      case BTF_KIND.VAR:
        o.linkage = linkage(t.linkage!);
        break;
      case BTF_KIND.DATASEC:
      case BTF_KIND.FLOAT:
        o.size = t.sizeOrType;
        break;
      case BTF_KIND.DECL_TAG:
        o.componentIdx = t.componentIdx;
        break;
    }
    types.push(o);
  }
  const at = (id: number): BtfType => types[id] as unknown as BtfType;
  for (const t of raws) {
    const o = types[t.id]!;
    switch (t.kind) {
      case BTF_KIND.PTR:
      case BTF_KIND.TYPEDEF:
      case BTF_KIND.VOLATILE:
      case BTF_KIND.CONST:
      case BTF_KIND.RESTRICT:
      case BTF_KIND.TYPE_TAG:
      case BTF_KIND.DECL_TAG:
        o.target = at(t.sizeOrType);
        break;
      case BTF_KIND.ARRAY:
        o.elem = at(t.array!.type);
        o.index = at(t.array!.indexType);
        break;
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
        o.members = t.members!.map((m) => ({
          name: str(m.nameOff),
          type: at(m.type),
          bitOffset: t.kflag ? m.offset & 0xffffff : m.offset,
          bitfieldSize: t.kflag ? m.offset >>> 24 : 0,
        }));
        break;
      case BTF_KIND.FUNC:
        o.proto = at(t.sizeOrType);
        break;
      case BTF_KIND.FUNC_PROTO:
        o.ret = at(t.sizeOrType);
        o.params = t.params!.map((p) => ({ name: str(p.nameOff), type: at(p.type) }));
        break;
      case BTF_KIND.VAR:
        o.type = at(t.sizeOrType);
        break;
      case BTF_KIND.DATASEC:
        o.vars = t.secinfos!.map((s) => ({ type: at(s.type), offset: s.offset, size: s.size }));
        break;
    }
  }
  return types as unknown as BtfType[];
}

/** Checks that need the referenced type's kind. */
function checkReferences(raw: RawBtfType, types: readonly BtfType[]): void {
  const t = types[raw.id]!;
  const fail = (why: string): never => {
    throw new BtfError(`${KIND_BY_ID[raw.kind]!.toUpperCase()} '${t.name}': ${why}`, { typeId: raw.id, offset: raw.at });
  };
  switch (t.kind) {
    case "func":
      if ((t.proto as BtfType).kind !== "func_proto") fail(`type_id ${raw.sizeOrType} is a ${t.proto.kind.toUpperCase()}, not a FUNC_PROTO`);
      break;
    case "datasec":
      t.vars.forEach((v, i) => {
        const k = (v.type as BtfType).kind;
        if (k !== "var" && k !== "func") fail(`entry ${i} (type_id ${v.type.id}) is a ${k.toUpperCase()}, not a VAR`);
      });
      break;
    case "array": {
      let ix: BtfType = t.index;
      for (let depth = 0; ix.kind === "typedef" || ix.kind === "const" || ix.kind === "volatile" || ix.kind === "restrict"; depth++) {
        if (depth > 32) fail("index type chain is too long");
        ix = ix.target;
      }
      if (ix.kind !== "int" && ix.kind !== "enum" && ix.kind !== "enum64") fail(`index_type_id ${t.index.id} is a ${ix.kind.toUpperCase()}, not an integer`);
      break;
    }
    case "decl_tag": {
      const target = t.target;
      if (t.componentIdx === -1) {
        if (!["struct", "union", "func", "var", "typedef"].includes(target.kind)) fail(`target type_id ${target.id} is a ${target.kind.toUpperCase()}`);
      } else {
        const n = target.kind === "struct" || target.kind === "union" ? target.members.length : target.kind === "func" ? (target.proto as BtfFuncProto).params?.length : undefined;
        if (n === undefined) fail(`component_idx ${t.componentIdx} on a ${target.kind.toUpperCase()} (only struct, union and func have components)`);
        else if (t.componentIdx >= n) fail(`component_idx ${t.componentIdx} is out of range (${n} components)`);
      }
      break;
    }
    default:
      break;
  }
}

/** Edges along which a type contains (not points to) another; a cycle here has no size. */
function contained(t: BtfType): readonly BtfType[] {
  switch (t.kind) {
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag":
      return [t.target];
    case "array":
      return [t.elem];
    case "struct":
    case "union":
      return t.members.map((m) => m.type);
    case "var":
      return [t.type];
    case "datasec":
      return t.vars.map((v) => v.type);
    default:
      return [];
  }
}

/** Iterative three-colour DFS (no recursion: a fuzzed chain of 100k typedefs must not overflow the stack). */
function checkLoops(types: readonly BtfType[]): void {
  const state = new Uint8Array(types.length); // 0 new, 1 on stack, 2 done
  for (const root of types) {
    if (state[root.id] !== 0) continue;
    const stack: Array<{ t: BtfType; next: readonly BtfType[]; i: number }> = [{ t: root, next: contained(root), i: 0 }];
    state[root.id] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.i >= top.next.length) {
        state[top.t.id] = 2;
        stack.pop();
        continue;
      }
      const n = top.next[top.i++]!;
      if (state[n.id] === 1) {
        throw new BtfError(`loop detected: type [${n.id}] contains itself through ${top.t.kind.toUpperCase()} [${top.t.id}]`, { typeId: n.id });
      }
      if (state[n.id] === 0) {
        state[n.id] = 1;
        stack.push({ t: n, next: contained(n), i: 0 });
      }
    }
  }
}

function checkSizes(t: BtfType): void {
  const fail = (why: string): never => {
    throw new BtfError(`${t.kind.toUpperCase()} '${t.name}': ${why}`, { typeId: t.id });
  };
  if (t.kind === "array") {
    sizeOf(t); // throws on u32 overflow
  } else if (t.kind === "struct" || t.kind === "union") {
    t.members.forEach((m, i) => {
      const what = `member ${i} '${m.name}'`;
      if (m.bitfieldSize !== 0) {
        if (m.bitOffset + m.bitfieldSize > t.size * 8) fail(`${what} bitfield ends past the ${t.size}-byte ${t.kind}`);
        return;
      }
      let mt: BtfType = m.type;
      while (mt.kind === "typedef" || mt.kind === "volatile" || mt.kind === "const" || mt.kind === "restrict" || mt.kind === "type_tag") mt = mt.target;
      if (mt.kind === "int" && !t.kindFlag) {
        // Without kind_flag an INT member may be a bitfield at any bit offset; its INT carries offset and width.
        if (m.bitOffset + mt.bitsOffset + mt.bits > t.size * 8) fail(`${what} bitfield ends past the ${t.size}-byte ${t.kind}`);
        return;
      }
      if (m.bitOffset % 8 !== 0) fail(`${what} is not byte aligned (bit offset ${m.bitOffset})`);
      if (mt.kind === "fwd" || mt.kind === "func" || mt.kind === "func_proto" || mt.kind === "void") fail(`${what} has no size (${mt.kind.toUpperCase()})`);
      const size = sizeOf(m.type);
      // A flexible array member (size 0) may sit at the very end.
      if (m.bitOffset / 8 + size > t.size) fail(`${what} (offset ${m.bitOffset / 8}, size ${size}) ends past the ${t.size}-byte ${t.kind}`);
    });
  }
}
