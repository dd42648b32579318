/**
 * Loads through a map pointer (CONST_PTR_TO_MAP): check_ptr_to_map_access() in
 * kernel/bpf/verifier.c. The kernel types the map as the struct its map_btf_id
 * names in vmlinux BTF (struct bpf_array for the array family, struct bpf_htab
 * for hashes, ...), lets only CAP_PERFMON programs read it, and walks the struct as
 * btf_struct_access() does: reads inside an integer member (or array of them) give
 * a scalar, holes are "doesn't have field at offset".
 *
 * The layouts are those of Linux 6.18's x86-64 vmlinux BTF (struct bpf_map starts
 * with u8 sha[32]). The runtime's map header (src/maps/base.ts) is that long and
 * keeps map_type, key_size, value_size, max_entries, map_extra, map_flags, id,
 * numa_node, name, and for arrays elem_size and index_mask, at these offsets.
 *
 * Left out: pointer members give the kernel a PTR_TO_BTF_ID to walk further; tsbpf
 * has no kernel objects behind them and refuses such loads; for map types other
 * than the array family only the struct bpf_map part is modelled.
 */
import type { MapTypeName } from "../maps/index.js";
import { EACCES, EINVAL, EPERM, type Env } from "./env.js";
import type { Reg } from "./state.js";

interface Member {
  readonly name: string;
  readonly off: number;
  readonly size: number;
  /** int: an integer, an array of them or a struct read as plain bytes; ptr: a pointer. */
  readonly kind: "int" | "ptr";
}

const m = (name: string, off: number, size: number, kind: Member["kind"] = "int"): Member => ({ name, off, size, kind });

/** struct bpf_map (296 bytes). */
const BPF_MAP: readonly Member[] = [
  m("sha", 0, 32), m("excl", 32, 4), m("ops", 40, 8, "ptr"), m("inner_map_meta", 48, 8, "ptr"), m("security", 56, 8, "ptr"),
  m("map_type", 64, 4), m("key_size", 68, 4), m("value_size", 72, 4), m("max_entries", 76, 4), m("map_extra", 80, 8),
  m("map_flags", 88, 4), m("id", 92, 4), m("record", 96, 8, "ptr"), m("numa_node", 104, 4), m("btf_key_type_id", 108, 4),
  m("btf_value_type_id", 112, 4), m("btf_vmlinux_value_type_id", 116, 4), m("btf", 120, 8, "ptr"), m("objcg", 128, 8, "ptr"),
  m("name", 136, 16), m("freeze_mutex", 152, 32), m("refcnt", 184, 8), m("usercnt", 192, 8), m("(anon)", 200, 32),
  m("writecnt", 232, 8), m("owner_lock", 240, 4), m("owner", 248, 8, "ptr"), m("bypass_spec_v1", 256, 1), m("frozen", 257, 1),
  m("init_private", 258, 1), m("free_after_mult_rcu_gp", 259, 1), m("free_after_rcu_gp", 260, 1), m("sleepable_refcnt", 264, 8),
  m("elem_count", 272, 8, "ptr"), m("cookie", 280, 8), m("excl_prog_sha", 288, 8, "ptr"),
];
export const BPF_MAP_SIZE = 296;
/** struct bpf_array: the bpf_map, then elem_size, index_mask, aux and the (zero-sized) values. */
export const BPF_ARRAY_SIZE = 312;
const BPF_ARRAY_TAIL: readonly Member[] = [m("elem_size", 296, 4), m("index_mask", 300, 4), m("aux", 304, 8, "ptr")];

/** The struct a map type's map_btf_id names (the unprivileged message prints it). */
export function mapBtfStructName(type: MapTypeName): string {
  switch (type) {
    case "BPF_MAP_TYPE_ARRAY": case "BPF_MAP_TYPE_PERCPU_ARRAY": case "BPF_MAP_TYPE_PROG_ARRAY": case "BPF_MAP_TYPE_PERF_EVENT_ARRAY":
    case "BPF_MAP_TYPE_CGROUP_ARRAY": case "BPF_MAP_TYPE_ARRAY_OF_MAPS":
      return "bpf_array";
    case "BPF_MAP_TYPE_HASH": case "BPF_MAP_TYPE_PERCPU_HASH": case "BPF_MAP_TYPE_LRU_HASH": case "BPF_MAP_TYPE_LRU_PERCPU_HASH":
    case "BPF_MAP_TYPE_HASH_OF_MAPS":
      return "bpf_htab";
    case "BPF_MAP_TYPE_LPM_TRIE": return "lpm_trie";
    case "BPF_MAP_TYPE_RINGBUF": case "BPF_MAP_TYPE_USER_RINGBUF": return "bpf_ringbuf_map";
    case "BPF_MAP_TYPE_QUEUE": case "BPF_MAP_TYPE_STACK": return "bpf_queue_stack";
    case "BPF_MAP_TYPE_BLOOM_FILTER": return "bpf_bloom_filter";
    case "BPF_MAP_TYPE_DEVMAP": case "BPF_MAP_TYPE_DEVMAP_HASH": return "bpf_dtab";
    case "BPF_MAP_TYPE_CPUMAP": return "bpf_cpu_map";
    case "BPF_MAP_TYPE_XSKMAP": return "xsk_map";
    case "BPF_MAP_TYPE_SOCKMAP": return "bpf_stab";
    case "BPF_MAP_TYPE_SOCKHASH": return "bpf_shtab";
    case "BPF_MAP_TYPE_STACK_TRACE": return "bpf_stack_map";
    case "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY": return "reuseport_array";
    case "BPF_MAP_TYPE_SK_STORAGE": case "BPF_MAP_TYPE_INODE_STORAGE": case "BPF_MAP_TYPE_TASK_STORAGE": case "BPF_MAP_TYPE_CGRP_STORAGE":
      return "bpf_local_storage_map";
    default: return "bpf_map";
  }
}

/**
 * btf_struct_walk() over struct bpf_map: the member holding [off, off+size), or the
 * kernel's message.
 */
function walkBpfMap(env: Env, off: number, size: number): void {
  for (const x of BPF_MAP) {
    if (off + size <= x.off) break;
    const end = x.off + x.size;
    if (off >= end) continue;
    if (off < x.off) break;
    if (x.kind === "ptr") {
      if (off !== x.off || size !== x.size) {
        env.fail(`cannot access ptr member ${x.name} with moff ${x.off} in struct bpf_map with off ${off} size ${size}`, EACCES);
      }
      env.fail(`struct bpf_map.${x.name} is a kernel pointer (PTR_TO_BTF_ID), which tsbpf does not model`, EACCES);
    }
    if (off + size > end) env.fail(`access beyond the end of member ${x.name} (mend:${end}) in struct bpf_map with off ${off} size ${size}`, EACCES);
    return;
  }
  env.fail(`struct bpf_map doesn't have field at offset ${off}`, EINVAL);
}

/** check_ptr_to_map_access(): a load of `size` bytes at `off` (reg->off included) through map pointer `r`. */
export function ptrToMapAccess(env: Env, regno: number, r: Reg, off: number, size: number, write: boolean): void {
  const type = r.map!.spec.type;
  const tname = mapBtfStructName(type);
  if (!env.privileged) env.fail(`'struct ${tname}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN`, EPERM);
  if (off < 0) env.fail(`R${regno} is ${tname} invalid negative access: off=${off}`, EACCES);
  if (write) env.fail(`only read from ${tname} is supported`, EACCES);
  if (tname !== "bpf_array") {
    if (off + size > BPF_MAP_SIZE) env.fail(`tsbpf models only the struct bpf_map part of struct ${tname}: off ${off} size ${size}`, EACCES);
    walkBpfMap(env, off, size);
    return;
  }
  if (off + size > BPF_ARRAY_SIZE) env.fail(`access beyond struct bpf_array at off ${off} size ${size}`, EACCES);
  // The first member, map, covers [0, 296): the walk descends into it.
  if (off < BPF_MAP_SIZE) {
    if (off + size > BPF_MAP_SIZE) env.fail(`access beyond the end of member map (mend:${BPF_MAP_SIZE}) in struct bpf_array with off ${off} size ${size}`, EACCES);
    walkBpfMap(env, off, size);
    return;
  }
  for (const x of BPF_ARRAY_TAIL) {
    const end = x.off + x.size;
    if (off >= end || off < x.off) continue;
    if (x.kind === "ptr") {
      if (off !== x.off || size !== x.size) {
        env.fail(`cannot access ptr member ${x.name} with moff ${x.off} in struct bpf_array with off ${off} size ${size}`, EACCES);
      }
      env.fail(`struct bpf_array.${x.name} is a kernel pointer (PTR_TO_BTF_ID), which tsbpf does not model`, EACCES);
    }
    if (off + size > end) env.fail(`access beyond the end of member ${x.name} (mend:${end}) in struct bpf_array with off ${off} size ${size}`, EACCES);
    return;
  }
  env.fail(`struct bpf_array doesn't have field at offset ${off}`, EINVAL);
}
