/**
 * `bpftool btf dump file X.o`, text and -j: our output equals the goldens
 * (written by the real bpftool v7.1 with UPDATE_GOLDEN=1) for every fixture and
 * bench object, and equals a live bpftool when one is installed.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { formatBtfDump, formatLineInfo, formatTypeOnly, parseBtf, parseBtfExt, type BtfExtLineInfo } from "../../src/btf/index.js";
import { parseElf, sectionByName } from "../../src/elf/index.js";
import { BtfBuilder } from "./builder.js";
import {
  BENCH_SKIP,
  BPFTOOL_SKIP,
  BTF_GOLDEN_DIR,
  UPDATE_GOLDEN,
  benchObjectFiles,
  bpftool,
  btfSection,
  fixtureObjects,
  readBytes,
  runBpftool,
  type ObjectFile,
} from "./objects.js";

const MODES = [
  { suffix: "txt", args: [] as string[], opts: {} },
  { suffix: "json", args: ["-j"], opts: { json: true } },
] as const;

function checkObject(o: ObjectFile): void {
  const btf = parseBtf(btfSection(o.path));
  for (const m of MODES) {
    const ours = formatBtfDump(btf, m.opts);
    const golden = join(BTF_GOLDEN_DIR, `${o.name}.${m.suffix}`);
    if (UPDATE_GOLDEN && bpftool() !== undefined) {
      mkdirSync(BTF_GOLDEN_DIR, { recursive: true });
      writeFileSync(golden, runBpftool([...m.args, "btf", "dump", "file", o.path]));
    }
    assert.ok(existsSync(golden), `missing golden ${golden} (run with UPDATE_GOLDEN=1 where bpftool is installed)`);
    assert.equal(ours, readFileSync(golden, "utf8"), `${o.name} ${m.suffix}`);
    if (bpftool() !== undefined) assert.equal(ours, runBpftool([...m.args, "btf", "dump", "file", o.path]), `${o.name} ${m.suffix} (live bpftool)`);
  }
}

describe("btf dump equals bpftool", () => {
  for (const o of fixtureObjects()) it(`fixture ${o.name}`, () => checkObject(o));
  const bench = benchObjectFiles();
  if (bench.length === 0) it("bench objects", { skip: BENCH_SKIP }, () => {});
  for (const o of bench) it(`bench ${o.name}`, () => checkObject(o));

  it("pretty JSON (-p) for a fixture", { skip: BPFTOOL_SKIP() }, () => {
    const o = fixtureObjects().find((f) => f.name === "btf_kinds.o")!;
    assert.equal(formatBtfDump(parseBtf(btfSection(o.path)), { pretty: true }), runBpftool(["-p", "btf", "dump", "file", o.path]));
  });

  it("the running kernel's BTF (/sys/kernel/btf/vmlinux, ~100k types)", { skip: bpftool() !== undefined && existsSync("/sys/kernel/btf/vmlinux") ? undefined : "needs bpftool and /sys/kernel/btf/vmlinux" }, () => {
    const btf = parseBtf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")));
    assert.ok(btf.types.length > 1000);
    assert.equal(formatBtfDump(btf), runBpftool(["btf", "dump", "file", "/sys/kernel/btf/vmlinux"]));
  });

  it("ENUM64 and signed enums (built BTF, clang 14 emits no ENUM64)", () => {
    const b = new BtfBuilder();
    b.enum64("big", 8, [["A", 1n], ["B", 0xffffffff00000000n], ["C", -1n]]);
    b.enum64("sbig", 8, [["N", -5n], ["P", 1n << 40n]], true);
    b.enum32("small", 4, [["M", -1], ["Z", 0]], true);
    b.enum32("u", 1, [["X", 0xffffffff]]);
    const blob = b.build();
    const text = formatBtfDump(parseBtf(blob));
    assert.equal(
      text,
      [
        "[1] ENUM64 'big' encoding=UNSIGNED size=8 vlen=3",
        "\t'A' val=1ULL",
        "\t'B' val=18446744069414584320ULL",
        "\t'C' val=18446744073709551615ULL",
        "[2] ENUM64 'sbig' encoding=SIGNED size=8 vlen=2",
        "\t'N' val=-5LL",
        "\t'P' val=1099511627776LL",
        "[3] ENUM 'small' encoding=SIGNED size=4 vlen=2",
        "\t'M' val=-1",
        "\t'Z' val=0",
        "[4] ENUM 'u' encoding=UNSIGNED size=1 vlen=1",
        "\t'X' val=4294967295",
        "",
      ].join("\n"),
    );
    if (bpftool() !== undefined) {
      const dir = mkdtempSync(join(tmpdir(), "tsbpf-btf-"));
      try {
        writeFileSync(join(dir, "raw.btf"), blob);
        for (const m of MODES) assert.equal(formatBtfDump(parseBtf(blob), m.opts), runBpftool([...m.args, "btf", "dump", "file", join(dir, "raw.btf")]));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it("dumps only the ids asked for, in that order", () => {
    const btf = parseBtf(btfSection(fixtureObjects().find((f) => f.name === "subprogs.o")!.path));
    const all = formatBtfDump(btf).split(/\n(?=\[)/);
    assert.equal(formatBtfDump(btf, { ids: [3, 1] }), `${all[2]}\n${all[0]}\n`.replace(/\n\n$/, "\n"));
  });
});

describe("formatTypeOnly (bpftool's btf_dumper_type_only)", () => {
  const btf = parseBtf(btfSection(fixtureObjects().find((f) => f.name === "btf_kinds.o")!.path));
  it("prints function signatures as `prog dump xlated` does", () => {
    assert.equal(formatTypeOnly(btf.get("kinds", "func")), "int kinds(struct xdp_md * ctx)");
    assert.equal(formatTypeOnly(btf.get("tagged_func", "func")), "int tagged_func(int a, struct kitchen_sink * s)");
  });
  it("prints types with bpftool's spacing", () => {
    assert.equal(formatTypeOnly(btf.get("callback_t", "typedef")), "callback_t ");
    const cb = btf.get("callback_t", "typedef").target;
    assert.equal(formatTypeOnly(cb), "int (restrict const volatile void *, ...)* ");
    assert.equal(formatTypeOnly(btf.get("sink_store", "var")), "struct kitchen_sink  sink_store");
    assert.equal(formatTypeOnly(btf.get(".data", "datasec")), 'section (".data") ');
    assert.equal(formatTypeOnly(btf.get("user", "type_tag")), "");
  });
});

describe("formatLineInfo (bpftool's btf_dump_linfo_plain)", () => {
  it("trims the source line and adds the position with linum", () => {
    const elf = parseElf(readBytes(fixtureObjects().find((f) => f.name === "subprogs.o")!.path));
    const btf = parseBtf(sectionByName(elf, ".BTF")!.data);
    const ext = parseBtfExt(sectionByName(elf, ".BTF.ext")!.data, btf);
    const li = ext.lineInfo.find((s) => s.section === "xdp")!.records[0] as BtfExtLineInfo;
    assert.match(li.fileName, /subprogs\.c$/);
    assert.equal(formatLineInfo(li, { prefix: "; " }), `; ${li.line.trimStart()}\n`);
    assert.equal(
      formatLineInfo(li, { linum: true }),
      `${li.line.trimStart()} [file:${li.fileName} line_num:${li.lineNumber} line_col:${li.column}]\n`,
    );
  });
});
