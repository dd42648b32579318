/**
 * Loading corpus cases into the running kernel: builds tools/verifier_load.c
 * (cc ... -lbpf), feeds it one case at a time and parses its answer. Shared by
 * scripts/record-verifier-corpus.ts (which writes the goldens) and the live
 * part of test/verifier/corpus.test.ts.
 *
 * Unprivileged cases run the loader as `nobody` with no capabilities
 * (`setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all
 * --bounding-set=-all`). The kernel lets such a process call bpf() only when
 * the sysctl kernel.unprivileged_bpf_disabled is 0; this machine boots with 2
 * (disabled, but root may switch it to 0), so the caller switches it to 0
 * around the unprivileged loads (UnprivilegedWindow) and back afterwards.
 * With the sysctl at 1 (disabled until reboot) unprivileged cases cannot be
 * loaded at all.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CORPUS_DIR, ERRNO_NAMES, buildRaw, logTail, type CorpusCase, type KernelResult } from "./corpus.js";

export const SYSCTL = "/proc/sys/kernel/unprivileged_bpf_disabled";
export const SETPRIV = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"];
export const UNPRIVILEGED_HOW =
  "loader run as nobody without capabilities (setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all " +
  "--bounding-set=-all) with kernel.unprivileged_bpf_disabled temporarily 0";

export interface KernelLoader {
  /** Path of the built loader. */
  bin: string;
  dir: string;
  /** Loads one case; throws when the loader cannot carry out the request. */
  load(c: CorpusCase): KernelResult;
  close(): void;
}

/** Why the kernel cannot be used here, or undefined when it can. */
export function kernelUnavailable(): string | undefined {
  if (process.platform !== "linux") return `not Linux (${process.platform})`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not root: BPF_PROG_LOAD of every program type needs CAP_BPF/CAP_SYS_ADMIN";
  const v = spawnSync("bpftool", ["version"], { encoding: "utf8" });
  if (v.error || v.status !== 0) return "bpftool not found (Debian: apt-get install bpftool)";
  if (!existsSync("/usr/include/bpf/libbpf.h")) return "libbpf headers missing (Debian: apt-get install libbpf-dev)";
  return undefined;
}

/** Builds the loader into a fresh temp directory readable by `nobody`; returns it or a reason. */
export function buildLoader(): KernelLoader | string {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-verifier-corpus-"));
  chmodSync(dir, 0o755);
  const bin = join(dir, "verifier_load");
  const src = join(CORPUS_DIR, "tools", "verifier_load.c");
  let why = "";
  for (const cc of [process.env.CC ?? "cc", "gcc", "clang"]) {
    const r = spawnSync(cc, ["-O2", "-Wall", "-o", bin, src, "-lbpf"], { encoding: "utf8" });
    if (!r.error && r.status === 0) {
      why = "";
      break;
    }
    why = r.error ? String(r.error) : r.stderr.trim().split("\n").slice(-3).join(" / ");
  }
  if (why !== "") {
    rmSync(dir, { recursive: true, force: true });
    return `could not build tools/verifier_load.c: ${why}`;
  }
  chmodSync(bin, 0o755);
  const loader: KernelLoader = {
    bin,
    dir,
    load: (c) => runLoader(bin, c),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
  // Probe bpf(): the smallest program there is.
  const probe = spawnSync(bin, [], { input: "prog_type 1\ninsns 2\n183 0 0 0 0\n149 0 0 0 0\n", encoding: "utf8" });
  if (probe.status !== 0 || !probe.stdout.startsWith("verdict accepted")) {
    loader.close();
    return `bpf(BPF_PROG_LOAD) does not work here: ${(probe.stdout + probe.stderr).trim().split("\n")[0]}`;
  }
  return loader;
}

/** The loader's request text for a case. */
export function loaderRequest(c: CorpusCase): string {
  const lines = [`prog_type ${c.progTypeId}`, `attach_type ${c.attachTypeId}`, `prog_flags ${c.progFlags}`];
  if (c.object) {
    lines.push(`object ${join(CORPUS_DIR, c.object.path)} ${c.object.program}`);
    return lines.join("\n") + "\n";
  }
  for (const m of c.maps) lines.push(`map ${m.typeId} ${m.keySize} ${m.valueSize} ${m.maxEntries} ${m.flags}`);
  const raw = buildRaw(c);
  lines.push(`insns ${raw.length}`);
  for (const r of raw) lines.push(`${r.code} ${r.dst} ${r.src} ${r.off} ${r.imm}`);
  return lines.join("\n") + "\n";
}

function runLoader(bin: string, c: CorpusCase): KernelResult {
  const cmd = c.privileged ? [bin] : [...SETPRIV, bin];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { input: loaderRequest(c), encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  const out = r.stdout;
  if (out.startsWith("error ") || r.status !== 0) throw new Error(`${c.name}: loader: ${(out + r.stderr).trim()}`);
  const m = /^verdict (accepted|rejected)\nerrno (\d+)\nlog_errno (\d+)\n--- log\n/.exec(out);
  if (!m) throw new Error(`${c.name}: unexpected loader output: ${out.slice(0, 200)}`);
  const errno = Number(m[2]);
  return {
    verdict: m[1] as KernelResult["verdict"],
    errno,
    ...(errno !== 0 ? { errnoName: ERRNO_NAMES[errno] ?? `errno ${errno}` } : {}),
    log: logTail(out.slice(m[0].length)),
  };
}

/**
 * kernel.unprivileged_bpf_disabled switched to 0 for a while. `open()` says
 * why it cannot (sysctl at 1, not writable); `close()` puts the old value
 * back, also on SIGINT/SIGTERM and process exit.
 */
export class UnprivilegedWindow {
  private old: string | undefined;
  private readonly restoreOnExit = (): void => this.close();
  private readonly restoreOnSignal = (sig: NodeJS.Signals): void => {
    this.close();
    process.kill(process.pid, sig);
  };

  /** undefined when unprivileged bpf() is now possible, else why not. */
  open(): string | undefined {
    let cur: string;
    try {
      cur = readFileSync(SYSCTL, "utf8").trim();
    } catch (e) {
      return `cannot read ${SYSCTL}: ${(e as Error).message}`;
    }
    if (cur === "0") return undefined;
    if (cur === "1") return "kernel.unprivileged_bpf_disabled is 1 (locked until reboot): unprivileged bpf() is impossible";
    try {
      writeFileSync(SYSCTL, "0");
    } catch (e) {
      return `cannot set kernel.unprivileged_bpf_disabled=0: ${(e as Error).message}`;
    }
    this.old = cur;
    process.once("exit", this.restoreOnExit);
    process.once("SIGINT", this.restoreOnSignal);
    process.once("SIGTERM", this.restoreOnSignal);
    return undefined;
  }

  close(): void {
    if (this.old === undefined) return;
    try {
      writeFileSync(SYSCTL, this.old);
    } finally {
      this.old = undefined;
      process.off("exit", this.restoreOnExit);
      process.off("SIGINT", this.restoreOnSignal);
      process.off("SIGTERM", this.restoreOnSignal);
    }
  }
}
