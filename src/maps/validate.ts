/**
 * The checks BPF_MAP_CREATE makes before a map exists: map_create() in
 * kernel/bpf/syscall.c, then the type's map_alloc_check() / map_alloc() sanity checks
 * (htab_map_alloc_check(), array_map_alloc_check(), fd_array_map_alloc_check(),
 * trie_alloc(), queue_stack_map_alloc_check(), bloom_map_alloc(), ringbuf_map_alloc(),
 * dev_map_init_map(), cpu_map_alloc()), in the kernel's order and with its errno.
 * A failure throws MapError naming the map and the rule.
 */
import type { BpfMap } from "./base.js";
import {
  BPF_F_ACCESS_MASK,
  BPF_F_INNER_MAP,
  BPF_F_MMAPABLE,
  BPF_F_NO_COMMON_LRU,
  BPF_F_NO_PREALLOC,
  BPF_F_NUMA_NODE,
  BPF_F_PRESERVE_ELEMS,
  BPF_F_RDONLY,
  BPF_F_RDONLY_PROG,
  BPF_F_WRONLY,
  BPF_F_WRONLY_PROG,
  BPF_F_ZERO_SEED,
  E2BIG,
  EBADF,
  EINVAL,
  EOPNOTSUPP,
  ENOTSUPP,
  MapError,
  PAGE_SIZE,
  isPowerOfTwo,
  mapTypeInfo,
  roundUp8,
  shortMapTypeName,
  type MapSpec,
  type MapTypeName,
} from "./types.js";

/** KMALLOC_MAX_SIZE on x86-64 (MAX_PAGE_ORDER 10, 4 KiB pages). */
export const KMALLOC_MAX_SIZE = 1 << 22;
/** PCPU_MIN_UNIT_SIZE: the largest per-CPU value. */
export const PCPU_MIN_UNIT_SIZE = 32 << 10;
const INT_MAX = 0x7fffffff;
/** sizeof(struct htab_elem) on 64-bit. */
const HTAB_ELEM_SIZE = 48;
const LPM_DATA_SIZE_MAX = 256;
const LPM_KEY_SIZE_MIN = 4 + 1;
const LPM_KEY_SIZE_MAX = 4 + LPM_DATA_SIZE_MAX;
/** LPM_VAL_SIZE_MAX: KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - sizeof(struct lpm_trie_node). */
const LPM_VAL_SIZE_MAX = KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - 40;

const HTAB_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK | BPF_F_ZERO_SEED;
const ARRAY_FLAGS = BPF_F_NUMA_NODE | BPF_F_MMAPABLE | BPF_F_ACCESS_MASK | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;
const LPM_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK;
const QUEUE_STACK_FLAGS = BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK;
const BLOOM_FLAGS = BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | BPF_F_ACCESS_MASK;
const DEV_FLAGS = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;

export interface ValidateOptions {
  /** CONFIG_NR_CPUS (CPUMAP max_entries bound); default 8192. */
  nrCpus?: number;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** bpf_map_flags_access_ok(): not both BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG. */
const accessOk = (flags: number): boolean => (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) !== (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);

/** Throws MapError(errno) when BPF_MAP_CREATE would refuse `spec`. */
export function validateSpec(spec: MapSpec, opts: ValidateOptions = {}, inner = false): void {
  const what = inner ? `${spec.name} (inner map)` : spec.name;
  const fail = (errno: number, rule: string): never => {
    throw new MapError("create", what, errno, rule);
  };
  let info;
  try {
    info = mapTypeInfo(spec.type);
  } catch {
    return fail(EINVAL, `unknown map type ${String(spec.type)}`);
  }
  if (!info.supported) fail(EINVAL, `${spec.type} is not implemented by tsbpf`);
  const u32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  if (!u32(spec.keySize) || !u32(spec.valueSize) || !u32(spec.maxEntries) || !u32(spec.flags)) {
    fail(EINVAL, "key_size, value_size, max_entries and map_flags must be 32-bit unsigned integers");
  }
  // map_create()
  const extra = spec.mapExtra ?? 0;
  if (extra !== 0 && spec.type !== "BPF_MAP_TYPE_BLOOM_FILTER") fail(EINVAL, "map_extra is only for BPF_MAP_TYPE_BLOOM_FILTER");
  if ((spec.flags & BPF_F_RDONLY) !== 0 && (spec.flags & BPF_F_WRONLY) !== 0) fail(EINVAL, "BPF_F_RDONLY and BPF_F_WRONLY together");
  if (!/^[A-Za-z0-9_.]*$/.test(spec.name)) fail(EINVAL, `map name "${spec.name}" has characters other than letters, digits, '_' and '.'`);
  checkType(spec, fail, opts);
  if (spec.type === "BPF_MAP_TYPE_ARRAY_OF_MAPS" || spec.type === "BPF_MAP_TYPE_HASH_OF_MAPS") {
    const im = spec.innerMap;
    if (im === undefined) return fail(EBADF, "map-in-map needs an inner map (inner_map_fd)");
    if (im.type === "BPF_MAP_TYPE_ARRAY_OF_MAPS" || im.type === "BPF_MAP_TYPE_HASH_OF_MAPS") fail(EINVAL, "inner map cannot itself be a map-in-map");
    validateSpec(im, opts, true);
  } else if (spec.innerMap !== undefined) {
    fail(EINVAL, "only map-in-map types take an inner map");
  }
  if (spec.spinLockOffset !== undefined) {
    const off = spec.spinLockOffset;
    if (spec.type !== "BPF_MAP_TYPE_HASH" && spec.type !== "BPF_MAP_TYPE_ARRAY") fail(EOPNOTSUPP, `bpf_spin_lock is not allowed in ${spec.type} values`);
    if (!Number.isInteger(off) || off < 0 || off % 4 !== 0 || off + 4 > spec.valueSize) fail(EINVAL, `bpf_spin_lock at offset ${off} does not fit a ${spec.valueSize}-byte value`);
  }
}

function checkType(spec: MapSpec, fail: (errno: number, rule: string) => never, opts: ValidateOptions): void {
  const { keySize: ks, valueSize: vs, maxEntries: max, flags } = spec;
  const type: MapTypeName = spec.type;
  const t = shortMapTypeName(type);
  const flagRule = (mask: number): void => {
    if ((flags & ~mask) !== 0) fail(EINVAL, `map_flags ${hex(flags)} has bits outside ${hex(mask)} allowed for ${t}`);
  };
  const access = (): void => {
    if (!accessOk(flags)) fail(EINVAL, "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together");
  };
  switch (type) {
    case "BPF_MAP_TYPE_HASH":
    case "BPF_MAP_TYPE_PERCPU_HASH":
    case "BPF_MAP_TYPE_LRU_HASH":
    case "BPF_MAP_TYPE_LRU_PERCPU_HASH":
    case "BPF_MAP_TYPE_HASH_OF_MAPS": {
      if (type === "BPF_MAP_TYPE_HASH_OF_MAPS" && vs !== 4) fail(EINVAL, `${t} value_size must be 4 (a map id), got ${vs}`);
      const percpu = type === "BPF_MAP_TYPE_PERCPU_HASH" || type === "BPF_MAP_TYPE_LRU_PERCPU_HASH";
      const lru = type === "BPF_MAP_TYPE_LRU_HASH" || type === "BPF_MAP_TYPE_LRU_PERCPU_HASH";
      flagRule(HTAB_FLAGS);
      access();
      if (!lru && (flags & BPF_F_NO_COMMON_LRU) !== 0) fail(EINVAL, "BPF_F_NO_COMMON_LRU is only for LRU maps");
      if (lru && (flags & BPF_F_NO_PREALLOC) !== 0) fail(ENOTSUPP, "LRU maps cannot be BPF_F_NO_PREALLOC");
      if ((flags & BPF_F_NUMA_NODE) !== 0 && (percpu || (flags & BPF_F_NO_COMMON_LRU) !== 0)) fail(EINVAL, "BPF_F_NUMA_NODE with a per-CPU map or per-CPU LRU");
      if (max === 0 || ks === 0 || vs === 0) fail(EINVAL, `${t} needs key_size, value_size and max_entries > 0`);
      if (ks + vs >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE) fail(E2BIG, `key_size + value_size ${ks + vs} too large`);
      if (percpu && roundUp8(vs) > PCPU_MIN_UNIT_SIZE) fail(E2BIG, `per-CPU value_size ${vs} > ${PCPU_MIN_UNIT_SIZE}`);
      if (max > 2 ** 31) fail(E2BIG, `max_entries ${max} > 2^31`);
      return;
    }
    case "BPF_MAP_TYPE_PROG_ARRAY":
    case "BPF_MAP_TYPE_PERF_EVENT_ARRAY":
    case "BPF_MAP_TYPE_ARRAY_OF_MAPS":
    case "BPF_MAP_TYPE_ARRAY":
    case "BPF_MAP_TYPE_PERCPU_ARRAY": {
      if (type !== "BPF_MAP_TYPE_ARRAY" && type !== "BPF_MAP_TYPE_PERCPU_ARRAY") {
        // fd_array_map_alloc_check() first
        if (vs !== 4) fail(EINVAL, `${t} value_size must be 4, got ${vs}`);
        if ((flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) !== 0) fail(EINVAL, `${t} cannot be BPF_F_RDONLY_PROG or BPF_F_WRONLY_PROG`);
      }
      if (max === 0 || ks !== 4 || vs === 0) fail(EINVAL, `${t} needs key_size 4 (got ${ks}), value_size > 0 and max_entries > 0`);
      flagRule(ARRAY_FLAGS);
      access();
      if (type !== "BPF_MAP_TYPE_ARRAY" && (flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)) !== 0) fail(EINVAL, "BPF_F_MMAPABLE and BPF_F_INNER_MAP are only for BPF_MAP_TYPE_ARRAY");
      if (type !== "BPF_MAP_TYPE_PERF_EVENT_ARRAY" && (flags & BPF_F_PRESERVE_ELEMS) !== 0) fail(EINVAL, "BPF_F_PRESERVE_ELEMS is only for BPF_MAP_TYPE_PERF_EVENT_ARRAY");
      if (vs > INT_MAX) fail(E2BIG, `value_size ${vs} > INT_MAX`);
      if (type === "BPF_MAP_TYPE_PERCPU_ARRAY" && roundUp8(vs) > PCPU_MIN_UNIT_SIZE) fail(E2BIG, `per-CPU value_size ${vs} > ${PCPU_MIN_UNIT_SIZE}`);
      return;
    }
    case "BPF_MAP_TYPE_LPM_TRIE":
      if (max === 0) fail(EINVAL, "lpm_trie needs max_entries > 0");
      if ((flags & BPF_F_NO_PREALLOC) === 0) fail(EINVAL, "lpm_trie must be created with BPF_F_NO_PREALLOC");
      flagRule(LPM_FLAGS);
      access();
      if (ks < LPM_KEY_SIZE_MIN || ks > LPM_KEY_SIZE_MAX) fail(EINVAL, `lpm_trie key_size must be 4 + 1..${LPM_DATA_SIZE_MAX} (prefixlen + data), got ${ks}`);
      if (vs < 1 || vs > LPM_VAL_SIZE_MAX) fail(EINVAL, `lpm_trie value_size must be 1..${LPM_VAL_SIZE_MAX}, got ${vs}`);
      return;
    case "BPF_MAP_TYPE_QUEUE":
    case "BPF_MAP_TYPE_STACK":
      if (max === 0 || ks !== 0 || vs === 0) fail(EINVAL, `${t} needs key_size 0 (got ${ks}), value_size > 0 and max_entries > 0`);
      flagRule(QUEUE_STACK_FLAGS);
      access();
      if (vs > KMALLOC_MAX_SIZE) fail(E2BIG, `value_size ${vs} > KMALLOC_MAX_SIZE`);
      return;
    case "BPF_MAP_TYPE_BLOOM_FILTER": {
      // bloom_map_alloc_check() runs before bloom_map_alloc()'s sanity checks.
      if (vs > KMALLOC_MAX_SIZE) fail(E2BIG, `value_size ${vs} > KMALLOC_MAX_SIZE`);
      const extra = spec.mapExtra ?? 0;
      if (ks !== 0 || vs === 0 || max === 0) fail(EINVAL, `bloom_filter needs key_size 0 (got ${ks}), value_size > 0 and max_entries > 0`);
      flagRule(BLOOM_FLAGS);
      access();
      if (!Number.isInteger(extra) || extra < 0 || extra > 0xf) fail(EINVAL, `bloom_filter map_extra ${extra}: only the low 4 bits (number of hash functions) may be set`);
      return;
    }
    case "BPF_MAP_TYPE_RINGBUF":
      flagRule(BPF_F_NUMA_NODE);
      if (ks !== 0 || vs !== 0) fail(EINVAL, `ringbuf needs key_size 0 and value_size 0 (got ${ks}, ${vs})`);
      if (!isPowerOfTwo(max) || max % PAGE_SIZE !== 0) fail(EINVAL, `ringbuf max_entries ${max} must be a power of 2 and a multiple of ${PAGE_SIZE}`);
      return;
    case "BPF_MAP_TYPE_DEVMAP":
    case "BPF_MAP_TYPE_DEVMAP_HASH":
      if (max === 0 || ks !== 4 || (vs !== 4 && vs !== 8)) fail(EINVAL, `${t} needs key_size 4 (got ${ks}), value_size 4 or 8 (got ${vs}) and max_entries > 0`);
      flagRule(DEV_FLAGS);
      if (type === "BPF_MAP_TYPE_DEVMAP_HASH" && max > 2 ** 31) fail(EINVAL, `max_entries ${max} > 2^31`);
      return;
    case "BPF_MAP_TYPE_CPUMAP":
      if (max === 0 || ks !== 4 || (vs !== 4 && vs !== 8)) fail(EINVAL, `cpumap needs key_size 4 (got ${ks}), value_size 4 or 8 (got ${vs}) and max_entries > 0`);
      flagRule(BPF_F_NUMA_NODE);
      if (max > (opts.nrCpus ?? 8192)) fail(E2BIG, `cpumap max_entries ${max} > NR_CPUS ${opts.nrCpus ?? 8192}`);
      return;
    default:
      fail(EINVAL, `${type} is not implemented by tsbpf`);
  }
}

/** The map_flags the kernel stores for a spec (dev_map_init_map() adds BPF_F_RDONLY_PROG). */
export function effectiveFlags(spec: Pick<MapSpec, "type" | "flags">): number {
  if (spec.type === "BPF_MAP_TYPE_DEVMAP" || spec.type === "BPF_MAP_TYPE_DEVMAP_HASH") return spec.flags | BPF_F_RDONLY_PROG;
  return spec.flags;
}

/**
 * map_meta_equal(): may `m` be stored in a map-in-map whose inner template is `tmpl`?
 * Same type, key and value size, flags and spin lock; arrays also the same
 * max_entries unless the template has BPF_F_INNER_MAP (array_map_meta_equal()).
 */
export function metaEqual(tmpl: MapSpec, m: BpfMap): boolean {
  if (tmpl.type !== m.type || tmpl.keySize !== m.keySize || tmpl.valueSize !== m.valueSize) return false;
  if (effectiveFlags(tmpl) !== m.flags || tmpl.spinLockOffset !== m.spec.spinLockOffset) return false;
  if (tmpl.type === "BPF_MAP_TYPE_ARRAY" || tmpl.type === "BPF_MAP_TYPE_PERCPU_ARRAY") {
    return (tmpl.flags & BPF_F_INNER_MAP) !== 0 || tmpl.maxEntries === m.maxEntries;
  }
  return true;
}
