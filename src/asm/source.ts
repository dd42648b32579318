/**
 * Line-level preprocessing shared by both syntaxes: comments, and the
 * decorations of `llvm-objdump -d` output (index column, raw bytes, `<LBB0_6>`
 * target annotations, headers) so that objdump listings reassemble. Removed
 * text is replaced by spaces, so columns in error messages stay those of the
 * original line.
 */

/** Blanks out a `;`, `#` or `//` comment (no syntax uses these characters otherwise). */
export function stripComment(line: string): string {
  let cut = line.length;
  for (const mark of [";", "#", "//"]) {
    const i = line.indexOf(mark);
    if (i >= 0 && i < cut) cut = i;
  }
  return cut === line.length ? line : line.slice(0, cut) + " ".repeat(line.length - cut);
}

const OBJDUMP_HEADER = [
  /^\s*\S.*:\s+file format \S+\s*$/, // "prog.o:\tfile format elf64-bpf"
  /^\s*Disassembly of section .*:\s*$/,
  /^\s*[0-9a-fA-F]{8,16} <[^<>]*>:\s*$/, // "0000000000000000 <flow_count>:"
];

/** True for the header lines of an llvm-objdump listing, which carry no instruction. */
export function isObjdumpHeader(line: string): boolean {
  return OBJDUMP_HEADER.some((re) => re.test(line));
}

const blank = (s: string): string => " ".repeat(s.length);

/**
 * Blanks the objdump decorations of an instruction line:
 * `      12:\t61 16 04 00 00 00 00 00\tr6 = *(u32 *)(r1 + 4)` and a trailing ` <LBB0_6>`.
 * Lines without an index column are returned unchanged except for the annotation.
 */
export function stripObjdumpDecorations(line: string): string {
  let s = line;
  const idx = /^(\s*\d+:)(\s+)((?:[0-9a-f]{2} ){7}[0-9a-f]{2}(?: (?:[0-9a-f]{2} ){7}[0-9a-f]{2})?(?=\s))?/.exec(s);
  if (idx !== null) s = blank(idx[0]) + s.slice(idx[0].length);
  const ann = /(\s)(<[^<>\s]+>)(\s*)$/.exec(s);
  if (ann !== null && /\b(goto|gotol|call)\b/.test(s)) s = s.slice(0, ann.index + 1) + blank(ann[2]!) + ann[3];
  return s;
}
