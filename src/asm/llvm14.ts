/**
 * LLVM 14's BPF disassembler (BPFDisassembler.cpp and the encodings of
 * BPFInstrInfo.td) on raw bytes, as llvm-objdump 14 shows them: which bytes it
 * decodes, which fields it reads and which it ignores, and the text it prints.
 * It is more lenient than the kernel (reserved fields are mostly not checked,
 * r11 is a register) and knows fewer instructions (no mod, jset, gotol, st
 * imm, v4). objdump() uses this so that any section, valid or not, prints as
 * llvm-objdump prints it. The rules were read off the installed llvm-objdump
 * 14 field by field and are checked against it by test/asm/objdump.test.ts.
 *
 *   register fields        0-11 decode (r11 included); 12-15 make the slot unknown
 *   ALU K / X              dst + imm / dst + src; other fields ignored; no mod, no end ops other than le/be
 *   neg                    dst only
 *   le/be (0xd4/0xdc)      dst, imm must be 16, 32 or 64
 *   jumps K / X            dst + imm + off / dst + src + off (no jset); ja: off only
 *   call / callx / exit    imm / register number in imm (0-11) / imm must be 0
 *   ld_imm64               dst, src (any value: `ld_pseudo` when non-zero), imm; off must be 0;
 *                          of the second slot only imm is read; needs 16 bytes
 *   ld_abs / ld_ind        imm / src; B, H, W only
 *   ldx / stx (MEM)        dst, src, off; with alu32 narrow ones name a w register
 *   atomics                imm bits 7-4 pick add/or/and/xor (fetch when bits 3-0 are exactly 1)
 *                          or xchg/cmpxchg (bits 3-0 must be 1); without alu32 only the
 *                          32-bit add decodes, whatever bits 3-0 hold
 */
import { decodeRaw, type ByteOrder, type RawInsn } from "../isa/index.js";
import { JMP_TEXT, UNKNOWN } from "./format-llvm.js";

export interface Llvm14Decoded {
  /** Bytes consumed: 16 for ld_imm64, 8 otherwise, 1 when fewer bytes than an instruction remain. */
  readonly size: number;
  readonly text: string;
  /** For the branches LLVM 14 evaluates (conditional jumps and goto): the offset in slots. */
  readonly branchOff?: number;
}

const ALU_OPS: Readonly<Record<number, string>> = {
  0x00: "+=", 0x10: "-=", 0x20: "*=", 0x30: "/=", 0x40: "|=", 0x50: "&=", 0x60: "<<=", 0x70: ">>=", 0xa0: "^=", 0xb0: "=", 0xc0: "s>>=",
};
const JMP_OPS: Readonly<Record<number, string>> = {
  0x10: JMP_TEXT.jeq, 0x20: JMP_TEXT.jgt, 0x30: JMP_TEXT.jge, 0x50: JMP_TEXT.jne, 0x60: JMP_TEXT.jsgt, 0x70: JMP_TEXT.jsge,
  0xa0: JMP_TEXT.jlt, 0xb0: JMP_TEXT.jle, 0xc0: JMP_TEXT.jslt, 0xd0: JMP_TEXT.jsle,
};
const SIZE_TYPE: Readonly<Record<number, string>> = { 0x00: "u32", 0x08: "u16", 0x10: "u8", 0x18: "u64" };
const ATOMIC_OPS: Readonly<Record<number, readonly [string, string]>> = { 0x0: ["+=", "add"], 0x4: ["|=", "or"], 0x5: ["&=", "and"], 0xa: ["^=", "xor"] };

const UNK = { size: 8, text: UNKNOWN } as const;
const ok = (n: number): boolean => n <= 11;
const addr = (base: number, off: number): string => `r${base} ${off < 0 ? "-" : "+"} ${Math.abs(off)}`;
const rel = (off: number): string => (off < 0 ? `${off}` : `+${off}`);

/** Decodes like LLVM 14 at the start of `bytes` (the rest of the section). */
export function decodeLlvm14(bytes: Uint8Array, order: ByteOrder, alu32 = false): Llvm14Decoded {
  if (bytes.length < 8) return { size: 1, text: UNKNOWN };
  const r = decodeRaw(bytes.subarray(0, 8), order)[0]!;
  const cls = r.code & 0x07;
  switch (cls) {
    case 0x04: // BPF_ALU
    case 0x07: // BPF_ALU64
      return alu(r, cls === 0x07 ? "r" : "w");
    case 0x05: // BPF_JMP
    case 0x06: // BPF_JMP32
      return jmp(r, cls === 0x06);
    case 0x00: // BPF_LD
      return ld(r, bytes, order);
    case 0x01: { // BPF_LDX
      const t = SIZE_TYPE[r.code & 0x18];
      if ((r.code & 0xe0) !== 0x60 || t === undefined || !ok(r.dst) || !ok(r.src)) return UNK;
      const w = alu32 && t !== "u64" ? "w" : "r";
      return { size: 8, text: `${w}${r.dst} = *(${t} *)(${addr(r.src, r.off)})` };
    }
    case 0x03: { // BPF_STX
      const t = SIZE_TYPE[r.code & 0x18];
      if (!ok(r.dst) || !ok(r.src) || t === undefined) return UNK;
      if ((r.code & 0xe0) === 0x60) return { size: 8, text: `*(${t} *)(${addr(r.dst, r.off)}) = ${alu32 && t !== "u64" ? "w" : "r"}${r.src}` };
      if ((r.code & 0xe0) === 0xc0 && (t === "u32" || t === "u64")) return atomic(r, t, alu32);
      return UNK;
    }
    default: // BPF_ST: LLVM 14 has no store-immediate
      return UNK;
  }
}

function alu(r: RawInsn, w: "r" | "w"): Llvm14Decoded {
  const op = r.code & 0xf0;
  const x = (r.code & 0x08) !== 0;
  if (!ok(r.dst)) return UNK;
  if (op === 0x80) return x ? UNK : { size: 8, text: `${w}${r.dst} = -${w}${r.dst}` };
  if (op === 0xd0) {
    if (w === "r" || (r.imm !== 16 && r.imm !== 32 && r.imm !== 64)) return UNK;
    return { size: 8, text: `r${r.dst} = ${x ? "be" : "le"}${r.imm} r${r.dst}` };
  }
  const text = ALU_OPS[op];
  if (text === undefined) return UNK;
  if (x) return ok(r.src) ? { size: 8, text: `${w}${r.dst} ${text} ${w}${r.src}` } : UNK;
  return { size: 8, text: `${w}${r.dst} ${text} ${r.imm}` };
}

function jmp(r: RawInsn, j32: boolean): Llvm14Decoded {
  const op = r.code & 0xf0;
  const x = (r.code & 0x08) !== 0;
  if (!j32) {
    if (r.code === 0x05) return { size: 8, text: `goto ${rel(r.off)}`, branchOff: r.off };
    if (r.code === 0x85) return { size: 8, text: `call ${r.imm}` };
    if (r.code === 0x8d) return r.imm >= 0 && r.imm <= 11 ? { size: 8, text: `callx r${r.imm}` } : UNK;
    if (r.code === 0x95) return r.imm === 0 ? { size: 8, text: "exit" } : UNK;
  }
  const cond = JMP_OPS[op];
  if (cond === undefined || !ok(r.dst)) return UNK;
  const w = j32 ? "w" : "r";
  if (x) return ok(r.src) ? { size: 8, text: `if ${w}${r.dst} ${cond} ${w}${r.src} goto ${rel(r.off)}`, branchOff: r.off } : UNK;
  return { size: 8, text: `if ${w}${r.dst} ${cond} ${r.imm} goto ${rel(r.off)}`, branchOff: r.off };
}

function ld(r: RawInsn, bytes: Uint8Array, order: ByteOrder): Llvm14Decoded {
  if (r.code === 0x18) {
    if (r.off !== 0 || !ok(r.dst)) return UNK;
    if (bytes.length < 16) return { size: 1, text: UNKNOWN };
    const hi = decodeRaw(bytes.subarray(8, 16), order)[0]!.imm;
    if (r.src !== 0) return { size: 16, text: `ld_pseudo\tr${r.dst}, ${r.src}, ${r.imm >>> 0}` };
    const value = BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(r.imm >>> 0));
    return { size: 16, text: `r${r.dst} = ${value} ll` };
  }
  const t = SIZE_TYPE[r.code & 0x18];
  if (t === undefined || t === "u64") return UNK;
  if ((r.code & 0xe0) === 0x20) return { size: 8, text: `r0 = *(${t} *)skb[${r.imm}]` };
  if ((r.code & 0xe0) === 0x40) return ok(r.src) ? { size: 8, text: `r0 = *(${t} *)skb[r${r.src}]` } : UNK;
  return UNK;
}

function atomic(r: RawInsn, t: "u32" | "u64", alu32: boolean): Llvm14Decoded {
  const op = (r.imm >> 4) & 0xf;
  const low = r.imm & 0xf;
  const m = addr(r.dst, r.off);
  if (t === "u32" && !alu32) return op === 0 ? { size: 8, text: `lock *(u32 *)(${m}) += r${r.src}` } : UNK;
  const w = t === "u32" ? "w" : "r";
  if (op === 0xe || op === 0xf) {
    if (low !== 1) return UNK;
    if (op === 0xe) return { size: 8, text: t === "u64" ? `r${r.src} = xchg_64(${m}, r${r.src})` : `w${r.src} = xchg32_32(${m}, w${r.src})` };
    return { size: 8, text: t === "u64" ? `r0 = cmpxchg_64(${m}, r0, r${r.src})` : `w0 = cmpxchg32_32(${m}, w0, w${r.src})` };
  }
  const a = ATOMIC_OPS[op];
  if (a === undefined) return UNK;
  if (low === 1) return { size: 8, text: `${w}${r.src} = atomic_fetch_${a[1]}((${t} *)(${m}), ${w}${r.src})` };
  return { size: 8, text: `lock *(${t} *)(${m}) ${a[0]} ${w}${r.src}` };
}
