/**
 * The "jit" filter engine: a classic program converted to eBPF (convertToEbpf, the
 * kernel's bpf_convert_filter), its packet loads rewritten into plain eBPF, compiled
 * to WebAssembly by src/jit in verified mode, and run many packets per wasm call: the
 * eBPF program itself loops over the packets (a call per packet costs 10-30 ns on V8
 * before any filtering, more than most filters).
 *
 * Two loops, two layouts (r6, the converter's ctx register, points at the packet's
 * record in both):
 *
 * - block (run, runBlock): r1 points at a count, then 16-byte descriptors: `len` (the
 *   wire length, at offset 0 as in struct __sk_buff, so the converted `ld #pktlen`
 *   reads it unchanged), the address of the captured bytes, the captured length, and
 *   the verdict the program stores;
 * - pcap (filterPcapRecords): r1 points at a header naming a span of classic pcap
 *   records in the address space; the program walks the records (caplen at +8, len at
 *   +12, data at +16) and stores the verdicts in an array, so `tsbpf filter` reads a
 *   file into the JIT's memory and filters it where it lies.
 *
 * The rewrite keeps libpcap's bpf_filter() semantics where the kernel's differ (the
 * two differences test/cbpf/interp.test.ts documents), and does what the kernel's
 * bpf_gen_ld_abs() does for BPF_LD|ABS/IND — replace them by ordinary instructions —
 * without the kernel's helpers:
 *
 * - each packet starts by loading the data address into r8 and the captured length
 *   into r9 (the registers bpf_convert_filter reserves for the data/headlen cache,
 *   BPF_REG_D and BPF_REG_H, and never uses otherwise); `exit` stores w0 as the
 *   verdict and goes on with the next packet;
 * - `ld [k]` (BPF_ABS): `if r9 < k + size goto reject; r0 = *(u16 *)(r8 + k); be16 r0`
 *   (libpcap rejects k + size > caplen; a k with bit 31 set is out of every capture:
 *   the cBPF instruction becomes `ret #0` before conversion, so ancillary offsets,
 *   SKF_AD_OFF and above, are never converted into __sk_buff loads, as libpcap has no
 *   auxiliary data);
 * - `ld [x + k]` (BPF_IND): X + k is computed in 64 bits from the two u32 values, so a
 *   sum past 2^32 is out of bounds as in libpcap (the kernel's int offset wraps);
 * - `lsh x` / `rsh x`: a count above 31 gives 0 as in libpcap (eBPF masks it);
 * - a backward `ja` (libpcap's protochain loop) decrements r5, set to
 *   maxBackwardJumps for each packet; at zero the program records the packet and
 *   stops, and the caller throws loop_limit as the interpreter does;
 * - M[] is zeroed for each packet when a slot may be read before it is written (the
 *   interpreter's choice; the kernel refuses such programs, libpcap reads garbage).
 *
 * Verified mode is sound here: the stack accesses are the converter's fixed M[] slots,
 * the record accesses stay inside the block or the span the caller checked, and every
 * packet load is preceded by its bounds check.
 */
import { CbpfError } from "../errors/index.js";
import type { Insn, JmpCond } from "../isa/index.js";
import { LIST_STACK_SIZE, ListRunner } from "../jit/list-runner.js";
import { AddressSpace, type Region } from "../vm/index.js";
import * as C from "./constants.js";
import type { SockFilter } from "./constants.js";
import { findFilterError, findUninitMem, isKernelOpcode } from "./check.js";
import { BPF_REG_A, BPF_REG_CTX, BPF_REG_FP, convertToEbpf } from "./convert.js";
import type { CbpfFilter } from "./jsgen.js";

/**
 * A block in the address space: a 16-byte header whose first word is the number of
 * packets n, then n descriptors of JIT_DESC_SIZE bytes (wire length, data address,
 * captured length, verdict), then a word the program sets to the address of the
 * descriptor whose run exceeded maxBackwardJumps (0 otherwise).
 */
export const JIT_DESC_SIZE = 16;
const DESC_DATA = 4;
const DESC_CAPLEN = 8;
const DESC_VERDICT = 12;
const BLOCK_HEADER = 16;
/** Packets per wasm call. */
export const JIT_BLOCK = 4096;

const REG_END = 1;
/** pcap layout: r1 stays the header; r2 (the converter's scratch register) is reloaded where needed. */
const REG_HDR = 1;
const REG_TMP = 2;
/**
 * The pcap layout's header (u32 words): first record, end of the bytes, verdict cursor
 * (advanced by the program), end of the verdict array, caplen limit; set by the
 * program: the first record not filtered, and the record that ran into the loop limit.
 */
const PH_START = 0;
const PH_END = 4;
const PH_OUT = 8;
const PH_OUT_END = 12;
const PH_LIMIT = 16;
const PH_STOP = 20;
const PH_LOOP = 24;
const PCAP_HEADER = 32;
/** Verdicts per pcap walk. */
export const JIT_PCAP_VERDICTS = 1 << 16;
const REG_DATA = 8;
const REG_CAPLEN = 9;
const REG_LOOP = 5;
const T1 = 3;
const T2 = 4;

export interface JitFilterOptions {
  /** Backward `ja` executions allowed per run before run() throws (default 1,000,000, the interpreter's). */
  readonly maxBackwardJumps?: number;
  /** The address space to use (default: a new one). */
  readonly space?: AddressSpace;
}

type NoPc<T> = T extends unknown ? Omit<T, "pc"> : never;
type Target = { readonly orig: number } | { readonly label: "top" | "reject" | "next" | "done" | "stop" | "loop" };
interface Pending {
  insn: NoPc<Insn>;
  target?: Target;
}

const alu = (op: "mov" | "add" | "lsh", alu64: boolean, dst: number, src: number | { imm: number }): Pending => ({
  insn: { kind: "alu", op, alu64, dst, src: typeof src === "number" ? { kind: "reg", reg: src } : { kind: "imm", imm: src.imm | 0 } },
});
const jmp = (cond: JmpCond, dst: number, src: number | { imm: number }, target: Target, jmp32 = false): Pending => ({
  insn: { kind: "jmp", cond, jmp32, dst, src: typeof src === "number" ? { kind: "reg", reg: src } : { kind: "imm", imm: src.imm | 0 }, off: 0 },
  target,
});
const ja = (target: Target): Pending => ({ insn: { kind: "ja", off: 0, long: false }, target });
const REJECT: Target = { label: "reject" };

/**
 * libpcap's meaning of a program, made convertible: a load whose constant offset has
 * bit 31 set can never be inside a capture, so it becomes `ret #0`.
 */
function outOfEveryCapture(prog: readonly SockFilter[]): SockFilter[] {
  return prog.map((f) => {
    const cls = C.BPF_CLASS(f.code);
    const mode = f.code & 0xe0;
    const abs = (cls === C.BPF_LD && mode === C.BPF_ABS) || (cls === C.BPF_LDX && mode === C.BPF_MSH);
    return abs && f.k >>> 0 >= 0x80000000 ? { code: C.BPF_RET | C.BPF_K, jt: 0, jf: 0, k: 0 } : f;
  });
}

/**
 * The converted program with packet loads, shifts and loops rewritten (see the file
 * header), wrapped in a loop over a block of descriptors: r1 points at the block, r6
 * walks the descriptors (the converted code's ctx register), r1 then holds the end,
 * and every `exit` of the converted code stores w0 as the descriptor's verdict and
 * goes on with the next packet.
 */
export function jitFilterProgram(prog: readonly SockFilter[], opts: { maxBackwardJumps?: number; layout?: "block" | "pcap" } = {}): Insn[] {
  const pcap = opts.layout === "pcap";
  const conv = convertToEbpf(outOfEveryCapture(prog), { check: false }).insns;
  // The converter's prologue is `w0 ^= w0; w7 ^= w7; r6 = r1`: the first two stay in
  // the loop (A and X start at 0 for every packet), r6 is set by the block loop.
  if (!(conv[2]?.kind === "alu" && conv[2].op === "mov" && conv[2].dst === BPF_REG_CTX)) throw new CbpfError("unsupported", "unexpected converted prologue");
  const hasBackward = conv.some((x) => (x.kind === "ja" || x.kind === "jmp") && x.off < 0);
  const ldxW = (dst: number, src: number, off: number): Pending => ({ insn: { kind: "ldx", size: 4, signed: false, dst, src, off } });
  const prologue: Pending[] = pcap ? [ldxW(BPF_REG_CTX, REG_HDR, PH_START)] : [
    ldxW(T1, REG_END, 0),
    alu("lsh", true, T1, { imm: 4 }),
    alu("mov", true, BPF_REG_CTX, REG_END),
    alu("add", true, BPF_REG_CTX, { imm: BLOCK_HEADER }),
    alu("mov", true, REG_END, BPF_REG_CTX),
    alu("add", true, REG_END, T1),
    { insn: { kind: "st", size: 4, dst: REG_END, off: 0, imm: 0 } },
    jmp("jge", BPF_REG_CTX, REG_END, { label: "done" }),
  ];
  const top: Pending[] = pcap
    ? [
        // A whole record header, caplen within the limit, the whole record, room for its verdict.
        ldxW(REG_TMP, REG_HDR, PH_END),
        alu("mov", true, REG_DATA, BPF_REG_CTX),
        alu("add", true, REG_DATA, { imm: 16 }),
        jmp("jgt", REG_DATA, REG_TMP, { label: "stop" }),
        ldxW(REG_CAPLEN, BPF_REG_CTX, 8),
        ldxW(T1, REG_HDR, PH_LIMIT),
        jmp("jgt", REG_CAPLEN, T1, { label: "stop" }),
        alu("mov", true, T1, REG_DATA),
        alu("add", true, T1, REG_CAPLEN),
        jmp("jgt", T1, REG_TMP, { label: "stop" }),
        ldxW(T1, REG_HDR, PH_OUT),
        ldxW(T2, REG_HDR, PH_OUT_END),
        jmp("jge", T1, T2, { label: "stop" }),
      ]
    : [ldxW(REG_DATA, BPF_REG_CTX, DESC_DATA), ldxW(REG_CAPLEN, BPF_REG_CTX, DESC_CAPLEN)];
  if (hasBackward) top.push(alu("mov", true, REG_LOOP, { imm: Math.min(opts.maxBackwardJumps ?? 1_000_000, 0x7fffffff) }));
  if (hasBackward || findUninitMem(prog) !== undefined) {
    for (let k = 0; k < C.BPF_MEMWORDS; k += 2) top.push({ insn: { kind: "st", size: 8, dst: BPF_REG_FP, off: -(k * 4 + 8), imm: 0 } });
  }
  const load = (size: 1 | 2 | 4, base: number, off: number): Pending[] => {
    const r: Pending[] = [{ insn: { kind: "ldx", size, signed: false, dst: BPF_REG_A, src: base, off } }];
    if (size > 1) r.push({ insn: { kind: "end", order: "be", width: size === 2 ? 16 : 32, dst: BPF_REG_A } });
    return r;
  };
  const out: Pending[][] = [];
  for (const x of conv) {
    if (x.pc === 2) out.push([]);
    else if (pcap && x.kind === "ldx" && x.src === BPF_REG_CTX) out.push([{ insn: { ...x, off: 12 } }]); // ld #pktlen: the record's len
    else if (x.kind === "exit") out.push([ja({ label: "next" })]);
    else if (x.kind === "ld_abs") {
      const k = x.imm; // non-negative: see outOfEveryCapture
      const end = k + x.size;
      if (k < 0 || end > 0x7fffffff) out.push([ja(REJECT)]);
      else if (k <= 0x7fff) out.push([jmp("jlt", REG_CAPLEN, { imm: end }, REJECT), ...load(x.size, REG_DATA, k)]);
      else out.push([jmp("jlt", REG_CAPLEN, { imm: end }, REJECT), alu("mov", true, T1, REG_DATA), alu("add", true, T1, { imm: k }), ...load(x.size, T1, 0)]);
    } else if (x.kind === "ld_ind") {
      out.push([
        alu("mov", false, T1, { imm: x.imm }), // k as a u32
        alu("mov", false, T2, x.src), // X as a u32
        alu("add", true, T1, T2),
        alu("mov", true, T2, T1),
        alu("add", true, T2, { imm: x.size }),
        jmp("jgt", T2, REG_CAPLEN, REJECT),
        alu("add", true, T1, REG_DATA),
        ...load(x.size, T1, 0),
      ]);
    } else if (x.kind === "alu" && !x.alu64 && (x.op === "lsh" || x.op === "rsh") && x.src.kind === "reg") {
      // if wX > 31 goto +2; <shift>; goto +1; wA = 0
      out.push([
        { insn: { kind: "jmp", cond: "jgt", jmp32: true, dst: x.src.reg, src: { kind: "imm", imm: 31 }, off: 2 } },
        { insn: x },
        { insn: { kind: "ja", off: 1, long: false } },
        alu("mov", false, x.dst, { imm: 0 }),
      ]);
    } else if ((x.kind === "ja" || x.kind === "jmp") && x.off !== 0) {
      const jump: Pending = { insn: x, target: { orig: x.pc + 1 + x.off } };
      if (x.off < 0) {
        out.push([alu("add", true, REG_LOOP, { imm: -1 }), jmp("jslt", REG_LOOP, { imm: 0 }, { label: "loop" }), jump]);
      } else out.push([jump]);
    } else {
      out.push([{ insn: x }]);
    }
  }
  const tail: Array<[string, Pending[]]> = pcap ? [
    ["reject", [alu("mov", false, BPF_REG_A, { imm: 0 })]],
    ["next", [
      ldxW(T1, REG_HDR, PH_OUT),
      { insn: { kind: "stx", size: 4, dst: T1, src: BPF_REG_A, off: 0 } },
      alu("add", true, T1, { imm: 4 }),
      { insn: { kind: "stx", size: 4, dst: REG_HDR, src: T1, off: PH_OUT } },
      alu("add", true, BPF_REG_CTX, { imm: 16 }),
      alu("add", true, BPF_REG_CTX, REG_CAPLEN),
      ja({ label: "top" }),
    ]],
    ["stop", [{ insn: { kind: "stx", size: 4, dst: REG_HDR, src: BPF_REG_CTX, off: PH_STOP } }, alu("mov", false, BPF_REG_A, { imm: 0 }), { insn: { kind: "exit" } }]],
    ["loop", [{ insn: { kind: "stx", size: 4, dst: REG_HDR, src: BPF_REG_CTX, off: PH_LOOP } }, { insn: { kind: "exit" } }]],
  ] : [
    ["reject", [alu("mov", false, BPF_REG_A, { imm: 0 })]],
    ["next", [
      { insn: { kind: "stx", size: 4, dst: BPF_REG_CTX, src: BPF_REG_A, off: DESC_VERDICT } },
      alu("add", true, BPF_REG_CTX, { imm: JIT_DESC_SIZE }),
      jmp("jlt", BPF_REG_CTX, REG_END, { label: "top" }),
    ]],
    ["done", [alu("mov", false, BPF_REG_A, { imm: 0 }), { insn: { kind: "exit" } }]],
    ["loop", [{ insn: { kind: "stx", size: 4, dst: REG_END, src: BPF_REG_CTX, off: 0 } }, { insn: { kind: "exit" } }]],
  ];
  // Place: prologue, loop top, the expansions, then the tail.
  const labels = new Map<string, number>();
  let n = prologue.length;
  labels.set("top", n);
  n += top.length;
  const start: number[] = [];
  for (const e of out) {
    start.push(n);
    n += e.length;
  }
  for (const [name, code] of tail) {
    labels.set(name, n);
    n += code.length;
  }
  const insns: Insn[] = [];
  const place = (p: Pending): void => {
    let insn = p.insn;
    if (p.target !== undefined) {
      const to = "orig" in p.target ? start[p.target.orig]! : labels.get(p.target.label)!;
      const off = to - insns.length - 1;
      if (off < -0x8000 || off > 0x7fff) throw new CbpfError("jump_out_of_range", `rewritten jump offset ${off} does not fit in 16 bits`);
      insn = { ...insn, off } as NoPc<Insn>;
    }
    insns.push({ ...insn, pc: insns.length } as Insn);
  };
  prologue.forEach(place);
  top.forEach(place);
  for (const e of out) e.forEach(place);
  for (const [, code] of tail) code.forEach(place);
  return insns;
}

/** Something whose bytes live in a JitFilter's address space (see ioBuffer). */
const inSpace = (b: Uint8Array, space: AddressSpace): boolean => b.buffer === space.memory.buffer;

export class JitFilter implements CbpfFilter {
  readonly engine = "jit" as const;
  readonly insns: Insn[];
  readonly space: AddressSpace;
  /** The block program, compiled on first use (the CLI's pcap walk does not need it). */
  private runner: ListRunner | undefined;
  /** The stack both programs run on (mapped up front: mapping later could detach ioBuffer views). */
  private readonly stack: Region;
  private readonly maxBack: number;
  /** The block: header, JIT_BLOCK descriptors, the loop-limit word. */
  private readonly block: Region;
  /** runList's one-entry list (the block's address) and its r0 slot. */
  private readonly list: Region;
  private staging: Region | undefined;
  private io: Region | undefined;
  /** The pcap walker (compiled on first use), its header and verdict array. */
  private pcap: { runner: ListRunner; header: Region; list: Region; verdicts: Region } | undefined;
  private readonly prog: readonly SockFilter[];
  private u32: Uint32Array;

  constructor(prog: readonly SockFilter[], opts: JitFilterOptions = {}) {
    const e = findFilterError(prog);
    if (e !== undefined) throw e;
    const bad = prog.findIndex((f) => !isKernelOpcode(f.code));
    if (bad >= 0) throw new CbpfError("unknown_opcode", `unknown opcode 0x${prog[bad]!.code.toString(16)}`, { pc: bad });
    this.maxBack = opts.maxBackwardJumps ?? 1_000_000;
    this.prog = prog.map((f) => ({ ...f }));
    this.insns = jitFilterProgram(prog, { maxBackwardJumps: this.maxBack });
    this.space = opts.space ?? new AddressSpace({ initialBytes: 1 << 20, maxBytes: 1 << 30 });
    this.stack = this.space.map(LIST_STACK_SIZE, { name: "filter stack", kind: "stack", align: 16 });
    this.block = this.space.map(BLOCK_HEADER + JIT_BLOCK * JIT_DESC_SIZE + 16, { name: "packet block", kind: "ctx", align: 16 });
    this.list = this.space.map(16, { name: "block list", kind: "mem", align: 8 });
    this.u32 = new Uint32Array(this.space.memory.buffer);
    this.u32[this.list.start >> 2] = this.block.start;
  }

  /** The 32-bit view, re-made when the memory grew. */
  private words(): Uint32Array {
    if (this.u32.buffer !== this.space.memory.buffer) this.u32 = new Uint32Array(this.space.memory.buffer);
    return this.u32;
  }

  /**
   * A buffer of `size` bytes inside the filter's address space (replacing the previous
   * one): packets read into it are filtered without being copied. A later ioBuffer()
   * or a copy into the staging area may grow the memory, which detaches older views.
   */
  ioBuffer(size: number): Uint8Array {
    // The pcap walker's regions first: mapping them later could grow (and detach) the buffer.
    this.pcap ??= this.pcapWalker();
    if (this.io !== undefined) this.space.unmap(this.io);
    this.io = this.space.map(Math.max(16, size), { name: "capture buffer", kind: "packet", align: 16 });
    this.u32 = new Uint32Array(this.space.memory.buffer);
    return new Uint8Array(this.space.memory.buffer, this.io.start, size);
  }

  /** A staging area of at least `size` bytes for packets that are not in the space. */
  private stage(size: number): number {
    if (this.staging === undefined || this.staging.end - this.staging.start < size) {
      if (this.staging !== undefined) this.space.unmap(this.staging);
      this.staging = this.space.map(Math.max(size, 1 << 16), { name: "packet staging", kind: "packet", align: 16 });
    }
    return this.staging.start;
  }

  /** Runs the block's m packets (descriptors already written). */
  private runFilled(w: Uint32Array, m: number): void {
    const b = this.block.start >> 2;
    w[b] = m;
    this.runner ??= new ListRunner(this.insns, this.space, this.stack);
    this.runner.runList(1, this.list.start, this.list.start + 8);
    if (w[b + 4 + 4 * m] !== 0) throw new CbpfError("loop_limit", `more than ${this.maxBack} backward jumps in one run`);
  }

  run(pkt: Uint8Array, wirelen: number, caplen: number, offset: number): number {
    if (!(offset >= 0 && caplen >= 0 && offset + caplen <= pkt.length)) throw new RangeError(`packet [${offset}, +${caplen}) outside its ${pkt.length}-byte buffer`);
    let addr: number;
    if (inSpace(pkt, this.space)) addr = pkt.byteOffset + offset;
    else {
      addr = this.stage(caplen);
      this.space.u8.set(pkt.subarray(offset, offset + caplen), addr);
    }
    const w = this.words();
    const d = (this.block.start + BLOCK_HEADER) >> 2;
    w[d] = wirelen;
    w[d + 1] = addr;
    w[d + 2] = caplen;
    this.runFilled(w, 1);
    return w[d + 3]!;
  }

  matches(p: { readonly buffer: Uint8Array; readonly dataOffset: number; readonly caplen: number; readonly len: number }): boolean {
    return this.run(p.buffer, p.len, p.caplen, p.dataOffset) !== 0;
  }

  /**
   * Filters n packets: packet i is bytes[offsets[i], + caplens[i]) with wire length
   * wirelens[i]; its verdict goes to verdicts[i]. Bytes inside the address space
   * (ioBuffer) are read in place; others are copied block by block.
   */
  runBlock(bytes: Uint8Array, n: number, offsets: ArrayLike<number>, caplens: ArrayLike<number>, wirelens: ArrayLike<number>, verdicts: Uint32Array): void {
    const direct = inSpace(bytes, this.space);
    const first = (this.block.start + BLOCK_HEADER) >> 2;
    for (let b = 0; b < n; b += JIT_BLOCK) {
      const m = Math.min(JIT_BLOCK, n - b);
      let base: number;
      if (direct) base = bytes.byteOffset;
      else {
        // The block's bytes as one span (packets of one buffer are usually in order).
        let lo = Infinity;
        let hi = 0;
        for (let i = b; i < b + m; i++) {
          const o = offsets[i]!;
          if (o < lo) lo = o;
          if (o + caplens[i]! > hi) hi = o + caplens[i]!;
        }
        if (hi <= lo) lo = hi = 0;
        base = this.stage(hi - lo) - lo;
        this.space.u8.set(bytes.subarray(lo, hi), base + lo);
      }
      const w = this.words();
      const size = bytes.length;
      let d = first;
      for (let i = b; i < b + m; i++, d += 4) {
        const o = offsets[i]!;
        const c = caplens[i]!;
        // The program reads where the descriptors say: they must stay inside bytes.
        if (!(o >= 0 && c >= 0 && o + c <= size)) throw new RangeError(`packet ${i}: [${o}, +${c}) outside the ${size}-byte buffer`);
        w[d] = wirelens[i]!;
        w[d + 1] = base + o;
        w[d + 2] = c;
      }
      this.runFilled(w, m);
      d = first + 3;
      for (let i = b; i < b + m; i++, d += 4) verdicts[i] = w[d]!;
    }
  }

  /**
   * Filters the classic pcap records (little-endian headers, as in a file written on
   * a little-endian machine) that lie wholly in bytes[start, end), where bytes is an
   * ioBuffer(), in one wasm call: the program walks the records itself. It stops at
   * the end, at an incomplete record, at a caplen above `maxCaplen` (left for the
   * caller to report) or after JIT_PCAP_VERDICTS records. Returns how many records it
   * filtered; their verdicts are pcapVerdicts()[0 .. count).
   */
  filterPcapRecords(bytes: Uint8Array, start: number, end: number, maxCaplen: number): number {
    const p = this.pcap;
    if (p === undefined || !inSpace(bytes, this.space)) throw new RangeError("filterPcapRecords reads an ioBuffer() in place");
    if (start < 0 || end > bytes.length || start > end) throw new RangeError(`records [${start}, ${end}) outside the ${bytes.length}-byte buffer`);
    const w = this.words();
    const h = p.header.start >> 2;
    w[h + PH_START / 4] = bytes.byteOffset + start;
    w[h + PH_END / 4] = bytes.byteOffset + end;
    w[h + PH_OUT / 4] = p.verdicts.start;
    w[h + PH_OUT_END / 4] = p.verdicts.end;
    w[h + PH_LIMIT / 4] = Math.min(maxCaplen, 0xffffffff) >>> 0;
    w[h + PH_LOOP / 4] = 0;
    p.runner.runList(1, p.list.start, p.list.start + 8);
    if (w[h + PH_LOOP / 4] !== 0) throw new CbpfError("loop_limit", `more than ${this.maxBack} backward jumps in one run`);
    return (w[h + PH_OUT / 4]! - p.verdicts.start) >> 2;
  }

  /** The verdicts of the last filterPcapRecords() (a view into the address space). */
  pcapVerdicts(): Uint32Array {
    const p = this.pcap;
    if (p === undefined) return new Uint32Array(0);
    return new Uint32Array(this.space.memory.buffer, p.verdicts.start, JIT_PCAP_VERDICTS);
  }

  private pcapWalker(): { runner: ListRunner; header: Region; list: Region; verdicts: Region } {
    const runner = new ListRunner(jitFilterProgram(this.prog, { maxBackwardJumps: this.maxBack, layout: "pcap" }), this.space, this.stack);
    const header = this.space.map(PCAP_HEADER, { name: "pcap walk", kind: "ctx", align: 16 });
    const list = this.space.map(16, { name: "pcap walk list", kind: "mem", align: 8 });
    const verdicts = this.space.map(4 * JIT_PCAP_VERDICTS, { name: "pcap verdicts", kind: "mem", align: 16 });
    this.words()[list.start >> 2] = header.start;
    return { runner, header, list, verdicts };
  }

  /** Releases the address space's regions (the space itself is garbage-collected). */
  close(): void {
    this.runner?.close();
    this.runner = undefined;
    for (const r of [this.stack, this.block, this.list, this.staging, this.io]) if (r !== undefined) this.space.unmap(r);
    if (this.pcap !== undefined) {
      this.pcap.runner.close();
      for (const r of [this.pcap.header, this.pcap.list, this.pcap.verdicts]) this.space.unmap(r);
      this.pcap = undefined;
    }
  }
}
