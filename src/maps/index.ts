/**
 * Maps: the kernel's BPF map families with their storage preallocated in the runtime's
 * address space (DESIGN.md §3), kernel numbering, semantics and errno.
 *
 * Each map has a kernel side for helpers and engines (addresses in, value addresses or
 * 0 / -errno out) and a user-space side with bytes, as bpf(2) gives it to bpftool and
 * libbpf (lookup, update, delete, get_next_key, lookup_and_delete, batches, freeze).
 * test/maps/kernel-diff.test.ts compares both with the running kernel through bpftool.
 *
 * Implemented: ARRAY, PERCPU_ARRAY, HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH,
 * LPM_TRIE, PROG_ARRAY, PERF_EVENT_ARRAY, RINGBUF, QUEUE, STACK, BLOOM_FILTER,
 * ARRAY_OF_MAPS, HASH_OF_MAPS, DEVMAP, DEVMAP_HASH, CPUMAP.
 *
 * Left out, or different from the kernel:
 *  - the other map types (STACK_TRACE, CGROUP_ARRAY, SOCKMAP/SOCKHASH, XSKMAP,
 *    *_STORAGE, STRUCT_OPS, USER_RINGBUF, ARENA): createMap() gives -EINVAL;
 *  - hash maps default to hash seed 0 (the kernel draws a random one unless
 *    BPF_F_ZERO_SEED), so iteration order is reproducible; `hashSeed` changes it;
 *  - BPF_F_NO_PREALLOC maps are preallocated too (same errno, same order);
 *  - concurrency is not modelled: no bucket-lock -EBUSY, no RCU grace periods (an
 *    element deleted while a program holds its pointer is reused on the next insert);
 *  - special value fields other than bpf_spin_lock (timers, kptrs, workqueues);
 *  - program ids, map ids and perf buffer ids stand in for fds in values;
 *  - perf buffers are modelled for PERF_COUNT_SW_BPF_OUTPUT events with
 *    wakeup_events = 1 (what libbpf's perf_buffer opens).
 */
export * from "./types.js";
export * from "./base.js";
export * from "./create.js";
export * from "./registry.js";
export { validateSpec, metaEqual, effectiveFlags, KMALLOC_MAX_SIZE, PCPU_MIN_UNIT_SIZE } from "./validate.js";
export { ArrayMap } from "./array.js";
export { HashMap } from "./hash.js";
export { BpfLru } from "./lru.js";
export { LpmTrieMap, lpmKey, ipv4LpmKey, LPM_NODE_CHILD0, LPM_NODE_CHILD1, LPM_NODE_DATA, LPM_NODE_FLAGS, LPM_NODE_PREFIXLEN, LPM_NODE_VALUE, type LpmLayout } from "./lpm-trie.js";
export { ProgArrayMap, ArrayOfMapsMap } from "./fd-array.js";
export { PerfEventArrayMap, PerfBuffer, PerfReader, PERF_RECORD_LOST, PERF_RECORD_SAMPLE, type PerfRecord } from "./perf-event-array.js";
export { RingBufMap, type RecordsOptions } from "./ringbuf.js";
export { QueueStackMap } from "./queue-stack.js";
export { BloomFilterMap } from "./bloom.js";
export { DevMap, DevMapHash, CpuMap, type DevmapEntry, type CpumapEntry } from "./devmap.js";
export { jhash, jhash2, jhash2w, htabHash } from "./jhash.js";
