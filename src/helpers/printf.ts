/**
 * The format language of bpf_trace_printk and bpf_snprintf (kernel/bpf/helpers.c,
 * bpf_bprintf_prepare): %d %i %u %x %X %o with l/ll, %c, %s, %p, %px, %pK, %pB,
 * %pi4 %pI4 %pi6 %pI6, %%. Arguments are u64 values; %s and %pi* read program memory.
 */
import type { AddressSpace } from "../vm/index.js";
import { HelperArgError, checked, readCString } from "./memory.js";

const MAX_ARGS = 12;

export function bpfFormat(space: AddressSpace, fmt: string, args: readonly bigint[], helper: string): string {
  let out = "";
  let argi = 0;
  const next = (): bigint => {
    if (argi >= args.length || argi >= MAX_ARGS) throw new HelperArgError(`${helper}: format "${fmt}" uses more arguments than given`);
    return args[argi++]!;
  };
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i]!;
    if (ch !== "%") {
      out += ch;
      continue;
    }
    let j = i + 1;
    if (fmt[j] === "%") {
      out += "%";
      i = j;
      continue;
    }
    // flags and width: only what the kernel accepts ('-', '0', digits)
    let flags = "";
    while (fmt[j] === "-" || fmt[j] === "0" || fmt[j] === "+" || fmt[j] === " ") flags += fmt[j++];
    let width = "";
    while (fmt[j] !== undefined && /[0-9]/.test(fmt[j]!)) width += fmt[j++];
    let len = 0;
    while (fmt[j] === "l") {
      len++;
      j++;
    }
    if (fmt[j] === "h") j++;
    const conv = fmt[j];
    if (conv === undefined) throw new HelperArgError(`${helper}: format ends inside a conversion`);
    let text: string;
    const v = (): bigint => {
      const x = next();
      return len >= 2 || len === 1 ? x : BigInt.asUintN(32, x);
    };
    switch (conv) {
      case "d":
      case "i": {
        const x = next();
        text = (len >= 1 ? BigInt.asIntN(64, x) : BigInt.asIntN(32, x)).toString();
        if (flags.includes("+") && !text.startsWith("-")) text = `+${text}`;
        break;
      }
      case "u":
        text = v().toString();
        break;
      case "x":
        text = v().toString(16);
        break;
      case "X":
        text = v().toString(16).toUpperCase();
        break;
      case "o":
        text = v().toString(8);
        break;
      case "c":
        text = String.fromCharCode(Number(next() & 0xffn));
        break;
      case "s":
        text = new TextDecoder().decode(readCString(space, next(), 4096, `${helper} %s`));
        break;
      case "p": {
        const sub = fmt.slice(j + 1, j + 3);
        const x = next();
        if (sub === "i4" || sub === "I4") {
          const a = checked(space, x, 4, `${helper} %p${sub}`);
          text = Array.from(space.u8.subarray(a, a + 4)).join(".");
          j += 2;
        } else if (sub === "i6" || sub === "I6") {
          const a = checked(space, x, 16, `${helper} %p${sub}`);
          const b = space.u8.subarray(a, a + 16);
          const groups: string[] = [];
          for (let k = 0; k < 16; k += 2) groups.push(((b[k]! << 8) | b[k + 1]!).toString(16).padStart(sub === "i6" ? 4 : 1, "0"));
          text = sub === "i6" ? groups.join("") : groups.join(":");
          j += 2;
        } else {
          if (fmt[j + 1] === "x" || fmt[j + 1] === "K" || fmt[j + 1] === "B") j += 1;
          text = `0x${BigInt.asUintN(64, x).toString(16)}`;
        }
        break;
      }
      default:
        throw new HelperArgError(`${helper}: unsupported conversion %${conv} in "${fmt}"`);
    }
    const w = width === "" ? 0 : Number(width);
    if (text.length < w) text = flags.includes("-") ? text.padEnd(w) : text.padStart(w, flags.includes("0") ? "0" : " ");
    out += text;
    i = j;
  }
  return out;
}
