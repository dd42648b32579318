/**
 * Classic BPF: the encoding and its kernel/libpcap names, the decoded model, the
 * tcpdump -d/-dd/-ddd text forms, the kernel's and libpcap's validity checks, a fast
 * interpreter with libpcap's semantics, and the kernel's conversion to eBPF.
 */
export * from "./constants.js";
export * from "./insn.js";
export * from "./text.js";
export * from "./check.js";
export * from "./interp.js";
export * from "./convert.js";
export * from "./jsgen.js";
export * from "./ebpf-filter.js";
export * from "./jit-filter.js";
export * from "./filter/index.js";
