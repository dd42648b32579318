/**
 * Kernel-differential test of formatXlated: loads fixtures/xlated-kernel.s as a
 * socket filter with bpftool, dumps it with `bpftool prog dump xlated`, and
 * compares every line with disassemble(..., {style: "xlated", indexFormat: "bpftool"}).
 * Skipped without bpftool, root and a bpffs at /sys/fs/bpf. Helper-call lines
 * differ by design (the kernel replaces the helper id by an address offset),
 * and a bpftool older than Linux 6.6 does not know the v4 instructions (it
 * prints BUG_...), so those lines are compared only when bpftool knows them.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { assemble, disassemble } from "../../src/asm/index.js";
import { STB_GLOBAL, STT_FUNC, SHF_ALLOC, SHF_WRITE } from "../../src/elf/index.js";
import { encodeProgram, type Insn } from "../../src/isa/index.js";
import { buildElf } from "../elf/build-elf.js";

const here = dirname(fileURLToPath(import.meta.url));

function isV4(i: Insn): boolean {
  switch (i.kind) {
    case "alu":
      return i.op === "sdiv" || i.op === "smod" || i.op === "movsx";
    case "end":
      return i.order === "bswap";
    case "ldx":
      return i.signed;
    case "ja":
      return i.long;
    default:
      return false;
  }
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe("formatXlated against the kernel (bpftool prog dump xlated)", () => {
  it("prints what bpftool prints for a verified program", (t) => {
    if (process.getuid?.() !== 0) return t.skip("needs root for bpf()");
    try {
      run("bpftool", ["version"]);
    } catch {
      return t.skip("bpftool is not installed");
    }
    const insns = assemble(readFileSync(join(here, "fixtures/xlated-kernel.s"), "utf8"), { syntax: "llvm" });
    const code = encodeProgram(insns);
    const elf = buildElf({
      sections: [{ name: "socket", data: code }, { name: "license", data: new TextEncoder().encode("GPL\0"), flags: SHF_ALLOC | SHF_WRITE }],
      symbols: [{ name: "prog", section: "socket", type: STT_FUNC, bind: STB_GLOBAL, size: code.length }],
    });
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-xlated-"));
    const pin = `/sys/fs/bpf/tsbpf_xlated_${process.pid}_${Date.now()}`;
    let dump: string;
    try {
      writeFileSync(join(dir, "prog.o"), elf);
      try {
        run("bpftool", ["prog", "load", join(dir, "prog.o"), pin, "type", "socket"]);
      } catch (e) {
        return t.skip(`the kernel did not load the program (no bpf() or bpffs?): ${String((e as { stderr?: string }).stderr ?? e).split("\n")[0]}`);
      }
      dump = run("bpftool", ["prog", "dump", "xlated", "pinned", pin]);
    } finally {
      rmSync(pin, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
    const theirs = dump.split("\n").filter((l) => l.trim() !== "");
    const ours = disassemble(insns, { style: "xlated", indexFormat: "bpftool" });
    assert.equal(theirs.length, ours.length, dump);
    const bpftoolKnowsV4 = !dump.includes("BUG_");
    let compared = 0;
    insns.forEach((insn, k) => {
      if (insn.kind === "call") return;
      if (isV4(insn) && !bpftoolKnowsV4) return;
      assert.equal(ours[k], theirs[k]);
      compared++;
    });
    assert.ok(compared > 90, `compared only ${compared} lines`);
  });
});
