/**
 * The kernel helpers tsbpf implements, by kernel id, with the kernel's semantics and
 * return codes (kernel/bpf/helpers.c, net/core/filter.c, kernel/trace/bpf_trace.c,
 * kernel/bpf/ringbuf.c). Each takes the u64 arguments r1-r5 and returns r0.
 */
import { mapFromAddress, type BpfMap } from "../maps/index.js";
import { SkBuff, XdpBuff } from "../progtypes/index.js";
import type { HelperContext, HelperDef } from "../vm/index.js";
import type { HelperEnv } from "./env.js";
import { HelperArgError, arg32, argU32, checked, readCString, readable } from "./memory.js";
import { bpfFormat } from "./printf.js";

const EPERM = 1n;
const ENOENT = 2n;
const EFAULT = 14n;
const EINVAL = 22n;
const E2BIG = 7n;
const neg = (e: bigint): bigint => -e;

const XDP_REDIRECT = 4n;
const TC_ACT_REDIRECT = 7n;
const BPF_F_INGRESS = 1;

type Impl = (env: HelperEnv, a: bigint[], ctx: HelperContext) => bigint | number;

function mapArg(env: HelperEnv, v: bigint, helper: string): BpfMap {
  const m = v >= 0n && v < 1n << 32n ? mapFromAddress(env.space, Number(v)) : undefined;
  if (m === undefined) throw new HelperArgError(`${helper}: r1 (0x${v.toString(16)}) is not a map`);
  return m;
}

function packetArg(env: HelperEnv, v: bigint, helper: string): SkBuff | XdpBuff {
  const p = v >= 0n && v < 1n << 32n ? env.packet(Number(v)) : undefined;
  if (p === undefined) throw new HelperArgError(`${helper}: r1 is not a packet context`);
  return p;
}
function skbArg(env: HelperEnv, v: bigint, helper: string): SkBuff {
  const p = packetArg(env, v, helper);
  if (!(p instanceof SkBuff)) throw new HelperArgError(`${helper}: r1 is not an __sk_buff`);
  return p;
}
function xdpArg(env: HelperEnv, v: bigint, helper: string): XdpBuff {
  const p = packetArg(env, v, helper);
  if (!(p instanceof XdpBuff)) throw new HelperArgError(`${helper}: r1 is not an xdp_md`);
  return p;
}

/** probe_read family: copies or zero-fills and returns -EFAULT, like copy_from_kernel_nofault. */
function probeRead(env: HelperEnv, dst: bigint, size: bigint, src: bigint, name: string): bigint {
  const n = Number(BigInt.asUintN(32, size));
  const d = checked(env.space, dst, n, `${name} dst`, true);
  if (n === 0) return 0n;
  if (!readable(env.space, src, n)) {
    env.space.u8.fill(0, d, d + n);
    return neg(EFAULT);
  }
  env.space.u8.copyWithin(d, Number(src), Number(src) + n);
  return 0n;
}

/** probe_read_*_str: copies up to size-1 bytes and a NUL; returns the length including the NUL. */
function probeReadStr(env: HelperEnv, dst: bigint, size: bigint, src: bigint, name: string): bigint {
  const n = Number(BigInt.asUintN(32, size));
  if (n === 0) return 0n;
  const d = checked(env.space, dst, n, `${name} dst`, true);
  if (!readable(env.space, src, 1)) {
    env.space.u8.fill(0, d, d + n);
    return neg(EFAULT);
  }
  const s = readCString(env.space, src, n - 1, name);
  env.space.u8.set(s, d);
  env.space.u8[d + s.length] = 0;
  return BigInt(s.length + 1);
}

/** Ones' complement sum helpers for the csum helpers (RFC 1071), on 32-bit partial sums. */
function csumAdd(sum: number, x: number): number {
  const s = (sum >>> 0) + (x >>> 0);
  return (s + (s > 0xffffffff ? 1 : 0)) >>> 0;
}
function csumFold(sum: number): number {
  let s = (sum & 0xffff) + (sum >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
function csumPartial(u8: Uint8Array, a: number, len: number, seed: number): number {
  // The kernel's csum_partial on x86 sums 32-bit little-endian words.
  let sum = seed >>> 0;
  let i = 0;
  for (; i + 4 <= len; i += 4) sum = csumAdd(sum, u8[a + i]! | (u8[a + i + 1]! << 8) | (u8[a + i + 2]! << 16) | (u8[a + i + 3]! << 24));
  let rest = 0;
  for (let k = 0; i < len; i++, k++) rest |= u8[a + i]! << (8 * k);
  if (len % 4 !== 0) sum = csumAdd(sum, rest);
  return sum;
}

interface RingbufLike extends BpfMap {
  reserve(size: number, flags: number): number;
  submit(addr: number, flags: number): void;
  discard(addr: number, flags: number): void;
  output(dataAddr: number, size: number, flags: number): number;
  query(flag: number): bigint | number;
  ownsRecord(addr: number): boolean;
}
interface PerfLike extends BpfMap {
  output(flags: number, dataAddr: number, size: number, cpu: number): number;
}
interface ProgArrayLike extends BpfMap {
  getProgramId(index: number): number | undefined;
}

function ringbufOf(env: HelperEnv, addr: bigint, helper: string): RingbufLike {
  for (const m of env.space.regions) {
    if (m.kind !== "map" || Number(addr) < m.start || Number(addr) >= m.end) continue;
    for (const candidate of ringbufs(env)) if (candidate.ownsRecord(Number(addr))) return candidate;
  }
  throw new HelperArgError(`${helper}: 0x${addr.toString(16)} is not a reserved ring buffer record`);
}
function* ringbufs(env: HelperEnv): Iterable<RingbufLike> {
  for (const r of env.space.regions) {
    const m = mapFromAddress(env.space, r.start);
    if (m !== undefined && m.spec.type === "BPF_MAP_TYPE_RINGBUF") yield m as RingbufLike;
  }
}

const IMPLS: Record<number, [string, Impl]> = {
  1: ["bpf_map_lookup_elem", (env, [m, k]) => { const map = mapArg(env, m!, "bpf_map_lookup_elem"); return map.lookupElem(checked(env.space, k!, map.spec.keySize, "key"), env.cpu()); }],
  2: ["bpf_map_update_elem", (env, [m, k, v, f]) => {
    const map = mapArg(env, m!, "bpf_map_update_elem");
    return map.updateElem(checked(env.space, k!, map.spec.keySize, "key"), checked(env.space, v!, map.spec.valueSize, "value"), Number(f! & 0xffffffffn), env.cpu());
  }],
  3: ["bpf_map_delete_elem", (env, [m, k]) => { const map = mapArg(env, m!, "bpf_map_delete_elem"); return map.deleteElem(checked(env.space, k!, map.spec.keySize, "key"), env.cpu()); }],
  4: ["bpf_probe_read", (env, [d, s, src]) => probeRead(env, d!, s!, src!, "bpf_probe_read")],
  5: ["bpf_ktime_get_ns", (env) => env.clocks.monotonicNs()],
  6: ["bpf_trace_printk", (env, [fmt, size, a3, a4, a5]) => {
    const n = argU32(size!);
    const raw = readCString(env.space, fmt!, n, "bpf_trace_printk fmt");
    if (raw.length >= n && n > 0 && env.space.u8[Number(fmt!) + n - 1] !== 0) return neg(EINVAL);
    const line = bpfFormat(env.space, new TextDecoder().decode(raw), [a3!, a4!, a5!], "bpf_trace_printk");
    env.trace(line.endsWith("\n") ? line.slice(0, -1) : line);
    return BigInt(line.length);
  }],
  7: ["bpf_get_prandom_u32", (env) => BigInt(env.random() >>> 0)],
  8: ["bpf_get_smp_processor_id", (env) => BigInt(env.cpu())],
  9: ["bpf_skb_store_bytes", (env, [c, off, from, len]) => {
    const skb = skbArg(env, c!, "bpf_skb_store_bytes");
    const n = argU32(len!);
    return BigInt(skb.storeBytes(arg32(off!), checked(env.space, from!, n, "from"), n));
  }],
  10: ["bpf_l3_csum_replace", (env, [c, off, from, to, size]) => {
    const skb = skbArg(env, c!, "bpf_l3_csum_replace");
    return BigInt(csumReplace(env, skb, arg32(off!), from!, to!, Number(size! & 0xfn), false));
  }],
  11: ["bpf_l4_csum_replace", (env, [c, off, from, to, flags]) => {
    const skb = skbArg(env, c!, "bpf_l4_csum_replace");
    const f = Number(flags! & 0xffffffffn);
    const pseudo = (f & 0x10) !== 0; // BPF_F_PSEUDO_HDR
    const markMangled0 = (f & 0x20) !== 0; // BPF_F_MARK_MANGLED_0
    const o = arg32(off!);
    if (markMangled0 && o >= 0 && o + 2 <= skb.len && env.space.view.getUint16(skb.data + o) === 0) return 0n;
    void pseudo;
    return BigInt(csumReplace(env, skb, o, from!, to!, f & 0xf, markMangled0));
  }],
  12: ["bpf_tail_call", (env, [, m, idx], ctx) => {
    const map = mapArg(env, m!, "bpf_tail_call") as ProgArrayLike;
    if (map.spec.type !== "BPF_MAP_TYPE_PROG_ARRAY") throw new HelperArgError("bpf_tail_call: r2 is not a BPF_MAP_TYPE_PROG_ARRAY");
    const id = map.getProgramId(argU32(idx!));
    const target = id === undefined ? undefined : env.program(id);
    return target !== undefined && ctx.tailCall(target) ? 0n : neg(ENOENT);
  }],
  14: ["bpf_get_current_pid_tgid", (env) => (BigInt(env.task.tgid) << 32n) | BigInt(env.task.pid)],
  15: ["bpf_get_current_uid_gid", (env) => (BigInt(env.task.gid) << 32n) | BigInt(env.task.uid)],
  16: ["bpf_get_current_comm", (env, [buf, size]) => {
    const n = argU32(size!);
    const d = checked(env.space, buf!, n, "bpf_get_current_comm buf", true);
    if (n === 0) return neg(EINVAL);
    const comm = new TextEncoder().encode(env.task.comm).subarray(0, Math.min(15, n - 1));
    env.space.u8.fill(0, d, d + n);
    env.space.u8.set(comm, d);
    return 0n;
  }],
  23: ["bpf_redirect", (env, [ifindex, flags]) => {
    const f = Number(flags! & 0xffffffffn);
    if ((f & ~BPF_F_INGRESS) !== 0) return 0n; // TC_ACT_SHOT / XDP_ABORTED
    env.redirect.ifindex = argU32(ifindex!);
    env.redirect.flags = f;
    delete env.redirect.mapId;
    return env.xdp ? XDP_REDIRECT : TC_ACT_REDIRECT;
  }],
  25: ["bpf_perf_event_output", (env, [, m, flags, data, size]) => {
    const map = mapArg(env, m!, "bpf_perf_event_output") as PerfLike;
    if (map.spec.type !== "BPF_MAP_TYPE_PERF_EVENT_ARRAY") throw new HelperArgError("bpf_perf_event_output: r2 is not a BPF_MAP_TYPE_PERF_EVENT_ARRAY");
    const n = Number(size!);
    return BigInt(map.output(Number(BigInt.asUintN(64, flags!) & 0xffffffffn), checked(env.space, data!, n, "data"), n, env.cpu()));
  }],
  26: ["bpf_skb_load_bytes", (env, [c, off, to, len]) => {
    const skb = skbArg(env, c!, "bpf_skb_load_bytes");
    const n = argU32(len!);
    const d = checked(env.space, to!, n, "to", true);
    const r = skb.loadBytes(arg32(off!), d, n);
    if (r < 0) env.space.u8.fill(0, d, d + n);
    return BigInt(r);
  }],
  28: ["bpf_csum_diff", (env, [from, fromSize, to, toSize, seed]) => {
    const fs = argU32(fromSize!);
    const ts = argU32(toSize!);
    if (fs % 4 !== 0 || ts % 4 !== 0) return neg(EINVAL);
    const u8 = env.space.u8;
    const f = fs === 0 ? 0 : checked(env.space, from!, fs, "from");
    const t = ts === 0 ? 0 : checked(env.space, to!, ts, "to");
    // csum_partial(to) + ~csum_partial(from) word by word, seeded (bpf_csum_diff builds a diff buffer of ~from then to).
    let sum = argU32(seed!);
    for (let i = 0; i < fs; i += 4) sum = csumAdd(sum, ~(u8[f + i]! | (u8[f + i + 1]! << 8) | (u8[f + i + 2]! << 16) | (u8[f + i + 3]! << 24)) >>> 0);
    sum = csumPartial(u8, t, ts, sum);
    return BigInt(sum >>> 0);
  }],
  42: ["bpf_get_numa_node_id", () => 0n],
  44: ["bpf_xdp_adjust_head", (env, [c, d]) => BigInt(xdpArg(env, c!, "bpf_xdp_adjust_head").adjustHead(arg32(d!)))],
  45: ["bpf_probe_read_str", (env, [d, s, src]) => probeReadStr(env, d!, s!, src!, "bpf_probe_read_str")],
  51: ["bpf_redirect_map", (env, [m, key, flags]) => {
    const map = mapArg(env, m!, "bpf_redirect_map");
    const k = argU32(key!);
    const f = Number(flags! & 0xffffffffn);
    const kb = new Uint8Array(4);
    new DataView(kb.buffer).setUint32(0, k, true);
    const present = map.lookup(kb) !== undefined;
    if (!present) return BigInt(f & 0x3); // the lower two bits of flags: the action when the lookup fails
    env.redirect.mapId = map.id;
    env.redirect.key = k;
    env.redirect.flags = f;
    return XDP_REDIRECT;
  }],
  54: ["bpf_xdp_adjust_meta", (env, [c, d]) => BigInt(xdpArg(env, c!, "bpf_xdp_adjust_meta").adjustMeta(arg32(d!)))],
  65: ["bpf_xdp_adjust_tail", (env, [c, d]) => BigInt(xdpArg(env, c!, "bpf_xdp_adjust_tail").adjustTail(arg32(d!)))],
  87: ["bpf_map_push_elem", (env, [m, v, f]) => { const map = mapArg(env, m!, "bpf_map_push_elem"); return map.pushElem(checked(env.space, v!, map.spec.valueSize, "value"), Number(f! & 0xffffffffn)); }],
  88: ["bpf_map_pop_elem", (env, [m, v]) => { const map = mapArg(env, m!, "bpf_map_pop_elem"); return map.popElem(checked(env.space, v!, map.spec.valueSize, "value", true)); }],
  89: ["bpf_map_peek_elem", (env, [m, v]) => { const map = mapArg(env, m!, "bpf_map_peek_elem"); return map.peekElem(checked(env.space, v!, map.spec.valueSize, "value", true)); }],
  93: ["bpf_spin_lock", (env, [l]) => {
    // One CPU runs at a time here, so the lock is always free; we still mark it held
    // so a double lock (a deadlock in the kernel) is reported.
    const a = checked(env.space, l!, 4, "lock", true);
    if (env.space.view.getUint32(a, true) !== 0) throw new HelperArgError("bpf_spin_lock: lock already held (deadlock)");
    env.space.view.setUint32(a, 1, true);
    return 0n;
  }],
  94: ["bpf_spin_unlock", (env, [l]) => {
    const a = checked(env.space, l!, 4, "lock", true);
    env.space.view.setUint32(a, 0, true);
    return 0n;
  }],
  112: ["bpf_probe_read_user", (env, [d, s, src]) => probeRead(env, d!, s!, src!, "bpf_probe_read_user")],
  113: ["bpf_probe_read_kernel", (env, [d, s, src]) => probeRead(env, d!, s!, src!, "bpf_probe_read_kernel")],
  114: ["bpf_probe_read_user_str", (env, [d, s, src]) => probeReadStr(env, d!, s!, src!, "bpf_probe_read_user_str")],
  115: ["bpf_probe_read_kernel_str", (env, [d, s, src]) => probeReadStr(env, d!, s!, src!, "bpf_probe_read_kernel_str")],
  118: ["bpf_jiffies64", (env) => env.clocks.jiffies()],
  125: ["bpf_ktime_get_boot_ns", (env) => env.clocks.bootNs()],
  130: ["bpf_ringbuf_output", (env, [m, data, size, flags]) => {
    const map = mapArg(env, m!, "bpf_ringbuf_output") as RingbufLike;
    const n = argU32(size!);
    return BigInt(map.output(checked(env.space, data!, n, "data"), n, Number(flags! & 0xffffffffn)));
  }],
  131: ["bpf_ringbuf_reserve", (env, [m, size, flags]) => {
    const map = mapArg(env, m!, "bpf_ringbuf_reserve") as RingbufLike;
    return BigInt(map.reserve(Number(BigInt.asUintN(64, size!) > 0xffffffffn ? 0xffffffff : size!), Number(flags! & 0xffffffffn)));
  }],
  132: ["bpf_ringbuf_submit", (env, [d, flags]) => { ringbufOf(env, d!, "bpf_ringbuf_submit").submit(Number(d!), Number(flags! & 0xffffffffn)); return 0n; }],
  133: ["bpf_ringbuf_discard", (env, [d, flags]) => { ringbufOf(env, d!, "bpf_ringbuf_discard").discard(Number(d!), Number(flags! & 0xffffffffn)); return 0n; }],
  134: ["bpf_ringbuf_query", (env, [m, flags]) => BigInt((mapArg(env, m!, "bpf_ringbuf_query") as RingbufLike).query(Number(flags! & 0xffffffffn)))],
  160: ["bpf_ktime_get_coarse_ns", (env) => env.clocks.coarseNs()],
  164: ["bpf_for_each_map_elem", (env, [m, fn, cbctx, flags], ctx) => {
    const map = mapArg(env, m!, "bpf_for_each_map_elem");
    if (flags !== 0n) return neg(EINVAL);
    return BigInt(map.forEachElem((k: number, v: number) => ctx.callFunction(fn!, [m!, BigInt(k), BigInt(v), cbctx!]), 0, env.cpu()));
  }],
  165: ["bpf_snprintf", (env, [str, size, fmt, data, dataLen]) => {
    const n = argU32(size!);
    const dl = argU32(dataLen!);
    if (dl % 8 !== 0 || dl / 8 > 12) return neg(EINVAL);
    const d = dl === 0 ? 0 : checked(env.space, data!, dl, "data");
    const args: bigint[] = [];
    for (let i = 0; i < dl; i += 8) args.push(env.space.view.getBigUint64(d + i, true));
    const f = new TextDecoder().decode(readCString(env.space, fmt!, 4096, "bpf_snprintf fmt"));
    const text = new TextEncoder().encode(bpfFormat(env.space, f, args, "bpf_snprintf"));
    if (n > 0) {
      const o = checked(env.space, str!, n, "str", true);
      const k = Math.min(text.length, n - 1);
      env.space.u8.set(text.subarray(0, k), o);
      env.space.u8[o + k] = 0;
    }
    return BigInt(text.length + 1);
  }],
  173: ["bpf_get_func_ip", () => 0n],
  181: ["bpf_loop", (_env, [nr, fn, cbctx, flags], ctx) => {
    if (flags !== 0n) return neg(EINVAL);
    const n = BigInt.asUintN(32, nr!);
    if (n > 1n << 23n) return neg(E2BIG); // BPF_MAX_LOOPS
    let i = 0n;
    for (; i < n; i++) if (ctx.callFunction(fn!, [i, cbctx!]) !== 0n) return i + 1n;
    return i;
  }],
  182: ["bpf_strncmp", (env, [s1, s1sz, s2]) => {
    const n = argU32(s1sz!);
    const a = checked(env.space, s1!, n, "s1");
    const b = readCString(env.space, s2!, 4096, "s2");
    const u8 = env.space.u8;
    for (let i = 0; i < n; i++) {
      const x = u8[a + i]!;
      const y = i < b.length ? b[i]! : 0;
      if (x !== y) return x < y ? -1n : 1n;
      if (x === 0) return 0n;
    }
    return 0n;
  }],
  195: ["bpf_map_lookup_percpu_elem", (env, [m, k, cpu]) => {
    const map = mapArg(env, m!, "bpf_map_lookup_percpu_elem");
    const c = argU32(cpu!);
    if (c >= env.numCpus) return 0n;
    return map.lookupPercpuElem(checked(env.space, k!, map.spec.keySize, "key"), c);
  }],
};

function csumReplace(env: HelperEnv, skb: SkBuff, off: number, from: bigint, to: bigint, size: number, _markMangled: boolean): number {
  if (off < 0 || off + 2 > skb.len) return -Number(EFAULT);
  const a = skb.data + off;
  const v = env.space.view;
  const check = v.getUint16(a, false);
  // RFC 1624: HC' = ~(~HC + ~m + m'), on 16-bit folded sums.
  let sum = ~check & 0xffff;
  const f = Number(BigInt.asUintN(32, from));
  const t = Number(BigInt.asUintN(32, to));
  switch (size) {
    case 0: // 'from' is a ready checksum difference (csum_diff)
      sum = foldAdd(sum, t & 0xffff, t >>> 16);
      break;
    case 2:
      sum = foldAdd(sum, ~ntohs16(f) & 0xffff, ntohs16(t));
      break;
    case 4:
      sum = foldAdd(sum, ~ntohs16(f) & 0xffff, ~ntohs16(f >>> 16) & 0xffff, ntohs16(t), ntohs16(t >>> 16));
      break;
    default:
      return -Number(EINVAL);
  }
  v.setUint16(a, ~sum & 0xffff, false);
  return 0;
}
/** The csum helpers receive values as the program loaded them: network-order bytes in a little-endian register. */
const ntohs16 = (x: number): number => ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
function foldAdd(...xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The helper table for one runtime, restricted to `env.allowed` when given. */
export function kernelHelpers(env: HelperEnv): HelperDef[] {
  return Object.entries(IMPLS)
    .filter(([id]) => env.allowed === undefined || env.allowed.has(Number(id)))
    .map(([id, [name, impl]]) => ({ id: Number(id), name, fn: (r1, r2, r3, r4, r5, ctx) => impl(env, [r1, r2, r3, r4, r5], ctx) }));
}

/** Ids of every implemented helper, for `tsbpf feature`. */
export const IMPLEMENTED_HELPER_IDS: readonly number[] = Object.keys(IMPLS).map(Number).sort((a, b) => a - b);
void EPERM;
void csumFold;
