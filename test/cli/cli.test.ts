// The tsbpf command in-process: outputs, exit statuses, and one-line errors for bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { main } from "../../src/cli/main.js";
import { nodeIo, type CliIo } from "../../src/cli/io.js";
import { BENCH_OBJ_DIR, missing } from "../support/paths.js";

async function cli(args: string[], stdin = ""): Promise<{ status: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { ...nodeIo, out: (t) => void (out += t), err: (t) => void (err += t), readStdin: async () => stdin, isTty: false };
  const status = await main(args, io);
  return { status, out, err };
}

const dir = mkdtempSync(join(tmpdir(), "tsbpf-cli-"));
const file = (name: string, data: string | Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};

test("demo assembles, traces and runs the bundled example", async () => {
  const r = await cli(["demo", "--trace-lines", "5"]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /call local \+8/);
  assert.match(r.out, /trace summary: 463281 instructions/);
  assert.match(r.out, /r0 = 0x367 \(871\)/);
  assert.match(r.out, /time .*\/run over 20 runs/);
});

test("asm writes raw bytes; run executes them with input memory", async () => {
  const src = file("p.s", "r0 = *(u8 *)(r1 + 2)\nr0 += r2\nexit\n");
  const bin = join(dir, "p.bin");
  let r = await cli(["asm", src, "-o", bin]);
  assert.equal(r.status, 0, r.err);
  assert.deepEqual([...readFileSync(bin)].slice(0, 8), [0x71, 0x10, 2, 0, 0, 0, 0, 0]);
  r = await cli(["run", bin, "--mem-hex", "aa bb 11 cc"]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^r0 = 0x15 \(21\)\nexecuted 3 instructions\ntime /);
  r = await cli(["asm", src, "--hex"]);
  assert.equal(r.out.split("\n")[0], "71 10 02 00 00 00 00 00");
});

test("run --trace prints changed registers and a summary", async () => {
  const src = file("t.s", "r1 = 5\nloop:\nr1 -= 1\nif r1 != 0 goto loop\nr0 = 7\nexit\n");
  const r = await cli(["run", src, "--trace"]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^ {4}0: r1 = 5 +; r1=0x5$/m);
  assert.match(r.out, /^ {4}1: r1 -= 1 +; r1=0x4$/m);
  assert.match(r.out, /trace summary: 13 instructions, 4 taken branches/);
  assert.match(r.out, /r0 = 0x7 \(7\)/);
});

test("a fault exits with status 2 and names the instruction, address and size", async () => {
  const src = file("f.s", "r1 = 0\nr0 = *(u64 *)(r1 + 16)\nexit\n");
  const r = await cli(["run", src]);
  assert.equal(r.status, 2);
  assert.match(r.out, /fault: insn 1: invalid read of 8 bytes at 0x10: no mapped region/);
});

test("the budget stops a loop", async () => {
  const src = file("loop.s", "l:\ngoto l\n");
  const r = await cli(["run", src, "--budget", "500"]);
  assert.equal(r.status, 2);
  assert.match(r.out, /instruction budget of 500 exhausted/);
});

test("bad input: one line with file, line and column; no stack trace", async () => {
  let r = await cli(["run", join(dir, "missing.bin")]);
  assert.equal(r.status, 1);
  assert.match(r.err, /^tsbpf: cannot read program '.*missing.bin': no such file\n$/);
  r = await cli(["asm", file("bad.s", "r0 = 1\nr0 += r11\n")]);
  assert.equal(r.status, 1);
  assert.match(r.err, /bad\.s:2:7: /);
  r = await cli(["run", file("bad.bin", Uint8Array.from([0xff, 0, 0, 0, 0, 0, 0, 0]))]);
  assert.equal(r.status, 1);
  assert.match(r.err, /insn 0: unknown opcode ff/);
  r = await cli(["run", file("x.s", "exit\n"), "--repeat", "zero"]);
  assert.equal(r.status, 1);
  assert.match(r.err, /--repeat must be a positive integer/);
  r = await cli(["frobnicate"]);
  assert.notEqual(r.status, 0);
  assert.match(r.err, /unknown command/);
});

test("--help on every command", async () => {
  for (const c of ["demo", "asm", "disasm", "run", "conformance"]) {
    const r = await cli([c, "--help"]);
    assert.equal(r.status, 0, c);
    assert.match(r.out, new RegExp(`Usage: tsbpf ${c}`));
  }
});

test("disasm: ELF section in xlated style and raw bytes in uBPF style", { skip: missing(BENCH_OBJ_DIR, "TSBPF_SHARED") }, async () => {
  let r = await cli(["disasm", join(BENCH_OBJ_DIR, "flow_count.o"), "-s", "xdp", "--style", "xlated"]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^ {3}0: \(61\) r6 = \*\(u32 \*\)\(r1 \+4\)$/m);
  r = await cli(["disasm", join(BENCH_OBJ_DIR, "alu_loop.xdp.bin"), "--style", "ubpf"]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /lddw %r\d, 0x/);
  r = await cli(["disasm", join(BENCH_OBJ_DIR, "flow_count.o"), "-s", "nope"]);
  assert.equal(r.status, 1);
  assert.match(r.err, /no section 'nope' in the object; program sections: xdp/);
});

test("run an ELF object's program: packet programs go through BPF_PROG_TEST_RUN", { skip: missing(BENCH_OBJ_DIR, "TSBPF_SHARED") }, async () => {
  let r = await cli(["run", join(BENCH_OBJ_DIR, "stack_sieve.o")]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /r0 = 0x135 \(309\)\nexecuted 101520 instructions/);
  r = await cli(["run", join(BENCH_OBJ_DIR, "flow_count.o"), "--mem", join(BENCH_OBJ_DIR, "..", "pkt", "tcp64.bin"), "--repeat", "3"]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^r0 = 0x2 \(2\)\nexecuted \d+ instructions\ntime .* \(xdp program flow_count, BPF_PROG_TEST_RUN, JIT verified\)/);
  // --trace steps one BPF_PROG_TEST_RUN on the interpreter, through the real ctx and packet.
  r = await cli(["run", join(BENCH_OBJ_DIR, "flow_count.o"), "--mem", join(BENCH_OBJ_DIR, "..", "pkt", "tcp64.bin"), "--trace"]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^ {4}7: if r2 > r6 goto \+68$/m);
  assert.match(r.out, /^ {3}16: r2 = \*\(u8 \*\)\(r2 \+ 0\) +; r2=0x45$/m);
  assert.match(r.out, /trace summary: 67 instructions, 3 taken branches/);
  assert.match(r.out, /r0 = 0x2 \(2\)\nexecuted 67 instructions \(xdp program flow_count, BPF_PROG_TEST_RUN, interpreter\)/);
});
