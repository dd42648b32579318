/**
 * The layer both assemblers share: numeric ranges of the instruction fields,
 * labels, and the fix-up pass that turns label references into slot offsets
 * once every instruction has its slot index (ld_imm64 takes two slots).
 */
import type { Insn } from "../isa/index.js";
import { Diagnostics, fail, quote } from "./diagnostics.js";

/** A jump, call or subprog target as written: a relative slot offset (`+3`) or a label. */
export type Target =
  | { readonly kind: "rel"; readonly off: bigint; readonly col: number }
  | { readonly kind: "label"; readonly name: string; readonly col: number };

/** Resolves a target to a relative offset (target slot - pc - 1) that fits `bits` signed bits. */
export type Resolve = (t: Target, bits: 16 | 32) => number;

export interface Item {
  readonly line: number;
  readonly sourceLine: string;
  readonly slots: 1 | 2;
  build(pc: number, resolve: Resolve): Insn;
}

const S32_MIN = -(2n ** 31n);
const U32_MAX = 2n ** 32n - 1n;

/** A 32-bit immediate: signed decimal, or up to 0xffffffff, stored as the s32 bit pattern (as llvm-mc and the uBPF assembler do). */
export function imm32(v: bigint, col: number, what = "immediate"): number {
  if (v < S32_MIN || v > U32_MAX) fail(col, `${what} ${v} does not fit in 32 bits (-2147483648..4294967295)`);
  return Number(BigInt.asIntN(32, v));
}

/** A signed 32-bit value that must not wrap (relative offsets). */
export function s32(v: bigint, col: number, what: string): number {
  if (v < S32_MIN || v >= 2n ** 31n) fail(col, `${what} ${v} does not fit in a signed 32-bit field`);
  return Number(v);
}

/** A signed 16-bit memory or jump offset. */
export function off16(v: bigint, col: number, what = "offset"): number {
  if (v < -32768n || v > 32767n) fail(col, `${what} ${v} does not fit in 16 bits (-32768..32767)`);
  return Number(v);
}

/** A 64-bit ld_imm64 constant: signed or unsigned, returned as the unsigned pattern. */
export function imm64(v: bigint, col: number): bigint {
  if (v < -(2n ** 63n) || v > 2n ** 64n - 1n) fail(col, `constant ${v} does not fit in 64 bits`);
  return BigInt.asUintN(64, v);
}

export function checkReg(n: number, col: number, text: string): number {
  if (n > 10) fail(col, `register ${text} does not exist (r0-r10)`);
  return n;
}

interface LabelDef {
  readonly slot: number;
  readonly line: number;
}

/** Collects instructions and labels of one program, then resolves label references. */
export class ProgramBuilder {
  private readonly items: Item[] = [];
  private readonly labels = new Map<string, LabelDef>();
  private slot = 0;

  constructor(private readonly diag: Diagnostics) {}

  get currentSlot(): number {
    return this.slot;
  }

  hasLabel(name: string): boolean {
    return this.labels.has(name);
  }

  defineLabel(name: string, line: number, col: number, slot = this.slot): void {
    const prev = this.labels.get(name);
    if (prev !== undefined) fail(col, `label ${quote(name)} is already defined on line ${prev.line}`);
    this.labels.set(name, { slot, line });
  }

  add(item: Item): void {
    this.items.push(item);
    this.slot += item.slots;
  }

  /** Builds every instruction; errors (unknown labels, offsets out of range) go to the diagnostics. */
  finish(): Insn[] {
    const out: Insn[] = [];
    let pc = 0;
    for (const item of this.items) {
      const here = pc;
      const resolve: Resolve = (t, bits) => {
        let off: bigint;
        if (t.kind === "rel") off = t.off;
        else {
          const def = this.labels.get(t.name);
          if (def === undefined) return fail(t.col, `unknown label ${quote(t.name)}`);
          off = BigInt(def.slot - here - 1);
        }
        const lim = bits === 16 ? 2n ** 15n : 2n ** 31n;
        if (off < -lim || off >= lim) {
          const what = t.kind === "label" ? `offset ${off} to label ${quote(t.name)}` : `offset ${off}`;
          fail(t.col, `${what} does not fit in ${bits} bits`);
        }
        return Number(off);
      };
      const insn = this.diag.guard(item.line, item.sourceLine, () => item.build(here, resolve));
      if (insn !== undefined) out.push(insn);
      pc += item.slots;
    }
    return out;
  }
}
