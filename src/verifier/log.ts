/**
 * The verifier log in the kernel's format (kernel/bpf/log.c): a text buffer that
 * can be rewound (bpf_vlog_reset(): at log level 1 popping a branch rewinds to where
 * it was pushed, so only the failing path remains), register states as
 * print_verifier_state() prints them (`R1=ctx() R2=pkt(off=14,r=14) fp-8=mmmmmmmm`),
 * scalars as print_scalar_ranges() merges equal bounds, and the aligned `; R0=...`
 * suffix of print_insn_state().
 */
import { S32_MAX, S32_MIN, S64_MAX, S64_MIN, U32_MAX, U64_MAX } from "./bounds.js";
import { tnumIsConst, tnumIsUnknown, tnumStr } from "./tnum.js";
import { isPktPointer, regTypeStr, slotTypesStr, type Frame, type Reg, type VState } from "./state.js";

const BLOCK = 1024;

export class VerifierLog {
  /**
   * The text as the chunks written, the older ones joined into blocks of
   * BLOCK chunks: rewinding drops whole chunks (or blocks) and cuts at most one, so
   * writing and rewinding cost the length of the text involved, not of the whole log
   * (one string would be copied on every rewind), and the collector sees a few large
   * strings rather than one small string per write.
   */
  private blocks: string[] = [];
  private chunks: string[] = [];
  private len = 0;
  constructor(readonly level: 0 | 1 | 2) {}
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
      }
    }
  }
  reset(pos: number): void {
    if (this.level === 0 || pos >= this.len) return;
    for (const list of [this.chunks, this.blocks]) {
      while (list.length > 0 && this.len - list[list.length - 1]!.length >= pos) this.len -= list.pop()!.length;
      if (this.len > pos && list.length > 0) {
        const last = list.pop()!;
        list.push(last.slice(0, last.length - (this.len - pos)));
        this.len = pos;
      }
      if (this.len <= pos) return;
    }
  }
  lines(): string[] {
    const out = (this.blocks.join("") + this.chunks.join("")).split("\n");
    if (out[out.length - 1] === "") out.pop();
    return out;
  }
}

const unum = (n: bigint): string => (n <= 0xffffn ? n.toString() : `0x${n.toString(16)}`);
const snum = (n: bigint): string => (n >= -32768n && n <= 32767n ? n.toString() : `0x${BigInt.asUintN(64, n).toString(16)}`);

function scalarRanges(r: Reg): string[] {
  const b = r.b;
  const s32hex = (v: bigint): bigint => (v >= -32768n && v <= 32767n ? v : BigInt.asUintN(32, v));
  const items = [
    { name: "smin", val: b.smin, omit: b.smin === S64_MIN },
    { name: "smax", val: b.smax, omit: b.smax === S64_MAX },
    { name: "umin", val: b.umin, omit: b.umin === 0n },
    { name: "umax", val: b.umax, omit: b.umax === U64_MAX },
    { name: "smin32", val: s32hex(b.s32min), omit: b.s32min === S32_MIN },
    { name: "smax32", val: s32hex(b.s32max), omit: b.s32max === S32_MAX },
    { name: "umin32", val: b.u32min, omit: b.u32min === 0n },
    { name: "umax32", val: b.u32max, omit: b.u32max === U32_MAX },
  ];
  // Compare as the kernel does: as u64 bit patterns.
  const asU = (v: bigint): bigint => BigInt.asUintN(64, v);
  const out: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const m1 = items[i]!;
    if (m1.omit) continue;
    const neg1 = m1.name[0] === "s" && BigInt.asIntN(64, asU(m1.val)) < 0n;
    let s = `${m1.name}=`;
    for (let j = i + 2; j < items.length; j += 2) {
      const m2 = items[j]!;
      if (m2.omit || asU(m2.val) !== asU(m1.val)) continue;
      const neg2 = m2.name[0] === "s" && BigInt.asIntN(64, asU(m2.val)) < 0n;
      if (neg2 !== neg1) continue;
      m2.omit = true;
      s += `${m2.name}=`;
    }
    s += m1.name[0] === "s" ? snum(BigInt.asIntN(64, asU(m1.val))) : unum(asU(m1.val));
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
  if (tnumIsConst(r.b.var)) {
    if (r.b.var.value !== 0n) parts.push(`imm=${snum(BigInt.asIntN(64, r.b.var.value))}`);
  } else {
    parts.push(...scalarRanges(r));
    if (!tnumIsUnknown(r.b.var)) parts.push(`var_off=${tnumStr(r.b.var)}`);
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
