/** The BPF conformance suite: its `.data` file format and the helper set its tests assume. */
export * from "./datafile.js";
import { helperTable, type HelperTable } from "../vm/index.js";

/**
 * The only helper the suite calls is id 5 (`call_unwind_fail.data`, `callx.data`), which
 * must return without stopping the program. In the kernel id 5 is bpf_ktime_get_ns; we
 * give it that meaning (a monotonic nanosecond clock).
 */
export function conformanceHelpers(): HelperTable {
  const start = Date.now();
  let last = 0n;
  return helperTable([
    {
      id: 5,
      name: "bpf_ktime_get_ns",
      fn: () => {
        const now = BigInt(Date.now() - start) * 1_000_000n;
        last = now > last ? now : last + 1n;
        return last;
      },
    },
  ]);
}
