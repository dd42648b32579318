// The kernel checker (bpf_check_classic + check_load_and_stores) and libpcap's
// pcap_validate_filter on hand-made programs: each rejection names the instruction
// and the kernel's reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CbpfError } from "../../src/errors/index.js";
import {
  BPF_A,
  BPF_ABS,
  BPF_ALU,
  BPF_B,
  BPF_DIV,
  BPF_H,
  BPF_IMM,
  BPF_JA,
  BPF_JEQ,
  BPF_JGT,
  BPF_JMP,
  BPF_JUMP,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LSH,
  BPF_MAXINSNS,
  BPF_MEM,
  BPF_MISC,
  BPF_MOD,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STMT,
  BPF_STX,
  BPF_TAX,
  BPF_W,
  BPF_X,
  SKF_AD_OFF,
  SKF_AD_PROTOCOL,
  SKF_AD_VLAN_TPID,
  checkClassic,
  findClassicError,
  findFilterError,
  validateFilter,
  type CheckReason,
  type SockFilter,
} from "../../src/cbpf/index.js";

const RET0 = BPF_STMT(BPF_RET | BPF_K, 0);
const RETA = BPF_STMT(BPF_RET | BPF_A, 0);
const LDH12 = BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12);

function rejects(prog: SockFilter[], reason: CheckReason, pc: number | undefined, message?: RegExp): void {
  const e = findClassicError(prog);
  assert.ok(e instanceof CbpfError, `expected ${reason}, the program was accepted`);
  assert.equal(e.reason, reason, e.message);
  assert.equal(e.pc, pc, e.message);
  assert.equal(e.code, "ECBPF");
  if (pc !== undefined) assert.match(e.message, new RegExp(`^insn ${pc}: `));
  if (message) assert.match(e.message, message);
  assert.throws(() => checkClassic(prog), (x: unknown) => x instanceof CbpfError && x.reason === reason);
}

test("accepts well-formed programs", () => {
  const ok: SockFilter[][] = [
    [RET0],
    [LDH12, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x800, 0, 1), BPF_STMT(BPF_RET | BPF_K, 0xffff), RET0],
    // M[3] written on both paths before the join.
    [
      LDH12,
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 2),
      BPF_STMT(BPF_ST, 3),
      BPF_STMT(BPF_JMP | BPF_JA, 1),
      BPF_STMT(BPF_STX, 3),
      BPF_STMT(BPF_LD | BPF_MEM, 3),
      RETA,
    ],
    // Known ancillary loads.
    [BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (SKF_AD_OFF + SKF_AD_PROTOCOL) >>> 0), BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (SKF_AD_OFF + SKF_AD_VLAN_TPID) >>> 0), RETA],
    [...Array.from({ length: BPF_MAXINSNS - 1 }, () => BPF_STMT(BPF_MISC | BPF_TAX, 0)), RET0],
  ];
  for (const p of ok) {
    assert.equal(findClassicError(p), undefined);
    assert.equal(findFilterError(p), undefined);
  }
});

test("rejects empty and too long programs", () => {
  rejects([], "empty", undefined, /empty program/);
  rejects(Array.from({ length: BPF_MAXINSNS + 1 }, () => RET0), "too_long", undefined, /4097 instructions, more than BPF_MAXINSNS \(4096\)/);
});

test("rejects unknown opcodes", () => {
  rejects([LDH12, { code: BPF_LD | BPF_H | BPF_IMM, jt: 0, jf: 0, k: 0 }, RET0], "unknown_opcode", 1, /unknown opcode 0x08/);
  rejects([{ code: BPF_RET | BPF_X, jt: 0, jf: 0, k: 0 }], "unknown_opcode", 0);
  rejects([{ code: 0x106, jt: 0, jf: 0, k: 0 }], "unknown_opcode", 0);
  rejects([BPF_STMT(BPF_ALU | 0xb0 | BPF_K, 1), RET0], "unknown_opcode", 0); // eBPF's mov is not cBPF
});

test("rejects jumps backwards or out of range", () => {
  rejects([LDH12, BPF_STMT(BPF_JMP | BPF_JA, -2), RET0], "jump_out_of_range", 1, /backward/);
  rejects([LDH12, BPF_STMT(BPF_JMP | BPF_JA, 1), RET0], "jump_out_of_range", 1);
  rejects([LDH12, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x800, 0, 2), RET0, RET0], "jump_out_of_range", 1, /beyond the last instruction 3/);
  rejects([LDH12, BPF_JUMP(BPF_JMP | BPF_JGT | BPF_X, 0, 5, 0), RET0], "jump_out_of_range", 1);
});

test("rejects reads of scratch memory not written on every path", () => {
  rejects([BPF_STMT(BPF_LD | BPF_MEM, 0), RETA], "uninit_mem", 0, /M\[0\] is read before it is written/);
  // Written on the true path only.
  rejects(
    [LDH12, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1), BPF_STMT(BPF_ST, 7), BPF_STMT(BPF_LDX | BPF_MEM, 7), RETA],
    "uninit_mem",
    3,
    /M\[7\]/,
  );
  // Written into another cell.
  rejects([BPF_STMT(BPF_ST, 1), BPF_STMT(BPF_LD | BPF_MEM, 2), RETA], "uninit_mem", 1);
  rejects([BPF_STMT(BPF_ST, 16), RETA], "bad_mem_index", 0, /M\[16\]/);
  rejects([BPF_STMT(BPF_LDX | BPF_MEM, 99), RETA], "bad_mem_index", 0);
});

test("rejects a program not ending in ret", () => {
  rejects([LDH12], "no_ret", 0, /last instruction must be a RET code/);
  rejects([RET0, BPF_STMT(BPF_MISC | BPF_TAX, 0)], "no_ret", 1);
});

test("rejects division and modulo by constant zero, shifts by 32 or more", () => {
  rejects([LDH12, BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), RETA], "div_by_zero", 1, /division by constant zero/);
  rejects([LDH12, BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 0), RETA], "div_by_zero", 1, /modulo/);
  assert.equal(findClassicError([LDH12, BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0), RETA]), undefined); // by X: checked at run time
  rejects([LDH12, BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32), RETA], "shift_too_large", 1);
  rejects([LDH12, BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 0xffffffff), RETA], "shift_too_large", 1);
});

test("rejects unknown ancillary loads", () => {
  rejects([BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (SKF_AD_OFF + 64) >>> 0), RETA], "unknown_ancillary", 0);
  rejects([BPF_STMT(BPF_LD | BPF_H | BPF_ABS, (SKF_AD_OFF + 1) >>> 0), RETA], "unknown_ancillary", 0);
  rejects([BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0xffffffff), RETA], "unknown_ancillary", 0);
  // Below SKF_AD_OFF (SKF_NET_OFF, SKF_LL_OFF ranges) the checker lets it through.
  assert.equal(findClassicError([BPF_STMT(BPF_LD | BPF_B | BPF_ABS, -0x100000 >>> 0), RETA]), undefined);
});

test("reports the first error in the kernel's order", () => {
  // An unknown opcode at 2 comes after a bad jump at 1, but before the missing ret.
  const p = [LDH12, BPF_STMT(BPF_JMP | BPF_JA, 9), { code: 0xff, jt: 0, jf: 0, k: 0 }];
  rejects(p, "jump_out_of_range", 1);
});

test("libpcap's validator: backward ja allowed, uninitialised memory not checked", () => {
  const protochainLike = [LDH12, BPF_STMT(BPF_ST, 0), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), BPF_STMT(BPF_JMP | BPF_JA, -3), RET0];
  assert.equal(findFilterError(protochainLike), undefined);
  assert.equal(findClassicError(protochainLike)?.reason, "jump_out_of_range");
  assert.equal(findFilterError([BPF_STMT(BPF_LD | BPF_MEM, 0), RETA]), undefined);
  assert.equal(findFilterError([BPF_STMT(BPF_JMP | BPF_JA, -5), RET0])?.reason, "jump_out_of_range");
  assert.equal(findFilterError([BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), RET0])?.reason, "div_by_zero");
  assert.equal(findFilterError([LDH12])?.reason, "no_ret");
  assert.throws(() => validateFilter([]), (e: unknown) => e instanceof CbpfError && e.reason === "empty");
});
