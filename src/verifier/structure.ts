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

function successors(insn: Insn): { fall?: number; branch?: number } {
  const pc = insn.pc;
  switch (insn.kind) {
    case "exit":
      return {};
    case "ja":
      return { branch: pc + 1 + insn.off };
    case "jmp":
      return { fall: pc + 1, branch: pc + 1 + insn.off };
    case "ld_imm64":
      return { fall: pc + 2 };
    default:
      return { fall: pc + 1 };
  }
}

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
  const sorted = [...starts].sort((a, b) => a - b);
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

/** Registers an instruction reads and writes. */
function useDef(insn: Insn): [number, number] {
  const b = (r: number): number => 1 << r;
  switch (insn.kind) {
    case "alu": {
      const src = insn.src.kind === "reg" ? b(insn.src.reg) : 0;
      const dstUse = insn.op === "mov" || insn.op === "movsx" ? 0 : b(insn.dst);
      return [src | dstUse, b(insn.dst)];
    }
    case "end":
      return [b(insn.dst), b(insn.dst)];
    case "ldx":
      return [b(insn.src), b(insn.dst)];
    case "st":
      return [b(insn.dst), 0];
    case "stx":
      return [b(insn.dst) | b(insn.src), 0];
    case "atomic": {
      let use = b(insn.dst) | b(insn.src);
      let def = 0;
      if (insn.op === "cmpxchg") {
        use |= b(0);
        def = b(0);
      } else if (insn.fetch) def = b(insn.src);
      return [use, def];
    }
    case "ld_imm64":
      return [0, b(insn.dst)];
    case "ld_abs":
    case "ld_ind":
      return [b(6) | (insn.kind === "ld_ind" ? b(insn.src) : 0), 0x3f];
    case "jmp":
      return [b(insn.dst) | (insn.src.kind === "reg" ? b(insn.src.reg) : 0), 0];
    case "ja":
      return [0, 0];
    case "call": {
      if (insn.target === "helper") {
        const p = helperProto(insn.imm);
        const n = p === undefined ? 5 : p.args.length;
        let use = 0;
        for (let i = 1; i <= n; i++) use |= b(i);
        return [use, 0x3f];
      }
      return [0x3e, 0x3f];
    }
    case "callx":
      return [0x3e | b(insn.reg), 0x3f];
    case "exit":
      return [b(0), 0];
  }
}

/** check_cfg() and the analyses that need the graph. */
export function checkStructure(env: Env): Cfg {
  const n = env.len;
  if (n === 0) env.fail("program is empty", EINVAL);
  const limit = env.privileged ? BPF_COMPLEXITY_LIMIT_INSNS : BPF_MAXINSNS;
  if (n > limit) env.fail(`program of ${n} insns is too large (limit ${limit})`, E2BIG);
  env.subprogs = findSubprogs(env);
  const prune = new Uint8Array(n + 1);
  const force = new Uint8Array(n + 1);
  const callsCallback = new Uint8Array(n + 1);
  // Iterative DFS: 0 unvisited, 1 discovered (on the stack), 2 explored.
  const state = new Uint8Array(n + 1);
  const stack: Array<{ t: number; edges: number[]; kinds: boolean[]; i: number }> = [];
  const edgesOf = (t: number): { edges: number[]; kinds: boolean[] } => {
    const insn = env.bySlot[t]!;
    const edges: number[] = [];
    const kinds: boolean[] = []; // true: branch edge
    const s = successors(insn);
    if (insn.kind === "jmp") prune[t] = 1;
    if (insn.kind === "call") {
      prune[t + 1] = 1;
      if (insn.target === "local") {
        prune[t] = 1;
        edges.push(t + 1 + insn.imm);
        kinds.push(true);
      } else if (LOOP_CB_HELPERS.has(insn.imm)) {
        prune[t] = 1;
        force[t] = 1;
        callsCallback[t] = 1;
      }
    }
    if (insn.kind === "ld_imm64" && insn.pseudo === "func") {
      prune[t] = 1;
      edges.push(t + 1 + insn.imm);
      kinds.push(true);
    }
    if (s.fall !== undefined) {
      edges.push(s.fall);
      kinds.push(false);
    }
    if (s.branch !== undefined) {
      edges.push(s.branch);
      kinds.push(true);
    }
    return { edges, kinds };
  };
  state[0] = 1;
  stack.push({ t: 0, ...edgesOf(0), i: 0 });
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i >= top.edges.length) {
      state[top.t] = 2;
      stack.pop();
      continue;
    }
    const w = top.edges[top.i]!;
    const isBranch = top.kinds[top.i]!;
    top.i++;
    const t = top.t;
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
      stack.push({ t: w, ...edgesOf(w), i: 0 });
    } else if (state[w] === 1) {
      if (!env.privileged) {
        env.linfo(t, `${t}: `);
        env.fail(`back-edge from insn ${t} to ${w}`, EINVAL);
      }
      prune[w] = 1;
    }
  }
  for (let i = 0; i < n; i++) {
    const insn = env.bySlot[i];
    if (insn === undefined) continue;
    if (state[i] !== 2) env.fail(`unreachable insn ${i}`, EINVAL);
  }
  // Liveness: backward data flow to a fixed point.
  const liveBefore = new Uint16Array(n + 1);
  const ud: Array<[number, number]> = new Array(n);
  for (const insn of env.insns) ud[insn.pc] = useDef(insn);
  let changed = true;
  while (changed) {
    changed = false;
    for (let k = env.insns.length - 1; k >= 0; k--) {
      const insn = env.insns[k]!;
      const s = successors(insn);
      let out = 0;
      if (s.fall !== undefined && s.fall < n) out |= liveBefore[s.fall]!;
      if (s.branch !== undefined && s.branch < n) out |= liveBefore[s.branch]!;
      const [use, def] = ud[insn.pc]!;
      const inn = (out & ~def) | use;
      if (inn !== liveBefore[insn.pc]) {
        liveBefore[insn.pc] = inn;
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
