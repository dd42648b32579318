/**
 * A parsed BTF blob: the type table (index = type id, [0] = void), the string
 * section, and look-ups by id and by name. Built by parseBtf(); immutable to
 * callers. The one sanctioned mutation is the loader's DATASEC fix-up
 * (fixupDatasec, mirroring libbpf's btf_fixup_datasec), done before the Btf is
 * handed out.
 */
import { BtfError } from "../errors/index.js";
import type { BtfKind } from "./constants.js";
import type { BtfDatasec, BtfType, BtfTypeId, BtfTypeOfKind, BtfVarSecinfo } from "./types.js";
import type { BtfStrings, ByteOrder, RawBtfHeader } from "./wire.js";

export class Btf {
  readonly byteOrder: ByteOrder;
  readonly header: RawBtfHeader;
  /** Index = type id; [0] is VOID. `types.length` is libbpf's btf__type_cnt(). */
  readonly types: readonly BtfType[];
  readonly strings: BtfStrings;
  private byName: Map<string, BtfType[]> | undefined;

  constructor(byteOrder: ByteOrder, header: RawBtfHeader, types: readonly BtfType[], strings: BtfStrings) {
    this.byteOrder = byteOrder;
    this.header = header;
    this.types = types;
    this.strings = strings;
  }

  /** The type with this id; a BtfError when there is none. */
  typeById(id: number): BtfType {
    const t = this.types[id];
    if (t === undefined || !Number.isInteger(id)) throw new BtfError(`no type with id ${id} (there are ${this.types.length})`, { typeId: id });
    return t;
  }

  /** The string at a string-section offset. */
  string(off: number): string {
    return this.strings.at(off, "string offset");
  }

  /** Every type called `name`, optionally only of one kind, in id order. */
  findAll<K extends BtfKind>(name: string, kind?: K): BtfTypeOfKind<K>[] {
    if (this.byName === undefined) {
      this.byName = new Map();
      for (const t of this.types) {
        if (t.name === "") continue;
        const list = this.byName.get(t.name);
        if (list === undefined) this.byName.set(t.name, [t]);
        else list.push(t);
      }
    }
    const all = this.byName.get(name) ?? [];
    return (kind === undefined ? all : all.filter((t) => t.kind === kind)) as BtfTypeOfKind<K>[];
  }

  /** The first type called `name` (of `kind`, when given), like libbpf's btf__find_by_name_kind(). */
  find<K extends BtfKind>(name: string, kind?: K): BtfTypeOfKind<K> | undefined {
    return this.findAll(name, kind)[0];
  }

  /** Like find(), but a BtfError when there is no such type. */
  get<K extends BtfKind>(name: string, kind?: K): BtfTypeOfKind<K> {
    const t = this.find(name, kind);
    if (t === undefined) throw new BtfError(`no ${kind === undefined ? "type" : kind.toUpperCase()} named '${name}'`);
    return t;
  }
}

/**
 * Fills a DATASEC's size and variable offsets (what clang leaves as zeroes in an
 * object, and libbpf's btf_fixup_datasec() fills from the ELF section size and
 * symbol values), then sorts its variables by offset, as libbpf does.
 */
export function fixupDatasec(sec: BtfDatasec, size: number, offsetOf: (secinfo: BtfVarSecinfo) => number | undefined): void {
  const m = sec as unknown as { size: number; vars: BtfVarSecinfo[] };
  const fixOffsets = m.size === 0;
  if (fixOffsets) m.size = size;
  const vars = m.vars.map((v) => {
    if (!fixOffsets) return v;
    const off = offsetOf(v);
    return off === undefined ? v : { ...v, offset: off };
  });
  vars.sort((a, b) => a.offset - b.offset);
  m.vars = vars;
}

export const typeId = (n: number): BtfTypeId => n as BtfTypeId;
