/**
 * Loading an ObjectSpec into a Runtime, as libbpf's bpf_object__load does: create the
 * maps (global data initialised, .rodata frozen), fill prog arrays and map-in-maps
 * from their static initialisers once the programs exist, and turn every map
 * reference (ld_imm64 with BPF_PSEUDO_MAP_IDX / _IDX_VALUE) into the address the
 * program uses: the map's CONST_PTR_TO_MAP address, or the address of its value plus
 * the offset for global data.
 */
import { TsbpfError } from "../errors/index.js";
import { encodeProgram, type Insn, type LdImm64Insn } from "../isa/index.js";
import { verifierInputFor, verifyProgram, type VerifierResult } from "../verifier/index.js";
import type { MapSpecIn, ObjectSpec, ProgramSpecIn } from "../elf/index.js";
import { parseMapType, type BpfMap, type MapSpec } from "../maps/index.js";
import type { EngineChoice, Program } from "./program.js";
import type { Runtime } from "./runtime.js";

export class LoadError extends TsbpfError {
  constructor(message: string) {
    super("EUSAGE", message);
  }
}

export interface Collection {
  readonly maps: ReadonlyMap<string, BpfMap>;
  readonly programs: ReadonlyMap<string, Program>;
  readonly spec: ObjectSpec;
  /** The verifier's result per loaded program (empty with verify: false). */
  readonly verifier: ReadonlyMap<string, VerifierResult>;
  close(): void;
}

export function toMapSpec(m: MapSpecIn): MapSpec {
  const type = parseMapType(m.type);
  if (type === undefined) throw new LoadError(`map ${m.name}: unknown map type ${m.type}`);
  const spec: MapSpec = { name: m.name, type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags };
  if (m.mapExtra !== undefined) spec.mapExtra = Number(m.mapExtra);
  if (m.innerMap !== undefined) spec.innerMap = toMapSpec(m.innerMap);
  if (m.spinLockOffset !== undefined) spec.spinLockOffset = m.spinLockOffset;
  return spec;
}

/** Address a map reference resolves to. */
function referenceAddress(map: BpfMap, kind: "map" | "map_value", offset: number, where: string): number {
  if (kind === "map") return map.address;
  const base = (map as BpfMap & { valueBase?: number }).valueBase;
  if (base === undefined) throw new LoadError(`${where}: map ${map.spec.name} (${map.spec.type}) has no directly addressable value`);
  if (offset < 0 || offset >= map.spec.valueSize) throw new LoadError(`${where}: offset ${offset} outside map ${map.spec.name}'s ${map.spec.valueSize}-byte value`);
  return base + offset;
}

/** The program's instructions with map references bound to addresses. */
export function bindReferences(prog: ProgramSpecIn, spec: ObjectSpec, maps: ReadonlyMap<string, BpfMap>): Insn[] {
  const insns = [...prog.insns];
  const byPc = new Map(insns.map((insn, i) => [insn.pc, i]));
  for (const ref of prog.references) {
    const i = byPc.get(ref.pc);
    const insn = i === undefined ? undefined : insns[i];
    if (insn === undefined || insn.kind !== "ld_imm64") throw new LoadError(`program ${prog.name}: reference at insn ${ref.pc} is not an ld_imm64`);
    const map = maps.get(ref.map);
    if (map === undefined) throw new LoadError(`program ${prog.name}: insn ${ref.pc} refers to map ${ref.map}, which was not created`);
    const addr = referenceAddress(map, ref.kind, ref.offset, `program ${prog.name} insn ${ref.pc}`);
    const bound: LdImm64Insn = { kind: "ld_imm64", pc: insn.pc, dst: insn.dst, pseudo: "imm", imm: addr | 0, imm2: 0, value: BigInt(addr) };
    insns[i!] = bound;
  }
  // Anything still pseudo (map_fd from hand-written code) must name a map of this object by index.
  for (let k = 0; k < insns.length; k++) {
    const insn = insns[k]!;
    if (insn.kind === "ld_imm64" && (insn.pseudo === "map_idx" || insn.pseudo === "map_idx_value")) {
      const m = spec.maps[insn.imm];
      const map = m === undefined ? undefined : maps.get(m.name);
      if (map === undefined) throw new LoadError(`program ${prog.name}: insn ${insn.pc} refers to map index ${insn.imm}, which does not exist`);
      const addr = referenceAddress(map, insn.pseudo === "map_idx" ? "map" : "map_value", insn.imm2, `program ${prog.name} insn ${insn.pc}`);
      insns[k] = { kind: "ld_imm64", pc: insn.pc, dst: insn.dst, pseudo: "imm", imm: addr | 0, imm2: 0, value: BigInt(addr) };
    }
  }
  return insns;
}

const u32le = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

export interface LoadCollectionOptions {
  /** Load only these programs (default: every program that autoloads). */
  programs?: readonly string[];
  /** Verify each program first, as the kernel does at BPF_PROG_LOAD (default true). */
  verify?: boolean;
  /** Verify as an unprivileged user would be (default: privileged). */
  privileged?: boolean;
  /** Verifier log level for the kept results (0, 1 or 2; a rejection always gets a log). */
  logLevel?: 0 | 1 | 2;
  /**
   * Engine the programs run on (EngineChoice; default "auto": the JIT without
   * per-access checks for the programs the verifier accepted, which is every program
   * unless verify is false; the interpreter for unverified ones).
   */
  engine?: EngineChoice;
  /** Count executed instructions on the JIT in verified mode too (TestRunResult.executed). */
  count?: boolean;
}

/**
 * Verdicts by program bytes, type, maps and privilege: tools and tests load the same
 * objects many times, and a verdict depends only on these.
 */
const verdicts = new Map<string, VerifierResult>();

function verifyCached(spec: ObjectSpec, prog: ProgramSpecIn, opts: LoadCollectionOptions): VerifierResult {
  const bytes = encodeProgram(prog.insns);
  let key = `${prog.type}|${opts.privileged !== false}|${opts.logLevel ?? 0}|${JSON.stringify(spec.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags]))}|`;
  for (const b of bytes) key += String.fromCharCode(b);
  let r = verdicts.get(key);
  if (r === undefined) {
    r = verifyProgram(verifierInputFor(spec, prog, { privileged: opts.privileged !== false, logLevel: opts.logLevel ?? 0 }));
    if (verdicts.size > 256) verdicts.clear();
    verdicts.set(key, r);
  }
  return r;
}

export function loadCollection(rt: Runtime, spec: ObjectSpec, opts: LoadCollectionOptions = {}): Collection {
  const maps = new Map<string, BpfMap>();
  const programs = new Map<string, Program>();
  const verifier = new Map<string, VerifierResult>();
  const close = (): void => {
    for (const p of programs.values()) p.close();
    for (const m of maps.values()) m.close();
  };
  try {
    for (const m of spec.maps) {
      if (m.kind === "kconfig") throw new LoadError(`map ${m.name}: .kconfig externs are not supported`);
      const map = rt.createMap(toMapSpec(m));
      maps.set(m.name, map);
      for (const c of m.contents ?? []) if ("key" in c) map.update(c.key, c.value);
      if (m.kind === "rodata") map.freeze();
    }
    const wanted = opts.programs === undefined ? spec.programs.filter((p) => p.autoload) : spec.programs.filter((p) => opts.programs!.includes(p.name));
    for (const p of wanted) {
      if (opts.verify !== false) {
        const v = verifyCached(spec, p, opts);
        if (!v.accepted) throw v.error ?? new LoadError(`program ${p.name}: rejected by the verifier`);
        verifier.set(p.name, v);
      }
      programs.set(p.name, rt.loadProgram({
        name: p.name, type: p.type, insns: bindReferences(p, spec, maps), license: p.license,
        ...(opts.engine !== undefined ? { engine: opts.engine } : {}),
        ...(opts.count === true ? { count: true } : {}),
        verified: opts.verify !== false,
      }));
    }
    // Static initialisers that name programs and maps (prog arrays, map-in-map).
    for (const m of spec.maps) {
      const map = maps.get(m.name)!;
      for (const c of m.contents ?? []) {
        if ("program" in c) {
          const p = programs.get(c.program);
          if (p === undefined) throw new LoadError(`map ${m.name}[${c.index}]: program ${c.program} is not loaded`);
          map.update(u32le(c.index), u32le(p.id));
        } else if ("map" in c) {
          const inner = maps.get(c.map);
          if (inner === undefined) throw new LoadError(`map ${m.name}[${c.index}]: map ${c.map} does not exist`);
          map.update(u32le(c.index), u32le(inner.id));
        }
      }
    }
  } catch (e) {
    close();
    throw e;
  }
  return { maps, programs, spec, verifier, close };
}
