/**
 * Path exploration details the corpus only sees as verdicts: precision tracking
 * (which scalars pruning compares) and the rotating log.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assemble } from "../../src/asm/index.js";
import { verifyProgram } from "../../src/verifier/index.js";

/** n diamonds that leave r6 different on every path; `tail` after them. */
function diamonds(n: number, tail: string): string {
  return ["r6 = 0", ...Array.from({ length: n }, () => "call 7\nr6 <<= 1\nif r0 > 5 goto +1\nr6 |= 1"), tail].join("\n");
}

const run = (src: string, privileged = true) =>
  verifyProgram({ insns: assemble(src), progType: "socket_filter", privileged, logLevel: 0 });

test("a scalar no path uses exactly is not compared: the diamonds' states are equivalent", () => {
  const r = run(diamonds(16, "r0 = 0\nexit"));
  assert.equal(r.accepted, true);
  // The kernel's count for the same program (one state per diamond).
  assert.ok(r.stats.processed < 200, `processed ${r.stats.processed}`);
});

/**
 * Diamonds whose fall-through leaves the bit clear (the walk takes fall-throughs
 * first), then R0 = r6 >> 2 returned from a cgroup_skb program (R0 must be 0 or 1):
 * only paths that took the first diamond's jump fail, and the walk reaches them only
 * if pruning compares r6, which the return value check made precise.
 */
function late(n: number, spill: boolean): string {
  const body = spill
    ? "call 7\nr6 = *(u64 *)(r10 - 8)\nr6 <<= 1\nif r0 > 5 goto +1\ngoto +1\nr6 |= 1\n*(u64 *)(r10 - 8) = r6"
    : "call 7\nr6 <<= 1\nif r0 > 5 goto +1\ngoto +1\nr6 |= 1";
  return ["r6 = 0", "*(u64 *)(r10 - 8) = r6", ...Array.from({ length: n }, () => body), "r0 = r6", `r0 >>= ${n - 2}`, "exit"].join("\n");
}

const cgroup = (src: string) =>
  verifyProgram({ insns: assemble(src), progType: "cgroup_skb", expectedAttachType: "BPF_CGROUP_INET_INGRESS", logLevel: 0 });

test("a scalar a later check relies on is compared exactly: the failing path is reached", () => {
  const r = cgroup(late(6, false));
  assert.equal(r.accepted, false);
  assert.match(r.error!.message, /R0 has smin=2 smax=2 should have been in \[0, 1\]/);
});

test("precision follows the value through stack spills and fills", () => {
  const r = cgroup(late(6, true));
  assert.equal(r.accepted, false);
  assert.match(r.error!.message, /R0 has smin=2 smax=2 should have been in \[0, 1\]/);
});

test("unprivileged programs compare every scalar (as unknown scalars start precise in the kernel)", () => {
  const r = run(diamonds(8, "r0 = 0\nexit"), false);
  assert.equal(r.accepted, true);
  assert.ok(r.stats.processed > 500, `processed ${r.stats.processed}`);
});

test("a log longer than logSize keeps its tail, from a whole line", () => {
  const src = Array.from({ length: 3000 }, () => "r0 = 0").join("\n") + "\nexit";
  const full = verifyProgram({ insns: assemble(src), progType: "socket_filter", logLevel: 1 });
  const cut = verifyProgram({ insns: assemble(src), progType: "socket_filter", logLevel: 1, logSize: 20000 });
  assert.ok(full.log.length > 3000);
  const chars = cut.log.join("\n").length;
  assert.ok(chars < 20000 + 40 * 1024 && chars >= 20000, `kept ${chars}`);
  assert.deepEqual(cut.log, full.log.slice(full.log.length - cut.log.length));
  assert.match(cut.log[0]!, /^\d+: \(b7\) r0 = 0/);
});
