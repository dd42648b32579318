/**
 * Where tests find ../shared: TSBPF_SHARED (default: the `shared` directory beside the
 * repository), with TSBPF_CONFORMANCE_DIR overriding the conformance tests directory.
 * Tests that need them skip with a message naming the variable when they are absent.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SHARED_DIR = resolve(process.env.TSBPF_SHARED ?? join(REPO_ROOT, "..", "shared"));
export const CONFORMANCE_DIR = resolve(process.env.TSBPF_CONFORMANCE_DIR ?? join(SHARED_DIR, "conformance", "tests"));
export const BENCH_OBJ_DIR = join(SHARED_DIR, "bench", "obj");

/** undefined when present, else a skip message (for `test(name, { skip }, fn)`). */
export function missing(path: string, envVar: string): string | undefined {
  return existsSync(path) ? undefined : `${path} not found (set ${envVar} to point at a copy)`;
}
