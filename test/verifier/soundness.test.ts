/**
 * Soundness: programs the verifier accepts must never fault when they run. Random
 * mutations of the runtime fixtures, the small bench objects and the conformance
 * suite's programs are verified (with their maps created in a Runtime, so map
 * references are bound addresses as a loaded program has them); every accepted
 * one runs on the interpreter in checked mode with random packets, and a fault is
 * a verifier bug. TSBPF_SOUNDNESS_RUNS sets the number of mutants (default 400).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { loadCollectionSpec } from "../../src/elf/index.js";
import type { Insn } from "../../src/isa/index.js";
import { Runtime, loadCollection, ProgramFault } from "../../src/runtime/index.js";
import { parseDataFile } from "../../src/conformance/index.js";
import { assemble } from "../../src/asm/index.js";
import { verifyProgram, type VerifierInput } from "../../src/verifier/index.js";
import type { BpfMap } from "../../src/maps/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const shared = process.env.TSBPF_SHARED ?? resolve(repo, "../shared");
const RUNS = Number(process.env.TSBPF_SOUNDNESS_RUNS ?? 400);
const RUNNABLE = new Set(["xdp", "sched_cls", "sched_act", "socket_filter", "cgroup_skb"]);

interface Subject {
  name: string;
  type: string;
  insns: Insn[];
  maps: VerifierInput["maps"];
  rt: Runtime;
}

function subjects(): Subject[] {
  const out: Subject[] = [];
  const objs: string[] = [];
  const fx = join(repo, "test/fixtures/runtime");
  if (existsSync(fx)) for (const f of readdirSync(fx)) if (f.endsWith(".bpf.o") && !f.startsWith("reject_") && !f.includes("btf-twin")) objs.push(join(fx, f));
  for (const b of ["flow_count", "lpm_filter"]) if (existsSync(join(shared, `bench/obj/${b}.o`))) objs.push(join(shared, `bench/obj/${b}.o`));
  for (const path of objs) {
    const name = (path.split("/").pop() ?? "").split(".")[0]!;
    const spec = loadCollectionSpec(readFileSync(path), { name });
    if (!spec.programs.some((p) => RUNNABLE.has(p.type))) continue;
    const rt = new Runtime();
    let col;
    try {
      col = loadCollection(rt, spec);
    } catch {
      continue;
    }
    const maps = spec.maps.map((m, index) => {
      const map = col.maps.get(m.name) as (BpfMap & { valueBase?: number }) | undefined;
      return { index, spec: map!.spec, name: m.name, address: map!.address, ...(map!.valueBase !== undefined && map!.spec.maxEntries === 1 ? { valueAddress: map!.valueBase } : {}) };
    });
    for (const [pname, prog] of col.programs) {
      if (!RUNNABLE.has(prog.type.slice("BPF_PROG_TYPE_".length).toLowerCase())) continue;
      out.push({ name: `${name}/${pname}`, type: prog.type, insns: [...prog.insns], maps, rt });
    }
  }
  const conf = join(shared, "conformance/tests");
  if (existsSync(conf)) {
    const rt = new Runtime();
    for (const f of readdirSync(conf).filter((x) => x.endsWith(".data")).slice(0, 120)) {
      try {
        const d = parseDataFile(readFileSync(join(conf, f), "utf8"));
        if (d.raw !== undefined) continue;
        const insns = assemble(d.asm, { syntax: "ubpf" });
        if (insns.length > 0) out.push({ name: `conformance/${f}`, type: "BPF_PROG_TYPE_XDP", insns, maps: [], rt });
      } catch {
        // not every data file assembles; skip those
      }
    }
  }
  return out;
}

/** One random change to one instruction, keeping slot positions. */
function mutate(insns: Insn[], rnd: () => number, pick: (n: number) => number): Insn[] {
  const out = insns.slice();
  const k = pick(out.length);
  const insn = out[k]!;
  const small = (): number => [0, 1, -1, 2, 4, 7, 8, 13, 14, 16, 32, 60, 63, 64, 255, -8, -16, -512, 0x7fffffff, -0x80000000][pick(20)]!;
  const reg = (): number => pick(11);
  switch (insn.kind) {
    case "alu":
      if (rnd() < 0.5 && insn.src.kind === "imm") out[k] = { ...insn, src: { kind: "imm", imm: small() } };
      else if (rnd() < 0.5) out[k] = { ...insn, dst: reg() };
      else out[k] = { ...insn, op: (["add", "sub", "mul", "and", "or", "xor", "lsh", "rsh", "arsh", "mov"] as const)[pick(10)]!, alu64: rnd() < 0.7 };
      break;
    case "jmp":
      if (rnd() < 0.5) out[k] = { ...insn, cond: (["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"] as const)[pick(11)]! };
      else if (insn.src.kind === "imm") out[k] = { ...insn, src: { kind: "imm", imm: small() } };
      else out[k] = { ...insn, src: { kind: "reg", reg: reg() } };
      break;
    case "ldx":
    case "stx":
    case "st":
      if (rnd() < 0.6) out[k] = { ...insn, off: insn.off + small() % 64 };
      else out[k] = { ...insn, size: ([1, 2, 4, 8] as const)[pick(4)]! } as Insn;
      break;
    default:
      out[k] = { kind: "alu", pc: insn.pc, op: "mov", alu64: true, dst: reg(), src: { kind: "imm", imm: small() } } as Insn;
      if (insn.kind === "ld_imm64") return insns;
  }
  return out;
}

test(`verified mutants never fault at run time (${RUNS} mutants)`, { timeout: Math.max(30 * 60_000, RUNS * 100) }, () => {
  const subs = subjects();
  assert.ok(subs.length > 0, "no programs to mutate");
  let accepted = 0;
  let ran = 0;
  let jitRuns = 0;
  fc.assert(
    fc.property(fc.nat(subs.length - 1), fc.integer({ min: 1, max: 3 }), fc.infiniteStream(fc.double({ min: 0, max: 1, noNaN: true })), fc.array(fc.uint8Array({ minLength: 14, maxLength: 200 }), { minLength: 2, maxLength: 2 }), (si, nMut, stream, packets) => {
      const s = subs[si]!;
      const it = stream[Symbol.iterator]();
      const rnd = (): number => Math.min(0.999999, it.next().value as number);
      const pick = (n: number): number => Math.floor(rnd() * n);
      let insns = s.insns;
      for (let i = 0; i < nMut; i++) insns = mutate(insns, rnd, pick);
      const r = verifyProgram({ insns, progType: s.type, maps: s.maps, logLevel: 0 });
      if (!r.accepted) return;
      accepted++;
      const prog = s.rt.loadProgram({ name: "mutant", type: s.type, insns, engine: "interp" });
      // Without maps or helpers a run is a function of the packet alone, so the JIT in
      // verified mode (no per-access checks: it trusts this verdict) must give the
      // interpreter's answer.
      const pure = (s.maps ?? []).length === 0 && !insns.some((i) => i.kind === "call");
      const jit = pure ? s.rt.loadProgram({ name: "mutant-jit", type: s.type, insns, engine: "jit", jitMode: "verified" }) : undefined;
      try {
        for (const p of packets) {
          try {
            const want = prog.testRun({ dataIn: p });
            ran++;
            if (jit !== undefined) {
              const got = jit.testRun({ dataIn: p });
              assert.equal(got.r0, want.r0, `${s.name}: the verified JIT's r0 differs from the interpreter's`);
              assert.deepEqual(got.dataOut, want.dataOut, `${s.name}: the verified JIT's packet differs from the interpreter's`);
              jitRuns++;
            }
          } catch (e) {
            if (e instanceof ProgramFault) throw new Error(`${s.name}: a verified program faulted: ${e.message}`);
            // input the program type refuses (TestRunError) is not a verifier matter
            if (!(e instanceof Error) || !/data_in|ctx_in|shorter/.test(e.message)) throw e;
          }
        }
      } finally {
        prog.close();
        jit?.close();
      }
    }),
    { numRuns: RUNS },
  );
  console.log(`soundness: ${RUNS} mutants, ${accepted} accepted, ${ran} runs without a fault, ${jitRuns} also on the verified JIT with the same result`);
  assert.ok(jitRuns > 0, "no mutant ran on the verified JIT");
});
