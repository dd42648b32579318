/**
 * The two instruction models: RawInsn is `struct bpf_insn` as it sits in memory
 * (one 8-byte slot); Insn is what one instruction means, decoded once. Operations
 * that hide in other fields (sdiv/smod in `off`, movsx in `off`, ldsx in the mode,
 * bswap in the class, gotol in the class, atomics in `imm`) are distinct here, so
 * every consumer switches on `kind`/`op` and never re-derives them from bits.
 */

/** One 8-byte slot: `struct bpf_insn`. `off` is s16 and `imm` s32, as in the kernel. */
export interface RawInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

export type AluOp =
  | "add" | "sub" | "mul" | "div" | "sdiv" | "or" | "and" | "lsh" | "rsh"
  | "neg" | "mod" | "smod" | "xor" | "mov" | "movsx" | "arsh";

export type JmpCond =
  | "jeq" | "jgt" | "jge" | "jset" | "jne" | "jsgt" | "jsge"
  | "jlt" | "jle" | "jslt" | "jsle";

export type MemSize = 1 | 2 | 4 | 8;

export type AtomicOp = "add" | "or" | "and" | "xor" | "xchg" | "cmpxchg";

/** Second operand of an ALU or conditional-jump instruction: BPF_K (imm) or BPF_X (register). */
export type Operand = { readonly kind: "imm"; readonly imm: number } | { readonly kind: "reg"; readonly reg: number };

/** src_reg of ld_imm64, named as in bpf.h. */
export type LdImm64Pseudo =
  | "imm" // plain 64-bit constant
  | "map_fd" // BPF_PSEUDO_MAP_FD
  | "map_value" // BPF_PSEUDO_MAP_VALUE
  | "btf_id" // BPF_PSEUDO_BTF_ID
  | "func" // BPF_PSEUDO_FUNC
  | "map_idx" // BPF_PSEUDO_MAP_IDX
  | "map_idx_value"; // BPF_PSEUDO_MAP_IDX_VALUE

interface Base {
  /** Slot index of the instruction in the program (ld_imm64 takes two slots). */
  readonly pc: number;
}

export interface AluInsn extends Base {
  readonly kind: "alu";
  readonly op: AluOp;
  /** BPF_ALU64 (true) or BPF_ALU (false: 32-bit, result zero-extended). */
  readonly alu64: boolean;
  readonly dst: number;
  /** neg has no source operand; it is encoded as imm 0. */
  readonly src: Operand;
  /** movsx only: the width of the source that is sign-extended. */
  readonly extWidth?: 8 | 16 | 32;
}

export interface EndianInsn extends Base {
  readonly kind: "end";
  /** le/be: convert to that byte order (BPF_ALU|BPF_END); bswap: unconditional (BPF_ALU64|BPF_END, v4). */
  readonly order: "le" | "be" | "bswap";
  readonly width: 16 | 32 | 64;
  readonly dst: number;
}

export interface JmpInsn extends Base {
  readonly kind: "jmp";
  readonly cond: JmpCond;
  /** BPF_JMP32: compare the low 32 bits. */
  readonly jmp32: boolean;
  readonly dst: number;
  readonly src: Operand;
  /** Target = pc + 1 + off. */
  readonly off: number;
}

export interface JaInsn extends Base {
  readonly kind: "ja";
  /** Target = pc + 1 + off. For gotol (BPF_JMP32|BPF_JA) the offset is in imm. */
  readonly off: number;
  readonly long: boolean;
}

export interface LdImm64Insn extends Base {
  readonly kind: "ld_imm64";
  readonly dst: number;
  readonly pseudo: LdImm64Pseudo;
  /** imm of the first slot (for map_fd: the fd; for func: the relative slot offset). */
  readonly imm: number;
  /** imm of the second slot (for map_value: the offset into the value). */
  readonly imm2: number;
  /** The 64-bit constant as an unsigned value (imm2:imm). */
  readonly value: bigint;
}

/** Legacy packet access (BPF_LD|BPF_ABS / BPF_IND), kept for socket filters and converted cBPF. */
export interface LdPacketInsn extends Base {
  readonly kind: "ld_abs" | "ld_ind";
  readonly size: 1 | 2 | 4;
  /** ld_ind only: the register added to imm. */
  readonly src: number;
  readonly imm: number;
}

export interface LdxInsn extends Base {
  readonly kind: "ldx";
  readonly size: MemSize;
  /** BPF_MEMSX (v4): sign-extend the loaded value. */
  readonly signed: boolean;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
}

export interface StInsn extends Base {
  readonly kind: "st";
  readonly size: MemSize;
  readonly dst: number;
  readonly off: number;
  readonly imm: number;
}

export interface StxInsn extends Base {
  readonly kind: "stx";
  readonly size: MemSize;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
}

export interface AtomicInsn extends Base {
  readonly kind: "atomic";
  readonly size: 4 | 8;
  readonly op: AtomicOp;
  /** BPF_FETCH: the old value is returned in src (in r0 for cmpxchg). xchg and cmpxchg always fetch. */
  readonly fetch: boolean;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
}

export interface CallInsn extends Base {
  readonly kind: "call";
  /** helper: imm is the helper id; local: imm is the relative slot offset (BPF_PSEUDO_CALL); kfunc: BTF id. */
  readonly target: "helper" | "local" | "kfunc";
  readonly imm: number;
  /** kfunc only: index of the module BTF fd in fd_array (0 or absent: vmlinux BTF); zero for the other calls. */
  readonly off?: number;
}

/** BPF_JMP|BPF_CALL|BPF_X: call through a register (LLVM's `callx`), register in dst_reg. */
export interface CallxInsn extends Base {
  readonly kind: "callx";
  readonly reg: number;
}

export interface ExitInsn extends Base {
  readonly kind: "exit";
}

export type Insn =
  | AluInsn
  | EndianInsn
  | JmpInsn
  | JaInsn
  | LdImm64Insn
  | LdPacketInsn
  | LdxInsn
  | StInsn
  | StxInsn
  | AtomicInsn
  | CallInsn
  | CallxInsn
  | ExitInsn;

export type InsnKind = Insn["kind"];

/** Number of 8-byte slots the instruction occupies. */
export const slotsOf = (insn: Insn): 1 | 2 => (insn.kind === "ld_imm64" ? 2 : 1);

/** Slot index a jump or local call lands on, or undefined for other instructions. */
export function branchTarget(insn: Insn): number | undefined {
  switch (insn.kind) {
    case "jmp":
    case "ja":
      return insn.pc + 1 + insn.off;
    case "call":
      return insn.target === "local" ? insn.pc + 1 + insn.imm : undefined;
    case "ld_imm64":
      return insn.pseudo === "func" ? insn.pc + 1 + insn.imm : undefined;
    default:
      return undefined;
  }
}
