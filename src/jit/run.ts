/**
 * One-shot execution in the conformance-suite convention on the JIT, the counterpart
 * of src/vm/run.ts's runOnMemory: r1 = a private writable copy of the input memory (0
 * when there is none), r2 = its length, r10 = the top of a fresh stack.
 */
import type { Insn } from "../isa/index.js";
import { AddressSpace, predecode, type HelperTable, type PredecodedProgram, type RunOnMemoryResult } from "../vm/index.js";
import type { JitMode } from "./compile.js";
import { JitMachine } from "./machine.js";

export interface RunOnMemoryJitOptions {
  memory?: Uint8Array;
  helpers?: HelperTable;
  budget?: number;
  space?: AddressSpace;
  mode?: JitMode;
  forceDispatch?: boolean;
}

export function runOnMemoryJit(program: readonly Insn[] | PredecodedProgram, opts: RunOnMemoryJitOptions = {}): RunOnMemoryResult {
  const space = opts.space ?? new AddressSpace({ initialBytes: 256 * 1024 });
  const p = Array.isArray(program) ? predecode(program as readonly Insn[]) : (program as PredecodedProgram);
  const m = new JitMachine(p, space, {
    mode: opts.mode ?? "checked",
    ...(opts.helpers !== undefined ? { helpers: opts.helpers } : {}),
    ...(opts.budget !== undefined ? { budget: opts.budget } : {}),
    ...(opts.forceDispatch !== undefined ? { forceDispatch: opts.forceDispatch } : {}),
  });
  const input = opts.memory ?? new Uint8Array(0);
  const region = input.length > 0 ? space.mapBytes(input, { name: "mem", kind: "mem" }) : undefined;
  try {
    m.reset({ r1: region === undefined ? 0n : BigInt(region.start), r2: BigInt(input.length) });
    const result = m.run();
    return { result, memory: region === undefined ? new Uint8Array(0) : space.read(region.start, input.length) };
  } finally {
    if (region !== undefined) space.unmap(region);
    m.close();
  }
}
