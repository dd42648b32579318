/**
 * eBPF -> WebAssembly: one module per (program, mode). The module imports the
 * runtime's memory, the machine's function table (tail-call targets), a few globals
 * (scratch area, stack bounds, instruction budget) and the helpers it calls; it
 * defines one wasm function per eBPF function entry and ABI (entry point, bpf-to-bpf
 * call targets, callx targets), plus `run` and `runList`, which run the program N
 * times inside one wasm call (test_run's repeat, or a list of ctx pointers), so the
 * JS<->wasm crossing is paid once per batch, not once per run.
 *
 * Modules depend only on the program, the mode and (verified mode) the maps and
 * helpers it was compiled against; the JitMachine instantiates one per CPU with its
 * own stack and scratch area.
 */
import { LpmTrieMap, mapFromAddress } from "../maps/index.js";
import { FUNC_PTR_TAG_HI, OP_CALL_LOCAL, type AddressSpace, type HelperTable, type PredecodedProgram } from "../vm/index.js";
import {
  CACHE_ENTRIES, CHUNK_PARAMS, CHUNK_RESULTS, FULL_PARAMS, FULL_RESULTS, G_BUDGET, G_REM, G_STACK_END, G_TAIL, G_TAILCNT, I32, I64, LEAN_PARAMS, LEAN_RESULTS,
  importKey, importSignature, resultGlobal, type Abi, type ImportDesc,
} from "./abi.js";
import { buildCfg, functionGraph, type Cfg, type FuncGraph } from "./cfg.js";
import { emitReturn } from "./call.js";
import { FnCompiler, type MapInfo, type ModuleContext } from "./function.js";
import { emitDispatch, emitStructured, StructureError } from "./structure.js";
import { Code, ModuleBuilder } from "./wasm/encoder.js";
import { Op, ValType } from "./wasm/opcodes.js";

export type JitMode = "verified" | "checked";

/** Functions with more instructions than this are split into parts of about this size. */
const CHUNK_THRESHOLD = 16384;
/**
 * Parts are made of whole groups of CHUNK_NODES consecutive nodes (a power of two, so
 * the part of a node is found with a shift and one br_table); with MAX_BLOCK_INSNS =
 * 256 a group has at most 16,384 instructions.
 */
const CHUNK_NODES = 64;
/** Nodes per part at most (a dispatch loop's size grows with its nodes in V8). */
const CHUNK_MAX_NODES = 1024;

/** Per node, the smallest and largest predecessor node (for single-entry tests of parts). */
function predRange(g: FuncGraph): { min: Int32Array; max: Int32Array } {
  const n = g.order.length;
  const min = new Int32Array(n).fill(n);
  const max = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    for (const s of g.succ[i]!) {
      if (s < 0) continue;
      if (i < min[s]!) min[s] = i;
      if (i > max[s]!) max[s] = i;
    }
  }
  return { min, max };
}

const graphInsns = (g: FuncGraph): number => g.order.reduce((n, b) => n + g.cfg.blocks[b]!.slots.length, 0);

export interface CompileOptions {
  /** "checked" (default): the interpreter's faults and budget; "verified": no per-access checks. */
  mode?: JitMode;
  /** The memory is shared between threads: atomics use wasm atomic instructions. */
  sharedMemory?: boolean;
  /** Helpers the program will run with: unknown ids fault, and kernel map helpers get fast paths. */
  helpers?: HelperTable;
  /** The address space whose maps verified-mode fast paths may bake in. */
  space?: AddressSpace;
  /** Count executed instructions in verified mode too (checked mode always does). */
  count?: boolean;
  /** Verified mode: i32 map helpers and inlined array lookups (default true). */
  fastHelpers?: boolean;
  /** Force the dispatch-loop fallback for every function (tests). */
  forceDispatch?: boolean;
}

export interface CompiledProgram {
  readonly program: PredecodedProgram;
  readonly mode: JitMode;
  readonly counting: boolean;
  readonly sharedMemory: boolean;
  readonly module: WebAssembly.Module;
  readonly imports: readonly ImportDesc[];
  /** Whether the module imports the tail-call table. */
  readonly usesTable: boolean;
  /** Slots of the instructions of each CFG block (budget faults). */
  readonly blockSlots: readonly (readonly number[])[];
  /** Exported function per callx / PTR_TO_FUNC entry slot, with its ABI (helper callbacks). */
  readonly callbacks: ReadonlyMap<number, { readonly name: string; readonly abi: Abi }>;
  readonly stats: { readonly wasmBytes: number; readonly functions: number; readonly dispatchLoops: number; readonly chunked: number; readonly compileMs: number };
}

/** Function entry slots: 0, bpf-to-bpf call targets, PTR_TO_FUNC constants. */
function entrySlots(p: PredecodedProgram): { calls: number[]; funcPtrs: number[] } {
  const calls = new Set<number>();
  const funcPtrs = new Set<number>();
  const n = p.length;
  for (let pc = 0; pc < n; pc++) {
    const o = p.op[pc]!;
    if (o === OP_CALL_LOCAL) calls.add(p.target[pc]!);
    else if (o === 0x18) {
      const s = p.src[pc]!;
      const lo = p.constLo[s]!;
      // ld_imm64 func, or a constant that happens to be a tagged slot index
      if (p.constHi[s] === FUNC_PTR_TAG_HI && lo >= 0 && lo < n && p.bySlot[lo] !== undefined) funcPtrs.add(lo);
    }
  }
  return { calls: [...calls].sort((a, b) => a - b), funcPtrs: [...funcPtrs].sort((a, b) => a - b) };
}

class ModuleCompiler implements ModuleContext {
  readonly program: PredecodedProgram;
  readonly checked: boolean;
  readonly counting: boolean;
  readonly sharedMemory: boolean;
  readonly fastHelpers: boolean;
  readonly callxEntries: readonly number[];
  readonly cfg: Cfg;
  readonly cfgBlocks;
  readonly builder = new ModuleBuilder();
  readonly entryType: number;
  readonly entryAbi: Abi;
  readonly imports: ImportDesc[] = [];
  private readonly importIdx = new Map<string, number>();
  readonly funcs: Array<{ slot: number; abi: Abi; chunk?: { lo: number; hi: number; single: boolean }; fc?: FnCompiler }> = [];
  private readonly graphs = new Map<number, FuncGraph>();
  chunkedFunctions = 0;
  private readonly funcIdx = new Map<string, number>();
  private readonly mapCache = new Map<number, MapInfo | undefined>();
  dispatchLoops = 0;
  usesTable = false;

  constructor(
    p: PredecodedProgram,
    readonly opts: CompileOptions,
  ) {
    this.program = p;
    this.checked = (opts.mode ?? "checked") === "checked";
    this.counting = this.checked || opts.count === true;
    this.sharedMemory = opts.sharedMemory ?? false;
    this.fastHelpers = opts.fastHelpers ?? true;
    const { calls, funcPtrs } = entrySlots(p);
    this.callxEntries = funcPtrs;
    this.cfg = buildCfg(p, [0, ...calls, ...funcPtrs]);
    this.cfgBlocks = this.cfg.blocks;
    this.entryAbi = this.checked ? "full" : "lean";
    this.entryType = this.checked ? this.builder.type(FULL_PARAMS, FULL_RESULTS) : this.builder.type(LEAN_PARAMS, LEAN_RESULTS);
  }

  importRef(d: ImportDesc): number {
    const k = importKey(d);
    let i = this.importIdx.get(k);
    if (i === undefined) {
      i = this.imports.length;
      this.imports.push(d);
      this.importIdx.set(k, i);
    }
    return i;
  }

  funcRef(slot: number, abi: Abi): number {
    const k = `${slot}:${abi}`;
    let i = this.funcIdx.get(k);
    if (i === undefined) {
      i = this.funcs.length;
      this.funcs.push({ slot, abi });
      this.funcIdx.set(k, i);
    }
    return i;
  }

  /** Part `k` (nodes [lo, hi)) of the chunked function at `slot`. */
  chunkRef(slot: number, k: number, lo: number, hi: number, single: boolean): number {
    const key = `${slot}:chunk:${k}`;
    let i = this.funcIdx.get(key);
    if (i === undefined) {
      i = this.funcs.length;
      this.funcs.push({ slot, abi: "chunk", chunk: { lo, hi, single } });
      this.funcIdx.set(key, i);
    }
    return i;
  }

  private graphFor(slot: number): FuncGraph {
    let g = this.graphs.get(slot);
    if (g === undefined) {
      g = functionGraph(this.cfg, this.cfg.blockAt[slot]!);
      this.graphs.set(slot, g);
    }
    return g;
  }

  mapAt(addr: number): MapInfo | undefined {
    if (this.opts.space === undefined) return undefined;
    if (this.mapCache.has(addr)) return this.mapCache.get(addr);
    const m = mapFromAddress(this.opts.space, addr);
    let info: MapInfo | undefined;
    if (m !== undefined) {
      const a = m as typeof m & { valueBase?: number; valueStride?: number; cpuStride?: number };
      const isArray = m.type === "BPF_MAP_TYPE_ARRAY" || m.type === "BPF_MAP_TYPE_PERCPU_ARRAY";
      info = isArray && a.valueBase !== undefined && a.valueStride !== undefined
        ? { addr, array: { valueBase: a.valueBase, valueStride: a.valueStride, cpuStride: a.cpuStride ?? 0, maxEntries: m.maxEntries } }
        : m instanceof LpmTrieMap
          ? { addr, lpm: m.lpmLayout }
          : { addr };
    }
    this.mapCache.set(addr, info);
    return info;
  }

  helperName(id: number): string | undefined {
    return this.opts.helpers?.get(id)?.name;
  }

  helperCallsBack(id: number): boolean {
    return id === 164 || id === 181 || this.opts.helpers?.get(id)?.callsBack === true;
  }

  /** Compiles every queued function (calls queue more). */
  compileFunctions(): void {
    for (let i = 0; i < this.funcs.length; i++) {
      const f = this.funcs[i]!;
      const graph = this.graphFor(f.slot);
      if (f.chunk !== undefined) {
        f.fc = this.compilePart(f.slot, graph, f.chunk.lo, f.chunk.hi, f.chunk.single);
        continue;
      }
      if (graphInsns(graph) > CHUNK_THRESHOLD) {
        this.chunkedFunctions++;
        const fc = new FnCompiler(this, f.slot, f.abi);
        fc.compileWith(graph, (c, g) => this.emitChunked(fc, c, g));
        f.fc = fc;
        continue;
      }
      let fc = new FnCompiler(this, f.slot, f.abi);
      let structured = graph.reducible && this.opts.forceDispatch !== true;
      if (structured) {
        try {
          fc.compileWith(graph, (c, g) => emitStructured(c, g, fc));
        } catch (e) {
          if (!(e instanceof StructureError)) throw e;
          structured = false;
        }
      }
      if (!structured) {
        this.dispatchLoops++;
        fc = new FnCompiler(this, f.slot, f.abi);
        const fcd = fc;
        fcd.compileWith(graph, (c, g) => emitDispatch(c, g, fcd, fcd.lbl));
      }
      f.fc = fc;
    }
  }

  /**
   * One part of a chunked function: nodes [lo, hi) of `graph`. A part entered only at
   * its first node is structured like a function (its exits return the next node);
   * otherwise it is a dispatch loop over its nodes.
   */
  private compilePart(slot: number, graph: FuncGraph, lo: number, hi: number, single: boolean): FnCompiler {
    const leaveFor = (fc: FnCompiler) => (j: number): void => {
      fc.c.i32(j);
      for (let r = 0; r <= 10; r++) fc.get(r);
      fc.c.op(Op.return);
    };
    if (single) {
      const sub = functionGraph(this.cfg, graph.order[lo]!, { parent: graph, lo, hi });
      if (sub.reducible && sub.order.length === hi - lo) {
        const fc = new FnCompiler(this, slot, "chunk");
        try {
          fc.compileWith(sub, (c, g) => emitStructured(c, g, fc, leaveFor(fc)));
          return fc;
        } catch (e) {
          if (!(e instanceof StructureError)) throw e;
        }
      }
    }
    const fc = new FnCompiler(this, slot, "chunk");
    fc.compileWith(graph, (c, g) => emitDispatch(c, g, fc, fc.lbl, { lo, hi, leave: leaveFor(fc) }));
    return fc;
  }

  /**
   * A function too large for one wasm function: a loop that calls the part holding
   * the current node until a part returns -1 (exit), then returns with this ABI.
   */
  private emitChunked(fc: FnCompiler, c: Code, g: FuncGraph): void {
    const n = g.order.length;
    // Parts: runs of whole node groups of up to about CHUNK_THRESHOLD instructions.
    const groups = Math.ceil(n / CHUNK_NODES);
    const partOfGroup: number[] = [];
    const bounds: number[] = [0];
    let size = 0;
    for (let gi = 0; gi < groups; gi++) {
      let gs = 0;
      for (let i = gi * CHUNK_NODES; i < Math.min(n, (gi + 1) * CHUNK_NODES); i++) gs += g.cfg.blocks[g.order[i]!]!.slots.length;
      const start = bounds[bounds.length - 1]!;
      if (size > 0 && (size + gs > CHUNK_THRESHOLD || gi * CHUNK_NODES - start >= CHUNK_MAX_NODES)) {
        bounds.push(gi * CHUNK_NODES);
        size = 0;
      }
      size += gs;
      partOfGroup.push(bounds.length - 1);
    }
    bounds.push(n);
    const m = bounds.length - 1;
    const preds = predRange(g);
    const single = (lo: number, hi: number): boolean => {
      for (let i = lo + 1; i < hi; i++) if (preds.min[i]! < lo || preds.max[i]! >= hi) return false;
      return true;
    };
    c.i32(0);
    c.set(fc.lbl);
    c.loop();
    c.block(); // after the call of a part
    for (let k = 0; k < m; k++) c.block();
    c.get(fc.lbl);
    c.i32(Math.log2(CHUNK_NODES));
    c.op(Op.i32_shr_u);
    c.brTable(partOfGroup, 0);
    for (let k = 0; k < m; k++) {
      c.end();
      c.get(fc.lbl);
      for (let r = 0; r <= 10; r++) fc.get(r);
      c.get(fc.fp);
      const at = c.callPlaceholder();
      fc.patches.push([at, this.chunkRef(fc.entry, k, bounds[k]!, bounds[k + 1]!, single(bounds[k]!, bounds[k + 1]!)), false]);
      for (let r = 10; r >= 0; r--) fc.set(r);
      c.set(fc.lbl);
      if (k < m - 1) c.br(m - 1 - k);
    }
    c.end();
    c.get(fc.lbl);
    c.i32(0);
    c.op(Op.i32_lt_s);
    c.if_();
    emitReturn(fc);
    c.end();
    c.br(0);
    c.end();
    c.op(Op.unreachable);
  }

  /**
   * `run(n, r1..r5) -> r0` runs the entry n times with those arguments and returns the
   * last r0 (checked mode also keeps r0-r5 in exported globals); `runList(n, list,
   * out)` runs it once per u32 ctx pointer at list[i] and stores each r0 at out[i].
   */
  private runner(entry: number, list: boolean): { body: Code; locals: ValType[] } {
    const c = new Code(256);
    const nParams = list ? 3 : 6;
    const q = (k: number): number => nParams + k;
    const iLocal = nParams + 6;
    const locals: ValType[] = [...Array<ValType>(6).fill(I64), I32];
    c.i32(0);
    c.set(iLocal);
    c.loop();
    if (this.counting) {
      c.gget(G_BUDGET);
      c.gset(G_REM);
    }
    if (this.usesTable) {
      // (without the table no helper can request a tail call, and the count stays 0)
      c.i32(0);
      c.gset(G_TAIL);
      c.i32(0);
      c.gset(G_TAILCNT);
    }
    if (this.entryAbi === "full") c.i64(0); // r0
    if (list) {
      c.get(1);
      c.get(iLocal);
      c.i32(2);
      c.op(Op.i32_shl);
      c.op(Op.i32_add);
      c.mem(Op.i64_load32_u, 4, 0);
      for (let r = 2; r <= 5; r++) c.i64(0);
    } else {
      for (let r = 1; r <= 5; r++) c.get(r);
    }
    if (this.entryAbi === "full") {
      for (let r = 6; r <= 9; r++) c.i64(0);
      c.gget(G_STACK_END);
      c.op(Op.i64_extend_i32_u);
    }
    c.gget(G_STACK_END);
    c.call(entry);
    if (this.entryAbi === "full") for (let k = 5; k >= 0; k--) c.set(q(k));
    else c.set(q(0));
    if (list) {
      c.get(2);
      c.get(iLocal);
      c.i32(3);
      c.op(Op.i32_shl);
      c.op(Op.i32_add);
      c.get(q(0));
      c.mem(Op.i64_store, 8, 0);
    }
    c.get(iLocal);
    c.i32(1);
    c.op(Op.i32_add);
    c.tee(iLocal);
    c.get(0);
    c.op(Op.i32_lt_u);
    c.brIf(0);
    c.end();
    if (!list) {
      if (this.checked) {
        for (let k = 0; k <= 5; k++) {
          c.get(q(k));
          c.gset(resultGlobal(this.counting, k));
        }
      }
      c.get(q(0));
    }
    return { body: c, locals };
  }

  finish(): { bytes: Uint8Array; callbacks: Map<number, { name: string; abi: Abi }> } {
    const b = this.builder;
    const entry = this.funcRef(0, this.entryAbi);
    const cbAbi: Abi = this.checked ? "full" : "lean";
    for (const s of this.callxEntries) this.funcRef(s, cbAbi);
    this.compileFunctions();
    this.usesTable = this.funcs.some((f) => f.fc!.usesTable);
    // Imports: functions first (their indexes precede the defined functions), then the rest.
    const importBase = this.imports.length;
    for (const [i, d] of this.imports.entries()) {
      const sig = importSignature(d);
      b.importFunc("jit", `f${i}`, sig.params, sig.results);
    }
    b.importMemory("env", "memory", this.sharedMemory ? { min: 0, max: 65536, shared: true } : { min: 0, shared: false });
    if (this.usesTable) b.importTable("env", "table", 1);
    b.importGlobal("env", "stackLo", ValType.I32, false); // G_STACK_LO
    b.importGlobal("env", "stackEnd", ValType.I32, false); // G_STACK_END
    b.importGlobal("env", "tail", ValType.I32, true); // G_TAIL
    b.importGlobal("env", "tailCount", ValType.I32, true); // G_TAILCNT
    b.importGlobal("env", "cpu", ValType.I32, true); // G_CPU
    if (this.counting) {
      b.importGlobal("env", "rem", ValType.I64, true); // G_REM
      b.importGlobal("env", "budget", ValType.I64, true); // G_BUDGET
    }
    if (this.checked) {
      for (let k = 0; k < 4 * CACHE_ENTRIES; k++) b.exportGlobal(`c${k}`, b.addGlobal(ValType.I64, true, (c) => c.i64(0)));
      for (let k = 0; k <= 5; k++) b.exportGlobal(`r${k}`, b.addGlobal(ValType.I64, true, (c) => c.i64(0)));
    }
    const indexOf: number[] = [];
    for (const f of this.funcs) {
      const [params, results] = f.abi === "full" ? [FULL_PARAMS, FULL_RESULTS] : f.abi === "chunk" ? [CHUNK_PARAMS, CHUNK_RESULTS] : [LEAN_PARAMS, LEAN_RESULTS];
      indexOf.push(b.declareFunc(params, results));
    }
    for (const [i, f] of this.funcs.entries()) {
      const fc = f.fc!;
      for (const [at, target, isImport] of fc.patches) fc.c.patchIndex(at, isImport ? target : importBase + target);
      b.setBody(indexOf[i]!, fc.locals, fc.c);
    }
    const runBody = this.runner(importBase + entry, false);
    const run = b.declareFunc([I32, I64, I64, I64, I64, I64], [I64]);
    b.setBody(run, runBody.locals, runBody.body);
    const listBody = this.runner(importBase + entry, true);
    const runList = b.declareFunc([I32, I32, I32], []);
    b.setBody(runList, listBody.locals, listBody.body);
    b.exportFunc("run", run);
    b.exportFunc("runList", runList);
    b.exportFunc("entry", importBase + entry);
    const callbacks = new Map<number, { name: string; abi: Abi }>();
    for (const s of this.callxEntries) {
      const name = `f${s}`;
      b.exportFunc(name, importBase + this.funcRef(s, cbAbi));
      callbacks.set(s, { name, abi: cbAbi });
    }
    return { bytes: b.finish(), callbacks };
  }
}


/** Compiles a predecoded program to a WebAssembly module. */
export function compileProgram(p: PredecodedProgram, opts: CompileOptions = {}): CompiledProgram {
  const t0 = performance.now();
  const mc = new ModuleCompiler(p, opts);
  const { bytes, callbacks } = mc.finish();
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  const compileMs = performance.now() - t0;
  return {
    program: p,
    mode: mc.checked ? "checked" : "verified",
    counting: mc.counting,
    sharedMemory: mc.sharedMemory,
    module,
    imports: mc.imports,
    usesTable: mc.usesTable,
    blockSlots: mc.cfg.blocks.map((blk) => blk.slots),
    callbacks,
    stats: { wasmBytes: bytes.length, functions: mc.funcs.length, dispatchLoops: mc.dispatchLoops, chunked: mc.chunkedFunctions, compileMs },
  };
}

/** The module bytes alone (for inspection and tests). */
export function compileToBytes(p: PredecodedProgram, opts: CompileOptions = {}): Uint8Array {
  return new ModuleCompiler(p, opts).finish().bytes;
}
