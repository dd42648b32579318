/**
 * Linking one entry-point program: the .text subprograms it uses are appended
 * after it, depth first in the order their first call is met, and each call
 * (BPF_PSEUDO_CALL) and function address (BPF_PSEUDO_FUNC ld_imm64) gets the
 * relative offset of its target in the final layout — libbpf's
 * bpf_object__relocate_calls() / bpf_object__reloc_code(), written with an
 * explicit stack instead of recursion. Then map and global-data ld_imm64s are
 * rewritten (see object-types.ts) and .BTF.ext func_info / line_info /
 * CO-RE records are copied for every placed function and remapped to final
 * instruction indices (adjust_prog_btf_ext_info()).
 */
import type { BtfExt, BtfExtSection } from "../btf/index.js";
import { ElfError, TsbpfError } from "../errors/index.js";
import { decodeProgram, type Insn, type RawInsn } from "../isa/index.js";
import { withCause } from "./object-checks.js";
import type { MapSpecIn, ProgramCoreRelo, ProgramFuncInfo, ProgramLineInfo, ProgramReference } from "./object-types.js";
import { BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE, functionAt, type FuncBlock } from "./programs.js";

export interface LinkedProgram {
  insns: Insn[];
  functions: Array<{ name: string; pc: number }>;
  references: ProgramReference[];
  funcInfo: ProgramFuncInfo[];
  lineInfo: ProgramLineInfo[];
  coreRelos: ProgramCoreRelo[];
}

const isSubprogCall = (r: RawInsn): boolean => r.code === 0x85 && r.src === BPF_PSEUDO_CALL && r.dst === 0 && r.off === 0;
const isPseudoFunc = (r: RawInsn): boolean => r.code === 0x18 && r.src === BPF_PSEUDO_FUNC;

interface Placed {
  readonly block: FuncBlock;
  readonly off: number;
}

export function linkProgram(main: FuncBlock, funcs: readonly FuncBlock[], maps: readonly MapSpecIn[], ext: BtfExt | undefined): LinkedProgram {
  const out: RawInsn[] = main.raw.map((r) => ({ ...r }));
  const where = new Map<FuncBlock, number>([[main, 0]]);
  const placed: Placed[] = [{ block: main, off: 0 }];
  const stack: Array<{ block: FuncBlock; off: number; idx: number }> = [{ block: main, off: 0, idx: 0 }];
  const text = funcs.find((f) => f.isSubprog)?.section;

  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.idx >= f.block.raw.length) {
      stack.pop();
      continue;
    }
    const i = f.idx;
    const insn = out[f.off + i]!;
    if (!isSubprogCall(insn) && !isPseudoFunc(insn)) {
      f.idx++;
      continue;
    }
    const relo = f.block.relos.get(i);
    const at = `program '${main.name}': insn ${i} of '${f.block.name}'`;
    let subIdx: number;
    if (relo !== undefined && relo.kind === "call") subIdx = relo.symOff / 8 + insn.imm + 1;
    else if (relo !== undefined && relo.kind === "subprog_addr") subIdx = (relo.symOff + insn.imm) / 8;
    else if (relo !== undefined) throw new ElfError(`${at}: unexpected ${relo.kind} relocation on a call`);
    else if (isPseudoFunc(insn)) throw new ElfError(`${at}: missing subprogram address relocation`);
    else if (f.block.isSubprog) subIdx = f.block.secInsnOff + i + insn.imm + 1;
    else throw new ElfError(`${at}: call without a relocation leaves section '${f.block.section.name}' (subprograms live in .text)`);

    const sub = text === undefined ? undefined : functionAt(funcs, text.index, subIdx);
    if (sub === undefined || !sub.isSubprog) throw new ElfError(`${at}: call target (.text insn ${subIdx}) is not a subprogram in .text`);
    let subOff = where.get(sub);
    if (subOff === undefined) {
      subOff = out.length;
      where.set(sub, subOff);
      placed.push({ block: sub, off: subOff });
      for (const r of sub.raw) out.push({ ...r });
      stack.push({ block: sub, off: subOff, idx: 0 });
      continue; // come back to this call once the subprogram's own calls are placed
    }
    insn.imm = subOff - (f.off + i) - 1;
    f.idx++;
  }

  const references: ProgramReference[] = [];
  for (const p of placed) {
    for (const [i, relo] of p.block.relos) {
      if (relo.kind !== "map" && relo.kind !== "data") continue;
      const pc = p.off + i;
      const first = out[pc]!;
      const second = out[pc + 1]!;
      const map = maps[relo.map]!;
      if (relo.kind === "map") {
        first.src = BPF_PSEUDO_MAP_IDX;
        first.imm = relo.map;
        references.push({ pc, kind: "map", map: map.name, offset: 0 });
      } else {
        const offset = (first.imm + relo.symOff) | 0;
        first.src = BPF_PSEUDO_MAP_IDX_VALUE;
        first.imm = relo.map;
        second.imm = offset;
        references.push({ pc, kind: "map_value", map: map.name, offset });
      }
    }
  }
  references.sort((a, b) => a.pc - b.pc);

  let insns: Insn[];
  try {
    insns = decodeProgram(out);
  } catch (e) {
    if (e instanceof TsbpfError) throw withCause(new ElfError(`program '${main.name}' (section ${main.section.name}): ${e.message}`), e);
    throw e;
  }
  return {
    insns,
    functions: placed.map((p) => ({ name: p.block.name, pc: p.off })),
    references,
    funcInfo: remap(main, placed, ext?.funcInfo, "func_info", (r, pc) => ({ pc, func: r.func })),
    lineInfo: remap(main, placed, ext?.lineInfo, "line_info", (r, pc) => ({
      pc,
      fileName: r.fileName,
      line: r.line,
      lineNumber: r.lineNumber,
      column: r.column,
    })),
    coreRelos: remap(main, placed, ext?.coreRelos, undefined, (r, pc) => ({ pc, type: r.type, accessStr: r.accessStr, kind: r.kind })),
  };
}

/**
 * Copies the records of every placed function, in placement order, with
 * instruction offsets turned into final slot indices. For func_info and
 * line_info, libbpf's rule: none for the main program means none at all;
 * none for a subprogram when the main program has some is an error.
 */
function remap<R extends { insnOff: number }, T>(
  main: FuncBlock,
  placed: readonly Placed[],
  secs: readonly BtfExtSection<R>[] | undefined,
  strict: string | undefined,
  make: (r: R, pc: number) => T,
): T[] {
  if (secs === undefined) return [];
  const out: T[] = [];
  for (const p of placed) {
    const sec = secs.find((s) => s.section === p.block.section.name);
    const start = p.block.secInsnOff;
    const end = start + p.block.raw.length;
    const recs = sec === undefined ? [] : sec.records.filter((r) => r.insnOff / 8 >= start && r.insnOff / 8 < end);
    if (recs.length === 0 && strict !== undefined) {
      if (p.block === main) return [];
      throw new ElfError(`program '${main.name}': missing .BTF.ext ${strict} for subprogram '${p.block.name}'`);
    }
    for (const r of recs) {
      if (r.insnOff % 8 !== 0) throw new ElfError(`program '${main.name}': .BTF.ext ${strict ?? "core_relo"} offset ${r.insnOff} is not at an instruction`);
      out.push(make(r, r.insnOff / 8 - start + p.off));
    }
  }
  return out;
}
