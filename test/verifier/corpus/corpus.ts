/**
 * The verifier corpus: reading the case files (`*.data`, format in README.md),
 * building each case's program (raw `struct bpf_insn` slots, as the kernel gets
 * them) and reading the kernel goldens (`kernel/*.json`).
 *
 * Used by test/verifier/corpus.test.ts and scripts/record-verifier-corpus.ts;
 * it needs nothing but tsbpf's assembler and tables.
 */
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { assemble } from "../../../src/asm/index.js";
import { encodeInsn, type RawInsn } from "../../../src/isa/index.js";
import { PROG_TYPES, ATTACH_TYPES, type ProgTypeName } from "../../../src/elf/index.js";
import { MAP_TYPES, type MapTypeName } from "../../../src/maps/index.js";
import { HELPER_IDS } from "../../../src/helpers/index.js";

export const CORPUS_DIR = dirname(fileURLToPath(import.meta.url));
export const GOLDEN_DIR = join(CORPUS_DIR, "kernel");

export type Verdict = "accepted" | "rejected";

export interface CorpusMap {
  /** Name used in the program text: `map_fd(NAME)`, `map_value(NAME, OFF)`. */
  name: string;
  type: MapTypeName;
  typeId: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

export interface CorpusCase {
  /** Unique across the corpus. */
  name: string;
  /** The group file, without `.data`. */
  group: string;
  /** 1-based line of the `===` header, for messages. */
  line: number;
  /** The rule of issue 4 the case exercises: `ITEM.topic`, e.g. `4.packet`. */
  rule: string;
  progType: ProgTypeName;
  progTypeId: number;
  /** expected_attach_type by kernel name, when the program type needs one. */
  attachType?: string;
  attachTypeId: number;
  /** BPF_F_* prog_flags. */
  progFlags: number;
  privileged: boolean;
  maps: CorpusMap[];
  expect: Verdict;
  /** Substring of the kernel's log (its last lines) that the verdict must come with; "" = none. */
  message: string;
  /** Expected errno name of a rejection (EACCES, EINVAL, E2BIG, EPERM ...), when given. */
  errno?: string;
  notes: string[];
  /** Exactly one of the three program sources. */
  asm?: string;
  raw?: string;
  object?: { path: string; program: string };
}

const KEYS = new Set(["rule", "type", "attach", "mode", "map", "expect", "message", "errno", "note", "flags"]);

const MAP_ALIASES = new Map<string, MapTypeInfoLite>(
  MAP_TYPES.map((t) => [t.name.replace(/^BPF_MAP_TYPE_/, "").toLowerCase(), { name: t.name, id: t.id }]),
);
interface MapTypeInfoLite {
  name: MapTypeName;
  id: number;
}

export class CorpusFormatError extends Error {}

function fail(file: string, line: number, msg: string): never {
  throw new CorpusFormatError(`${file}:${line}: ${msg}`);
}

function parseInt0(s: string): number {
  const v = /^-?0x[0-9a-f]+$/i.test(s) ? Number.parseInt(s, 16) : /^-?\d+$/.test(s) ? Number(s) : Number.NaN;
  return v;
}

function parseMap(file: string, line: number, text: string): CorpusMap {
  const words = text.trim().split(/\s+/);
  const [name, type, ...rest] = words;
  if (!name || !type || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(file, line, `bad map line "${text}"`);
  const info = MAP_ALIASES.get(type.toLowerCase());
  if (!info) fail(file, line, `unknown map type "${type}"`);
  const f: Record<string, number> = { key: 0, value: 0, max: 1, flags: 0 };
  for (const w of rest) {
    const m = /^(key|value|max|flags)=(\S+)$/.exec(w);
    if (!m) fail(file, line, `bad map attribute "${w}"`);
    const v = parseInt0(m[2]!);
    if (!Number.isInteger(v) || v < 0) fail(file, line, `bad number in "${w}"`);
    f[m[1]!] = v;
  }
  return { name, type: info.name, typeId: info.id, keySize: f.key!, valueSize: f.value!, maxEntries: f.max!, flags: f.flags! };
}

interface Defaults {
  type?: string;
  attach?: string;
  mode?: string;
  rule?: string;
}

/** Parses one `*.data` file. */
export function parseCorpusFile(text: string, file: string): CorpusCase[] {
  const group = file.replace(/^.*\//, "").replace(/\.data$/, "");
  const lines = text.split(/\r?\n/);
  const cases: CorpusCase[] = [];
  const defaults: Defaults = {};
  let i = 0;
  // File header: `key: value` defaults and comments until the first `===`.
  for (; i < lines.length && !lines[i]!.startsWith("==="); i++) {
    const l = lines[i]!.trim();
    if (l === "" || l.startsWith("#")) continue;
    const m = /^(type|attach|mode|rule):\s*(.*)$/.exec(l);
    if (!m) fail(file, i + 1, `expected a default (type:, attach:, mode:, rule:) or a case header, found "${l}"`);
    defaults[m[1] as keyof Defaults] = m[2]!.trim();
  }
  while (i < lines.length) {
    const header = lines[i]!;
    const headerLine = i + 1;
    const name = header.replace(/^===\s*/, "").trim();
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(name)) fail(file, headerLine, `bad case name "${name}"`);
    i++;
    const fields: Record<string, string> = {};
    const maps: CorpusMap[] = [];
    const notes: string[] = [];
    let body: { kind: "asm" | "raw" | "object"; arg: string; text: string[] } | undefined;
    for (; i < lines.length && !lines[i]!.startsWith("==="); i++) {
      const l = lines[i]!;
      if (body) {
        body.text.push(l);
        continue;
      }
      const t = l.trim();
      if (t === "" || t.startsWith("#")) continue;
      const sec = /^---\s*(asm|raw|object)\b\s*(.*)$/.exec(t);
      if (sec) {
        body = { kind: sec[1] as "asm" | "raw" | "object", arg: sec[2]!.trim(), text: [] };
        continue;
      }
      const m = /^([a-z]+):\s?(.*)$/.exec(t);
      if (!m || !KEYS.has(m[1]!)) fail(file, i + 1, `unknown line "${t}"`);
      const [, key, value] = m;
      if (key === "map") maps.push(parseMap(file, i + 1, value!));
      else if (key === "note") notes.push(value!.trim());
      else if (key === "message") fields[key] = value!.replace(/^\s+/, "").replace(/\s+$/, "");
      else {
        if (fields[key!] !== undefined) fail(file, i + 1, `"${key}:" given twice`);
        fields[key!] = value!.trim();
      }
    }
    if (!body) fail(file, headerLine, `case ${name} has no program (--- asm, --- raw or --- object)`);
    const typeName = fields.type ?? defaults.type;
    const pt = PROG_TYPES.find((p) => p.name === typeName);
    if (!pt) fail(file, headerLine, `case ${name}: unknown or missing program type "${typeName}"`);
    const attach = fields.attach ?? defaults.attach;
    if (attach !== undefined && ATTACH_TYPES[attach] === undefined) fail(file, headerLine, `case ${name}: unknown attach type "${attach}"`);
    const mode = fields.mode ?? defaults.mode ?? "priv";
    if (mode !== "priv" && mode !== "unpriv") fail(file, headerLine, `case ${name}: mode must be priv or unpriv`);
    const expect = fields.expect;
    if (expect !== "accept" && expect !== "reject") fail(file, headerLine, `case ${name}: expect must be accept or reject`);
    const rule = fields.rule ?? defaults.rule;
    if (!rule || !/^[1-7]\.[a-z0-9_-]+$/.test(rule)) fail(file, headerLine, `case ${name}: missing or bad rule "${rule}"`);
    const flags = fields.flags !== undefined ? parseInt0(fields.flags) : 0;
    if (!Number.isInteger(flags)) fail(file, headerLine, `case ${name}: bad flags`);
    const c: CorpusCase = {
      name,
      group,
      line: headerLine,
      rule,
      progType: pt.name,
      progTypeId: pt.id,
      ...(attach !== undefined ? { attachType: attach } : {}),
      attachTypeId: attach !== undefined ? ATTACH_TYPES[attach]! : 0,
      progFlags: flags,
      privileged: mode === "priv",
      maps,
      expect: expect === "accept" ? "accepted" : "rejected",
      message: fields.message ?? "",
      ...(fields.errno !== undefined ? { errno: fields.errno } : {}),
      notes,
    };
    // Trailing blank lines and comment-only lines after the program belong to nobody.
    while (body.text.length && /^\s*(#.*)?$/.test(body.text[body.text.length - 1]!)) body.text.pop();
    if (body.kind === "object") {
      const [path, program] = body.arg.split(/\s+/);
      if (!path || !program) fail(file, headerLine, `case ${name}: "--- object PATH PROGRAM"`);
      c.object = { path, program };
    } else if (body.kind === "asm") c.asm = body.text.join("\n");
    else c.raw = body.text.join("\n");
    cases.push(c);
  }
  return cases;
}

/** Every case of every `*.data` file, in file order; names are checked for uniqueness. */
export function loadCorpus(dir: string = CORPUS_DIR): CorpusCase[] {
  const files = readdirSync(dir).filter((f) => f.endsWith(".data")).sort();
  const all: CorpusCase[] = [];
  const seen = new Map<string, string>();
  for (const f of files) {
    for (const c of parseCorpusFile(readFileSync(join(dir, f), "utf8"), f)) {
      const prev = seen.get(c.name);
      if (prev) throw new CorpusFormatError(`${f}:${c.line}: case name ${c.name} already used in ${prev}`);
      seen.set(c.name, `${f}:${c.line}`);
      all.push(c);
    }
  }
  return all;
}

// ------------------------------------------------------------------ programs

const HELPER_BY_NAME = new Map<string, number>();
for (const h of HELPER_IDS) {
  HELPER_BY_NAME.set(h.name, h.id);
  HELPER_BY_NAME.set(h.name.replace(/^bpf_/, ""), h.id);
}

/** Placeholder imm of the slot standing for `.raw` line k (`r0 = imm` is one slot). */
const RAW_MARK = 0x5eed0000;
/** Placeholder imm of the slot standing for `.rept` block k. */
const REPT_MARK = 0x5eee0000;

interface Rept {
  body: string;
  count: number;
}

/**
 * The corpus extensions to the LLVM syntax, expanded before assembling:
 *   - `.rept N` ... `.endr` repeats the lines between (no nesting);
 *   - `map_fd(NAME)`, `map_value(NAME, OFF)`: NAME is a map of the case, replaced by its index;
 *   - `call NAME`: a helper by name (`bpf_map_lookup_elem` or `map_lookup_elem`);
 *   - `.raw CODE DST SRC OFF IMM`: one raw slot, for encodings the assembler refuses
 *     (reserved fields, unknown opcodes); numbers decimal or 0x hex.
 */
export function expandAsm(c: Pick<CorpusCase, "name" | "maps">, text: string): { text: string; raws: RawInsn[]; repts: Rept[] } {
  const out: string[] = [];
  const raws: RawInsn[] = [];
  const repts: Rept[] = [];
  const src = text.split("\n");
  for (let i = 0; i < src.length; i++) {
    const line = src[i]!;
    const rept = /^\s*\.rept\s+(\d+)\s*$/.exec(line);
    if (rept) {
      const body: string[] = [];
      for (i++; i < src.length && !/^\s*\.endr\s*$/.test(src[i]!); i++) body.push(src[i]!);
      if (i >= src.length) throw new CorpusFormatError(`${c.name}: .rept without .endr`);
      // The body is assembled once and its slots repeated (1,000,000-instruction programs
      // assemble in milliseconds); a placeholder slot stands for the block meanwhile, so
      // labels may not be used in a program with .rept (their offsets would be wrong).
      repts.push({ body: body.join("\n"), count: Number(rept[1]) });
      out.push(`r0 = ${REPT_MARK + repts.length - 1}`);
      continue;
    }
    out.push(line);
  }
  if (repts.length > 0 && out.some((l) => /^\s*[A-Za-z_]\w*:/.test(l.replace(/[;#].*$/, "")))) {
    throw new CorpusFormatError(`${c.name}: labels cannot be used together with .rept`);
  }
  const mapIndex = (name: string): number => {
    const k = c.maps.findIndex((m) => m.name === name);
    if (k < 0) throw new CorpusFormatError(`${c.name}: no map named ${name}`);
    return k;
  };
  const rewrite = (line: string): string => {
    const raw = /^(\s*(?:[A-Za-z_][\w]*:\s*)*)\.raw\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*(?:[;#].*)?$/.exec(line);
    if (raw) {
      const [code, dst, srcReg, off, imm] = raw.slice(2).map(parseInt0);
      if ([code, dst, srcReg, off, imm].some((v) => !Number.isInteger(v))) throw new CorpusFormatError(`${c.name}: bad .raw line "${line}"`);
      raws.push({ code: code!, dst: dst!, src: srcReg!, off: off!, imm: imm! | 0 });
      return `${raw[1]}r0 = ${RAW_MARK + raws.length - 1}`;
    }
    return line
      .replace(/\bmap_fd\(\s*([A-Za-z_]\w*)\s*\)/g, (_, n: string) => `map_fd(${mapIndex(n)})`)
      .replace(/\bmap_value\(\s*([A-Za-z_]\w*)\s*,/g, (_, n: string) => `map_value(${mapIndex(n)},`)
      .replace(/^(\s*(?:[A-Za-z_]\w*:\s*)*call\s+)([A-Za-z_]\w*)(\s*(?:[;#].*)?)$/, (all, pre: string, name: string, post: string) => {
        if (name === "local" || name === "kfunc") return all;
        const id = HELPER_BY_NAME.get(name);
        if (id === undefined) throw new CorpusFormatError(`${c.name}: unknown helper ${name}`);
        return `${pre}${id}${post}`;
      });
  };
  for (const r of repts) r.body = r.body.split("\n").map(rewrite).join("\n");
  return { text: out.map(rewrite).join("\n"), raws, repts };
}

/** The case's program as `struct bpf_insn` slots (asm and raw cases; object cases have none). */
export function buildRaw(c: CorpusCase): RawInsn[] {
  if (c.raw !== undefined) {
    const out: RawInsn[] = [];
    for (const line of c.raw.split("\n")) {
      const t = line.replace(/[;#].*$/, "").trim();
      if (t === "") continue;
      const f = t.split(/\s+/).map(parseInt0);
      if (f.length !== 5 || f.some((v) => !Number.isInteger(v))) throw new CorpusFormatError(`${c.name}: bad raw line "${line}"`);
      out.push({ code: f[0]!, dst: f[1]!, src: f[2]!, off: f[3]!, imm: f[4]! | 0 });
    }
    return out;
  }
  if (c.asm === undefined) throw new CorpusFormatError(`${c.name}: an object case has no instruction array`);
  const { text, raws, repts } = expandAsm(c, c.asm);
  const blocks = repts.map((r) => ({ slots: assembleSlots(r.body, raws, []), count: r.count }));
  return assembleSlots(text, raws, blocks);
}

function assembleSlots(text: string, raws: readonly RawInsn[], repts: readonly { slots: RawInsn[]; count: number }[]): RawInsn[] {
  const out: RawInsn[] = [];
  for (const insn of assemble(text, { syntax: "llvm" })) {
    if (insn.kind === "alu" && insn.op === "mov" && insn.alu64 && insn.dst === 0 && insn.src.kind === "imm") {
      const k = insn.src.imm - RAW_MARK;
      if (k >= 0 && k < raws.length) {
        out.push(raws[k]!);
        continue;
      }
      const r = insn.src.imm - REPT_MARK;
      if (r >= 0 && r < repts.length) {
        const { slots, count } = repts[r]!;
        for (let n = 0; n < count; n++) for (const slot of slots) out.push(slot);
        continue;
      }
    }
    out.push(...encodeInsn(insn));
  }
  return out;
}

/** errno names the kernel's BPF_PROG_LOAD returns. */
export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  7: "E2BIG",
  9: "EBADF",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  22: "EINVAL",
  28: "ENOSPC",
  95: "EOPNOTSUPP",
  524: "ENOTSUPP",
};

// ------------------------------------------------------------------- goldens

export interface KernelResult {
  verdict: Verdict;
  /** errno of BPF_PROG_LOAD (0 when accepted). */
  errno: number;
  errnoName?: string;
  /** The last lines of the log at log_level 1 (map ids normalised to `id:N`). */
  log: string[];
}

export interface GoldenFile {
  group: string;
  kernel: string;
  /** How the unprivileged cases were loaded. */
  unprivileged: string;
  cases: Record<string, KernelResult>;
}

export function goldenPath(group: string): string {
  return join(GOLDEN_DIR, `${group}.json`);
}

export function readGolden(group: string): GoldenFile | undefined {
  const p = goldenPath(group);
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as GoldenFile) : undefined;
}

/** Number of log lines kept in a golden. */
export const LOG_TAIL = 8;

/** The golden's view of a log: the last LOG_TAIL non-empty lines, map ids made stable. */
export function logTail(log: string): string[] {
  const lines = log.split("\n").filter((l) => l.trim() !== "");
  return lines.slice(-LOG_TAIL).map(normaliseLogLine);
}

/** Map addresses (`(18) r1 = 0xffff888104a3bc00`) and map ids differ on every load. */
export function normaliseLogLine(line: string): string {
  return line.replace(/(\(18\) r\d+ = )0xffff[0-9a-f]{12}\b/g, "$10xffff<masked>").replace(/\bmap\[id:\d+\]/g, "map[id:N]");
}

/** Does a result satisfy the case's expectation? Returns the reasons it does not. */
export function disagreements(c: CorpusCase, r: KernelResult): string[] {
  const out: string[] = [];
  if (r.verdict !== c.expect) out.push(`verdict: expected ${c.expect}, kernel ${r.verdict}`);
  if (c.message !== "" && !r.log.some((l) => l.includes(c.message))) {
    out.push(`message "${c.message}" not in the log tail:\n    ${r.log.slice(-3).join("\n    ")}`);
  }
  if (c.errno !== undefined && c.errno !== (r.errnoName ?? ERRNO_NAMES[r.errno] ?? String(r.errno))) {
    out.push(`errno: expected ${c.errno}, kernel ${r.errnoName ?? r.errno}`);
  }
  return out;
}
