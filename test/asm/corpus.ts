/**
 * Test inputs shared by the asm tests and scripts/update-golden.ts: a program
 * with every opcode of the OPCODES table in several field variants (edge
 * immediates and offsets, every atomic imm, every ld_imm64 pseudo source,
 * sdiv/smod/movsx), and helpers that find the shared data and the LLVM tools.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ATOMIC_IMMS, LD_IMM64_PSEUDOS, OPCODES, encodeProgram, fromHalves, type Insn } from "../../src/isa/index.js";
import { buildElf } from "../elf/build-elf.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const GOLDEN_DIR = join(REPO_ROOT, "test/golden");

/** ../shared, or $TSBPF_SHARED. */
export function sharedDir(): string {
  return process.env.TSBPF_SHARED ?? resolve(REPO_ROOT, "../shared");
}
export function conformanceDir(): string {
  return process.env.TSBPF_CONFORMANCE_DIR ?? join(sharedDir(), "conformance/tests");
}
export function benchObjects(): string[] {
  const dir = join(sharedDir(), "bench/obj");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".o")).sort().map((f) => join(dir, f));
}

/** Path of llvm-objdump when it is installed and is LLVM 14 (the version the goldens come from). */
export function llvmObjdump14(): string | undefined {
  for (const cand of ["llvm-objdump-14", "llvm-objdump"]) {
    try {
      const v = execFileSync(cand, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      if (/LLVM version 14\./.test(v)) return cand;
    } catch {
      // not installed
    }
  }
  return undefined;
}

/** `-- asm` and `-- raw` sections of a conformance .data file (FORMAT.md (a)). */
export function readConformance(path: string): { asm: string; raw: bigint[] } {
  const asm: string[] = [];
  const raw: bigint[] = [];
  let section = "";
  for (const full of readFileSync(path, "utf8").split("\n")) {
    const line = full.replace(/\r$/, "").replace(/#.*/, "");
    if (line.includes("--")) {
      section = line.includes("asm") ? "asm" : line.includes("result") ? "result" : line.includes("mem") ? "mem" : line.includes("raw") ? "raw" : "other";
      continue;
    }
    if (line === "") continue;
    if (section === "asm") asm.push(line);
    if (section === "raw") for (const t of line.split(/\s+/).filter(Boolean)) raw.push(BigInt(t));
  }
  return { asm: asm.join("\n"), raw };
}

export function conformanceFiles(): string[] {
  const dir = conformanceDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".data")).sort().map((f) => join(dir, f));
}

const IMMS = [0, 1, -1, 65311, 0x7fffffff, -0x80000000];
const OFFS = [0, 4, -8, 0x7fff, -0x8000];

/** Every opcode of the table, each in several variants; pc assigned in order. */
export function everyInstruction(): Insn[] {
  const out: Insn[] = [];
  let pc = 0;
  let k = 0;
  const reg = (): number => k++ % 11;
  const push = (i: Insn): void => {
    out.push({ ...i, pc } as Insn);
    pc += i.kind === "ld_imm64" ? 2 : 1;
  };
  for (const info of OPCODES) {
    if (info === undefined) continue;
    switch (info.kind) {
      case "alu": {
        const { op, alu64 } = info;
        if (op === "neg") {
          push({ kind: "alu", pc, op, alu64, dst: reg(), src: { kind: "imm", imm: 0 } });
          break;
        }
        const ops = op === "div" ? (["div", "sdiv"] as const) : op === "mod" ? (["mod", "smod"] as const) : ([op] as const);
        for (const o of ops) {
          if (info.source === "K") for (const imm of IMMS) push({ kind: "alu", pc, op: o, alu64, dst: reg(), src: { kind: "imm", imm } });
          else push({ kind: "alu", pc, op: o, alu64, dst: reg(), src: { kind: "reg", reg: reg() } });
        }
        if (op === "mov" && info.source === "X") {
          for (const w of alu64 ? ([8, 16, 32] as const) : ([8, 16] as const)) {
            push({ kind: "alu", pc, op: "movsx", alu64, dst: reg(), src: { kind: "reg", reg: reg() }, extWidth: w });
          }
        }
        break;
      }
      case "end":
        for (const width of [16, 32, 64] as const) {
          push({ kind: "end", pc, order: info.alu64 ? "bswap" : info.source === "K" ? "le" : "be", width, dst: reg() });
        }
        break;
      case "jmp":
        for (const off of [0, 1, -1, 0x7fff, -0x8000]) {
          if (info.source === "K") {
            for (const imm of [off === 0 ? 0 : 5, -1, 0x7fffffff]) push({ kind: "jmp", pc, cond: info.cond, jmp32: info.jmp32, dst: reg(), src: { kind: "imm", imm }, off });
          } else push({ kind: "jmp", pc, cond: info.cond, jmp32: info.jmp32, dst: reg(), src: { kind: "reg", reg: reg() }, off });
        }
        break;
      case "ja":
        for (const off of info.long ? [0, 3, -1, 70000, -0x80000000, 0x7fffffff] : [0, 3, -1, 0x7fff, -0x8000]) push({ kind: "ja", pc, long: info.long, off });
        break;
      case "call":
        if (info.source === "X") {
          for (const r of [0, 1, 10]) push({ kind: "callx", pc, reg: r });
        } else {
          for (const imm of [0, 1, 212, 0x7fffffff, -1]) push({ kind: "call", pc, target: "helper", imm });
          for (const imm of [3, -1, 0, -0x80000000]) push({ kind: "call", pc, target: "local", imm });
          for (const [imm, off] of [[7, 0], [-1, 0], [7, 2], [9, -1]] as const) push({ kind: "call", pc, target: "kfunc", imm, off });
        }
        break;
      case "exit":
        push({ kind: "exit", pc });
        break;
      case "ld_imm64":
        for (const v of [0n, 1n, (1n << 64n) - 1n, 1n << 63n, (1n << 63n) - 1n, 0x1122334455667788n, 0xffffffffn, 0xfffffff8n]) {
          push({ kind: "ld_imm64", pc, dst: reg(), pseudo: "imm", imm: Number(BigInt.asIntN(32, v)), imm2: Number(BigInt.asIntN(32, v >> 32n)), value: v });
        }
        for (const pseudo of LD_IMM64_PSEUDOS.slice(1)) {
          for (const [imm, imm2] of [[3, 0], [-3, 0], [5, 8], [0x7fffffff, -1]] as const) {
            push({ kind: "ld_imm64", pc, dst: reg(), pseudo, imm, imm2, value: fromHalves(imm, imm2) });
          }
        }
        break;
      case "ld_abs":
        for (const imm of [0, 12, -12, 0x7fffffff]) push({ kind: "ld_abs", pc, size: info.size, src: 0, imm });
        break;
      case "ld_ind":
        for (const imm of [0, 4, -4]) push({ kind: "ld_ind", pc, size: info.size, src: reg(), imm });
        break;
      case "ldx":
        for (const off of OFFS) push({ kind: "ldx", pc, size: info.size, signed: info.signed, dst: reg(), src: reg(), off });
        break;
      case "st":
        for (const off of OFFS) push({ kind: "st", pc, size: info.size, dst: reg(), off, imm: IMMS[k % IMMS.length]! });
        break;
      case "stx":
        for (const off of OFFS) push({ kind: "stx", pc, size: info.size, dst: reg(), src: reg(), off });
        break;
      case "atomic":
        for (const [, op, fetch] of ATOMIC_IMMS) {
          for (const off of [0, -8]) push({ kind: "atomic", pc, size: info.size, op, fetch, dst: reg(), src: reg(), off });
        }
        break;
    }
  }
  return out;
}

/** File name under which the every-instruction object is disassembled for the goldens. */
export const EVERY_INSN_OBJECT = "every-insn.o";

/** The ELF object the every-instruction goldens are made from: everyInstruction() in section `prog`. */
export function everyInstructionElf(byteOrder: "little" | "big" = "little"): Uint8Array {
  const code = encodeProgram(everyInstruction(), byteOrder);
  return buildElf({
    byteOrder,
    sections: [{ name: "prog", data: code }],
    symbols: [{ name: "every_insn", section: "prog", type: 2, bind: 1, size: code.length }],
  });
}
