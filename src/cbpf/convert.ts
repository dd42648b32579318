/**
 * Classic BPF -> eBPF, following bpf_convert_filter() in net/core/filter.c (the kernel
 * runs every cBPF socket filter this way). Register mapping, as in include/linux/filter.h:
 *
 *   A   -> r0  (BPF_REG_A)        X -> r7 (BPF_REG_X)       ctx -> r6 (BPF_REG_CTX, from r1)
 *   tmp -> r2  (BPF_REG_TMP)      M[k] -> 32-bit stack slot at r10 - (4k + 4)
 *
 * Prologue: `w0 ^= w0; w7 ^= w7; r6 = r1` (A and X start at 0). Then, per instruction:
 *
 * - ALU ops map to 32-bit eBPF ALU ops on w0 (with w7 or the immediate); `div x` and
 *   `mod x` are preceded by `w7 = w7; if r7 != 0 goto +2; w0 ^= w0; exit` (cBPF
 *   division by zero returns 0).
 * - Conditional jumps map to 64-bit eBPF jumps on r0, with the kernel's shapes: jf == 0
 *   -> one jump to jt; jt == 0 -> the inverted jump (jne/jle/jlt) to jf; otherwise a
 *   jump to jt and a `goto` to jf. A constant with bit 31 set is first moved into w2
 *   (eBPF immediates are sign-extended) and compared as a register.
 * - `ret #k` -> `w0 = k; exit`; `ret a` -> `exit`.
 * - `ld #k`/`ldx #k` -> `w0/w7 = k`; `tax`/`txa` -> `r7 = r0`/`r0 = r7`;
 *   `st`/`stx`/`ld M[]`/`ldx M[]` -> 32-bit stores and loads on the stack.
 * - `ld #pktlen` -> `w0 = *(u32 *)(r6 + 0)`, the `len` field of struct __sk_buff.
 * - `ldxb 4*([k]&0xf)` -> `r7 = r0; <load byte k>; w0 &= 0xf; w0 <<= 2; r2 = r7;
 *   r7 = r0; r0 = r2` (the kernel's sequence, which keeps A).
 *
 * Where this differs from today's kernel, and why:
 *
 * - Packet loads (ld/ldh/ldb [k] and [x + k]) become the eBPF instructions
 *   BPF_LD|BPF_ABS and BPF_LD|BPF_IND (`r0 = *(u16 *)skb[k]`), as the kernel emitted up
 *   to 4.17. Since 4.18 the kernel instead inlines a fast path on skb->data and calls
 *   internal helpers (bpf_skb_load_helper_*) with kernel-private sk_buff offsets; the
 *   eBPF instructions have the same meaning (big-endian load, out of bounds -> the
 *   program returns 0) and are what an eBPF engine can execute without kernel
 *   internals. The data/headlen prologue the kernel adds for its fast path is omitted.
 * - The context is the UAPI struct __sk_buff, not the kernel's struct sk_buff, so
 *   ancillary loads read __sk_buff fields: protocol (+ be16), pkttype, mark, queue,
 *   rxhash (hash), ifindex, vlan_tci, vlan_avail (vlan_present), vlan_tpid (vlan_proto,
 *   + be16); cpu and random call the UAPI helpers bpf_get_smp_processor_id (8) and
 *   bpf_get_prandom_u32 (7); xor_x is `w0 ^= w7`. hatype, poff, nla and nlan have no
 *   UAPI equivalent and are rejected.
 *
 * For pcap-style filtering the runtime must give __sk_buff.len = the wire length and
 * the packet = the captured bytes, so that `len`/`greater`/`less` and loads past the
 * capture behave as in libpcap. One semantic difference remains by design, because
 * it is the kernel's: a shift by X >= 32 gives 0 in libpcap but uses X & 31 in eBPF.
 */
import { CbpfError } from "../errors/index.js";
import { encodeInsn as encodeEbpf, type Insn, type JmpCond } from "../isa/index.js";
import * as C from "./constants.js";
import type { SockFilter } from "./constants.js";
import { checkClassic } from "./check.js";
import { decodeInsn, type CbpfAluOp } from "./insn.js";

export const BPF_REG_A = 0;
export const BPF_REG_X = 7;
export const BPF_REG_TMP = 2;
export const BPF_REG_CTX = 6;
export const BPF_REG_ARG1 = 1;
export const BPF_REG_FP = 10;

/** Offsets in struct __sk_buff (include/uapi/linux/bpf.h). */
export const SKB_LEN = 0;
export const SKB_PKT_TYPE = 4;
export const SKB_MARK = 8;
export const SKB_QUEUE_MAPPING = 12;
export const SKB_PROTOCOL = 16;
export const SKB_VLAN_PRESENT = 20;
export const SKB_VLAN_TCI = 24;
export const SKB_VLAN_PROTO = 28;
export const SKB_IFINDEX = 40;
export const SKB_HASH = 68;

const BPF_FUNC_get_prandom_u32 = 7;
const BPF_FUNC_get_smp_processor_id = 8;

export interface ConvertOptions {
  /**
   * Run the kernel's checker first (default true), as the kernel does. With false,
   * programs the checker rejects but libpcap runs (backward `ja` in `ip6 protochain`)
   * are converted too; their eBPF then has a backward jump.
   */
  readonly check?: boolean;
}

export interface ConvertedProgram {
  readonly insns: Insn[];
  /** Stack bytes used by M[] (the kernel's aux->stack_depth for the program). */
  readonly stackDepth: number;
  /** For each cBPF instruction, the index of its first eBPF instruction. */
  readonly addrs: readonly number[];
}

/** A not-yet-placed eBPF instruction; jumps carry their cBPF target instead of an offset. */
type NoPc<T> = T extends unknown ? Omit<T, "pc"> : never;
type Pending = { insn: NoPc<Insn>; target?: number };

const mov32Imm = (dst: number, imm: number): Pending => ({ insn: { kind: "alu", op: "mov", alu64: false, dst, src: { kind: "imm", imm: imm | 0 } } });
const mov32Reg = (dst: number, src: number): Pending => ({ insn: { kind: "alu", op: "mov", alu64: false, dst, src: { kind: "reg", reg: src } } });
const mov64Reg = (dst: number, src: number): Pending => ({ insn: { kind: "alu", op: "mov", alu64: true, dst, src: { kind: "reg", reg: src } } });
const alu32Imm = (op: CbpfAluOp, dst: number, imm: number): Pending => ({ insn: { kind: "alu", op, alu64: false, dst, src: { kind: "imm", imm: imm | 0 } } });
const alu32Reg = (op: CbpfAluOp, dst: number, src: number): Pending => ({ insn: { kind: "alu", op, alu64: false, dst, src: { kind: "reg", reg: src } } });
const ldxW = (dst: number, src: number, off: number): Pending => ({ insn: { kind: "ldx", size: 4, signed: false, dst, src, off } });
const stxW = (dst: number, off: number, src: number): Pending => ({ insn: { kind: "stx", size: 4, dst, src, off } });
const be16 = (dst: number): Pending => ({ insn: { kind: "end", order: "be", width: 16, dst } });
const exit = (): Pending => ({ insn: { kind: "exit" } });
const call = (id: number): Pending => ({ insn: { kind: "call", target: "helper", imm: id } });
/** A jump whose `off` is filled in once the cBPF target's address is known. */
const jmpTo = (cond: JmpCond, src: { kind: "imm"; imm: number } | { kind: "reg"; reg: number }, target: number): Pending => ({
  insn: { kind: "jmp", cond, jmp32: false, dst: BPF_REG_A, src, off: 0 },
  target,
});
const jaTo = (target: number): Pending => ({ insn: { kind: "ja", off: 0, long: false }, target });
/** A jump with a fixed offset (inside one instruction's expansion). */
const jmpOff = (cond: JmpCond, dst: number, imm: number, off: number): Pending => ({
  insn: { kind: "jmp", cond, jmp32: false, dst, src: { kind: "imm", imm }, off },
});

/** convert_bpf_extensions(), on struct __sk_buff; undefined when k names no extension. */
function extension(k: number, pc: number): Pending[] | undefined {
  const off = k | 0;
  if (off < C.SKF_AD_OFF || off >= C.SKF_AD_OFF + C.SKF_AD_MAX) return undefined;
  const unsupported = (name: string): never => {
    throw new CbpfError("unsupported_extension", `ancillary load ${name} has no struct __sk_buff equivalent and cannot be converted`, { pc });
  };
  switch (off - C.SKF_AD_OFF) {
    case C.SKF_AD_PROTOCOL:
      return [ldxW(BPF_REG_A, BPF_REG_CTX, SKB_PROTOCOL), be16(BPF_REG_A)];
    case C.SKF_AD_PKTTYPE:
      return [ldxW(BPF_REG_A, BPF_REG_CTX, SKB_PKT_TYPE)];
    case C.SKF_AD_IFINDEX:
      return [ldxW(BPF_REG_A, BPF_REG_CTX, SKB_IFINDEX)];
    case C.SKF_AD_MARK:
      return [ldxW(BPF_REG_A, BPF_REG_CTX, SKB_MARK)];
    case C.SKF_AD_QUEUE:
      return [ldxW(BPF_REG_A, BPF_REG_CTX, SKB_QUEUE_MAPPING)];
    case C.SKF_AD_RXHASH:
      return [ldxW(BPF_REG_A, BPF_REG_CTX, SKB_HASH)];
    case C.SKF_AD_VLAN_TAG:
      return [ldxW(BPF_REG_A, BPF_REG_CTX, SKB_VLAN_TCI)];
    case C.SKF_AD_VLAN_TAG_PRESENT:
      return [ldxW(BPF_REG_A, BPF_REG_CTX, SKB_VLAN_PRESENT)];
    case C.SKF_AD_VLAN_TPID:
      return [ldxW(BPF_REG_A, BPF_REG_CTX, SKB_VLAN_PROTO), be16(BPF_REG_A)];
    case C.SKF_AD_CPU:
    case C.SKF_AD_RANDOM:
      return [
        mov64Reg(BPF_REG_ARG1, BPF_REG_CTX),
        mov64Reg(2, BPF_REG_A),
        mov64Reg(3, BPF_REG_X),
        call(off - C.SKF_AD_OFF === C.SKF_AD_CPU ? BPF_FUNC_get_smp_processor_id : BPF_FUNC_get_prandom_u32),
      ];
    case C.SKF_AD_ALU_XOR_X:
      return [alu32Reg("xor", BPF_REG_A, BPF_REG_X)];
    case C.SKF_AD_HATYPE:
      return unsupported("hatype");
    case C.SKF_AD_PAY_OFFSET:
      return unsupported("poff");
    case C.SKF_AD_NLATTR:
      return unsupported("nla");
    case C.SKF_AD_NLATTR_NEST:
      return unsupported("nlan");
  }
  return undefined;
}

const INVERT: Partial<Record<string, JmpCond>> = { jeq: "jne", jgt: "jle", jge: "jlt" };

/** The eBPF expansion of cBPF instruction `i` (jumps still symbolic). */
function expand(prog: readonly SockFilter[], i: number): Pending[] {
  const f = prog[i]!;
  const d = decodeInsn(f);
  switch (d.kind) {
    case "alu": {
      const out: Pending[] = [];
      if (d.src === "x" && (d.op === "div" || d.op === "mod")) {
        out.push(mov32Reg(BPF_REG_X, BPF_REG_X), jmpOff("jne", BPF_REG_X, 0, 2), alu32Reg("xor", BPF_REG_A, BPF_REG_A), exit());
      }
      out.push(d.src === "x" ? alu32Reg(d.op, BPF_REG_A, BPF_REG_X) : alu32Imm(d.op, BPF_REG_A, d.k));
      return out;
    }
    case "neg":
      return [{ insn: { kind: "alu", op: "neg", alu64: false, dst: BPF_REG_A, src: { kind: "imm", imm: 0 } } }];
    case "ld_abs":
      return extension(d.k, i) ?? [{ insn: { kind: "ld_abs", size: d.size, src: 0, imm: d.k | 0 } }];
    case "ld_ind":
      return [{ insn: { kind: "ld_ind", size: d.size, src: BPF_REG_X, imm: d.k | 0 } }];
    case "ja":
      return [jaTo((i + 1 + d.k) | 0)]; // int arithmetic, as the kernel: a "backward" k wraps
    case "jmp": {
      const out: Pending[] = [];
      let src: { kind: "imm"; imm: number } | { kind: "reg"; reg: number };
      if (d.src === "k" && (d.k | 0) < 0) {
        out.push(mov32Imm(BPF_REG_TMP, d.k));
        src = { kind: "reg", reg: BPF_REG_TMP };
      } else {
        src = d.src === "x" ? { kind: "reg", reg: BPF_REG_X } : { kind: "imm", imm: d.k | 0 };
      }
      if (d.jf === 0) {
        out.push(jmpTo(d.cond, src, i + 1 + d.jt));
      } else if (d.jt === 0 && INVERT[d.cond] !== undefined) {
        out.push(jmpTo(INVERT[d.cond]!, src, i + 1 + d.jf));
      } else {
        out.push(jmpTo(d.cond, src, i + 1 + d.jt), jaTo(i + 1 + d.jf));
      }
      return out;
    }
    case "ldx_msh":
      return [
        mov64Reg(BPF_REG_X, BPF_REG_A),
        { insn: { kind: "ld_abs", size: 1, src: 0, imm: d.k | 0 } },
        alu32Imm("and", BPF_REG_A, 0xf),
        alu32Imm("lsh", BPF_REG_A, 2),
        mov64Reg(BPF_REG_TMP, BPF_REG_X),
        mov64Reg(BPF_REG_X, BPF_REG_A),
        mov64Reg(BPF_REG_A, BPF_REG_TMP),
      ];
    case "ret":
      return d.src === "k" ? [mov32Imm(BPF_REG_A, d.k), exit()] : [exit()];
    case "st":
      return [stxW(BPF_REG_FP, -(d.k * 4 + 4), d.src === "a" ? BPF_REG_A : BPF_REG_X)];
    case "ld_mem":
      return [ldxW(d.dst === "a" ? BPF_REG_A : BPF_REG_X, BPF_REG_FP, -(d.k * 4 + 4))];
    case "ld_imm":
      return [mov32Imm(d.dst === "a" ? BPF_REG_A : BPF_REG_X, d.k)];
    case "tax":
      return [mov64Reg(BPF_REG_X, BPF_REG_A)];
    case "txa":
      return [mov64Reg(BPF_REG_A, BPF_REG_X)];
    case "ld_len":
      return [ldxW(d.dst === "a" ? BPF_REG_A : BPF_REG_X, BPF_REG_CTX, SKB_LEN)];
    case "unknown":
      throw new CbpfError("unknown_opcode", `unknown opcode 0x${d.code.toString(16)} cannot be converted`, { pc: i });
  }
}

/** bpf_convert_filter(): the eBPF program the kernel would run for `prog`. */
export function convertToEbpf(prog: readonly SockFilter[], opts: ConvertOptions = {}): ConvertedProgram {
  if (opts.check ?? true) checkClassic(prog);
  else if (prog.length === 0 || prog.length > C.BPF_MAXINSNS) throw new CbpfError("empty", `cannot convert a program of ${prog.length} instructions`);
  const prologue: Pending[] = [alu32Reg("xor", BPF_REG_A, BPF_REG_A), alu32Reg("xor", BPF_REG_X, BPF_REG_X), mov64Reg(BPF_REG_CTX, BPF_REG_ARG1)];
  const parts = prog.map((_, i) => expand(prog, i));
  const addrs: number[] = [];
  let n = prologue.length;
  for (const p of parts) {
    addrs.push(n);
    n += p.length;
  }
  const insns: Insn[] = [];
  const place = (p: Pending, cbpfPc: number): void => {
    let insn = p.insn;
    if (p.target !== undefined) {
      if (p.target < 0 || p.target >= prog.length) throw new CbpfError("jump_out_of_range", `jump to ${p.target}, outside the program`, { pc: cbpfPc });
      const off = addrs[p.target]! - insns.length - 1;
      if (off < -0x8000 || off > 0x7fff) throw new CbpfError("jump_out_of_range", `converted jump offset ${off} does not fit in 16 bits`, { pc: cbpfPc });
      insn = { ...insn, off } as NoPc<Insn>;
    }
    const full = { ...insn, pc: insns.length } as Insn;
    encodeEbpf(full); // validates field ranges
    insns.push(full);
  };
  for (const p of prologue) place(p, 0);
  parts.forEach((p, i) => p.forEach((x) => place(x, i)));
  let stackDepth = 0;
  for (const f of prog) if (f.code === C.BPF_ST || f.code === C.BPF_STX) stackDepth = Math.max(stackDepth, (f.k >>> 0) * 4 + 4);
  return { insns, stackDepth, addrs };
}
