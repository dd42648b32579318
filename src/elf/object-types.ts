/**
 * The BPF object model that loadCollectionSpec() returns: a description (a
 * "spec", as in cilium/ebpf's CollectionSpec), pure data, editable, with no
 * runtime state. A runtime creates maps from `maps` and loads `programs`,
 * turning each `references` entry into the map's address.
 *
 * Map references in `insns`: an ld_imm64 bound to a map by a R_BPF_64_64
 * relocation is rewritten the way the kernel's fd_array convention spells it —
 * src_reg BPF_PSEUDO_MAP_IDX (pseudo "map_idx", imm = index into `maps`) for a
 * map, BPF_PSEUDO_MAP_IDX_VALUE ("map_idx_value", imm = index, imm2 = byte
 * offset) for global data — and listed in `references` by map name.
 */
import type { Btf, BtfExt, BtfFunc, BtfType, CoreReloKind, CoreResult } from "../btf/index.js";
import type { Insn } from "../isa/index.js";
import type { ProgTypeName } from "./section-names.js";
import type { ElfFile } from "./types.js";
import type { ByteOrder } from "./wire.js";

export type MapKind = "btf" | "legacy" | "data" | "rodata" | "bss" | "kconfig";

export type MapContent =
  /** A key/value pair to store before the program runs (global data: key 0, the section bytes). */
  | { readonly key: Uint8Array; readonly value: Uint8Array }
  /** Prog array slot `index` holds program `program` (`.values = { [1] = &prog }`). */
  | { readonly index: number; readonly program: string }
  /** Map-in-map slot `index` holds map `map`. */
  | { readonly index: number; readonly map: string };

export interface MapSpecIn {
  /** BTF-defined and legacy maps: the variable's name. Global data: libbpf's name ("obj.data", ".rodata.str1.1" cut to 15 chars). */
  name: string;
  /** Kernel map type name, "BPF_MAP_TYPE_HASH". */
  type: string;
  /** enum bpf_map_type id. */
  typeId: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_MAP_CREATE map_flags (BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, BPF_F_MMAPABLE ...). */
  flags: number;
  mapExtra?: bigint;
  numaNode?: number;
  pinning?: "none" | "by_name";
  /** The template of the maps a map-in-map holds (`__array(values, struct inner)`): "<name>.inner". */
  innerMap?: MapSpecIn;
  contents?: MapContent[];
  btfKey?: BtfType;
  btfValue?: BtfType;
  /** Byte offset of the `struct bpf_spin_lock` in the value (needed for BPF_F_LOCK), when there is one. */
  spinLockOffset?: number;
  kind: MapKind;
  /** The ELF section the map comes from (".maps", "maps", ".data", ".rodata.str1.1"). */
  section: string;
  /** Global data: the ELF section's name ("data" maps are named after the object, this is the real name). */
  realName?: string;
}

export interface ProgramReference {
  /** Slot index of the ld_imm64 in `insns`. */
  pc: number;
  kind: "map" | "map_value";
  /** MapSpecIn.name */
  map: string;
  /** map_value: byte offset into the map's value. */
  offset: number;
}

export interface ProgramFuncInfo {
  /** Slot index of the function's first instruction. */
  pc: number;
  func: BtfFunc;
}

export interface ProgramLineInfo {
  pc: number;
  fileName: string;
  /** The source line as clang recorded it. */
  line: string;
  lineNumber: number;
  column: number;
}

export interface ProgramCoreRelo {
  pc: number;
  type: BtfType;
  accessStr: string;
  kind: CoreReloKind;
}

export interface ProgramSpecIn {
  /** The function symbol. */
  name: string;
  /** The ELF section, without a leading "?". */
  section: string;
  /** Program type, the kernel's BPF_PROG_TYPE_* suffix in lower case ("xdp", "sched_cls"); "unspec" for unknown sections. */
  type: ProgTypeName;
  /** enum bpf_prog_type id. */
  typeId: number;
  /** enum bpf_attach_type name ("BPF_CGROUP_INET_INGRESS"), when the section convention sets one. */
  expectedAttachType?: string;
  expectedAttachTypeId?: number;
  /** The attach target named by the section ("do_unlinkat" for "kprobe/do_unlinkat"). */
  attachTo?: string;
  sleepable: boolean;
  /** SEC("xdp.frags"): BPF_F_XDP_HAS_FRAGS. */
  xdpFrags: boolean;
  /** false for SEC("?...") programs. */
  autoload: boolean;
  /** Global (STB_GLOBAL/WEAK) function symbol. */
  global: boolean;
  /** The program followed by the .text subprograms it uses, calls and function pointers fixed (bpf_object__relocate_calls). */
  insns: Insn[];
  /** Where each function starts in `insns`: the program itself at 0, then every appended subprogram. */
  functions: Array<{ name: string; pc: number }>;
  references: ProgramReference[];
  /** .BTF.ext func_info remapped to `insns` (empty without BTF.ext). */
  funcInfo: ProgramFuncInfo[];
  lineInfo: ProgramLineInfo[];
  /** CO-RE relocation records remapped to `insns` (applied only when LoadOptions.coreTarget is given). */
  coreRelos: ProgramCoreRelo[];
  /** With LoadOptions.coreTarget: what each CO-RE relocation resolved to (the instructions are patched). */
  coreResults?: CoreResult[];
  license: string;
}

export interface ObjectSpec {
  /** The object name (libbpf's obj->name), used for global data map names. */
  name: string;
  license: string;
  /** The `version` section (0 when absent). */
  kernelVersion: number;
  byteOrder: ByteOrder;
  /** .BTF, with DATASEC sizes and offsets filled in from the ELF as libbpf does. */
  btf?: Btf;
  btfExt?: BtfExt;
  maps: MapSpecIn[];
  programs: ProgramSpecIn[];
  /** The parsed ELF file, for tools. */
  elf: ElfFile;
}

export interface LoadOptions {
  /**
   * The object name, as libbpf derives it: a file path's base name up to its
   * first "." ("flow_count" for "obj/flow_count.o"). Default "obj".
   */
  name?: string;
  /**
   * Apply CO-RE relocations against this BTF (the kernel's vmlinux BTF, or a
   * description of the types the program reads), as libbpf does at load time.
   * Without it the compiled (local) values stay.
   */
  coreTarget?: Btf;
}
