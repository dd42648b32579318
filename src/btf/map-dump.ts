/**
 * `bpftool map dump` and `bpftool map lookup` output (tools/bpf/bpftool/map.c,
 * v7.1), for maps whose entries the caller has already read:
 *   - plain text without BTF: "key: 01 02  value: 03 04" lines (fprint_hex
 *     grouping), "value (CPU 00): ..." for per-CPU maps, then "Found N elements";
 *   - plain text with BTF: a pretty JSON array of {"key": .., "value": ..}
 *     objects formatted by type (do_dump_btf with is_plain_text);
 *   - JSON (-j / -p): [{"key": ["0x01", ..], "value": [..], "formatted": {..}}].
 * Per-CPU maps print "values": [{"cpu": N, "value": ..}] in the formatted parts.
 * Lookup errors print like print_entry_error(); ENOENT in a prog array or
 * map-in-map is silent, as in bpftool.
 */
import type { BtfType } from "./types.js";
import { JsonWriter } from "./json-writer.js";
import { writeValue } from "./value.js";
import type { ByteOrder } from "./wire.js";

export interface MapDumpInfo {
  /** Kernel map type name ("BPF_MAP_TYPE_PERCPU_ARRAY"): decides per-CPU layout and silent ENOENTs. */
  readonly type: string;
  readonly keySize: number;
  readonly valueSize: number;
  /** The map's BTF key type (btf_key_type_id); absent for maps without a key type (global data). */
  readonly btfKey?: BtfType;
  /** The map's BTF value type; a map "has BTF" (bpftool's btf_id != 0) when this is set. */
  readonly btfValue?: BtfType;
}

export type MapDumpEntry =
  | { readonly key: Uint8Array; readonly value: Uint8Array }
  /** Per-CPU maps: one value per possible CPU. */
  | { readonly key: Uint8Array; readonly values: readonly Uint8Array[] }
  /** A failed lookup: errno name ("ENOENT") and its strerror text. */
  | { readonly key: Uint8Array; readonly errno: string; readonly message: string };

export interface MapDumpOptions {
  /** -j */
  json?: boolean;
  /** -p (implies json) */
  pretty?: boolean;
  /** Byte order of keys and values (default little). */
  byteOrder?: ByteOrder;
}

const PER_CPU = new Set([
  "BPF_MAP_TYPE_PERCPU_HASH",
  "BPF_MAP_TYPE_PERCPU_ARRAY",
  "BPF_MAP_TYPE_LRU_PERCPU_HASH",
  "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE",
]);
const SILENT_ENOENT = new Set(["BPF_MAP_TYPE_ARRAY_OF_MAPS", "BPF_MAP_TYPE_HASH_OF_MAPS", "BPF_MAP_TYPE_PROG_ARRAY"]);

export const isPerCpuMapType = (type: string): boolean => PER_CPU.has(type);

/** fprint_hex(): bytes as %02x, a double space every 8 bytes, a newline every 16. */
export function fprintHex(data: Uint8Array, sep = " "): string {
  let s = "";
  for (let i = 0; i < data.length; i++) {
    let pfx = "";
    if (i === 0) {
      /* nothing */
    } else if (i % 16 === 0) s += "\n";
    else if (i % 8 === 0) s += "  ";
    else pfx = sep;
    s += pfx + data[i]!.toString(16).padStart(2, "0");
  }
  return s;
}

function hexJson(w: JsonWriter, data: Uint8Array): void {
  w.startArray();
  for (const b of data) w.raw(`"0x${b.toString(16).padStart(2, "0")}"`);
  w.endArray();
}

/** do_dump_btf(): {"key": .., "value": ..} or {"key": .., "values": [{"cpu": i, "value": ..}]}. */
function dumpBtf(w: JsonWriter, info: MapDumpInfo, e: MapDumpEntry, plain: boolean, order: ByteOrder): void {
  const o = { plain, byteOrder: order };
  w.startObject();
  let ok = true;
  if (info.btfKey !== undefined) {
    w.name("key");
    ok = writeValue(w, info.btfKey, e.key, o);
  }
  if (ok && info.btfValue !== undefined) {
    if ("values" in e) {
      w.name("values");
      w.startArray();
      for (let i = 0; i < e.values.length; i++) {
        w.startObject();
        w.intField("cpu", i);
        w.name("value");
        const r = writeValue(w, info.btfValue, e.values[i]!, o);
        w.endObject();
        if (!r) break;
      }
      w.endArray();
    } else if ("value" in e) {
      w.name("value");
      writeValue(w, info.btfValue, e.value, o);
    }
  }
  w.endObject();
}

function entryJson(w: JsonWriter, info: MapDumpInfo, e: MapDumpEntry, order: ByteOrder): void {
  w.startObject();
  w.name("key");
  hexJson(w, e.key);
  if ("errno" in e) {
    w.name("value");
    w.startObject();
    w.stringField("error", e.message);
    w.endObject();
    w.endObject();
    return;
  }
  if ("values" in e) {
    w.name("values");
    w.startArray();
    e.values.forEach((v, i) => {
      w.startObject();
      w.intField("cpu", i);
      w.name("value");
      hexJson(w, v);
      w.endObject();
    });
    w.endArray();
  } else {
    w.name("value");
    hexJson(w, e.value);
  }
  if (info.btfValue !== undefined) {
    w.name("formatted");
    dumpBtf(w, info, e, false, order);
  }
  w.endObject();
}

function entryPlain(info: MapDumpInfo, e: MapDumpEntry): string {
  if ("errno" in e) {
    const msg = e.errno === "ENOENT" ? "<no entry>" : e.message;
    const breakNames = info.keySize > 16 || msg.length > 16;
    const single = info.keySize + msg.length <= 24 && !breakNames;
    return `key:${breakNames ? "\n" : " "}${fprintHex(e.key)}${single ? "  " : "\n"}value:${breakNames ? "\n" : " "}${msg}\n`;
  }
  if ("values" in e) {
    let s = "";
    if (info.keySize !== 0) s += `key:\n${fprintHex(e.key)}\n`;
    if (info.valueSize !== 0) {
      e.values.forEach((v, i) => {
        s += `value (CPU ${String(i).padStart(2, "0")}):${info.valueSize > 16 ? "\n" : " "}${fprintHex(v)}\n`;
      });
    }
    return s;
  }
  const breakNames = info.keySize > 16 || info.valueSize > 16;
  const single = info.keySize + info.valueSize <= 24 && !breakNames;
  let s = "";
  if (info.keySize !== 0) s += `key:${breakNames ? "\n" : " "}${fprintHex(e.key)}${single ? "  " : "\n"}`;
  if (info.valueSize !== 0) s += `value:${breakNames ? "\n" : " "}${fprintHex(e.value)}`;
  return s + "\n";
}

const skipped = (info: MapDumpInfo, e: MapDumpEntry): boolean => "errno" in e && e.errno === "ENOENT" && SILENT_ENOENT.has(info.type);

/** The whole output of `bpftool map dump` for one map, trailing newline included. */
export function formatMapDump(info: MapDumpInfo, entries: readonly MapDumpEntry[], opts: MapDumpOptions = {}): string {
  const order = opts.byteOrder ?? "little";
  const json = opts.json === true || opts.pretty === true;
  if (json) {
    const w = new JsonWriter({ pretty: opts.pretty === true });
    w.startArray();
    for (const e of entries) if (!skipped(info, e)) entryJson(w, info, e, order);
    w.endArray();
    return w.destroy();
  }
  if (info.btfValue !== undefined) {
    const w = new JsonWriter({ pretty: true });
    w.startArray();
    for (const e of entries) {
      if (skipped(info, e)) continue;
      if ("errno" in e) {
        // print_entry_error() writes plain text to stdout between the writer's output.
        w.out += entryPlain(info, e);
        continue;
      }
      dumpBtf(w, info, e, true, order);
    }
    w.endArray();
    return w.destroy();
  }
  let s = "";
  let n = 0;
  for (const e of entries) {
    if (skipped(info, e)) continue;
    s += entryPlain(info, e);
    if (!("errno" in e)) n++;
  }
  return s + `Found ${n} element${n !== 1 ? "s" : ""}\n`;
}

/** `bpftool map lookup` output for one entry, trailing newline included. */
export function formatMapLookup(info: MapDumpInfo, entry: MapDumpEntry, opts: MapDumpOptions = {}): string {
  const order = opts.byteOrder ?? "little";
  if (opts.json === true || opts.pretty === true) {
    const w = new JsonWriter({ pretty: opts.pretty === true });
    entryJson(w, info, entry, order);
    return w.destroy();
  }
  if (info.btfValue !== undefined && !("errno" in entry)) {
    const w = new JsonWriter({ pretty: true });
    dumpBtf(w, info, entry, true, order);
    return w.destroy();
  }
  return entryPlain(info, entry);
}
