/**
 * Program structure, checked before the walk: check_subprogs() (subprogram
 * boundaries, jumps that stay inside their function, no fall-through into the next
 * function), check_cfg() (a depth-first search: jumps in range, no back-edges for
 * unprivileged programs, every instruction reachable, no jump into the middle of
 * ld_imm64, prune points and forced checkpoints), compute_live_registers() (which
 * registers each instruction may read before they are written), and after the walk
 * check_max_stack_depth() (the combined stack of any call chain <= 512 bytes).
 */
import type { Insn } from "../isa/index.js";
import { E2BIG, EACCES, EINVAL, type Env, type Subprog } from "./env.js";
import { helperProto } from "./helpers-table.js";

export const BPF_MAXINSNS = 4096;
export const BPF_COMPLEXITY_LIMIT_INSNS = 1_000_000;

export interface Cfg {
  /** State checks happen here (is_prune_point()). */
  readonly prune: Uint8Array;
  /** A new state is always recorded here (is_force_checkpoint()). */
  readonly force: Uint8Array;
  /** Registers live before each instruction (bit i = Ri). */
  readonly liveBefore: Uint16Array;
  /** Helper calls that take a callback (bpf_loop, for_each_map_elem). */
  readonly callsCallback: Uint8Array;
  /** subprogram index -> subprogram indexes it calls (bpf-to-bpf and callbacks). */
  readonly callees: ReadonlyArray<ReadonlySet<number>>;
}

const LOOP_CB_HELPERS = new Set([164, 181]);

/** add_subprog_and_kfunc() + check_subprogs(). */
function findSubprogs(env: Env): Subprog[] {
  const starts = new Set<number>([0]);
  for (const insn of env.insns) {
    let target: number | undefined;
    if (insn.kind === "call" && insn.target === "local") target = insn.pc + 1 + insn.imm;
    else if (insn.kind === "ld_imm64" && insn.pseudo === "func") target = insn.pc + 1 + insn.imm;
    else if (insn.kind === "call" && insn.target === "kfunc") env.fail("calling kernel functions is not supported", EINVAL);
    else if (insn.kind === "callx") env.fail("unknown opcode 8d", EINVAL);
    else if (insn.kind === "ld_imm64" && insn.pseudo === "btf_id") env.fail("ldimm64 of BTF ids (ksym) is not supported", EINVAL);
    if (target === undefined) continue;
    if (!env.privileged) env.fail("loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN", 1);
    if (target < 0 || target >= env.len || env.bySlot[target] === undefined) env.fail("call to invalid destination", EINVAL);
    starts.add(target);
  }
  const sorted = starts.size === 1 ? [0] : [...starts].sort((a, b) => a - b);
  const subs: Subprog[] = sorted.map((start, i) => ({ start, end: sorted[i + 1] ?? env.len, stackDepth: 0, hasTailCall: false }));
  for (const sp of subs) {
    for (let pc = sp.start; pc < sp.end; pc++) {
      const insn = env.bySlot[pc];
      if (insn === undefined) continue;
      if (insn.kind === "call" && insn.target === "helper" && insn.imm === 12) sp.hasTailCall = true;
      if (insn.kind === "jmp" || insn.kind === "ja") {
        const off = pc + 1 + insn.off;
        if (off < sp.start || off >= sp.end) env.fail(`jump out of range from insn ${pc} to ${off}`, EINVAL);
      }
      const last = insn.kind === "ld_imm64" ? pc + 1 : pc;
      if (last === sp.end - 1 && insn.kind !== "exit" && insn.kind !== "ja") env.fail("last insn is not an exit or jmp", EINVAL);
    }
  }
  return subs;
}

/** Registers an instruction reads (low 16 bits) and writes (high 16 bits). */
const ud = (use: number, def: number): number => use | (def << 16);

function useDef(insn: Insn): number {
  const b = (r: number): number => 1 << r;
  switch (insn.kind) {
    case "alu": {
      const src = insn.src.kind === "reg" ? b(insn.src.reg) : 0;
      const dstUse = insn.op === "mov" || insn.op === "movsx" ? 0 : b(insn.dst);
      return ud(src | dstUse, b(insn.dst));
    }
    case "end":
      return ud(b(insn.dst), b(insn.dst));
    case "ldx":
      return ud(b(insn.src), b(insn.dst));
    case "st":
      return ud(b(insn.dst), 0);
    case "stx":
      return ud(b(insn.dst) | b(insn.src), 0);
    case "atomic": {
      let use = b(insn.dst) | b(insn.src);
      let def = 0;
      if (insn.op === "cmpxchg") {
        use |= b(0);
        def = b(0);
      } else if (insn.fetch) def = b(insn.src);
      return ud(use, def);
    }
    case "ld_imm64":
      return ud(0, b(insn.dst));
    case "ld_abs":
    case "ld_ind":
      return ud(b(6) | (insn.kind === "ld_ind" ? b(insn.src) : 0), 0x3f);
    case "jmp":
      return ud(b(insn.dst) | (insn.src.kind === "reg" ? b(insn.src.reg) : 0), 0);
    case "ja":
      return ud(0, 0);
    case "call": {
      if (insn.target === "helper") {
        const p = helperProto(insn.imm);
        const n = p === undefined ? 5 : p.args.length;
        let use = 0;
        for (let i = 1; i <= n; i++) use |= b(i);
        return ud(use, 0x3f);
      }
      return ud(0x3e, 0x3f);
    }
    case "callx":
      return ud(0x3e | b(insn.reg), 0x3f);
    case "exit":
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
  // The arrays the walk keeps share one buffer (typed arrays over a few hundred bytes
  // are costly to allocate one by one); the temporaries are reused scratch.
  const m = n + 1;
  const kept = new ArrayBuffer(5 * m + (m & 1));
  const liveBefore = new Uint16Array(kept, 0, m);
  const prune = new Uint8Array(kept, 2 * m + (m & 1), m);
  const force = new Uint8Array(kept, 3 * m + (m & 1), m);
  const callsCallback = new Uint8Array(kept, 4 * m + (m & 1), m);
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
  for (const insn of env.insns) {
    const t = insn.pc;
    let k = 0;
    let bits = 0;
    switch (insn.kind) {
      case "exit":
        break;
      case "ja":
        branchOf[t] = t + 1 + insn.off;
        break;
      case "jmp":
        fallOf[t] = t + 1;
        branchOf[t] = t + 1 + insn.off;
        break;
      case "ld_imm64":
        fallOf[t] = t + 2;
        break;
      default:
        fallOf[t] = t + 1;
    }
    if (insn.kind === "call" && insn.target === "local") {
      edges[3 * t + k] = t + 1 + insn.imm;
      bits |= 1 << k++;
    } else if (insn.kind === "ld_imm64" && insn.pseudo === "func") {
      edges[3 * t + k] = t + 1 + insn.imm;
      bits |= 1 << k++;
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
    const insn = env.bySlot[t]!;
    if (insn.kind === "jmp") prune[t] = 1;
    else if (insn.kind === "call") {
      prune[t + 1] = 1;
      if (insn.target === "local") prune[t] = 1;
      else if (LOOP_CB_HELPERS.has(insn.imm)) {
        prune[t] = 1;
        force[t] = 1;
        callsCallback[t] = 1;
      }
    } else if (insn.kind === "ld_imm64" && insn.pseudo === "func") prune[t] = 1;
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
    if (env.bySlot[i] === undefined) continue;
    if (state[i] !== 2) env.fail(`unreachable insn ${i}`, EINVAL);
  }
  // Liveness: backward data flow to a fixed point.
  const useOf = w.useOf;
  const defOf = w.defOf;
  const order = w.order;
  const nInsns = env.insns.length;
  for (let k = 0; k < nInsns; k++) {
    const insn = env.insns[k]!;
    const x = useDef(insn);
    useOf[insn.pc] = x & 0xffff;
    defOf[insn.pc] = x >>> 16;
    order[k] = insn.pc;
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
  for (const insn of env.insns) {
    let target: number | undefined;
    if (insn.kind === "call" && insn.target === "local") target = insn.pc + 1 + insn.imm;
    if (insn.kind === "ld_imm64" && insn.pseudo === "func") target = insn.pc + 1 + insn.imm;
    if (target !== undefined) callees[subIndex(insn.pc)]!.add(subIndex(target));
  }
  return { prune, force, liveBefore, callsCallback, callees };
}

/** check_max_stack_depth(): the deepest call chain's stack, each frame rounded up to 16 bytes. */
export function checkMaxStackDepth(env: Env, cfg: Cfg): void {
  const round = (d: number): number => Math.ceil(d / 16) * 16;
  const visit = (idx: number, depth: number, frames: number, path: number[]): void => {
    const total = depth + round(env.subprogs[idx]!.stackDepth);
    if (total > 512) env.fail(`combined stack size of ${frames} calls is ${total}. Too large`, EACCES);
    for (const c of cfg.callees[idx]!) {
      if (path.includes(c)) env.fail(`recursive call from ${env.subprogs[idx]!.start} to ${env.subprogs[c]!.start}`, EINVAL);
      visit(c, total, frames + 1, [...path, c]);
    }
  };
  visit(0, 0, 1, [0]);
}
