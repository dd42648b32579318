/**
 * Differential test against libbpf, as bpftool runs it: `bpftool -d prog
 * loadall X.o` prints libbpf's debug log (programs found, every map definition
 * field, global data maps and their flags, subprograms appended, calls
 * relocated, map relocations) and the kernel's verifier log (func#N @pc). Our
 * ObjectSpec must say the same. Needs root, bpftool and bpffs; skips otherwise.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadCollectionSpec, objectNameFromPath, type MapSpecIn, type ObjectSpec } from "../../src/elf/index.js";
import { FIXTURE_DIR, bpftool, kernelAvailable, readBytes } from "../btf/objects.js";

/** Objects libbpf 1.x opens (legacy maps and big-endian objects it refuses; externs we refuse). */
const OBJECTS = ["btf_maps.o", "map_in_map.o", "global_data.o", "multi_prog.o", "subprogs.o", "bpf_loop.o", "btf_kinds.o", "core.o", "core_kernel.o"];
const PINNED_BY_NAME = ["pinned_lru"];

function libbpfLog(path: string): string {
  const dir = `/sys/fs/bpf/tsbpf-libbpf-${process.pid}-${randomBytes(4).toString("hex")}`;
  mkdirSync(dir);
  try {
    const r = spawnSync(bpftool()!, ["-d", "prog", "loadall", path, dir], { encoding: "utf8", maxBuffer: 64 << 20 });
    return `${r.stdout}\n${r.stderr}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (const n of PINNED_BY_NAME) if (existsSync(join("/sys/fs/bpf", n))) rmSync(join("/sys/fs/bpf", n), { force: true });
  }
}

const lines = (log: string, re: RegExp): RegExpMatchArray[] => [...log.matchAll(new RegExp(re.source, "gm"))];

/** libbpf's "map 'X': found ..." lines, as field -> value, per map. */
function mapFields(log: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const m of lines(log, /^libbpf: map '([^']+)': found (type|key|value|key_size|value_size|max_entries|map_flags|pinning|numa_node|map_extra) (?:\[(\d+)\], sz = |= )([0-9a-fx]+)\.$/)) {
    const rec = out.get(m[1]!) ?? {};
    rec[m[2]!] = m[3] !== undefined ? `[${m[3]}] ${m[4]}` : m[4]!;
    out.set(m[1]!, rec);
  }
  return out;
}

function ourFields(m: MapSpecIn): Record<string, string> {
  const r: Record<string, string> = { type: String(m.typeId), max_entries: String(m.maxEntries) };
  if (m.btfKey !== undefined) r.key = `[${m.btfKey.id}] ${m.keySize}`;
  else if (m.keySize !== 0) r.key_size = String(m.keySize);
  if (m.btfValue !== undefined) r.value = `[${m.btfValue.id}] ${m.valueSize}`;
  else if (m.valueSize !== 0 && !m.name.endsWith(".inner") && m.type !== "BPF_MAP_TYPE_PROG_ARRAY" && !m.type.endsWith("_OF_MAPS")) {
    r.value_size = String(m.valueSize);
  }
  return r;
}

describe("ObjectSpec agrees with libbpf (bpftool -d prog loadall)", { skip: kernelAvailable() ? undefined : "needs root, bpftool and bpffs" }, () => {
  for (const name of OBJECTS) {
    it(name, () => {
      const path = join(FIXTURE_DIR, name);
      const spec: ObjectSpec = loadCollectionSpec(readBytes(path), { name: objectNameFromPath(path) });
      const log = libbpfLog(path);

      // Entry-point programs, in libbpf's order.
      const found = lines(log, /^libbpf: sec '([^']+)': found program '([^']+)' at insn offset (\d+)/)
        .filter((m) => m[1] !== ".text")
        .map((m) => `${m[1]}:${m[2]}`);
      assert.deepEqual(spec.programs.map((p) => `${p.section}:${p.name}`), found, "programs");

      // BTF-defined maps, field by field (map_flags etc. only where libbpf saw them).
      const theirs = mapFields(log);
      const ours = spec.maps.filter((m) => m.kind === "btf").flatMap((m) => (m.innerMap !== undefined ? [m, m.innerMap] : [m]));
      assert.deepEqual(ours.map((m) => m.name), [...theirs.keys()], "BTF map names and order");
      for (const m of ours) {
        const t = theirs.get(m.name)!;
        const o = ourFields(m);
        if (t.map_flags !== undefined) o.map_flags = `0x${m.flags.toString(16)}`;
        if (t.pinning !== undefined) o.pinning = m.pinning === "by_name" ? "1" : "0";
        if (t.numa_node !== undefined) o.numa_node = String(m.numaNode);
        if (t.map_extra !== undefined) o.map_extra = `0x${m.mapExtra!.toString(16)}`;
        assert.deepEqual(o, t, `map ${m.name}`);
      }

      // Global data maps: names and flags. The libbpf in Debian's bpftool 7.1 sets BPF_F_MMAPABLE on
      // every data map; libbpf >= 1.1.0 (and we) only on those with a non-static variable.
      const MMAPABLE = 0x400;
      const ourData = spec.maps.filter((m) => m.kind !== "btf");
      const data = lines(log, /^libbpf: map '([^']+)' \(global data\): at sec_idx \d+, offset \d+, flags ([0-9a-f]+)\.$/).map((m, i) => {
        const flags = parseInt(m[2]!, 16);
        const ours = ourData[i];
        return `${m[1]} ${(ours !== undefined && (ours.flags & MMAPABLE) === 0 ? flags & ~MMAPABLE : flags).toString(16)}`;
      });
      assert.deepEqual(ourData.map((m) => `${m.name} ${m.flags.toString(16)}`), data, "global data maps");

      // Subprograms appended per program, and the calls libbpf relocated.
      let current = "";
      const appended = new Map<string, string[]>();
      for (const m of lines(log, /^libbpf: prog '([^']+)': (?:added \d+ insns from sub-prog '([^']+)'|insn #(\d+) relocated, imm (-?\d+) points to subprog '([^']+)')/)) {
        if (m[2] !== undefined) {
          current = m[1]!;
          appended.set(current, [...(appended.get(current) ?? []), m[2]]);
          continue;
        }
        const p = spec.programs.find((x) => x.name === (spec.programs.some((y) => y.name === m[1]) ? m[1] : current))!;
        const base = p.functions.find((f) => f.name === m[1])!.pc;
        const insn = p.insns.find((i) => i.pc === base + Number(m[3]))!;
        assert.ok(insn.kind === "call" || insn.kind === "ld_imm64", `${p.name}: insn ${base + Number(m[3])}`);
        assert.equal(insn.imm, Number(m[4]), `${p.name}: ${m[1]} insn #${m[3]} -> ${m[5]}`);
      }
      for (const p of spec.programs) assert.deepEqual(p.functions.slice(1).map((f) => f.name), appended.get(p.name) ?? [], `${p.name}: subprograms`);

      // Map and data relocations, by function and instruction.
      const relos = lines(log, /^libbpf: prog '([^']+)': found (?:data )?map \d+ \(([^,]+), sec \d+, off \d+\) for insn #?(\d+)$/).map((m) => `${m[1]}#${m[3]}:${m[2]}`);
      const ourRelos = new Set<string>();
      for (const p of spec.programs) {
        for (const r of p.references) {
          const fn = [...p.functions].reverse().find((f) => f.pc <= r.pc)!;
          ourRelos.add(`${fn.name}#${r.pc - fn.pc}:${r.map}`);
        }
      }
      assert.deepEqual([...ourRelos].sort(), [...new Set(relos)].sort(), "map relocations");
    });
  }
});
