// The verifier corpus (test/verifier/corpus/*.data, format in corpus/README.md):
// small programs, each with the kernel's verdict and message, covering every
// rule of issue 4 with an accepted and a rejected variant.
//
//   1. every case's expectation equals the recorded kernel golden
//      (corpus/kernel/GROUP.json, written by scripts/record-verifier-corpus.ts);
//      runs everywhere, no kernel needed;
//   2. the running kernel still agrees (root, bpftool, libbpf-dev, cc; skipped
//      otherwise; unprivileged cases only when kernel.unprivileged_bpf_disabled
//      is 0, or when TSBPF_UNPRIV_SYSCTL=1 lets the test switch it from 2 to 0
//      for the run);
//   3. tsbpf's verifier (src/verifier/index.ts, verifyProgram) agrees with the
//      kernel, per rule; skipped while src/verifier/index.ts does not exist.
//      Cases listed in corpus/tsbpf-pending.txt run as `todo`.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import {
  CORPUS_DIR,
  buildRaw,
  disagreements,
  loadCorpus,
  readGolden,
  type CorpusCase,
  type GoldenFile,
  type KernelResult,
} from "./corpus/corpus.js";
import { UnprivilegedWindow, buildLoader, kernelUnavailable, type KernelLoader } from "./corpus/kernel-loader.js";
import type { TsbpfAnswer } from "./corpus/tsbpf-worker.js";
import { REPO_ROOT } from "../support/paths.js";

const corpus = loadCorpus();
const groups = [...new Set(corpus.map((c) => c.group))];
const goldens = new Map<string, GoldenFile | undefined>(groups.map((g) => [g, readGolden(g)]));
const goldenOf = (c: CorpusCase): KernelResult | undefined => goldens.get(c.group)?.cases[c.name];
const rules = [...new Set(corpus.map((c) => c.rule))].sort(ruleOrder);

function ruleOrder(a: string, b: string): number {
  const [ia, ta] = a.split(".");
  const [ib, tb] = b.split(".");
  return Number(ia) - Number(ib) || ta!.localeCompare(tb!);
}

// ------------------------------------------------------------------ the data itself

describe("verifier corpus: data", () => {
  test("at least 250 cases", () => {
    assert.ok(corpus.length >= 250, `only ${corpus.length} cases`);
  });

  test("every rule has an accepted and a rejected case, by the kernel's verdict", () => {
    const missing: string[] = [];
    for (const rule of rules) {
      const verdicts = new Set(corpus.filter((c) => c.rule === rule).map((c) => goldenOf(c)?.verdict ?? c.expect));
      for (const v of ["accepted", "rejected"] as const) if (!verdicts.has(v)) missing.push(`${rule}: no ${v} case`);
    }
    assert.deepEqual(missing, []);
  });

  test("every rejected case names the kernel's message or errno", () => {
    const bare = corpus.filter((c) => c.expect === "rejected" && c.message === "" && c.errno === undefined).map((c) => c.name);
    assert.deepEqual(bare, []);
  });

  test("every program builds", () => {
    for (const c of corpus) {
      if (c.object) {
        assert.ok(existsSync(join(CORPUS_DIR, c.object.path)), `${c.name}: ${c.object.path} missing`);
        continue;
      }
      assert.doesNotThrow(() => buildRaw(c), `${c.name} (${c.group}.data:${c.line})`);
    }
  });
});

// ------------------------------------------------------------------ 1. expectations = goldens

describe("verifier corpus: expectations match the recorded kernel", () => {
  for (const group of groups) {
    test(group, () => {
      const golden = goldens.get(group);
      assert.ok(golden, `no golden ${group}.json: run npx tsx scripts/record-verifier-corpus.ts ${group}`);
      const problems: string[] = [];
      for (const c of corpus.filter((x) => x.group === group)) {
        const r = golden.cases[c.name];
        if (!r) problems.push(`${c.name}: not recorded (run the recorder)`);
        else for (const d of disagreements(c, r)) problems.push(`${c.name} (${group}.data:${c.line}): ${d}`);
      }
      const stale = Object.keys(golden.cases).filter((n) => !corpus.some((c) => c.group === group && c.name === n));
      for (const n of stale) problems.push(`${n}: in the golden but not in ${group}.data`);
      assert.deepEqual(problems, []);
    });
  }
});

// ------------------------------------------------------------------ 2. the live kernel

describe("verifier corpus: the running kernel agrees", () => {
  const why = kernelUnavailable();
  let loader: KernelLoader | undefined;
  let loaderWhyNot: string | undefined;
  before(() => {
    if (why) return;
    const l = buildLoader();
    if (typeof l === "string") loaderWhyNot = l;
    else loader = l;
  });
  after(() => loader?.close());

  const check = (c: CorpusCase): void => {
    const live = loader!.load(c);
    const golden = goldenOf(c);
    const problems = disagreements(c, live);
    if (golden && golden.verdict !== live.verdict) problems.push(`golden says ${golden.verdict}, kernel now ${live.verdict}`);
    assert.deepEqual(problems, [], `${c.name} (${c.group}.data:${c.line})`);
  };

  for (const privileged of [true, false]) {
    const cases = corpus.filter((c) => c.privileged === privileged);
    describe(privileged ? "privileged" : "unprivileged", () => {
      const window = new UnprivilegedWindow();
      let unprivWhyNot: string | undefined;
      before(() => {
        if (privileged || why) return;
        const sysctl = readSysctl();
        if (sysctl !== "0" && process.env.TSBPF_UNPRIV_SYSCTL !== "1") {
          unprivWhyNot =
            `kernel.unprivileged_bpf_disabled=${sysctl}; set TSBPF_UNPRIV_SYSCTL=1 to let the test switch it to 0 for the run ` +
            `(scripts/record-verifier-corpus.ts does so when recording)`;
          return;
        }
        unprivWhyNot = window.open();
      });
      after(() => window.close());
      for (const group of groups) {
        const inGroup = cases.filter((c) => c.group === group);
        if (inGroup.length === 0) continue;
        test(group, (t) => {
          if (why) return t.skip(`kernel unavailable: ${why}`);
          if (loaderWhyNot) return t.skip(loaderWhyNot);
          if (unprivWhyNot) return t.skip(`unprivileged cases: ${unprivWhyNot}`);
          for (const c of inGroup) check(c);
        });
      }
    });
  }
});

function readSysctl(): string {
  try {
    return readFileSync("/proc/sys/kernel/unprivileged_bpf_disabled", "utf8").trim();
  } catch {
    return "?";
  }
}

// ------------------------------------------------------------------ 3. tsbpf's verifier

const VERIFIER_INDEX = join(REPO_ROOT, "src", "verifier", "index.ts");
const PENDING_FILE = join(CORPUS_DIR, "tsbpf-pending.txt");
/** Per case; a verifier that takes longer disagrees (the kernel needs at most about 2 s for any case). */
const TSBPF_TIMEOUT_MS = Number(process.env.TSBPF_CORPUS_TIMEOUT_MS ?? 20_000);

/** corpus/tsbpf-pending.txt: `CASE-NAME  reason` lines; those cases run as todo. */
function pendingCases(): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(PENDING_FILE)) return out;
  for (const line of readFileSync(PENDING_FILE, "utf8").split("\n")) {
    const t = line.replace(/#.*$/, "").trim();
    if (t === "") continue;
    const [name, ...why] = t.split(/\s+/);
    out.set(name!, why.join(" ") || "pending");
  }
  return out;
}

/**
 * tsbpf's verifier in a worker thread (corpus/tsbpf-worker.ts): one case at a
 * time; a case that runs past the timeout terminates the worker and the next
 * case starts a new one.
 */
class TsbpfRunner {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    // Node 20 does not pass the main thread's --import tsx hooks on to workers, so the
    // worker registers tsx itself before importing the TypeScript worker module.
    const bootstrap = [
      `const { register } = await import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))});`,
      `register();`,
      `await import(${JSON.stringify(new URL("./corpus/tsbpf-worker.ts", import.meta.url).href)});`,
    ].join("\n");
    const w = new Worker(bootstrap, { eval: true, workerData: { verifierIndex: VERIFIER_INDEX } });
    this.worker = w;
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (m: { ready?: boolean }): void => {
        if (m.ready) {
          w.off("message", onMessage);
          resolve();
        }
      };
      w.on("message", onMessage);
      w.once("error", reject);
    });
    return this.ready;
  }

  async run(name: string): Promise<TsbpfAnswer> {
    await this.start();
    const w = this.worker!;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        cleanup();
        this.stop();
        resolve({ name, accepted: undefined, log: "", error: `timeout: no verdict within ${TSBPF_TIMEOUT_MS} ms` });
      }, TSBPF_TIMEOUT_MS);
      const onMessage = (m: TsbpfAnswer): void => {
        if (m.name !== name) return;
        cleanup();
        resolve(m);
      };
      const onError = (e: Error): void => {
        cleanup();
        this.stop();
        resolve({ name, error: `worker died: ${e.message}` });
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        w.off("message", onMessage);
        w.off("error", onError);
      };
      w.on("message", onMessage);
      w.once("error", onError);
      w.postMessage(name);
    });
  }

  stop(): void {
    void this.worker?.terminate();
    this.worker = undefined;
    this.ready = undefined;
  }
}

/** Compares tsbpf with the kernel golden (part 1 already ties the golden to the expectation). */
function tsbpfProblems(c: CorpusCase, got: TsbpfAnswer): string[] {
  if (got.error !== undefined) return [got.error];
  const want = goldenOf(c)?.verdict ?? c.expect;
  const out: string[] = [];
  if (got.accepted !== (want === "accepted")) out.push(`verdict: kernel ${want}, tsbpf ${got.accepted ? "accepted" : "rejected"}`);
  const log = got.log ?? "";
  if (want === "rejected" && c.message !== "" && !log.includes(c.message)) {
    out.push(`message "${c.message}" not in tsbpf's log: ...${log.slice(-400)}`);
  }
  return out;
}

describe("verifier corpus: tsbpf's verifier agrees with the kernel", () => {
  if (!existsSync(VERIFIER_INDEX)) {
    test("tsbpf verifier", (t) => t.skip("src/verifier/index.ts does not exist yet (issue 4): nothing to compare"));
    return;
  }
  const runner = new TsbpfRunner();
  const outcomes = new Map<string, string[]>();
  after(() => {
    runner.stop();
    if (outcomes.size === 0) return;
    // Per-rule agreement, printed once.
    const rows: string[] = [];
    let agree = 0;
    for (const rule of rules) {
      const cs = corpus.filter((c) => c.rule === rule && outcomes.has(c.name));
      const ok = cs.filter((c) => outcomes.get(c.name)!.length === 0).length;
      agree += ok;
      rows.push(`  ${rule.padEnd(20)} ${String(ok).padStart(3)}/${String(cs.length).padEnd(3)}${ok === cs.length ? "" : "  <-"}`);
    }
    console.log(`tsbpf verifier vs kernel, per rule (agree/cases): ${agree}/${outcomes.size}\n${rows.join("\n")}`);
  });

  const pending = pendingCases();
  for (const rule of rules) {
    describe(rule, () => {
      for (const c of corpus.filter((x) => x.rule === rule)) {
        const todo = pending.get(c.name);
        test(c.name, todo !== undefined ? { todo } : {}, async (t) => {
          const got = await runner.run(c.name);
          const problems = tsbpfProblems(c, got);
          outcomes.set(c.name, problems);
          if (todo !== undefined && problems.length === 0) t.diagnostic(`${c.name} passes now: remove it from tsbpf-pending.txt`);
          assert.deepEqual(problems, [], `${c.name} (${c.group}.data:${c.line})`);
        });
      }
    });
  }
});
