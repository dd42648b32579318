/**
 * BTF and BTF.ext: parsing (both byte orders, with the kernel's sanity checks),
 * the type model as an object graph, type queries (resolve, sizeof, member
 * offsets), bpftool-identical dumps of types and of values, and CO-RE
 * relocation of field offsets against a target BTF.
 * See https://docs.kernel.org/bpf/btf.html for the format.
 */
export { Btf, fixupDatasec, typeId } from "./btf.js";
export { parseBtf } from "./parse.js";
export { parseBtfExt } from "./ext.js";
export type { BtfExt, BtfExtSection, BtfExtFuncInfo, BtfExtLineInfo, BtfExtCoreRelo } from "./ext.js";
export * from "./types.js";
export * from "./constants.js";
export { resolveType, sizeOf, alignOf, memberLayout, fieldByPath, isModifier } from "./query.js";
export type { MemberLayout, FieldRef } from "./query.js";
export { formatBtfDump, formatBtfType, writeBtfTypeJson, formatTypeOnly, formatLineInfo, writeLineInfoJson } from "./dump.js";
export type { BtfDumpOptions } from "./dump.js";
export { JsonWriter } from "./json-writer.js";
export { formatValue, writeValue } from "./value.js";
export type { ValueFormatOptions } from "./value.js";
export { formatMapDump, formatMapLookup, fprintHex, isPerCpuMapType } from "./map-dump.js";
export type { MapDumpInfo, MapDumpEntry, MapDumpOptions } from "./map-dump.js";
export type { ByteOrder } from "./wire.js";
export { applyCoreRelos, computeCoreRelo, essentialName, CORE_POISON_IMM } from "./core.js";
export type { CoreRelocation, CoreResult } from "./core.js";
