// Kernel behaviours of the helpers and program types that the fixture corpus does not
// pin down on its own: the per-program-type helper sets, the printf format language
// (bpf_bprintf_prepare / bstr_printf), test_run's refusals, and Program.run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { assemble } from "../../src/asm/index.js";
import { AddressSpace } from "../../src/vm/index.js";
import { FormatError, bpfFormat, helpersByProgramType, programTypeHelperIds } from "../../src/helpers/index.js";
import { returnCodes, returnValueName, testRunKind } from "../../src/progtypes/index.js";
import { ProgramFault, Runtime, TestRunError } from "../../src/runtime/index.js";

const ETH_IP4 = (() => {
  const p = new Uint8Array(64);
  p.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45], 0);
  return p;
})();

test("helper sets follow the kernel's func_proto tables", () => {
  const xdp = new Set(programTypeHelperIds("BPF_PROG_TYPE_XDP"));
  const tc = new Set(programTypeHelperIds("BPF_PROG_TYPE_SCHED_CLS"));
  const sock = new Set(programTypeHelperIds("BPF_PROG_TYPE_SOCKET_FILTER"));
  const rawtp = new Set(programTypeHelperIds("BPF_PROG_TYPE_RAW_TRACEPOINT"));
  const kprobe = new Set(programTypeHelperIds("BPF_PROG_TYPE_KPROBE"));
  // bpf_xdp_adjust_head (44) is XDP only; bpf_skb_store_bytes (9) tc only.
  assert.ok(xdp.has(44) && !tc.has(44));
  assert.ok(tc.has(9) && !xdp.has(9) && !sock.has(9));
  // socket filters load bytes but cannot rewrite them or compute checksums.
  assert.ok(sock.has(26) && sock.has(68) && !sock.has(28) && !sock.has(10));
  // task helpers: tracing types only (bpf_get_current_pid_tgid is base since 6.10).
  assert.ok(rawtp.has(16) && !xdp.has(16) && xdp.has(14));
  // bpf_get_func_ip: kprobes, not raw tracepoints; bpf_ktime_get_coarse_ns: networking types.
  assert.ok(kprobe.has(173) && !rawtp.has(173));
  assert.ok(xdp.has(160) && !rawtp.has(160));
  const all = helpersByProgramType();
  assert.ok(all.get("BPF_PROG_TYPE_CGROUP_SKB")!.some((h) => h.name === "bpf_skb_load_bytes_relative"));
});

test("return codes and test_run kinds", () => {
  assert.equal(returnValueName("BPF_PROG_TYPE_XDP", 3), "XDP_TX");
  assert.equal(returnValueName("BPF_PROG_TYPE_SCHED_CLS", 0xffffffff), "TC_ACT_UNSPEC");
  assert.deepEqual(returnCodes("BPF_PROG_TYPE_CGROUP_SKB", "egress").range, [0, 3]);
  assert.deepEqual(returnCodes("BPF_PROG_TYPE_CGROUP_SKB").range, [0, 1]);
  assert.equal(testRunKind("BPF_PROG_TYPE_KPROBE"), undefined);
  assert.equal(testRunKind("BPF_PROG_TYPE_SOCKET_FILTER"), "skb");
});

test("printf: the kernel's conversions, widths and refusals", () => {
  const space = new AddressSpace({ maxBytes: 1 << 22 });
  const r = space.map(64, { name: "buf", kind: "mem" });
  space.u8.set([10, 1, 2, 3], r.start);
  space.u8.set(new TextEncoder().encode("hi\0"), r.start + 8);
  const ip6 = r.start + 16;
  space.u8.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], ip6);
  const f = (fmt: string, ...args: bigint[]) => bpfFormat(space, fmt, args, "test").text;
  assert.equal(f("%pI4 %pi4", BigInt(r.start), BigInt(r.start)), "10.1.2.3 010.001.002.003");
  assert.equal(f("%pI6", BigInt(ip6)), "2001:0db8:0000:0000:0000:0000:0000:0001");
  assert.equal(f("%pi6", BigInt(ip6)), "20010db8000000000000000000000001");
  assert.equal(f("[%5d|%-5d|%05d|%+d|% d]", 42n, 42n, -42n, 7n, 7n), "[   42|42   |-0042|+7| 7]");
  assert.equal(f("%d %u %ld %x %lX", 0xffffffffn, 0xffffffffn, 0xffffffffn, 0x1234abcdn, 0xabcdn), "-1 4294967295 4294967295 1234abcd ABCD");
  assert.equal(f("%s|%c|%%", BigInt(r.start + 8), 65n), "hi|A|%");
  assert.equal(f("%s", 0n), ""); // an unreadable string prints as ""
  assert.equal(f("%pI4", 0n), "0.0.0.0"); // an unreadable address prints as zeros
  for (const bad of ["%o", "%.2d", "%hd", "%#x", "%pX", "%sx", "\x01"]) {
    assert.throws(() => bpfFormat(space, bad, [1n], "test"), FormatError, bad);
  }
  assert.throws(() => bpfFormat(space, "%d %d", [1n], "test"), FormatError);
  // bstr_printf: pre-formatted pointer output counts only while the buffer has room.
  const full = bpfFormat(space, "abcdefgh%pI4", [BigInt(r.start)], "test", 8);
  assert.equal(full.length, 8);
  assert.equal(bpfFormat(space, "abc%pI4", [BigInt(r.start)], "test", 8).length, 11);
  assert.equal(bpfFormat(space, "abcdefgh%d", [123n], "test", 8).length, 11);
});

test("test_run refuses what the kernel refuses", () => {
  const rt = new Runtime();
  const ret0 = assemble("r0 = 0\nexit");
  const kprobe = rt.loadProgram({ name: "k", type: "kprobe", insns: ret0 });
  assert.throws(() => kprobe.testRun(), (e: unknown) => e instanceof TestRunError && e.errno === -524);
  // Program.run: any type on a caller's ctx.
  assert.equal(kprobe.run({ ctx: new Uint8Array(168) }).retval, 0);
  const rawtp = rt.loadProgram({ name: "r", type: "raw_tracepoint", insns: assemble("r0 = *(u64 *)(r1 + 8)\nexit") });
  const args = new Uint8Array(16);
  args[8] = 9;
  assert.equal(rawtp.testRun({ ctxIn: args }).retval, 9);
  assert.throws(() => rawtp.testRun({ ctxIn: args, repeat: 2 }), (e: unknown) => e instanceof TestRunError && e.errno === -22);
  assert.throws(() => rawtp.testRun({ ctxIn: new Uint8Array(13 * 8) }), (e: unknown) => e instanceof TestRunError && e.errno === -22);
  const tc = rt.loadProgram({ name: "t", type: "sched_cls", insns: ret0 });
  const ctx = new Uint8Array(192);
  ctx[4] = 1; // pkt_type may not be set
  assert.throws(() => tc.testRun({ dataIn: ETH_IP4, ctxIn: ctx }), (e: unknown) => e instanceof TestRunError && e.errno === -22);
  const dev = new Uint8Array(192);
  dev[40] = 2; // ifindex 2: no such device
  assert.throws(() => tc.testRun({ dataIn: ETH_IP4, ctxIn: dev }), (e: unknown) => e instanceof TestRunError && e.errno === -19);
  const xdp = rt.loadProgram({ name: "x", type: "xdp", insns: ret0 });
  const md = new Uint8Array(24);
  md[0] = 6; // 6 bytes of metadata: not a multiple of 4
  md[4] = 64;
  assert.throws(() => xdp.testRun({ dataIn: ETH_IP4, ctxIn: md }), (e: unknown) => e instanceof TestRunError && e.errno === -22);
});

test("a helper the program type may not call faults with the verifier's complaint", () => {
  const rt = new Runtime();
  // bpf_get_current_comm (16) from XDP
  const p = rt.loadProgram({ name: "x", type: "xdp", insns: assemble("r1 = r10\nr1 += -16\nr2 = 16\ncall 16\nr0 = 2\nexit") });
  assert.throws(() => p.testRun({ dataIn: ETH_IP4 }), (e: unknown) => e instanceof ProgramFault && /unknown func bpf_get_current_comm#16/.test(e.message));
});

test("bpf_csum_diff: pushing, pulling and diffing as Linux 6.18 folds them", () => {
  const rt = new Runtime();
  // *(u64 *)(r10 - 8) = 0, then bpf_csum_diff(from, fs, to, ts, 0) with from/to on that slot or NULL.
  const run = (fs: number, ts: number): number => {
    const from = fs === 0 ? "r1 = 0" : "r1 = r10\nr1 += -8";
    const to = ts === 0 ? "r3 = 0" : "r3 = r10\nr3 += -8";
    const p = rt.loadProgram({ name: "c", type: "xdp", insns: assemble(`r6 = 0\n*(u64 *)(r10 - 8) = r6\n${from}\nr2 = ${fs}\n${to}\nr4 = ${ts}\nr5 = 0\ncall 28\nexit`) });
    return p.testRun({ dataIn: ETH_IP4 }).retval;
  };
  // recorded on 6.18 with zero-filled buffers (600/516/512 bytes there)
  assert.equal(run(8, 8), 0xffff);
  assert.equal(run(0, 8), 0);
  assert.equal(run(8, 0), 0);
});

test("cgroup skb and socket filter runs see the dummy socket and return the header zeroed", () => {
  const rt = new Runtime();
  // r0 = skb->family (offset 88) | skb->local_ip4 (96) == saddr
  const p = rt.loadProgram({ name: "c", type: "cgroup_skb", insns: assemble("r0 = *(u32 *)(r1 + 88)\nexit") });
  const r = p.testRun({ dataIn: ETH_IP4 });
  assert.equal(r.retval, 2);
  assert.deepEqual([...r.dataOut!.subarray(0, 14)], new Array(14).fill(0));
  assert.equal(r.dataOut![14], 0x45);
});

test("socket lookups find no socket (the runtime has none), on both engines", () => {
  const insns = assemble([
    "r2 = 0", "*(u64 *)(r10 - 16) = r2", "*(u64 *)(r10 - 8) = r2", "r2 = r10", "r2 += -16", "r3 = 12", "r4 = -1", "r5 = 0",
    "call 84", "if r0 == 0 goto +4", "r1 = r0", "call 86", "r0 = 1", "exit", "r0 = 2", "exit",
  ].join("\n"));
  const rt = new Runtime();
  for (const engine of ["interp", "jit"] as const) {
    const p = rt.loadProgram({ name: "sk", type: "sched_cls", insns, engine, verified: true });
    assert.equal(p.testRun({ dataIn: ETH_IP4 }).retval, 2, engine);
  }
});
