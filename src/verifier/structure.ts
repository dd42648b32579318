/**
 * Program structure, checked before the walk: check_subprogs() (subprogram
 * boundaries, jumps that stay inside their function, no fall-through into the next
 * function), check_cfg() (a depth-first search: jumps in range, no back-edges for
 * unprivileged programs, every instruction reachable, no jump into the middle of
 * ld_imm64, prune points and forced checkpoints), compute_live_registers() (which
 * registers each instruction may read before they are written), the checks
 * bpf_check() makes between them (check_abnormal_return,
 * check_map_prog_compatibility), and after the walk check_max_stack_depth() (the
 * combined stack of any call chain <= 512 bytes, 256 below a tail call).
 */
import type {
  AluInsn, AtomicInsn, CallInsn, CallxInsn, EndianInsn, Insn, JaInsn, JmpInsn, LdImm64Insn, LdPacketInsn, LdxInsn, StInsn, StxInsn,
} from "../isa/index.js";
import {
  E2BIG, EACCES, EINVAL, K_ALU, K_ATOMIC, K_CALL, K_CALLX, K_END, K_EXIT, K_JA, K_JMP, K_LD_ABS, K_LD_IMM64, K_LD_IND, K_LDX, K_NONE,
  K_ST, K_STX, type Env, type Subprog,
} from "./env.js";
import { helperProto } from "./helpers-table.js";

export const BPF_MAXINSNS = 4096;
export const BPF_COMPLEXITY_LIMIT_INSNS = 1_000_000;

/**
 * The arrays are plain arrays of small integers: a typed array over a few hundred
 * bytes costs an ArrayBuffer allocation, which outweighs the whole check of a small
 * program.
 */
export interface Cfg {
  /** State checks happen here (is_prune_point()): 1 or 0. */
  readonly prune: number[];
  /** A new state is always recorded here (is_force_checkpoint()): 1 or 0. */
  readonly force: number[];
  /** Registers live before each instruction (bit i = Ri). */
  readonly liveBefore: number[];
  /** Helper calls that take a callback (bpf_loop, for_each_map_elem): 1 or 0. */
  readonly callsCallback: number[];
  /** subprogram index -> subprogram indexes it calls (bpf-to-bpf and callbacks). */
  readonly callees: ReadonlyArray<ReadonlySet<number>>;
}

const LOOP_CB_HELPERS = new Set([164, 181]);

/** add_subprog_and_kfunc() + check_subprogs(). */
function findSubprogs(env: Env): Subprog[] {
  let starts: Set<number> | undefined;
  const code = env.code;
  const pcOf = env.pcOf;
  for (let k = 0; k < pcOf.length; k++) {
    const pc = pcOf[k]!;
    const c = code[pc]!;
    if (c !== K_CALL && c !== K_LD_IMM64 && c !== K_CALLX) continue;
    const insn = env.insns[k]!;
    let target: number | undefined;
    if (insn.kind === "call" && insn.target === "local") target = pc + 1 + insn.imm;
    else if (insn.kind === "ld_imm64" && insn.pseudo === "func") target = pc + 1 + insn.imm;
    else if (insn.kind === "call" && insn.target === "kfunc") env.fail("calling kernel functions is not supported", EINVAL);
    else if (insn.kind === "callx") env.fail("unknown opcode 8d", EINVAL);
    else if (insn.kind === "ld_imm64" && insn.pseudo === "btf_id") env.fail("ldimm64 of BTF ids (ksym) is not supported", EINVAL);
    if (target === undefined) continue;
    if (!env.privileged) env.fail("loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN", 1);
    if (target < 0 || target >= env.len || env.bySlot[target] === undefined) env.fail("call to invalid destination", EINVAL);
    (starts ??= new Set<number>([0])).add(target);
  }
  const sorted = starts === undefined ? [0] : [...starts].sort((a, b) => a - b);
  const subs: Subprog[] = sorted.map((start, i) => ({ start, end: sorted[i + 1] ?? env.len, stackDepth: 0, hasTailCall: false, hasLdAbs: false }));
  for (const sp of subs) {
    for (let pc = sp.start; pc < sp.end; pc++) {
      const c = code[pc]!;
      if (c === K_NONE) continue;
      if (c === K_CALL) {
        const insn = env.bySlot[pc] as CallInsn;
        if (insn.target === "helper" && insn.imm === 12) sp.hasTailCall = true;
      } else if (c === K_LD_ABS || c === K_LD_IND) {
        sp.hasLdAbs = true;
      } else if (c === K_JMP || c === K_JA) {
        const off = pc + 1 + (env.bySlot[pc] as JmpInsn | JaInsn).off;
        if (off < sp.start || off >= sp.end) env.fail(`jump out of range from insn ${pc} to ${off}`, EINVAL);
      }
      const last = c === K_LD_IMM64 ? pc + 1 : pc;
      if (last === sp.end - 1 && c !== K_EXIT && c !== K_JA) env.fail("last insn is not an exit or jmp", EINVAL);
    }
  }
  return subs;
}

/**
 * check_abnormal_return(): without BTF func_info the verifier cannot know a
 * subprogram returns int, so subprograms may not leave through LD_ABS or a tail call.
 */
function checkAbnormalReturn(env: Env): void {
  for (let i = 1; i < env.subprogs.length; i++) {
    const sp = env.subprogs[i]!;
    if (sp.hasLdAbs) env.fail("LD_ABS is not allowed in subprogs without BTF", EINVAL);
    if (sp.hasTailCall) env.fail("tail_call is not allowed in subprogs without BTF", EINVAL);
  }
}

/**
 * check_btf_func(): with BTF, a subprogram that can leave through LD_ABS or a tail
 * call (its caller then sees the program's return value) must return int.
 */
function checkBtfFuncReturns(env: Env): void {
  for (let i = 1; i < env.subprogs.length; i++) {
    const sp = env.subprogs[i]!;
    if (!env.nonScalarReturn.has(sp.start)) continue;
    if (sp.hasLdAbs) env.fail("LD_ABS is only allowed in functions that return 'int'.", EINVAL);
    if (sp.hasTailCall) env.fail("tail_call is only allowed in functions that return 'int'.", EINVAL);
  }
}

/** is_tracing_prog_type(). */
function isTracingProgType(env: Env): boolean {
  switch (env.progType) {
    case "BPF_PROG_TYPE_KPROBE": case "BPF_PROG_TYPE_TRACEPOINT": case "BPF_PROG_TYPE_PERF_EVENT":
    case "BPF_PROG_TYPE_RAW_TRACEPOINT": case "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE":
      return true;
    case "BPF_PROG_TYPE_TRACING":
      return env.attach !== "BPF_TRACE_ITER";
    default:
      return false;
  }
}

/**
 * check_map_prog_compatibility(), as resolve_pseudo_ldimm64() runs it for every map
 * an ld_imm64 names, before check_cfg(): maps with a bpf_spin_lock are not for
 * socket filters or tracing programs (they may run in any context, NMI included).
 */
function checkMapProgCompatibility(env: Env): void {
  for (let k = 0; k < env.pcOf.length; k++) {
    if (env.code[env.pcOf[k]!] !== K_LD_IMM64) continue;
    const insn = env.insns[k] as LdImm64Insn;
    let m: (typeof env.maps)[number] | undefined;
    if (insn.pseudo === "imm") {
      const v = insn.value;
      m = env.maps.find((x) => (x.address !== undefined && BigInt(x.address) === v) ||
        (x.valueAddress !== undefined && v >= BigInt(x.valueAddress) && v < BigInt(x.valueAddress + x.spec.valueSize)));
    } else if (insn.pseudo !== "func" && insn.pseudo !== "btf_id") {
      const byFd = insn.pseudo === "map_fd" || insn.pseudo === "map_value";
      m = env.maps.find((x) => x.index === insn.imm) ?? (byFd ? env.maps[insn.imm] : undefined);
    }
    if (m === undefined || m.spec.spinLockOffset === undefined) continue;
    if (env.progType === "BPF_PROG_TYPE_SOCKET_FILTER") env.fail("socket filter progs cannot use bpf_spin_lock yet", EINVAL);
    if (isTracingProgType(env)) env.fail("tracing progs cannot use bpf_spin_lock yet", EINVAL);
  }
}

/** Registers an instruction reads (low 16 bits) and writes (high 16 bits). */
const ud = (use: number, def: number): number => use | (def << 16);

function useDef(x: Insn, code: number): number {
  const b = (r: number): number => 1 << r;
  switch (code) {
    case K_ALU: {
      const insn = x as AluInsn;
      const src = insn.src.kind === "reg" ? b(insn.src.reg) : 0;
      const dstUse = insn.op === "mov" || insn.op === "movsx" ? 0 : b(insn.dst);
      return ud(src | dstUse, b(insn.dst));
    }
    case K_END: {
      const insn = x as EndianInsn;
      return ud(b(insn.dst), b(insn.dst));
    }
    case K_LDX: {
      const insn = x as LdxInsn;
      return ud(b(insn.src), b(insn.dst));
    }
    case K_ST:
      return ud(b((x as StInsn).dst), 0);
    case K_STX: {
      const insn = x as StxInsn;
      return ud(b(insn.dst) | b(insn.src), 0);
    }
    case K_ATOMIC: {
      const insn = x as AtomicInsn;
      let use = b(insn.dst) | b(insn.src);
      let def = 0;
      if (insn.op === "cmpxchg") {
        use |= b(0);
        def = b(0);
      } else if (insn.fetch) def = b(insn.src);
      return ud(use, def);
    }
    case K_LD_IMM64:
      return ud(0, b((x as LdImm64Insn).dst));
    case K_LD_ABS:
      return ud(b(6), 0x3f);
    case K_LD_IND:
      return ud(b(6) | b((x as LdPacketInsn).src), 0x3f);
    case K_JMP: {
      const insn = x as JmpInsn;
      return ud(b(insn.dst) | (insn.src.kind === "reg" ? b(insn.src.reg) : 0), 0);
    }
    case K_JA:
      return ud(0, 0);
    case K_CALL: {
      const insn = x as CallInsn;
      if (insn.target === "helper") {
        const p = helperProto(insn.imm);
        const n = p === undefined ? 5 : p.args.length;
        let use = 0;
        for (let i = 1; i <= n; i++) use |= b(i);
        return ud(use, 0x3f);
      }
      return ud(0x3e, 0x3f);
    }
    case K_CALLX:
      return ud(0x3e | b((x as CallxInsn).reg), 0x3f);
    default:
      return ud(b(0), 0);
  }
}

/** Reusable work arrays of checkStructure() (verification is synchronous and not reentrant). */
interface Scratch {
  size: number;
  fallOf: Int32Array;
  branchOf: Int32Array;
  edges: Int32Array;
  nEdges: Uint8Array;
  branchBits: Uint8Array;
  state: Uint8Array;
  stackT: Int32Array;
  stackI: Uint8Array;
  useOf: Uint16Array;
  defOf: Uint16Array;
  order: Int32Array;
}
let work: Scratch | undefined;

function scratch(n: number): Scratch {
  if (work !== undefined && work.size >= n) return work;
  const size = Math.max(n, 256);
  work = {
    size, fallOf: new Int32Array(size), branchOf: new Int32Array(size), edges: new Int32Array(3 * size), nEdges: new Uint8Array(size),
    branchBits: new Uint8Array(size), state: new Uint8Array(size + 1), stackT: new Int32Array(size), stackI: new Uint8Array(size),
    useOf: new Uint16Array(size), defOf: new Uint16Array(size), order: new Int32Array(size),
  };
  return work;
}

/** check_cfg() and the analyses that need the graph. */
export function checkStructure(env: Env): Cfg {
  const n = env.len;
  if (n === 0) env.fail("program is empty", EINVAL);
  const limit = env.privileged ? BPF_COMPLEXITY_LIMIT_INSNS : BPF_MAXINSNS;
  if (n > limit) env.fail(`program of ${n} insns is too large (limit ${limit})`, E2BIG);
  env.subprogs = findSubprogs(env);
  if (!env.hasFuncInfo) checkAbnormalReturn(env);
  else checkBtfFuncReturns(env);
  checkMapProgCompatibility(env);
  // The arrays the walk keeps are plain arrays (see Cfg); the temporaries are reused scratch.
  const liveBefore = new Array<number>(n + 1).fill(0);
  const prune = new Array<number>(n + 1).fill(0);
  const force = new Array<number>(n + 1).fill(0);
  const callsCallback = new Array<number>(n + 1).fill(0);
  const w = scratch(n);
  // Successors of each instruction (fall-through, branch; -1 for none) and, for the
  // DFS, its out-edges in visiting order: up to 3 (call/func target, fall, branch),
  // with a bit per edge saying whether it is a branch edge.
  const fallOf = w.fallOf;
  const branchOf = w.branchOf;
  const edges = w.edges;
  const nEdges = w.nEdges;
  const branchBits = w.branchBits;
  fallOf.fill(-1, 0, n);
  branchOf.fill(-1, 0, n);
  const code = env.code;
  const pcOf = env.pcOf;
  for (let j = 0; j < pcOf.length; j++) {
    const t = pcOf[j]!;
    const c = code[t]!;
    let k = 0;
    let bits = 0;
    switch (c) {
      case K_EXIT:
        break;
      case K_JA:
        branchOf[t] = t + 1 + (env.insns[j] as JaInsn).off;
        break;
      case K_JMP:
        fallOf[t] = t + 1;
        branchOf[t] = t + 1 + (env.insns[j] as JmpInsn).off;
        break;
      case K_LD_IMM64: {
        fallOf[t] = t + 2;
        const insn = env.insns[j] as LdImm64Insn;
        if (insn.pseudo === "func") {
          edges[3 * t + k] = t + 1 + insn.imm;
          bits |= 1 << k++;
        }
        break;
      }
      case K_CALL: {
        fallOf[t] = t + 1;
        const insn = env.insns[j] as CallInsn;
        if (insn.target === "local") {
          edges[3 * t + k] = t + 1 + insn.imm;
          bits |= 1 << k++;
        }
        break;
      }
      default:
        fallOf[t] = t + 1;
    }
    if (fallOf[t]! >= 0) edges[3 * t + k++] = fallOf[t]!;
    if (branchOf[t]! >= 0) {
      edges[3 * t + k] = branchOf[t]!;
      bits |= 1 << k++;
    }
    nEdges[t] = k;
    branchBits[t] = bits;
  }
  /** Prune points an instruction makes when the DFS discovers it. */
  const discover = (t: number): void => {
    const c = code[t]!;
    if (c === K_JMP) prune[t] = 1;
    else if (c === K_CALL) {
      const insn = env.bySlot[t] as CallInsn;
      prune[t + 1] = 1;
      if (insn.target === "local") prune[t] = 1;
      else if (LOOP_CB_HELPERS.has(insn.imm)) {
        prune[t] = 1;
        force[t] = 1;
        callsCallback[t] = 1;
      }
    } else if (c === K_LD_IMM64 && (env.bySlot[t] as LdImm64Insn).pseudo === "func") prune[t] = 1;
  };
  // Iterative DFS: 0 unvisited, 1 discovered (on the stack), 2 explored.
  const state = w.state;
  state.fill(0, 0, n + 1);
  const stackT = w.stackT;
  const stackI = w.stackI;
  let sp = 0;
  state[0] = 1;
  discover(0);
  stackT[sp] = 0;
  stackI[sp++] = 0;
  while (sp > 0) {
    const t = stackT[sp - 1]!;
    const i = stackI[sp - 1]!;
    if (i >= nEdges[t]!) {
      state[t] = 2;
      sp--;
      continue;
    }
    const w = edges[3 * t + i]!;
    const isBranch = (branchBits[t]! >> i) & 1;
    stackI[sp - 1] = i + 1;
    if (w < 0 || w >= n) {
      env.linfo(t, `${t}: `);
      env.fail(`jump out of range from insn ${t} to ${w}`, EINVAL);
    }
    if (isBranch) prune[w] = 1;
    if (state[w] === 0) {
      if (env.bySlot[w] === undefined) {
        // The second slot of ld_imm64.
        env.fail(`jump into the middle of ldimm64 insn ${w - 1}`, EINVAL);
      }
      state[w] = 1;
      discover(w);
      stackT[sp] = w;
      stackI[sp++] = 0;
    } else if (state[w] === 1) {
      if (!env.privileged) {
        env.linfo(t, `${t}: `);
        env.fail(`back-edge from insn ${t} to ${w}`, EINVAL);
      }
      prune[w] = 1;
    }
  }
  for (let i = 0; i < n; i++) {
    if (code[i] === K_NONE) continue;
    if (state[i] !== 2) env.fail(`unreachable insn ${i}`, EINVAL);
  }
  // Liveness: backward data flow to a fixed point.
  const useOf = w.useOf;
  const defOf = w.defOf;
  const order = w.order;
  const nInsns = env.insns.length;
  for (let k = 0; k < nInsns; k++) {
    const pc = pcOf[k]!;
    const x = useDef(env.insns[k]!, code[pc]!);
    useOf[pc] = x & 0xffff;
    defOf[pc] = x >>> 16;
    order[k] = pc;
  }
  let changed = true;
  while (changed) {
    changed = false;
    for (let k = nInsns - 1; k >= 0; k--) {
      const pc = order[k]!;
      const f = fallOf[pc]!;
      const b = branchOf[pc]!;
      let o = 0;
      if (f >= 0 && f < n) o |= liveBefore[f]!;
      if (b >= 0 && b < n) o |= liveBefore[b]!;
      const inn = (o & ~defOf[pc]!) | useOf[pc]!;
      if (inn !== liveBefore[pc]) {
        liveBefore[pc] = inn;
        changed = true;
      }
    }
  }
  const callees: Array<Set<number>> = env.subprogs.map(() => new Set<number>());
  const subIndex = (pc: number): number => env.subprogs.findIndex((s) => pc >= s.start && pc < s.end);
  for (let k = 0; k < nInsns; k++) {
    const pc = pcOf[k]!;
    const c = code[pc]!;
    if (c !== K_CALL && c !== K_LD_IMM64) continue;
    const insn = env.insns[k]!;
    let target: number | undefined;
    if (insn.kind === "call" && insn.target === "local") target = pc + 1 + insn.imm;
    if (insn.kind === "ld_imm64" && insn.pseudo === "func") target = pc + 1 + insn.imm;
    if (target !== undefined) callees[subIndex(pc)]!.add(subIndex(target));
  }
  return { prune, force, liveBefore, callsCallback, callees };
}

/** check_max_stack_depth(): the deepest call chain's stack, each frame rounded up to 16 bytes. */
export function checkMaxStackDepth(env: Env, cfg: Cfg): void {
  const round = (d: number): number => Math.ceil(d / 16) * 16;
  const visit = (idx: number, depth: number, frames: number, path: number[]): void => {
    // A tail call unwinds only its own frame: the callers' frames stay, so with up
    // to 33 chained tail calls each caller chain must stay under 256 bytes (8k in all).
    if (idx > 0 && env.subprogs[idx]!.hasTailCall && depth >= 256) {
      env.fail(`tail_calls are not allowed when call stack of previous frames is ${depth} bytes. Too large`, EACCES);
    }
    const total = depth + round(env.subprogs[idx]!.stackDepth);
    if (total > 512) env.fail(`combined stack size of ${frames} calls is ${total}. Too large`, EACCES);
    for (const c of cfg.callees[idx]!) {
      if (path.includes(c)) env.fail(`recursive call from ${env.subprogs[idx]!.start} to ${env.subprogs[c]!.start}`, EINVAL);
      visit(c, total, frames + 1, [...path, c]);
    }
  };
  visit(0, 0, 1, [0]);
}
