// A small reference evaluator for the eBPF that convertToEbpf() emits, for tests only:
// the eBPF engines do not execute BPF_LD_ABS/IND yet. It covers exactly the shapes the
// converter produces (32-bit ALU on r0/r7/r2, 64-bit moves, 64-bit jumps, legacy packet
// loads, 32-bit ctx loads from struct __sk_buff via r6, 32-bit stack slots via r10,
// exit, helpers 7 and 8) with the kernel interpreter's semantics (kernel/bpf/core.c):
// 32-bit shifts use the low 5 bits of the count, division by zero gives 0, modulo by
// zero leaves the dividend. Packet loads follow the pre-4.18 kernel's LD_ABS/LD_IND: the
// offset is imm (+ src) as s32; negative or past the captured bytes -> return 0.
import type { Insn } from "../../src/isa/index.js";

export interface SkbContext {
  /** __sk_buff.len: the wire length. */
  readonly len: number;
  readonly fields?: Partial<Record<number, number>>;
}

const CTX = 6;
const FP = 10;

export function evalConverted(insns: readonly Insn[], pkt: Uint8Array, caplen: number, offset: number, ctx: SkbContext, maxSteps = 1_000_000): number {
  const r = new Float64Array(11);
  const stack = new Map<number, number>();
  let pc = 0;
  for (let steps = 0; steps < maxSteps; steps++) {
    const insn = insns[pc];
    if (insn === undefined) throw new Error(`fell off the program at ${pc}`);
    switch (insn.kind) {
      case "alu": {
        const b = insn.src.kind === "imm" ? insn.src.imm : r[insn.src.reg]!;
        if (insn.alu64) {
          if (insn.op !== "mov" || insn.src.kind !== "reg") throw new Error(`unexpected alu64 ${insn.op} at ${pc}`);
          r[insn.dst] = b;
          break;
        }
        const a = r[insn.dst]! >>> 0;
        const bu = b >>> 0;
        let v: number;
        switch (insn.op) {
          case "add": v = a + bu; break;
          case "sub": v = a - bu; break;
          case "mul": v = Math.imul(a, bu); break;
          case "div": v = bu === 0 ? 0 : Math.floor(a / bu); break;
          case "mod": v = bu === 0 ? a : a % bu; break;
          case "and": v = a & bu; break;
          case "or": v = a | bu; break;
          case "xor": v = a ^ bu; break;
          case "lsh": v = a << (bu & 31); break;
          case "rsh": v = a >>> (bu & 31); break;
          case "neg": v = -a; break;
          case "mov": v = bu; break;
          default: throw new Error(`unexpected alu32 ${insn.op} at ${pc}`);
        }
        r[insn.dst] = v >>> 0;
        break;
      }
      case "end": {
        if (insn.order !== "be" || insn.width !== 16) throw new Error(`unexpected end at ${pc}`);
        const v = r[insn.dst]! & 0xffff; // little-endian host: swap the low 16 bits
        r[insn.dst] = ((v & 0xff) << 8) | (v >> 8);
        break;
      }
      case "jmp": {
        if (insn.jmp32) throw new Error(`unexpected jmp32 at ${pc}`);
        const a = BigInt(r[insn.dst]!);
        const b = insn.src.kind === "imm" ? BigInt.asUintN(64, BigInt(insn.src.imm)) : BigInt(r[insn.src.reg]!);
        let t: boolean;
        switch (insn.cond) {
          case "jeq": t = a === b; break;
          case "jne": t = a !== b; break;
          case "jgt": t = a > b; break;
          case "jge": t = a >= b; break;
          case "jlt": t = a < b; break;
          case "jle": t = a <= b; break;
          case "jset": t = (a & b) !== 0n; break;
          default: throw new Error(`unexpected jump ${insn.cond} at ${pc}`);
        }
        if (t) pc += insn.off;
        break;
      }
      case "ja":
        pc += insn.off;
        break;
      case "ld_abs":
      case "ld_ind": {
        const off = insn.kind === "ld_abs" ? insn.imm | 0 : (insn.imm + r[insn.src]!) | 0;
        if (off < 0 || off + insn.size > caplen) return 0;
        let v = 0;
        for (let i = 0; i < insn.size; i++) v = v * 256 + pkt[offset + off + i]!;
        r[0] = v;
        break;
      }
      case "ldx": {
        if (insn.size !== 4) throw new Error(`unexpected ldx size at ${pc}`);
        if (insn.src === CTX) r[insn.dst] = insn.off === 0 ? ctx.len : (ctx.fields?.[insn.off] ?? 0);
        else if (insn.src === FP) {
          const v = stack.get(insn.off);
          if (v === undefined) throw new Error(`read of an unwritten stack slot ${insn.off} at ${pc}`);
          r[insn.dst] = v;
        } else throw new Error(`unexpected ldx base r${insn.src} at ${pc}`);
        break;
      }
      case "stx":
        if (insn.dst !== FP || insn.size !== 4) throw new Error(`unexpected stx at ${pc}`);
        stack.set(insn.off, r[insn.src]! >>> 0);
        break;
      case "call":
        if (insn.imm === 7) r[0] = 4; // bpf_get_prandom_u32: chosen by a fair dice roll
        else if (insn.imm === 8) r[0] = 0; // bpf_get_smp_processor_id
        else throw new Error(`unexpected helper ${insn.imm} at ${pc}`);
        break;
      case "exit":
        return r[0]! >>> 0;
      default:
        throw new Error(`unexpected ${insn.kind} at ${pc}`);
    }
    pc++;
  }
  throw new Error("step limit exceeded");
}
