/** tsbpf's public API: the instruction set, assembler/disassemblers, ELF and BTF, maps, the machine and the runtime. */
export * from "./errors/index.js";
export * from "./isa/index.js";
export * from "./asm/index.js";
export {
  parseElf, relocationsFor, sectionByName, loadCollectionSpec, objectNameFromPath, UnsupportedFeatureError,
  type ElfFile, type ElfSection, type ElfSymbol, type ElfRelocation, type ElfRelocationSection,
  type ObjectSpec, type MapSpecIn, type ProgramSpecIn, type ProgramReference,
} from "./elf/index.js";
export {
  Btf, parseBtf, parseBtfExt, formatBtfDump, formatValue, formatMapDump, formatMapLookup, applyCoreRelos,
  type BtfType, type BtfExt,
} from "./btf/index.js";
export * from "./maps/index.js";
export * from "./vm/index.js";
export * from "./conformance/index.js";
export * from "./progtypes/index.js";
export { HELPER_IDS, IMPLEMENTED_HELPER_IDS, kernelHelpers, type HelperEnv, type TaskContext, type Clocks } from "./helpers/index.js";
export * from "./runtime/index.js";
/** The JIT (the runtime's default engine for verified programs; Program.jitMode is a JitMode). */
export { JitMachine, runOnMemoryJit, type JitMode, type JitMachineOptions, type RunOnMemoryJitOptions } from "./jit/index.js";
/** Classic BPF (listings, checker, interpreter, conversion, the tcpdump filter compiler) and pcap/pcapng I/O, as namespaces. */
export * as cbpf from "./cbpf/index.js";
export * as pcap from "./pcap/index.js";
