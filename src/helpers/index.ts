/** Kernel helpers: ids and prototypes (generated from bpf.h), the runtime interface they need, and their implementations. */
export * from "./ids.generated.js";
export * from "./env.js";
export * from "./implementations.js";
export { bpfFormat, FormatError, type FormatResult } from "./printf.js";
export * from "./allowed.js";
