/**
 * One-shot execution in the conformance-suite convention (FORMAT.md (d), uBPF's):
 * r1 = address of a private writable copy of the input memory (0 when there is none),
 * r2 = its length, r10 = top of a fresh stack.
 */
import type { Insn } from "../isa/index.js";
import { AddressSpace } from "./address-space.js";
import type { HelperTable } from "./helpers.js";
import { Machine, type RunResult } from "./interpreter.js";
import { predecode, type PredecodedProgram } from "./program.js";

export interface RunOnMemoryOptions {
  memory?: Uint8Array;
  helpers?: HelperTable;
  budget?: number;
  space?: AddressSpace;
}

export interface RunOnMemoryResult {
  result: RunResult;
  /** The input memory after the run. */
  memory: Uint8Array;
}

export function runOnMemory(program: readonly Insn[] | PredecodedProgram, opts: RunOnMemoryOptions = {}): RunOnMemoryResult {
  const space = opts.space ?? new AddressSpace({ initialBytes: 256 * 1024 });
  const p = Array.isArray(program) ? predecode(program) : (program as PredecodedProgram);
  const machineOpts: { helpers?: HelperTable; budget?: number } = {};
  if (opts.helpers !== undefined) machineOpts.helpers = opts.helpers;
  if (opts.budget !== undefined) machineOpts.budget = opts.budget;
  const m = new Machine(p, space, machineOpts);
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
