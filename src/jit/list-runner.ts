/**
 * ListRunner: a self-contained eBPF program (no helper calls, no legacy packet loads,
 * no tail calls, no maps) compiled in verified mode and instantiated on its own, for
 * callers that lay out the batch themselves: `runList(n, list, out)` runs the program
 * once per u32 ctx pointer at `list` and stores each r0 as a u64 at `out`, in one wasm
 * call and without allocating (the cBPF JIT filter, src/cbpf/jit-filter.ts, runs a
 * block of packets this way).
 *
 * The caller vouches for the program as the verifier would (the JIT checks nothing in
 * verified mode; the wasm memory bound still keeps every access inside the address
 * space): the cBPF filter gets that from bpf_check_classic() plus its own bounds
 * checks on every packet load. A program that needs a JitMachine's imports is refused.
 */
import { MAX_BPF_STACK, MAX_CALL_FRAMES, type Insn } from "../isa/index.js";
import { predecode, type AddressSpace, type Region } from "../vm/index.js";
import type { CompiledProgram } from "./compile.js";
import { compileCached } from "./machine.js";

/** The stack a ListRunner needs: MAX_CALL_FRAMES frames, as a JitMachine's. */
export const LIST_STACK_SIZE = MAX_CALL_FRAMES * MAX_BPF_STACK;

interface ListExports {
  runList(n: number, list: number, out: number): void;
}

export class ListRunner {
  readonly compiled: CompiledProgram;
  readonly stack: Region;
  private readonly exports: ListExports;
  private readonly ownStack: boolean;

  /** The stack region: `stack` when given (at least MAX_CALL_FRAMES * MAX_BPF_STACK bytes, 16-aligned), else mapped here. */
  constructor(
    insns: readonly Insn[],
    readonly space: AddressSpace,
    stack?: Region,
  ) {
    this.compiled = compileCached(predecode(insns), { mode: "verified", helpers: new Map(), space, sharedMemory: false });
    if (this.compiled.imports.length > 0 || this.compiled.usesTable || this.compiled.counting) {
      throw new Error("ListRunner: the program calls helpers, loads packets with BPF_LD_[ABS|IND] or tail-calls; run it on a JitMachine");
    }
    if (stack !== undefined && (stack.end - stack.start < LIST_STACK_SIZE || stack.start % 16 !== 0)) throw new RangeError(`ListRunner: the stack must be ${LIST_STACK_SIZE} bytes, 16-aligned`);
    this.stack = stack ?? space.map(LIST_STACK_SIZE, { name: "list stack", kind: "stack", align: 16 });
    this.ownStack = stack === undefined;
    const mut = (): WebAssembly.Global => new WebAssembly.Global({ value: "i32", mutable: true }, 0);
    const env = { memory: space.memory, stackLo: this.stack.start, stackEnd: this.stack.end, tail: mut(), tailCount: mut(), cpu: mut() };
    const inst = new WebAssembly.Instance(this.compiled.module, { jit: {}, env: env as unknown as WebAssembly.ModuleImports });
    this.exports = inst.exports as unknown as ListExports;
  }

  /** r1 = the u32 at list + 4i, r0 stored at out + 8i, for i < n (both 8-byte aligned areas of the space). */
  runList(n: number, list: number, out: number): void {
    this.exports.runList(n, list, out);
  }

  /** Unmaps the stack it mapped itself. */
  close(): void {
    if (this.ownStack) this.space.unmap(this.stack);
  }
}
