// Shared test fixtures for map tests: an address space and a MapEnv with a settable CPU.
import { createMap, type BpfMap, type CreateMapOptions, type MapEnv, type MapSpec, type MapTypeName } from "../../src/maps/index.js";
import { AddressSpace } from "../../src/vm/index.js";

export interface TestEnv extends MapEnv {
  cpu: number;
}

export function makeEnv(numCpus = 2, space = new AddressSpace({ initialBytes: 4 << 20 })): TestEnv {
  const env: TestEnv = {
    space,
    numCpus,
    cpu: 0,
    currentCpu: () => env.cpu,
  };
  return env;
}

export function spec(type: MapTypeName, keySize: number, valueSize: number, maxEntries: number, flags = 0, extra: Partial<MapSpec> = {}): MapSpec {
  return { name: "m", type, keySize, valueSize, maxEntries, flags, ...extra };
}

export function mk<T extends BpfMap = BpfMap>(env: MapEnv, s: MapSpec, opts: CreateMapOptions = {}): T {
  return createMap(s, env, opts) as T;
}

/** Little-endian u32 as 4 bytes. */
export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

/** Little-endian u64 as 8 bytes. */
export function u64(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

export const readU32 = (b: Uint8Array, o = 0): number => new DataView(b.buffer, b.byteOffset).getUint32(o, true);
export const readU64 = (b: Uint8Array, o = 0): bigint => new DataView(b.buffer, b.byteOffset).getBigUint64(o, true);

/** Copies bytes into a fresh scratch region of the space (what a program's stack would hold) and returns the address. */
export function place(env: MapEnv, bytes: Uint8Array): number {
  const r = env.space.map(Math.max(8, bytes.length), { name: "scratch", kind: "mem" });
  env.space.u8.set(bytes, r.start);
  return r.start;
}

export const hexOf = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString("hex"));
