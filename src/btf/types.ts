/**
 * The BTF model: an object graph, not a table of ids. A pointer holds its target
 * type, a struct its members' types; `id` is kept on every type for printing and
 * for the kernel-facing ids (map btf_key_type_id, func_info type_id). Type 0 is
 * the shared VOID object.
 *
 * Names follow the kernel (include/uapi/linux/btf.h): `bitOffset` is
 * BTF_MEMBER_BIT_OFFSET, `bitfieldSize` BTF_MEMBER_BITFIELD_SIZE (0 for a
 * non-bitfield member, or for an old-style bitfield whose INT type carries the
 * width, kind_flag = 0).
 */
import type { BtfKind, Linkage } from "./constants.js";

/** A BTF type id (index into the type table, 0 = void). */
export type BtfTypeId = number & { readonly __brand: "BtfTypeId" };

interface Base {
  readonly id: BtfTypeId;
  /** "" for anonymous types (name_off 0). For DECL_TAG and TYPE_TAG: the tag's value. */
  readonly name: string;
}

export interface BtfVoid extends Base {
  readonly kind: "void";
}

export type IntEncoding = "none" | "signed" | "char" | "bool";

export interface BtfInt extends Base {
  readonly kind: "int";
  readonly size: number;
  /** BTF_INT_OFFSET: bit offset of the value inside `size` bytes (0 except for old-style bitfields). */
  readonly bitsOffset: number;
  /** BTF_INT_BITS: number of value bits. */
  readonly bits: number;
  readonly encoding: IntEncoding;
}

export interface BtfPtr extends Base {
  readonly kind: "ptr";
  readonly target: BtfType;
}

export interface BtfArray extends Base {
  readonly kind: "array";
  readonly elem: BtfType;
  readonly index: BtfType;
  readonly nelems: number;
}

export interface BtfMember {
  /** "" for an anonymous member (an embedded anonymous struct or union). */
  readonly name: string;
  readonly type: BtfType;
  readonly bitOffset: number;
  readonly bitfieldSize: number;
}

export interface BtfStruct extends Base {
  readonly kind: "struct";
  readonly size: number;
  /** kind_flag: members encode bitfield sizes in their offset. */
  readonly kindFlag: boolean;
  readonly members: readonly BtfMember[];
}

export interface BtfUnion extends Base {
  readonly kind: "union";
  readonly size: number;
  readonly kindFlag: boolean;
  readonly members: readonly BtfMember[];
}

export interface BtfEnumValue {
  readonly name: string;
  /** As the enum's signedness reads the 32-bit value: -1 for a signed enum, 4294967295 for an unsigned one. */
  readonly value: number;
}

export interface BtfEnum extends Base {
  readonly kind: "enum";
  readonly size: number;
  /** kind_flag: the values are signed. */
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue[];
}

export interface BtfEnum64Value {
  readonly name: string;
  /** Signed (s64) when the enum is signed, else unsigned (u64). */
  readonly value: bigint;
}

export interface BtfEnum64 extends Base {
  readonly kind: "enum64";
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly BtfEnum64Value[];
}

export interface BtfFwd extends Base {
  readonly kind: "fwd";
  readonly fwdKind: "struct" | "union";
}

export interface BtfTypedef extends Base {
  readonly kind: "typedef";
  readonly target: BtfType;
}

export interface BtfVolatile extends Base {
  readonly kind: "volatile";
  readonly target: BtfType;
}

export interface BtfConst extends Base {
  readonly kind: "const";
  readonly target: BtfType;
}

export interface BtfRestrict extends Base {
  readonly kind: "restrict";
  readonly target: BtfType;
}

export interface BtfTypeTag extends Base {
  readonly kind: "type_tag";
  readonly target: BtfType;
}

export interface BtfFunc extends Base {
  readonly kind: "func";
  readonly proto: BtfFuncProto;
  readonly linkage: Linkage;
}

export interface BtfParam {
  /** "" when unnamed. A last parameter of type void (id 0) and no name means `...`. */
  readonly name: string;
  readonly type: BtfType;
}

export interface BtfFuncProto extends Base {
  readonly kind: "func_proto";
  readonly ret: BtfType;
  readonly params: readonly BtfParam[];
}

export interface BtfVar extends Base {
  readonly kind: "var";
  readonly type: BtfType;
  readonly linkage: Linkage;
}

export interface BtfVarSecinfo {
  /** A VAR, or a FUNC for extern functions in .ksyms. */
  readonly type: BtfVar | BtfFunc;
  readonly offset: number;
  readonly size: number;
}

export interface BtfDatasec extends Base {
  readonly kind: "datasec";
  /** 0 in objects clang writes until a loader fills it from the ELF section (libbpf's btf_fixup_datasec). */
  readonly size: number;
  readonly vars: readonly BtfVarSecinfo[];
}

export interface BtfFloat extends Base {
  readonly kind: "float";
  readonly size: number;
}

export interface BtfDeclTag extends Base {
  readonly kind: "decl_tag";
  readonly target: BtfType;
  /** -1: the tag applies to the type itself; else the member / parameter index. */
  readonly componentIdx: number;
}

export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfStruct
  | BtfUnion
  | BtfEnum
  | BtfEnum64
  | BtfFwd
  | BtfTypedef
  | BtfVolatile
  | BtfConst
  | BtfRestrict
  | BtfTypeTag
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag;

export type BtfTypeOfKind<K extends BtfKind> = Extract<BtfType, { kind: K }>;

/** Kinds that only qualify another type: resolving skips them. */
export type BtfModifier = BtfVolatile | BtfConst | BtfRestrict | BtfTypeTag;
export type BtfComposite = BtfStruct | BtfUnion;

export const VOID: BtfVoid = Object.freeze({ kind: "void", id: 0 as BtfTypeId, name: "" });
