/**
 * Regenerates the llvm-objdump goldens under test/golden/ with the real
 * llvm-objdump 14 (read the diff before committing):
 *
 *   test/golden/objdump/<bench>.o.txt        `llvm-objdump -d <bench>.o` for every ../shared/bench/obj/*.o
 *   test/golden/llvm14-every-insn.txt         `llvm-objdump -d every-insn.o` (every opcode, test/asm/corpus.ts)
 *   test/golden/llvm14-every-insn-alu32.txt   the same with --mattr=+alu32
 *
 * Run: node --import tsx scripts/update-golden.ts
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { EVERY_INSN_OBJECT, GOLDEN_DIR, benchObjects, everyInstructionElf, llvmObjdump14 } from "../test/asm/corpus.js";

function main(): void {
  const tool = llvmObjdump14();
  if (tool === undefined) {
    console.error("update-golden: llvm-objdump 14 is not installed; goldens left unchanged");
    process.exit(1);
  }
  mkdirSync(join(GOLDEN_DIR, "objdump"), { recursive: true });
  for (const obj of benchObjects()) {
    const text = execFileSync(tool, ["-d", basename(obj)], { cwd: dirname(obj), encoding: "utf8" });
    writeFileSync(join(GOLDEN_DIR, "objdump", `${basename(obj)}.txt`), text);
    console.log(`wrote objdump/${basename(obj)}.txt`);
  }
  const tmp = mkdtempSync(join(tmpdir(), "tsbpf-golden-"));
  try {
    writeFileSync(join(tmp, EVERY_INSN_OBJECT), everyInstructionElf());
    for (const [file, extra] of [["llvm14-every-insn.txt", []], ["llvm14-every-insn-alu32.txt", ["--mattr=+alu32"]]] as const) {
      const text = execFileSync(tool, ["-d", ...extra, EVERY_INSN_OBJECT], { cwd: tmp, encoding: "utf8" });
      writeFileSync(join(GOLDEN_DIR, file), text);
      console.log(`wrote ${file}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && basename(process.argv[1]).startsWith("update-golden")) main();
