/**
 * Builds raw .BTF bytes for tests (both byte orders): every record is a list of
 * u32 words after the 12-byte btf_type, which is how every BTF kind is laid out.
 * Also writes a .BTF.ext. Nothing here validates: tests build broken BTF on purpose.
 */
import { BTF_KIND } from "../../src/btf/index.js";

export type Order = "little" | "big";

interface Rec {
  nameOff: number;
  info: number;
  sizeOrType: number;
  words: number[];
}

export class BtfBuilder {
  private readonly strs: string[] = [""];
  private readonly offs = new Map<string, number>([["", 0]]);
  private strLen = 1;
  readonly recs: Rec[] = [];

  str(s: string): number {
    const hit = this.offs.get(s);
    if (hit !== undefined) return hit;
    const off = this.strLen;
    this.strs.push(s);
    this.offs.set(s, off);
    this.strLen += Buffer.byteLength(s) + 1;
    return off;
  }

  /** Adds a raw record; returns its type id. */
  raw(kind: number, name: string | number, opts: { vlen?: number; kflag?: boolean; sizeOrType?: number; words?: number[] } = {}): number {
    const nameOff = typeof name === "number" ? name : this.str(name);
    const info = ((opts.kflag === true ? 1 : 0) << 31) | ((kind & 0x1f) << 24) | ((opts.vlen ?? 0) & 0xffff);
    this.recs.push({ nameOff, info: info >>> 0, sizeOrType: opts.sizeOrType ?? 0, words: opts.words ?? [] });
    return this.recs.length;
  }

  int(name: string, size: number, bits: number, enc = 0, offset = 0): number {
    return this.raw(BTF_KIND.INT, name, { sizeOrType: size, words: [((enc << 24) | (offset << 16) | bits) >>> 0] });
  }
  ptr(target: number): number {
    return this.raw(BTF_KIND.PTR, "", { sizeOrType: target });
  }
  typedef(name: string, target: number): number {
    return this.raw(BTF_KIND.TYPEDEF, name, { sizeOrType: target });
  }
  array(elem: number, index: number, n: number): number {
    return this.raw(BTF_KIND.ARRAY, "", { words: [elem, index, n] });
  }
  struct(name: string, size: number, members: Array<[string, number, number]>, kflag = false, union = false): number {
    return this.raw(union ? BTF_KIND.UNION : BTF_KIND.STRUCT, name, {
      vlen: members.length,
      kflag,
      sizeOrType: size,
      words: members.flatMap(([n, t, off]) => [this.str(n), t, off >>> 0]),
    });
  }
  enum64(name: string, size: number, values: Array<[string, bigint]>, signed = false): number {
    return this.raw(BTF_KIND.ENUM64, name, {
      vlen: values.length,
      kflag: signed,
      sizeOrType: size,
      words: values.flatMap(([n, v]) => {
        const u = BigInt.asUintN(64, v);
        return [this.str(n), Number(u & 0xffffffffn), Number(u >> 32n)];
      }),
    });
  }
  enum32(name: string, size: number, values: Array<[string, number]>, signed = false): number {
    return this.raw(BTF_KIND.ENUM, name, { vlen: values.length, kflag: signed, sizeOrType: size, words: values.flatMap(([n, v]) => [this.str(n), v >>> 0]) });
  }
  funcProto(ret: number, params: Array<[string, number]>): number {
    return this.raw(BTF_KIND.FUNC_PROTO, "", { vlen: params.length, sizeOrType: ret, words: params.flatMap(([n, t]) => [this.str(n), t]) });
  }
  func(name: string, proto: number, linkage = 1): number {
    return this.raw(BTF_KIND.FUNC, name, { vlen: linkage, sizeOrType: proto });
  }
  variable(name: string, type: number, linkage = 1): number {
    return this.raw(BTF_KIND.VAR, name, { sizeOrType: type, words: [linkage] });
  }
  datasec(name: string, size: number, vars: Array<[number, number, number]>): number {
    return this.raw(BTF_KIND.DATASEC, name, { vlen: vars.length, sizeOrType: size, words: vars.flat() });
  }

  /** Type section bytes and string section bytes, then the whole blob with a 24-byte header. */
  build(order: Order = "little", tweak: { version?: number; flags?: number; hdrLen?: number } = {}): Uint8Array {
    const le = order === "little";
    const typeWords: number[] = [];
    for (const r of this.recs) typeWords.push(r.nameOff, r.info, r.sizeOrType, ...r.words);
    const typeLen = typeWords.length * 4;
    const strBytes = Buffer.from(this.strs.map((s) => `${s}\0`).join(""), "utf8");
    const hdrLen = tweak.hdrLen ?? 24;
    const out = new Uint8Array(hdrLen + typeLen + strBytes.length);
    const v = new DataView(out.buffer);
    v.setUint16(0, 0xeb9f, le);
    v.setUint8(2, tweak.version ?? 1);
    v.setUint8(3, tweak.flags ?? 0);
    v.setUint32(4, hdrLen, le);
    v.setUint32(8, 0, le);
    v.setUint32(12, typeLen, le);
    v.setUint32(16, typeLen, le);
    v.setUint32(20, strBytes.length, le);
    typeWords.forEach((w, i) => v.setUint32(hdrLen + i * 4, w >>> 0, le));
    out.set(strBytes, hdrLen + typeLen);
    return out;
  }
}

/** Byte offset of type `id`'s record inside a blob built with a 24-byte header (for targeted corruption). */
export function recordOffset(b: BtfBuilder, id: number): number {
  let off = 24;
  for (let i = 1; i < id; i++) off += 12 + b.recs[i - 1]!.words.length * 4;
  return off;
}
