/**
 * CO-RE relocation: against the object's own BTF (nothing moves), against a
 * hand-built target (fields move, vanish, change size; flavours match), and,
 * as root with bpftool, against the running kernel's BTF compared with what
 * libbpf patched (`bpftool -d prog loadall`).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { applyCoreRelos, BTF_KIND, CORE_POISON_IMM, essentialName, parseBtf, type Btf } from "../../src/btf/index.js";
import { loadCollectionSpec, type ProgramSpecIn } from "../../src/elf/index.js";
import { BtfError } from "../../src/errors/index.js";
import type { Insn } from "../../src/isa/index.js";
import { BtfBuilder } from "./builder.js";
import { FIXTURE_DIR, bpftool, kernelAvailable, readBytes } from "./objects.js";

const program = (file: string): { prog: ProgramSpecIn; btf: Btf } => {
  const spec = loadCollectionSpec(readBytes(join(FIXTURE_DIR, file)));
  return { prog: spec.programs[0]!, btf: spec.btf! };
};
const insnAt = (insns: readonly Insn[], pc: number): Insn => insns.find((i) => i.pc === pc)!;
const immOf = (i: Insn): bigint => {
  if (i.kind === "alu" && i.src.kind === "imm") return BigInt.asUintN(64, BigInt(i.src.imm));
  if (i.kind === "ldx" || i.kind === "st" || i.kind === "stx") return BigInt(i.off);
  if (i.kind === "ld_imm64") return i.value;
  throw new Error(`no immediate in ${i.kind}`);
};

describe("CO-RE", () => {
  it("essential names drop a ___flavor suffix", () => {
    assert.equal(essentialName("task_struct___v2"), "task_struct");
    assert.equal(essentialName("task_struct"), "task_struct");
    assert.equal(essentialName("a____b"), "a____b");
    assert.equal(essentialName("___x"), "___x");
  });

  it("against the object's own BTF every value stays as compiled", () => {
    const { prog, btf } = program("core.o");
    const { insns, results } = applyCoreRelos(prog.insns, prog.coreRelos, btf);
    assert.equal(results.length, 5);
    for (const r of results) {
      assert.equal(r.poisoned, false);
      assert.equal(r.target, r.local, `${r.kind} at ${r.pc}`);
      assert.equal(immOf(insnAt(insns, r.pc)), r.local);
    }
  });

  it("against another layout: moved fields, a missing field, a new size, a renamed enum value", () => {
    const { prog } = program("core.o");
    // struct task_like___new { u64 pad; int tgid; int pid; u64 later; } with times.flags gone; enum state_like: SLEEPING = 7.
    const b = new BtfBuilder();
    const int = b.int("int", 4, 32, 1);
    const u64 = b.int("unsigned long long", 8, 64);
    b.struct("task_like___new", 24, [["pad", u64, 0], ["tgid", int, 64], ["pid", int, 96], ["later", u64, 128]]);
    b.enum32("state_like", 4, [["RUNNING", 0], ["SLEEPING", 7]]);
    const target = parseBtf(b.build());
    const { insns, results } = applyCoreRelos(prog.insns, prog.coreRelos, target);
    const byKind = results.map((r) => [r.kind, r.poisoned ? "poison" : String(r.target)]);
    assert.deepEqual(byKind, [
      ["field_byte_offset", "12"], // pid
      ["field_byte_offset", "poison"], // times.flags does not exist
      ["field_exists", "1"], // tgid
      ["type_size", "24"],
      ["enumval_value", "7"],
    ]);
    const poisoned = insnAt(insns, results[1]!.pc);
    assert.ok(poisoned.kind === "call" && poisoned.imm === CORE_POISON_IMM);
    assert.equal(immOf(insnAt(insns, results[0]!.pc)), 12n);
    assert.equal(results[0]!.candidate?.name, "task_like___new");
  });

  it("loadCollectionSpec applies CO-RE with a coreTarget", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, 32, 1);
    b.struct("task_like", 16, [["tgid", int, 0], ["pid", int, 64]]);
    const spec = loadCollectionSpec(readBytes(join(FIXTURE_DIR, "core.o")), { coreTarget: parseBtf(b.build()) });
    const p = spec.programs[0]!;
    assert.equal(p.coreResults?.length, 5);
    assert.equal(p.coreResults![0]!.target, 8n);
    assert.equal(immOf(insnAt(p.insns, p.coreResults![0]!.pc)), 8n);
  });

  it("no candidate: exists relocations become 0, others poison", () => {
    const { prog } = program("core.o");
    const empty = new BtfBuilder();
    empty.int("int", 4, 32, 1);
    const { results } = applyCoreRelos(prog.insns, prog.coreRelos, parseBtf(empty.build()));
    assert.deepEqual(
      results.map((r) => (r.poisoned ? "poison" : String(r.target))),
      ["poison", "poison", "0", "0", "poison"],
    );
  });

  it("ambiguous candidates are an error naming the relocation", () => {
    const { prog } = program("core.o");
    const b = new BtfBuilder();
    const int = b.int("int", 4, 32, 1);
    b.struct("task_like___a", 8, [["pid", int, 0]]);
    b.struct("task_like___b", 8, [["x", int, 0], ["pid", int, 32]]);
    assert.throws(
      () => applyCoreRelos(prog.insns, prog.coreRelos.slice(0, 1), parseBtf(b.build())),
      (e: unknown) => e instanceof BtfError && /ambiguity/.test(e.message) && /field_byte_offset/.test(e.message),
    );
    void BTF_KIND;
  });

  it("matches libbpf against the running kernel's BTF", { skip: kernelAvailable() && existsSync("/sys/kernel/btf/vmlinux") ? undefined : "needs root, bpftool, bpffs and /sys/kernel/btf/vmlinux" }, () => {
    const path = join(FIXTURE_DIR, "core_kernel.o");
    const { prog } = program("core_kernel.o");
    const vmlinux = parseBtf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")));
    const dir = `/sys/fs/bpf/tsbpf-core-${process.pid}-${randomBytes(4).toString("hex")}`;
    mkdirSync(dir);
    let log: string;
    try {
      const r = spawnSync(bpftool()!, ["-d", "prog", "loadall", path, dir], { encoding: "utf8", maxBuffer: 64 << 20 });
      log = `${r.stdout}\n${r.stderr}`;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const patched = [...log.matchAll(/relo #\d+: patched insn #(\d+) \((?:ALU\/ALU64|LDX\/ST\/STX|LDIMM64)\) (?:imm|off|imm64) (-?\d+) -> (-?\d+)/g)].map((m) => ({
      pc: Number(m[1]),
      from: BigInt.asUintN(64, BigInt(m[2]!)),
      to: BigInt.asUintN(64, BigInt(m[3]!)),
    }));
    const poisoned = [...log.matchAll(/substituting insn #(\d+) w\/ invalid insn/g)].map((m) => Number(m[1]));
    assert.ok(patched.length > 10, "libbpf log has the patched instructions");
    const { insns, results } = applyCoreRelos(prog.insns, prog.coreRelos, vmlinux);
    for (const p of patched) {
      const r = results.find((x) => x.pc === p.pc);
      assert.ok(r !== undefined, `no relocation of ours at insn ${p.pc}`);
      assert.equal(r.poisoned, false, `insn ${p.pc}`);
      assert.equal(BigInt.asUintN(64, r.target), p.to, `${r.kind} at insn ${p.pc}`);
      assert.equal(immOf(insnAt(insns, p.pc)), p.to);
    }
    assert.deepEqual(results.filter((r) => r.poisoned).map((r) => r.pc).sort(), [...new Set(poisoned)].sort());
    assert.equal(patched.length + new Set(poisoned).size, results.length);
  });
});
