/**
 * objdump(elf, fileName): the whole text of `llvm-objdump -d FILE` (LLVM 14) for
 * an eBPF object, reproduced from llvm-objdump's disassembleObject() logic as
 * observed on the installed tool:
 *
 * - the header `\nFILE:\tfile format elf64-bpf\n`;
 * - every section with SHF_EXECINSTR that is not SHT_NOBITS and not empty, in
 *   header order, under `\nDisassembly of section NAME:\n`;
 * - the section's symbols (named, not STT_SECTION) sorted by (address, name,
 *   type); a dummy symbol named after the section when none sits at offset 0;
 *   each symbol starts a block `\n%016x <NAME>:\n` that runs to the next
 *   symbol's address (of several symbols at one address only the last prints);
 * - one line per instruction: the slot index `%8d:`, a tab, the raw bytes, a
 *   tab, the text LLVM 14's decoder gives (llvm14.ts; for a valid instruction
 *   the same as formatLlvm(insn, {llvm14: true})); branches get ` <SYM>` or
 *   ` <SYM+0xOFF>` naming the last symbol at or before the target;
 * - what LLVM 14 cannot decode prints as `<unknown>` over 8 bytes, or over 1
 *   byte when fewer than 8 (16 for ld_imm64) bytes remain in the section; an
 *   instruction may run past the next symbol (its bytes print again there);
 * - a run of 8 or more zero bytes at an instruction start prints as `\t\t...`;
 * - an STT_OBJECT or STT_COMMON symbol's block is dumped as data (hex, ASCII).
 *
 * Relocations are not printed (llvm-objdump -r is not reproduced), nor source
 * lines (-S), and only the BPF target's defaults and +alu32 are modelled.
 */
import { ElfError } from "../errors/index.js";
import { EM_BPF, parseElf, SHT_NOBITS, STT_FUNC, STT_OBJECT, STT_SECTION, type ElfFile, type ElfSection } from "../elf/index.js";
import { decodeLlvm14 } from "./llvm14.js";

export interface ObjdumpOptions {
  /** Mirror `llvm-objdump --mattr=+alu32`. */
  readonly alu32?: boolean;
}

interface Sym {
  readonly addr: bigint;
  readonly name: string;
  readonly nameBytes: Uint8Array;
  readonly type: number;
}

const utf8 = new TextEncoder();
const U64 = (1n << 64n) - 1n;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function sortSymbols(syms: Sym[]): Sym[] {
  return syms.sort((x, y) => (x.addr < y.addr ? -1 : x.addr > y.addr ? 1 : compareBytes(x.nameBytes, y.nameBytes) || x.type - y.type));
}

/** The symbols llvm-objdump 14 considers in `sec`, sorted, with the dummy section symbol when needed. */
function sectionSymbols(elf: ElfFile, sec: ElfSection): Sym[] {
  const syms = sortSymbols(
    elf.symbols
      .filter((s) => s.section === sec && s.name !== "" && s.type !== STT_SECTION)
      .map((s) => ({ addr: s.value, name: s.name, nameBytes: utf8.encode(s.name), type: s.type })),
  );
  if (syms.length === 0 || syms[0]!.addr !== 0n) syms.unshift({ addr: 0n, name: sec.name, nameBytes: utf8.encode(sec.name), type: STT_FUNC });
  return syms;
}

const STT_COMMON = 5;

/**
 * llvm-objdump skips a run of at least 8 zero bytes (a multiple of 4 of them,
 * so that an instruction starting with a zero byte is not cut) and prints `...`.
 */
function skippableZeroBytes(b: Uint8Array): number {
  let n = 0;
  while (n < b.length && b[n] === 0) n++;
  return n < 8 ? 0 : n & ~3;
}

/** llvm-objdump's dumpELFData(): a data symbol in a code section, 8 bytes a line, hex then ASCII. */
function dumpData(data: Uint8Array, start: number, end: number): string {
  let out = "";
  for (let line = start; line < end; line += 8) {
    const chunk = data.subarray(line, Math.min(line + 8, end));
    const ascii = Array.from(chunk, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    out += `${line.toString(16).padStart(8, " ")}:${Array.from(chunk, (b) => " " + b.toString(16).padStart(2, "0")).join("")}`;
    out += `${" ".repeat(3 * (8 - chunk.length))}         ${ascii}\n`;
  }
  return out;
}

const hexBytes = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

function annotate(off: number, addr: number, syms: readonly Sym[]): string {
  const target = (BigInt(addr) + 8n + BigInt(off) * 8n) & U64;
  let pick: Sym | undefined;
  for (const s of syms) {
    if (s.addr <= target) pick = s;
    else break;
  }
  if (pick === undefined) return "";
  const disp = target - pick.addr;
  return disp === 0n ? ` <${pick.name}>` : ` <${pick.name}+0x${disp.toString(16)}>`;
}

/** The output of `llvm-objdump -d FILE` (LLVM 14) for the ELF bytes; `fileName` is printed as given. Throws ElfError (also for a non-BPF e_machine). */
export function objdump(elfBytes: Uint8Array, fileName: string, options: ObjdumpOptions = {}): string {
  const elf = parseElf(elfBytes);
  if (elf.machine !== EM_BPF) throw new ElfError(`not an eBPF object: e_machine is ${elf.machine}, not EM_BPF (247)`, 18);
  const alu32 = options.alu32 === true;
  let out = `\n${fileName}:\tfile format elf64-bpf\n`;
  for (const sec of elf.sections) {
    if (!sec.executable || sec.type === SHT_NOBITS || sec.size === 0) continue;
    out += `\nDisassembly of section ${sec.name}:\n`;
    const syms = sectionSymbols(elf, sec);
    const size = BigInt(sec.size);
    for (let si = 0; si < syms.length; si++) {
      const sym = syms[si]!;
      const next = syms[si + 1];
      const endBig = next !== undefined && next.addr < size ? next.addr : size;
      if (sym.addr >= endBig) continue;
      out += `\n${sym.addr.toString(16).padStart(16, "0")} <${sym.name}>:\n`;
      const end = Number(endBig);
      let index = Number(sym.addr);
      if (sym.type === STT_OBJECT || sym.type === STT_COMMON) {
        out += dumpData(sec.data, index, end);
        continue;
      }
      while (index < end) {
        const zeros = skippableZeroBytes(sec.data.subarray(index, end));
        if (zeros > 0) {
          out += "\t\t...\n";
          index += zeros;
          continue;
        }
        // The decoder sees the rest of the section: an instruction may run past the next symbol.
        const { size: n, text, branchOff } = decodeLlvm14(sec.data.subarray(index), elf.byteOrder, alu32);
        const note = branchOff === undefined ? "" : annotate(branchOff, index, syms);
        out += `${String(Math.floor(index / 8)).padStart(8, " ")}:\t${hexBytes(sec.data.subarray(index, index + n))}\t${text}${note}\n`;
        index += n;
      }
    }
  }
  return out;
}
