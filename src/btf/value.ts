/**
 * Values formatted by their BTF type the way bpftool prints map contents
 * (tools/bpf/bpftool/btf_dumper.c, v7.1): structs become objects, arrays
 * arrays (char arrays holding a printable NUL-terminated string become
 * strings), enums their enumerator name, bitfields and 128-bit integers
 * hex, pointers "%p" in plain text and decimal in JSON. Two flavours, as in
 * bpftool: `plain` (is_plain_text, used by `map dump` without -j) and JSON
 * (the "formatted" member of `map dump -j`).
 *
 * bpftool's error behaviour is kept: a kind it cannot print writes
 * "(unsupported-kind" / "(fwd-kind-invalid)" and stops the enclosing struct or
 * array, so the output matches even for odd types.
 *
 * Bytes are read in `byteOrder` (default little-endian, what bpftool on x86
 * reads); bitfields of a big-endian value are extracted as bpftool does under
 * __BIG_ENDIAN_BITFIELD.
 */
import { BtfError } from "../errors/index.js";
import { JsonWriter } from "./json-writer.js";
import { sizeOf } from "./query.js";
import type { BtfArray, BtfComposite, BtfDatasec, BtfEnum, BtfEnum64, BtfInt, BtfType, BtfVar } from "./types.js";
import type { ByteOrder } from "./wire.js";

export interface ValueFormatOptions {
  /** bpftool's is_plain_text: pointers as %p, chars as 0x.. when not printable, 128-bit hex unquoted. Default false (JSON). */
  plain?: boolean;
  /** Byte order of `bytes`. Default "little". */
  byteOrder?: ByteOrder;
  /** Pretty JSON (bpftool's plain-text map dump pretty-prints). Default: same as `plain`. */
  pretty?: boolean;
}

interface Ctx {
  readonly w: JsonWriter;
  readonly plain: boolean;
  readonly le: boolean;
  readonly data: Uint8Array;
}

/** Formats `bytes` as a value of `type`; returns the JSON-ish text (no trailing newline). */
export function formatValue(type: BtfType, bytes: Uint8Array, opts: ValueFormatOptions = {}): string {
  const plain = opts.plain === true;
  const w = new JsonWriter({ pretty: opts.pretty ?? plain });
  writeValue(w, type, bytes, opts);
  return w.out;
}

/**
 * Writes `bytes` as a value of `type` into a bpftool JSON writer (btf_dumper_type()).
 * Returns false where bpftool's dumper returns an error (the text written so far stays).
 * Throws a BtfError when `bytes` is shorter than the type.
 */
export function writeValue(w: JsonWriter, type: BtfType, bytes: Uint8Array, opts: ValueFormatOptions = {}): boolean {
  let need: number | undefined;
  try {
    need = sizeOf(type);
  } catch {
    need = undefined;
  }
  if (need !== undefined && bytes.length < need) {
    throw new BtfError(`value of ${bytes.length} bytes is shorter than its type (${need} bytes)`, { typeId: type.id });
  }
  const ctx: Ctx = { w, plain: opts.plain === true, le: (opts.byteOrder ?? "little") === "little", data: bytes };
  return doType(ctx, type, 0, 0);
}

/** Bytes past the end read as zero: a value buffer is never indexed outside. */
const byte = (c: Ctx, off: number): number => c.data[off] ?? 0;

function readUint(c: Ctx, off: number, size: number): bigint {
  let v = 0n;
  for (let i = 0; i < size; i++) {
    const b = BigInt(byte(c, off + i));
    v |= c.le ? b << BigInt(8 * i) : b << BigInt(8 * (size - 1 - i));
  }
  return v;
}
const readInt = (c: Ctx, off: number, size: number): bigint => BigInt.asIntN(size * 8, readUint(c, off, size));

function doType(c: Ctx, t: BtfType, bitOffset: number, off: number): boolean {
  switch (t.kind) {
    case "int":
      intValue(c, t, bitOffset, off);
      return true;
    case "struct":
    case "union":
      return composite(c, t, off);
    case "array":
      return array(c, t, off);
    case "enum":
      return enumValue(c, t, off);
    case "enum64":
      return enum64Value(c, t, off);
    case "ptr": {
      const v = readUint(c, off, 8);
      c.w.raw(c.plain ? (v === 0n ? "(nil)" : `0x${v.toString(16)}`) : v.toString());
      return true;
    }
    case "void":
      c.w.raw("(unknown)");
      return true;
    case "fwd":
      c.w.raw("(fwd-kind-invalid)");
      return false;
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
      return doType(c, resolveForDump(t), bitOffset, off);
    case "var":
      return variable(c, t, bitOffset, off);
    case "datasec":
      return datasec(c, t, off);
    default:
      c.w.raw("(unsupported-kind");
      return false;
  }
}

/** btf__resolve_type(): skips typedefs, qualifiers, type tags and VARs. */
function resolveForDump(t: BtfType): BtfType {
  let cur = t;
  for (let depth = 0; depth < 32; depth++) {
    switch (cur.kind) {
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
        cur = cur.target;
        continue;
      case "var":
        cur = cur.type;
        continue;
      default:
        return cur;
    }
  }
  return cur;
}

function int128(c: Ctx, v: bigint): void {
  const text = `0x${v.toString(16)}`;
  c.w.raw(c.plain ? text : `"${text}"`);
}

/** btf_dumper_bitfield(): `nrBits` bits starting `bitOffset` bits into the bytes at `off`. */
function bitfield(c: Ctx, nrBits: number, bitOffset: number, off: number): void {
  const nbytes = Math.ceil((bitOffset + nrBits) / 8);
  let v: bigint;
  if (c.le) {
    v = 0n;
    for (let i = 0; i < nbytes && i < 16; i++) v |= BigInt(byte(c, off + i)) << BigInt(8 * i);
    v = (v >> BigInt(bitOffset)) & ((1n << BigInt(nrBits)) - 1n);
  } else {
    v = 0n;
    for (let i = 0; i < nbytes && i < 16; i++) v |= BigInt(byte(c, off + i)) << BigInt(8 * (15 - i));
    v = BigInt.asUintN(128, v << BigInt(bitOffset)) >> BigInt(128 - nrBits);
  }
  int128(c, v);
}

function intBits(c: Ctx, t: BtfInt, bitOffset: number, off: number): void {
  const total = bitOffset + t.bitsOffset;
  bitfield(c, t.bits, total % 8, off + Math.floor(total / 8));
}

function intValue(c: Ctx, t: BtfInt, bitOffset: number, off: number): void {
  const bits = t.bits;
  if (bitOffset !== 0 || t.bitsOffset !== 0 || bits % 8 !== 0) return intBits(c, t, bitOffset, off);
  if (bits === 128) return int128(c, readUint(c, off, 16));
  switch (t.encoding) {
    case "none":
      if (bits === 64 || bits === 32 || bits === 16 || bits === 8) c.w.raw(readUint(c, off, bits / 8).toString());
      else intBits(c, t, bitOffset, off);
      return;
    case "signed":
      if (bits === 64 || bits === 32 || bits === 16 || bits === 8) c.w.raw(readInt(c, off, bits / 8).toString());
      else intBits(c, t, bitOffset, off);
      return;
    case "char": {
      const ch = byte(c, off);
      if (ch >= 0x20 && ch <= 0x7e) c.w.raw(`"${String.fromCharCode(ch)}"`);
      else if (c.plain) c.w.raw(`0x${ch.toString(16)}`);
      else c.w.raw(`"\\u00${ch.toString(16).padStart(2, "0")}"`);
      return;
    }
    case "bool":
      c.w.bool(byte(c, off) !== 0);
      return;
  }
}

function enumValue(c: Ctx, t: BtfEnum, off: number): boolean {
  if (t.size !== 1 && t.size !== 2 && t.size !== 4 && t.size !== 8) return false;
  const v = readInt(c, off, t.size);
  for (const e of t.values) {
    // bpftool compares with btf_enum.val as an s32.
    if (v === BigInt(e.value | 0)) {
      c.w.string(e.name);
      return true;
    }
  }
  c.w.int(v);
  return true;
}

function enum64Value(c: Ctx, t: BtfEnum64, off: number): boolean {
  const v = readUint(c, off, 8);
  for (const e of t.values) {
    if (BigInt.asUintN(64, e.value) === v) {
      c.w.string(e.name);
      return true;
    }
  }
  c.w.int(BigInt.asIntN(64, v));
  return true;
}

/** is_str_array(): elements are 1-byte char INTs (qualifiers skipped, typedefs not) and the bytes hold a printable C string. */
function strArray(c: Ctx, t: BtfArray, off: number): string | undefined {
  if (t.nelems === 0) return undefined;
  let e = t.elem;
  while (e.kind === "volatile" || e.kind === "const" || e.kind === "restrict" || e.kind === "type_tag") e = e.target;
  if (e.kind !== "int" || e.size !== 1) return undefined;
  if (e.encoding !== "char" && e.name !== "char") return undefined;
  let s = "";
  for (let i = 0; i < t.nelems; i++) {
    const ch = byte(c, off + i);
    if (ch === 0) return s;
    if (ch <= 0x1f || ch >= 0x7f) return undefined;
    s += String.fromCharCode(ch);
  }
  return undefined;
}

function array(c: Ctx, t: BtfArray, off: number): boolean {
  const s = strArray(c, t, off);
  if (s !== undefined) {
    c.w.string(s);
    return true;
  }
  let elemSize: number;
  try {
    elemSize = sizeOf(t.elem);
  } catch {
    return false;
  }
  c.w.startArray();
  let ok = true;
  for (let i = 0; i < t.nelems; i++) {
    ok = doType(c, t.elem, 0, off + i * elemSize);
    if (!ok) break;
  }
  c.w.endArray();
  return ok;
}

function composite(c: Ctx, t: BtfComposite, off: number): boolean {
  c.w.startObject();
  let ok = true;
  for (const m of t.members) {
    c.w.name(m.name);
    const at = off + Math.floor(m.bitOffset / 8);
    if (m.bitfieldSize !== 0) {
      bitfield(c, m.bitfieldSize, m.bitOffset % 8, at);
    } else {
      ok = doType(c, m.type, m.bitOffset % 8, at);
      if (!ok) break;
    }
  }
  c.w.endObject();
  return ok;
}

function variable(c: Ctx, t: BtfVar, bitOffset: number, off: number): boolean {
  c.w.startObject();
  c.w.name(t.name);
  const ok = doType(c, t.type, bitOffset, off);
  c.w.endObject();
  return ok;
}

function datasec(c: Ctx, t: BtfDatasec, off: number): boolean {
  c.w.startObject();
  c.w.name(t.name);
  c.w.startArray();
  let ok = true;
  for (const v of t.vars) {
    ok = doType(c, v.type, 0, off + v.offset);
    if (!ok) break;
  }
  c.w.endArray();
  c.w.endObject();
  return ok;
}
