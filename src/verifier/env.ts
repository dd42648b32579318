/**
 * The verification environment (struct bpf_verifier_env): the program, its
 * program type and maps, the current path's state, id generation, the log with its
 * scratch marks, and the error path. Instruction-family checks (alu.ts, jmp.ts,
 * mem.ts, call.ts) take an Env and update env.cur.
 */
import type { Insn } from "../isa/index.js";
import type { MapSpec } from "../maps/index.js";
import type { ProgramTypeName } from "../progtypes/index.js";
import { VerifierLog, type Scratch } from "./log.js";
import { knownImm } from "./bounds.js";
import { curFrame, NOT_INIT, scalarReg, type Frame, type Reg, type VState } from "./state.js";

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

export interface Subprog {
  readonly start: number;
  /** Exclusive end slot. */
  readonly end: number;
  /** Deepest stack byte used (positive, as subprog_info.stack_depth). */
  stackDepth: number;
  hasTailCall: boolean;
}

export interface EnvOptions {
  insns: readonly Insn[];
  progType: ProgramTypeName;
  privileged: boolean;
  maps: readonly MapEntry[];
  logLevel: 0 | 1 | 2;
  lineInfo?: ReadonlyArray<{ pc: number; fileName: string; line: string; lineNumber: number; column: number }>;
  expectedAttachType?: string;
  gpl: boolean;
}

export class Env {
  readonly insns: readonly Insn[];
  /** Instruction at each slot (undefined for ld_imm64's second half). */
  readonly bySlot: ReadonlyArray<Insn | undefined>;
  readonly len: number;
  readonly progType: ProgramTypeName;
  readonly privileged: boolean;
  readonly maps: readonly MapEntry[];
  readonly log: VerifierLog;
  readonly attach: string | undefined;
  readonly gpl: boolean;
  readonly lineInfo: EnvOptions["lineInfo"];
  /** Log level above 0. */
  private readonly logOn: boolean;
  subprogs: Subprog[] = [];
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
  /** The scalar register of each ALU/JMP instruction's immediate operand, made once (immReg). */
  private readonly imms: Array<Reg | undefined>;
  /** Number of possible CPUs (nr_cpu_ids), for bpf_get_smp_processor_id()'s range. */
  nrCpus = 2;
  constructor(o: EnvOptions) {
    this.insns = o.insns;
    let len = 0;
    for (const i of o.insns) len = Math.max(len, i.pc + (i.kind === "ld_imm64" ? 2 : 1));
    const by: Array<Insn | undefined> = new Array(len).fill(undefined);
    for (const i of o.insns) by[i.pc] = i;
    this.bySlot = by;
    this.len = len;
    this.progType = o.progType;
    this.privileged = o.privileged;
    this.maps = o.maps;
    this.log = new VerifierLog(o.logLevel);
    this.logOn = o.logLevel > 0;
    this.attach = o.expectedAttachType;
    this.gpl = o.gpl;
    this.lineInfo = o.lineInfo;
    this.imms = new Array<Reg | undefined>(len).fill(undefined);
  }

  /** The known scalar of the immediate at `pc`: sign-extended to 64 bits, or zero-extended (32-bit ALU). */
  immReg(pc: number, imm: number, signExtend: boolean): Reg {
    let r = this.imms[pc];
    if (r === undefined) this.imms[pc] = r = scalarReg(knownImm(imm, signExtend));
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
    this.scratch = { regs: 0, slots: new Set(), all: false };
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
