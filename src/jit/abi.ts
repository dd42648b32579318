/**
 * The contract between compiled modules and the JitMachine that runs them: function
 * signatures, imported globals, the scratch area, fault codes and the import list.
 *
 * Function ABIs (eBPF registers are i64 values; fp is the frame's stack top, an i32):
 *
 *   full: (r0 .. r10, fp) -> (r0 .. r5)   checked mode: entry points, tail-call
 *                                         targets and every bpf-to-bpf call, so an
 *                                         unverified callee sees the caller's
 *                                         registers and the caller sees r1-r5 as the
 *                                         callee left them, as in the interpreter
 *   lean: (r1 .. r5, fp) -> r0            verified mode: entry points, tail-call
 *                                         targets and bpf-to-bpf calls: the verifier
 *                                         makes r0 and r6-r9 unreadable on entry
 *                                         (a tail-call target reads only r1) and r1-r5
 *                                         unreadable after a call
 *   chunk: see CHUNK_PARAMS               parts of very large functions
 *
 * Per-run values cross the JS/wasm boundary as wasm globals and parameters, not
 * through memory, so a JIT machine maps exactly what an interpreter Machine maps (its
 * stack) and every address a program sees is the same on both engines.
 */
import { ValType } from "./wasm/opcodes.js";

/** Imported globals, in import order (shared by every instance of one machine). */
export const G_STACK_LO = 0;
export const G_STACK_END = 1;
/** Pending tail call: table index of the target's entry (0 = none), mutable i32. */
export const G_TAIL = 2;
/** Tail calls taken in this run (MAX_TAIL_CALL_CNT applies), mutable i32. */
export const G_TAILCNT = 3;
/** CPU of the run (inlined per-CPU array lookups), mutable i32. */
export const G_CPU = 4;
/** Remaining instruction budget (checked mode, or when counting), mutable i64. */
export const G_REM = 5;
/** The budget each run starts with, mutable i64 (when counting). */
export const G_BUDGET = 6;
/** Number of imported globals. */
export const importedGlobals = (counting: boolean): number => (counting ? 7 : 5);

/** Region cache entries per direction (checked mode): ctx, packet, map values, one more. */
export const CACHE_ENTRIES = 4;

/**
 * Checked mode defines, after the imports: the region caches (CACHE_ENTRIES load
 * entries, then as many store entries, each {start, end} as i64, exported as c0, c1,
 * ...) and r0-r5 of the last run (exported as r0..r5).
 */
export const cacheGlobal = (counting: boolean, write: boolean, entry: number, end: boolean): number =>
  importedGlobals(counting) + (write ? 2 * CACHE_ENTRIES : 0) + entry * 2 + (end ? 1 : 0);
export const resultGlobal = (counting: boolean, reg: number): number => importedGlobals(counting) + 4 * CACHE_ENTRIES + reg;

export const I64 = ValType.I64;
export const I32 = ValType.I32;
export const F64 = ValType.F64;

export const FULL_PARAMS: readonly ValType[] = [...Array<ValType>(11).fill(I64), I32];
export const FULL_RESULTS: readonly ValType[] = Array<ValType>(6).fill(I64);
export const LEAN_PARAMS: readonly ValType[] = [...Array<ValType>(5).fill(I64), I32];
export const LEAN_RESULTS: readonly ValType[] = [I64];

/**
 * chunk: (label, r0 .. r10, fp) -> (label, r0 .. r10)   one part of a function too large
 *   for one wasm function: runs from node `label` until control leaves the part, and
 *   returns the next node (or -1 after exit) with all registers.
 */
export const CHUNK_PARAMS: readonly ValType[] = [I32, ...Array<ValType>(11).fill(I64), I32];
export const CHUNK_RESULTS: readonly ValType[] = [I32, ...Array<ValType>(11).fill(I64)];

export type Abi = "full" | "lean" | "chunk";

/** Fault codes passed to the `fault` import. */
export const enum FaultCode {
  /** arg = block id: the budget ran out inside that block. */
  Budget = 1,
  /** arg = fp of the calling frame. */
  CallDepth = 2,
  /** Jump to or fall-through into slot `pc` (a trap slot). */
  BadJump = 3,
  /** arg = BTF id. */
  Kfunc = 4,
  /** arg = helper id. */
  UnknownHelper = 5,
  /** arg = address. */
  MisalignedAtomic = 6,
  /** arg = slot: callx to an instruction that is not a known function entry. */
  CallxNoEntry = 7,
}

/** One imported function; its import name is `f<index>` in module "jit". */
export type ImportDesc =
  /** Generic helper: (pc, fp, r1..r5) -> r0. */
  | { readonly kind: "helper"; readonly id: number }
  /** callx to a helper id held in a register: (pc, fp, lo, hi, r1..r5) -> r0. */
  | { readonly kind: "helperDyn" }
  /**
   * Checked mode, helpers that may call a program function back (bpf_loop,
   * bpf_for_each_map_elem, and any helper reached by callx): (pc, fp, [lo, hi,] r0..r9)
   * -> (r0..r5). A callback starts with the caller's r0 and r6-r9 and leaves r1-r5 as
   * it ended, as in the interpreter (these registers are unreadable to verified code).
   */
  | { readonly kind: "helperRegs"; readonly id: number }
  | { readonly kind: "helperDynRegs" }
  /**
   * Checked mode, callx to a slot that is not a compiled function entry (a function
   * pointer computed at run time): (pc, fp, slot, r0..r9) -> (r0..r5); the machine runs
   * the function on the interpreter, in this run's stack, budget and tail-call count.
   */
  | { readonly kind: "callSlot" }
  /** Kernel map helpers with i32 pointers (verified mode), map known at compile time. */
  | { readonly kind: "lookup" | "delete"; readonly map: number } // (key) -> i32
  | { readonly kind: "update"; readonly map: number } // (key, value, flags) -> i32
  /** Same with the map address in r1 at run time. */
  | { readonly kind: "lookupDyn" | "deleteDyn" } // (map, key) -> i32
  | { readonly kind: "updateDyn" } // (map, key, value, flags) -> i32
  /**
   * Checked mode, kernel map helpers with registers as i32 halves: (pc, fp, r1, r2
   * [, r3, r4]) -> i32; arguments that are not plainly valid go to the helper itself.
   */
  | { readonly kind: "lookupChecked" | "deleteChecked" | "updateChecked"; readonly id: number }
  /** Checked-mode access that missed the caches: (pc, addrLo, addrHi, size, write, adj); throws on a fault. */
  | { readonly kind: "resolve" }
  /** Raises a fault: (code, pc, arg, adj); never returns. */
  | { readonly kind: "fault" }
  /** Legacy packet load: (pc, ctx, offset, size) -> value (i32); ends the run when out of bounds. */
  | { readonly kind: "ldAbs" };

const REGS_0_9: readonly ValType[] = Array<ValType>(10).fill(I64);
const REGS_0_5: ValType[] = Array<ValType>(6).fill(I64);

export const importSignature = (d: ImportDesc): { params: ValType[]; results: ValType[] } => {
  switch (d.kind) {
    case "helper":
      return { params: [I32, I32, I64, I64, I64, I64, I64], results: [I64] };
    case "helperDyn":
      return { params: [I32, I32, I32, I32, I64, I64, I64, I64, I64], results: [I64] };
    case "helperRegs":
      return { params: [I32, I32, ...REGS_0_9], results: REGS_0_5 };
    case "helperDynRegs":
      return { params: [I32, I32, I32, I32, ...REGS_0_9], results: REGS_0_5 };
    case "callSlot":
      return { params: [I32, I32, I32, ...REGS_0_9], results: REGS_0_5 };
    case "lookup":
    case "delete":
      return { params: [I32], results: [I32] };
    case "update":
      return { params: [I32, I32, I32], results: [I32] };
    case "lookupDyn":
    case "deleteDyn":
      return { params: [I32, I32], results: [I32] };
    case "updateDyn":
      return { params: [I32, I32, I32, I32], results: [I32] };
    case "lookupChecked":
    case "deleteChecked":
      return { params: [I32, I32, I32, I32, I32, I32], results: [I32] };
    case "updateChecked":
      return { params: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32], results: [I32] };
    case "resolve":
      return { params: [I32, I32, I32, I32, I32, I32], results: [] };
    case "fault":
      return { params: [I32, I32, I32, I32], results: [] };
    case "ldAbs":
      return { params: [I32, I32, I32, I32], results: [I32] };
  }
};

export const importKey = (d: ImportDesc): string => ("id" in d ? `${d.kind}:${d.id}` : "map" in d ? `${d.kind}:${d.map}` : d.kind);
