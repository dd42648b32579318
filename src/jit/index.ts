/**
 * The JIT: eBPF -> WebAssembly over the runtime's memory (DESIGN.md, "two engines with
 * identical results"). compileProgram builds a module; JitMachine runs it with the
 * interpreter Machine's interface, in checked mode (the interpreter's faults and
 * budget) or verified mode (no per-access checks).
 */
export { compileProgram, compileToBytes, type CompileOptions, type CompiledProgram, type JitMode } from "./compile.js";
export { JitMachine, compileCached, type JitMachineOptions } from "./machine.js";
export { JitTrap } from "./faults.js";
export { runOnMemoryJit, type RunOnMemoryJitOptions } from "./run.js";
export { LIST_STACK_SIZE, ListRunner } from "./list-runner.js";
