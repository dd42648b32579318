/** Program types: numbering, ctx layouts, and the packet buffers BPF_PROG_TEST_RUN builds for them. */
export * from "./types.js";
export * from "./ctx.js";
export * from "./xdp.js";
export * from "./skb.js";
export * from "./info.js";
