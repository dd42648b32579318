/**
 * The kernel helpers tsbpf implements, by kernel id, with the kernel's semantics and
 * return codes (kernel/bpf/helpers.c, net/core/filter.c, kernel/trace/bpf_trace.c,
 * kernel/bpf/ringbuf.c). Each takes the u64 arguments r1-r5 and returns r0.
 */
import { mapFromAddress, type BpfMap } from "../maps/index.js";
import { SkBuff, XdpBuff, type ProgramTypeName } from "../progtypes/index.js";
import { NULL_GUARD, type HelperContext, type HelperDef } from "../vm/index.js";
import { HELPER_TABLE_PROG_TYPES, kernelHelperIds } from "./allowed.js";
import type { HelperEnv } from "./env.js";
import { HELPER_IDS } from "./ids.generated.js";
import { HelperArgError, arg32, argU32, checked, readCString, readable } from "./memory.js";
import { FormatError, bpfFormat } from "./printf.js";

const ENOENT = 2n;
const EFAULT = 14n;
const EINVAL = 22n;
const E2BIG = 7n;
const ERANGE = 34n;
const neg = (e: bigint): bigint => -e;

const XDP_ABORTED = 0n;
const XDP_REDIRECT = 4n;
const TC_ACT_SHOT = 2n;
const TC_ACT_REDIRECT = 7n;
const BPF_F_INGRESS = 1;
/** BPF_F_INDEX_MASK and BPF_F_CTXLEN_MASK of bpf_perf_event_output's flags. */
const BPF_F_INDEX_MASK = 0xffffffffn;
const BPF_F_CTXLEN_MASK = 0xfffffn << 32n;
/** bpf_redirect_map flags beyond the fallback action (include/uapi/linux/bpf.h). */
const BPF_F_BROADCAST = 8;
const BPF_F_EXCLUDE_INGRESS = 16;

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

/**
 * Where a probe read of an address that is not mapped fails, and how. tsbpf has one
 * address space: what is mapped in it reads as kernel (and user) memory. An address
 * outside it is classified as x86-64 does: below the NULL guard or below TASK_SIZE_MAX
 * it is a user address, which copy_from_kernel_nofault() refuses with -ERANGE
 * (copy_from_kernel_nofault_allowed()), as it does non-canonical addresses; the user
 * variants fail with -EFAULT.
 */
type ProbeSpace = "kernel" | "user" | "compat";
const KERNEL_CANONICAL = 0xffff800000000000n;
function unmappedError(src: bigint, mode: ProbeSpace): bigint {
  if (mode !== "kernel") return neg(EFAULT);
  const a = BigInt.asUintN(64, src);
  if (a < BigInt(NULL_GUARD)) return neg(ERANGE);
  if (a < 1n << 32n) return neg(EFAULT);
  // user addresses (below TASK_SIZE_MAX + PAGE_SIZE) and non-canonical ones
  return a < KERNEL_CANONICAL ? neg(ERANGE) : neg(EFAULT);
}
/** bpf_probe_read's address-space agnostic variant: below TASK_SIZE a user read, else a kernel read. */
const compatMode = (src: bigint): ProbeSpace => (BigInt.asUintN(64, src) < BigInt(NULL_GUARD) ? "user" : "kernel");

/** probe_read family: copies, or zero-fills dst and returns the error, like copy_from_*_nofault. */
function probeRead(env: HelperEnv, dst: bigint, size: bigint, src: bigint, name: string, mode: ProbeSpace): bigint {
  const n = argU32(size);
  const d = checked(env.space, dst, n, `${name} dst`, true);
  if (n === 0) return 0n;
  if (mode === "compat") mode = compatMode(src);
  if (!readable(env.space, src, n)) {
    env.space.u8.fill(0, d, d + n);
    return unmappedError(src, mode);
  }
  env.space.u8.copyWithin(d, Number(src), Number(src) + n);
  return 0n;
}

/** probe_read_*_str: copies up to size-1 bytes and a NUL; returns the length including the NUL. */
function probeReadStr(env: HelperEnv, dst: bigint, size: bigint, src: bigint, name: string, mode: ProbeSpace): bigint {
  const n = argU32(size);
  if (n === 0) return 0n;
  const d = checked(env.space, dst, n, `${name} dst`, true);
  if (mode === "compat") mode = compatMode(src);
  if (!readable(env.space, src, 1)) {
    env.space.u8.fill(0, d, d + n);
    return unmappedError(src, mode);
  }
  const s = readCString(env.space, src, n - 1, name);
  env.space.u8.set(s, d);
  env.space.u8[d + s.length] = 0;
  return BigInt(s.length + 1);
}

const BPF_F_HDR_FIELD_MASK = 0xfn;

/** Ones' complement sum helpers for the csum helpers (RFC 1071), on 32-bit partial sums. */
function csumAdd(sum: number, x: number): number {
  const s = (sum >>> 0) + (x >>> 0);
  return (s + (s > 0xffffffff ? 1 : 0)) >>> 0;
}
/** csum_from32to16: the 32-bit partial sum folded to 16 bits, not complemented. */
function csumFrom32to16(sum: number): number {
  let s = (sum & 0xffff) + (sum >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
}
function csumPartial(u8: Uint8Array, a: number, len: number, seed: number): number {
  // x86-64's csum_partial adds little-endian 64-bit words with carry and folds to 32
  // bits; summing 32-bit words with end-around carry gives the same value (both are the
  // ones' complement sum modulo 2^32 - 1, and both are 0 only for all-zero input).
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
  output(flags: number | bigint, dataAddr: number, size: number, cpu?: number, ctx?: Uint8Array): number;
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
  4: ["bpf_probe_read", (env, [d, s, src]) => probeRead(env, d!, s!, src!, "bpf_probe_read", "compat")],
  5: ["bpf_ktime_get_ns", (env) => env.clocks.monotonicNs()],
  6: ["bpf_trace_printk", (env, [fmt, size, a3, a4, a5]) => tracePrintk(env, fmt!, size!, [a3!, a4!, a5!], "bpf_trace_printk")],
  7: ["bpf_get_prandom_u32", (env) => BigInt(env.random() >>> 0)],
  8: ["bpf_get_smp_processor_id", (env) => BigInt(env.cpu())],
  9: ["bpf_skb_store_bytes", (env, [c, off, from, len, flags]) => {
    const skb = skbArg(env, c!, "bpf_skb_store_bytes");
    const n = argU32(len!);
    const src = checked(env.space, from!, n, "from");
    // BPF_F_RECOMPUTE_CSUM (test_run skbs carry no checksum state to update) | BPF_F_INVALIDATE_HASH.
    if ((flags! & ~3n) !== 0n) return neg(EINVAL);
    const o = argU32(off!);
    if (o > 0x7fffffff) return neg(EFAULT);
    const r = skb.storeBytes(o, src, n);
    if (r === 0 && (flags! & 2n) !== 0n) skb.clearHash();
    return BigInt(r);
  }],
  10: ["bpf_l3_csum_replace", (env, [c, off, from, to, flags]) => {
    const skb = skbArg(env, c!, "bpf_l3_csum_replace");
    if ((flags! & ~BPF_F_HDR_FIELD_MASK) !== 0n) return neg(EINVAL);
    const o = argU32(off!);
    if (o > 0xffff || (o & 1) !== 0 || o + 2 > skb.len) return neg(EFAULT);
    return BigInt(csumReplace(env, skb.data + o, from!, to!, Number(flags! & BPF_F_HDR_FIELD_MASK)));
  }],
  11: ["bpf_l4_csum_replace", (env, [c, off, from, to, flags]) => {
    const skb = skbArg(env, c!, "bpf_l4_csum_replace");
    // BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR | BPF_F_HDR_FIELD_MASK | BPF_F_IPV6
    if ((flags! & ~(0x20n | 0x40n | 0x10n | BPF_F_HDR_FIELD_MASK | 0x80n)) !== 0n) return neg(EINVAL);
    const f = Number(flags!);
    const markMangled0 = (f & 0x20) !== 0;
    const enforce = (f & 0x40) !== 0;
    const o = argU32(off!);
    if (o > 0xffff || (o & 1) !== 0 || o + 2 > skb.len) return neg(EFAULT);
    const a = skb.data + o;
    const v = env.space.view;
    if (markMangled0 && !enforce && v.getUint16(a) === 0) return 0n;
    // test_run skbs are CHECKSUM_NONE: inet_proto_csum_replace* only patches the field
    // (BPF_F_PSEUDO_HDR changes skb->csum for CHECKSUM_COMPLETE / CHECKSUM_PARTIAL skbs only).
    const r = csumReplace(env, a, from!, to!, f & 0xf);
    if (r === 0 && markMangled0 && v.getUint16(a) === 0) v.setUint16(a, 0xffff); // CSUM_MANGLED_0
    return BigInt(r);
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
    // XDP (bpf_xdp_redirect): any flag is invalid -> XDP_ABORTED.
    // tc (bpf_redirect): only BPF_F_INGRESS -> otherwise TC_ACT_SHOT.
    if (isXdp(env) ? flags !== 0n : (flags! & ~BigInt(BPF_F_INGRESS)) !== 0n) return isXdp(env) ? XDP_ABORTED : TC_ACT_SHOT;
    env.redirect.ifindex = argU32(ifindex!);
    env.redirect.flags = Number(flags!);
    delete env.redirect.mapId;
    delete env.redirect.key;
    return isXdp(env) ? XDP_REDIRECT : TC_ACT_REDIRECT;
  }],
  25: ["bpf_perf_event_output", (env, [c, m, flags, data, size]) => perfEventOutput(env, c!, m!, BigInt.asUintN(64, flags!), data!, size!)],
  26: ["bpf_skb_load_bytes", (env, [c, off, to, len]) => {
    const skb = skbArg(env, c!, "bpf_skb_load_bytes");
    const n = argU32(len!);
    const d = checked(env.space, to!, n, "to", true);
    const o = argU32(off!);
    const r = o > 0x7fffffff ? -Number(EFAULT) : skb.loadBytes(o, d, n);
    if (r < 0) env.space.u8.fill(0, d, d + n);
    return BigInt(r);
  }],
  28: ["bpf_csum_diff", (env, [from, fromSize, to, toSize, seed]) => {
    // Linux >= 6.13 (checked on 6.18): pushing (from_size 0) csum_partial(to, seed);
    // pulling (to_size 0) ~csum_partial(from, ~seed); diffing
    // csum_sub(csum_partial(to, seed), csum_partial(from, 0)); the result folded to 16
    // bits (csum_from32to16), the same on every architecture, and any sizes (the
    // verifier bounds them by the memory). Older kernels returned the architecture's
    // 32-bit csum_partial() and refused sizes that are not multiples of 4 or exceed 512.
    const fs = argU32(fromSize!);
    const ts = argU32(toSize!);
    const u8 = env.space.u8;
    const f = fs === 0 ? 0 : checked(env.space, from!, fs, "from");
    const t = ts === 0 ? 0 : checked(env.space, to!, ts, "to");
    let sum = argU32(seed!);
    if (fs !== 0 && ts !== 0) sum = csumAdd(csumPartial(u8, t, ts, sum), ~csumPartial(u8, f, fs, 0) >>> 0);
    else if (ts !== 0) sum = csumPartial(u8, t, ts, sum);
    else if (fs !== 0) sum = ~csumPartial(u8, f, fs, ~sum >>> 0) >>> 0;
    return BigInt(csumFrom32to16(sum));
  }],
  34: ["bpf_get_hash_recalc", (env, [c]) => BigInt(skbArg(env, c!, "bpf_get_hash_recalc").recalcHash())],
  42: ["bpf_get_numa_node_id", () => 0n],
  44: ["bpf_xdp_adjust_head", (env, [c, d]) => BigInt(xdpArg(env, c!, "bpf_xdp_adjust_head").adjustHead(arg32(d!)))],
  45: ["bpf_probe_read_str", (env, [d, s, src]) => probeReadStr(env, d!, s!, src!, "bpf_probe_read_str", "compat")],
  51: ["bpf_redirect_map", (env, [m, key, flags]) => {
    // __bpf_xdp_redirect_map: the two low bits of flags are the action when the lookup
    // fails; devmaps also take BPF_F_BROADCAST and BPF_F_EXCLUDE_INGRESS; anything
    // else is XDP_ABORTED.
    const map = mapArg(env, m!, "bpf_redirect_map");
    const devmap = map.spec.type === "BPF_MAP_TYPE_DEVMAP" || map.spec.type === "BPF_MAP_TYPE_DEVMAP_HASH";
    if (!devmap && map.spec.type !== "BPF_MAP_TYPE_CPUMAP" && map.spec.type !== "BPF_MAP_TYPE_XSKMAP") {
      throw new HelperArgError(`bpf_redirect_map: map ${map.spec.name} is a ${map.spec.type}, not a devmap, cpumap or xskmap`);
    }
    const f = BigInt.asUintN(64, flags!);
    const flagMask = devmap ? BigInt(BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS) : 0n;
    if ((f & ~(3n | flagMask)) !== 0n) return XDP_ABORTED;
    const k = argU32(key!);
    const kb = new Uint8Array(4);
    new DataView(kb.buffer).setUint32(0, k, true);
    let present: boolean;
    try {
      present = map.lookup(kb) !== undefined;
    } catch {
      present = false;
    }
    if (!present && (f & BigInt(BPF_F_BROADCAST)) === 0n) {
      delete env.redirect.mapId;
      delete env.redirect.key;
      return f & 3n;
    }
    env.redirect.mapId = map.id;
    env.redirect.key = k;
    env.redirect.flags = Number(f);
    delete env.redirect.ifindex;
    return XDP_REDIRECT;
  }],
  54: ["bpf_xdp_adjust_meta", (env, [c, d]) => BigInt(xdpArg(env, c!, "bpf_xdp_adjust_meta").adjustMeta(arg32(d!)))],
  68: ["bpf_skb_load_bytes_relative", (env, [c, off, to, len, start]) => {
    const skb = skbArg(env, c!, "bpf_skb_load_bytes_relative");
    const n = argU32(len!);
    const d = checked(env.space, to!, n, "to", true);
    const r = skb.loadBytesRelative(argU32(off!), d, n, argU32(start!));
    if (r < 0) env.space.u8.fill(0, d, d + n);
    return BigInt(r);
  }],
  65: ["bpf_xdp_adjust_tail", (env, [c, d]) => BigInt(xdpArg(env, c!, "bpf_xdp_adjust_tail").adjustTail(arg32(d!)))],
  // The socket lookups: tsbpf's runtime has no sockets, so a lookup finds none (NULL,
  // as the kernel's does in a namespace without a matching socket); the tuple must
  // still be readable. bpf_sk_release then never sees a socket; it returns 0.
  84: ["bpf_sk_lookup_tcp", (env, [, t, size]) => { checked(env.space, t!, argU32(size!), "tuple"); return 0n; }],
  85: ["bpf_sk_lookup_udp", (env, [, t, size]) => { checked(env.space, t!, argU32(size!), "tuple"); return 0n; }],
  86: ["bpf_sk_release", () => 0n],
  99: ["bpf_skc_lookup_tcp", (env, [, t, size]) => { checked(env.space, t!, argU32(size!), "tuple"); return 0n; }],
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
  112: ["bpf_probe_read_user", (env, [d, s, src]) => probeRead(env, d!, s!, src!, "bpf_probe_read_user", "user")],
  113: ["bpf_probe_read_kernel", (env, [d, s, src]) => probeRead(env, d!, s!, src!, "bpf_probe_read_kernel", "kernel")],
  114: ["bpf_probe_read_user_str", (env, [d, s, src]) => probeReadStr(env, d!, s!, src!, "bpf_probe_read_user_str", "user")],
  115: ["bpf_probe_read_kernel_str", (env, [d, s, src]) => probeReadStr(env, d!, s!, src!, "bpf_probe_read_kernel_str", "kernel")],
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
    const args = formatArgs(env, data!, dataLen!);
    if (args === undefined) return neg(EINVAL);
    const f = new TextDecoder().decode(readCString(env.space, fmt!, 4096, "bpf_snprintf fmt"));
    let out;
    try {
      out = bpfFormat(env.space, f, args, "bpf_snprintf", n);
    } catch (e) {
      if (e instanceof FormatError) return neg(EINVAL);
      throw e;
    }
    const text = new TextEncoder().encode(out.text);
    if (n > 0) {
      const o = checked(env.space, str!, n, "str", true);
      const k = Math.min(text.length, n - 1);
      env.space.u8.set(text.subarray(0, k), o);
      env.space.u8[o + k] = 0;
    }
    // bstr_printf's return value (+1 for the NUL), which does not count pre-formatted
    // pointer output (%pI4, %pks...) once the buffer is full.
    return BigInt(out.length + 1);
  }],
  173: ["bpf_get_func_ip", () => 0n],
  177: ["bpf_trace_vprintk", (env, [fmt, size, data, dataLen]) => {
    const args = formatArgs(env, data!, dataLen!);
    if (args === undefined) return neg(EINVAL);
    return tracePrintk(env, fmt!, size!, args, "bpf_trace_vprintk");
  }],
  181: ["bpf_loop", (_env, [nr, fn, cbctx, flags], ctx) => {
    if (flags !== 0n) return neg(EINVAL);
    const n = BigInt.asUintN(32, nr!);
    // BPF_MAX_LOOPS. With flags == 0 the kernel's verifier inlines bpf_loop
    // (inline_bpf_loop), whose code sets -E2BIG with a 32-bit move: r0 = 0xfffffff9.
    // Without a verifier the call-site test (constant zero flags) is approximated by
    // the flags value seen at run time.
    if (n > 1n << 23n) return BigInt.asUintN(32, neg(E2BIG));
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
  189: ["bpf_xdp_load_bytes", (env, [c, off, buf, len]) => xdpBytes(env, c!, off!, buf!, len!, "bpf_xdp_load_bytes")],
  190: ["bpf_xdp_store_bytes", (env, [c, off, buf, len]) => xdpBytes(env, c!, off!, buf!, len!, "bpf_xdp_store_bytes")],
  195: ["bpf_map_lookup_percpu_elem", (env, [m, k, cpu]) => {
    const map = mapArg(env, m!, "bpf_map_lookup_percpu_elem");
    const c = argU32(cpu!);
    if (c >= env.numCpus) return 0n;
    return map.lookupPercpuElem(checked(env.space, k!, map.spec.keySize, "key"), c);
  }],
};

/**
 * csum_replace_by_diff / csum_replace2 / csum_replace4 on the 16-bit checksum at `a`
 * (RFC 1624: HC' = ~(~HC + ~m + m')); `size` is BPF_F_HDR_FIELD_MASK of the flags.
 */
/**
 * bpf_xdp_load_bytes / bpf_xdp_store_bytes over the linear buffer (tsbpf's xdp_buff has
 * no frags): bpf_xdp_pointer() answers -EFAULT for an offset or length past 0xffff and
 * -EINVAL past the end of the packet; the buffer is left untouched then.
 */
function xdpBytes(env: HelperEnv, c: bigint, off: bigint, buf: bigint, len: bigint, helper: "bpf_xdp_load_bytes" | "bpf_xdp_store_bytes"): bigint {
  const xdp = xdpArg(env, c, helper);
  const o = argU32(off);
  const n = argU32(len);
  if (o > 0xffff || n > 0xffff) return neg(EFAULT);
  if (o + n > xdp.dataEnd - xdp.data) return neg(EINVAL);
  const load = helper === "bpf_xdp_load_bytes";
  const b = checked(env.space, buf, n, "buf", load);
  const p = xdp.data + o;
  if (load) env.space.u8.copyWithin(b, p, p + n);
  else env.space.u8.copyWithin(p, b, b + n);
  return 0n;
}

function csumReplace(env: HelperEnv, a: number, from: bigint, to: bigint, size: number): number {
  const v = env.space.view;
  const check = v.getUint16(a, false);
  let sum = ~check & 0xffff;
  const f = Number(BigInt.asUintN(32, from));
  const t = Number(BigInt.asUintN(32, to));
  switch (size) {
    case 0: // 'to' is a ready checksum difference (bpf_csum_diff); 'from' must be 0
      if (from !== 0n) return -Number(EINVAL);
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

function isXdp(env: HelperEnv): boolean {
  return env.progType === undefined ? env.xdp : env.progType === "BPF_PROG_TYPE_XDP";
}

const SKB_PROG_TYPES = new Set<ProgramTypeName>([
  "BPF_PROG_TYPE_SOCKET_FILTER", "BPF_PROG_TYPE_SCHED_CLS", "BPF_PROG_TYPE_SCHED_ACT", "BPF_PROG_TYPE_CGROUP_SKB",
  "BPF_PROG_TYPE_LWT_IN", "BPF_PROG_TYPE_LWT_OUT", "BPF_PROG_TYPE_LWT_XMIT", "BPF_PROG_TYPE_SK_SKB",
]);

/**
 * bpf_perf_event_output in its three kernel variants: bpf_xdp_event_output and
 * bpf_skb_event_output take BPF_F_CTXLEN_MASK bytes of the packet (from data) after
 * the caller's data; the tracing variant takes only BPF_F_INDEX_MASK flags.
 */
function perfEventOutput(env: HelperEnv, ctxArg: bigint, m: bigint, flags: bigint, data: bigint, size: bigint): bigint {
  const map = mapArg(env, m, "bpf_perf_event_output") as PerfLike;
  if (map.spec.type !== "BPF_MAP_TYPE_PERF_EVENT_ARRAY") throw new HelperArgError("bpf_perf_event_output: r2 is not a BPF_MAP_TYPE_PERF_EVENT_ARRAY");
  const n = Number(BigInt.asUintN(32, size));
  const src = checked(env.space, data, n, "data");
  const xdp = isXdp(env);
  const skb = env.progType !== undefined && SKB_PROG_TYPES.has(env.progType);
  if (!xdp && !skb) {
    if ((flags & ~BPF_F_INDEX_MASK) !== 0n) return neg(EINVAL);
    return BigInt(map.output(flags, src, n, env.cpu()));
  }
  if ((flags & ~(BPF_F_CTXLEN_MASK | BPF_F_INDEX_MASK)) !== 0n) return neg(EINVAL);
  const pktLen = Number((flags & BPF_F_CTXLEN_MASK) >> 32n);
  const pkt = packetArg(env, ctxArg, "bpf_perf_event_output");
  const avail = pkt.dataEnd - pkt.data;
  if (pktLen > avail) return neg(EFAULT);
  return BigInt(map.output(flags & BPF_F_INDEX_MASK, src, n, env.cpu(), env.space.read(pkt.data, pktLen)));
}

/** bpf_snprintf / bpf_trace_vprintk arguments: data_len bytes of u64s; undefined = -EINVAL. */
function formatArgs(env: HelperEnv, data: bigint, dataLen: bigint): bigint[] | undefined {
  const dl = argU32(dataLen);
  if (dl % 8 !== 0 || dl > 12 * 8 || (dl > 0 && data === 0n)) return undefined; // MAX_BPRINTF_VARARGS
  const d = dl === 0 ? 0 : checked(env.space, data, dl, "data");
  const args: bigint[] = [];
  for (let i = 0; i < dl; i += 8) args.push(env.space.view.getBigUint64(d + i, true));
  return args;
}

/** MAX_BPRINTF_BUF: the buffer bpf_trace_printk formats into. */
const MAX_BPRINTF_BUF = 1024;

/** bpf_trace_printk / bpf_trace_vprintk: bpf_bprintf_prepare, bstr_printf, one trace_pipe line. */
function tracePrintk(env: HelperEnv, fmt: bigint, size: bigint, args: readonly bigint[], helper: string): bigint {
  const n = argU32(size);
  // The format must be NUL-terminated within fmt_size.
  const raw = readCString(env.space, fmt, n, `${helper} fmt`);
  if (n === 0 || raw.length >= n) return neg(EINVAL);
  let out;
  try {
    out = bpfFormat(env.space, new TextDecoder().decode(raw), args, helper, MAX_BPRINTF_BUF);
  } catch (e) {
    if (e instanceof FormatError) return neg(EINVAL);
    throw e;
  }
  const line = out.text.length >= MAX_BPRINTF_BUF ? out.text.slice(0, MAX_BPRINTF_BUF - 1) : out.text;
  env.trace(line.endsWith("\n") ? line.slice(0, -1) : line);
  return BigInt(out.length);
}

const helperNames = new Map(HELPER_IDS.map((h) => [h.id, h.name]));

/**
 * The helper table for one runtime. With `env.allowed` (or else `env.progType`) only
 * the helpers that program type may call are callable; the other implemented ones
 * fault with the verifier's complaint instead of running.
 */
export function kernelHelpers(env: HelperEnv): HelperDef[] {
  const allowed = env.allowed ?? (env.progType !== undefined ? kernelHelperIds(env.progType) : undefined);
  return Object.entries(IMPLS).map(([idText, [name, impl]]): HelperDef => {
    const id = Number(idText);
    if (allowed !== undefined && !allowed.has(id)) {
      const type = env.progType === undefined ? "this program type" : env.progType;
      return { id, name, fn: () => { throw new HelperArgError(`unknown func ${name}#${id}: ${type} programs may not call it (the kernel's verifier rejects the program)`); } };
    }
    return { id, name, fn: (r1, r2, r3, r4, r5, ctx) => impl(env, [r1, r2, r3, r4, r5], ctx) };
  });
}

/** Ids of every implemented helper, for `tsbpf feature`. */
export const IMPLEMENTED_HELPER_IDS: readonly number[] = Object.keys(IMPLS).map(Number).sort((a, b) => a - b);

/** The implemented helpers a program of this type may call, by id (`tsbpf feature`). */
export function programTypeHelperIds(type: ProgramTypeName): number[] {
  const allowed = kernelHelperIds(type);
  return IMPLEMENTED_HELPER_IDS.filter((id) => allowed.has(id));
}

/** For every program type with a helper table: the implemented helpers it may call, as [id, name]. */
export function helpersByProgramType(): Map<ProgramTypeName, Array<{ id: number; name: string }>> {
  const out = new Map<ProgramTypeName, Array<{ id: number; name: string }>>();
  for (const type of HELPER_TABLE_PROG_TYPES) out.set(type, programTypeHelperIds(type).map((id) => ({ id, name: helperNames.get(id) ?? `#${id}` })));
  return out;
}
