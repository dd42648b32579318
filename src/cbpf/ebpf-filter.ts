/**
 * The "ebpf" filter engine: a classic program converted by convertToEbpf() (the
 * kernel's bpf_convert_filter) and run on the eBPF interpreter of src/vm, with a
 * socket-filter-like context: r1 points at a struct __sk_buff whose `len` is the wire
 * length, and the legacy packet loads (BPF_LD|ABS/IND) read the captured bytes through
 * the Machine's ldAbs loader (out of bounds ends the program with 0, as in libpcap).
 *
 * Programs the kernel's checker refuses but libpcap runs (the backward jump of
 * `protochain`) are converted without the check; the interpreter's instruction budget
 * bounds their loops.
 */
import { CbpfError } from "../errors/index.js";
import { AddressSpace, Machine, type Region } from "../vm/index.js";
import type { SockFilter } from "./constants.js";
import { convertToEbpf, type ConvertedProgram } from "./convert.js";
import type { CbpfFilter } from "./jsgen.js";

/** sizeof(struct __sk_buff), include/uapi/linux/bpf.h. */
const SK_BUFF_SIZE = 192;

export class EbpfFilter implements CbpfFilter {
  readonly engine = "ebpf" as const;
  readonly converted: ConvertedProgram;
  private readonly space = new AddressSpace();
  private readonly ctx: Region;
  private readonly machine: Machine;
  private readonly r1: bigint;
  private pkt: Uint8Array = new Uint8Array(0);
  private base = 0;
  private caplen = 0;

  constructor(prog: readonly SockFilter[]) {
    let conv: ConvertedProgram;
    try {
      conv = convertToEbpf(prog);
    } catch (e) {
      if (!(e instanceof CbpfError) || e.reason !== "jump_out_of_range") throw e;
      conv = convertToEbpf(prog, { check: false });
    }
    this.converted = conv;
    this.ctx = this.space.map(SK_BUFF_SIZE, { name: "__sk_buff", kind: "ctx" });
    this.r1 = BigInt(this.ctx.start);
    this.machine = new Machine(conv.insns, this.space, {
      ldAbs: (_ctx, offset, size) => {
        if (offset < 0 || offset + size > this.caplen) return undefined;
        const b = this.pkt;
        const o = this.base + offset;
        if (size === 1) return b[o]!;
        if (size === 2) return (b[o]! << 8) | b[o + 1]!;
        return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
      },
    });
  }

  run(pkt: Uint8Array, wirelen: number, caplen: number, offset: number): number {
    this.pkt = pkt;
    this.base = offset;
    this.caplen = caplen;
    this.space.view.setUint32(this.ctx.start, wirelen, true);
    this.machine.reset({ r1: this.r1 });
    const r = this.machine.run();
    if (r.status !== "exit") throw new CbpfError("fault", `converted eBPF faulted: ${r.fault.message}`, { pc: r.fault.pc });
    return Number(r.r0 & 0xffffffffn);
  }

  matches(p: { readonly buffer: Uint8Array; readonly dataOffset: number; readonly caplen: number; readonly len: number }): boolean {
    return this.run(p.buffer, p.len, p.caplen, p.dataOffset) !== 0;
  }

  /** Releases the machine's stack. */
  close(): void {
    this.machine.close();
  }
}
