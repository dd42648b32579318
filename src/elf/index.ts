/** ELF64 reader (both byte orders): sections, symbols, relocations. The BPF object model builds on it. */
export { parseElf, relocationsFor, sectionByName } from "./parse.js";
export type { ElfFile, ElfSection, ElfSymbol, ElfRelocation, ElfRelocationSection } from "./types.js";
export type { ByteOrder } from "./wire.js";
export * from "./constants.js";
/** The BPF object loader: ELF + BTF -> ObjectSpec (programs, maps, relocations). */
export { loadCollectionSpec, objectNameFromPath } from "./object.js";
export type { ObjectSpec, MapSpecIn, ProgramSpecIn, MapContent, MapKind, ProgramReference, ProgramFuncInfo, ProgramLineInfo, ProgramCoreRelo, LoadOptions } from "./object-types.js";
export { UnsupportedFeatureError } from "./object-checks.js";
export type { UnsupportedFeature } from "./object-checks.js";
export { sectionInfo, sectionDefMatches, SECTION_DEFS, PROG_TYPES, ATTACH_TYPES } from "./section-names.js";
export type { ProgTypeName, SectionDef, SectionInfo } from "./section-names.js";
export { internalMapName } from "./maps-data.js";
