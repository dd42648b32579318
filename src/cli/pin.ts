/**
 * Pinned maps for the command line: a map's spec and contents in a file under a pin
 * directory (our bpffs), so `prog run --pin-maps DIR` and later `map dump DIR/NAME`
 * or another run with `--maps DIR` see the same state. Writes go to a temporary file
 * that is renamed over the pin, so a crash mid-write leaves the previous pin intact.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync, openSync, fsyncSync, closeSync } from "node:fs";
import { join } from "node:path";
import type { BpfMap, MapSpec } from "../maps/index.js";
import { CliFailure } from "./io.js";

interface PinFile {
  format: "tsbpf-map-pin/1";
  spec: MapSpec;
  entries: Array<{ key: string; value: string }>;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));

/** Map types whose user-space lookup does not give the stored bytes back (they are not pinned with contents). */
const NO_CONTENTS = new Set(["BPF_MAP_TYPE_RINGBUF", "BPF_MAP_TYPE_PERF_EVENT_ARRAY", "BPF_MAP_TYPE_QUEUE", "BPF_MAP_TYPE_STACK", "BPF_MAP_TYPE_BLOOM_FILTER", "BPF_MAP_TYPE_PROG_ARRAY", "BPF_MAP_TYPE_ARRAY_OF_MAPS", "BPF_MAP_TYPE_HASH_OF_MAPS"]);

export function pinMap(map: BpfMap, dir: string, name = map.spec.name): string {
  mkdirSync(dir, { recursive: true });
  const entries: PinFile["entries"] = [];
  if (!NO_CONTENTS.has(map.spec.type)) {
    for (let k = map.nextKey(); k !== undefined; k = map.nextKey(k)) {
      const v = map.lookup(k);
      if (v !== undefined) entries.push({ key: hex(k), value: hex(v) });
    }
  }
  const file: PinFile = { format: "tsbpf-map-pin/1", spec: map.spec as MapSpec, entries };
  const path = join(dir, name);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(file));
  const fd = openSync(tmp, "r+");
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
  return path;
}

export function readPin(path: string): PinFile {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliFailure(`cannot read pinned map '${path}': ${(e as { code?: string }).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  const f = data as Partial<PinFile>;
  if (f.format !== "tsbpf-map-pin/1" || typeof f.spec !== "object" || !Array.isArray(f.entries)) throw new CliFailure(`'${path}' is not a tsbpf map pin`);
  return f as PinFile;
}

/** Restores a pin into a live map after checking that the specs agree (libbpf's map reuse check). */
export function restorePin(map: BpfMap, path: string): boolean {
  if (!existsSync(path)) return false;
  const f = readPin(path);
  const s = map.spec;
  for (const k of ["type", "keySize", "valueSize", "maxEntries", "flags"] as const) {
    if (f.spec[k] !== s[k]) throw new CliFailure(`pinned map '${path}' does not match map ${s.name}: ${k} ${String(f.spec[k])} != ${String(s[k])}`);
  }
  for (const e of f.entries) map.update(unhex(e.key), unhex(e.value));
  return true;
}

export function pinEntries(f: PinFile): Array<{ key: Uint8Array; value: Uint8Array }> {
  return f.entries.map((e) => ({ key: unhex(e.key), value: unhex(e.value) }));
}
