/**
 * Map vocabulary shared by every map family: the kernel's map type names and ids
 * (enum bpf_map_type in include/uapi/linux/bpf.h), the BPF_MAP_CREATE and
 * BPF_MAP_UPDATE_ELEM flags, the errno values map operations return, the map
 * description (MapSpec) and the environment a runtime gives its maps (MapEnv).
 *
 * Ids are explicit fields, never positions: enum bpf_map_type has been appended to
 * for a decade, and a table ordered for reading must not renumber it.
 */
import { TsbpfError } from "../errors/index.js";
import type { AddressSpace } from "../vm/index.js";

/** Kernel map type names. */
export type MapTypeName =
  | "BPF_MAP_TYPE_UNSPEC"
  | "BPF_MAP_TYPE_HASH"
  | "BPF_MAP_TYPE_ARRAY"
  | "BPF_MAP_TYPE_PROG_ARRAY"
  | "BPF_MAP_TYPE_PERF_EVENT_ARRAY"
  | "BPF_MAP_TYPE_PERCPU_HASH"
  | "BPF_MAP_TYPE_PERCPU_ARRAY"
  | "BPF_MAP_TYPE_STACK_TRACE"
  | "BPF_MAP_TYPE_CGROUP_ARRAY"
  | "BPF_MAP_TYPE_LRU_HASH"
  | "BPF_MAP_TYPE_LRU_PERCPU_HASH"
  | "BPF_MAP_TYPE_LPM_TRIE"
  | "BPF_MAP_TYPE_ARRAY_OF_MAPS"
  | "BPF_MAP_TYPE_HASH_OF_MAPS"
  | "BPF_MAP_TYPE_DEVMAP"
  | "BPF_MAP_TYPE_SOCKMAP"
  | "BPF_MAP_TYPE_CPUMAP"
  | "BPF_MAP_TYPE_XSKMAP"
  | "BPF_MAP_TYPE_SOCKHASH"
  | "BPF_MAP_TYPE_CGROUP_STORAGE"
  | "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY"
  | "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE"
  | "BPF_MAP_TYPE_QUEUE"
  | "BPF_MAP_TYPE_STACK"
  | "BPF_MAP_TYPE_SK_STORAGE"
  | "BPF_MAP_TYPE_DEVMAP_HASH"
  | "BPF_MAP_TYPE_STRUCT_OPS"
  | "BPF_MAP_TYPE_RINGBUF"
  | "BPF_MAP_TYPE_INODE_STORAGE"
  | "BPF_MAP_TYPE_TASK_STORAGE"
  | "BPF_MAP_TYPE_BLOOM_FILTER"
  | "BPF_MAP_TYPE_USER_RINGBUF"
  | "BPF_MAP_TYPE_CGRP_STORAGE"
  | "BPF_MAP_TYPE_ARENA";

export interface MapTypeInfo {
  readonly name: MapTypeName;
  /** enum bpf_map_type value. */
  readonly id: number;
  /** Implemented by tsbpf (createMap accepts it). */
  readonly supported: boolean;
  /** Kernel version that introduced the type. */
  readonly since: string;
}

const T = (name: MapTypeName, id: number, since: string, supported: boolean): MapTypeInfo => ({ name, id, since, supported });

/** Every kernel map type, with its enum bpf_map_type id. */
export const MAP_TYPES: readonly MapTypeInfo[] = [
  T("BPF_MAP_TYPE_UNSPEC", 0, "3.19", false),
  T("BPF_MAP_TYPE_HASH", 1, "3.19", true),
  T("BPF_MAP_TYPE_ARRAY", 2, "3.19", true),
  T("BPF_MAP_TYPE_PROG_ARRAY", 3, "4.2", true),
  T("BPF_MAP_TYPE_PERF_EVENT_ARRAY", 4, "4.3", true),
  T("BPF_MAP_TYPE_PERCPU_HASH", 5, "4.6", true),
  T("BPF_MAP_TYPE_PERCPU_ARRAY", 6, "4.6", true),
  T("BPF_MAP_TYPE_STACK_TRACE", 7, "4.6", false),
  T("BPF_MAP_TYPE_CGROUP_ARRAY", 8, "4.8", false),
  T("BPF_MAP_TYPE_LRU_HASH", 9, "4.10", true),
  T("BPF_MAP_TYPE_LRU_PERCPU_HASH", 10, "4.10", true),
  T("BPF_MAP_TYPE_LPM_TRIE", 11, "4.11", true),
  T("BPF_MAP_TYPE_ARRAY_OF_MAPS", 12, "4.12", true),
  T("BPF_MAP_TYPE_HASH_OF_MAPS", 13, "4.12", true),
  T("BPF_MAP_TYPE_DEVMAP", 14, "4.14", true),
  T("BPF_MAP_TYPE_SOCKMAP", 15, "4.14", false),
  T("BPF_MAP_TYPE_CPUMAP", 16, "4.15", true),
  T("BPF_MAP_TYPE_XSKMAP", 17, "4.18", false),
  T("BPF_MAP_TYPE_SOCKHASH", 18, "4.18", false),
  T("BPF_MAP_TYPE_CGROUP_STORAGE", 19, "4.19", false),
  T("BPF_MAP_TYPE_REUSEPORT_SOCKARRAY", 20, "4.19", false),
  T("BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE", 21, "4.20", false),
  T("BPF_MAP_TYPE_QUEUE", 22, "4.20", true),
  T("BPF_MAP_TYPE_STACK", 23, "4.20", true),
  T("BPF_MAP_TYPE_SK_STORAGE", 24, "5.2", false),
  T("BPF_MAP_TYPE_DEVMAP_HASH", 25, "5.4", true),
  T("BPF_MAP_TYPE_STRUCT_OPS", 26, "5.6", false),
  T("BPF_MAP_TYPE_RINGBUF", 27, "5.8", true),
  T("BPF_MAP_TYPE_INODE_STORAGE", 28, "5.10", false),
  T("BPF_MAP_TYPE_TASK_STORAGE", 29, "5.11", false),
  T("BPF_MAP_TYPE_BLOOM_FILTER", 30, "5.16", true),
  T("BPF_MAP_TYPE_USER_RINGBUF", 31, "6.1", false),
  T("BPF_MAP_TYPE_CGRP_STORAGE", 32, "6.2", false),
  T("BPF_MAP_TYPE_ARENA", 33, "6.9", false),
];

const byName = new Map(MAP_TYPES.map((t) => [t.name, t] as const));
const byId = new Map(MAP_TYPES.map((t) => [t.id, t] as const));

export function mapTypeInfo(name: MapTypeName): MapTypeInfo {
  const t = byName.get(name);
  if (t === undefined) throw new RangeError(`unknown map type ${String(name)}`);
  return t;
}
export const mapTypeId = (name: MapTypeName): number => mapTypeInfo(name).id;
export const mapTypeById = (id: number): MapTypeInfo | undefined => byId.get(id);
/** Accepts "BPF_MAP_TYPE_HASH", "hash" or "lru_percpu_hash" (bpftool's spelling). */
export function parseMapType(s: string): MapTypeName | undefined {
  const up = s.toUpperCase();
  const name = (up.startsWith("BPF_MAP_TYPE_") ? up : `BPF_MAP_TYPE_${up}`) as MapTypeName;
  return byName.has(name) ? name : undefined;
}
/** bpftool's short name: "lru_percpu_hash". */
export const shortMapTypeName = (name: MapTypeName): string => name.slice("BPF_MAP_TYPE_".length).toLowerCase();

// ---- flags ---------------------------------------------------------------------------

/** BPF_MAP_UPDATE_ELEM / bpf_map_update_elem() flags. */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;
export const BPF_F_LOCK = 4;

/** BPF_MAP_CREATE map_flags. */
export const BPF_F_NO_PREALLOC = 1 << 0;
export const BPF_F_NO_COMMON_LRU = 1 << 1;
export const BPF_F_NUMA_NODE = 1 << 2;
export const BPF_F_RDONLY = 1 << 3;
export const BPF_F_WRONLY = 1 << 4;
export const BPF_F_STACK_BUILD_ID = 1 << 5;
export const BPF_F_ZERO_SEED = 1 << 6;
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_WRONLY_PROG = 1 << 8;
export const BPF_F_CLONE = 1 << 9;
export const BPF_F_MMAPABLE = 1 << 10;
export const BPF_F_PRESERVE_ELEMS = 1 << 11;
export const BPF_F_INNER_MAP = 1 << 12;
/** BPF_F_ACCESS_MASK in include/linux/bpf.h. */
export const BPF_F_ACCESS_MASK = BPF_F_RDONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY | BPF_F_WRONLY_PROG;

/** bpf_perf_event_output() / bpf_ringbuf_*() flags. */
export const BPF_F_INDEX_MASK = 0xffffffff;
export const BPF_F_CURRENT_CPU = BPF_F_INDEX_MASK;
export const BPF_RB_NO_WAKEUP = 1 << 0;
export const BPF_RB_FORCE_WAKEUP = 1 << 1;
/** bpf_ringbuf_query() flags. */
export const BPF_RB_AVAIL_DATA = 0;
export const BPF_RB_RING_SIZE = 1;
export const BPF_RB_CONS_POS = 2;
export const BPF_RB_PROD_POS = 3;
/** Ring buffer record header (struct bpf_ringbuf_hdr). */
export const BPF_RINGBUF_BUSY_BIT = 0x80000000;
export const BPF_RINGBUF_DISCARD_BIT = 0x40000000;
export const BPF_RINGBUF_HDR_SZ = 8;

export const PAGE_SIZE = 4096;

// ---- errno ---------------------------------------------------------------------------

export const EPERM = 1;
export const ENOENT = 2;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ELOOP = 40;
export const EOVERFLOW = 75;
export const EOPNOTSUPP = 95;
/** Kernel-internal ENOTSUPP (524), which bpf() leaks to user space ("Unknown error 524"). */
export const ENOTSUPP = 524;

const ERRNO_NAMES: Record<number, [string, string]> = {
  [EPERM]: ["EPERM", "Operation not permitted"],
  [ENOENT]: ["ENOENT", "No such file or directory"],
  [E2BIG]: ["E2BIG", "Argument list too long"],
  [EBADF]: ["EBADF", "Bad file descriptor"],
  [EAGAIN]: ["EAGAIN", "Resource temporarily unavailable"],
  [ENOMEM]: ["ENOMEM", "Cannot allocate memory"],
  [EFAULT]: ["EFAULT", "Bad address"],
  [EBUSY]: ["EBUSY", "Device or resource busy"],
  [EEXIST]: ["EEXIST", "File exists"],
  [ENODEV]: ["ENODEV", "No such device"],
  [EINVAL]: ["EINVAL", "Invalid argument"],
  [ENOSPC]: ["ENOSPC", "No space left on device"],
  [ELOOP]: ["ELOOP", "Too many levels of symbolic links"],
  [EOVERFLOW]: ["EOVERFLOW", "Value too large for defined data type"],
  [EOPNOTSUPP]: ["EOPNOTSUPP", "Operation not supported"],
  [ENOTSUPP]: ["ENOTSUPP", "Unknown error 524"],
};

export const errnoName = (errno: number): string => ERRNO_NAMES[errno]?.[0] ?? `E${errno}`;
/** The C library's message for errno, as bpftool prints it. */
export const strerror = (errno: number): string => ERRNO_NAMES[errno]?.[1] ?? `Unknown error ${errno}`;

// ---- spec and environment ------------------------------------------------------------

/** What BPF_MAP_CREATE receives: a map's description, before it exists. */
export interface MapSpec {
  /** Map name; the kernel keeps the first 15 characters (BPF_OBJ_NAME_LEN - 1). */
  name: string;
  type: MapTypeName;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_F_* creation flags. */
  flags: number;
  /** map_extra: the number of hash functions for BPF_MAP_TYPE_BLOOM_FILTER (low 4 bits). */
  mapExtra?: number;
  /** Template of the inner maps of ARRAY_OF_MAPS / HASH_OF_MAPS (the kernel's inner_map_fd). */
  innerMap?: MapSpec;
  /** Byte offset of a `struct bpf_spin_lock` (4 bytes) in the value, from BTF; enables BPF_F_LOCK. */
  spinLockOffset?: number;
}

/** What a runtime gives its maps. */
export interface MapEnv {
  space: AddressSpace;
  /** Number of possible CPUs (num_possible_cpus()). */
  numCpus: number;
  /** The CPU the current program (or syscall) runs on. */
  currentCpu(): number;
}

/** A failed map operation or map creation, with the kernel's errno. */
export class MapError extends TsbpfError {
  readonly errno: number;
  /** "update", "lookup", "create", ... */
  readonly op: string;
  readonly map: string;
  constructor(op: string, map: string, errno: number, detail?: string) {
    super("EMAP", `${op} map ${map}: ${errnoName(errno)} (${strerror(errno)})${detail === undefined ? "" : `: ${detail}`}`);
    this.errno = errno;
    this.op = op;
    this.map = map;
  }
  get errnoName(): string {
    return errnoName(this.errno);
  }
}

export const roundUp8 = (n: number): number => (n + 7) & ~7;
export const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
/** roundup_pow_of_two() for 1 <= n <= 2^31. */
export function roundUpPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
