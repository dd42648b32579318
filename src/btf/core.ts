/**
 * CO-RE: applying .BTF.ext relocation records against a target BTF (the
 * kernel's vmlinux BTF, or a user-supplied description of a ctx), following
 * libbpf's relo_core.c:
 *   - the local access spec is parsed from the access string ("0:1:2": an array
 *     index into the root type, then member / element indices), as
 *     bpf_core_parse_spec() does;
 *   - candidates are target types of a compatible kind whose name matches up to
 *     a "___flavor" suffix (bpf_core_add_cands());
 *   - each candidate is matched by member *names* (through anonymous members)
 *     and array indices, with bpf_core_fields_are_compat() /
 *     bpf_core_types_are_compat() (bpf_core_spec_match());
 *   - values are computed per kind (bpf_core_calc_field_relo() and friends);
 *     several candidates must agree; none found means 0 for the *_EXISTS kinds
 *     and a poisoned instruction (call 0xbad2310) otherwise;
 *   - the instruction is patched as bpf_core_patch_insn() does: ALU imm,
 *     LDX/ST/STX offset (and access size for unsigned ints and pointers),
 *     ld_imm64 value; the local value is checked first where libbpf checks it.
 * Differences from libbpf: TYPE_MATCHES uses the types_are_compat rules (not
 * the stricter bpf_core_types_match()); relocation results are returned rather
 * than logged.
 */
import { BtfError } from "../errors/index.js";
import type { Insn } from "../isa/index.js";
import type { Btf } from "./btf.js";
import type { CoreReloKind } from "./constants.js";
import { resolveType, sizeOf } from "./query.js";
import type { BtfArray, BtfComposite, BtfType } from "./types.js";
import type { ByteOrder } from "./wire.js";

export interface CoreRelocation {
  /** Slot index of the instruction to patch. */
  readonly pc: number;
  /** Local root type (from the program's own BTF). */
  readonly type: BtfType;
  readonly accessStr: string;
  readonly kind: CoreReloKind;
}

export interface CoreResult {
  readonly pc: number;
  readonly kind: CoreReloKind;
  /** The value the compiler assumed (from the local BTF). */
  readonly local: bigint;
  /** The value for the target; meaningless when `poisoned`. */
  readonly target: bigint;
  /** No usable target: the instruction became `call 0xbad2310`, as libbpf poisons it. */
  readonly poisoned: boolean;
  /** The matching target type, when one matched. */
  readonly candidate?: BtfType;
}

/** libbpf's poison helper id: "invalid func unknown#195896080" if the instruction is reached. */
export const CORE_POISON_IMM = 0xbad2310;
const SPEC_MAX_LEN = 64;

interface Accessor {
  /** For a member: the struct/union; for an array element (or the root): the element type. */
  readonly type: BtfType;
  readonly idx: number;
  readonly name?: string;
}

interface Spec {
  readonly root: BtfType;
  readonly acc: Accessor[];
  readonly raw: number[];
  bitOffset: number;
}

const isFieldKind = (k: CoreReloKind): boolean => k.startsWith("field_");
const isTypeKind = (k: CoreReloKind): boolean => k.startsWith("type_");
const isEnumKind = (k: CoreReloKind): boolean => k.startsWith("enumval_");
const isEnum = (t: BtfType): boolean => t.kind === "enum" || t.kind === "enum64";
const isComposite = (t: BtfType): t is BtfComposite => t.kind === "struct" || t.kind === "union";

/** bpf_core_essential_name_len(): "task_struct___v2" -> "task_struct". */
export function essentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== "_" && name.startsWith("___", i + 1) && name[i + 4] !== "_") return name.slice(0, i + 1);
  }
  return name;
}

class CoreError extends Error {}
const bad = (why: string): never => {
  throw new CoreError(why);
};

function isFlexArray(prev: Accessor | undefined, a: BtfArray): boolean {
  if (prev?.name === undefined || a.nelems > 0) return false;
  const t = prev.type;
  return isComposite(t) && prev.idx === t.members.length - 1;
}

function parseSpec(r: CoreRelocation): Spec {
  const spec: Spec = { root: r.type, acc: [], raw: [], bitOffset: 0 };
  if (r.accessStr === "" || r.accessStr.startsWith(":")) bad(`bad access string '${r.accessStr}'`);
  if (isTypeKind(r.kind)) {
    if (r.accessStr !== "0") bad(`type relocation with access string '${r.accessStr}'`);
    return spec;
  }
  for (const part of r.accessStr.split(":")) {
    if (!/^\d+$/.test(part)) bad(`bad access string '${r.accessStr}'`);
    if (spec.raw.length === SPEC_MAX_LEN) bad("access string too long");
    spec.raw.push(Number(part));
  }
  let t = resolveType(r.type);
  const first = spec.raw[0]!;
  spec.acc.push({ type: t, idx: first });
  if (isEnumKind(r.kind)) {
    if ((t.kind !== "enum" && t.kind !== "enum64") || spec.raw.length > 1 || first >= t.values.length) bad("bad enum value relocation");
    spec.acc[0] = { type: t, idx: first, name: (t as { values: readonly { name: string }[] }).values[first]!.name };
    return spec;
  }
  spec.bitOffset = first * sizeOf(t) * 8;
  let cur: BtfType = t;
  for (let i = 1; i < spec.raw.length; i++) {
    t = resolveType(cur);
    const idx = spec.raw[i]!;
    if (isComposite(t)) {
      const m = t.members[idx];
      if (m === undefined) bad(`member index ${idx} out of range in ${t.kind} '${t.name}'`);
      spec.bitOffset += m!.bitOffset;
      if (m!.name !== "") spec.acc.push({ type: t, idx, name: m!.name });
      cur = m!.type;
    } else if (t.kind === "array") {
      const elem = resolveType(t.elem);
      if (!isFlexArray(spec.acc[spec.acc.length - 1], t) && idx >= t.nelems) bad(`array index ${idx} out of range`);
      spec.acc.push({ type: elem, idx });
      spec.bitOffset += idx * sizeOf(elem) * 8;
      cur = elem;
    } else {
      bad(`access string step ${i} lands on a ${t.kind.toUpperCase()}`);
    }
  }
  return spec;
}

/** bpf_core_fields_are_compat() */
function fieldsCompat(local: BtfType, targ: BtfType): boolean {
  for (let depth = 0; depth < 32; depth++) {
    const l = resolveType(local);
    const t = resolveType(targ);
    if (isComposite(l) && isComposite(t)) return true;
    if (!(l.kind === t.kind || (isEnum(l) && isEnum(t)))) return false;
    switch (l.kind) {
      case "ptr":
      case "float":
        return true;
      case "fwd":
      case "enum":
      case "enum64": {
        const ln = essentialName(l.name);
        const tn = essentialName(t.name);
        return ln === "" || tn === "" || ln === tn;
      }
      case "int":
        return l.bitsOffset === 0 && (t as { bitsOffset: number }).bitsOffset === 0;
      case "array":
        local = l.elem;
        targ = (t as BtfArray).elem;
        continue;
      default:
        return false;
    }
  }
  return false;
}

/** __bpf_core_types_are_compat() */
function typesCompat(local: BtfType, targ: BtfType, level = 2): boolean {
  for (let depth = 0; depth < 32; depth++) {
    const l = resolveType(local);
    const t = resolveType(targ);
    if (!(l.kind === t.kind || (isEnum(l) && isEnum(t)))) return false;
    switch (l.kind) {
      case "void":
      case "struct":
      case "union":
      case "enum":
      case "enum64":
      case "fwd":
        return true;
      case "int":
        return l.bitsOffset === 0 && (t as { bitsOffset: number }).bitsOffset === 0;
      case "ptr":
        local = l.target;
        targ = (t as { target: BtfType }).target;
        continue;
      case "array":
        local = l.elem;
        targ = (t as BtfArray).elem;
        continue;
      case "func_proto": {
        const tp = t as typeof l;
        if (l.params.length !== tp.params.length) return false;
        for (let i = 0; i < l.params.length; i++) {
          if (level <= 0 || !typesCompat(l.params[i]!.type, tp.params[i]!.type, level - 1)) return false;
        }
        local = l.ret;
        targ = tp.ret;
        continue;
      }
      default:
        return false;
    }
  }
  return false;
}

/** bpf_core_match_member(): finds the local member's name in `targ`, through anonymous members. */
function matchMember(localAcc: Accessor, targ: BtfType, spec: Spec): { found: boolean; next?: BtfType } {
  const t = resolveType(targ);
  if (!isComposite(t)) return { found: false };
  const lm = (localAcc.type as BtfComposite).members[localAcc.idx]!;
  for (let i = 0; i < t.members.length; i++) {
    const m = t.members[i]!;
    if (spec.raw.length === SPEC_MAX_LEN) bad("struct nesting too deep");
    spec.bitOffset += m.bitOffset;
    spec.raw.push(i);
    if (m.name === "") {
      const r = matchMember(localAcc, m.type, spec);
      if (r.found) return r;
    } else if (m.name === lm.name) {
      if (!fieldsCompat(lm.type, m.type)) return { found: false };
      spec.acc.push({ type: t, idx: i, name: m.name });
      return { found: true, next: m.type };
    }
    spec.bitOffset -= m.bitOffset;
    spec.raw.pop();
  }
  return { found: false };
}

/** bpf_core_spec_match(): the target spec for candidate `cand`, or undefined when it does not match. */
function matchSpec(local: Spec, kind: CoreReloKind, cand: BtfType): Spec | undefined {
  const spec: Spec = { root: cand, acc: [], raw: [], bitOffset: 0 };
  if (isTypeKind(kind)) return typesCompat(local.root, cand) ? spec : undefined;
  const la = local.acc[0]!;
  if (isEnumKind(kind)) {
    const t = resolveType(cand);
    if (t.kind !== "enum" && t.kind !== "enum64") return undefined;
    const want = essentialName(la.name!);
    const i = (t.values as readonly { name: string }[]).findIndex((v) => essentialName(v.name) === want);
    if (i < 0) return undefined;
    spec.acc.push({ type: t, idx: i, name: t.values[i]!.name });
    spec.raw.push(i);
    return spec;
  }
  let targ: BtfType = cand;
  for (let i = 0; i < local.acc.length; i++) {
    const a = local.acc[i]!;
    let t = resolveType(targ);
    if (a.name !== undefined) {
      const r = matchMember(a, t, spec);
      if (!r.found) return undefined;
      targ = r.next!;
      continue;
    }
    if (i > 0) {
      if (t.kind !== "array") return undefined;
      if (!isFlexArray(spec.acc[spec.acc.length - 1], t) && a.idx >= t.nelems) return undefined;
      t = resolveType(t.elem);
    }
    if (spec.raw.length === SPEC_MAX_LEN) bad("struct nesting too deep");
    spec.acc.push({ type: t, idx: a.idx });
    spec.raw.push(a.idx);
    spec.bitOffset += a.idx * sizeOf(t) * 8;
    targ = t;
  }
  return spec;
}

interface Calc {
  value: bigint;
  poison: boolean;
  validate: boolean;
  /** Field relocations: the accessed field's size and type (for load/store size adjustment). */
  size: number;
  type?: BtfType;
}

/** The innermost non-array element of a type (its size is the load size). */
function innermost(t: BtfType): BtfType {
  let c = resolveType(t);
  while (c.kind === "array") c = resolveType(c.elem);
  return c;
}

function calcField(kind: CoreReloKind, spec: Spec | undefined, order: ByteOrder): Calc {
  const r: Calc = { value: 0n, poison: false, validate: true, size: 0 };
  if (kind === "field_exists") {
    r.value = spec === undefined ? 0n : 1n;
    return r;
  }
  if (spec === undefined) return { ...r, poison: true };
  const acc = spec.acc[spec.acc.length - 1]!;
  if (acc.name === undefined) {
    if (kind === "field_byte_offset") {
      r.value = BigInt(spec.bitOffset / 8);
      r.type = innermost(acc.type);
      r.size = sizeOf(r.type);
    } else if (kind === "field_byte_size") {
      r.value = BigInt(sizeOf(acc.type));
    } else {
      bad(`${kind} can't be applied to an array access`);
    }
    return r;
  }
  const s = acc.type as BtfComposite;
  const m = s.members[acc.idx]!;
  const mt = resolveType(m.type);
  const bitOff = spec.bitOffset;
  let bitSz = m.bitfieldSize;
  const bitfield = bitSz > 0;
  let byteSz: number;
  let byteOff: number;
  if (bitfield) {
    byteSz = (mt as { size: number }).size;
    byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    while (bitOff + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8) bad("bitfield can't be read with a 64-bit load");
      byteSz *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    }
  } else {
    byteSz = sizeOf(mt);
    byteOff = bitOff / 8;
    bitSz = byteSz * 8;
  }
  r.validate = !bitfield;
  switch (kind) {
    case "field_byte_offset":
      r.value = BigInt(byteOff);
      if (!bitfield) {
        r.type = innermost(m.type);
        r.size = sizeOf(r.type);
      }
      break;
    case "field_byte_size":
      r.value = BigInt(byteSz);
      break;
    case "field_signed":
      r.value = (isEnum(mt) && (mt as { signed: boolean }).signed) || (mt.kind === "int" && mt.encoding === "signed") ? 1n : 0n;
      r.validate = true;
      break;
    case "field_lshift_u64":
      r.value = BigInt(order === "little" ? 64 - (bitOff + bitSz - byteOff * 8) : (8 - byteSz) * 8 + (bitOff - byteOff * 8));
      break;
    case "field_rshift_u64":
      r.value = BigInt(64 - bitSz);
      r.validate = true;
      break;
    default:
      bad(`unexpected relocation kind ${kind}`);
  }
  return r;
}

function calc(kind: CoreReloKind, local: Spec, targ: Spec | undefined, order: ByteOrder): { orig: Calc; next: Calc; failMemsz: boolean } {
  if (isFieldKind(kind)) {
    const orig = calcField(kind, local, order);
    const next = calcField(kind, targ, order);
    let failMemsz = false;
    if (!next.poison && orig.size !== next.size && orig.type !== undefined && next.type !== undefined) {
      const o = orig.type;
      const n = next.type;
      const unsignedInts = o.kind === "int" && n.kind === "int" && o.encoding !== "signed" && n.encoding !== "signed";
      failMemsz = !((o.kind === "ptr" && n.kind === "ptr") || unsignedInts);
    }
    return { orig, next, failMemsz };
  }
  const one = (s: Spec | undefined): Calc => {
    const r: Calc = { value: 0n, poison: false, validate: true, size: 0 };
    if (isTypeKind(kind)) {
      if (s === undefined) return r;
      if (kind === "type_id_target") {
        r.value = BigInt(s.root.id);
        r.validate = false;
      } else if (kind === "type_size") r.value = BigInt(sizeOf(s.root));
      else r.value = 1n; // type_exists, type_matches
      return r;
    }
    if (kind === "enumval_exists") {
      r.value = s === undefined ? 0n : 1n;
      return r;
    }
    if (s === undefined) return { ...r, poison: true };
    const e = s.acc[0]!;
    const t = e.type as { values: readonly { value: number | bigint }[]; kind: string };
    const v = t.values[e.idx]!.value;
    // btf_enum.val is an s32: libbpf sign-extends it to the u64 value.
    r.value = BigInt.asUintN(64, t.kind === "enum" ? BigInt((v as number) | 0) : BigInt(v));
    return r;
  };
  return { orig: one(local), next: one(targ), failMemsz: false };
}

/** bpf_core_calc_relo_insn(): the local and target values of one relocation. */
export function computeCoreRelo(r: CoreRelocation, target: Btf, order: ByteOrder = target.byteOrder): Omit<CoreResult, "pc"> & { validate: boolean; failMemsz: boolean; origSize: number; newSize: number } {
  const local = parseSpec(r);
  if (r.kind === "type_id_local") {
    const id = BigInt(r.type.id);
    return { kind: r.kind, local: id, target: id, poisoned: false, validate: false, failMemsz: false, origSize: 0, newSize: 0 };
  }
  const name = r.type.name;
  if (name === "") bad(`${r.kind} relocations on anonymous types are not supported`);
  const want = essentialName(name);
  const root = r.type;
  let best: { spec: Spec; res: ReturnType<typeof calc> } | undefined;
  for (const cand of target.types) {
    if (!(cand.kind === root.kind || (isEnum(cand) && isEnum(root))) || cand.name === "" || essentialName(cand.name) !== want) continue;
    const spec = matchSpec(local, r.kind, cand);
    if (spec === undefined) continue;
    const res = calc(r.kind, local, spec, order);
    if (best === undefined) best = { spec, res };
    else if (spec.bitOffset !== best.spec.bitOffset) bad(`field offset ambiguity: ${spec.bitOffset} != ${best.spec.bitOffset}`);
    else if (res.next.poison !== best.res.next.poison || res.next.value !== best.res.next.value) bad(`relocation decision ambiguity between candidates [${best.spec.root.id}] and [${cand.id}]`);
  }
  const res = best?.res ?? calc(r.kind, local, undefined, order);
  return {
    kind: r.kind,
    local: res.orig.value,
    target: res.next.value,
    poisoned: res.next.poison,
    ...(best !== undefined ? { candidate: best.spec.root } : {}),
    validate: res.orig.validate,
    failMemsz: res.failMemsz,
    origSize: res.orig.size,
    newSize: res.next.size,
  };
}

const poisonAt = (pc: number): Insn => ({ kind: "call", pc, target: "helper", imm: CORE_POISON_IMM });

/**
 * Applies every relocation to a copy of `insns` (bpf_core_patch_insn()).
 * Throws a BtfError naming the relocation and instruction when a relocation
 * cannot be applied (ambiguous candidates, an instruction that does not hold
 * the local value, an unpatchable instruction).
 */
export function applyCoreRelos(
  insns: readonly Insn[],
  relos: readonly CoreRelocation[],
  target: Btf,
  opts: { byteOrder?: ByteOrder } = {},
): { insns: Insn[]; results: CoreResult[] } {
  const out: Insn[] = insns.map((i) => ({ ...i }));
  const byPc = new Map(out.map((i, n) => [i.pc, n] as const));
  const results: CoreResult[] = [];
  relos.forEach((r, n) => {
    const where = `CO-RE relocation #${n} (${r.kind} on [${r.type.id}] ${r.type.name} ${r.accessStr}) at insn ${r.pc}`;
    try {
      const res = computeCoreRelo(r, target, opts.byteOrder ?? target.byteOrder);
      const idx = byPc.get(r.pc);
      if (idx === undefined) bad("no instruction starts there");
      const insn = out[idx!]!;
      results.push({ pc: r.pc, kind: res.kind, local: res.local, target: res.target, poisoned: res.poisoned, ...(res.candidate !== undefined ? { candidate: res.candidate } : {}) });
      const poison = (): void => {
        if (insn.kind === "ld_imm64") out.splice(idx!, 1, poisonAt(r.pc), poisonAt(r.pc + 1));
        else out[idx!] = poisonAt(r.pc);
        byPc.clear();
        out.forEach((x, k) => byPc.set(x.pc, k));
      };
      if (res.poisoned) return poison();
      const u32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
      switch (insn.kind) {
        case "alu": {
          const src = insn.src;
          if (src.kind !== "imm") return bad("ALU instruction has a register operand");
          // libbpf compares the s32 imm, sign-extended, with the u64 local value.
          if (res.validate && BigInt.asUintN(64, BigInt(src.imm)) !== res.local) bad(`unexpected ALU imm ${src.imm}, expected ${res.local}`);
          out[idx!] = { ...insn, src: { kind: "imm", imm: u32(res.target) } };
          return undefined;
        }
        case "ldx":
        case "st":
        case "stx":
        case "atomic": {
          if (res.validate && BigInt(insn.off) !== res.local) bad(`unexpected offset ${insn.off}, expected ${res.local}`);
          if (res.target > 0x7fffn) bad(`offset ${res.target} is too big`);
          if (res.failMemsz) return poison();
          let size = insn.size as number;
          if (res.newSize !== res.origSize) {
            if (size !== res.origSize) bad(`unexpected access size ${size}, expected ${res.origSize}`);
            if (![1, 2, 4, 8].includes(res.newSize) || (insn.kind === "atomic" && res.newSize < 4)) bad(`invalid new access size ${res.newSize}`);
            size = res.newSize;
          }
          out[idx!] = { ...insn, off: Number(res.target), size } as Insn;
          return undefined;
        }
        case "ld_imm64": {
          if (insn.pseudo !== "imm") bad(`ld_imm64 has src_reg ${insn.pseudo}`);
          if (res.validate && insn.value !== res.local) bad(`unexpected ld_imm64 value ${insn.value}, expected ${res.local}`);
          const v = BigInt.asUintN(64, res.target);
          out[idx!] = { ...insn, imm: u32(v), imm2: u32(v >> 32n), value: v };
          return undefined;
        }
        default:
          return bad(`can't relocate a ${insn.kind} instruction`);
      }
    } catch (e) {
      if (e instanceof CoreError) throw new BtfError(`${where}: ${e.message}`, { typeId: r.type.id });
      if (e instanceof BtfError) throw new BtfError(`${where}: ${e.message}`, { typeId: r.type.id }, { cause: e });
      throw e;
    }
  });
  return { insns: out, results };
}
