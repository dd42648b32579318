/** The eBPF machine: address space, predecoded programs, the interpreter, the helper calling convention. */
export * from "./address-space.js";
export * from "./helpers.js";
export * from "./program.js";
export * from "./interpreter.js";
export * from "./run.js";
export * from "./trace.js";
