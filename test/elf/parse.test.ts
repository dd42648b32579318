import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ElfError, TsbpfError } from "../../src/errors/index.js";
import * as E from "../../src/elf/index.js";
import { parseElf, relocationsFor, sectionByName } from "../../src/elf/index.js";
import { benchObjects } from "../asm/corpus.js";
import { buildElf } from "./build-elf.js";

const code = Uint8Array.from([0xb7, 0, 0, 0, 1, 0, 0, 0, 0x18, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

function sample(byteOrder: "little" | "big"): Uint8Array {
  return buildElf({
    byteOrder,
    sections: [
      { name: "xdp", data: code },
      { name: ".maps", data: new Uint8Array(32), flags: E.SHF_ALLOC | E.SHF_WRITE },
      { name: ".bss", data: new Uint8Array(0), type: E.SHT_NOBITS, size: 64, flags: E.SHF_ALLOC | E.SHF_WRITE },
    ],
    symbols: [
      { name: "LBB0_2", section: "xdp", value: 16 },
      { name: "prog", section: "xdp", type: E.STT_FUNC, bind: E.STB_GLOBAL, size: code.length },
      { name: "counts", section: ".maps", type: E.STT_OBJECT, bind: E.STB_GLOBAL, size: 32 },
      { name: "ext", bind: E.STB_GLOBAL },
    ],
    relocations: [{ target: "xdp", offset: 8, symbol: "counts", type: E.R_BPF_64_64 }],
  });
}

/** Expects parseElf(bytes) to throw an ElfError whose message matches `re`. */
function rejects(bytes: Uint8Array, re: RegExp): ElfError {
  let caught: unknown;
  try {
    parseElf(bytes);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ElfError, `expected an ElfError, got ${String(caught)}`);
  assert.equal(caught.code, "EELF");
  assert.match(caught.message, re);
  return caught;
}

const patch = (bytes: Uint8Array, f: (v: DataView, b: Uint8Array) => void): Uint8Array => {
  const copy = bytes.slice();
  f(new DataView(copy.buffer), copy);
  return copy;
};

describe("parseElf", () => {
  for (const order of ["little", "big"] as const) {
    it(`reads sections, symbols and relocations (${order}-endian)`, () => {
      const elf = parseElf(sample(order));
      assert.equal(elf.byteOrder, order);
      assert.equal(elf.machine, E.EM_BPF);
      assert.equal(elf.type, E.ET_REL);
      assert.deepEqual(elf.sections.map((s) => s.name), ["", "xdp", ".maps", ".bss", ".strtab", ".symtab", ".relxdp", ".shstrtab"]);
      const xdp = sectionByName(elf, "xdp")!;
      assert.equal(xdp.typeName, "SHT_PROGBITS");
      assert.ok(xdp.executable && xdp.alloc && !xdp.write);
      assert.deepEqual([...xdp.data], [...code]);
      const bss = sectionByName(elf, ".bss")!;
      assert.equal(bss.size, 64);
      assert.equal(bss.data.length, 0);
      const names = elf.symbols.map((s) => s.name);
      assert.deepEqual(names, ["", "LBB0_2", "prog", "counts", "ext"]);
      const prog = elf.symbols[2]!;
      assert.equal(prog.type, E.STT_FUNC);
      assert.equal(prog.bind, E.STB_GLOBAL);
      assert.equal(prog.size, 32n);
      assert.equal(prog.section, xdp);
      assert.equal(elf.symbols[1]!.value, 16n);
      assert.equal(elf.symbols[4]!.section, undefined);
      assert.equal(elf.symbols[4]!.sectionIndex, E.SHN_UNDEF);
      const rel = relocationsFor(elf, xdp);
      assert.equal(rel.length, 1);
      assert.equal(rel[0]!.offset, 8);
      assert.equal(rel[0]!.typeName, "R_BPF_64_64");
      assert.equal(rel[0]!.symbol?.name, "counts");
      assert.equal(elf.relocations[0]!.section.name, ".relxdp");
      assert.equal(rel[0]!.addend, undefined);
    });
  }

  const objs = benchObjects();
  if (objs.length === 0) it.skip("bench objects: ../shared/bench/obj not found (set TSBPF_SHARED)", () => {});
  for (const path of objs) {
    it(`reads ${basename(path)}`, () => {
      const elf = parseElf(readFileSync(path));
      assert.equal(elf.byteOrder, "little");
      assert.equal(elf.machine, E.EM_BPF);
      const xdp = sectionByName(elf, "xdp")!;
      assert.ok(xdp.executable);
      assert.equal(xdp.size % 8, 0);
      const fn = elf.symbols.find((s) => s.type === E.STT_FUNC && s.bind === E.STB_GLOBAL)!;
      assert.equal(fn.name, basename(path, ".o"));
      assert.equal(fn.section, xdp);
      assert.equal(fn.size, BigInt(xdp.size));
      assert.ok(sectionByName(elf, ".BTF") !== undefined);
      for (const rs of elf.relocations) for (const r of rs.entries) assert.ok(r.offset < rs.target.size);
    });
  }

  it("reads flow_count's map relocations", (t) => {
    const path = objs.find((p) => p.endsWith("flow_count.o"));
    if (path === undefined) return t.skip("flow_count.o not found");
    const elf = parseElf(readFileSync(path));
    const rel = relocationsFor(elf, sectionByName(elf, "xdp")!);
    assert.deepEqual(rel.map((r) => [r.offset, r.typeName, r.symbol?.name]), [
      [0x190, "R_BPF_64_64", "flows"],
      [0x208, "R_BPF_64_64", "flows"],
    ]);
    const flows = elf.symbols.find((s) => s.name === "flows")!;
    assert.equal(flows.section?.name, ".maps");
    assert.equal(flows.type, E.STT_OBJECT);
  });

  describe("malformed input", () => {
    const good = sample("little");
    const shoff = Number(new DataView(good.buffer).getBigUint64(40, true));
    const sh = (i: number): number => shoff + i * 64;

    it("rejects short files and bad magic", () => {
      rejects(new Uint8Array(0), /too short/);
      rejects(Uint8Array.from([0x7f, 0x45, 0x4c, 0x47, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), /bad magic/);
      assert.equal(rejects(good.subarray(0, 40), /ELF64 header/).offset, 0);
    });
    it("rejects ELF32 and bad EI_DATA", () => {
      rejects(patch(good, (_, b) => (b[4] = 1)), /ELF32 is not supported/);
      assert.equal(rejects(patch(good, (_, b) => (b[5] = 3)), /EI_DATA/).offset, 5);
    });
    it("rejects a section header table outside the file", () => {
      rejects(patch(good, (v) => v.setBigUint64(40, BigInt(good.length - 10), true)), /section header table/);
      rejects(patch(good, (v) => v.setUint16(60, 1000, true)), /section header table of 1000 entries/);
      rejects(patch(good, (v) => v.setBigUint64(40, 1n << 60n, true)), /e_shoff 0x1000000000000000 is too large/);
    });
    it("rejects section contents outside the file, naming the section header", () => {
      const e = rejects(patch(good, (v) => v.setBigUint64(sh(1) + 32, 1n << 20n, true)), /section 1 contents/);
      assert.equal(e.offset, Number(new DataView(good.buffer).getBigUint64(sh(1) + 24, true)));
    });
    it("rejects bad names and string tables", () => {
      rejects(patch(good, (v) => v.setUint32(sh(1), 100000, true)), /section 1 sh_name: string index 100000 lies outside/);
      rejects(patch(good, (v) => v.setUint16(62, 99, true)), /e_shstrndx 99/);
      rejects(patch(good, (v) => v.setUint16(62, 1, true)), /not SHT_STRTAB/);
    });
    it("rejects bad symbol tables", () => {
      rejects(patch(good, (v) => v.setBigUint64(sh(5) + 56, 16n, true)), /sh_entsize 16, expected 24/);
      rejects(patch(good, (v) => v.setUint32(sh(5) + 40, 1, true)), /sh_link 1 is not a string table/);
      const symtabOff = Number(new DataView(good.buffer).getBigUint64(sh(5) + 24, true));
      const e = rejects(patch(good, (v) => v.setUint16(symtabOff + 24 + 6, 77, true)), /symbol 1 \(LBB0_2\) names section 77/);
      assert.equal(e.offset, symtabOff + 24 + 6);
    });
    it("rejects bad relocations", () => {
      const relOff = Number(new DataView(good.buffer).getBigUint64(sh(6) + 24, true));
      rejects(patch(good, (v) => v.setBigUint64(relOff, 4096n, true)), /r_offset 0x1000 lies outside xdp/);
      rejects(patch(good, (v) => v.setBigUint64(relOff + 8, (99n << 32n) | 1n, true)), /symbol index 99/);
      rejects(patch(good, (v) => v.setUint32(sh(6) + 44, 0, true)), /names no target section/);
    });
    it("never throws anything but ElfError on truncations", () => {
      for (let n = 0; n < good.length; n++) {
        try {
          parseElf(good.subarray(0, n));
        } catch (e) {
          assert.ok(e instanceof ElfError, `length ${n}: ${String(e)}`);
        }
      }
    });
    it("never throws anything but ElfError on mutated objects (fast-check)", () => {
      const bases = [good, sample("big"), ...objs.slice(0, 2).map((p) => new Uint8Array(readFileSync(p)))];
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: bases.length - 1 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
          (which, edits) => {
            const bytes = bases[which]!.slice();
            for (const [at, val] of edits) bytes[at % bytes.length] = val;
            try {
              parseElf(bytes);
            } catch (e) {
              if (!(e instanceof TsbpfError)) throw e;
            }
          },
        ),
        { numRuns: 3000 },
      );
    });
    it("never throws anything but ElfError on random bytes (fast-check)", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 512 }), (tail) => {
          const bytes = new Uint8Array(tail.length + 16);
          bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1 + (tail[0] ?? 0) % 2, 1], 0);
          bytes.set(tail, 16);
          try {
            parseElf(bytes);
          } catch (e) {
            if (!(e instanceof ElfError)) throw e;
          }
        }),
        { numRuns: 3000 },
      );
    });
  });
});
