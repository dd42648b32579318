/**
 * `tsbpf verify prog.o [name] [--log-level 1|2] [--unprivileged]`: runs the verifier
 * on the object's programs (or the one named) and prints the kernel-format log, as
 * `bpftool -d prog load` would show it, then a verdict line per program. Exit status
 * 1 when a program is rejected.
 */
import { loadCollectionSpec } from "../../elf/index.js";
import { verifierInputFor, verifyProgram } from "../../verifier/index.js";
import { CliFailure, readInput, type CliIo } from "../io.js";

export interface VerifyOptions {
  logLevel?: string;
  unprivileged?: boolean;
  stats?: boolean;
}

export function verifyCommand(file: string, name: string | undefined, o: VerifyOptions, io: CliIo): number {
  const bytes = readInput(io, file, "object");
  const base = (file.split("/").pop() ?? file).split(".")[0] ?? "obj";
  const spec = loadCollectionSpec(bytes, { name: base });
  const level = o.logLevel === undefined ? 1 : Number(o.logLevel);
  if (level !== 0 && level !== 1 && level !== 2) throw new CliFailure(`--log-level must be 0, 1 or 2, not ${o.logLevel}`);
  const progs = name === undefined ? spec.programs : spec.programs.filter((p) => p.name === name);
  if (progs.length === 0) throw new CliFailure(name === undefined ? `${file}: no programs` : `${file}: no program named ${name}`);
  let status = 0;
  for (const p of progs) {
    const t0 = performance.now();
    const r = verifyProgram(verifierInputFor(spec, p, { privileged: o.unprivileged !== true, logLevel: level as 0 | 1 | 2 }));
    const us = Math.round((performance.now() - t0) * 1000);
    // At level 1 the kernel keeps the log of accepted programs short: only the statistics.
    const lines = r.accepted && level === 1 ? r.log.slice(-1) : r.log;
    if (lines.length > 0) io.out(lines.join("\n") + "\n");
    if (o.stats === true || level > 0) io.out(`verification time ${us} usec\nstack depth ${r.stats.stackDepth.join("+")}\n`);
    if (r.accepted) io.out(`${p.name}: accepted\n`);
    else {
      io.out(`${p.name}: rejected: ${r.error?.message ?? "unknown reason"}\n`);
      status = 1;
    }
  }
  return status;
}
