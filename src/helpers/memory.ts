/**
 * Checked access to program memory for helper implementations. Arguments the verifier
 * would have proven (ARG_PTR_TO_MEM and friends) are checked here too, because the
 * interpreter also runs unverified programs: a bad pointer becomes a fault naming the
 * helper's argument, never a read outside a region.
 */
import type { AddressSpace } from "../vm/index.js";

export class HelperArgError extends Error {}

/** Address from a 64-bit argument; throws unless [addr, addr+size) lies in one mapped region (and is writable when asked). */
export function checked(space: AddressSpace, ptr: bigint, size: number, what: string, write = false): number {
  if (size === 0) return Number(ptr & 0xffffffffn);
  if (ptr < 0n || ptr >= 1n << 32n) throw new HelperArgError(`${what}: 0x${ptr.toString(16)} is not a valid pointer`);
  const a = Number(ptr);
  const r = space.find(a, size);
  if (r === undefined) throw new HelperArgError(`${what}: ${size} bytes at 0x${a.toString(16)} are not mapped`);
  if (write && !r.writable) throw new HelperArgError(`${what}: ${r.name} is read-only`);
  return a;
}

/** True when [addr, addr+size) is readable (probe_read's test). */
export function readable(space: AddressSpace, ptr: bigint, size: number): boolean {
  return ptr >= 0n && ptr < 1n << 32n && space.find(Number(ptr), Math.max(1, size)) !== undefined;
}

/** Reads a NUL-terminated string of at most `max` bytes (without the NUL). */
export function readCString(space: AddressSpace, ptr: bigint, max: number, what: string): Uint8Array {
  const a = checked(space, ptr, 1, what);
  const r = space.find(a, 1)!;
  const end = Math.min(r.end, a + max);
  const u8 = space.u8;
  let i = a;
  while (i < end && u8[i] !== 0) i++;
  return u8.slice(a, i);
}

export const arg32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
export const argU32 = (v: bigint): number => Number(BigInt.asUintN(32, v));
