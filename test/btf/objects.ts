/**
 * The objects the BTF and loader tests walk: our fixtures (test/fixtures/loader/*.o,
 * always present) and the shared bench objects (../shared/bench/obj/*.o, skipped
 * with a message when TSBPF_SHARED does not point at them). Plus bpftool detection
 * for the live comparisons.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseElf, sectionByName } from "../../src/elf/index.js";
import { BENCH_OBJ_DIR, REPO_ROOT } from "../support/paths.js";

export const FIXTURE_DIR = join(REPO_ROOT, "test", "fixtures", "loader");
export const BTF_GOLDEN_DIR = join(REPO_ROOT, "test", "golden", "btf");
export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === "1";

export interface ObjectFile {
  readonly name: string; // "flow_count.o"
  readonly path: string;
  readonly bench: boolean;
}

export function fixtureObjects(): ObjectFile[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith(".o"))
    .sort()
    .map((f) => ({ name: f, path: join(FIXTURE_DIR, f), bench: false }));
}

export function benchObjectFiles(): ObjectFile[] {
  if (!existsSync(BENCH_OBJ_DIR)) return [];
  return readdirSync(BENCH_OBJ_DIR)
    .filter((f) => f.endsWith(".o"))
    .sort()
    .map((f) => ({ name: f, path: join(BENCH_OBJ_DIR, f), bench: true }));
}

export const BENCH_SKIP = existsSync(BENCH_OBJ_DIR) ? undefined : `${BENCH_OBJ_DIR} not found (set TSBPF_SHARED to point at a copy of ../shared)`;

export const readBytes = (path: string): Uint8Array => new Uint8Array(readFileSync(path));

/** The .BTF section of an object (what `bpftool btf dump file X.o` reads). */
export function btfSection(path: string): Uint8Array {
  const elf = parseElf(readBytes(path));
  const s = sectionByName(elf, ".BTF");
  if (s === undefined) throw new Error(`${basename(path)} has no .BTF`);
  return s.data;
}

let bpftoolPath: string | null | undefined;
/** The bpftool binary, or undefined when it is not installed. */
export function bpftool(): string | undefined {
  if (bpftoolPath === undefined) {
    bpftoolPath = null;
    for (const p of [process.env.BPFTOOL, "/usr/sbin/bpftool", "/usr/bin/bpftool", "/sbin/bpftool"]) {
      if (p !== undefined && existsSync(p)) {
        const r = spawnSync(p, ["version"], { encoding: "utf8" });
        if (r.status === 0) {
          bpftoolPath = p;
          break;
        }
      }
    }
  }
  return bpftoolPath ?? undefined;
}

export const BPFTOOL_SKIP = (): string | undefined => (bpftool() === undefined ? "bpftool is not installed (set BPFTOOL to its path)" : undefined);

/** Runs bpftool; returns stdout (throws on failure). */
export function runBpftool(args: readonly string[]): string {
  return execFileSync(bpftool()!, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
}

/** True when this process may call bpf() (root, and bpftool can list programs). */
export function kernelAvailable(): boolean {
  if (bpftool() === undefined || process.getuid?.() !== 0 || !existsSync("/sys/fs/bpf")) return false;
  return spawnSync(bpftool()!, ["prog", "show"], { encoding: "utf8" }).status === 0;
}
