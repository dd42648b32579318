// Instruction pairs the JIT emits as one unit (function.ts): `dst <<= 32; dst >>= 32`
// becomes one zero-extension. Same registers and faults as the interpreter in both
// modes, with the pair inside a block, at its end (the next instruction a jump target),
// near-misses that must stay two shifts, and the budget ending at every instruction.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runOnMemory } from "../../src/vm/index.js";
import { compileToBytes, runOnMemoryJit } from "../../src/jit/index.js";
import { predecode } from "../../src/vm/index.js";
import { add, alu, exit, ja, jmp, lddw, mov, prog, r } from "../support/build.js";

const cases = {
  inside: prog(lddw(1, 0x8765432112345678n), alu("lsh", 1, 32), alu("rsh", 1, 32), add(1, 1), mov(0, r(1)), exit()),
  "block end": prog(lddw(1, -2n), mov(2, 0), jmp("jeq", 2, 1, 2), alu("lsh", 1, 32), alu("rsh", 1, 32), mov(0, r(1)), exit()),
  "jump target between": prog(lddw(1, -3n), mov(2, 0), jmp("jeq", 2, 0, 1), alu("lsh", 1, 32), alu("rsh", 1, 32), mov(0, r(1)), exit()),
  "other register": prog(lddw(1, -4n), lddw(2, -5n), alu("lsh", 1, 32), alu("rsh", 2, 32), alu("xor", 1, r(2)), mov(0, r(1)), exit()),
  "other counts": prog(lddw(1, -6n), alu("lsh", 1, 31), alu("rsh", 1, 32), lddw(2, -7n), alu("lsh", 2, 32), alu("rsh", 2, 33), alu("xor", 1, r(2)), mov(0, r(1)), exit()),
  "32-bit shifts": prog(lddw(1, -8n), alu("lsh", 1, 32, false), alu("rsh", 1, 32, false), mov(0, r(1)), exit()),
  "arithmetic shift": prog(lddw(1, 0x80000000n), alu("lsh", 1, 32), alu("arsh", 1, 32), mov(0, r(1)), exit()),
  "in a loop": prog(mov(0, 0), lddw(1, 0x500000003n), alu("lsh", 1, 32), alu("rsh", 1, 32), add(0, r(1)), alu("sub", 1, 1), jmp("jne", 1, 0, -5), ja(0), exit()),
};

for (const [name, insns] of Object.entries(cases)) {
  test(`zero-extension pair: ${name}`, () => {
    const want = runOnMemory(insns).result;
    assert.equal(want.status, "exit");
    for (const mode of ["checked", "verified"] as const) {
      const got = runOnMemoryJit(insns, { mode }).result;
      assert.equal(got.status === "exit" && got.r0, want.status === "exit" && want.r0, mode);
    }
    for (let budget = 1; budget <= Math.min(want.executed + 1, 64); budget++) {
      assert.deepEqual(runOnMemoryJit(insns, { budget }), runOnMemory(insns, { budget }), `budget ${budget}`);
    }
  });
}

test("zero-extension pair: one wrap and extend, no 64-bit shifts by 32", () => {
  const bytes = compileToBytes(predecode(cases.inside), { mode: "verified" });
  const hex = Buffer.from(bytes).toString("hex");
  assert.ok(hex.includes("a7ad"), "i32.wrap_i64 then i64.extend_i32_u");
  assert.ok(!hex.includes("422088"), "i64.const 32; i64.shr_u");
});
