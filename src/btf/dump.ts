/**
 * bpftool's views of BTF, byte for byte (bpftool v7.1, tools/bpf/bpftool/btf.c
 * and btf_dumper.c):
 *   - formatBtfDump(): `bpftool btf dump file X.o` (raw format), plain text or
 *     JSON (`-j`, `-p`), every type from id 1 or only the ids asked for;
 *   - formatTypeOnly(): btf_dumper_type_only(), the C-ish one-liner bpftool
 *     prints for a function's signature in `prog dump xlated`
 *     ("int flow_count(struct xdp_md * ctx)");
 *   - formatLineInfo(): btf_dump_linfo_plain(), the "; source line" comment of
 *     `prog dump xlated linum`, and writeLineInfoJson() for its JSON form.
 * `format c` (libbpf's btf_dump, a C header) is not reproduced.
 */
import type { Btf } from "./btf.js";
import { KIND_LABEL } from "./constants.js";
import type { BtfExtLineInfo } from "./ext.js";
import { JsonWriter } from "./json-writer.js";
import type { BtfFunc, BtfFuncProto, BtfType } from "./types.js";

const label = (t: BtfType): string => KIND_LABEL[t.kind];
const nameOf = (s: string): string => (s === "" ? "(anon)" : s);

/** One type in the raw text format, without the trailing newline: "[1] INT 'int' size=4 ...". */
export function formatBtfType(t: BtfType): string {
  let s = `[${t.id}] ${label(t)} '${nameOf(t.name)}'`;
  switch (t.kind) {
    case "int":
      s += ` size=${t.size} bits_offset=${t.bitsOffset} nr_bits=${t.bits} encoding=${intEncoding(t.encoding)}`;
      break;
    case "ptr":
    case "const":
    case "volatile":
    case "restrict":
    case "typedef":
    case "type_tag":
      s += ` type_id=${t.target.id}`;
      break;
    case "array":
      s += ` type_id=${t.elem.id} index_type_id=${t.index.id} nr_elems=${t.nelems}`;
      break;
    case "struct":
    case "union":
      s += ` size=${t.size} vlen=${t.members.length}`;
      for (const m of t.members) {
        s += `\n\t'${nameOf(m.name)}' type_id=${m.type.id} bits_offset=${m.bitOffset}`;
        if (m.bitfieldSize !== 0) s += ` bitfield_size=${m.bitfieldSize}`;
      }
      break;
    case "enum":
      s += ` encoding=${t.signed ? "SIGNED" : "UNSIGNED"} size=${t.size} vlen=${t.values.length}`;
      for (const v of t.values) s += `\n\t'${nameOf(v.name)}' val=${v.value}`;
      break;
    case "enum64":
      s += ` encoding=${t.signed ? "SIGNED" : "UNSIGNED"} size=${t.size} vlen=${t.values.length}`;
      for (const v of t.values) s += `\n\t'${nameOf(v.name)}' val=${v.value}${t.signed ? "LL" : "ULL"}`;
      break;
    case "fwd":
      s += ` fwd_kind=${t.fwdKind}`;
      break;
    case "func":
      s += ` type_id=${t.proto.id} linkage=${t.linkage}`;
      break;
    case "func_proto":
      s += ` ret_type_id=${t.ret.id} vlen=${t.params.length}`;
      for (const p of t.params) s += `\n\t'${nameOf(p.name)}' type_id=${p.type.id}`;
      break;
    case "var":
      s += ` type_id=${t.type.id}, linkage=${t.linkage}`;
      break;
    case "datasec":
      s += ` size=${t.size} vlen=${t.vars.length}`;
      for (const v of t.vars) s += `\n\ttype_id=${v.type.id} offset=${v.offset} size=${v.size} (${label(v.type)} '${nameOf(v.type.name)}')`;
      break;
    case "float":
      s += ` size=${t.size}`;
      break;
    case "decl_tag":
      s += ` type_id=${t.target.id} component_idx=${t.componentIdx}`;
      break;
    case "void":
      break;
  }
  return s;
}

function intEncoding(e: string): string {
  return e === "none" ? "(none)" : e.toUpperCase();
}

/** The fields bpftool writes for one type in `-j` mode. */
export function writeBtfTypeJson(w: JsonWriter, t: BtfType): void {
  w.startObject();
  w.uintField("id", t.id);
  w.stringField("kind", label(t));
  w.stringField("name", nameOf(t.name));
  switch (t.kind) {
    case "int":
      w.uintField("size", t.size);
      w.uintField("bits_offset", t.bitsOffset);
      w.uintField("nr_bits", t.bits);
      w.stringField("encoding", intEncoding(t.encoding));
      break;
    case "ptr":
    case "const":
    case "volatile":
    case "restrict":
    case "typedef":
    case "type_tag":
      w.uintField("type_id", t.target.id);
      break;
    case "array":
      w.uintField("type_id", t.elem.id);
      w.uintField("index_type_id", t.index.id);
      w.uintField("nr_elems", t.nelems);
      break;
    case "struct":
    case "union":
      w.uintField("size", t.size);
      w.uintField("vlen", t.members.length);
      w.name("members");
      w.startArray();
      for (const m of t.members) {
        w.startObject();
        w.stringField("name", nameOf(m.name));
        w.uintField("type_id", m.type.id);
        w.uintField("bits_offset", m.bitOffset);
        if (m.bitfieldSize !== 0) w.uintField("bitfield_size", m.bitfieldSize);
        w.endObject();
      }
      w.endArray();
      break;
    case "enum":
    case "enum64":
      w.stringField("encoding", t.signed ? "SIGNED" : "UNSIGNED");
      w.uintField("size", t.size);
      w.uintField("vlen", t.values.length);
      w.name("values");
      w.startArray();
      for (const v of t.values) {
        w.startObject();
        w.stringField("name", nameOf(v.name));
        // jsonw_uint_field() of an s32 btf_enum.val sign-extends to 64 bits: -1 prints as 18446744073709551615.
        w.intField("val", t.kind === "enum" && !t.signed ? BigInt.asUintN(64, BigInt((v.value as number) | 0)) : v.value);
        w.endObject();
      }
      w.endArray();
      break;
    case "fwd":
      w.stringField("fwd_kind", t.fwdKind);
      break;
    case "func":
      w.uintField("type_id", t.proto.id);
      w.stringField("linkage", t.linkage);
      break;
    case "func_proto":
      w.uintField("ret_type_id", t.ret.id);
      w.uintField("vlen", t.params.length);
      w.name("params");
      w.startArray();
      for (const p of t.params) {
        w.startObject();
        w.stringField("name", nameOf(p.name));
        w.uintField("type_id", p.type.id);
        w.endObject();
      }
      w.endArray();
      break;
    case "var":
      w.uintField("type_id", t.type.id);
      w.stringField("linkage", t.linkage);
      break;
    case "datasec":
      w.uintField("size", t.size);
      w.uintField("vlen", t.vars.length);
      w.name("vars");
      w.startArray();
      for (const v of t.vars) {
        w.startObject();
        w.uintField("type_id", v.type.id);
        w.uintField("offset", v.offset);
        w.uintField("size", v.size);
        w.endObject();
      }
      w.endArray();
      break;
    case "float":
      w.uintField("size", t.size);
      break;
    case "decl_tag":
      w.uintField("type_id", t.target.id);
      w.intField("component_idx", t.componentIdx);
      break;
    case "void":
      break;
  }
  w.endObject();
}

export interface BtfDumpOptions {
  /** `-j`: JSON instead of text. */
  json?: boolean;
  /** `-p`: pretty JSON (implies json). */
  pretty?: boolean;
  /** Only these type ids, in this order (`bpftool btf dump map ...` uses the key and value ids). */
  ids?: readonly number[];
}

/** `bpftool btf dump file X.o` (format raw): the complete output, trailing newline included. */
export function formatBtfDump(btf: Btf, opts: BtfDumpOptions = {}): string {
  const types = opts.ids !== undefined ? opts.ids.map((id) => btf.typeById(id)) : btf.types.slice(1);
  if (opts.json !== true && opts.pretty !== true) return types.map((t) => formatBtfType(t) + "\n").join("");
  const w = new JsonWriter({ pretty: opts.pretty === true });
  w.startObject();
  w.name("types");
  w.startArray();
  for (const t of types) writeBtfTypeJson(w, t);
  w.endArray();
  w.endObject();
  return w.destroy();
}

/**
 * btf_dumper_type_only(): "int flow_count(struct xdp_md * ctx)" for a FUNC,
 * "struct flow_key " for a struct (the trailing blank is bpftool's). "" for a
 * type bpftool cannot print this way (a tag).
 */
export function formatTypeOnly(t: BtfType): string {
  const out = typeOnly(t);
  return out === undefined ? "" : out;
}

function typeOnly(t: BtfType): string | undefined {
  switch (t.kind) {
    case "void":
      return "void ";
    case "int":
    case "typedef":
    case "float":
      return `${t.name} `;
    case "struct":
    case "union":
      return `${t.kind} ${t.name} `;
    case "enum":
    case "enum64":
      return `enum ${t.name} `;
    case "array": {
      const e = typeOnly(t.elem);
      return e === undefined ? undefined : `${e}[${t.nelems}]`;
    }
    case "ptr": {
      const e = typeOnly(t.target);
      return e === undefined ? undefined : `${e}* `;
    }
    case "fwd":
      return `${t.fwdKind} ${t.name} `;
    case "volatile":
    case "const":
    case "restrict": {
      const e = typeOnly(t.target);
      return e === undefined ? undefined : `${t.kind} ${e}`;
    }
    case "func_proto":
      return funcSig(t, undefined);
    case "func":
      return funcSig(t.proto, t);
    case "var": {
      const e = typeOnly(t.type);
      return e === undefined ? undefined : `${t.linkage === "static" ? "static " : ""}${e} ${t.name}`;
    }
    case "datasec":
      return `section ("${t.name}") `;
    default:
      return undefined;
  }
}

function funcSig(proto: BtfFuncProto, func: BtfFunc | undefined): string | undefined {
  let s = typeOnly(proto.ret);
  if (s === undefined) return undefined;
  s += func !== undefined ? `${func.name}(` : "(";
  for (let i = 0; i < proto.params.length; i++) {
    const p = proto.params[i]!;
    if (i > 0) s += ", ";
    if (p.type.id !== 0) {
      const ts = typeOnly(p.type);
      if (ts === undefined) return undefined;
      s += ts;
      if (p.name !== "") s += p.name;
      else if (s.endsWith(" ")) s = s.slice(0, -1);
    } else {
      s += "...";
    }
  }
  return s + ")";
}

/** btf_dump_linfo_plain(): the source line (leading blanks trimmed), with file and position when `linum`. Ends in "\n". */
export function formatLineInfo(li: BtfExtLineInfo, opts: { prefix?: string; linum?: boolean } = {}): string {
  const line = li.line.replace(/^[ \t\n\v\f\r]+/, "");
  const pre = opts.prefix ?? "";
  if (opts.linum === true) return `${pre}${line} [file:${li.fileName} line_num:${li.lineNumber} line_col:${li.column}]\n`;
  return `${pre}${line}\n`;
}

/** btf_dump_linfo_json(): "src", and with `linum` "file", "line_num", "line_col" (the numbers only when non-zero). */
export function writeLineInfoJson(w: JsonWriter, li: BtfExtLineInfo, linum = false): void {
  w.stringField("src", li.line.replace(/^[ \t\n\v\f\r]+/, ""));
  if (linum) {
    w.stringField("file", li.fileName);
    if (li.lineNumber !== 0) w.intField("line_num", li.lineNumber);
    if (li.column !== 0) w.intField("line_col", li.column);
  }
}
