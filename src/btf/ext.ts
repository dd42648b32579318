/**
 * .BTF.ext: per-section func_info, line_info and CO-RE relocation records, as
 * clang writes them (instruction offsets in bytes from the start of the ELF
 * section; the loader turns them into instruction indices of the final
 * program, as libbpf's adjust_prog_btf_ext_info() does). Strings and type ids
 * refer to the object's .BTF, so parsing needs it.
 *
 *   struct btf_ext_header (24 or 32 bytes)
 *   0 magic u16  2 version u8  3 flags u8  4 hdr_len u32
 *   8 func_info_off  12 func_info_len  16 line_info_off  20 line_info_len
 *   24 core_relo_off  28 core_relo_len        (offsets count from the end of the header)
 *
 *   each info area: u32 rec_size, then blocks of
 *     { u32 sec_name_off; u32 num_info; rec_size x num_info bytes }
 *   bpf_func_info { insn_off, type_id }                       (8 bytes)
 *   bpf_line_info { insn_off, file_name_off, line_off, line_col } (16 bytes; line_col = line << 10 | col)
 *   bpf_core_relo { insn_off, type_id, access_str_off, kind }  (16 bytes)
 *
 * Checks follow libbpf's btf_ext_parse() / btf_ext_setup_info(): record sizes at
 * least the known size and a multiple of 4, every block inside its area, at least
 * one record per block, names and type ids valid, func_info naming FUNCs.
 */
import { BtfError } from "../errors/index.js";
import type { Btf } from "./btf.js";
import { BPF_LINE_INFO_LINE_COL, BPF_LINE_INFO_LINE_NUM, BTF_EXT_HEADER_CORE, BTF_EXT_HEADER_MIN, CORE_RELO_KINDS, type CoreReloKind } from "./constants.js";
import type { BtfFunc, BtfType } from "./types.js";
import { BtfReader, detectOrder, type ByteOrder } from "./wire.js";

export interface BtfExtFuncInfo {
  /** Byte offset of the function's first instruction in its ELF section. */
  readonly insnOff: number;
  readonly func: BtfFunc;
}

export interface BtfExtLineInfo {
  /** Byte offset of the instruction in its ELF section. */
  readonly insnOff: number;
  readonly fileName: string;
  /** The C source line, as clang stored it (leading blanks included). */
  readonly line: string;
  readonly lineNumber: number;
  readonly column: number;
}

export interface BtfExtCoreRelo {
  /** Byte offset of the instruction in its ELF section. */
  readonly insnOff: number;
  /** The local root type of the access. */
  readonly type: BtfType;
  /** "0:1:2": the access path as indices (first: array index into the root, then member / element indices). */
  readonly accessStr: string;
  readonly kind: CoreReloKind;
}

export interface BtfExtSection<T> {
  /** The ELF section the records belong to ("xdp", ".text"). */
  readonly section: string;
  readonly records: readonly T[];
}

export interface BtfExt {
  readonly byteOrder: ByteOrder;
  readonly funcInfo: readonly BtfExtSection<BtfExtFuncInfo>[];
  readonly lineInfo: readonly BtfExtSection<BtfExtLineInfo>[];
  readonly coreRelos: readonly BtfExtSection<BtfExtCoreRelo>[];
}

interface Area {
  readonly what: string;
  readonly start: number;
  readonly len: number;
  readonly minRec: number;
}

export function parseBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  const order = detectOrder(bytes, ".BTF.ext");
  const r = new BtfReader(bytes, order);
  r.check(0, 8, "btf_ext_header");
  const version = r.u8(2, "btf_ext_header.version");
  const flags = r.u8(3, "btf_ext_header.flags");
  const hdrLen = r.u32(4, "btf_ext_header.hdr_len");
  if (version !== 1) throw new BtfError(`.BTF.ext: unsupported version ${version}`, { offset: 2 });
  if (flags !== 0) throw new BtfError(`.BTF.ext: unsupported flags 0x${flags.toString(16)}`, { offset: 3 });
  if (hdrLen < BTF_EXT_HEADER_MIN) throw new BtfError(`.BTF.ext: hdr_len ${hdrLen} is smaller than ${BTF_EXT_HEADER_MIN}`, { offset: 4 });
  r.check(0, hdrLen, ".BTF.ext header (hdr_len)");
  if (order !== btf.byteOrder) throw new BtfError(`.BTF.ext is ${order}-endian but .BTF is ${btf.byteOrder}-endian`, { offset: 0 });

  const area = (offField: number, what: string, minRec: number): Area => ({
    what,
    start: hdrLen + r.u32(offField, `.BTF.ext ${what}_off`),
    len: r.u32(offField + 4, `.BTF.ext ${what}_len`),
    minRec,
  });
  const str = (off: number, what: string, at: number): string => {
    if (!btf.strings.valid(off)) throw new BtfError(`.BTF.ext ${what}: string offset ${off} is outside the .BTF string section`, { offset: at });
    return btf.strings.at(off, what);
  };
  const type = (id: number, what: string, at: number): BtfType => {
    const t = btf.types[id];
    if (t === undefined) throw new BtfError(`.BTF.ext ${what}: type id ${id} is out of range (${btf.types.length} types)`, { offset: at, typeId: id });
    return t;
  };

  const funcInfo = readArea(r, area(8, "func_info", 8), str, (at, _size) => {
    const insnOff = r.u32(at, "bpf_func_info.insn_off");
    const id = r.u32(at + 4, "bpf_func_info.type_id");
    const func = type(id, "func_info", at + 4);
    if (func.kind !== "func") throw new BtfError(`.BTF.ext func_info: type [${id}] is a ${func.kind.toUpperCase()}, not a FUNC`, { offset: at + 4, typeId: id });
    return { insnOff, func };
  });
  const lineInfo = readArea(r, area(16, "line_info", 16), str, (at) => {
    const lineCol = r.u32(at + 12, "bpf_line_info.line_col");
    return {
      insnOff: r.u32(at, "bpf_line_info.insn_off"),
      fileName: str(r.u32(at + 4, "bpf_line_info.file_name_off"), "line_info file_name_off", at + 4),
      line: str(r.u32(at + 8, "bpf_line_info.line_off"), "line_info line_off", at + 8),
      lineNumber: BPF_LINE_INFO_LINE_NUM(lineCol),
      column: BPF_LINE_INFO_LINE_COL(lineCol),
    };
  });
  const coreRelos =
    hdrLen >= BTF_EXT_HEADER_CORE
      ? readArea(r, area(24, "core_relo", 16), str, (at) => {
          const kindId = r.u32(at + 12, "bpf_core_relo.kind");
          const kind = CORE_RELO_KINDS[kindId];
          if (kind === undefined) throw new BtfError(`.BTF.ext core_relo: unknown relocation kind ${kindId}`, { offset: at + 12 });
          return {
            insnOff: r.u32(at, "bpf_core_relo.insn_off"),
            type: type(r.u32(at + 4, "bpf_core_relo.type_id"), "core_relo", at + 4),
            accessStr: str(r.u32(at + 8, "bpf_core_relo.access_str_off"), "core_relo access_str_off", at + 8),
            kind,
          };
        })
      : [];
  return { byteOrder: order, funcInfo, lineInfo, coreRelos };
}

function readArea<T>(
  r: BtfReader,
  a: Area,
  str: (off: number, what: string, at: number) => string,
  rec: (at: number, size: number) => T,
): BtfExtSection<T>[] {
  if (a.len === 0) return [];
  r.check(a.start, a.len, `.BTF.ext ${a.what} area`);
  if (a.len < 4) throw new BtfError(`.BTF.ext ${a.what}: area of ${a.len} bytes has no record size`, { offset: a.start });
  const recSize = r.u32(a.start, `.BTF.ext ${a.what} record size`);
  if (recSize < a.minRec || recSize % 4 !== 0) {
    throw new BtfError(`.BTF.ext ${a.what}: record size ${recSize} is invalid (at least ${a.minRec}, a multiple of 4)`, { offset: a.start });
  }
  const end = a.start + a.len;
  const out: BtfExtSection<T>[] = [];
  let at = a.start + 4;
  while (at < end) {
    if (at + 8 > end) throw new BtfError(`.BTF.ext ${a.what}: truncated section header`, { offset: at });
    const section = str(r.u32(at, `${a.what} sec_name_off`), `${a.what} sec_name_off`, at);
    const num = r.u32(at + 4, `${a.what} num_info`);
    if (num === 0) throw new BtfError(`.BTF.ext ${a.what}: section '${section}' has no records`, { offset: at + 4 });
    const bytes = num * recSize;
    if (at + 8 + bytes > end) {
      throw new BtfError(`.BTF.ext ${a.what}: section '${section}' claims ${num} records of ${recSize} bytes, past the end of the area`, { offset: at + 4 });
    }
    const records: T[] = [];
    for (let i = 0, p = at + 8; i < num; i++, p += recSize) records.push(rec(p, recSize));
    out.push({ section, records });
    at += 8 + bytes;
  }
  return out;
}
