/**
 * The .BTF wire format: the header, the type records and the string section,
 * read exactly as they sit in the bytes through a bounds-checked reader. Nothing
 * here interprets types; parse.ts checks the records and builds the object graph.
 * Every read that would leave the data throws a BtfError naming the field and its
 * byte offset (relative to the start of the .BTF data), never a RangeError.
 *
 *   struct btf_header (24 bytes)            struct btf_type (12 bytes, then kind data)
 *   0  magic u16 (0xeB9F)  2 version u8     0 name_off u32
 *   3  flags u8            4 hdr_len u32    4 info u32: bits 0-15 vlen, 24-28 kind, 31 kind_flag
 *   8  type_off u32       12 type_len u32   8 size / type u32
 *   16 str_off u32        20 str_len u32
 *   (type_off and str_off count from the end of the header)
 *
 *   kind data: INT u32 (encoding<<24 | offset<<16 | bits); ARRAY {type, index_type, nelems};
 *   STRUCT/UNION vlen x {name_off, type, offset}; ENUM vlen x {name_off, val s32};
 *   ENUM64 vlen x {name_off, val_lo32, val_hi32}; FUNC_PROTO vlen x {name_off, type};
 *   VAR {linkage u32}; DATASEC vlen x {type, offset, size}; DECL_TAG {component_idx s32}.
 */
import { BtfError } from "../errors/index.js";
import { BTF_HEADER_SIZE, BTF_KIND, BTF_MAGIC, BTF_MAX_TYPE } from "./constants.js";

export type ByteOrder = "little" | "big";

/** Bounds-checked reader over a byte range, in one byte order. */
export class BtfReader {
  readonly bytes: Uint8Array;
  readonly littleEndian: boolean;
  private readonly view: DataView;

  constructor(bytes: Uint8Array, order: ByteOrder) {
    this.bytes = bytes;
    this.littleEndian = order === "little";
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  check(offset: number, size: number, what: string, typeId?: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0 || offset + size > this.bytes.length) {
      throw new BtfError(`${what}: ${size} bytes at offset ${offset} lie outside the data (${this.bytes.length} bytes)`, { typeId, offset });
    }
  }
  u8(offset: number, what: string, typeId?: number): number {
    this.check(offset, 1, what, typeId);
    return this.view.getUint8(offset);
  }
  u16(offset: number, what: string, typeId?: number): number {
    this.check(offset, 2, what, typeId);
    return this.view.getUint16(offset, this.littleEndian);
  }
  u32(offset: number, what: string, typeId?: number): number {
    this.check(offset, 4, what, typeId);
    return this.view.getUint32(offset, this.littleEndian);
  }
  s32(offset: number, what: string, typeId?: number): number {
    this.check(offset, 4, what, typeId);
    return this.view.getInt32(offset, this.littleEndian);
  }
}

/** The byte order of BTF (or BTF.ext) data, from how its magic reads. */
export function detectOrder(bytes: Uint8Array, what: string): ByteOrder {
  if (bytes.length < 2) throw new BtfError(`${what}: ${bytes.length} bytes, too short for the magic`, { offset: 0 });
  const le = bytes[0]! | (bytes[1]! << 8);
  if (le === BTF_MAGIC) return "little";
  const be = (bytes[0]! << 8) | bytes[1]!;
  if (be === BTF_MAGIC) return "big";
  throw new BtfError(`${what}: bad magic 0x${le.toString(16).padStart(4, "0")} (expected 0xeb9f in either byte order)`, { offset: 0 });
}

export interface RawBtfHeader {
  readonly version: number;
  readonly flags: number;
  readonly hdrLen: number;
  /** Absolute offsets (from the start of the data) and lengths of the two sections. */
  readonly typeStart: number;
  readonly typeLen: number;
  readonly strStart: number;
  readonly strLen: number;
}

export function readBtfHeader(r: BtfReader): RawBtfHeader {
  r.check(0, BTF_HEADER_SIZE, "btf_header");
  const hdrLen = r.u32(4, "btf_header.hdr_len");
  if (hdrLen < BTF_HEADER_SIZE) throw new BtfError(`btf_header.hdr_len ${hdrLen} is smaller than the header (${BTF_HEADER_SIZE})`, { offset: 4 });
  r.check(0, hdrLen, "btf_header (hdr_len)");
  // Like the kernel's btf_check_sec_info(): bytes of a longer header that we do not know must be zero.
  for (let i = BTF_HEADER_SIZE; i < hdrLen; i++) {
    if (r.bytes[i] !== 0) throw new BtfError(`btf_header has unsupported non-zero bytes after offset ${BTF_HEADER_SIZE}`, { offset: i });
  }
  return {
    version: r.u8(2, "btf_header.version"),
    flags: r.u8(3, "btf_header.flags"),
    hdrLen,
    typeStart: hdrLen + r.u32(8, "btf_header.type_off"),
    typeLen: r.u32(12, "btf_header.type_len"),
    strStart: hdrLen + r.u32(16, "btf_header.str_off"),
    strLen: r.u32(20, "btf_header.str_len"),
  };
}

export interface RawMember {
  readonly nameOff: number;
  readonly type: number;
  readonly offset: number;
}
export interface RawEnum {
  readonly nameOff: number;
  /** The value's 32-bit pattern, unsigned. */
  readonly val: number;
}
export interface RawEnum64 {
  readonly nameOff: number;
  readonly lo: number;
  readonly hi: number;
}
export interface RawParam {
  readonly nameOff: number;
  readonly type: number;
}
export interface RawSecinfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

/** One btf_type record and its kind data, uninterpreted. Which optional field is set depends on `kind`. */
export interface RawBtfType {
  readonly id: number;
  /** Byte offset of the record from the start of the data. */
  readonly at: number;
  readonly nameOff: number;
  readonly info: number;
  readonly kind: number;
  readonly vlen: number;
  readonly kflag: boolean;
  /** The size/type union. */
  readonly sizeOrType: number;
  readonly intData?: number;
  readonly array?: { readonly type: number; readonly indexType: number; readonly nelems: number };
  readonly members?: readonly RawMember[];
  readonly enums?: readonly RawEnum[];
  readonly enums64?: readonly RawEnum64[];
  readonly params?: readonly RawParam[];
  readonly linkage?: number;
  readonly secinfos?: readonly RawSecinfo[];
  readonly componentIdx?: number;
}

/** Size of the kind data that follows the 12-byte common part, or undefined for an unknown kind. */
export function kindDataSize(kind: number, vlen: number): number | undefined {
  switch (kind) {
    case BTF_KIND.INT:
    case BTF_KIND.VAR:
    case BTF_KIND.DECL_TAG:
      return 4;
    case BTF_KIND.PTR:
    case BTF_KIND.FWD:
    case BTF_KIND.TYPEDEF:
    case BTF_KIND.VOLATILE:
    case BTF_KIND.CONST:
    case BTF_KIND.RESTRICT:
    case BTF_KIND.FUNC:
    case BTF_KIND.FLOAT:
    case BTF_KIND.TYPE_TAG:
      return 0;
    case BTF_KIND.ARRAY:
      return 12;
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION:
    case BTF_KIND.DATASEC:
    case BTF_KIND.ENUM64:
      return vlen * 12;
    case BTF_KIND.ENUM:
    case BTF_KIND.FUNC_PROTO:
      return vlen * 8;
    default:
      return undefined;
  }
}

/** Reads every type record of [start, start+len): ids from 1, in order. */
export function readTypeRecords(r: BtfReader, start: number, len: number): RawBtfType[] {
  r.check(start, len, "type section");
  const end = start + len;
  const out: RawBtfType[] = [];
  let at = start;
  while (at < end) {
    const id = out.length + 1;
    if (id > BTF_MAX_TYPE) throw new BtfError(`more than ${BTF_MAX_TYPE} types`, { typeId: id, offset: at });
    if (at + 12 > end) throw new BtfError(`record of ${end - at} bytes is truncated (a btf_type is 12 bytes)`, { typeId: id, offset: at });
    const nameOff = r.u32(at, "btf_type.name_off", id);
    const info = r.u32(at + 4, "btf_type.info", id);
    const sizeOrType = r.u32(at + 8, "btf_type.size", id);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    if ((info & 0x60ff0000) !== 0) throw new BtfError(`btf_type.info 0x${info.toString(16)} has unused bits set`, { typeId: id, offset: at + 4 });
    const dataSize = kindDataSize(kind, vlen);
    if (dataSize === undefined || kind === BTF_KIND.UNKN) throw new BtfError(`invalid kind ${kind}`, { typeId: id, offset: at + 4 });
    const d = at + 12;
    if (d + dataSize > end) {
      throw new BtfError(`kind data of ${dataSize} bytes (vlen ${vlen}) runs past the end of the type section`, { typeId: id, offset: d });
    }
    const base = { id, at, nameOff, info, kind, vlen, kflag, sizeOrType };
    const u = (o: number, w: string): number => r.u32(o, w, id);
    let rec: RawBtfType;
    switch (kind) {
      case BTF_KIND.INT:
        rec = { ...base, intData: u(d, "int data") };
        break;
      case BTF_KIND.ARRAY:
        rec = { ...base, array: { type: u(d, "btf_array.type"), indexType: u(d + 4, "btf_array.index_type"), nelems: u(d + 8, "btf_array.nelems") } };
        break;
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION: {
        const members: RawMember[] = [];
        for (let i = 0, o = d; i < vlen; i++, o += 12) members.push({ nameOff: u(o, "btf_member.name_off"), type: u(o + 4, "btf_member.type"), offset: u(o + 8, "btf_member.offset") });
        rec = { ...base, members };
        break;
      }
      case BTF_KIND.ENUM: {
        const enums: RawEnum[] = [];
        for (let i = 0, o = d; i < vlen; i++, o += 8) enums.push({ nameOff: u(o, "btf_enum.name_off"), val: u(o + 4, "btf_enum.val") });
        rec = { ...base, enums };
        break;
      }
      case BTF_KIND.ENUM64: {
        const enums64: RawEnum64[] = [];
        for (let i = 0, o = d; i < vlen; i++, o += 12) enums64.push({ nameOff: u(o, "btf_enum64.name_off"), lo: u(o + 4, "btf_enum64.val_lo32"), hi: u(o + 8, "btf_enum64.val_hi32") });
        rec = { ...base, enums64 };
        break;
      }
      case BTF_KIND.FUNC_PROTO: {
        const params: RawParam[] = [];
        for (let i = 0, o = d; i < vlen; i++, o += 8) params.push({ nameOff: u(o, "btf_param.name_off"), type: u(o + 4, "btf_param.type") });
        rec = { ...base, params };
        break;
      }
      case BTF_KIND.VAR:
        rec = { ...base, linkage: u(d, "btf_var.linkage") };
        break;
      case BTF_KIND.DATASEC: {
        const secinfos: RawSecinfo[] = [];
        for (let i = 0, o = d; i < vlen; i++, o += 12) secinfos.push({ type: u(o, "btf_var_secinfo.type"), offset: u(o + 4, "btf_var_secinfo.offset"), size: u(o + 8, "btf_var_secinfo.size") });
        rec = { ...base, secinfos };
        break;
      }
      case BTF_KIND.DECL_TAG:
        rec = { ...base, componentIdx: r.s32(d, "btf_decl_tag.component_idx", id) };
        break;
      default:
        rec = base;
    }
    out.push(rec);
    at = d + dataSize;
  }
  return out;
}

const utf8 = new TextDecoder("utf-8");

/** The string section: NUL-terminated strings addressed by byte offset. */
export class BtfStrings {
  readonly bytes: Uint8Array;
  private readonly cache = new Map<number, string>();

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  get length(): number {
    return this.bytes.length;
  }

  /** True when `off` starts a NUL-terminated string inside the section. */
  valid(off: number): boolean {
    if (off < 0 || off >= this.bytes.length) return false;
    return this.bytes.indexOf(0, off) !== -1;
  }

  /** The string at `off`; throws a BtfError when `off` is outside the section. */
  at(off: number, what: string, typeId?: number): string {
    const hit = this.cache.get(off);
    if (hit !== undefined) return hit;
    if (off >= this.bytes.length) throw new BtfError(`${what} ${off} is outside the string section (${this.bytes.length} bytes)`, { typeId });
    const end = this.bytes.indexOf(0, off);
    if (end === -1) throw new BtfError(`${what} ${off}: string is not NUL-terminated`, { typeId });
    const s = utf8.decode(this.bytes.subarray(off, end));
    this.cache.set(off, s);
    return s;
  }
}
