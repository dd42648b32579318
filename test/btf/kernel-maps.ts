/**
 * The kernel as the oracle for map formatting: loads an object with
 * `bpftool prog loadall` into a private bpffs directory, writes map entries
 * with `bpftool map update`, and collects `bpftool map dump` in plain text,
 * -j and -p. Only usable as root with bpftool (kernelAvailable()); everything
 * it creates is removed afterwards (including maps pinned by name, which
 * libbpf pins under /sys/fs/bpf).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runBpftool } from "./objects.js";

export interface KernelMapDump {
  readonly name: string;
  readonly plain: string;
  readonly json: string;
  readonly pretty: string;
}

export interface MapUpdate {
  readonly key: readonly number[];
  readonly value: readonly number[];
}

const hexArgs = (bytes: readonly number[]): string[] => ["hex", ...bytes.map((b) => b.toString(16).padStart(2, "0"))];

/** Loads `objPath`, applies `updates`, and dumps the maps named in `dump`. */
export function dumpKernelMaps(
  objPath: string,
  dump: readonly string[],
  updates: Readonly<Record<string, readonly MapUpdate[]>>,
  opts: { pinnedByName?: readonly string[] } = {},
): Map<string, KernelMapDump> {
  const dir = `/sys/fs/bpf/tsbpf-test-${process.pid}-${randomBytes(4).toString("hex")}`;
  mkdirSync(dir);
  try {
    runBpftool(["prog", "loadall", objPath, dir]);
    const ids = new Map<string, number>();
    for (const prog of readdirSync(dir)) {
      const info = JSON.parse(runBpftool(["-j", "prog", "show", "pinned", join(dir, prog)])) as { map_ids?: number[] };
      for (const id of info.map_ids ?? []) {
        const m = JSON.parse(runBpftool(["-j", "map", "show", "id", String(id)])) as { name: string };
        ids.set(m.name, id);
      }
    }
    for (const [name, list] of Object.entries(updates)) {
      const id = ids.get(name);
      if (id === undefined) throw new Error(`map ${name} not found after loading ${objPath} (have ${[...ids.keys()].join(", ")})`);
      for (const u of list) runBpftool(["map", "update", "id", String(id), "key", ...hexArgs(u.key), "value", ...hexArgs(u.value)]);
    }
    const out = new Map<string, KernelMapDump>();
    for (const name of dump) {
      const id = ids.get(name);
      if (id === undefined) throw new Error(`map ${name} not found after loading ${objPath}`);
      const args = ["map", "dump", "id", String(id)];
      out.set(name, { name, plain: runBpftool(args), json: runBpftool(["-j", ...args]), pretty: runBpftool(["-p", ...args]) });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (const n of opts.pinnedByName ?? []) {
      const p = join("/sys/fs/bpf", n);
      if (existsSync(p)) rmSync(p, { force: true });
    }
  }
}
