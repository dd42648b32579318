/**
 * Focused accept/reject cases, one or two per rule, written in the kernel's asm
 * syntax. Rejections are checked by the kernel's message (a substring of the last
 * log lines); the corpus in test/verifier/corpus/ checks them against the kernel.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assemble } from "../../src/asm/index.js";
import type { Insn } from "../../src/isa/index.js";
import type { MapSpec } from "../../src/maps/index.js";
import { verifyProgram, type VerifierInput } from "../../src/verifier/index.js";
import { Runtime } from "../../src/runtime/index.js";

interface Case {
  name: string;
  asm?: string;
  insns?: Insn[];
  type?: string;
  unpriv?: boolean;
  maps?: VerifierInput["maps"];
  /** undefined: accepted; else a substring of the error message. */
  reject?: string;
  attach?: string;
}

const ARRAY: MapSpec = { name: "arr", type: "BPF_MAP_TYPE_ARRAY", keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 };
const RINGBUF: MapSpec = { name: "rb", type: "BPF_MAP_TYPE_RINGBUF", keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 };
const PROGS: MapSpec = { name: "progs", type: "BPF_MAP_TYPE_PROG_ARRAY", keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 };
const HASH: MapSpec = { name: "h", type: "BPF_MAP_TYPE_HASH", keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 };
const maps = [
  { index: 0, spec: ARRAY, name: "arr" }, { index: 1, spec: RINGBUF, name: "rb" }, { index: 2, spec: PROGS, name: "progs" },
  { index: 3, spec: HASH, name: "h" },
];
/** ld_imm64 rN = map[idx] */
const ldMap = (pc: number, dst: number, idx: number): Insn => ({ kind: "ld_imm64", pc, dst, pseudo: "map_idx", imm: idx, imm2: 0, value: BigInt(idx) });

/** Program text with `LDMAP rN idx` lines turned into map loads. */
function build(src: string): Insn[] {
  if (!/LDMAP|CALLPC/.test(src)) return assemble(src);
  const out: Insn[] = [];
  const lines = src.split("\n");
  let pc = 0;
  for (const line of lines) {
    const m = /^\s*LDMAP r(\d+) (\d+)\s*$/.exec(line);
    if (m) {
      out.push(ldMap(pc, Number(m[1]), Number(m[2])));
      pc += 2;
      continue;
    }
    const c = /^\s*CALLPC ([+-]\d+)\s*$/.exec(line);
    if (c) {
      out.push({ kind: "call", pc, target: "local", imm: Number(c[1]) });
      pc += 1;
      continue;
    }
    for (const insn of assemble(line)) {
      out.push({ ...insn, pc } as Insn);
      pc += insn.kind === "ld_imm64" ? 2 : 1;
    }
  }
  return out;
}

const LOOKUP = `r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
LDMAP r1 0
call 1`;

const cases: Case[] = [
  { name: "minimal program", asm: "r0 = 0\nexit" },
  { name: "R0 must be initialised at exit", asm: "exit", reject: "R0 !read_ok" },
  { name: "reading an uninitialised register", asm: "r0 = r5\nexit", reject: "R5 !read_ok" },
  { name: "r10 is read only", asm: "r10 = 0\nr0 = 0\nexit", reject: "frame pointer is read only" },
  { name: "unreachable instruction", asm: "r0 = 0\nexit\nr0 = 1\nexit", reject: "unreachable insn 2" },
  { name: "jump out of range", asm: "r0 = 0\nif r0 == 0 goto +5\nexit", reject: "jump out of range from insn 1 to 7" },
  { name: "fall off the end", asm: "r0 = 0", reject: "last insn is not an exit or jmp" },
  { name: "back-edge, unprivileged", asm: "r0 = 0\nl: r0 += 1\nif r0 < 10 goto l\nexit", unpriv: true, reject: "back-edge from insn 2 to 1" },
  { name: "bounded loop, privileged", asm: "r0 = 0\nl: r0 += 1\nif r0 < 10 goto l\nexit" },
  { name: "infinite loop", asm: "r0 = 0\nl: if r0 < 10 goto l\nexit", reject: "infinite loop detected at insn 1" },
  { name: "division by constant zero", asm: "r0 = 1\nr0 /= 0\nexit", reject: "div by zero" },
  { name: "shift out of range", asm: "r0 = 1\nr0 <<= 64\nexit", reject: "invalid shift 64" },
  { name: "stack store and load", asm: "r1 = 7\n*(u64 *)(r10 - 8) = r1\nr0 = *(u64 *)(r10 - 8)\nexit" },
  { name: "stack out of bounds", asm: "r1 = 0\n*(u64 *)(r10 - 520) = r1\nr0 = 0\nexit", reject: "invalid write to stack R10 off=-520 size=8" },
  { name: "stack above the frame", asm: "r1 = 0\n*(u64 *)(r10 + 0) = r1\nr0 = 0\nexit", reject: "invalid write to stack R10 off=0 size=8" },
  { name: "uninitialised stack, unprivileged", asm: "r0 = *(u64 *)(r10 - 8)\nexit", unpriv: true, reject: "invalid read from stack" },
  { name: "uninitialised stack, privileged", asm: "r0 = *(u64 *)(r10 - 8)\nexit" },
  { name: "misaligned stack access", asm: "r1 = 0\n*(u64 *)(r10 - 4) = r1\nr0 = 0\nexit", reject: "misaligned stack access" },
  { name: "scalar dereference", asm: "r1 = 0\nr0 = *(u64 *)(r1 + 0)\nexit", reject: "R1 invalid mem access 'scalar'" },
  { name: "ctx read (xdp ingress_ifindex)", asm: "r0 = *(u32 *)(r1 + 12)\nexit" },
  { name: "ctx narrow read on xdp", asm: "r0 = *(u8 *)(r1 + 12)\nexit", reject: "invalid bpf_context access off=12 size=1" },
  { name: "ctx write on xdp", asm: "r2 = 0\n*(u32 *)(r1 + 12) = r2\nr0 = 0\nexit", reject: "invalid bpf_context access off=12 size=4" },
  { name: "ctx write to skb->mark in tc", asm: "r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit", type: "sched_cls" },
  { name: "ctx write to skb->mark in a socket filter", asm: "r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit", type: "socket_filter", reject: "invalid bpf_context access off=8 size=4" },
  { name: "modified ctx pointer", asm: "r1 += 4\nr0 = *(u32 *)(r1 + 0)\nexit", reject: "dereference of modified ctx ptr R1 off=4 disallowed" },
  { name: "packet read after bounds check", asm: "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 14\nif r4 > r3 goto +1\nr0 = *(u8 *)(r2 + 13)\nr0 = 0\nexit" },
  { name: "packet read without bounds check", asm: "r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit", reject: "invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)" },
  { name: "packet read past the checked range", asm: "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 14\nif r4 > r3 goto +1\nr0 = *(u8 *)(r2 + 14)\nr0 = 0\nexit", reject: "invalid access to packet, off=14 size=1" },
  { name: "pkt pointer plus unbounded scalar", asm: "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 12)\nr3 <<= 32\nr2 += r3\nr0 = 0\nexit", reject: "math between pkt pointer and register with unbounded min value is not allowed" },
  { name: "pointer arithmetic on pkt_end", asm: "r3 = *(u32 *)(r1 + 4)\nr3 += 1\nr0 = 0\nexit", reject: "R3 pointer arithmetic on pkt_end prohibited" },
  { name: "32-bit pointer arithmetic", asm: "r2 = r10\nw2 += 1\nr0 = 0\nexit", reject: "R2 32-bit pointer arithmetic prohibited" },
  { name: "bitwise operation on a pointer", asm: "r2 = r10\nr2 &= 7\nr0 = 0\nexit", reject: "R2 bitwise operator &= on pointer prohibited" },
  { name: "pointer minus pointer, unprivileged", asm: "r2 = r10\nr2 -= r10\nr0 = 0\nexit", unpriv: true, reject: "R2 pointer -= pointer prohibited" },
  { name: "map lookup needs a NULL check", asm: `${LOOKUP.replace("LDMAP r1 0", "LDMAP r1 3")}\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit`, reject: "R0 invalid mem access 'map_value_or_null'" },
  // check_func_arg / check_helper_call: an array lookup whose key the stack holds as a constant below max_entries
  // (STACK_ZERO bytes or a spilled scalar of key_size bytes) cannot fail; privileged programs only.
  { name: "array lookup with a constant in-range key needs no NULL check", asm: `${LOOKUP}\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit` },
  { name: "array lookup with a spilled constant key needs no NULL check", asm: "r1 = 3\n*(u32 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nLDMAP r1 0\ncall 1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit" },
  { name: "array lookup with a constant key past max_entries", asm: "r1 = 4\n*(u32 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nLDMAP r1 0\ncall 1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit", reject: "R0 invalid mem access 'map_value_or_null'" },
  { name: "array lookup with a spill wider than the key", asm: "r1 = 3\n*(u64 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nLDMAP r1 0\ncall 1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit", reject: "R0 invalid mem access 'map_value_or_null'" },
  // get_constant_map_key marks the spilled key precise: the path with key 7 must not be pruned
  // against the checkpoint at the store left by the path with key 0 (enough instructions and jumps for one).
  { name: "array lookup keys from two paths are not merged by pruning", asm: "call 7\nr1 = 7\nr3 = 0\nr3 = 0\nr3 = 0\nr3 = 0\nr3 = 0\nr3 = 0\nif r0 > 5 goto +2\nr1 = 0\nr4 = 0\n*(u32 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nLDMAP r1 0\ncall 1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit", reject: "R0 invalid mem access 'map_value_or_null'" },
  { name: "array lookup with a constant key, unprivileged", asm: `${LOOKUP}\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit`, type: "socket_filter", unpriv: true, reject: "R0 invalid mem access 'map_value_or_null'" },
  // check_mem_size_reg: a variable size turns raw mode off, so the buffer must be initialised (unprivileged).
  { name: "uninitialised buffer with a variable size, unprivileged", asm: "r6 = r1\nr4 = *(u32 *)(r6 + 0)\nr4 &= 15\nr4 += 1\nr1 = r6\nr2 = 0\nr3 = r10\nr3 += -16\ncall 26\nr0 = 0\nexit", type: "socket_filter", unpriv: true, reject: "invalid read from stack R3 off -16+0 size 16" },
  { name: "initialised buffer with a variable size, unprivileged", asm: "r6 = r1\nr1 = 0\n*(u64 *)(r10 - 16) = r1\n*(u64 *)(r10 - 8) = r1\nr4 = *(u32 *)(r6 + 0)\nr4 &= 15\nr4 += 1\nr1 = r6\nr2 = 0\nr3 = r10\nr3 += -16\ncall 26\nr0 = *(u64 *)(r10 - 8)\nexit", type: "socket_filter", unpriv: true },
  // check_helper_mem_access: NULL passes for a nullable buffer only with a size of zero.
  { name: "NULL buffer with a non-zero size", asm: "r1 = 0\nr2 = 4\nr3 = 0\nr4 = 0\nr5 = 0\ncall 28\nr0 = 0\nexit", reject: "R1 type=scalar expected=fp" },
  { name: "NULL buffer with a zero size", asm: "r1 = 0\nr2 = 0\nr3 = 0\nr4 = 0\nr5 = 0\ncall 28\nr0 = 0\nexit" },
  // scalar_byte_swap: be16 on a little-endian host moves bits 0-7 to 8-15; le16 only truncates.
  { name: "be16 moves the low byte up", asm: `${LOOKUP}\nif r0 == 0 goto +5\nr1 = *(u64 *)(r0 + 0)\nr1 &= 0x300\nr1 = be16 r1\nr0 += r1\nr0 = *(u8 *)(r0 + 4)\nr0 = 0\nexit` },
  { name: "le16 keeps the bits where they are", asm: `${LOOKUP}\nif r0 == 0 goto +5\nr1 = *(u64 *)(r0 + 0)\nr1 &= 0x300\nr1 = le16 r1\nr0 += r1\nr0 = *(u8 *)(r0 + 4)\nr0 = 0\nexit`, reject: "invalid access to map value, value_size=8 off=772 size=1" },
  { name: "bswap64 of a constant", asm: "r0 = 1\nr0 = bswap64 r0\nr0 >>= 56\nr1 = r10\nr1 += r0\nr0 = *(u8 *)(r1 - 1)\nr0 = 0\nexit", reject: "invalid read from stack R1 off=0 size=1" },
  { name: "map lookup with a NULL check", asm: `${LOOKUP}\nif r0 == 0 goto +1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit` },
  { name: "map value out of bounds", asm: `${LOOKUP}\nif r0 == 0 goto +1\nr0 = *(u64 *)(r0 + 4)\nr0 = 0\nexit`, reject: "invalid access to map value, value_size=8 off=4 size=8" },
  { name: "map value with a bounded variable offset", asm: `${LOOKUP}\nif r0 == 0 goto +4\nr1 = *(u32 *)(r10 - 4)\nr1 &= 7\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nr0 = 0\nexit` },
  { name: "map value with an unbounded variable offset", asm: `r6 = r1\n${LOOKUP}\nif r0 == 0 goto +4\nr1 = *(u32 *)(r6 + 12)\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nr0 = 0\nexit`, reject: "R0 unbounded memory access" },
  { name: "map key must be initialised (unprivileged)", asm: "r2 = r10\nr2 += -4\nLDMAP r1 0\ncall 1\nr0 = 0\nexit", unpriv: true, reject: "invalid read from stack R2 off=-4 size=4" },
  { name: "helper with a wrong map type", asm: "r2 = 8\nr3 = 0\nLDMAP r1 0\ncall 131\nr0 = 0\nexit", reject: "cannot pass map_type 2 into func bpf_ringbuf_reserve#131" },
  // record_func_key() refuses before check_map_func_compatibility() would.
  { name: "tail call needs a prog array", asm: "LDMAP r2 0\nr3 = 0\ncall 12\nr0 = 0\nexit", reject: "expected prog array map for tail call" },
  { name: "tail call through a prog array", asm: "LDMAP r2 2\nr3 = 0\ncall 12\nr0 = 0\nexit" },
  { name: "helper not allowed for the program type", asm: "r2 = 0\ncall 44\nr0 = 0\nexit", type: "sched_cls", reject: "program of this type cannot use helper bpf_xdp_adjust_head#44" },
  { name: "r1-r5 are clobbered by calls", asm: "r2 = 1\ncall 5\nr0 = r2\nexit", reject: "R2 !read_ok" },
  { name: "ringbuf reserve then submit", asm: "LDMAP r1 1\nr2 = 8\nr3 = 0\ncall 131\nif r0 == 0 goto +3\nr1 = r0\nr2 = 0\ncall 132\nr0 = 0\nexit" },
  { name: "ringbuf reference leak", asm: "LDMAP r1 1\nr2 = 8\nr3 = 0\ncall 131\nr0 = 0\nexit", reject: "Unreleased reference id=2 alloc_insn=4" },
  { name: "ringbuf size must be constant", asm: "r2 = *(u32 *)(r1 + 12)\nLDMAP r1 1\nr3 = 0\ncall 131\nr0 = 0\nexit", reject: "R2 is not a known constant" },
  { name: "cgroup_skb return range", asm: "r0 = 2\nexit", type: "cgroup_skb", reject: "At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]" },
  { name: "cgroup_skb egress allows 3", asm: "r0 = 3\nexit", type: "cgroup_skb", attach: "BPF_CGROUP_INET_EGRESS" },
  { name: "bpf-to-bpf call", asm: "r1 = 1\nCALLPC +2\nr0 += 0\nexit\nr0 = r1\nexit" },
  { name: "returning a stack pointer to the caller", asm: "CALLPC +2\nr0 = 0\nexit\nr0 = r10\nexit", reject: "cannot return stack pointer to the caller" },
  { name: "atomic add on the stack", asm: "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr2 = 1\nlock *(u64 *)(r10 - 8) += r2\nr0 = 0\nexit" },
  { name: "atomic on ctx", asm: "r2 = 1\nlock *(u32 *)(r1 + 0) += r2\nr0 = 0\nexit", reject: "BPF_ATOMIC stores into R1 ctx is not allowed" },
  { name: "pointer leak into a map, unprivileged", asm: `${LOOKUP}\nif r0 == 0 goto +1\n*(u64 *)(r0 + 0) = r10\nr0 = 0\nexit`, unpriv: true, reject: "R10 leaks addr into map" },
  { name: "branch on a known value prunes the dead path", asm: "r0 = 0\nif r0 == 1 goto +1\nexit\nr0 = *(u64 *)(r0 + 0)\nexit" },
];

for (const c of cases) {
  test(`${c.reject === undefined ? "accept" : "reject"}: ${c.name}`, () => {
    const insns = c.insns ?? build(c.asm!);
    const r = verifyProgram({ insns, progType: c.type ?? "xdp", privileged: c.unpriv !== true, maps: c.maps ?? maps, logLevel: 1, ...(c.attach ? { expectedAttachType: c.attach } : {}) });
    if (c.reject === undefined) {
      assert.ok(r.accepted, `${r.error?.message}\n${r.log.join("\n")}`);
      assert.match(r.log[r.log.length - 1]!, /^processed \d+ insns \(limit 1000000\) max_states_per_insn \d+ total_states \d+ peak_states \d+ mark_read 0$/);
    } else {
      assert.equal(r.accepted, false, `accepted:\n${r.log.join("\n")}`);
      assert.equal(r.error?.code, "EVERIFY");
      assert.ok(r.error!.message.includes(c.reject), `message "${r.error!.message}" lacks "${c.reject}"\n${r.log.join("\n")}`);
      assert.equal(typeof r.error!.pc, "number");
    }
  });
}

test("log format: level 1 prints instructions with the scratched registers", () => {
  const r = verifyProgram({ insns: build("r2 = 0\n*(u64 *)(r10 - 8) = r2\nr0 = 2\nexit"), progType: "xdp", logLevel: 1 });
  assert.deepEqual(r.log.slice(0, 4), [
    "0: R1=ctx() R10=fp0",
    "0: (b7) r2 = 0                        ; R2=0",
    "1: (7b) *(u64 *)(r10 -8) = r2         ; R2=0 R10=fp0 fp-8=0",
    "2: (b7) r0 = 2                        ; R0=2",
  ]);
  const l2 = verifyProgram({ insns: build("r0 = 0\nif r1 == 0 goto +1\nr0 = 1\nexit"), progType: "xdp", logLevel: 2 });
  assert.ok(l2.log.includes("func#0 @0"));
  assert.ok(l2.log.some((l) => l.startsWith("from 1 to 3:")));
  const quiet = verifyProgram({ insns: build("exit"), progType: "xdp", logLevel: 0 });
  assert.deepEqual(quiet.log, []);
  assert.equal(quiet.error?.message, "0: (95) exit: R0 !read_ok");
});

test("a constant-key array lookup the verifier left without a NULL check runs on the interpreter and the verified JIT", () => {
  // get_constant_map_key: the element exists, so the JIT (trusting the verdict) may dereference it directly.
  const rt = new Runtime();
  const spec: MapSpec = { name: "arr", type: "BPF_MAP_TYPE_ARRAY", keySize: 4, valueSize: 8, maxEntries: 2, flags: 0 };
  const m = rt.createMap(spec);
  m.update(new Uint8Array([1, 0, 0, 0]), new Uint8Array([42, 0, 0, 0, 0, 0, 0, 0]));
  const insns = assemble(`r1 = 1\n*(u32 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nr1 = ${m.address} ll\ncall 1\nr0 = *(u64 *)(r0 + 0)\nexit`);
  const r = verifyProgram({ insns, progType: "xdp", maps: [{ index: 0, address: m.address, spec, name: "arr" }], logLevel: 1 });
  assert.ok(r.accepted, r.log.join("\n"));
  for (const engine of ["interp", "jit"] as const) {
    const p = rt.loadProgram({ name: `const-key-${engine}`, type: "xdp", insns, verified: true, engine, ...(engine === "jit" ? { jitMode: "verified" as const } : {}) });
    assert.equal(p.testRun({ dataIn: new Uint8Array(64) }).retval, 42, engine);
  }
});
