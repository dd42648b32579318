/**
 * The verifier log in the kernel's format (kernel/bpf/log.c): a text buffer that
 * can be rewound (bpf_vlog_reset(): at log level 1 popping a branch rewinds to where
 * it was pushed, so only the failing path remains), register states as
 * print_verifier_state() prints them (`R1=ctx() R2=pkt(off=14,r=14) fp-8=mmmmmmmm`),
 * scalars as print_scalar_ranges() merges equal bounds, and the aligned `; R0=...`
 * suffix of print_insn_state().
 */
import { tnumIsConst, tnumStr } from "./tnum.js";
import { isPktPointer, regTypeStr, slotTypesStr, type Frame, type Reg, type VState } from "./state.js";

const BLOCK = 1024;
/**
 * Bytes of log kept by default: libbpf's BPF_LOG_BUF_SIZE (UINT32_MAX >> 8). Like the
 * kernel's rotating log (log.c, since 6.4), a longer log keeps its tail.
 */
export const LOG_SIZE_DEFAULT = 0xffffff;

export class VerifierLog {
  /**
   * The text as the chunks written, the older ones joined into blocks of
   * BLOCK chunks: rewinding drops whole chunks (or blocks) and cuts at most one, so
   * writing and rewinding cost the length of the text involved, not of the whole log
   * (one string would be copied on every rewind), and the collector sees a few large
   * strings rather than one small string per write. Blocks before `head` have rotated
   * out (`dropped` characters, counted in the positions).
   */
  private blocks: string[] = [];
  private head = 0;
  private dropped = 0;
  private chunks: string[] = [];
  private len = 0;
  constructor(readonly level: 0 | 1 | 2, private readonly size = LOG_SIZE_DEFAULT) {}
  get enabled(): boolean {
    return this.level > 0;
  }
  get endPos(): number {
    return this.len;
  }
  write(s: string): void {
    if (this.level > 0 && s.length > 0) {
      this.chunks.push(s);
      this.len += s.length;
      if (this.chunks.length >= BLOCK) {
        this.blocks.push(this.chunks.join(""));
        this.chunks = [];
        this.rotate();
      }
    }
  }
  /** Drops the oldest blocks while the rest still hold `size` characters. */
  private rotate(): void {
    const b = this.blocks;
    while (this.head < b.length - 1 && this.len - this.dropped - b[this.head]!.length >= this.size) {
      this.dropped += b[this.head]!.length;
      b[this.head++] = "";
    }
    if (this.head >= BLOCK) {
      this.blocks = b.slice(this.head);
      this.head = 0;
    }
  }
  reset(pos: number): void {
    if (this.level === 0 || pos >= this.len) return;
    if (pos < this.dropped) {
      // Back to before the kept text: nothing of it remains.
      this.blocks = [];
      this.head = 0;
      this.chunks = [];
      this.len = this.dropped = pos;
      return;
    }
    const chunks = this.chunks;
    while (chunks.length > 0 && this.len - chunks[chunks.length - 1]!.length >= pos) this.len -= chunks.pop()!.length;
    if (this.len > pos && chunks.length > 0) {
      const last = chunks.pop()!;
      chunks.push(last.slice(0, last.length - (this.len - pos)));
      this.len = pos;
    }
    if (this.len <= pos) return;
    const blocks = this.blocks;
    while (blocks.length > this.head && this.len - blocks[blocks.length - 1]!.length >= pos) this.len -= blocks.pop()!.length;
    if (this.len > pos && blocks.length > this.head) {
      const last = blocks.pop()!;
      blocks.push(last.slice(0, last.length - (this.len - pos)));
      this.len = pos;
    }
  }
  lines(): string[] {
    let text = this.blocks.slice(this.head).join("") + this.chunks.join("");
    // Rotated: the first line is a partial one.
    if (this.dropped > 0) text = text.slice(text.indexOf("\n") + 1);
    const out = text.split("\n");
    if (out[out.length - 1] === "") out.pop();
    return out;
  }
}

const unum = (n: bigint): string => (n <= 0xffffn ? n.toString() : `0x${n.toString(16)}`);
const snum = (n: bigint): string => (n >= -32768n && n <= 32767n ? n.toString() : `0x${BigInt.asUintN(64, n).toString(16)}`);

/** The u64 bit pattern hi:lo in hex ("0x..."). */
function hexPair(hi: number, lo: number): string {
  return hi === 0 ? `0x${(lo >>> 0).toString(16)}` : `0x${(hi >>> 0).toString(16)}${(lo >>> 0).toString(16).padStart(8, "0")}`;
}

const RANGE_NAMES = ["smin", "smax", "umin", "umax", "smin32", "smax32", "umin32", "umax32"];
// Scratch for scalarRanges(): each value as a u64 bit pattern (hi, lo), and whether it is omitted.
const rHi = new Int32Array(8);
const rLo = new Int32Array(8);
const rOmit = new Uint8Array(8);

/**
 * print_scalar_ranges(): the bounds that are not the type's extremes, equal values
 * merged ("smin=smin32=0"), on int32 pairs (a loop prints one per instruction).
 */
function scalarRanges(r: Reg): string[] {
  const b = r.b;
  const set = (i: number, hi: number, lo: number, omit: boolean): void => {
    rHi[i] = hi;
    rLo[i] = lo;
    rOmit[i] = omit ? 1 : 0;
  };
  // The 32-bit signed bounds print as small signed numbers, or as their u32 pattern.
  const s32 = (i: number, v: number, omit: boolean): void => {
    if (v >= -32768 && v <= 32767) set(i, v < 0 ? -1 : 0, v, omit);
    else set(i, 0, v, omit);
  };
  set(0, b.sminH, b.sminL, b.sminH === -0x80000000 && b.sminL === 0);
  set(1, b.smaxH, b.smaxL, b.smaxH === 0x7fffffff && b.smaxL === -1);
  set(2, b.uminH, b.uminL, b.uminH === 0 && b.uminL === 0);
  set(3, b.umaxH, b.umaxL, b.umaxH === -1 && b.umaxL === -1);
  s32(4, b.smin32, b.smin32 === -0x80000000);
  s32(5, b.smax32, b.smax32 === 0x7fffffff);
  set(6, 0, b.umin32, b.umin32 === 0);
  set(7, 0, b.umax32, b.umax32 === -1);
  const out: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (rOmit[i] === 1) continue;
    const signed = (i & 2) === 0;
    const neg1 = signed && rHi[i]! < 0;
    let s = `${RANGE_NAMES[i]!}=`;
    for (let j = i + 2; j < 8; j += 2) {
      if (rOmit[j] === 1 || rHi[j] !== rHi[i] || rLo[j] !== rLo[i]) continue;
      const neg2 = (j & 2) === 0 && rHi[j]! < 0;
      if (neg2 !== neg1) continue;
      rOmit[j] = 1;
      s += `${RANGE_NAMES[j]!}=`;
    }
    const hi = rHi[i]!;
    const lo = rLo[i]!;
    if (signed) s += (hi === 0 && lo >= 0 && lo <= 32767) || (hi === -1 && lo < 0 && lo >= -32768) ? String(lo) : hexPair(hi, lo);
    else s += hi === 0 && lo >= 0 && lo <= 0xffff ? String(lo) : hexPair(hi, lo);
    out.push(s);
  }
  return out;
}

/** snum() of the 64-bit value vh:vl when it is a small int32 (the common case), else undefined. */
function snumPair(vh: number, vl: number): string | undefined {
  if (vh === 0 && vl >= 0) return vl <= 32767 ? String(vl) : `0x${vl.toString(16)}`;
  if (vh === -1 && vl < 0 && vl >= -32768) return String(vl);
  return undefined;
}

/** print_reg_state(). */
export function regStr(r: Reg, frameno: number): string {
  if (r.type === "SCALAR_VALUE" && (r.b.mh | r.b.ml) === 0) {
    // Constants without bigints: every instruction line of a loop prints one.
    return snumPair(r.b.vh, r.b.vl) ?? snum(BigInt.asIntN(64, r.b.var.value));
  }
  let s = regTypeStr(r);
  if (r.type === "PTR_TO_STACK") {
    if (r.frameno !== frameno) s += `[${r.frameno}]`;
    if (tnumIsConst(r.b.var)) return s + snum(BigInt.asIntN(64, r.b.var.value) + BigInt(r.off));
  }
  const parts: string[] = [];
  if (r.id) parts.push(`id=${r.id}`);
  if (r.refObjId) parts.push(`ref_obj_id=${r.refObjId}`);
  if ((r.type === "CONST_PTR_TO_MAP" || r.type === "PTR_TO_MAP_VALUE" || r.type === "PTR_TO_MAP_KEY") && r.map !== undefined) {
    const name = r.map.spec.name.slice(0, 15);
    if (name) parts.push(`map=${name}`);
    parts.push(`ks=${r.map.spec.keySize},vs=${r.map.spec.valueSize}`);
  }
  if (r.type !== "SCALAR_VALUE" && r.off) parts.push(`off=${snum(BigInt(r.off))}`);
  if (isPktPointer(r)) parts.push(`r=${r.range < 0 ? snum(BigInt(r.range)) : unum(BigInt(r.range))}`);
  if (r.type === "PTR_TO_MEM") parts.push(`sz=${unum(BigInt(r.memSize))}`);
  const b = r.b;
  // The tnum's fields directly (b.var makes a Tnum).
  if ((b.mh | b.ml) === 0) {
    if ((b.vh | b.vl) !== 0) parts.push(`imm=${snumPair(b.vh, b.vl) ?? snum(BigInt.asIntN(64, b.var.value))}`);
  } else {
    const ranges = scalarRanges(r);
    for (let i = 0; i < ranges.length; i++) parts.push(ranges[i]!);
    if ((b.mh & b.ml) !== -1) parts.push(`var_off=${tnumStr(b.var)}`);
  }
  return `${s}(${parts.join(",")})`;
}

export interface Scratch {
  regs: number;
  /** Stack slots (spi) touched, per frame number. */
  slots: Set<number>;
  all: boolean;
}

/** print_verifier_state() for one frame: all registers and slots, or only the scratched ones. */
export function stateStr(st: VState, frame: Frame, printAll: boolean, scratch: Scratch | undefined): string {
  let s = frame.frameno ? ` frame${frame.frameno}:` : "";
  const all = printAll || scratch === undefined || scratch.all;
  for (let i = 0; i < 11; i++) {
    const r = frame.regs[i]!;
    if (r.type === "NOT_INIT") continue;
    if (!all && (scratch!.regs & (1 << i)) === 0) continue;
    s += ` R${i}=${regStr(r, frame.frameno)}`;
  }
  for (let i = 0; i < frame.stack.length; i++) {
    const sl = frame.stack[i];
    if (sl === undefined) continue;
    if (!all && !scratch!.slots.has(i)) continue;
    if (sl.types === 0) continue;
    const off = (-i - 1) * 8;
    const types = slotTypesStr(sl.types);
    if (types[7] === "r" && sl.spilled !== undefined) {
      const k = types.indexOf("r");
      s += ` fp${off}=${types.slice(0, k)}${regStr(sl.spilled, frame.frameno)}`;
    } else {
      s += ` fp${off}=${types}`;
    }
  }
  if (st.refs.length > 0) s += ` refs=${st.refs.map((r) => r.id).join(",")}`;
  if (frame.inCallback) s += " cb";
  return s;
}

/** vlog_alignment(): padding that puts the `;` of an insn's state in column 40 (or the next multiple of 8). */
export function alignment(pos: number): number {
  const target = Math.max(pos + 4, 40);
  return Math.ceil(target / 8) * 8 - pos - 1;
}
