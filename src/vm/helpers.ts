/**
 * The helper calling convention shared by every engine. A helper is called by its
 * kernel id (`call 1` = bpf_map_lookup_elem); arguments arrive in r1-r5 as unsigned
 * 64-bit values and the return value goes to r0, as in the kernel's
 * `u64 (*)(u64, u64, u64, u64, u64)`. The helpers themselves (maps, time, printk...)
 * are registered by the runtime; the table here is only the mechanism.
 */
import type { AddressSpace } from "./address-space.js";
import type { PredecodedProgram } from "./program.js";

export interface HelperContext {
  readonly memory: AddressSpace;
  /** Slot index of the `call` instruction. */
  readonly pc: number;
  /**
   * Runs a BPF subprogram given by a PTR_TO_FUNC value (ld_imm64 with BPF_PSEUDO_FUNC)
   * with r1-r5 = args, in a new frame, and returns its r0. Used by bpf_loop-style helpers.
   */
  callFunction(fn: bigint, args: readonly bigint[]): bigint;
  /**
   * bpf_tail_call: after the helper returns, the current frame continues at the start
   * of `target` with the same registers. False when the MAX_TAIL_CALL_CNT limit is hit.
   */
  tailCall(target: PredecodedProgram): boolean;
}

export type HelperFn = (r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint, ctx: HelperContext) => bigint | number;

export interface HelperDef {
  /** Kernel helper id (enum bpf_func_id). */
  readonly id: number;
  /** Kernel name without the bpf_ prefix' ambiguity: e.g. "bpf_map_lookup_elem". */
  readonly name: string;
  readonly fn: HelperFn;
  /**
   * The helper may call ctx.callFunction (bpf_loop, bpf_for_each_map_elem: ids 181 and
   * 164 count as such whatever this says). The JIT's checked mode then hands it the
   * caller's registers, which a callback starts with, as in the interpreter.
   */
  readonly callsBack?: boolean;
}

export type HelperTable = ReadonlyMap<number, HelperDef>;

export function helperTable(defs: Iterable<HelperDef>): HelperTable {
  const m = new Map<number, HelperDef>();
  for (const d of defs) {
    if (m.has(d.id)) throw new Error(`helper id ${d.id} registered twice (${m.get(d.id)!.name}, ${d.name})`);
    m.set(d.id, d);
  }
  return m;
}

/**
 * PTR_TO_FUNC values: the target slot index tagged with bit 32. Such a value is not an
 * address in the 32-bit address space, so a program cannot dereference it, and callx
 * or a helper can tell it from a helper id.
 */
export const FUNC_PTR_TAG_HI = 1;
export const funcPtr = (slot: number): bigint => (BigInt(FUNC_PTR_TAG_HI) << 32n) | BigInt(slot);
