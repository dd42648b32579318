/**
 * loadCollectionSpec() on the bench objects and our fixtures: programs by
 * section and symbol, maps of every flavour, linking of subprograms, map
 * references, .BTF.ext remapping, static initialisation, big-endian objects,
 * and the precise rejection of unsupported externs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { formatBtfDump, parseBtf, sizeOf, type BtfType } from "../../src/btf/index.js";
import {
  internalMapName,
  loadCollectionSpec,
  objectNameFromPath,
  sectionInfo,
  UnsupportedFeatureError,
  type ObjectSpec,
  type ProgramSpecIn,
} from "../../src/elf/index.js";
import { ElfError } from "../../src/errors/index.js";
import { branchTarget, type Insn } from "../../src/isa/index.js";
import { BENCH_OBJ_DIR } from "../support/paths.js";
import { BENCH_SKIP, FIXTURE_DIR, btfSection, readBytes } from "../btf/objects.js";

const load = (path: string): ObjectSpec => loadCollectionSpec(readBytes(path), { name: objectNameFromPath(path) });
const fixture = (name: string): ObjectSpec => load(join(FIXTURE_DIR, name));
const prog = (spec: ObjectSpec, name: string): ProgramSpecIn => {
  const p = spec.programs.find((x) => x.name === name);
  assert.ok(p !== undefined, `no program ${name} (have ${spec.programs.map((x) => x.name).join(", ")})`);
  return p;
};
const at = (p: ProgramSpecIn, pc: number): Insn => {
  const i = p.insns.find((x) => x.pc === pc);
  assert.ok(i !== undefined, `no instruction at pc ${pc}`);
  return i;
};
const slots = (p: ProgramSpecIn): number => p.insns.reduce((n, i) => n + (i.kind === "ld_imm64" ? 2 : 1), 0);

describe("bench objects", { skip: BENCH_SKIP }, () => {
  it("flow_count: one xdp program, map flows HASH 16/16/65536", () => {
    const spec = load(join(BENCH_OBJ_DIR, "flow_count.o"));
    assert.deepEqual(spec.programs.map((p) => [p.name, p.section, p.type, p.expectedAttachType]), [["flow_count", "xdp", "xdp", "BPF_XDP"]]);
    assert.equal(spec.maps.length, 1);
    const flows = spec.maps[0]!;
    assert.deepEqual(
      [flows.name, flows.type, flows.keySize, flows.valueSize, flows.maxEntries, flows.flags, flows.kind],
      ["flows", "BPF_MAP_TYPE_HASH", 16, 16, 65536, 0, "btf"],
    );
    assert.equal(flows.btfKey?.name, "flow_key");
    assert.equal(flows.btfValue?.name, "flow_stats");
    assert.equal(spec.license, "Dual MIT/GPL");
    const p = spec.programs[0]!;
    assert.deepEqual(p.references.map((r) => [r.kind, r.map]), [["map", "flows"], ["map", "flows"]]);
    for (const r of p.references) {
      const i = at(p, r.pc);
      assert.ok(i.kind === "ld_imm64" && i.pseudo === "map_idx" && i.imm === 0);
    }
  });

  it("lpm_filter: deny_v4 LPM_TRIE 8/4/1024 BPF_F_NO_PREALLOC, verdicts PERCPU_ARRAY 4/8/5", () => {
    const spec = load(join(BENCH_OBJ_DIR, "lpm_filter.o"));
    const summary = spec.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags]);
    assert.deepEqual(summary, [
      ["deny_v4", "BPF_MAP_TYPE_LPM_TRIE", 8, 4, 1024, 1],
      ["verdicts", "BPF_MAP_TYPE_PERCPU_ARRAY", 4, 8, 5, 0],
    ]);
    assert.equal(new Set(spec.programs[0]!.references.map((r) => r.map)).size, 2);
  });

  it("alu_loop, csum_pkt, stack_sieve: one xdp program, no maps, instructions as in the section", () => {
    for (const n of ["alu_loop", "csum_pkt", "stack_sieve"]) {
      const spec = load(join(BENCH_OBJ_DIR, `${n}.o`));
      assert.deepEqual(spec.programs.map((p) => p.name), [n]);
      assert.equal(spec.maps.length, 0);
      const raw = readBytes(join(BENCH_OBJ_DIR, `${n}.xdp.bin`));
      assert.equal(slots(spec.programs[0]!) * 8, raw.length);
      assert.equal(spec.programs[0]!.funcInfo[0]?.func.name, n);
      assert.ok(spec.programs[0]!.lineInfo.length > 0);
    }
  });
});

describe("fixtures", () => {
  it("btf_maps: every map definition field", () => {
    const spec = fixture("btf_maps.o");
    const m = Object.fromEntries(spec.maps.map((x) => [x.name, x]));
    assert.deepEqual(Object.keys(m), ["flows", "counters", "raw_sizes", "pinned_lru", "locks", "bloom", "queue", "events", "misc", "percpu_raw", "trie"]);
    assert.equal(m.flows!.btfKey?.name, "flow_key");
    assert.equal(m.flows!.valueSize, 32);
    assert.equal(m.raw_sizes!.btfKey, undefined);
    assert.deepEqual([m.raw_sizes!.keySize, m.raw_sizes!.valueSize], [4, 16]);
    assert.equal(m.pinned_lru!.pinning, "by_name");
    assert.equal(m.pinned_lru!.flags, 2);
    assert.equal(m.flows!.pinning, "none");
    assert.equal(m.locks!.spinLockOffset, 4);
    assert.equal(m.locks!.numaNode, 0);
    assert.equal(m.flows!.spinLockOffset, undefined);
    assert.equal(m.bloom!.mapExtra, 3n);
    assert.deepEqual([m.bloom!.keySize, m.bloom!.valueSize], [0, 4]);
    assert.deepEqual([m.events!.type, m.events!.maxEntries], ["BPF_MAP_TYPE_RINGBUF", 4096]);
    assert.deepEqual([m.trie!.type, m.trie!.flags], ["BPF_MAP_TYPE_LPM_TRIE", 1]);
    const p = prog(spec, "use_maps");
    assert.deepEqual(
      p.references.map((r) => r.map),
      ["flows", "counters", "raw_sizes", "pinned_lru", "locks", "bloom", "queue", "events", "misc", "percpu_raw", "trie"],
    );
    for (const r of p.references) {
      const i = at(p, r.pc);
      assert.ok(i.kind === "ld_imm64" && i.pseudo === "map_idx");
      assert.equal(spec.maps[i.imm]!.name, r.map);
    }
  });

  it("map_in_map: inner maps and static initialisation of map-in-maps and prog arrays", () => {
    const spec = fixture("map_in_map.o");
    const outer = spec.maps.find((x) => x.name === "outer_arr")!;
    assert.equal(outer.type, "BPF_MAP_TYPE_ARRAY_OF_MAPS");
    assert.equal(outer.valueSize, 4);
    assert.deepEqual(
      [outer.innerMap?.name, outer.innerMap?.type, outer.innerMap?.keySize, outer.innerMap?.valueSize, outer.innerMap?.maxEntries],
      ["outer_arr.inner", "BPF_MAP_TYPE_ARRAY", 4, 8, 2],
    );
    assert.deepEqual(outer.contents, [{ index: 0, map: "inner_a" }, { index: 2, map: "inner_b" }]);
    const hash = spec.maps.find((x) => x.name === "outer_hash")!;
    assert.equal(hash.innerMap?.type, "BPF_MAP_TYPE_HASH");
    assert.equal(hash.contents, undefined);
    const jumps = spec.maps.find((x) => x.name === "jumps")!;
    assert.deepEqual(jumps.contents, [{ index: 1, program: "tail_b" }, { index: 3, program: "tail_c" }]);
    assert.deepEqual(spec.programs.map((p) => p.name), ["tail_b", "tail_c", "entry"]);
  });

  it("legacy_maps: struct bpf_map_def in SEC(\"maps\"), version section", () => {
    const spec = fixture("legacy_maps.o");
    assert.deepEqual(
      spec.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.kind]),
      [
        ["legacy_hash", "BPF_MAP_TYPE_HASH", 4, 8, 256, 1, "legacy"],
        ["legacy_array", "BPF_MAP_TYPE_ARRAY", 4, 4, 2, 0, "legacy"],
      ],
    );
    assert.equal(spec.kernelVersion, 0x050a00);
    const p = prog(spec, "legacy_prog");
    assert.equal(p.type, "socket_filter");
    assert.deepEqual(p.references.map((r) => r.map), ["legacy_hash", "legacy_array"]);
  });

  it("global_data: .data/.rodata/.bss/.data.custom as single-element arrays named like libbpf", () => {
    const spec = fixture("global_data.o");
    const summary = spec.maps.map((m) => [m.name, m.kind, m.keySize, m.valueSize, m.maxEntries, m.flags, m.realName]);
    assert.deepEqual(summary, [
      ["global_d.data", "data", 4, 12, 1, 0x400, ".data"],
      ["global_d.rodata", "rodata", 4, 42, 1, 0x480, ".rodata"],
      [".data.custom", "data", 4, 4, 1, 0x400, ".data.custom"],
      ["global_d.bss", "bss", 4, 12, 1, 0x400, ".bss"],
    ]);
    const data = spec.maps[0]!;
    const c = data.contents![0]!;
    assert.ok("key" in c && c.value.length === 12);
    assert.equal(new DataView(c.value.buffer, c.value.byteOffset).getInt32(0, true), 42); // counter = 42
    assert.equal(spec.maps[3]!.contents, undefined);
    assert.equal(data.btfValue?.kind, "datasec");
    const sec = data.btfValue;
    assert.ok(sec?.kind === "datasec" && sec.size === 12);
    assert.deepEqual(sec.vars.map((v) => [v.type.name, v.offset]), [["counter", 0], ["hidden_global", 4], ["hidden_static", 8]]);
    const hidden = sec.vars[1]!.type;
    assert.ok(hidden.kind === "var" && hidden.linkage === "static"); // STV_HIDDEN -> static, as libbpf marks it
    const p = prog(spec, "globals");
    assert.equal(p.type, "sched_cls");
    const refs = p.references.map((r) => `${r.map}+${r.offset}`);
    assert.deepEqual(refs, [
      "global_d.data+0",
      "global_d.bss+0",
      ".data.custom+0",
      "global_d.data+8",
      "global_d.data+4",
      "global_d.bss+8",
      "global_d.rodata+0",
      "global_d.rodata+20",
      "global_d.rodata+4",
    ]);
    for (const r of p.references) {
      const i = at(p, r.pc);
      assert.ok(i.kind === "ld_imm64" && i.pseudo === "map_idx_value" && i.imm2 === r.offset);
    }
  });

  it("multi_prog: several programs per section, libbpf section names", () => {
    const spec = fixture("multi_prog.o");
    const t = Object.fromEntries(spec.programs.map((p) => [p.name, [p.section, p.type, p.expectedAttachType ?? "", p.attachTo ?? ""]]));
    assert.deepEqual(t, {
      xdp_one: ["xdp", "xdp", "BPF_XDP", ""],
      xdp_two: ["xdp", "xdp", "BPF_XDP", ""],
      xdp_frags: ["xdp.frags", "xdp", "BPF_XDP", ""],
      tc_one: ["tc", "sched_cls", "", ""],
      tc_two: ["tc", "sched_cls", "", ""],
      cls: ["classifier", "sched_cls", "", ""],
      act: ["action", "sched_act", "", ""],
      sock: ["socket", "socket_filter", "", ""],
      cg_in: ["cgroup_skb/ingress", "cgroup_skb", "BPF_CGROUP_INET_INGRESS", ""],
      cg_out: ["cgroup_skb/egress", "cgroup_skb", "BPF_CGROUP_INET_EGRESS", ""],
      kp: ["kprobe/do_unlinkat", "kprobe", "", "do_unlinkat"],
      krp: ["kretprobe/do_unlinkat", "kprobe", "", "do_unlinkat"],
      up: ["uprobe", "kprobe", "", ""],
      tp1: ["tracepoint/syscalls/sys_enter_openat", "tracepoint", "", "syscalls/sys_enter_openat"],
      tp2: ["tp/sched/sched_switch", "tracepoint", "", "sched/sched_switch"],
      rtp1: ["raw_tracepoint/sys_enter", "raw_tracepoint", "", "sys_enter"],
      rtp2: ["raw_tp/sys_exit", "raw_tracepoint", "", "sys_exit"],
      pe: ["perf_event", "perf_event", "", ""],
      sc: ["syscall", "syscall", "", ""],
      fen: ["fentry/do_unlinkat", "tracing", "BPF_TRACE_FENTRY", "do_unlinkat"],
      fex: ["fexit/do_unlinkat", "tracing", "BPF_TRACE_FEXIT", "do_unlinkat"],
      lsm_open: ["lsm/file_open", "lsm", "BPF_LSM_MAC", "file_open"],
      ops1: ["struct_ops/test_1", "struct_ops", "", "test_1"],
      odd: ["unknown_section", "unspec", "", ""],
    });
    assert.equal(prog(spec, "xdp_frags").xdpFrags, true);
    assert.equal(prog(spec, "sc").sleepable, true);
    assert.deepEqual(spec.programs.filter((p) => p.section === "xdp").map((p) => p.name), ["xdp_one", "xdp_two"]);
  });

  it("section names: libbpf's matching rules", () => {
    assert.equal(sectionInfo("kprobe").type, "kprobe");
    assert.equal(sectionInfo("kprobex").type, "unspec"); // "kprobe+" needs "kprobe" or "kprobe/..."
    assert.equal(sectionInfo("xdp/devmap").expectedAttachType, "BPF_XDP_DEVMAP");
    assert.equal(sectionInfo("tc/ingress").expectedAttachType, "BPF_TCX_INGRESS");
    assert.equal(sectionInfo("?xdp").autoload, false);
    assert.equal(sectionInfo("fentry.s/foo").sleepable, true);
    assert.equal(sectionInfo("cgroup/connect4").expectedAttachTypeId, 10);
  });

  it("subprogs: .text subprograms appended depth first, calls relocated (libbpf layout)", () => {
    const spec = fixture("subprogs.o");
    assert.deepEqual(spec.programs.map((p) => p.name), ["prog_a", "prog_b"]);
    const a = prog(spec, "prog_a");
    const b = prog(spec, "prog_b");
    // Layouts as libbpf's bpf_object__relocate_calls() builds them (checked against `bpftool -d prog loadall`).
    assert.deepEqual(a.functions, [{ name: "prog_a", pc: 0 }, { name: "global_helper", pc: 4 }, { name: "middle", pc: 12 }, { name: "leaf", pc: 20 }]);
    assert.deepEqual(b.functions, [{ name: "prog_b", pc: 0 }, { name: "middle", pc: 7 }, { name: "leaf", pc: 15 }]);
    const starts = new Set(a.functions.map((f) => f.pc));
    for (const p of [a, b]) {
      const fstarts = new Set(p.functions.map((f) => f.pc));
      for (const i of p.insns) if (i.kind === "call" && i.target === "local") assert.ok(fstarts.has(branchTarget(i)!), `call at ${i.pc}`);
    }
    assert.equal(branchTarget(at(a, 1)), 4);
    assert.ok(starts.has(12));
    assert.deepEqual(a.funcInfo.map((f) => [f.pc, f.func.name]), [[0, "prog_a"], [4, "global_helper"], [12, "middle"], [20, "leaf"]]);
    for (const l of a.lineInfo) assert.ok(l.pc < slots(a));
    assert.ok(a.lineInfo.some((l) => l.pc >= 20 && /x \* 3 \+ 1/.test(l.line)));
  });

  it("bpf_loop: callback addresses become BPF_PSEUDO_FUNC ld_imm64s pointing at the appended callback", () => {
    const p = prog(fixture("bpf_loop.o"), "looper");
    const fns = Object.fromEntries(p.functions.map((f) => [f.name, f.pc]));
    const funcs = p.insns.filter((i) => i.kind === "ld_imm64" && i.pseudo === "func");
    assert.equal(funcs.length, 2);
    assert.deepEqual(funcs.map((i) => branchTarget(i)), [fns.add_one, fns.add_two]);
    assert.equal(p.references.length, 0);
  });

  it("big_endian: a bpfeb object loads like its little-endian twin", () => {
    const spec = fixture("big_endian.o");
    assert.equal(spec.byteOrder, "big");
    assert.equal(spec.btf?.byteOrder, "big");
    const m = spec.maps.find((x) => x.name === "be_map")!;
    assert.deepEqual([m.type, m.keySize, m.valueSize, m.maxEntries], ["BPF_MAP_TYPE_HASH", 4, 8, 32]);
    const data = spec.maps.find((x) => x.kind === "data")!;
    const c = data.contents![0]!;
    assert.ok("value" in c && new DataView(c.value.buffer, c.value.byteOffset).getBigUint64(0, false) === 0x0102030405060708n);
    const p = prog(spec, "be_prog");
    assert.deepEqual(p.functions.map((f) => f.name), ["be_prog", "twice"]);
    assert.deepEqual(p.references.map((r) => r.map), ["be_map", data.name]);
    const first = p.insns[0]!;
    assert.ok(first.kind === "alu" && first.op === "mov" && first.dst === 1 && first.src.kind === "imm" && first.src.imm === 1);
  });

  it("core: CO-RE records are remapped onto the program", () => {
    const p = prog(fixture("core.o"), "core_prog");
    assert.equal(p.coreRelos.length, 5);
    for (const r of p.coreRelos) assert.ok(p.insns.some((i) => i.pc === r.pc));
    assert.equal(p.type, "raw_tracepoint");
  });

  it("kconfig and ksym externs are rejected, naming the symbol", () => {
    const check = (file: string, feature: string, symbol: string): void => {
      assert.throws(
        () => fixture(file),
        (e: unknown) => e instanceof UnsupportedFeatureError && e instanceof ElfError && e.code === "EELF" && e.feature === feature && e.symbol === symbol && e.message.includes(symbol),
      );
    };
    check("kconfig.o", "kconfig", "LINUX_KERNEL_VERSION");
    check("ksym.o", "kfunc", "bpf_rcu_read_lock");
  });

  it("spec.btf has DATASECs filled in; the object's own BTF is untouched", () => {
    const spec = fixture("btf_kinds.o");
    const fixed = spec.btf!.get(".data", "datasec");
    assert.equal(fixed.size, 84);
    assert.deepEqual(fixed.vars.map((v) => v.offset), [0, 80]);
    const raw = parseBtf(btfSection(join(FIXTURE_DIR, "btf_kinds.o")));
    assert.equal(raw.get(".data", "datasec").size, 0);
    assert.notEqual(formatBtfDump(raw), formatBtfDump(spec.btf!));
    const sink: BtfType = spec.btf!.get("kitchen_sink", "struct");
    assert.equal(sizeOf(sink), 80);
  });

  it("internal map names are cut like libbpf's", () => {
    assert.equal(internalMapName("my_object_name", ".rodata"), "my_objec.rodata");
    assert.equal(internalMapName("my_object_name", ".bss"), "my_objec.bss");
    assert.equal(internalMapName("my_object_name", ".kconfig"), "my_obje.kconfig");
    assert.equal(internalMapName("obj", ".rodata.abracadabra"), ".rodata.abracad");
    assert.equal(internalMapName("a-b", ".data"), "a_b.data");
    assert.equal(objectNameFromPath("/x/y/flow_count.bpf.o"), "flow_count");
  });
});
