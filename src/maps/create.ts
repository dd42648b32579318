/**
 * createMap(): BPF_MAP_CREATE. Validates the spec as the kernel does (validate.ts),
 * then builds the family's map with its storage preallocated in the address space.
 */
import { ArrayMap } from "./array.js";
import type { BpfMap, CreateMapOptions } from "./base.js";
import { BloomFilterMap } from "./bloom.js";
import { CpuMap, DevMap, DevMapHash } from "./devmap.js";
import { ArrayOfMapsMap, ProgArrayMap } from "./fd-array.js";
import { HashMap } from "./hash.js";
import { LpmTrieMap } from "./lpm-trie.js";
import { PerfEventArrayMap } from "./perf-event-array.js";
import { QueueStackMap } from "./queue-stack.js";
import { RingBufMap } from "./ringbuf.js";
import { EINVAL, MapError, type MapEnv, type MapSpec } from "./types.js";
import { validateSpec } from "./validate.js";

export function createMap(spec: MapSpec, env: MapEnv, opts: CreateMapOptions = {}): BpfMap {
  validateSpec(spec, opts.nrCpus === undefined ? {} : { nrCpus: opts.nrCpus });
  switch (spec.type) {
    case "BPF_MAP_TYPE_ARRAY":
    case "BPF_MAP_TYPE_PERCPU_ARRAY":
      return new ArrayMap(spec, env, opts);
    case "BPF_MAP_TYPE_HASH":
    case "BPF_MAP_TYPE_PERCPU_HASH":
    case "BPF_MAP_TYPE_LRU_HASH":
    case "BPF_MAP_TYPE_LRU_PERCPU_HASH":
    case "BPF_MAP_TYPE_HASH_OF_MAPS":
      return new HashMap(spec, env, opts);
    case "BPF_MAP_TYPE_LPM_TRIE":
      return new LpmTrieMap(spec, env, opts);
    case "BPF_MAP_TYPE_PROG_ARRAY":
      return new ProgArrayMap(spec, env, opts);
    case "BPF_MAP_TYPE_ARRAY_OF_MAPS":
      return new ArrayOfMapsMap(spec, env, opts);
    case "BPF_MAP_TYPE_PERF_EVENT_ARRAY":
      return new PerfEventArrayMap(spec, env, opts);
    case "BPF_MAP_TYPE_RINGBUF":
      return new RingBufMap(spec, env, opts);
    case "BPF_MAP_TYPE_QUEUE":
    case "BPF_MAP_TYPE_STACK":
      return new QueueStackMap(spec, env, opts);
    case "BPF_MAP_TYPE_BLOOM_FILTER":
      return new BloomFilterMap(spec, env, opts);
    case "BPF_MAP_TYPE_DEVMAP":
      return new DevMap(spec, env, opts);
    case "BPF_MAP_TYPE_DEVMAP_HASH":
      return new DevMapHash(spec, env, opts);
    case "BPF_MAP_TYPE_CPUMAP":
      return new CpuMap(spec, env, opts);
    default:
      throw new MapError("create", spec.name, EINVAL, `${spec.type} is not implemented by tsbpf`);
  }
}
