/**
 * Reader for the BPF conformance suite's `.data` files (../shared/conformance/FORMAT.md
 * section (a)): sections `-- asm`, `-- raw`, `-- mem`, `-- result`, `-- error`, with
 * `#` comments, documentation-only sections (`-- c`, `-- no register offset`) ignored.
 */

export interface ConformanceTest {
  /** Assembly text (uBPF syntax), comments removed, original line numbers kept by blank lines. */
  readonly asm: string;
  /** Pre-encoded slots from `-- raw`; when present the asm is ignored. */
  readonly raw: readonly bigint[] | undefined;
  readonly memory: Uint8Array;
  /** Expected r0, or undefined when the file has none. */
  readonly result: bigint | undefined;
  /** Expected error message (`-- error`). */
  readonly error: string | undefined;
}

type Section = "none" | "asm" | "raw" | "mem" | "result" | "error" | "ignored";

function sectionOf(header: string): Section | undefined {
  // Substring search in the reference parser's order.
  if (header.includes("asm")) return "asm";
  if (header.includes("result")) return "result";
  if (header.includes("mem")) return "mem";
  if (header.includes("raw")) return "raw";
  if (header.includes("no register offset") || header.includes(" c")) return "ignored";
  if (header.includes("error")) return "error";
  return undefined;
}

export function parseDataFile(text: string): ConformanceTest {
  const asmLines: string[] = [];
  const raw: bigint[] = [];
  const memTokens: string[] = [];
  let resultLine: string | undefined;
  let errorLine: string | undefined;
  let section: Section = "none";
  for (const original of text.split("\n")) {
    let line = original.endsWith("\r") ? original.slice(0, -1) : original;
    const hash = line.indexOf("#");
    if (hash >= 0) line = line.slice(0, hash);
    if (line.includes("--")) {
      const s = sectionOf(line);
      if (s === undefined) throw new Error(`unknown directive: ${line.trim()}`);
      section = s;
      asmLines.push("");
      continue;
    }
    if (line.length === 0) {
      asmLines.push("");
      continue;
    }
    switch (section) {
      case "asm":
        asmLines.push(line);
        continue;
      case "raw":
        for (const tok of line.trim().split(/\s+/)) if (tok !== "") raw.push(BigInt.asUintN(64, BigInt(tok)));
        break;
      case "mem":
        memTokens.push(...line.trim().split(/\s+/).filter((t) => t !== ""));
        break;
      case "result":
        if (line.trim() !== "") resultLine = line;
        break;
      case "error":
        if (line.trim() !== "") errorLine = line;
        break;
      default:
        break;
    }
    asmLines.push("");
  }
  const memory: number[] = [];
  for (const t of memTokens) {
    if (!/^[0-9a-fA-F]+$/.test(t)) break;
    memory.push(parseInt(t, 16) & 0xff);
  }
  return {
    asm: asmLines.join("\n"),
    raw: raw.length > 0 ? raw : undefined,
    memory: Uint8Array.from(memory),
    result: resultLine === undefined ? undefined : parseResult(resultLine),
    error: errorLine,
  };
}

function parseResult(line: string): bigint {
  const t = line.trim();
  const m = t.includes("0x") ? /0x([0-9a-fA-F]+)/.exec(t) : /^(\d+)/.exec(t);
  if (m === null) throw new Error(`unparseable result: ${t}`);
  return BigInt.asUintN(64, t.includes("0x") ? BigInt(`0x${m[1]}`) : BigInt(m[1]!));
}

/** `-- raw` slots to program bytes (each slot little-endian, FORMAT.md (a)). */
export function rawSlotsToBytes(slots: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(slots.length * 8);
  const view = new DataView(out.buffer);
  slots.forEach((v, i) => view.setBigUint64(i * 8, v, true));
  return out;
}
