/**
 * bpftool-style commands over an object file: `prog show|dump|run`, `map dump|lookup|
 * update|delete`, `btf dump`, `feature`. There is no kernel holding state between
 * commands, so maps live in the process for one command and persist through pins
 * (--pin-maps DIR writes them, --maps DIR loads them back; `map ... DIR/NAME` works on
 * a pin directly).
 */
import { basename, join } from "node:path";
import { disassemble } from "../../asm/index.js";
import { formatBtfDump, formatMapDump, formatMapLookup, type MapDumpEntry, type MapDumpInfo } from "../../btf/index.js";
import { loadCollectionSpec, type ObjectSpec } from "../../elf/index.js";
import { HELPER_IDS, IMPLEMENTED_HELPER_IDS, helpersByProgramType } from "../../helpers/index.js";
import { MAP_TYPES, createMap, type BpfMap, type MapSpec } from "../../maps/index.js";
import { PROG_TYPES, shortProgTypeName, testRunKind } from "../../progtypes/index.js";
import { Runtime, loadCollection, type Collection, type Program } from "../../runtime/index.js";
import { AddressSpace } from "../../vm/index.js";
import { CliFailure, readInput, type CliIo } from "../io.js";
import { pinEntries, pinMap, readPin, restorePin } from "../pin.js";
import { Progress } from "../progress.js";

const helperName = (id: number): string | undefined => HELPER_IDS.find((h) => h.id === id)?.name;
const objName = (file: string): string => basename(file).split(".")[0] ?? "obj";

export function openObject(io: CliIo, file: string): ObjectSpec {
  return loadCollectionSpec(readInput(io, file, "object"), { name: objName(file) });
}

function pickProgram(col: Collection, name: string | undefined, file: string): Program {
  if (name !== undefined) {
    const p = col.programs.get(name);
    if (p === undefined) throw new CliFailure(`no program '${name}' in ${file}; programs: ${[...col.programs.keys()].join(", ")}`);
    return p;
  }
  const first = col.programs.values().next();
  if (first.done === true) throw new CliFailure(`${file} has no programs`);
  return first.value;
}

/** bpftool's byte lists: `24 0 0 0 10 1 2 0`, `0x0a ...`, or `hex 0a 01 ...`. */
export function parseBytes(words: readonly string[], what: string): Uint8Array {
  let base: number | undefined;
  const out: number[] = [];
  for (const w of words) {
    if (w === "hex") {
      base = 16;
      continue;
    }
    const v = base === 16 ? parseInt(w, 16) : w.startsWith("0x") ? parseInt(w.slice(2), 16) : /^0[0-7]+$/.test(w) ? parseInt(w, 8) : Number(w);
    if (!Number.isInteger(v) || v < 0 || v > 255 || (base === 16 && !/^[0-9a-fA-F]{1,2}$/.test(w))) throw new CliFailure(`${what}: '${w}' is not a byte`);
    out.push(v);
  }
  return Uint8Array.from(out);
}

/** Splits `key ... value ...` words. */
function keyValue(words: readonly string[], needValue: boolean): { key: Uint8Array; value?: Uint8Array; flags: number } {
  const ki = words.indexOf("key");
  if (ki < 0) throw new CliFailure("expected 'key BYTES'");
  const vi = words.indexOf("value");
  const end = (i: number) => {
    const stops = ["key", "value", "any", "exist", "noexist"].map((k) => words.indexOf(k, i + 1)).filter((j) => j > i);
    return stops.length === 0 ? words.length : Math.min(...stops);
  };
  const key = parseBytes(words.slice(ki + 1, end(ki)), "key");
  const value = vi < 0 ? undefined : parseBytes(words.slice(vi + 1, end(vi)), "value");
  if (needValue && value === undefined) throw new CliFailure("expected 'value BYTES'");
  const flags = words.includes("noexist") ? 1 : words.includes("exist") ? 2 : 0;
  return value === undefined ? { key, flags } : { key, value, flags };
}

function dumpInfo(map: BpfMap, spec?: ObjectSpec): MapDumpInfo {
  const m = spec?.maps.find((x) => x.name === map.spec.name);
  const info: { type: string; keySize: number; valueSize: number; btfKey?: MapDumpInfo["btfKey"]; btfValue?: MapDumpInfo["btfValue"] } = { type: map.spec.type, keySize: map.spec.keySize, valueSize: map.spec.valueSize };
  if (m?.btfKey !== undefined) info.btfKey = m.btfKey;
  if (m?.btfValue !== undefined) info.btfValue = m.btfValue;
  return info;
}

function entriesOf(map: BpfMap): MapDumpEntry[] {
  const out: MapDumpEntry[] = [];
  for (let k = map.nextKey(); k !== undefined; k = map.nextKey(k)) {
    if (map.isPercpu) {
      const vs = map.lookupPerCpu(k);
      if (vs !== undefined) out.push({ key: k, values: vs });
    } else {
      const v = map.lookup(k);
      if (v !== undefined) out.push({ key: k, value: v });
    }
  }
  return out;
}

export interface ProgRunOptions {
  dataIn?: string;
  dataOut?: string;
  ctxIn?: string;
  ctxOut?: string;
  repeat?: string;
  cpu?: string;
  mapUpdate?: string[];
  dumpMap?: string[];
  pinMaps?: string;
  maps?: string;
  json?: boolean;
  /** Unset: the runtime's default (the JIT for verified programs, the interpreter with --no-verify). */
  engine?: "interp" | "jit";
  /** commander's --no-verify */
  verify?: boolean;
  unprivileged?: boolean;
}

export function progRun(file: string, name: string | undefined, o: ProgRunOptions, io: CliIo): number {
  const spec = openObject(io, file);
  const rt = new Runtime();
  if (name !== undefined && !spec.programs.some((p) => p.name === name)) {
    throw new CliFailure(`no program '${name}' in ${file}; programs: ${spec.programs.map((p) => p.name).join(", ")}`);
  }
  const col = loadCollection(rt, spec, { verify: o.verify !== false, privileged: o.unprivileged !== true, ...(o.engine !== undefined ? { engine: o.engine } : {}), ...(name !== undefined ? { programs: [name] } : {}) });
  if (o.maps !== undefined) for (const [n, m] of col.maps) restorePin(m, join(o.maps, n));
  for (const u of o.mapUpdate ?? []) {
    const words = u.trim().split(/\s+/);
    const m = col.maps.get(words[0] ?? "");
    if (m === undefined) throw new CliFailure(`--map-update: no map '${words[0]}'; maps: ${[...col.maps.keys()].join(", ")}`);
    const kv = keyValue(words.slice(1), true);
    m.update(kv.key, kv.value!, kv.flags);
  }
  const prog = pickProgram(col, name, file);
  const repeat = o.repeat === undefined ? 1 : Number(o.repeat);
  if (!Number.isSafeInteger(repeat) || repeat < 1) throw new CliFailure(`--repeat must be a positive integer, got '${o.repeat}'`);
  const opts: { dataIn?: Uint8Array; ctxIn?: Uint8Array; repeat: number; cpu: number } = { repeat, cpu: Number(o.cpu ?? 0) };
  if (o.dataIn !== undefined) opts.dataIn = readInput(io, o.dataIn, "data_in");
  if (o.ctxIn !== undefined) opts.ctxIn = readInput(io, o.ctxIn, "ctx_in");
  // A progress bar on stderr for long runs.
  let bar: Progress | undefined;
  if (process.stderr.isTTY === true && repeat >= 10_000) {
    bar = new Progress((t) => io.err(t));
    const b = bar;
    (opts as { onProgress?: (done: number, total: number) => void }).onProgress = (done, total) => b.update(done / total, `${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} runs`);
  }
  const r = prog.testRun(opts);
  bar?.done();
  if (o.dataOut !== undefined && r.dataOut !== undefined) io.writeFile(o.dataOut, r.dataOut);
  if (o.ctxOut !== undefined && r.ctxOut !== undefined) io.writeFile(o.ctxOut, r.ctxOut);
  const ns = Math.round(r.durationNs);
  // The verified JIT does not count instructions (it would cost the speed prog run measures).
  if (o.json === true) io.out(`${JSON.stringify({ retval: r.retval, duration: ns, ...(prog.jitMode === "verified" ? {} : { executed: r.executed }), engine: prog.engine })}\n`);
  else io.out(`Return value: ${r.retval}, duration${repeat > 1 ? " (average)" : ""}: ${ns}ns\n`);
  for (const line of rt.traceLines) io.err(`trace: ${line}\n`);
  for (const n of o.dumpMap ?? []) {
    const m = col.maps.get(n);
    if (m === undefined) throw new CliFailure(`--dump-map: no map '${n}'`);
    io.out(formatMapDump(dumpInfo(m, spec), entriesOf(m), { json: o.json === true }));
  }
  if (o.pinMaps !== undefined) for (const [n, m] of col.maps) pinMap(m, o.pinMaps, n);
  col.close();
  return 0;
}

export function progShow(file: string, io: CliIo, json: boolean): number {
  const spec = openObject(io, file);
  const rt = new Runtime();
  const col = loadCollection(rt, spec);
  const mapIds = (name: string): number[] => {
    const refs = spec.programs.find((x) => x.name === name)?.references ?? [];
    return [...new Set(refs.map((r) => col.maps.get(r.map)?.id).filter((id): id is number => id !== undefined))].sort((a, b) => a - b);
  };
  const rows = [...col.programs.values()].map((p) => {
    const s = spec.programs.find((x) => x.name === p.name)!;
    const slots = p.predecoded.length;
    return { id: p.id, type: shortProgTypeName(p.type), name: p.name, section: s.section, gpl: /GPL|Dual/.test(p.license), xlated: slots * 8, insns: slots, map_ids: mapIds(p.name) };
  });
  if (json) io.out(`${JSON.stringify(rows)}\n`);
  else for (const r of rows) io.out(`${r.id}: ${r.type}  name ${r.name}  ${r.gpl ? "gpl" : ""}\n\tsection ${r.section}  xlated ${r.xlated}B  insns ${r.insns}${r.map_ids.length > 0 ? `  map_ids ${r.map_ids.join(",")}` : ""}\n`);
  col.close();
  return 0;
}

export function progDump(file: string, name: string | undefined, o: { linum?: boolean; style?: string }, io: CliIo): number {
  const spec = openObject(io, file);
  const p = name === undefined ? spec.programs[0] : spec.programs.find((x) => x.name === name);
  if (p === undefined) throw new CliFailure(name === undefined ? `${file} has no programs` : `no program '${name}' in ${file}; programs: ${spec.programs.map((x) => x.name).join(", ")}`);
  const style = o.style === "llvm" ? "llvm" : "xlated";
  const lines = disassemble(p.insns, { style, indexFormat: "bpftool", helperName });
  const byPc = new Map(p.insns.map((insn, i) => [insn.pc, i]));
  const funcs = new Map(p.functions.map((f) => [f.pc, f.name]));
  const lineAt = new Map(p.lineInfo.map((l) => [l.pc, l]));
  p.insns.forEach((insn, i) => {
    const f = funcs.get(insn.pc);
    if (f !== undefined && insn.pc !== 0) io.out(`${f}:\n`);
    const li = lineAt.get(insn.pc);
    if (li !== undefined) io.out(`; ${li.line.trim()}${o.linum === true ? ` [file:${li.fileName} line_num:${li.lineNumber} line_col:${li.column}]` : ""}\n`);
    io.out(`${lines[byPc.get(insn.pc) ?? i]}\n`);
  });
  return 0;
}

export function mapCommand(op: "dump" | "lookup" | "update" | "delete", target: string, mapName: string | undefined, words: readonly string[], o: { json?: boolean }, io: CliIo): number {
  // Either OBJ.o MAP (fresh maps from the object) or DIR/NAME (a pin).
  let map: BpfMap;
  let spec: ObjectSpec | undefined;
  let pinPath: string | undefined;
  let col: Collection | undefined;
  const bytes = (() => {
    try {
      return io.readFile(target);
    } catch {
      return undefined;
    }
  })();
  if (bytes !== undefined && bytes[0] === 0x7f && bytes[1] === 0x45) {
    spec = loadCollectionSpec(bytes, { name: objName(target) });
    col = loadCollection(new Runtime(), spec);
    if (mapName === undefined) throw new CliFailure(`name a map of ${target}: ${[...col.maps.keys()].join(", ")}`);
    const m = col.maps.get(mapName);
    if (m === undefined) throw new CliFailure(`no map '${mapName}' in ${target}; maps: ${[...col.maps.keys()].join(", ")}`);
    map = m;
  } else {
    pinPath = target;
    const f = readPin(target);
    map = createMap(f.spec as MapSpec, { space: new AddressSpace(), numCpus: 2, currentCpu: () => 0 });
    for (const e of pinEntries(f)) map.update(e.key, e.value);
    if (mapName !== undefined) words = [mapName, ...words];
  }
  const info = dumpInfo(map, spec);
  switch (op) {
    case "dump":
      io.out(formatMapDump(info, entriesOf(map), { json: o.json === true }));
      break;
    case "lookup": {
      const { key } = keyValue(words, false);
      const vs = map.isPercpu ? map.lookupPerCpu(key) : undefined;
      const v = map.isPercpu ? undefined : map.lookup(key);
      if (vs === undefined && v === undefined) throw new CliFailure(`lookup failed: No such file or directory`);
      io.out(formatMapLookup(info, vs !== undefined ? { key, values: vs } : { key, value: v! }, { json: o.json === true }));
      break;
    }
    case "update": {
      const kv = keyValue(words, true);
      map.update(kv.key, kv.value!, kv.flags);
      break;
    }
    case "delete":
      map.delete(keyValue(words, false).key);
      break;
  }
  if (pinPath !== undefined && (op === "update" || op === "delete")) {
    const slash = pinPath.lastIndexOf("/");
    pinMap(map, slash < 0 ? "." : pinPath.slice(0, slash), pinPath.slice(slash + 1));
  } else if (op === "update" || op === "delete") {
    io.err(`note: ${target} is an object file; the change lasts for this command only (use a pin: prog run --pin-maps DIR)\n`);
  }
  col?.close();
  return 0;
}

export function btfDump(file: string, o: { json?: boolean }, io: CliIo): number {
  const spec = openObject(io, file);
  if (spec.btf === undefined) throw new CliFailure(`${file} has no .BTF section`);
  io.out(formatBtfDump(spec.btf, { json: o.json === true }));
  return 0;
}

export function feature(o: { json?: boolean }, io: CliIo): number {
  const byType = helpersByProgramType();
  const runnable = new Set(PROG_TYPES.filter((t) => testRunKind(t.name) !== undefined).map((t) => t.name));
  const maps = MAP_TYPES.filter((m) => m.supported);
  if (o.json === true) {
    const helpers: Record<string, string[]> = {};
    for (const [t, hs] of byType) helpers[shortProgTypeName(t)] = hs.map((h) => h.name);
    io.out(`${JSON.stringify({ program_types: [...runnable].map((n) => shortProgTypeName(n)), map_types: maps.map((m) => m.name), helpers })}\n`);
    return 0;
  }
  io.out("Scanning eBPF program types...\n");
  for (const t of PROG_TYPES) {
    if (t.id === 0) continue;
    io.out(`eBPF program_type ${shortProgTypeName(t.name)} is ${runnable.has(t.name) ? "available" : "NOT available"}\n`);
  }
  io.out("\nScanning eBPF map types...\n");
  for (const m of MAP_TYPES) if (m.id !== 0) io.out(`eBPF map_type ${m.name.slice("BPF_MAP_TYPE_".length).toLowerCase()} is ${m.supported ? "available" : "NOT available"}\n`);
  io.out("\nScanning eBPF helper functions...\n");
  for (const [t, hs] of byType) {
    io.out(`eBPF helpers supported for program type ${shortProgTypeName(t)}:\n`);
    for (const h of hs) io.out(`\t- ${h.name}\n`);
  }
  io.out(`\n${IMPLEMENTED_HELPER_IDS.length} of ${HELPER_IDS.length} kernel helpers implemented\n`);
  return 0;
}
