/**
 * Return value checks at program exit: check_return_code() in kernel/bpf/verifier.c.
 * R0 must be initialised and, for program types with a return range, a scalar in
 * that range ("At program exit the register R0 has smin=5 smax=5 should have been
 * in [0, 1]").
 */
import type { ProgramTypeName } from "../progtypes/index.js";
import { EACCES, EINVAL, type Env } from "./env.js";
import { regTypeStr } from "./state.js";

export interface RetRange {
  readonly min: bigint;
  readonly max: bigint;
}

const SOCK_ADDR_MUST_PASS = [
  "BPF_CGROUP_UDP4_RECVMSG", "BPF_CGROUP_UDP6_RECVMSG", "BPF_CGROUP_UNIX_RECVMSG",
  "BPF_CGROUP_INET4_GETPEERNAME", "BPF_CGROUP_INET6_GETPEERNAME", "BPF_CGROUP_UNIX_GETPEERNAME",
  "BPF_CGROUP_INET4_GETSOCKNAME", "BPF_CGROUP_INET6_GETSOCKNAME", "BPF_CGROUP_UNIX_GETSOCKNAME",
];

/** The allowed R0 range of a program type (and attach type), or undefined when any value goes. */
export function returnRange(type: ProgramTypeName, attach: string | undefined): RetRange | undefined {
  switch (type) {
    case "BPF_PROG_TYPE_CGROUP_SKB":
      return attach === "BPF_CGROUP_INET_EGRESS" ? { min: 0n, max: 3n } : { min: 0n, max: 1n };
    case "BPF_PROG_TYPE_CGROUP_SOCK":
    case "BPF_PROG_TYPE_SOCK_OPS":
    case "BPF_PROG_TYPE_CGROUP_DEVICE":
    case "BPF_PROG_TYPE_CGROUP_SYSCTL":
    case "BPF_PROG_TYPE_CGROUP_SOCKOPT":
      return { min: 0n, max: 1n };
    case "BPF_PROG_TYPE_CGROUP_SOCK_ADDR":
      // recvmsg and get{peer,sock}name hooks cannot drop (1 only); bind may also ask
      // to skip the port check (2, 3).
      if (SOCK_ADDR_MUST_PASS.includes(attach ?? "")) return { min: 1n, max: 1n };
      if (attach === "BPF_CGROUP_INET4_BIND" || attach === "BPF_CGROUP_INET6_BIND") return { min: 0n, max: 3n };
      return { min: 0n, max: 1n };
    case "BPF_PROG_TYPE_SK_LOOKUP":
      return { min: 0n, max: 1n };
    case "BPF_PROG_TYPE_NETFILTER":
      return { min: 0n, max: 1n };
    default:
      return undefined;
  }
}

/** check_return_code() for the main program's exit. */
export function checkReturnCode(env: Env): void {
  const r0 = env.readReg(0);
  // A global function verified on its own returns to a caller that expects a scalar.
  if (env.checkingGlobal !== undefined) {
    if (r0.type !== "SCALAR_VALUE") env.fail(`At subprogram exit the register R0 is not a scalar value (${regTypeStr(r0)})`, EINVAL);
    return;
  }
  const range = returnRange(env.progType, env.attach);
  if (range === undefined) {
    if (r0.type !== "SCALAR_VALUE" && !env.privileged) env.fail("R0 leaks addr as return value", EACCES);
    return;
  }
  if (r0.type !== "SCALAR_VALUE") {
    env.fail(`At program exit the register R0 is not a known value (${regTypeStr(r0)})`, EINVAL);
  }
  // The range check relies on R0's value (mark_chain_precision(env, BPF_REG_0)).
  env.markPrecise(0);
  if (r0.b.smin < range.min || r0.b.smax > range.max) {
    env.fail(`At program exit the register R0 has smin=${r0.b.smin} smax=${r0.b.smax} should have been in [${range.min}, ${range.max}]`, EINVAL);
  }
}
