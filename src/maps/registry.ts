/**
 * Finding a map from what a program or a value holds: the address a program uses as
 * CONST_PTR_TO_MAP (helpers receive it in r1) and the id that user space stores in
 * map-in-map values and bpftool prints. One registry per address space; ids are
 * unique in the process, like the kernel's idr-allocated map ids are unique in the
 * system.
 */
import type { AddressSpace } from "../vm/index.js";
import type { BpfMap } from "./base.js";

interface Registry {
  readonly byId: Map<number, BpfMap>;
  readonly byAddress: Map<number, BpfMap>;
}

const registries = new WeakMap<AddressSpace, Registry>();
let lastId = 0;

function registryOf(space: AddressSpace): Registry {
  let r = registries.get(space);
  if (r === undefined) {
    r = { byId: new Map(), byAddress: new Map() };
    registries.set(space, r);
  }
  return r;
}

/** Next map id (kernel map ids start at 1). */
export const allocateMapId = (): number => ++lastId;

export function registerMap(map: BpfMap): void {
  const r = registryOf(map.env.space);
  r.byId.set(map.id, map);
  r.byAddress.set(map.address, map);
}

export function unregisterMap(map: BpfMap): void {
  const r = registryOf(map.env.space);
  r.byId.delete(map.id);
  r.byAddress.delete(map.address);
}

/** The map whose CONST_PTR_TO_MAP address is `addr` (what a helper gets in r1), or undefined. */
export const mapFromAddress = (space: AddressSpace, addr: number): BpfMap | undefined => registryOf(space).byAddress.get(addr);

/** The live map with this id in this address space, or undefined. */
export const mapFromId = (space: AddressSpace, id: number): BpfMap | undefined => registryOf(space).byId.get(id);

/** Live maps of an address space, by id. */
export const mapsOf = (space: AddressSpace): BpfMap[] => [...registryOf(space).byId.values()].sort((a, b) => a.id - b.id);
