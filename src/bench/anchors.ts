/** Reads the reference figures (kernel, uBPF) from ../shared/bench/ANCHORS.md's main table. */

export interface AnchorRow {
  readonly program: string;
  /** Column header -> "min / median" pair in ns (undefined for "–"). */
  readonly columns: ReadonlyMap<string, { min: number; median: number } | undefined>;
}

export function parseAnchors(markdown: string): Map<string, AnchorRow> {
  const lines = markdown.split("\n");
  const headerAt = lines.findIndex((l) => l.startsWith("| program |") && l.includes("uBPF interp"));
  const out = new Map<string, AnchorRow>();
  if (headerAt < 0) return out;
  const headers = splitRow(lines[headerAt]!);
  for (let i = headerAt + 2; i < lines.length && lines[i]!.startsWith("|"); i++) {
    const cells = splitRow(lines[i]!);
    const columns = new Map<string, { min: number; median: number } | undefined>();
    headers.forEach((h, j) => {
      const m = /^([\d,]+)\s*\/\s*([\d,]+)$/.exec(cells[j] ?? "");
      columns.set(h, m === null ? undefined : { min: num(m[1]!), median: num(m[2]!) });
    });
    out.set(cells[0]!, { program: cells[0]!, columns });
  }
  return out;
}

const splitRow = (l: string): string[] => l.split("|").slice(1, -1).map((c) => c.trim());
const num = (s: string): number => Number(s.replace(/,/g, ""));
