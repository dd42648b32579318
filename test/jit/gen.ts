// Random programs that a verifier would accept in spirit, for differential fuzzing of
// the engines: every register is written before it is read (also after calls, which
// clobber r1-r5), loops are counted (r7/r8 as counters, never written by the body),
// memory accesses stay inside the input buffer (base r9, or r6 in subprograms) or the
// frame's stack, atomics are aligned, subprograms are called without recursion.
// What is random: every ALU operation in 32 and 64 bits with edge-value operands,
// byte swaps, sign-extending moves and loads, all jump conditions (JMP and JMP32),
// loop nesting, bpf-to-bpf calls, helper calls, every atomic operation.
import type { AluOp, AtomicOp, Insn, JmpCond, MemSize } from "../../src/isa/index.js";

export const MEM_SIZE = 64;

/** Deterministic PRNG (xorshift128+ on two 32-bit halves is overkill; mulberry32 suffices). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Item = { insn: Omit<Insn, "pc"> } | { label: number } | { jump: "jmp" | "ja" | "call"; cond?: JmpCond; jmp32?: boolean; dst?: number; src?: { kind: "imm"; imm: number } | { kind: "reg"; reg: number }; to: number };

const EDGE32 = [0, 1, -1, 2, 7, 31, 32, 63, 64, 0x7fffffff, -0x80000000, 0x7f, 0x80, 0xff, 0xffff, 0x8000, -2, 3];
const EDGE64 = [0n, 1n, -1n, 0x7fffffffffffffffn, -0x8000000000000000n, 0xffffffffn, 0x80000000n, 0x100000000n, 0xffffffff00000000n, 0x8000000000000001n, 0x0123456789abcdefn, 63n, 64n];
const ALU_OPS: AluOp[] = ["add", "sub", "mul", "div", "sdiv", "or", "and", "lsh", "rsh", "neg", "mod", "smod", "xor", "mov", "movsx", "arsh"];
const CONDS: JmpCond[] = ["jeq", "jgt", "jge", "jset", "jne", "jsgt", "jsge", "jlt", "jle", "jslt", "jsle"];
const ATOMICS: AtomicOp[] = ["add", "or", "and", "xor", "xchg", "cmpxchg"];

export interface GenOptions {
  /** Helper ids the program may call (each takes r1-r5, returns r0). */
  helpers: readonly number[];
  maxSubs?: number;
}

class Gen {
  private items: Item[] = [];
  private nextLabel = 0;
  constructor(
    private readonly r: () => number,
    private readonly opts: GenOptions,
  ) {}

  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  imm(): number {
    return this.r() < 0.6 ? this.pick(EDGE32) : (this.int(0x100000000) | 0);
  }
  label(): number {
    return this.nextLabel++;
  }
  emit(insn: Omit<Insn, "pc">): void {
    this.items.push({ insn });
  }
  place(label: number): void {
    this.items.push({ label });
  }

  lddw(dst: number, v: bigint): void {
    const value = BigInt.asUintN(64, v);
    this.emit({ kind: "ld_imm64", dst, pseudo: "imm", imm: Number(BigInt.asIntN(32, value)), imm2: Number(BigInt.asIntN(32, value >> 32n)), value } as Omit<Insn, "pc">);
  }
  movImm(dst: number): void {
    if (this.r() < 0.3) this.lddw(dst, this.pick(EDGE64));
    else this.emit({ kind: "alu", op: "mov", alu64: this.r() < 0.7, dst, src: { kind: "imm", imm: this.imm() } } as Omit<Insn, "pc">);
  }

  /** One random ALU/byte-swap instruction on writable registers. */
  alu(w: readonly number[], readable: readonly number[]): void {
    const dst = this.pick(w);
    if (this.r() < 0.08) {
      const order = this.pick(["le", "be", "bswap"] as const);
      this.emit({ kind: "end", order, width: this.pick([16, 32, 64] as const), dst } as Omit<Insn, "pc">);
      return;
    }
    const op = this.pick(ALU_OPS);
    const alu64 = this.r() < 0.6;
    if (op === "movsx") {
      const ext = alu64 ? this.pick([8, 16, 32] as const) : this.pick([8, 16] as const);
      this.emit({ kind: "alu", op, alu64, dst, src: { kind: "reg", reg: this.pick(readable) }, extWidth: ext } as Omit<Insn, "pc">);
      return;
    }
    if (op === "neg") {
      this.emit({ kind: "alu", op, alu64, dst, src: { kind: "imm", imm: 0 } } as Omit<Insn, "pc">);
      return;
    }
    const useReg = this.r() < 0.5;
    let imm = this.imm();
    // Shift counts out of range are rejected by the verifier; keep most in range.
    if ((op === "lsh" || op === "rsh" || op === "arsh") && this.r() < 0.8) imm = this.int(alu64 ? 64 : 32);
    this.emit({ kind: "alu", op, alu64, dst, src: useReg ? { kind: "reg", reg: this.pick(readable) } : { kind: "imm", imm } } as Omit<Insn, "pc">);
  }

  mem(w: readonly number[], readable: readonly number[], base: number): void {
    const size = this.pick([1, 2, 4, 8] as const) as MemSize;
    const onStack = this.r() < 0.4;
    const b = onStack ? 10 : base;
    const off = onStack ? -size * (1 + this.int(512 / size)) : size * this.int(MEM_SIZE / size);
    const k = this.int(4);
    if (k === 0) this.emit({ kind: "ldx", size, signed: this.r() < 0.3 && size !== 8, dst: this.pick(w), src: b, off } as Omit<Insn, "pc">);
    else if (k === 1) this.emit({ kind: "st", size, dst: b, off, imm: this.imm() } as Omit<Insn, "pc">);
    else if (k === 2) this.emit({ kind: "stx", size, dst: b, off, src: this.pick(readable) } as Omit<Insn, "pc">);
    else {
      const asz = this.pick([4, 8] as const);
      const aoff = onStack ? -asz * (1 + this.int(512 / asz)) : asz * this.int(MEM_SIZE / asz);
      const op = this.pick(ATOMICS);
      const fetch = op === "xchg" || op === "cmpxchg" || this.r() < 0.5;
      // A fetching atomic writes src (r0 for cmpxchg): src must be writable then.
      const src = fetch && op !== "cmpxchg" ? this.pick(w) : this.pick(readable);
      if (op === "cmpxchg" && !w.includes(0)) return;
      this.emit({ kind: "atomic", size: asz, op, fetch, dst: b, off: aoff, src } as Omit<Insn, "pc">);
    }
  }

  /** A block of `n` random items. `counters`: loop counters still free (r7, r8). */
  block(n: number, w: readonly number[], readable: readonly number[], base: number, counters: number[], depth: number, calls: { subs: number[]; argBase: number } | undefined): void {
    for (let i = 0; i < n; i++) {
      const k = this.r();
      if (k < 0.45) this.alu(w, readable);
      else if (k < 0.65) this.mem(w, readable, base);
      else if (k < 0.75 && depth < 3) {
        // forward conditional: if cond goto L; block; L:
        const l = this.label();
        const useReg = this.r() < 0.5;
        this.items.push({ jump: "jmp", cond: this.pick(CONDS), jmp32: this.r() < 0.4, dst: this.pick(readable), src: useReg ? { kind: "reg", reg: this.pick(readable) } : { kind: "imm", imm: this.imm() }, to: l });
        this.block(1 + this.int(4), w, readable, base, counters, depth + 1, calls);
        if (this.r() < 0.3) {
          // if/else shape
          const l2 = this.label();
          this.items.push({ jump: "ja", to: l2 });
          this.place(l);
          this.block(1 + this.int(3), w, readable, base, counters, depth + 1, calls);
          this.place(l2);
        } else this.place(l);
      } else if (k < 0.85 && counters.length > 0 && depth < 3) {
        // counted loop
        const c = counters[0]!;
        const rest = counters.slice(1);
        this.emit({ kind: "alu", op: "mov", alu64: true, dst: c, src: { kind: "imm", imm: 1 + this.int(5) } } as Omit<Insn, "pc">);
        const top = this.label();
        this.place(top);
        this.block(1 + this.int(5), w, readable, base, rest, depth + 1, calls);
        this.emit({ kind: "alu", op: "sub", alu64: true, dst: c, src: { kind: "imm", imm: 1 } } as Omit<Insn, "pc">);
        if (this.r() < 0.5) this.items.push({ jump: "jmp", cond: "jne", jmp32: false, dst: c, src: { kind: "imm", imm: 0 }, to: top });
        else this.items.push({ jump: "jmp", cond: "jsgt", jmp32: true, dst: c, src: { kind: "imm", imm: 0 }, to: top });
      } else if (k < 0.93 && calls !== undefined && calls.subs.length > 0) {
        // bpf-to-bpf call: r1 = memory base, r2-r5 arguments; r1-r5 clobbered after
        this.emit({ kind: "alu", op: "mov", alu64: true, dst: 1, src: { kind: "reg", reg: calls.argBase } } as Omit<Insn, "pc">);
        for (let a = 2; a <= 5; a++) this.movImm(a);
        this.items.push({ jump: "call", to: this.pick(calls.subs) });
        for (let a = 1; a <= 5; a++) if (w.includes(a)) this.movImm(a);
      } else if (this.opts.helpers.length > 0) {
        this.emit({ kind: "call", target: "helper", imm: this.pick(this.opts.helpers) } as Omit<Insn, "pc">);
        for (let a = 1; a <= 5; a++) if (w.includes(a)) this.movImm(a);
      } else this.alu(w, readable);
    }
  }

  /** main, then subprograms (sub i may call subs > i). */
  program(): Insn[] {
    const nSubs = this.int((this.opts.maxSubs ?? 3) + 1);
    const subLabels = Array.from({ length: nSubs }, () => this.label());
    // main: r9 = memory base; r0-r8 initialised
    this.emit({ kind: "alu", op: "mov", alu64: true, dst: 9, src: { kind: "reg", reg: 1 } } as Omit<Insn, "pc">);
    for (let r = 0; r <= 8; r++) if (r !== 1 || this.r() < 0.5) this.movImm(r);
    const wMain = [0, 1, 2, 3, 4, 5, 6];
    const readMain = [0, 1, 2, 3, 4, 5, 6, 9, 10];
    this.block(4 + this.int(12), wMain, readMain, 9, [7, 8], 0, { subs: subLabels, argBase: 9 });
    this.emit({ kind: "exit" } as Omit<Insn, "pc">);
    subLabels.forEach((l, i) => {
      this.place(l);
      // r6 = memory base (from r1); r0 initialised; r2-r5 are arguments
      this.emit({ kind: "alu", op: "mov", alu64: true, dst: 6, src: { kind: "reg", reg: 1 } } as Omit<Insn, "pc">);
      this.movImm(0);
      const w = [0, 1, 2, 3, 4, 5];
      const readable = [0, 1, 2, 3, 4, 5, 6, 10];
      this.block(2 + this.int(8), w, readable, 6, [7, 8], 0, { subs: subLabels.slice(i + 1), argBase: 6 });
      this.emit({ kind: "exit" } as Omit<Insn, "pc">);
    });
    return this.assemble();
  }

  /** Resolves labels to offsets and assigns slot numbers. */
  private assemble(): Insn[] {
    const at = new Map<number, number>();
    let pc = 0;
    for (const it of this.items) {
      if ("label" in it) at.set(it.label, pc);
      else pc += "insn" in it && it.insn.kind === "ld_imm64" ? 2 : 1;
    }
    const out: Insn[] = [];
    pc = 0;
    for (const it of this.items) {
      if ("label" in it) continue;
      if ("insn" in it) {
        out.push({ ...it.insn, pc } as Insn);
        pc += it.insn.kind === "ld_imm64" ? 2 : 1;
        continue;
      }
      const off = at.get(it.to)! - (pc + 1);
      if (it.jump === "ja") out.push({ kind: "ja", off, long: false, pc });
      else if (it.jump === "call") out.push({ kind: "call", target: "local", imm: off, pc });
      else out.push({ kind: "jmp", cond: it.cond!, jmp32: it.jmp32!, dst: it.dst!, src: it.src!, off, pc });
      pc++;
    }
    return out;
  }
}

export function randomProgram(seed: number, opts: GenOptions): Insn[] {
  return new Gen(rng(seed), opts).program();
}

export function randomMemory(seed: number): Uint8Array {
  const r = rng(seed ^ 0x5bd1e995);
  return Uint8Array.from({ length: MEM_SIZE }, () => Math.floor(r() * 256));
}
