/**
 * Questions asked of BTF types: what a typedef or qualifier stands for, how big
 * and how aligned a type is, where a member sits (bitfields included), which
 * member a path like "hdr.addrs[1].v4" names. Sizes follow libbpf's
 * btf__resolve_size() and btf__align_of() (pointers are 8 bytes: BPF is a 64-bit
 * target); a type without a size (void, FWD, FUNC, FUNC_PROTO) is a BtfError.
 */
import { BtfError } from "../errors/index.js";
import type { BtfComposite, BtfMember, BtfType } from "./types.js";

/** libbpf's MAX_RESOLVE_DEPTH. */
const MAX_RESOLVE_DEPTH = 32;
const U32_MAX = 0xffffffff;

export const isModifier = (t: BtfType): boolean =>
  t.kind === "volatile" || t.kind === "const" || t.kind === "restrict" || t.kind === "type_tag";

/** Skips const/volatile/restrict/type_tag, and typedefs unless `keepTypedefs`. */
export function resolveType(t: BtfType, opts: { keepTypedefs?: boolean } = {}): BtfType {
  let cur = t;
  for (let depth = 0; isModifier(cur) || (cur.kind === "typedef" && opts.keepTypedefs !== true); depth++) {
    if (depth > MAX_RESOLVE_DEPTH * 1000) throw new BtfError("typedef/modifier chain is too long", { typeId: t.id });
    cur = (cur as { target: BtfType }).target;
  }
  return cur;
}

/** Size in bytes, as btf__resolve_size(). Arrays multiply; modifiers, typedefs, VARs and tags are see-through. */
export function sizeOf(t: BtfType): number {
  let nelems = 1;
  let cur: BtfType = t;
  for (let depth = 0; ; depth++) {
    if (depth > 100_000) throw new BtfError("type chain is too long to size", { typeId: t.id });
    switch (cur.kind) {
      case "int":
      case "struct":
      case "union":
      case "enum":
      case "enum64":
      case "datasec":
      case "float":
        return mul(nelems, cur.size, t);
      case "ptr":
        return mul(nelems, 8, t);
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
      case "decl_tag":
        cur = cur.target;
        break;
      case "var":
        cur = cur.type;
        break;
      case "array":
        nelems = mul(nelems, cur.nelems, t);
        cur = cur.elem;
        break;
      default:
        throw new BtfError(`${cur.kind.toUpperCase()}${cur.id !== 0 ? ` [${cur.id}]` : ""} has no size`, { typeId: t.id });
    }
  }
}

function mul(a: number, b: number, t: BtfType): number {
  const r = a * b;
  if (r > U32_MAX) throw new BtfError(`size ${a} x ${b} overflows u32`, { typeId: t.id });
  return r;
}

/** Alignment in bytes, as btf__align_of(): 1 for a packed struct. */
export function alignOf(t: BtfType): number {
  const c = resolveType(t);
  switch (c.kind) {
    case "int":
    case "enum":
    case "enum64":
    case "float":
      return Math.min(8, c.size);
    case "ptr":
      return 8;
    case "array":
      return alignOf(c.elem);
    case "struct":
    case "union": {
      let max = 1;
      for (const m of c.members) {
        const a = alignOf(m.type);
        max = Math.max(max, a);
        if (m.bitfieldSize === 0 && m.bitOffset % (8 * a) !== 0) return 1;
      }
      return c.size % max !== 0 ? 1 : max;
    }
    default:
      throw new BtfError(`${c.kind.toUpperCase()} has no alignment`, { typeId: t.id });
  }
}

export interface MemberLayout {
  readonly member: BtfMember;
  /** Bit offset of the value from the start of the struct (old-style INT bit offsets included). */
  readonly bitOffset: number;
  /** Width in bits when the member is a bitfield, else 0. */
  readonly bitSize: number;
  /** floor(bitOffset / 8). */
  readonly byteOffset: number;
}

/** Where a member's value sits, whichever bitfield encoding (kind_flag 0 or 1) the struct uses. */
export function memberLayout(s: BtfComposite, member: BtfMember | number | string): MemberLayout {
  const m =
    typeof member === "number" ? s.members[member] : typeof member === "string" ? s.members.find((x) => x.name === member) : member;
  if (m === undefined) throw new BtfError(`${s.kind} '${s.name}' has no member ${JSON.stringify(member)}`, { typeId: s.id });
  let bitOffset = m.bitOffset;
  let bitSize = m.bitfieldSize;
  if (!s.kindFlag) {
    const it = resolveType(m.type);
    if (it.kind === "int" && (it.bitsOffset !== 0 || it.bits !== it.size * 8 || m.bitOffset % 8 !== 0)) {
      bitOffset += it.bitsOffset;
      bitSize = it.bits;
    }
  }
  return { member: m, bitOffset, bitSize, byteOffset: Math.floor(bitOffset / 8) };
}

export interface FieldRef {
  /** The type at the end of the path (unresolved: typedefs kept). */
  readonly type: BtfType;
  /** Bit offset from the start of the root type. */
  readonly bitOffset: number;
  /** Non-zero for a bitfield. */
  readonly bitSize: number;
}

/**
 * Follows a C-like access path ("a.b[3].c", "[2]", "") from `root`, through
 * typedefs and qualifiers, into anonymous members when a name is not found
 * directly. Returns where the field sits.
 */
export function fieldByPath(root: BtfType, path: string): FieldRef {
  const tokens = path.match(/[A-Za-z_][A-Za-z0-9_]*|\[\d+\]/g) ?? [];
  let type = root;
  let bitOffset = 0;
  let bitSize = 0;
  for (const tok of tokens) {
    const t = resolveType(type);
    if (tok.startsWith("[")) {
      if (t.kind !== "array") throw new BtfError(`path '${path}': ${tok} applied to a ${t.kind.toUpperCase()}`, { typeId: t.id });
      const i = Number(tok.slice(1, -1));
      if (i >= t.nelems && t.nelems !== 0) throw new BtfError(`path '${path}': index ${i} out of range (${t.nelems} elements)`, { typeId: t.id });
      bitOffset += i * sizeOf(t.elem) * 8;
      type = t.elem;
      bitSize = 0;
      continue;
    }
    if (t.kind !== "struct" && t.kind !== "union") throw new BtfError(`path '${path}': .${tok} applied to a ${t.kind.toUpperCase()}`, { typeId: t.id });
    const found = findMember(t, tok);
    if (found === undefined) throw new BtfError(`path '${path}': ${t.kind} '${t.name}' has no member '${tok}'`, { typeId: t.id });
    bitOffset += found.bitOffset;
    bitSize = found.bitSize;
    type = found.type;
  }
  return { type, bitOffset, bitSize };
}

/** A member by name, searching anonymous struct/union members too (C's rule for `s.x` through an unnamed union). */
function findMember(s: BtfComposite, name: string): FieldRef | undefined {
  for (const m of s.members) {
    const l = memberLayout(s, m);
    if (m.name === name) return { type: m.type, bitOffset: l.bitOffset, bitSize: l.bitSize };
    if (m.name === "") {
      const inner = resolveType(m.type);
      if (inner.kind === "struct" || inner.kind === "union") {
        const hit = findMember(inner, name);
        if (hit !== undefined) return { ...hit, bitOffset: hit.bitOffset + l.bitOffset };
      }
    }
  }
  return undefined;
}
