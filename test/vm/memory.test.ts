// Loads, stores, atomics, calls and every fault of checked mode.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AddressSpace, Machine, helperTable, runOnMemory, NULL_GUARD, type RunResult } from "../../src/vm/index.js";
import { add, atomic, call, callLocal, callx, exit, ja, jmp, lddw, ldx, mov, prog, r, st, stx, alu } from "../support/build.js";
import type { Insn } from "../../src/isa/index.js";

const okR0 = (res: RunResult): bigint => {
  assert.equal(res.status, "exit", res.status === "fault" ? res.fault.message : "");
  return (res as { r0: bigint }).r0;
};
const faultOf = (res: RunResult) => {
  assert.equal(res.status, "fault");
  return (res as Extract<RunResult, { status: "fault" }>).fault;
};
const runMem = (p: Insn[], mem: number[] = []) => runOnMemory(p, { memory: Uint8Array.from(mem) });

test("loads of every size, zero- and sign-extending, little-endian", () => {
  const mem = [0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88];
  const cases: Array<[1 | 2 | 4 | 8, boolean, bigint]> = [
    [1, false, 0x81n], [2, false, 0x8281n], [4, false, 0x84838281n], [8, false, 0x8887868584838281n],
    [1, true, 0xffffffffffffff81n], [2, true, 0xffffffffffff8281n], [4, true, 0xffffffff84838281n],
  ];
  for (const [size, signed, want] of cases) {
    assert.equal(okR0(runMem(prog(ldx(size, 0, 1, 0, signed), exit()), mem).result), want, `${size} ${signed}`);
  }
});

test("stores of every size write only their bytes; st sign-extends imm for dw", () => {
  for (const size of [1, 2, 4, 8] as const) {
    const out = runMem(prog(lddw(2, 0x1122334455667788n), stx(size, 1, 1, 2), mov(0, 0), exit()), new Array(10).fill(0xee));
    const want = [0xee, ...[0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11].slice(0, size)];
    while (want.length < 10) want.push(0xee);
    assert.deepEqual([...out.memory], want);
  }
  const out = runMem(prog(st(8, 1, 0, -2), mov(0, 0), exit()), new Array(8).fill(0));
  assert.deepEqual([...out.memory], [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
});

test("stack: r10 points past a writable frame of 512 bytes", () => {
  const p = prog(lddw(1, 0xcafef00dn), stx(8, 10, -8, 1), stx(8, 10, -512, 1), ldx(8, 0, 10, -512), exit());
  assert.equal(okR0(runMem(p).result), 0xcafef00dn);
});

test("atomics: add/or/and/xor with and without fetch, xchg, cmpxchg, 32 and 64 bit", () => {
  const init = 0x00000000f0f0f0f0n;
  const v = 0x0000000133333333n;
  const ops: Array<["add" | "or" | "and" | "xor", (a: bigint, b: bigint) => bigint]> = [
    ["add", (a, b) => a + b], ["or", (a, b) => a | b], ["and", (a, b) => a & b], ["xor", (a, b) => a ^ b],
  ];
  for (const size of [4, 8] as const) {
    const mask = size === 4 ? 0xffffffffn : (1n << 64n) - 1n;
    for (const [op, f] of ops) {
      for (const fetch of [false, true]) {
        // mem[r10-8] = init; r2 = v; atomic; r0 = fetch ? r2 : mem
        const p = prog(lddw(1, init), stx(8, 10, -8, 1), lddw(2, v), atomic(size, op, 10, -8, 2, fetch),
          fetch ? mov(0, r(2)) : ldx(8, 0, 10, -8), exit());
        const got = okR0(runMem(p).result);
        const newMem = (init & ~mask) | (f(init & mask, v & mask) & mask);
        assert.equal(got, fetch ? init & mask : newMem, `${op}${size} fetch=${fetch}`);
      }
    }
    // xchg: r2 gets old, memory gets r2
    const px = prog(lddw(1, init), stx(8, 10, -8, 1), lddw(2, v), atomic(size, "xchg", 10, -8, 2), ldx(size, 3, 10, -8), alu("lsh", 3, 32), alu("or", 3, r(2)), mov(0, r(3)), exit());
    assert.equal(okR0(runMem(px).result), (((v & mask) << 32n) | (init & mask)) & ((1n << 64n) - 1n), `xchg${size}`);
    // cmpxchg succeeds when r0 == mem, fails otherwise; r0 always gets the old value
    for (const equal of [true, false]) {
      const pc = prog(lddw(1, init), stx(8, 10, -8, 1), lddw(0, equal ? init : 5n), lddw(2, v), atomic(size, "cmpxchg", 10, -8, 2),
        ldx(size, 3, 10, -8), stx(8, 10, -16, 0), ldx(8, 4, 10, -16), jmp("jne", 4, r(1), 3, size === 4), mov(0, r(3)), exit(), mov(0, -1), exit());
      const got = okR0(runMem(pc).result);
      assert.equal(got, equal ? v & mask : init & mask, `cmpxchg${size} equal=${equal}`);
    }
  }
});

test("faults: NULL, unmapped, across a region end, misaligned atomic — with pc, address and size", () => {
  let f = faultOf(runMem(prog(mov(1, 0), ldx(4, 0, 1, 0), exit())).result);
  assert.equal(f.kind, "read");
  assert.equal(f.pc, 1);
  assert.equal(f.addr, 0n);
  assert.equal(f.size, 4);
  f = faultOf(runMem(prog(ldx(8, 0, 1, 4), exit()), [1, 2, 3, 4, 5, 6, 7, 8]).result);
  assert.equal(f.kind, "read");
  assert.match(f.message, /insn 0: invalid read of 8 bytes at 0x[0-9a-f]+: crosses the end of mem/);
  f = faultOf(runMem(prog(mov(1, 0x20000), stx(4, 1, 0, 1), exit())).result);
  assert.equal(f.kind, "write");
  f = faultOf(runMem(prog(stx(8, 10, -4, 1), exit())).result); // r10-4+8 crosses the stack top
  assert.equal(f.kind, "write");
  f = faultOf(runMem(prog(mov(2, 1), atomic(8, "add", 10, -12, 2), exit())).result);
  assert.equal(f.kind, "misaligned_atomic");
  assert.equal(f.size, 8);
  // A pointer with a non-zero upper half never reaches memory.
  f = faultOf(runMem(prog(lddw(1, 0x1_0000_0000n + BigInt(NULL_GUARD)), ldx(1, 0, 1, 0), exit())).result);
  assert.equal(f.kind, "read");
});

test("read-only regions reject stores", () => {
  const space = new AddressSpace();
  const ro = space.mapBytes(Uint8Array.from([1, 2, 3, 4]), { name: "rodata", kind: "global", writable: false });
  const m = new Machine(prog(ldx(1, 0, 1, 3), stx(1, 1, 0, 0), exit()), space);
  m.reset({ r1: BigInt(ro.start) });
  const f = faultOf(m.run());
  assert.equal(f.kind, "write");
  assert.match(f.message, /rodata is read-only/);
  assert.equal(m.getReg(0), 4n);
});

test("instruction budget stops an infinite loop with a fault", () => {
  const space = new AddressSpace();
  const m = new Machine(prog(ja(-1)), space, { budget: 1000 });
  const f = faultOf(m.run());
  assert.equal(f.kind, "budget");
  assert.equal(m.executed, 1000);
});

test("jumps out of the program, falling off the end, into ld_imm64's second half", () => {
  assert.equal(faultOf(runMem(prog(mov(0, 1))).result).kind, "bad_jump");
  assert.equal(faultOf(runMem(prog(ja(5), exit())).result).kind, "bad_jump");
  assert.equal(faultOf(runMem(prog(ja(-3), exit())).result).kind, "bad_jump");
  const f = faultOf(runMem(prog(ja(1), lddw(0, 1n), exit())).result);
  assert.equal(f.kind, "bad_jump");
  assert.match(f.message, /middle of ld_imm64/);
});

test("bpf-to-bpf calls: args in r1-r5, r6-r9 preserved, own stack frame, r0 returned", () => {
  const p = prog(
    mov(6, 6), mov(7, 7), mov(8, 8), mov(9, 9), mov(1, 10), mov(2, 20),
    stx(8, 10, -8, 6), // caller's stack slot
    callLocal(7),
    ldx(8, 3, 10, -8), jmp("jne", 3, 6, 3), add(0, r(6)), add(0, r(9)), exit(),
    mov(0, -1), exit(),
    // callee at pc 15: clobber r6-r9 and its own stack slot, return r1 + r2
    mov(6, 0), mov(9, 0), stx(8, 10, -8, 6), mov(0, r(1)), add(0, r(2)), exit(),
  );
  assert.equal(okR0(runMem(p).result), 30n + 6n + 9n);
});

test("call depth: 8 frames allowed, the 9th faults", () => {
  // Recursion: f(n) calls itself until n == 0.
  const mk = (n: number) => prog(mov(1, n), callLocal(1), exit(), jmp("jeq", 1, 0, 3), add(1, -1), callLocal(-3), exit(), mov(0, 42), exit());
  assert.equal(okR0(runMem(mk(6)).result), 42n); // main + 7 callee frames
  const f = faultOf(runMem(mk(7)).result);
  assert.equal(f.kind, "call_depth");
});

test("helpers: called by id with r1-r5, r0 set; unknown id faults; exceptions become faults", () => {
  const helpers = helperTable([
    { id: 7, name: "sum5", fn: (a, b, c, d, e) => a + b + c + d + e },
    { id: 8, name: "boom", fn: () => { throw new Error("kaput"); } },
  ]);
  const space = new AddressSpace();
  const p = prog(mov(1, 1), mov(2, 2), mov(3, 3), mov(4, 4), mov(5, 5), call(7), exit());
  const m = new Machine(p, space, { helpers });
  assert.equal(okR0(m.run()), 15n);
  assert.equal(faultOf(runOnMemory(prog(call(9), exit()), { helpers }).result).kind, "unknown_helper");
  const f = faultOf(runOnMemory(prog(call(8), exit()), { helpers }).result);
  assert.equal(f.kind, "helper_error");
  assert.match(f.message, /boom#8 failed: kaput/);
});

test("callx: helper id or function pointer (ld_imm64 BPF_PSEUDO_FUNC)", () => {
  const helpers = helperTable([{ id: 5, name: "five", fn: () => 5n }]);
  assert.equal(okR0(runOnMemory(prog(mov(2, 5), callx(2), exit()), { helpers }).result), 5n);
  const p: Insn[] = prog({ kind: "ld_imm64", dst: 2, pseudo: "func", imm: 4, imm2: 0, value: 4n }, mov(1, 20), callx(2), exit(), mov(0, r(1)), add(0, 1), exit());
  assert.equal(okR0(runOnMemory(p).result), 21n);
  assert.equal(faultOf(runOnMemory(prog(mov(2, 99), callx(2), exit())).result).kind, "bad_callx");
});

test("helpers can call back into the program (bpf_loop style)", () => {
  // helper 9(fn, n): calls fn(i) for i < n and sums the results
  const helpers = helperTable([{ id: 9, name: "loop", fn: (fn, n, _c, _d, _e, ctx) => {
    let sum = 0n;
    for (let i = 0n; i < n; i++) sum += ctx.callFunction(fn, [i]);
    return sum;
  } }]);
  const p: Insn[] = prog({ kind: "ld_imm64", dst: 1, pseudo: "func", imm: 6, imm2: 0, value: 6n }, mov(2, 4), mov(6, 100), call(9), add(0, r(6)), exit(),
    /* fn at pc 7 */ mov(0, r(1)), alu("mul", 0, 10), mov(6, 0), exit());
  assert.equal(okR0(runOnMemory(p, { helpers }).result), 60n + 100n);
});

test("step API: one instruction at a time, registers visible", () => {
  const space = new AddressSpace();
  const m = new Machine(prog(mov(0, 1), add(0, 2), exit()), space);
  m.reset();
  assert.deepEqual(m.step(), { status: "running", pc: 1, executed: 1 });
  assert.equal(m.getReg(0), 1n);
  assert.equal(m.currentInsn?.kind, "alu");
  m.step();
  assert.equal(m.getReg(0), 3n);
  assert.deepEqual(m.step(), { status: "exit", r0: 3n, executed: 3 });
  assert.deepEqual(m.step(), { status: "exit", r0: 3n, executed: 3 });
});

test("address space: regions are found, unmapped memory is reused, NULL page stays unmapped", () => {
  const space = new AddressSpace({ initialBytes: 1 << 17 });
  const a = space.map(100, { name: "a", kind: "mem" });
  assert.ok(a.start >= NULL_GUARD);
  const b = space.map(1 << 20, { name: "b", kind: "mem" }); // forces growth
  assert.equal(space.find(a.start + 99, 1), a);
  assert.equal(space.find(a.start + 99, 2), undefined);
  space.unmap(a);
  assert.equal(space.find(a.start, 1), undefined);
  const c = space.map(64, { name: "c", kind: "mem" });
  assert.equal(c.start, a.start);
  assert.equal(space.find(b.end - 1, 1), b);
  assert.equal(space.find(0, 1), undefined);
});
