/**
 * disassemble(bytes | Insn[], {style}) -> one line per instruction.
 *
 *   style "llvm" (default):  `r0 = 1`; with `listing: true` llvm-objdump's line
 *                            `       0:\tb7 00 00 00 01 00 00 00\tr0 = 1`
 *   style "xlated":          `0: (b7) r0 = 1` (verifier log); `indexFormat: "bpftool"`
 *                            gives bpftool's `   0: (b7) r0 = 1`
 *   style "ubpf":            `mov %r0, 1`
 *
 * Bytes that do not decode print as `<unknown>` (one 8-byte slot each) unless
 * `strict` is set, which throws the DecodeError instead. Every "llvm" and
 * "ubpf" listing of decodable bytes reassembles to the same bytes.
 */
import { DecodeError } from "../errors/index.js";
import { decodeAt, decodeRaw, encodeInsn, rawToBytes, type ByteOrder, type Insn, type RawInsn } from "../isa/index.js";
import { formatLlvm, UNKNOWN, type LlvmFormatOptions } from "./format-llvm.js";
import { formatUbpf } from "./format-ubpf.js";
import { formatXlated, type XlatedFormatOptions } from "./format-xlated.js";

export type DisasmStyle = "llvm" | "xlated" | "ubpf";

export interface DisassembleOptions extends LlvmFormatOptions, XlatedFormatOptions {
  readonly style?: DisasmStyle;
  /** Byte order of `bytes` input (default little). */
  readonly byteOrder?: ByteOrder;
  /** llvm style: print llvm-objdump's index and raw-byte columns. Default false. */
  readonly listing?: boolean;
  /** xlated style: the verifier log's `%d: ` (default) or bpftool's `%4d: ` index. */
  readonly indexFormat?: "verifier" | "bpftool";
  /** Throw DecodeError on bytes that do not decode instead of printing `<unknown>`. */
  readonly strict?: boolean;
}

type Entry = { readonly pc: number; readonly raw: readonly RawInsn[]; readonly insn: Insn | undefined };

function entriesOf(input: Uint8Array | readonly Insn[], order: ByteOrder, strict: boolean): Entry[] {
  if (!(input instanceof Uint8Array)) return input.map((insn) => ({ pc: insn.pc, raw: encodeInsn(insn), insn }));
  const whole = input.length - (input.length % 8);
  const raw = decodeRaw(input.subarray(0, whole), order);
  const out: Entry[] = [];
  for (let pc = 0; pc < raw.length; ) {
    try {
      const insn = decodeAt(raw, pc);
      const n = insn.kind === "ld_imm64" ? 2 : 1;
      out.push({ pc, raw: raw.slice(pc, pc + n), insn });
      pc += n;
    } catch (e) {
      if (!(e instanceof DecodeError) || strict) throw e;
      out.push({ pc, raw: [raw[pc]!], insn: undefined });
      pc += 1;
    }
  }
  if (whole !== input.length && strict) throw new DecodeError(raw.length, `program length ${input.length} is not a multiple of 8 bytes`);
  return out;
}

const hexBytes = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

export function disassemble(input: Uint8Array | readonly Insn[], options: DisassembleOptions = {}): string[] {
  const style = options.style ?? "llvm";
  const order = options.byteOrder ?? "little";
  return entriesOf(input, order, options.strict === true).map(({ pc, raw, insn }) => {
    switch (style) {
      case "llvm": {
        const text = insn === undefined ? UNKNOWN : formatLlvm(insn, options);
        if (options.listing !== true) return text;
        return `${String(pc).padStart(8, " ")}:\t${hexBytes(rawToBytes(raw, order))}\t${text}`;
      }
      case "xlated": {
        const idx = options.indexFormat === "bpftool" ? `${String(pc).padStart(4, " ")}: ` : `${pc}: `;
        const code = raw[0]!.code.toString(16).padStart(2, "0");
        return idx + (insn === undefined ? `(${code}) ${UNKNOWN}` : formatXlated(insn, options));
      }
      case "ubpf":
        return insn === undefined ? UNKNOWN : formatUbpf(insn);
    }
  });
}
