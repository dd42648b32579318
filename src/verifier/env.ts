/**
 * The verification environment (struct bpf_verifier_env): the program, its
 * program type and maps, the current path's state, id generation, the log with its
 * scratch marks, and the error path. Instruction-family checks (alu.ts, jmp.ts,
 * mem.ts, call.ts) take an Env and update env.cur.
 */
import type { Insn } from "../isa/index.js";
import type { MapSpec } from "../maps/index.js";
import type { ProgramTypeName } from "../progtypes/index.js";
import type { GlobalFunc } from "./globals.js";
import { VerifierLog, type Scratch } from "./log.js";
import { knownImm } from "./bounds.js";
import { curFrame, NOT_INIT, scalarReg, type Frame, type Reg, type VState } from "./state.js";
import type { InsnHistory } from "./precision.js";

export const EPERM = 1;
export const EACCES = 13;
export const EINVAL = 22;
export const E2BIG = 7;
export const EFAULT = 14;
export const ENOTSUPP = 524;

/** Thrown inside the walk when the program is rejected; the message is already in the log. */
export class VerifyFail extends Error {
  constructor(readonly errno: number, readonly reason: string) {
    super(reason);
  }
}

export interface MapEntry {
  readonly index: number;
  readonly address?: number;
  readonly spec: MapSpec;
  readonly name: string;
  /** Address of the value of a single-value map (global data), for ld_imm64 bound to value addresses. */
  readonly valueAddress?: number;
  /** Contents of a frozen read-only map's value (key 0): loads from it are known constants. */
  readonly frozenValue?: Uint8Array;
}

/**
 * Instruction kinds as small integers (Env.code): the instruction objects come in a
 * dozen shapes, so reading `kind` from them is a megamorphic property load; the walk
 * and the structure checks read these codes instead.
 */
export const K_NONE = 0; // second slot of ld_imm64, or past the end
export const K_ALU = 1;
export const K_END = 2;
export const K_LDX = 3;
export const K_ST = 4;
export const K_STX = 5;
export const K_ATOMIC = 6;
export const K_LD_IMM64 = 7;
export const K_LD_ABS = 8;
export const K_LD_IND = 9;
export const K_JA = 10;
export const K_JMP = 11;
export const K_CALL = 12;
export const K_CALLX = 13;
export const K_EXIT = 14;
function kindCode(kind: Insn["kind"]): number {
  switch (kind) {
    case "alu": return K_ALU;
    case "jmp": return K_JMP;
    case "ldx": return K_LDX;
    case "stx": return K_STX;
    case "ja": return K_JA;
    case "call": return K_CALL;
    case "exit": return K_EXIT;
    case "ld_imm64": return K_LD_IMM64;
    case "st": return K_ST;
    case "end": return K_END;
    case "atomic": return K_ATOMIC;
    case "ld_abs": return K_LD_ABS;
    case "ld_ind": return K_LD_IND;
    case "callx": return K_CALLX;
  }
}

export interface Subprog {
  readonly start: number;
  /** Exclusive end slot. */
  readonly end: number;
  /** Deepest stack byte used (positive, as subprog_info.stack_depth). */
  stackDepth: number;
  hasTailCall: boolean;
  /** Has BPF_LD_[ABS|IND] (has_ld_abs). */
  hasLdAbs: boolean;
}

export interface EnvOptions {
  insns: readonly Insn[];
  progType: ProgramTypeName;
  privileged: boolean;
  maps: readonly MapEntry[];
  logLevel: 0 | 1 | 2;
  logSize?: number;
  lineInfo?: ReadonlyArray<{ pc: number; fileName: string; line: string; lineNumber: number; column: number }>;
  expectedAttachType?: string;
  gpl: boolean;
  /** BTF func_info came with the program (attr.func_info_cnt > 0). */
  hasFuncInfo?: boolean;
  /** First instructions of the functions whose BTF prototype returns void or a non-scalar. */
  nonScalarReturn?: ReadonlySet<number>;
}

export class Env {
  readonly insns: readonly Insn[];
  /** Instruction at each slot (undefined for ld_imm64's second half). */
  readonly bySlot: ReadonlyArray<Insn | undefined>;
  /** Kind of the instruction at each slot (K_ALU ...; K_NONE where bySlot is undefined). */
  readonly code: readonly number[];
  /** Slot of each instruction of `insns`. */
  readonly pcOf: readonly number[];
  readonly len: number;
  readonly progType: ProgramTypeName;
  readonly privileged: boolean;
  readonly maps: readonly MapEntry[];
  readonly log: VerifierLog;
  readonly attach: string | undefined;
  readonly gpl: boolean;
  readonly lineInfo: EnvOptions["lineInfo"];
  readonly hasFuncInfo: boolean;
  readonly nonScalarReturn: ReadonlySet<number>;
  /** Log level above 0. */
  private readonly logOn: boolean;
  subprogs: Subprog[] = [];
  /** Global functions (BTF_FUNC_GLOBAL in func_info) by first instruction. */
  globalFuncs = new Map<number, GlobalFunc>();
  /** Global functions called so far (first instructions, in call order): verified after the main program. */
  calledGlobals: number[] = [];
  /** The global function being verified on its own, if any (its exit checks R0 is a scalar). */
  checkingGlobal: GlobalFunc | undefined = undefined;
  cur!: VState;
  insnIdx = 0;
  prevInsnIdx = -1;
  idGen = 0;
  scratch: Scratch = { regs: 0, slots: new Set(), all: true };
  /** Position of the log after the last instruction line (prev_log_pos) and that line's length. */
  prevLogPos = 0;
  prevInsnPrintPos = 0;
  private prevLinfo = -1;
  /** Queues a state to explore later from `insn` (push_stack); set by the driver. */
  push: (st: VState, insn: number, prevInsn: number) => void = () => undefined;
  /** The instruction history of the walk (precision.ts); set by the driver. */
  hist!: InsnHistory;
  /** mark_chain_precision() for a register of the current frame (precision.ts); set by the driver. */
  markPrecise: (regno: number) => void = () => undefined;
  /** The scalar register of each ALU/JMP immediate value, sign- or zero-extended, made once (immReg). */
  private readonly immsS = new Map<number, Reg>();
  private readonly immsZ = new Map<number, Reg>();
  /** Number of possible CPUs (nr_cpu_ids), for bpf_get_smp_processor_id()'s range. */
  nrCpus = 2;
  constructor(o: EnvOptions) {
    this.insns = o.insns;
    // One pass over the instruction objects (each property read of theirs is a
    // megamorphic load); everything else works from these arrays.
    const n = o.insns.length;
    const pcOf = new Array<number>(n);
    const codes = new Array<number>(n);
    let len = 0;
    for (let k = 0; k < n; k++) {
      const i = o.insns[k]!;
      const pc = i.pc;
      const c = kindCode(i.kind);
      pcOf[k] = pc;
      codes[k] = c;
      len = Math.max(len, pc + (c === K_LD_IMM64 ? 2 : 1));
    }
    const by: Array<Insn | undefined> = new Array(len).fill(undefined);
    const code: number[] = new Array<number>(len).fill(K_NONE);
    for (let k = 0; k < n; k++) {
      by[pcOf[k]!] = o.insns[k];
      code[pcOf[k]!] = codes[k]!;
    }
    this.bySlot = by;
    this.code = code;
    this.pcOf = pcOf;
    this.len = len;
    this.progType = o.progType;
    this.privileged = o.privileged;
    this.maps = o.maps;
    this.log = new VerifierLog(o.logLevel, o.logSize);
    this.logOn = o.logLevel > 0;
    this.attach = o.expectedAttachType;
    this.gpl = o.gpl;
    this.lineInfo = o.lineInfo;
    this.hasFuncInfo = o.hasFuncInfo ?? false;
    this.nonScalarReturn = o.nonScalarReturn ?? new Set();
  }

  /** The known scalar of the immediate at `pc`: sign-extended to 64 bits, or zero-extended (32-bit ALU). */
  immReg(_pc: number, imm: number, signExtend: boolean): Reg {
    // One register per value (not per instruction: straight-line programs have a million).
    const cache = signExtend ? this.immsS : this.immsZ;
    let r = cache.get(imm);
    if (r === undefined) cache.set(imm, (r = scalarReg(knownImm(imm, signExtend))));
    return r;
  }

  verbose(s: string): void {
    this.log.write(s);
  }

  /** Logs `msg` (one or more lines) and stops verification. */
  fail(msg: string, errno = EACCES): never {
    this.verbose(msg.endsWith("\n") ? msg : msg + "\n");
    throw new VerifyFail(errno, msg);
  }

  /** verbose_linfo(): the C source line of `pc` once per line change, "; <text> @ file:line". */
  linfo(pc: number, prefix: string): void {
    const li = this.lineInfo;
    if (!this.log.enabled || li === undefined || li.length === 0) return;
    let k = -1;
    for (let i = 0; i < li.length; i++) {
      if (li[i]!.pc <= pc) k = i;
      else break;
    }
    if (k < 0 || k === this.prevLinfo) return;
    const prev = this.prevLinfo >= 0 ? li[this.prevLinfo] : undefined;
    this.prevLinfo = k;
    const l = li[k]!;
    // Records that differ only in the column print once (the log shows no columns).
    if (prev !== undefined && prev.fileName === l.fileName && prev.lineNumber === l.lineNumber) return;
    const file = l.fileName.split("/").pop() ?? l.fileName;
    this.verbose(`${prefix}${l.line.trimStart()} @ ${file}:${l.lineNumber}\n`);
  }

  /** The source location of `pc` from line info, for VerifierError.source. */
  sourceOf(pc: number): { file: string; line: number; text: string } | undefined {
    const li = this.lineInfo;
    if (li === undefined) return undefined;
    let best: (typeof li)[number] | undefined;
    for (const l of li) if (l.pc <= pc) best = l;
    return best === undefined ? undefined : { file: best.fileName, line: best.lineNumber, text: best.line };
  }

  get frame(): Frame {
    return curFrame(this.cur);
  }
  get regs(): Reg[] {
    return curFrame(this.cur).regs;
  }
  newId(): number {
    return ++this.idGen;
  }

  markRegScratched(regno: number): void {
    this.scratch.regs |= 1 << regno;
  }
  markSlotScratched(spi: number): void {
    // Only the log reads the marks.
    if (this.logOn) this.scratch.slots.add(spi);
  }
  markAllScratched(): void {
    this.scratch.all = true;
  }
  clearScratch(): void {
    // Reset in place (once per instruction at log level 1 and 2).
    const sc = this.scratch;
    sc.regs = 0;
    sc.all = false;
    if (sc.slots.size > 0) sc.slots.clear();
  }
  get scratched(): boolean {
    return this.scratch.all || this.scratch.regs !== 0 || this.scratch.slots.size > 0;
  }

  /** check_reg_arg(SRC_OP): the register must be initialised. */
  readReg(regno: number): Reg {
    if (regno >= 11) this.fail(`R${regno} is invalid`, EINVAL);
    this.markRegScratched(regno);
    const r = this.regs[regno]!;
    if (r.type === "NOT_INIT") this.fail(`R${regno} !read_ok`, EACCES);
    return r;
  }

  /** check_reg_arg(DST_OP) without the write: r10 is read only. */
  checkWritable(regno: number): void {
    if (regno >= 11) this.fail(`R${regno} is invalid`, EINVAL);
    this.markRegScratched(regno);
    if (regno === 10) this.fail("frame pointer is read only", EACCES);
  }

  setReg(regno: number, r: Reg): void {
    this.regs[regno] = r;
  }

  clobberCallerSaved(): void {
    for (let i = 1; i <= 5; i++) {
      this.regs[i] = NOT_INIT;
      this.markRegScratched(i);
    }
  }
}
