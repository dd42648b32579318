/**
 * BTF numbering, as in include/uapi/linux/btf.h. Kinds are kept by their kernel
 * id (BTF_KIND_*), never by declaration order; the model names them in lower
 * case ("ptr", "func_proto") and bpftool prints the upper-case names below.
 */

export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** sizeof(struct btf_header) for version 1. */
export const BTF_HEADER_SIZE = 24;
export const BTF_MAX_TYPE = 0x000fffff;
export const BTF_MAX_NAME_OFFSET = 0x00ffffff;
export const BTF_MAX_VLEN = 0xffff;

export const BTF_KIND = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;
export const BTF_KIND_MAX = 19;

/** The model's kind names, by kernel id. */
export type BtfKind =
  | "void"
  | "int"
  | "ptr"
  | "array"
  | "struct"
  | "union"
  | "enum"
  | "fwd"
  | "typedef"
  | "volatile"
  | "const"
  | "restrict"
  | "func"
  | "func_proto"
  | "var"
  | "datasec"
  | "float"
  | "decl_tag"
  | "type_tag"
  | "enum64";

export const KIND_BY_ID: Readonly<Record<number, BtfKind>> = {
  [BTF_KIND.UNKN]: "void",
  [BTF_KIND.INT]: "int",
  [BTF_KIND.PTR]: "ptr",
  [BTF_KIND.ARRAY]: "array",
  [BTF_KIND.STRUCT]: "struct",
  [BTF_KIND.UNION]: "union",
  [BTF_KIND.ENUM]: "enum",
  [BTF_KIND.FWD]: "fwd",
  [BTF_KIND.TYPEDEF]: "typedef",
  [BTF_KIND.VOLATILE]: "volatile",
  [BTF_KIND.CONST]: "const",
  [BTF_KIND.RESTRICT]: "restrict",
  [BTF_KIND.FUNC]: "func",
  [BTF_KIND.FUNC_PROTO]: "func_proto",
  [BTF_KIND.VAR]: "var",
  [BTF_KIND.DATASEC]: "datasec",
  [BTF_KIND.FLOAT]: "float",
  [BTF_KIND.DECL_TAG]: "decl_tag",
  [BTF_KIND.TYPE_TAG]: "type_tag",
  [BTF_KIND.ENUM64]: "enum64",
};

/** bpftool's spelling of each kind (btf_kind_str[] in bpftool's btf.c); "UNKNOWN" for id 0. */
export const KIND_LABEL: Readonly<Record<BtfKind, string>> = {
  void: "UNKNOWN",
  int: "INT",
  ptr: "PTR",
  array: "ARRAY",
  struct: "STRUCT",
  union: "UNION",
  enum: "ENUM",
  fwd: "FWD",
  typedef: "TYPEDEF",
  volatile: "VOLATILE",
  const: "CONST",
  restrict: "RESTRICT",
  func: "FUNC",
  func_proto: "FUNC_PROTO",
  var: "VAR",
  datasec: "DATASEC",
  float: "FLOAT",
  decl_tag: "DECL_TAG",
  type_tag: "TYPE_TAG",
  enum64: "ENUM64",
};

/** BTF_INT_ENCODING bits. */
export const BTF_INT_SIGNED = 1 << 0;
export const BTF_INT_CHAR = 1 << 1;
export const BTF_INT_BOOL = 1 << 2;

/** VAR linkage (btf_var.linkage) and FUNC linkage (vlen of a FUNC). */
export const BTF_VAR_STATIC = 0;
export const BTF_VAR_GLOBAL_ALLOCATED = 1;
export const BTF_VAR_GLOBAL_EXTERN = 2;
export const BTF_FUNC_STATIC = 0;
export const BTF_FUNC_GLOBAL = 1;
export const BTF_FUNC_EXTERN = 2;

export type Linkage = "static" | "global" | "extern";
export const LINKAGE_BY_ID: readonly Linkage[] = ["static", "global", "extern"];

/** .BTF.ext */
export const BTF_EXT_HEADER_MIN = 24; // up to line_info_len
export const BTF_EXT_HEADER_CORE = 32; // with core_relo_off/len
export const BPF_LINE_INFO_LINE_NUM = (lineCol: number): number => lineCol >>> 10;
export const BPF_LINE_INFO_LINE_COL = (lineCol: number): number => lineCol & 0x3ff;

/** enum bpf_core_relo_kind (include/uapi/linux/bpf.h), by kernel id. */
export const CORE_RELO_KINDS = [
  "field_byte_offset", // 0
  "field_byte_size", // 1
  "field_exists", // 2
  "field_signed", // 3
  "field_lshift_u64", // 4
  "field_rshift_u64", // 5
  "type_id_local", // 6
  "type_id_target", // 7
  "type_exists", // 8
  "type_size", // 9
  "enumval_exists", // 10
  "enumval_value", // 11
  "type_matches", // 12
] as const;
export type CoreReloKind = (typeof CORE_RELO_KINDS)[number];
