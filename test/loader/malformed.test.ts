/**
 * Malformed objects: each ends in a TsbpfError (ElfError or BtfError) that says
 * where and why, never a RangeError, a TypeError or a hang.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadCollectionSpec, parseElf } from "../../src/elf/index.js";
import { BtfError, ElfError, TsbpfError } from "../../src/errors/index.js";
import { FIXTURE_DIR, readBytes } from "../btf/objects.js";
import { findField, writeField } from "./mutate.js";

const bytesOf = (name: string): Uint8Array => readBytes(join(FIXTURE_DIR, name));

function rejects(bytes: Uint8Array, cls: typeof ElfError | typeof BtfError, re: RegExp): TsbpfError {
  let caught: unknown;
  try {
    loadCollectionSpec(bytes);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.match(caught.message, re);
  return caught;
}

const set = (bytes: Uint8Array, what: string | RegExp, value: bigint | number): Uint8Array =>
  writeField(bytes, findField(bytes, what), BigInt(value), bytes[5] === 1);

describe("malformed objects", () => {
  const gd = bytesOf("global_data.o");
  const sp = bytesOf("subprogs.o");
  const lm = bytesOf("legacy_maps.o");

  it("truncated files", () => {
    rejects(gd.subarray(0, 10), ElfError, /too short/);
    rejects(gd.subarray(0, 40), ElfError, /ELF64 header/);
    rejects(gd.subarray(0, 200), ElfError, /outside the file/);
    rejects(gd.subarray(0, gd.length - 1), ElfError, /outside the file/);
    for (let n = 0; n < gd.length; n += 97) {
      assert.throws(() => loadCollectionSpec(gd.subarray(0, n)), (e: unknown) => e instanceof TsbpfError, `truncated to ${n}`);
    }
  });

  it("not a BPF object: wrong e_machine, wrong e_type, no symbol table", () => {
    const e = rejects(set(gd, "e_machine", 62), ElfError, /e_machine 62 is not EM_BPF \(247\)/) as ElfError;
    assert.equal(e.offset, 18);
    rejects(set(gd, "e_type", 2), ElfError, /ET_REL/);
    rejects(set(gd, /\(\.symtab\) sh_type$/, 1), ElfError, /no symbol table|symbol/);
  });

  it("bad section offsets and sizes", () => {
    rejects(set(gd, /\(\.data\) sh_offset$/, 0xfffffff0), ElfError, /section \d+ contents .* outside the file/);
    rejects(set(gd, /\(tc\) sh_size$/, 1n << 60n), ElfError, /outside the file|too large/);
    rejects(set(gd, /\(tc\) sh_size$/, 0x13c), ElfError, /not a multiple of 8|crosses the section boundary|outside/);
  });

  it("overlapping sections", () => {
    const tcOff = findField(gd, /\(tc\) sh_offset$/);
    const tcStart = new DataView(gd.buffer, gd.byteOffset).getBigUint64(tcOff.offset, true);
    rejects(set(gd, /\(\.data\) sh_offset$/, tcStart + 8n), ElfError, /overlaps section \d+ \(tc\)/);
    rejects(set(gd, /\(\.data\) sh_offset$/, 8), ElfError, /overlaps the ELF header/);
  });

  it("huge counts", () => {
    rejects(set(gd, "e_shnum", 0xffff), ElfError, /section header table of 65535 entries/);
    rejects(set(gd, /\(\.reltc\) sh_size$/, 0x10000000), ElfError, /outside the file/);
    rejects(set(gd, /\(\.symtab\) sh_size$/, 24 * 100000), ElfError, /outside the file/);
    rejects(set(lm, /\(maps\) sh_size$/, 0x7ffffff0), ElfError, /outside the file/);
  });

  it("relocations outside their section, misaligned, on the wrong instruction, at bad symbols", () => {
    rejects(set(gd, ".reltc[0] r_offset", 0x10000), ElfError, /lies outside tc/);
    rejects(set(gd, ".reltc[0] r_offset", 4), ElfError, /offset 4 is not at an instruction/);
    rejects(set(gd, ".reltc[0] r_offset", 8), ElfError, /not a call or ld_imm64/);
    const info = findField(gd, ".reltc[0] r_info");
    rejects(writeField(gd, info, (9999n << 32n) | 1n, true), ElfError, /symbol index 9999 is outside the symbol table/);
    rejects(writeField(gd, info, (0n << 32n) | 1n, true), ElfError, /has no symbol/);
    // Against a symbol that is not a map nor data: the FILE symbol (index 1, SHN_ABS).
    rejects(writeField(gd, info, (1n << 32n) | 1n, true), ElfError, /special section 0xfff1/);
    // A call relocation against a function outside .text (the program itself).
    const progA = parseElf(sp).symbols.find((s) => s.name === "prog_a")!.index;
    rejects(writeField(sp, findField(sp, ".relxdp[0] r_info"), (BigInt(progA) << 32n) | 10n, true), ElfError, /bad call relocation into section 'xdp'/);
  });

  it("symbols at bad places", () => {
    rejects(set(gd, /^symbol \d+ \(globals\) st_shndx$/, 200), ElfError, /names section 200, which does not exist/);
    rejects(set(gd, /^symbol \d+ \(globals\) st_size$/, 0x1000), ElfError, /crosses the section boundary/);
    rejects(set(gd, /^symbol \d+ \(globals\) st_value$/, 4), ElfError, /corrupted/);
    rejects(set(gd, /^symbol \d+ \(globals\) st_info$/, 0x02), ElfError, /is static and not supported/);
    rejects(set(gd, /^symbol \d+ \(globals\) st_name$/, 0xffffff), ElfError, /string index/);
  });

  it("broken BTF and BTF.ext", () => {
    rejects(set(gd, ".BTF magic", 0x1234), BtfError, /bad magic/);
    rejects(set(gd, ".BTF type_len", 0xfffffff), BtfError, /outside the data/);
    rejects(set(gd, ".BTF str_len", 3), BtfError, /not NUL-terminated|out of range|outside the string section/);
    const e = rejects(set(gd, ".BTF [1] size/type", 9999), BtfError, /type_id 9999 is out of range/) as BtfError;
    assert.equal(e.typeId, 1);
    rejects(set(gd, ".BTF.ext header +12", 0xffffff), BtfError, /\.BTF\.ext/);
  });

  it("legacy map definitions that do not divide their section, unknown map types, bad version", () => {
    rejects(set(lm, /\(maps\) sh_size$/, 39), ElfError, /unable to determine legacy map definition size|outside|overlap/);
    const mapsOff = findField(lm, /\(maps\) sh_offset$/);
    const start = Number(new DataView(lm.buffer, lm.byteOffset).getBigUint64(mapsOff.offset, true));
    const bad = lm.slice();
    new DataView(bad.buffer).setUint32(start, 99, true);
    rejects(bad, ElfError, /map 'legacy_hash': unknown map type 99/);
    rejects(set(lm, /\(version\) sh_size$/, 2), ElfError, /version: size 2 is not 4/);
  });
});
