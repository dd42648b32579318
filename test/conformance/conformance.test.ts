// The BPF conformance suite (313 files) on the interpreter, in-process and through the
// runner's plugin protocol exactly as bpf_conformance drives a plugin (FORMAT.md (c)).
// TSBPF_CONFORMANCE_DIR or TSBPF_SHARED point at the suite; absent -> skipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { runConformanceFile } from "../../src/cli/commands/conformance.js";
import { parseDataFile, rawSlotsToBytes } from "../../src/conformance/index.js";
import { assemble } from "../../src/asm/index.js";
import { decodeProgram, encodeProgram } from "../../src/isa/index.js";
import { CONFORMANCE_DIR, REPO_ROOT, missing } from "../support/paths.js";

const skip = missing(CONFORMANCE_DIR, "TSBPF_CONFORMANCE_DIR or TSBPF_SHARED");
const files = skip === undefined ? readdirSync(CONFORMANCE_DIR).filter((f) => f.endsWith(".data")).sort() : [];

test("conformance suite on the interpreter: 313 of 313", { skip }, () => {
  const failures: string[] = [];
  for (const f of files) {
    const o = runConformanceFile(f, readFileSync(join(CONFORMANCE_DIR, f), "utf8"));
    if (o.status !== "PASS") failures.push(`${o.status} ${f}: ${o.message}`);
  }
  assert.deepEqual(failures, []);
  assert.equal(files.length, 313);
});

// The runner's hex encoding: two lower-case digits and two spaces per byte.
const runnerHex = (b: Uint8Array): string => Array.from(b, (x) => `${x.toString(16).padStart(2, "0")}  `).join("");

interface PluginRun {
  status: number;
  stdout: string;
  stderr: string;
}

function runPlugin(argv: string[], stdin: string): Promise<PluginRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(REPO_ROOT, "bin", "tsbpf-conformance-plugin.js"), argv, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status: status ?? -1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** Judges a plugin run the way tools/runner.cc does: strtoull(stdout, 16) against the expected r0. */
function judge(run: PluginRun, expected: bigint): string | undefined {
  if (run.status !== 0) return `Plugin returned error code ${run.status} and output ${run.stdout.replace(/\n$/, "") || run.stderr}`;
  const m = /^\s*(?:0x)?([0-9a-fA-F]+)/.exec(run.stdout.replace(/\n$/, ""));
  if (m === null) return "Plugin return value could not be parsed";
  const got = BigInt.asUintN(64, BigInt(`0x${m[1]}`));
  return got === expected ? undefined : `Plugin returned incorrect return value ${got} expected ${expected}`;
}

const distBuilt = existsSync(join(REPO_ROOT, "dist", "cli", "main.js"));

test("plugin protocol: every conformance file through bin/tsbpf-conformance-plugin.js", { skip: skip ?? (distBuilt ? undefined : "dist/ not built (npm run build)") }, async () => {
  const failures: string[] = [];
  const queue = [...files];
  const worker = async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      const t = parseDataFile(readFileSync(join(CONFORMANCE_DIR, f), "utf8"));
      const bytes = t.raw !== undefined ? rawSlotsToBytes(t.raw) : encodeProgram(assemble(t.asm, { syntax: "ubpf" }));
      const argv = t.memory.length > 0 ? [runnerHex(t.memory)] : [];
      const res = await runPlugin(argv, `${runnerHex(bytes)}\n`);
      const why = judge(res, t.result ?? 0n);
      if (why !== undefined) failures.push(`${f}: ${why}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  assert.deepEqual(failures, []);
});

test("plugin protocol: faults and bad input exit non-zero with a message on stdout", { skip: distBuilt ? undefined : "dist/ not built" }, async () => {
  const nullRead = encodeProgram(assemble("ldxw %r0, [%r1]\nexit", { syntax: "ubpf" }));
  let res = await runPlugin([], `${runnerHex(nullRead)}\n`);
  assert.equal(res.status, 1);
  assert.match(res.stdout, /^insn 0: invalid read of 4 bytes at 0x0: no mapped region\n$/);
  res = await runPlugin([], "ff  00  00  00  00  00  00  00  \n");
  assert.equal(res.status, 1);
  assert.equal(res.stdout, "insn 0: unknown opcode ff\n");
  res = await runPlugin(["--elf"], "");
  assert.equal(res.status, 1);
  // Memory is passed as one argv word; plugin options follow (empty words are ignored).
  const prog = encodeProgram(assemble("mov %r0, %r2\nexit", { syntax: "ubpf" }));
  res = await runPlugin([runnerHex(Uint8Array.from([1, 2, 3])), "", "--budget", "100"], `${runnerHex(prog)}\n`);
  assert.equal(res.stdout, "3\n");
  assert.equal(res.status, 0);
});

test("raw section and asm agree where a file has both (lddw.data)", { skip }, () => {
  const t = parseDataFile(readFileSync(join(CONFORMANCE_DIR, "lddw.data"), "utf8"));
  assert.ok(t.raw !== undefined);
  assert.deepEqual(decodeProgram(rawSlotsToBytes(t.raw!)), assemble(t.asm, { syntax: "ubpf" }));
});
