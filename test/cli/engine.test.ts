// --engine interp|jit on every command that runs eBPF (run, prog run, demo,
// conformance, plugin), the defaults (the JIT for verified programs, the interpreter
// for unverified ones), --trace's need for the interpreter, and the commands' output
// being the same on both engines for the runtime fixtures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { main } from "../../src/cli/main.js";
import { nodeIo, type CliIo } from "../../src/cli/io.js";
import { loadCollectionSpec } from "../../src/elf/index.js";
import { BENCH_OBJ_DIR, CONFORMANCE_DIR, REPO_ROOT, missing } from "../support/paths.js";

async function cli(args: string[], stdin = ""): Promise<{ status: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { ...nodeIo, out: (t) => void (out += t), err: (t) => void (err += t), readStdin: async () => stdin, isTty: false };
  const status = await main(args, io);
  return { status, out, err };
}

const dir = mkdtempSync(join(tmpdir(), "tsbpf-engine-"));
const file = (name: string, data: string | Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};
const FIXTURES = join(REPO_ROOT, "test", "fixtures", "runtime");
/** The report without the timing line. */
const untimed = (s: string): string => s.replace(/^time .*$/m, "time");

test("run: raw programs on the interpreter by default, on the checked JIT with --engine jit, same r0 and count", async () => {
  const src = file("loop.s", "r0 = 0\nr2 = *(u8 *)(r1 + 1)\nloop:\nr0 += r2\nr2 -= 1\nif r2 != 0 goto loop\nexit\n");
  const interp = await cli(["run", src, "--mem-hex", "00 0a", "--repeat", "3"]);
  assert.equal(interp.status, 0, interp.err);
  assert.match(interp.out, /^r0 = 0x37 \(55\)\nexecuted 33 instructions\ntime .* on the interpreter\n$/);
  const jit = await cli(["run", src, "--mem-hex", "00 0a", "--repeat", "3", "--engine", "jit"]);
  assert.equal(jit.status, 0, jit.err);
  assert.match(jit.out, / on the JIT \(checked\)\n$/);
  assert.equal(untimed(jit.out), untimed(interp.out));
  assert.equal((await cli(["run", src, "--mem-hex", "00 0a", "--engine", "interp"])).status, 0);
  // Faults are the same.
  const bad = file("bad.s", "r2 = 0\nr0 = *(u32 *)(r2 + 8)\nexit\n");
  const f1 = await cli(["run", bad]);
  const f2 = await cli(["run", bad, "--engine", "jit"]);
  assert.equal(f1.status, 2);
  assert.equal(f2.status, 2);
  assert.equal(f2.out, f1.out);
  const e = await cli(["run", src, "--engine", "gpu"]);
  assert.equal(e.status, 1);
  assert.match(e.err, /--engine.*'gpu' is invalid.*interp, jit/);
});

test("run --trace needs the interpreter and says so with --engine jit", async () => {
  const src = file("t.s", "r0 = 7\nexit\n");
  const r = await cli(["run", src, "--trace", "--engine", "jit"]);
  assert.equal(r.status, 1);
  assert.match(r.err, /^tsbpf: --trace needs the interpreter: the JIT runs compiled WebAssembly and cannot step or trace/);
  assert.equal((await cli(["run", src, "--trace", "--engine", "interp"])).status, 0);
});

test("run --engine jit: callx through a computed function pointer gives the interpreter's result", async () => {
  const src = file("callx.s", "r6 = 5\nr1 = func(f)\nr1 += 1\ncallx r1\nr0 += r6\nexit\nf:\nr0 = 1\nr0 = 40\nr0 += r6\nr6 = 0\nexit\n");
  const jit = await cli(["run", src, "--engine", "jit"]);
  assert.equal(jit.status, 0, jit.err);
  assert.match(jit.out, /^r0 = 0x32 \(50\)\nexecuted 10 instructions\ntime .* on the JIT \(checked\)\n$/);
  assert.equal(untimed(jit.out).replace(" on the JIT (checked)", ""), untimed((await cli(["run", src])).out).replace(" on the interpreter", ""));
});

test("run OBJ: verified packet programs on the JIT by default, --engine interp for the interpreter, same result and count", { skip: missing(BENCH_OBJ_DIR, "TSBPF_SHARED") }, async () => {
  const obj = join(BENCH_OBJ_DIR, "flow_count.o");
  const pkt = join(BENCH_OBJ_DIR, "..", "pkt", "tcp64.bin");
  const jit = await cli(["run", obj, "--mem", pkt]);
  assert.equal(jit.status, 0, jit.err);
  assert.match(jit.out, /BPF_PROG_TEST_RUN, JIT verified\)\n$/);
  const interp = await cli(["run", obj, "--mem", pkt, "--engine", "interp"]);
  assert.match(interp.out, /BPF_PROG_TEST_RUN, interpreter\)\n$/);
  assert.equal(untimed(jit.out), untimed(interp.out));
  assert.equal(untimed((await cli(["run", obj, "--mem", pkt, "--engine", "jit"])).out), untimed(jit.out));
});

test("demo --engine jit: the trace on the interpreter, the timed run on the JIT", async () => {
  const r = await cli(["demo", "--trace-lines", "2", "--engine", "jit"]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /tracing steps the interpreter, the JIT cannot trace/);
  assert.match(r.out, /# timed run on the JIT \(checked mode\)\nr0 = 0x367 \(871\)\nexecuted 463281 instructions\ntime .* on the JIT \(checked\)\n$/);
  const d = await cli(["demo", "--trace-lines", "2"]);
  assert.match(d.out, /# timed run\nr0 = 0x367 \(871\)\nexecuted 463281 instructions\ntime .* on the interpreter\n$/);
});

test("conformance --engine jit runs the suite on the JIT", { skip: missing(CONFORMANCE_DIR, "TSBPF_CONFORMANCE_DIR") }, async () => {
  const jit = await cli(["conformance", CONFORMANCE_DIR, "--engine", "jit"]);
  const interp = await cli(["conformance", CONFORMANCE_DIR]);
  assert.equal(jit.status, 0, jit.out.split("\n").filter((l) => !l.startsWith("PASS")).join("\n"));
  assert.match(jit.out, /\nPassed (\d+) out of \1 tests\.\n$/);
  assert.equal(jit.out, interp.out);
});

test("plugin: --engine jit as a plugin option, or TSBPF_ENGINE", async () => {
  // r0 = *(u8 *)(r1 + 1) + 2; callx to helper id 0 is not needed here.
  const prog = "71 10 01 00 00 00 00 00 07 00 00 00 02 00 00 00 95 00 00 00 00 00 00 00";
  for (const args of [["00 28"], ["00 28", "--engine", "jit"], ["00 28", "--engine", "interp"]]) {
    const r = await cli(["plugin", ...args], prog);
    assert.deepEqual([r.status, r.out], [0, "2a\n"], args.join(" "));
  }
  const saved = process.env.TSBPF_ENGINE;
  try {
    process.env.TSBPF_ENGINE = "jit";
    assert.deepEqual((await cli(["plugin", "00 28"], prog)).out, "2a\n");
    // A fault gives the same message on both engines.
    const fault = "61 10 40 00 00 00 00 00 95 00 00 00 00 00 00 00";
    const j = await cli(["plugin", "00 28"], fault);
    delete process.env.TSBPF_ENGINE;
    const i = await cli(["plugin", "00 28"], fault);
    assert.equal(j.status, 1);
    assert.equal(j.out, i.out);
    process.env.TSBPF_ENGINE = "wasm";
    const bad = await cli(["plugin", "00 28"], prog);
    assert.equal(bad.status, 1);
    assert.match(bad.out, /--engine \(or TSBPF_ENGINE\) must be interp or jit, got 'wasm'/);
  } finally {
    if (saved === undefined) delete process.env.TSBPF_ENGINE;
    else process.env.TSBPF_ENGINE = saved;
  }
});

// prog run on every runtime fixture run that needs no setup: the same retval, data_out,
// ctx_out and map dumps on the default engine (the JIT), --engine interp, and unverified
// (--no-verify, the interpreter; --no-verify --engine jit, the checked JIT).
interface Manifest {
  objects?: string[];
  expect: string;
  setup?: unknown[];
  runs?: { prog: string; data_in?: string; ctx_in?: string; repeat?: number }[];
}

for (const f of readdirSync(FIXTURES).filter((x) => x.endsWith(".json")).sort()) {
  const m = JSON.parse(readFileSync(join(FIXTURES, f), "utf8")) as Manifest;
  if (m.expect !== "accepted" || (m.setup ?? []).length > 0 || (m.runs ?? []).length === 0) continue;
  const object = join(FIXTURES, (m.objects ?? [f.replace(/\.json$/, ".bpf.o")])[0]!);
  test(`prog run ${f.replace(/\.json$/, "")}: same output on every engine`, async () => {
    const spec = loadCollectionSpec(new Uint8Array(readFileSync(object)), { name: "x" });
    const maps = spec.maps.filter((x) => x.type !== "BPF_MAP_TYPE_PERF_EVENT_ARRAY" && x.type !== "BPF_MAP_TYPE_RINGBUF").map((x) => x.name);
    for (const run of m.runs!) {
      const args = ["prog", "run", object, run.prog, "-j"];
      if (run.data_in !== undefined) args.push("--data-in", join(FIXTURES, run.data_in));
      if (run.ctx_in !== undefined) args.push("--ctx-in", join(FIXTURES, run.ctx_in));
      if (run.repeat !== undefined) args.push("--repeat", String(run.repeat));
      if (maps.length > 0) args.push("--dump-map", ...maps);
      const outputs = new Map<string, string>();
      for (const extra of [[], ["--engine", "interp"], ["--engine", "jit"], ["--no-verify"], ["--no-verify", "--engine", "jit"]]) {
        const r = await cli([...args, ...extra]);
        // Unsupported runs (ENOTSUPP program types...) fail the same way on every engine.
        const first = r.out.split("\n")[0] ?? "";
        const head = first.startsWith("{") ? (JSON.parse(first) as { retval: number; engine: string }) : undefined;
        const key = extra.join(" ") || "default";
        if (key === "default" && head !== undefined) assert.equal(head.engine, "jit", "the default engine of a verified program");
        if (key === "--no-verify" && head !== undefined) assert.equal(head.engine, "interp", "the default engine of an unverified program");
        outputs.set(key, `${r.status}\n${head?.retval}\n${r.out.split("\n").slice(1).join("\n")}\n${r.err}`);
      }
      const want = outputs.get("--engine interp");
      for (const [k, v] of outputs) assert.equal(v, want, `${run.prog} ${k}`);
    }
  });
}
