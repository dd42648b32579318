/**
 * Global functions: subprograms whose BTF func_info says BTF_FUNC_GLOBAL are
 * verified once, on their own, from their BTF prototype (do_check_subprogs() in
 * kernel/bpf/verifier.c), not inline at each call as static ones are. Here:
 *  - btf_prepare_func_args(): the prototype as argument kinds: scalars (int, enum),
 *    the program type's ctx, or a pointer to sized memory that may be NULL;
 *  - btf_check_subprog_call(): what a caller passes must match (check_mem_reg for
 *    memory: readable and writable for the pointee's size, or NULL); the call then
 *    returns an unknown scalar in R0 and clobbers R1-R5, and the callee's writes
 *    through a memory argument leave those caller bytes unknown;
 *  - the callee's entry registers (do_check_common()).
 */
import type { BtfFunc, BtfType } from "../btf/index.js";
import { resolveType, sizeOf } from "../btf/index.js";
import type { ProgramTypeName } from "../progtypes/index.js";
import { EACCES, EINVAL, K_CALL, VerifyFail, type Env } from "./env.js";
import { helperProto } from "./helpers-table.js";
import type { CallInsn } from "../isa/index.js";
import { helperMemAccess } from "./mem.js";
import { isZero } from "./bounds.js";
import { newFrame, ptrReg, ptrTo, regWith, unknownScalar, type Frame } from "./state.js";

export type GlobalArg =
  | { readonly kind: "scalar" }
  | { readonly kind: "ctx" }
  | { readonly kind: "mem"; readonly size: number };

export interface GlobalFunc {
  readonly name: string;
  /** Subprogram index (func#N). */
  readonly subprog: number;
  /** Undefined when the prototype has an argument the verifier cannot type (the message says which). */
  readonly args: readonly GlobalArg[] | undefined;
  readonly error?: string;
  readonly scalarReturn: boolean;
  /**
   * It, or a function it calls, calls a helper that changes packet data
   * (subprog_info.changes_pkt_data): the caller's packet pointers do not survive the call.
   */
  changesPktData: boolean;
}

/** The ctx struct names of a program type (btf_is_prog_ctx_type's UAPI names). */
function ctxStructNames(type: ProgramTypeName): readonly string[] {
  switch (type) {
    case "BPF_PROG_TYPE_SOCKET_FILTER": case "BPF_PROG_TYPE_SCHED_CLS": case "BPF_PROG_TYPE_SCHED_ACT": case "BPF_PROG_TYPE_CGROUP_SKB":
    case "BPF_PROG_TYPE_LWT_IN": case "BPF_PROG_TYPE_LWT_OUT": case "BPF_PROG_TYPE_LWT_XMIT": case "BPF_PROG_TYPE_LWT_SEG6LOCAL":
    case "BPF_PROG_TYPE_SK_SKB": case "BPF_PROG_TYPE_FLOW_DISSECTOR":
      return ["__sk_buff", "sk_buff"];
    case "BPF_PROG_TYPE_XDP": return ["xdp_md", "xdp_buff"];
    case "BPF_PROG_TYPE_KPROBE": return ["pt_regs", "bpf_user_pt_regs_t", "user_pt_regs"];
    case "BPF_PROG_TYPE_PERF_EVENT": return ["bpf_perf_event_data", "bpf_perf_event_data_kern"];
    case "BPF_PROG_TYPE_RAW_TRACEPOINT": case "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE": return ["bpf_raw_tracepoint_args"];
    case "BPF_PROG_TYPE_CGROUP_SOCK": return ["bpf_sock", "sock"];
    case "BPF_PROG_TYPE_CGROUP_SOCK_ADDR": return ["bpf_sock_addr", "bpf_sock_addr_kern"];
    default: return [];
  }
}

/** The name a type prints with in messages ("int *", "struct foo *"). */
function typeName(t: BtfType): string {
  const r = resolveType(t, { keepTypedefs: true });
  if (r.kind === "ptr") return `${typeName(r.target)} *`;
  if (r.kind === "struct" || r.kind === "union" || r.kind === "enum") return `${r.kind} ${r.name}`;
  return r.name === "" ? r.kind : r.name;
}

/** btf_prepare_func_args() for the global function `func` at subprogram `subprog`. */
export function prepareGlobal(func: BtfFunc, subprog: number, progType: ProgramTypeName): GlobalFunc {
  const name = func.name;
  const ret = resolveType(func.proto.ret);
  const scalarReturn = ret.kind === "int" || ret.kind === "enum" || ret.kind === "enum64";
  const args: GlobalArg[] = [];
  const params = func.proto.params;
  if (params.length > 5) return { name, subprog, args: undefined, scalarReturn, changesPktData: false, error: `Function ${name} has ${params.length} > 5 args` };
  for (let i = 0; i < params.length; i++) {
    const t = resolveType(params[i]!.type);
    if (t.kind === "int" || t.kind === "enum" || t.kind === "enum64") {
      args.push({ kind: "scalar" });
      continue;
    }
    if (t.kind === "ptr") {
      const target = resolveType(t.target, { keepTypedefs: true });
      const base = resolveType(target);
      if (ctxStructNames(progType).includes(target.name) || ctxStructNames(progType).includes(base.name)) {
        args.push({ kind: "ctx" });
        continue;
      }
      const size = base.kind === "void" || base.kind === "func_proto" || base.kind === "fwd" ? 0 : sizeOf(base);
      if (size > 0) {
        args.push({ kind: "mem", size });
        continue;
      }
    }
    return {
      name, subprog, args: undefined, scalarReturn, changesPktData: false,
      error: `arg#${i} pointer type ${typeName(params[i]!.type)} must point to scalar, or struct with scalar`,
    };
  }
  return { name, subprog, args, scalarReturn, changesPktData: false };
}

/** btf_check_subprog_call(): the caller's R1-R5 against the prototype. */
export function checkGlobalCallArgs(env: Env, g: GlobalFunc): void {
  const bad = (msg: string): never => {
    env.verbose(msg + "\n");
    return env.fail(`Caller passes invalid args into func#${g.subprog} ('${g.name}')`, EINVAL);
  };
  if (g.args === undefined) return bad(g.error ?? `arg type of ${g.name}() is not supported`);
  if (!g.scalarReturn) env.fail(`Global function ${g.name}() doesn't return scalar. Only those are supported.`, EINVAL);
  try {
    checkArgs(env, g.args, bad);
  } catch (e) {
    // The argument's own message, then the call's (btf_check_subprog_call's caller).
    if (!(e instanceof VerifyFail) || e.reason.startsWith("Caller passes")) throw e;
    env.fail(`Caller passes invalid args into func#${g.subprog} ('${g.name}')`, EINVAL);
  }
}

function checkArgs(env: Env, args: readonly GlobalArg[], bad: (msg: string) => never): void {
  for (let i = 0; i < args.length; i++) {
    const regno = i + 1;
    const a = args[i]!;
    // Not check_reg_arg(): an uninitialised register is just not what the prototype asks.
    env.markRegScratched(regno);
    const r = env.regs[regno]!;
    if (a.kind === "scalar") {
      if (r.type !== "SCALAR_VALUE") bad(`R${regno} is not a scalar`);
      continue;
    }
    if (a.kind === "ctx") {
      if (r.type !== "PTR_TO_CTX") bad(`arg#${i} expects pointer to ctx`);
      if (r.off !== 0 || !isZero(r.b)) env.fail(`dereference of modified ctx ptr R${regno} off=${r.off} disallowed`, EACCES);
      continue;
    }
    // check_mem_reg(): NULL, or memory readable and writable for the pointee's size.
    if (r.type === "SCALAR_VALUE" && isZero(r.b)) continue;
    const nn = r.maybeNull ? regWith(r, { maybeNull: false }) : r;
    helperMemAccess(env, regno, nn, a.size, "read", true, false);
    // The callee may write there: the caller's bytes become unknown (stack bytes misc).
    helperMemAccess(env, regno, nn, a.size, "write", true, false);
  }
}

/** The entry frame of a global function's own verification: arguments as the prototype types them. */
export function globalEntryFrame(env: Env, g: GlobalFunc, start: number): Frame {
  const f = newFrame(0, -1, start);
  const args = g.args ?? [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    f.regs[i + 1] = a.kind === "scalar" ? unknownScalar() : a.kind === "ctx" ? ptrTo("PTR_TO_CTX", undefined)
      : ptrReg("PTR_TO_MEM", { maybeNull: true, memSize: a.size, id: env.newId() });
  }
  return f;
}

/**
 * mark_subprog_changes_pkt_data() and its propagation through the call graph: whether
 * subprogram `idx` or one it calls (bpf-to-bpf or as a callback) calls a helper that
 * changes packet data.
 */
export function subprogChangesPktData(env: Env, callees: ReadonlyArray<ReadonlySet<number>>, idx: number): boolean {
  const seen = new Set<number>();
  const visit = (i: number): boolean => {
    if (seen.has(i)) return false;
    seen.add(i);
    const sp = env.subprogs[i]!;
    for (let pc = sp.start; pc < sp.end; pc++) {
      if (env.code[pc] !== K_CALL) continue;
      const c = env.bySlot[pc] as CallInsn;
      if (c.target === "helper" && helperProto(c.imm)?.changesPktData === true) return true;
    }
    for (const c of callees[i] ?? []) if (visit(c)) return true;
    return false;
  };
  return visit(idx);
}
