/**
 * asm -> bytes -> disasm -> asm -> bytes over every conformance program (both
 * syntaxes) and every program section of the bench objects.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { describe, it } from "node:test";
import { assemble, disassemble, formatLlvm, formatUbpf } from "../../src/asm/index.js";
import { parseElf } from "../../src/elf/index.js";
import { decodeProgram, encodeProgram } from "../../src/isa/index.js";
import { benchObjects, conformanceDir, conformanceFiles, readConformance } from "./corpus.js";
import { hex } from "./helpers.js";

function rawBytes(raw: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(raw.length * 8);
  const v = new DataView(out.buffer);
  raw.forEach((x, i) => v.setBigUint64(i * 8, BigInt.asUintN(64, x), true));
  return out;
}

/** Both disassemblers reassemble `bytes` to the same bytes; the xlated printer handles every instruction. */
function roundTrip(bytes: Uint8Array, what: string): void {
  const want = hex(bytes);
  const insns = decodeProgram(bytes);
  const llvm = insns.map((i) => formatLlvm(i)).join("\n");
  assert.equal(hex(encodeProgram(assemble(llvm, { syntax: "llvm" }))), want, `${what}: llvm\n${llvm}`);
  assert.equal(hex(encodeProgram(assemble(llvm, { syntax: "auto" }))), want, `${what}: llvm (auto)`);
  const ubpf = insns.map(formatUbpf).join("\n");
  assert.equal(hex(encodeProgram(assemble(ubpf, { syntax: "ubpf" }))), want, `${what}: ubpf\n${ubpf}`);
  assert.equal(hex(encodeProgram(assemble(ubpf, { syntax: "auto" }))), want, `${what}: ubpf (auto)`);
  const listing = disassemble(bytes, { listing: true }).join("\n");
  assert.equal(hex(encodeProgram(assemble(listing, { syntax: "llvm" }))), want, `${what}: objdump-style listing`);
  assert.equal(disassemble(bytes, { style: "xlated" }).length, insns.length);
}

describe("round trip: conformance programs", () => {
  const files = conformanceFiles();
  if (files.length === 0) it.skip(`no conformance tests in ${conformanceDir()} (set TSBPF_CONFORMANCE_DIR or TSBPF_SHARED)`, () => {});
  for (const path of files) {
    it(basename(path), () => {
      const { asm, raw } = readConformance(path);
      const bytes = encodeProgram(assemble(asm, { syntax: "ubpf" }));
      // The suite writes uBPF syntax; auto-detection must agree.
      assert.equal(hex(encodeProgram(assemble(asm))), hex(bytes));
      if (raw.length > 0) assert.equal(hex(bytes), hex(rawBytes(raw)), "the -- raw section and the -- asm section agree");
      roundTrip(bytes, basename(path));
    });
  }
  it("covers the whole suite", (t) => {
    if (files.length === 0) return t.skip("suite absent");
    assert.ok(files.length >= 300, `expected the 313 conformance files, found ${files.length}`);
  });
});

describe("round trip: bench objects", () => {
  const objs = benchObjects();
  if (objs.length === 0) it.skip("../shared/bench/obj not found (set TSBPF_SHARED)", () => {});
  for (const path of objs) {
    it(basename(path), () => {
      const elf = parseElf(readFileSync(path));
      const code = elf.sections.filter((s) => s.executable && s.size > 0);
      assert.ok(code.length > 0);
      for (const s of code) roundTrip(s.data, `${basename(path)}:${s.name}`);
    });
  }
});
