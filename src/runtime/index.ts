/** The runtime: address space, maps, programs, helpers and BPF_PROG_TEST_RUN, and loading objects into it. */
export * from "./runtime.js";
export * from "./program.js";
export * from "./collection.js";
