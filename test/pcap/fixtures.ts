// Locates ../shared (env TSBPF_SHARED, default <repo>/../shared) and reads its pcap
// fixtures. Tests that need them call sharedOrSkip(t), which reports a skip with the
// reason when the directory is absent.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const SHARED = process.env.TSBPF_SHARED ?? resolve(repoRoot, "../shared");
export const PCAP_DIR = join(SHARED, "pcap");
export const HAVE_SHARED = existsSync(join(PCAP_DIR, "mixed-10k.pcap"));
export const SKIP_REASON = `../shared/pcap not found at ${PCAP_DIR} (set TSBPF_SHARED)`;

/** Options for test(): skips the whole test when the fixtures are absent. */
export const needShared = HAVE_SHARED ? {} : { skip: SKIP_REASON };

export function sharedOrSkip(t: TestContext): boolean {
  if (HAVE_SHARED) return true;
  t.skip(SKIP_REASON);
  return false;
}

export const readShared = (name: string): Uint8Array => new Uint8Array(readFileSync(join(PCAP_DIR, name)));
export const readSharedText = (name: string): string => readFileSync(join(PCAP_DIR, name), "utf8");

export interface FilterRow {
  readonly expr: string;
  readonly matchesMixed10k: number;
  readonly matchesLoopback: number;
  readonly insns: number;
  readonly insnsUnopt: number;
  readonly id: string;
}

/** filters.tsv, in file order. */
export function filterRows(): FilterRow[] {
  const lines = readSharedText("filters.tsv").split("\n").filter((l) => l !== "");
  const head = lines[0]!.split("\t");
  const col = (name: string): number => {
    const i = head.indexOf(name);
    if (i < 0) throw new Error(`filters.tsv has no column ${name}`);
    return i;
  };
  const [e, m, l, n, u, id] = ["expr", "matches_mixed10k", "matches_loopback_http", "cbpf_insn_count", "cbpf_insn_count_unoptimized", "id"].map(col);
  return lines.slice(1).map((line) => {
    const f = line.split("\t");
    return { expr: f[e!]!, matchesMixed10k: Number(f[m!]), matchesLoopback: Number(f[l!]), insns: Number(f[n!]), insnsUnopt: Number(f[u!]), id: f[id!]! };
  });
}

/** Hex bitmap (cbpf/NNN.match format: bit i&7 of byte i>>3, LSB first). */
export function bitmapHex(verdicts: readonly boolean[]): string {
  const bytes = new Uint8Array(Math.ceil(verdicts.length / 8));
  verdicts.forEach((v, i) => {
    if (v) bytes[i >> 3]! |= 1 << (i & 7);
  });
  return Buffer.from(bytes).toString("hex");
}
