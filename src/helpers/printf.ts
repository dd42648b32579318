/**
 * The format language of bpf_trace_printk, bpf_trace_vprintk and bpf_snprintf, as
 * kernel/bpf/helpers.c (bpf_bprintf_prepare) accepts it and lib/vsprintf.c
 * (bstr_printf) prints it:
 *
 *   %d %i %u %x %X with the length modifiers l and ll (int otherwise), %c, %s,
 *   %pks / %pus (kernel / user strings), %p %pK %px (pointers), %pB (symbol),
 *   %pi4 %pI4 %pi6 %pI6 (addresses read from program memory), %%, the flags
 *   "0 +-" and a width. Anything else -- %o, precision, %h, '#', a non-printable
 *   character in the format, more conversions than arguments -- is -EINVAL
 *   (FormatError).
 *
 * Strings and addresses are read when the format is prepared and printed later, which
 * gives bstr_printf's quirk: pre-formatted pointer output (%pI4, %pks, %pB...) does not
 * count towards the returned length once the output buffer is full.
 *
 * Differences: %p and %pK print the raw 64-bit value in 16 hex digits, as %px does
 * (the kernel prints a hashed value); %pB prints the address in hex (no kallsyms).
 */
import type { AddressSpace } from "../vm/index.js";
import { readCString, readable } from "./memory.js";

/** A format the kernel refuses (bpf_bprintf_prepare returns -EINVAL). */
export class FormatError extends Error {}

export interface FormatResult {
  /** Everything printed (the caller truncates to its buffer). */
  readonly text: string;
  /** bstr_printf's return value: the length it would print, without the NUL. */
  readonly length: number;
}

const MAX_BPRINTF_VARARGS = 12;
/** Bytes of strings bpf_bprintf_prepare copies per call (MAX_BPRINTF_BIN_ARGS). */
const MAX_STRING = 512;

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isSpaceOrPunct = (c: string | undefined): boolean =>
  c === undefined || /^[\s!-/:-@[-`{-~]$/.test(c);

/**
 * Formats `fmt` with `args` (u64 values). `size` is the output buffer's size for the
 * length quirk (the whole output counts when omitted).
 */
export function bpfFormat(space: AddressSpace, fmt: string, args: readonly bigint[], helper: string, size = Infinity): FormatResult {
  for (const ch of fmt) {
    const c = ch.charCodeAt(0);
    if (c > 0x7e || (c < 0x20 && !/\s/.test(ch))) throw new FormatError(`${helper}: format "${fmt}" has a non-printable character`);
  }
  let out = "";
  let length = 0;
  let argi = 0;
  const emit = (text: string): void => {
    out += text;
    length += text.length;
  };
  /** Pre-formatted pointer output: counted only while the buffer still has room. */
  const emitPreformatted = (text: string): void => {
    if (length < size) length += text.length;
    out += text;
  };
  const next = (): bigint => {
    if (argi >= args.length || argi >= MAX_BPRINTF_VARARGS) throw new FormatError(`${helper}: format "${fmt}" has more conversions than arguments`);
    return args[argi++]!;
  };
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i]!;
    if (ch !== "%") {
      emit(ch);
      continue;
    }
    if (fmt[i + 1] === "%") {
      emit("%");
      i++;
      continue;
    }
    let j = i + 1;
    let flags = "";
    while (fmt[j] === "0" || fmt[j] === "+" || fmt[j] === "-" || fmt[j] === " ") flags += fmt[j++];
    let width = 0;
    while (isDigit(fmt[j])) width = width * 10 + Number(fmt[j++]);
    const pad = (text: string, numeric: boolean): string => {
      if (text.length >= width) return text;
      if (flags.includes("-")) return text.padEnd(width);
      if (numeric && flags.includes("0")) {
        const sign = /^[-+ ]/.test(text) ? text[0]! : "";
        return sign + text.slice(sign.length).padStart(width - sign.length, "0");
      }
      return text.padStart(width);
    };
    const conv = fmt[j];
    if (conv === "p") {
      const sub = fmt[j + 1];
      const x = BigInt.asUintN(64, next());
      if (sub === undefined || isSpaceOrPunct(sub)) {
        emit(pad(x.toString(16).padStart(16, "0"), false));
      } else if ((sub === "k" || sub === "u") && fmt[j + 2] === "s") {
        if (!isSpaceOrPunct(fmt[j + 3])) throw new FormatError(`${helper}: bad conversion %p${sub}s${fmt[j + 3]} in "${fmt}"`);
        emitPreformatted(readString(space, x));
        j += 2;
      } else if (sub === "K" || sub === "x" || sub === "s" || sub === "S") {
        emit(pad(x.toString(16).padStart(16, "0"), false));
        j += 1;
      } else if (sub === "B") {
        emitPreformatted(`0x${x.toString(16)}`);
        j += 1;
      } else if ((sub === "i" || sub === "I") && (fmt[j + 2] === "4" || fmt[j + 2] === "6")) {
        const n = fmt[j + 2] === "4" ? 4 : 16;
        // copy_from_kernel_nofault: an unreadable address prints as zeros
        const bytes = readable(space, x, n) ? space.u8.slice(Number(x), Number(x) + n) : new Uint8Array(n);
        emitPreformatted(n === 4 ? ip4(bytes, sub === "i") : ip6(bytes, sub === "I"));
        j += 2;
      } else {
        throw new FormatError(`${helper}: unsupported conversion %p${sub} in "${fmt}"`);
      }
      i = j;
      continue;
    }
    if (conv === "s") {
      if (!isSpaceOrPunct(fmt[j + 1])) throw new FormatError(`${helper}: bad conversion %s${fmt[j + 1]} in "${fmt}"`);
      emit(pad(readString(space, BigInt.asUintN(64, next())), false));
      i = j;
      continue;
    }
    if (conv === "c") {
      emit(pad(String.fromCharCode(Number(next() & 0xffn)), false));
      i = j;
      continue;
    }
    let long = 0;
    while (fmt[j] === "l" && long < 2) {
      long++;
      j++;
    }
    const c = fmt[j];
    if (c !== "d" && c !== "i" && c !== "u" && c !== "x" && c !== "X") {
      throw new FormatError(`${helper}: unsupported conversion %${fmt.slice(i + 1, j + 1)} in "${fmt}"`);
    }
    const raw = next();
    const bits = long === 0 ? 32 : 64;
    let text: string;
    if (c === "d" || c === "i") {
      const v = BigInt.asIntN(bits, raw);
      text = v.toString();
      if (v >= 0n && flags.includes("+")) text = `+${text}`;
      else if (v >= 0n && flags.includes(" ")) text = ` ${text}`;
    } else {
      const v = BigInt.asUintN(bits, raw);
      text = c === "u" ? v.toString() : c === "x" ? v.toString(16) : v.toString(16).toUpperCase();
    }
    emit(pad(text, true));
    i = j;
  }
  return { text: out, length };
}

/** bpf_trace_copy_string: a NUL-terminated string, "" when the address is unreadable. */
function readString(space: AddressSpace, ptr: bigint): string {
  if (!readable(space, ptr, 1)) return "";
  return new TextDecoder().decode(readCString(space, ptr, MAX_STRING - 1, "string"));
}

/** ip4_string: %pI4 "1.2.3.4", %pi4 "001.002.003.004". */
function ip4(b: Uint8Array, leadingZeros: boolean): string {
  return Array.from(b, (x) => (leadingZeros ? String(x).padStart(3, "0") : String(x))).join(".");
}

/** ip6_string: %pI6 eight colon-separated groups of four hex digits, %pi6 32 hex digits. */
function ip6(b: Uint8Array, colons: boolean): string {
  const groups: string[] = [];
  for (let k = 0; k < 16; k += 2) groups.push(((b[k]! << 8) | b[k + 1]!).toString(16).padStart(4, "0"));
  return groups.join(colons ? ":" : "");
}
