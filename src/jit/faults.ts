/**
 * Faults raised by compiled code, with the interpreter's kinds, pcs, addresses, sizes
 * and messages (src/vm/interpreter.ts: setFault and resolve), so a checked-mode JIT
 * run and an interpreter run of the same program give equal RunResults.
 *
 * Compiled code reports a fault by calling an import that throws a JitTrap; the
 * exception unwinds every wasm frame (bpf-to-bpf calls, tail-call targets, helper
 * callbacks) back to JitMachine.run, which turns it into the RunResult.
 */
import { fromHalves } from "../isa/index.js";
import type { AddressSpace, Fault, FaultKind, Region } from "../vm/index.js";

export class JitTrap extends Error {
  constructor(
    readonly fault: Fault,
    /** Instructions of the faulting block after the faulting one (pre-charged to the budget). */
    readonly adj: number,
    /** Executed count to report instead of the budget arithmetic (budget faults). */
    readonly executed?: number,
  ) {
    super(fault.message);
  }
}

/** A legacy packet load out of bounds: the whole program ends with r0 = 0. */
export class JitExit extends Error {
  constructor(readonly adj: number) {
    super("program ended by an out-of-bounds legacy packet load");
  }
}

export function makeFault(kind: FaultKind, pc: number, message: string, addr?: bigint, size?: number): Fault {
  const f: { kind: FaultKind; pc: number; message: string; addr?: bigint; size?: number } = { kind, pc, message: `insn ${pc}: ${message}` };
  if (addr !== undefined) f.addr = addr;
  if (size !== undefined) f.size = size;
  return f;
}

/**
 * The region for a checked access at a = reg + off (given as the 64-bit sum's halves),
 * or the interpreter's fault. `regHigh`: the base register's upper half was not zero.
 */
export function resolveAccess(space: AddressSpace, pc: number, aLo: number, aHi: number, size: number, write: boolean, regHigh: boolean): Region | Fault {
  // With a zero upper half in the register, the sum is within 2^15 of [0, 2^32).
  const a = aHi * 4294967296 + (aLo >>> 0);
  const candidate = !regHigh && a >= 0;
  const region = candidate ? space.find(a, size) : undefined;
  if (region !== undefined && (!write || region.writable)) return region;
  const addr = fromHalves(aLo, aHi);
  const near = region ?? (candidate ? space.find(a, 1) : undefined);
  const why =
    region !== undefined
      ? `${region.name} is read-only`
      : near === undefined
        ? "no mapped region"
        : `crosses the end of ${near.name} [0x${near.start.toString(16)}, 0x${near.end.toString(16)})`;
  return makeFault(write ? "write" : "read", pc, `invalid ${write ? "write" : "read"} of ${size} bytes at 0x${addr.toString(16)}: ${why}`, addr, size);
}

export const isRegion = (x: Region | Fault): x is Region => "start" in x;
