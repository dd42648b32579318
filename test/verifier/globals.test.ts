/**
 * Global functions (src/verifier/globals.ts): a subprogram whose func_info is
 * BTF_FUNC_GLOBAL is verified once on its own from its prototype, not inline. The
 * BTF here is built by hand: int g(int *p) and int h(int x).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assemble } from "../../src/asm/index.js";
import { typeId, type BtfFunc, type BtfFuncProto, type BtfInt, type BtfPtr, type BtfStruct } from "../../src/btf/index.js";
import { verifyProgram } from "../../src/verifier/index.js";

const INT: BtfInt = { kind: "int", id: typeId(1), name: "int", size: 4, bitsOffset: 0, bits: 32, encoding: "signed" };
const INT_PTR: BtfPtr = { kind: "ptr", id: typeId(2), name: "", target: INT };
const proto = (id: number, params: BtfFuncProto["params"]): BtfFuncProto => ({ kind: "func_proto", id: typeId(id), name: "", ret: INT, params });
const func = (id: number, name: string, p: BtfFuncProto, linkage: BtfFunc["linkage"] = "global"): BtfFunc => ({ kind: "func", id: typeId(id), name, proto: p, linkage });
const MAIN = func(10, "prog", proto(11, []));
const G = func(12, "g", proto(13, [{ name: "p", type: INT_PTR }]));

/** main: r1 = &fp[-8] (or `arg`), call g, then `after`; g at its label. */
function verify(opts: { arg?: string; after?: string; body: string; linkage?: BtfFunc["linkage"] }) {
  const main = [
    "r1 = 0",
    "*(u64 *)(r10 - 8) = r1",
    opts.arg ?? "r1 = r10\nr1 += -8",
    "call local g",
    opts.after ?? "",
    "exit",
  ].filter((l) => l !== "").join("\n");
  const insns = assemble(`${main}\ng:\n${opts.body}`);
  const start = insns.find((_, k) => k > 0 && insns[k - 1]!.kind === "exit")!.pc;
  const g = opts.linkage === undefined ? G : func(12, "g", G.proto, opts.linkage);
  return verifyProgram({ insns, progType: "xdp", funcInfo: [{ pc: 0, func: MAIN }, { pc: start, func: g }] });
}

const CHECKED = "r0 = 0\nif r1 == 0 goto +1\nr0 = *(u32 *)(r1 + 0)\nexit";

test("global function: verified on its own, its pointer argument may be NULL", () => {
  const ok = verify({ body: CHECKED });
  assert.ok(ok.accepted, ok.log.slice(-3).join("\n"));
  assert.ok(ok.log.some((l) => l === "Validating g() func#1..."));
  assert.ok(ok.log.some((l) => l === "Func#1 ('g') is global and assumed valid."));
  const bad = verify({ body: "r0 = *(u32 *)(r1 + 0)\nexit" });
  assert.equal(bad.error?.message, "R1 invalid mem access 'mem_or_null'");
  // The same function as a static one is verified inline, with the caller's pointer.
  assert.ok(verify({ body: "r0 = *(u32 *)(r1 + 0)\nexit", linkage: "static" }).accepted);
});

test("global function: the caller's arguments must match the prototype", () => {
  const r = verify({ arg: "r1 = 5", body: CHECKED });
  assert.ok(!r.accepted);
  assert.deepEqual(r.log.slice(-3, -1), ["R1 type=scalar expected=fp", "Caller passes invalid args into func#1 ('g')"]);
  // NULL is fine for a pointer argument.
  assert.ok(verify({ arg: "r1 = 0", body: CHECKED }).accepted);
});

test("global function: R0 must be a scalar at its exit", () => {
  const r = verify({ body: "r0 = r10\nexit" });
  assert.equal(r.error?.message, "At subprogram exit the register R0 is not a scalar value (fp)");
});

test("global function: what it may write through a pointer argument is unknown to the caller afterwards", () => {
  // fp-8 was 0 before the call; used as a stack offset it would be in bounds only if still known.
  const after = "r2 = *(u64 *)(r10 - 8)\nr3 = r10\nr3 += r2\nr0 = *(u8 *)(r3 - 1)\nr0 = 0";
  const r = verify({ body: CHECKED, after });
  assert.ok(!r.accepted);
  assert.match(r.error!.message, /variable-offset|unbounded/);
  // Inline (static), the verifier sees the callee does not write: accepted.
  assert.ok(verify({ body: CHECKED, after, linkage: "static" }).accepted);
});

test("global function: a callee that may move packet data invalidates the caller's packet pointers", () => {
  const XDP_MD: BtfStruct = { kind: "struct", id: typeId(3), name: "xdp_md", size: 24, kindFlag: false, members: [] };
  const CTX_PTR: BtfPtr = { kind: "ptr", id: typeId(4), name: "", target: XDP_MD };
  const H = func(14, "h", proto(15, [{ name: "ctx", type: CTX_PTR }]));
  // main: a checked packet pointer in r6, h(ctx), then a read through r6.
  const src = (body: string): string => [
    "r6 = *(u32 *)(r1 + 0)", "r2 = *(u32 *)(r1 + 4)", "r3 = r6", "r3 += 8", "if r3 > r2 goto +2",
    "call local h", "r0 = *(u8 *)(r6 + 0)", "r0 = 0", "exit", "h:", body,
  ].join("\n");
  const run = (body: string) => {
    const insns = assemble(src(body));
    return verifyProgram({ insns, progType: "xdp", funcInfo: [{ pc: 0, func: MAIN }, { pc: 9, func: H }] });
  };
  assert.ok(run("r0 = 0\nexit").accepted);
  const r = run("r2 = 4\ncall 44\nr0 = 0\nexit");
  assert.equal(r.error?.message, "R6 invalid mem access 'scalar'");
});

test("with BTF, a subprogram that tail-calls must return int", () => {
  const VOID = { kind: "void", id: typeId(0), name: "" } as const;
  const tail = (ret: BtfFuncProto["ret"]) => {
    const insns = assemble("call local f\nr0 = 0\nexit\nf:\nr2 = 0\nr3 = 0\ncall 12\nr0 = 0\nexit");
    const f = func(16, "f", { kind: "func_proto", id: typeId(17), name: "", ret, params: [] }, "static");
    return verifyProgram({ insns, progType: "xdp", funcInfo: [{ pc: 0, func: MAIN }, { pc: 3, func: f }] });
  };
  assert.equal(tail(VOID).error?.message, "tail_call is only allowed in functions that return 'int'.");
  // With an int return the program gets as far as the tail call's map argument.
  assert.match(tail(INT).error?.message ?? "", /R2 type=scalar expected=map_ptr|expected prog array map/);
});

test("a static function may be called while holding a bpf_spin_lock, a global one may not", () => {
  const spec = { name: "locked", type: "BPF_MAP_TYPE_ARRAY" as const, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, spinLockOffset: 0 };
  const insns = assemble([
    "r1 = 0", "*(u32 *)(r10 - 4) = r1", "r2 = r10", "r2 += -4", "r1 = map_fd(0) ll", "call 1", "if r0 == 0 goto +7",
    "r6 = r0", "r1 = r0", "call 93", "r1 = 0", "call local g", "r1 = r6", "call 94", "r0 = 0", "exit", "g:", CHECKED,
  ].join("\n"));
  const start = insns.find((_, k) => k > 0 && insns[k - 1]!.kind === "exit")!.pc;
  const run = (linkage: BtfFunc["linkage"]) => verifyProgram({
    insns, progType: "sched_cls", maps: [{ index: 0, name: "locked", spec }],
    funcInfo: [{ pc: 0, func: MAIN }, { pc: start, func: func(12, "g", G.proto, linkage) }],
  });
  const st = run("static");
  assert.ok(st.accepted, st.log.slice(-3).join("\n"));
  const gl = run("global");
  assert.deepEqual(gl.log.slice(-3, -1), ["global function calls are not allowed while holding a lock,", "use static function instead"]);
});
