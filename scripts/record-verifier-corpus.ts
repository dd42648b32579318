/**
 * Records the Linux kernel's verdict on every verifier-corpus case
 * (test/verifier/corpus/*.data) into test/verifier/corpus/kernel/GROUP.json:
 * verdict, errno and the last lines of the log_level 1 log. The corpus test
 * compares each case's expectation with these goldens, so tsbpf's verifier can
 * be checked against the kernel on machines without bpf().
 *
 * Each case goes through test/verifier/corpus/tools/verifier_load.c (built here
 * with cc and -lbpf): maps created with BPF_MAP_CREATE, the instruction array
 * loaded with BPF_PROG_LOAD (C cases: the committed object through libbpf).
 * Unprivileged cases run the loader as nobody without capabilities; this needs
 * kernel.unprivileged_bpf_disabled=0, which the script sets for the run and
 * restores afterwards (see kernel-loader.ts). Without root, bpftool, libbpf-dev,
 * a C compiler or a working bpf() it prints why and exits 0, goldens untouched.
 *
 *   npx tsx scripts/record-verifier-corpus.ts             record every case
 *   npx tsx scripts/record-verifier-corpus.ts GROUP|CASE  only these groups / cases
 *   npx tsx scripts/record-verifier-corpus.ts --check     compare with the goldens, write nothing
 *   npx tsx scripts/record-verifier-corpus.ts --list      list the cases (no kernel needed)
 *
 * Afterwards it lists every case whose expectation (verdict, message, errno)
 * the kernel contradicts: the kernel wins, so correct those cases.
 */
import { writeFileSync, mkdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import {
  GOLDEN_DIR,
  disagreements,
  goldenPath,
  loadCorpus,
  readGolden,
  type CorpusCase,
  type GoldenFile,
  type KernelResult,
} from "../test/verifier/corpus/corpus.js";
import { UNPRIVILEGED_HOW, UnprivilegedWindow, buildLoader, kernelUnavailable } from "../test/verifier/corpus/kernel-loader.js";

function main(): number {
  const args = process.argv.slice(2);
  const check = args.includes("--check");
  const filters = args.filter((a) => !a.startsWith("--"));
  const corpus = loadCorpus();
  if (args.includes("--list")) {
    for (const c of corpus) console.log(describeCase(c));
    return 0;
  }
  const selected = corpus.filter((c) => filters.length === 0 || filters.includes(c.group) || filters.includes(c.name));
  if (selected.length === 0) {
    console.error(`record-verifier-corpus: nothing matches ${filters.join(" ")}`);
    return 1;
  }

  const why = kernelUnavailable();
  if (why) {
    console.log(`record-verifier-corpus: skipped: ${why}; goldens left unchanged`);
    return 0;
  }
  const loader = buildLoader();
  if (typeof loader === "string") {
    console.log(`record-verifier-corpus: skipped: ${loader}; goldens left unchanged`);
    return 0;
  }

  const results = new Map<string, KernelResult>();
  const window = new UnprivilegedWindow();
  let unprivWhyNot: string | undefined;
  const started = Date.now();
  try {
    for (const c of selected.filter((x) => x.privileged)) results.set(c.name, loader.load(c));
    const unpriv = selected.filter((x) => !x.privileged);
    if (unpriv.length > 0) {
      unprivWhyNot = window.open();
      if (unprivWhyNot) console.warn(`record-verifier-corpus: ${unpriv.length} unprivileged cases not recorded: ${unprivWhyNot}`);
      else for (const c of unpriv) results.set(c.name, loader.load(c));
    }
  } finally {
    window.close();
    loader.close();
  }

  const kernel = spawnSync("uname", ["-srm"], { encoding: "utf8" }).stdout.trim();
  const groups = [...new Set(selected.map((c) => c.group))];
  let changed = 0;
  const wrong: string[] = [];
  for (const group of groups) {
    const old = readGolden(group);
    const cases: Record<string, KernelResult> = {};
    // Keep goldens of cases not recorded this time (filtered out, or unprivileged without the sysctl).
    for (const c of corpus.filter((x) => x.group === group)) {
      const r = results.get(c.name) ?? old?.cases[c.name];
      if (r) cases[c.name] = r;
    }
    const golden: GoldenFile = { group, kernel, unprivileged: UNPRIVILEGED_HOW, cases };
    const text = JSON.stringify(golden, null, 1) + "\n";
    let oldText = "";
    try {
      oldText = readFileSync(goldenPath(group), "utf8");
    } catch {
      /* new group */
    }
    if (text !== oldText) {
      changed++;
      if (check) console.log(`record-verifier-corpus: ${group}: kernel results differ from the golden`);
      else {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(goldenPath(group), text);
      }
    }
  }
  for (const c of selected) {
    const r = results.get(c.name);
    if (!r) continue;
    const d = disagreements(c, r);
    if (d.length) wrong.push(`${c.group}.data:${c.line} ${c.name}: ${d.join("; ")}`);
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `record-verifier-corpus: ${results.size} cases loaded in ${secs} s; ` +
      `${check ? `${changed} golden files would change` : `${changed} golden files written`}; kernel: ${kernel}`,
  );
  if (wrong.length) {
    console.log(`\nThe kernel disagrees with ${wrong.length} expectations (the kernel wins; correct the cases):`);
    for (const w of wrong) console.log("  " + w);
  }
  return check && changed > 0 ? 1 : 0;
}

/** One line per case for --list. */
function describeCase(c: CorpusCase): string {
  return `${c.name} [${c.rule}] ${c.progType} ${c.privileged ? "priv" : "unpriv"} -> ${c.expect}${c.message ? `: ${c.message}` : ""}`;
}

process.exitCode = main();
