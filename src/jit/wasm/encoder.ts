/**
 * A small WebAssembly binary encoder (WebAssembly Core Specification 2.0, §5 "Binary
 * Format"): a growable byte buffer with LEB128, a function-body emitter, and a module
 * builder that writes the type, import, function, table, global, export and code
 * sections. It knows nothing of eBPF; the JIT drives it.
 *
 * Left out (the JIT does not need them): data and element segments, start functions,
 * custom sections, reference-type and SIMD instructions.
 */
import { ATOMIC_PREFIX, Op, ValType } from "./opcodes.js";

const UTF8 = new TextEncoder();

/** A growable byte buffer with the spec's integer encodings. */
export class ByteWriter {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity = 256) {
    this.bytes = new Uint8Array(capacity);
  }

  private grow(extra: number): void {
    let cap = this.bytes.length * 2;
    while (cap < this.length + extra) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.bytes.subarray(0, this.length));
    this.bytes = b;
  }

  u8(b: number): void {
    if (this.length === this.bytes.length) this.grow(1);
    this.bytes[this.length++] = b;
  }

  raw(b: Uint8Array): void {
    if (this.length + b.length > this.bytes.length) this.grow(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }

  /** Unsigned LEB128 of a non-negative integer below 2^32. */
  uleb(n: number): void {
    n >>>= 0;
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n !== 0) b |= 0x80;
      this.u8(b);
    } while (n !== 0);
  }

  /** Signed LEB128 of a 32-bit integer. */
  sleb32(n: number): void {
    n |= 0;
    for (;;) {
      const b = n & 0x7f;
      n >>= 7;
      if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
        this.u8(b);
        return;
      }
      this.u8(b | 0x80);
    }
  }

  /** Signed LEB128 of the 64-bit value hi:lo (two 32-bit halves), without BigInt. */
  sleb64(lo: number, hi: number): void {
    lo |= 0;
    hi |= 0;
    // Small values: the 32-bit encoder gives the same bytes.
    if (hi === lo >> 31) {
      this.sleb32(lo);
      return;
    }
    for (;;) {
      const b = lo & 0x7f;
      // Arithmetic shift of the 64-bit value by 7.
      lo = (lo >>> 7) | (hi << 25);
      hi >>= 7;
      const done = (hi === 0 && lo === 0 && (b & 0x40) === 0) || (hi === -1 && lo === -1 && (b & 0x40) !== 0);
      if (done) {
        this.u8(b);
        return;
      }
      this.u8(b | 0x80);
    }
  }

  f64(x: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, true);
    this.raw(b);
  }

  name(s: string): void {
    // Import and export names are ASCII here; anything else goes through UTF-8.
    if (/^[\x00-\x7f]*$/.test(s)) {
      this.uleb(s.length);
      for (let i = 0; i < s.length; i++) this.u8(s.charCodeAt(i));
      return;
    }
    const b = UTF8.encode(s);
    this.uleb(b.length);
    this.raw(b);
  }

  /** A vector or section payload: its byte length, then the bytes. */
  sized(w: ByteWriter): void {
    this.uleb(w.length);
    this.raw(w.bytes.subarray(0, w.length));
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** Natural alignment (log2) of a memory access of `size` bytes. */
export const alignOf = (size: number): number => (size === 1 ? 0 : size === 2 ? 1 : size === 4 ? 2 : 3);

/**
 * The body of one function: instructions are appended with the helpers below, which
 * take care of immediates (LEB128 indexes, memargs, constants).
 */
export class Code extends ByteWriter {
  op(o: Op): void {
    this.u8(o);
  }
  get(local: number): void {
    this.u8(Op.local_get);
    this.uleb(local);
  }
  set(local: number): void {
    this.u8(Op.local_set);
    this.uleb(local);
  }
  tee(local: number): void {
    this.u8(Op.local_tee);
    this.uleb(local);
  }
  gget(global: number): void {
    this.u8(Op.global_get);
    this.uleb(global);
  }
  gset(global: number): void {
    this.u8(Op.global_set);
    this.uleb(global);
  }
  i32(v: number): void {
    this.u8(Op.i32_const);
    this.sleb32(v);
  }
  /** i64.const of hi:lo. */
  i64(lo: number, hi: number = lo >> 31): void {
    this.u8(Op.i64_const);
    this.sleb64(lo, hi);
  }
  i64big(v: bigint): void {
    this.i64(Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n)));
  }
  f64const(x: number): void {
    this.u8(Op.f64_const);
    this.f64(x);
  }
  /** Memory access with memarg {align, offset}. */
  mem(o: Op, size: number, offset = 0): void {
    this.u8(o);
    this.uleb(alignOf(size));
    this.uleb(offset);
  }
  atomic(o: number, size: number, offset = 0): void {
    this.u8(ATOMIC_PREFIX);
    this.uleb(o);
    this.uleb(alignOf(size));
    this.uleb(offset);
  }
  block(): void {
    this.u8(Op.block);
    this.u8(0x40);
  }
  loop(): void {
    this.u8(Op.loop);
    this.u8(0x40);
  }
  if_(): void {
    this.u8(Op.if);
    this.u8(0x40);
  }
  /** `if` with a single result of type t. */
  ifT(t: ValType): void {
    this.u8(Op.if);
    this.u8(t);
  }
  else_(): void {
    this.u8(Op.else);
  }
  end(): void {
    this.u8(Op.end);
  }
  br(depth: number): void {
    this.u8(Op.br);
    this.uleb(depth);
  }
  brIf(depth: number): void {
    this.u8(Op.br_if);
    this.uleb(depth);
  }
  brTable(depths: readonly number[], dflt: number): void {
    this.u8(Op.br_table);
    this.uleb(depths.length);
    for (const d of depths) this.uleb(d);
    this.uleb(dflt);
  }
  call(fn: number): void {
    this.u8(Op.call);
    this.uleb(fn);
  }
  /** `call` with a 5-byte LEB128 index to patch later (patchIndex); returns the patch position. */
  callPlaceholder(): number {
    this.u8(Op.call);
    const at = this.length;
    for (let i = 0; i < 4; i++) this.u8(0x80);
    this.u8(0);
    return at;
  }
  /** Writes `index` as a padded 5-byte LEB128 at `at`. */
  patchIndex(at: number, index: number): void {
    let v = index >>> 0;
    for (let i = 0; i < 5; i++) {
      this.bytes[at + i] = (v & 0x7f) | (i < 4 ? 0x80 : 0);
      v >>>= 7;
    }
  }
  callIndirect(type: number, table = 0): void {
    this.u8(Op.call_indirect);
    this.uleb(type);
    this.uleb(table);
  }
}

export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

interface ImportEntry {
  module: string;
  name: string;
  kind: 0 | 1 | 2 | 3;
  /** func: type index; table: min; memory: limits; global: type. */
  write(w: ByteWriter): void;
}

interface FunctionEntry {
  type: number;
  locals: ValType[];
  body: Code | undefined;
}

/**
 * Builds a module. Function and global indexes count imports first, as in the
 * spec's index spaces, so imports must all be added before definitions.
 */
export class ModuleBuilder {
  private readonly types: FuncType[] = [];
  private readonly typeKeys = new Map<string, number>();
  private readonly imports: ImportEntry[] = [];
  private importedFuncs = 0;
  private importedGlobals = 0;
  private readonly funcs: FunctionEntry[] = [];
  private readonly globals: Array<{ type: ValType; mutable: boolean; init: (c: Code) => void }> = [];
  private readonly exports: Array<{ name: string; kind: 0 | 1 | 2 | 3; index: number }> = [];

  type(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(",")}>${results.join(",")}`;
    let i = this.typeKeys.get(key);
    if (i === undefined) {
      i = this.types.length;
      this.types.push({ params, results });
      this.typeKeys.set(key, i);
    }
    return i;
  }

  private checkNoDefinitions(): void {
    if (this.funcs.length > 0 || this.globals.length > 0) throw new Error("wasm: imports must precede definitions");
  }

  importFunc(module: string, name: string, params: readonly ValType[], results: readonly ValType[]): number {
    this.checkNoDefinitions();
    const t = this.type(params, results);
    this.imports.push({ module, name, kind: 0, write: (w) => w.uleb(t) });
    return this.importedFuncs++;
  }

  importMemory(module: string, name: string, opts: { min: number; max?: number; shared: boolean }): void {
    this.imports.push({
      module,
      name,
      kind: 2,
      write: (w) => {
        const flags = (opts.max !== undefined ? 1 : 0) | (opts.shared ? 2 : 0);
        w.u8(flags);
        w.uleb(opts.min);
        if (opts.max !== undefined) w.uleb(opts.max);
      },
    });
  }

  importTable(module: string, name: string, min: number): void {
    this.imports.push({
      module,
      name,
      kind: 1,
      write: (w) => {
        w.u8(ValType.FuncRef);
        w.u8(0);
        w.uleb(min);
      },
    });
  }

  importGlobal(module: string, name: string, type: ValType, mutable: boolean): number {
    this.checkNoDefinitions();
    this.imports.push({
      module,
      name,
      kind: 3,
      write: (w) => {
        w.u8(type);
        w.u8(mutable ? 1 : 0);
      },
    });
    return this.importedGlobals++;
  }

  /** Declares a function (body supplied later with setBody, so calls can refer to it first). */
  declareFunc(params: readonly ValType[], results: readonly ValType[]): number {
    this.funcs.push({ type: this.type(params, results), locals: [], body: undefined });
    return this.importedFuncs + this.funcs.length - 1;
  }

  setBody(index: number, locals: ValType[], body: Code): void {
    const f = this.funcs[index - this.importedFuncs];
    if (f === undefined) throw new Error(`wasm: function ${index} is not declared`);
    f.locals = locals;
    f.body = body;
  }

  addGlobal(type: ValType, mutable: boolean, init: (c: Code) => void): number {
    this.globals.push({ type, mutable, init });
    return this.importedGlobals + this.globals.length - 1;
  }

  exportFunc(name: string, index: number): void {
    this.exports.push({ name, kind: 0, index });
  }

  exportGlobal(name: string, index: number): void {
    this.exports.push({ name, kind: 3, index });
  }

  finish(): Uint8Array {
    // Sections are collected as parts and concatenated once: function bodies are not
    // copied until then (large programs make tens of megabytes of code).
    const parts: Uint8Array[] = [new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])];
    const section = (id: number, fill: (w: ByteWriter) => void): void => {
      const w = new ByteWriter();
      fill(w);
      const h = new ByteWriter(8);
      h.u8(id);
      h.uleb(w.length);
      parts.push(h.finish(), w.bytes.subarray(0, w.length));
    };
    section(1, (w) => {
      w.uleb(this.types.length);
      for (const t of this.types) {
        w.u8(0x60);
        w.uleb(t.params.length);
        for (const p of t.params) w.u8(p);
        w.uleb(t.results.length);
        for (const r of t.results) w.u8(r);
      }
    });
    if (this.imports.length > 0) {
      section(2, (w) => {
        w.uleb(this.imports.length);
        for (const im of this.imports) {
          w.name(im.module);
          w.name(im.name);
          w.u8(im.kind);
          im.write(w);
        }
      });
    }
    section(3, (w) => {
      w.uleb(this.funcs.length);
      for (const f of this.funcs) w.uleb(f.type);
    });
    if (this.globals.length > 0) {
      section(6, (w) => {
        w.uleb(this.globals.length);
        for (const g of this.globals) {
          w.u8(g.type);
          w.u8(g.mutable ? 1 : 0);
          const c = new Code(16);
          g.init(c);
          c.end();
          w.raw(c.finish());
        }
      });
    }
    if (this.exports.length > 0) {
      section(7, (w) => {
        w.uleb(this.exports.length);
        for (const e of this.exports) {
          w.name(e.name);
          w.u8(e.kind);
          w.uleb(e.index);
        }
      });
    }
    // Code section: per function its size, the locals (run-length encoded by type), the
    // body and `end`.
    const codeParts: Uint8Array[] = [];
    let codeSize = 0;
    const head = new ByteWriter(8);
    head.uleb(this.funcs.length);
    codeParts.push(head.finish());
    codeSize += codeParts[0]!.length;
    const END = new Uint8Array([Op.end]);
    for (const [i, f] of this.funcs.entries()) {
      if (f.body === undefined) throw new Error(`wasm: function ${this.importedFuncs + i} has no body`);
      const runs: Array<[number, ValType]> = [];
      for (const t of f.locals) {
        const last = runs[runs.length - 1];
        if (last !== undefined && last[1] === t) last[0]++;
        else runs.push([1, t]);
      }
      const loc = new ByteWriter(16);
      loc.uleb(runs.length);
      for (const [n, t] of runs) {
        loc.uleb(n);
        loc.u8(t);
      }
      const size = new ByteWriter(8);
      size.uleb(loc.length + f.body.length + 1);
      const items = [size.finish(), loc.finish(), f.body.bytes.subarray(0, f.body.length), END];
      for (const it of items) {
        codeParts.push(it);
        codeSize += it.length;
      }
    }
    const ch = new ByteWriter(8);
    ch.u8(10);
    ch.uleb(codeSize);
    parts.push(ch.finish(), ...codeParts);
    let total = 0;
    for (const x of parts) total += x.length;
    const out = new Uint8Array(total);
    let at = 0;
    for (const x of parts) {
      out.set(x, at);
      at += x.length;
    }
    return out;
  }
}
