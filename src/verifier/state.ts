/**
 * Abstract machine state, as include/linux/bpf_verifier.h models it: per register a
 * bpf_reg_state (type, fixed offset, variable part as scalar Bounds, ids), per frame
 * 11 registers and a stack of 8-byte slots whose bytes are each invalid, spilled,
 * misc or zero (slot_type[]), per path the call frames, acquired references and the
 * held spin lock.
 *
 * `Reg` is discriminated by `type` (the kernel's enum bpf_reg_type base types);
 * `maybeNull`, `ringbuf` and `rdonly` are the PTR_MAYBE_NULL, MEM_RINGBUF and
 * MEM_RDONLY flags. Registers and slots are immutable values: a write replaces
 * them, so copying a state at a branch copies arrays of references only.
 */
import type { MapSpec } from "../maps/index.js";
import { UNKNOWN, ZERO, isConst, known, type Bounds } from "./bounds.js";

export type RegType =
  | "NOT_INIT"
  | "SCALAR_VALUE"
  | "PTR_TO_CTX"
  | "CONST_PTR_TO_MAP"
  | "PTR_TO_MAP_VALUE"
  | "PTR_TO_MAP_KEY"
  | "PTR_TO_STACK"
  | "PTR_TO_PACKET"
  | "PTR_TO_PACKET_META"
  | "PTR_TO_PACKET_END"
  | "PTR_TO_MEM"
  | "PTR_TO_FUNC"
  | "PTR_TO_FLOW_KEYS"
  | "PTR_TO_SOCK_COMMON"
  | "PTR_TO_SOCKET";

/** A map as the verifier knows it: its index in VerifierInput.maps and its spec. */
export interface MapRef {
  readonly index: number;
  readonly name: string;
  readonly spec: MapSpec;
}

export interface Reg {
  readonly type: RegType;
  /** PTR_MAYBE_NULL. */
  readonly maybeNull: boolean;
  /** PTR_TO_MEM from bpf_ringbuf_reserve (MEM_RINGBUF). */
  readonly ringbuf: boolean;
  /** MEM_RDONLY. */
  readonly rdonly: boolean;
  /** Fixed offset (reg->off) of a pointer. */
  readonly off: number;
  /** Scalar value, or the variable part of a pointer's offset. */
  readonly b: Bounds;
  /** Scalar link id / pointer id (packet pointers with the same variable part, NULL-check groups). */
  readonly id: number;
  /** Reference the pointer holds (ringbuf records, sockets from bpf_sk_lookup_*). */
  readonly refObjId: number;
  /** Packet pointers: bytes known accessible from the pointer; -1 AT_PKT_END, -2 BEYOND_PKT_END. */
  readonly range: number;
  /** CONST_PTR_TO_MAP, PTR_TO_MAP_VALUE, PTR_TO_MAP_KEY. */
  readonly map: MapRef | undefined;
  /** PTR_TO_MEM: size of the memory. */
  readonly memSize: number;
  /** PTR_TO_STACK: the frame it points into. */
  readonly frameno: number;
  /** PTR_TO_FUNC: first instruction of the function. */
  readonly subprog: number;
}

/**
 * Every Reg is built here, with its fields in one order, so that all registers share
 * one object shape (monomorphic property access in the hot paths). The numeric fields
 * must be small integers (int32), never heap numbers from double arithmetic: one heap
 * number would give the fields a double representation, deprecate the shape, and
 * leave already-optimised code building registers of the deprecated shape.
 */
export function mkReg(
  type: RegType, maybeNull: boolean, ringbuf: boolean, rdonly: boolean, off: number, b: Bounds, id: number, refObjId: number,
  range: number, map: MapRef | undefined, memSize: number, frameno: number, subprog: number,
): Reg {
  return { type, maybeNull, ringbuf, rdonly, off, b, id, refObjId, range, map, memSize, frameno, subprog };
}

/** r with some fields changed (the one way to derive a register from another). */
export function regWith(r: Reg, p: Partial<Reg>): Reg {
  return mkReg(
    p.type ?? r.type, p.maybeNull ?? r.maybeNull, p.ringbuf ?? r.ringbuf, p.rdonly ?? r.rdonly, p.off ?? r.off, p.b ?? r.b, p.id ?? r.id,
    p.refObjId ?? r.refObjId, p.range ?? r.range, "map" in p ? p.map : r.map, p.memSize ?? r.memSize, p.frameno ?? r.frameno, p.subprog ?? r.subprog,
  );
}
/** r with bounds b. */
export const withBounds = (r: Reg, b: Bounds): Reg =>
  mkReg(r.type, r.maybeNull, r.ringbuf, r.rdonly, r.off, b, r.id, r.refObjId, r.range, r.map, r.memSize, r.frameno, r.subprog);
/** r with id. */
export const withRegId = (r: Reg, id: number): Reg =>
  mkReg(r.type, r.maybeNull, r.ringbuf, r.rdonly, r.off, r.b, id, r.refObjId, r.range, r.map, r.memSize, r.frameno, r.subprog);
/** r with fixed offset off. */
export const withOff = (r: Reg, off: number): Reg =>
  mkReg(r.type, r.maybeNull, r.ringbuf, r.rdonly, off, r.b, r.id, r.refObjId, r.range, r.map, r.memSize, r.frameno, r.subprog);
/** r with id and packet range. */
export const withIdRange = (r: Reg, id: number, range: number): Reg =>
  mkReg(r.type, r.maybeNull, r.ringbuf, r.rdonly, r.off, r.b, id, r.refObjId, range, r.map, r.memSize, r.frameno, r.subprog);
/** r known not to be NULL, with id. */
export const notNullReg = (r: Reg, id: number): Reg =>
  mkReg(r.type, false, r.ringbuf, r.rdonly, r.off, r.b, id, r.refObjId, r.range, r.map, r.memSize, r.frameno, r.subprog);

export const NOT_INIT: Reg = mkReg("NOT_INIT", false, false, false, 0, ZERO, 0, 0, 0, undefined, 0, 0, 0);
export const scalarReg = (b: Bounds, id = 0): Reg => mkReg("SCALAR_VALUE", false, false, false, 0, b, id, 0, 0, undefined, 0, 0, 0);
const UNKNOWN_SCALAR: Reg = scalarReg(UNKNOWN);
export const unknownScalar = (): Reg => UNKNOWN_SCALAR;
export const constScalar = (v: bigint): Reg => (v === 0n ? ZERO_SCALAR : scalarReg(known(v)));
const ZERO_SCALAR: Reg = scalarReg(ZERO);
/** The scalar known to be 0. */
export const zeroScalar = (): Reg => ZERO_SCALAR;
export const ptrReg = (type: RegType, extra: Partial<Reg> = {}): Reg => regWith(NOT_INIT, { ...extra, type });
/** A pointer of `type` (to `map`'s key or value, or a map), fixed offset off. */
export const ptrTo = (type: RegType, map: MapRef | undefined, off = 0, maybeNull = false, id = 0): Reg =>
  mkReg(type, maybeNull, false, false, off, ZERO, id, 0, 0, map, 0, 0, 0);
export const fpReg = (frameno: number): Reg => mkReg("PTR_TO_STACK", false, false, false, 0, ZERO, 0, 0, 0, undefined, 0, frameno, 0);

export const isScalar = (r: Reg): boolean => r.type === "SCALAR_VALUE";
export const isPointer = (r: Reg): boolean => r.type !== "SCALAR_VALUE" && r.type !== "NOT_INIT";
export const isPktPointer = (r: Reg): boolean => r.type === "PTR_TO_PACKET" || r.type === "PTR_TO_PACKET_META";
export const isConstReg = (r: Reg): boolean => r.type === "SCALAR_VALUE" && isConst(r.b);
/** A pointer whose variable offset is zero. */
export const hasConstOff = (r: Reg): boolean => isConst(r.b);

/** The kernel's reg_type_str(): "scalar", "map_value_or_null", "ringbuf_mem", "fp", ... */
const REG_TYPE_STR: Record<RegType, string> = {
  NOT_INIT: "?", SCALAR_VALUE: "scalar", PTR_TO_CTX: "ctx", CONST_PTR_TO_MAP: "map_ptr", PTR_TO_MAP_VALUE: "map_value",
  PTR_TO_MAP_KEY: "map_key", PTR_TO_STACK: "fp", PTR_TO_PACKET: "pkt", PTR_TO_PACKET_META: "pkt_meta",
  PTR_TO_PACKET_END: "pkt_end", PTR_TO_MEM: "mem", PTR_TO_FUNC: "func", PTR_TO_FLOW_KEYS: "flow_keys",
  PTR_TO_SOCK_COMMON: "sock_common", PTR_TO_SOCKET: "sock",
};

export function regTypeStr(r: Pick<Reg, "type" | "maybeNull" | "ringbuf" | "rdonly">): string {
  const base = REG_TYPE_STR;
  const prefix = (r.rdonly ? "rdonly_" : "") + (r.ringbuf ? "ringbuf_" : "");
  return prefix + base[r.type] + (r.maybeNull ? "_or_null" : "");
}

// ---- stack ---------------------------------------------------------------------------

/**
 * slot_type values, 2 bits each: STACK_INVALID "?", STACK_SPILL "r", STACK_MISC "m",
 * STACK_ZERO "0" (the characters the log prints).
 */
export const STACK_INVALID = 0;
export const STACK_SPILL = 1;
export const STACK_MISC = 2;
export const STACK_ZERO = 3;
const SLOT_CHARS = "?rm0";
/** Every byte STACK_SPILL ("rrrrrrrr"). */
export const ALL_SPILL = 0x5555;

/**
 * One 8-byte stack slot. `types` packs the kernel's slot_type[0..7], 2 bits per byte
 * (slot_type[j] at bits 2j, 2j+1): j = 7 is the lowest address of the slot, j = 0 the
 * highest. 0 is "????????".
 */
export interface Slot {
  readonly types: number;
  /** The spilled register when any byte is "r". */
  readonly spilled: Reg | undefined;
}

export const EMPTY_SLOT: Slot = { types: 0, spilled: undefined };

/** slot_type[j]. */
export const slotByte = (types: number, j: number): number => (types >> (2 * j)) & 3;
/** types with slot_type[j] = c. */
export const setSlotByte = (types: number, j: number, c: number): number => (types & ~(3 << (2 * j))) | (c << (2 * j));
/** Bits (at even positions) of the STACK_SPILL bytes. */
const spillBits = (types: number): number => types & ~(types >> 1) & 0x5555;
/** Some byte is STACK_SPILL. */
export const hasSpill = (types: number): boolean => spillBits(types) !== 0;
/** Every STACK_SPILL byte becomes STACK_MISC. */
export const spillToMisc = (types: number): number => types ^ (spillBits(types) * 3);
/** The slot types as the log prints them, slot_type[0] first ("mmmmmmmm", "????rrrr"). */
export function slotTypesStr(types: number): string {
  let s = "";
  for (let j = 0; j < 8; j++) s += SLOT_CHARS[(types >> (2 * j)) & 3];
  return s;
}
export const BPF_REG_SIZE = 8;

export interface Frame {
  readonly frameno: number;
  /** Call instruction that created this frame (-1 for the main program). */
  readonly callsite: number;
  /** First instruction of the function this frame runs. */
  readonly subprogStart: number;
  regs: Reg[];
  /** Slots by index spi (slot spi covers fp-8*(spi+1) .. fp-8*spi-1). */
  stack: Slot[];
  /** A callback frame (bpf_loop, for_each_map_elem): its return value range is checked. */
  readonly inCallback: boolean;
  /** For callback frames: the helper call to return to. */
  readonly callbackCall: number;
}

export interface RefState {
  readonly id: number;
  /** Instruction that acquired it. */
  readonly insn: number;
}

export interface VState {
  frames: Frame[];
  /** Acquired references; replaced, never changed in place (copies of the state share it). */
  refs: readonly RefState[];
  /** Held bpf_spin_lock: the id of the map value pointer it was taken through. */
  lock: { readonly id: number; readonly map: number } | undefined;
  /** Checkpoint this path descends from (the kernel's parent chain). */
  parent: Checkpoint | undefined;
  /** Callback entries simulated on this path (callback_unroll_depth). */
  unroll: number;
  /** Instruction the path left its last checkpoint at (first_insn_idx). */
  firstInsn: number;
  /** Where the path's own entries of the instruction history begin (precision.ts). */
  histStart: number;
}

/** An explored state kept at a prune point. */
export interface Checkpoint {
  readonly state: VState;
  readonly insn: number;
  /** Paths descending from this state still being explored (bpf_verifier_state.branches). */
  branches: number;
  hit: number;
  miss: number;
  /** Dropped from its list while still in progress: freed (for peak_states) when its branches reach 0. */
  evicted: boolean;
  /** The path from the parent checkpoint to this one (first_insn_idx, last_insn_idx, its history entries). */
  readonly first: number;
  readonly last: number;
  readonly histStart: number;
  readonly histEnd: number;
  /** Precise scalars (precision.ts): per frame, registers and stack slots. */
  readonly prec: Int32Array;
  /** Every scalar precise (mark_all_scalars_precise()). */
  allPrecise: boolean;
}

export const curFrame = (s: VState): Frame => s.frames[s.frames.length - 1]!;

export function copyFrame(f: Frame): Frame {
  return { frameno: f.frameno, callsite: f.callsite, subprogStart: f.subprogStart, regs: f.regs.slice(), stack: f.stack.slice(), inCallback: f.inCallback, callbackCall: f.callbackCall };
}

export function copyState(s: VState): VState {
  // refs is never changed in place (acquire and release replace the array), so copies share it.
  return { frames: s.frames.map(copyFrame), refs: s.refs, lock: s.lock, parent: s.parent, unroll: s.unroll, firstInsn: s.firstInsn, histStart: s.histStart };
}

export function newFrame(frameno: number, callsite: number, subprogStart: number, inCallback = false, callbackCall = -1): Frame {
  const regs = new Array<Reg>(11).fill(NOT_INIT);
  regs[10] = fpReg(frameno);
  return { frameno, callsite, subprogStart, regs, stack: [], inCallback, callbackCall };
}

/** Calls fn on every register of the state: frame registers and spilled registers. */
export function forEachReg(s: VState, fn: (r: Reg) => Reg | undefined): void {
  for (const f of s.frames) {
    for (let i = 0; i < f.regs.length; i++) {
      const n = fn(f.regs[i]!);
      if (n !== undefined) f.regs[i] = n;
    }
    for (let i = 0; i < f.stack.length; i++) {
      const sl = f.stack[i]!;
      if (sl.spilled === undefined) continue;
      const n = fn(sl.spilled);
      if (n !== undefined) f.stack[i] = { types: sl.types, spilled: n };
    }
  }
}

export const UNBOUNDED_PTR_BOUNDS: Bounds = UNKNOWN;
