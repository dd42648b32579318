/**
 * Fuzzing the loader with mutated fixtures (byte flips, truncations, and
 * overwrites of ELF header, section header, symbol, relocation and BTF fields
 * with edge values). The invariant, as in cilium/ebpf's fuzz targets: either a
 * spec comes back (and its BTF dumps), or a TsbpfError is thrown; never another
 * exception, never a hang. FUZZ_RUNS raises the number of runs per object.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatBtfDump } from "../../src/btf/index.js";
import { loadCollectionSpec } from "../../src/elf/index.js";
import { TsbpfError } from "../../src/errors/index.js";
import { benchObjectFiles, fixtureObjects, readBytes } from "../btf/objects.js";
import { fieldsOf, writeField } from "./mutate.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 120);
const TIME_LIMIT_MS = 2000;

type Mutation =
  | { readonly kind: "flip"; readonly at: number; readonly mask: number }
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "field"; readonly field: number; readonly value: bigint };

const EDGE = [0n, 1n, 2n, 7n, 8n, 0x7fn, 0xffn, 0xffffn, 0x7fffffffn, 0xffffffffn, 0x100000000n, 1n << 63n, (1n << 64n) - 1n];

function apply(bytes: Uint8Array, ms: readonly Mutation[], fields: ReturnType<typeof fieldsOf>): Uint8Array {
  let b = bytes;
  for (const m of ms) {
    if (m.kind === "flip") {
      b = b.slice();
      const i = m.at % b.length;
      b[i] = b[i]! ^ m.mask;
    } else if (m.kind === "truncate") {
      b = b.subarray(0, m.at % (b.length + 1));
    } else {
      const f = fields[m.field % fields.length]!;
      if (f.offset + f.width <= b.length) b = writeField(b, f, m.value, b[5] !== 2);
    }
    if (b.length === 0) break;
  }
  return b;
}

function check(bytes: Uint8Array): void {
  const start = Date.now();
  try {
    const spec = loadCollectionSpec(bytes);
    if (spec.btf !== undefined) formatBtfDump(spec.btf);
    for (const p of spec.programs) assert.ok(Array.isArray(p.insns));
  } catch (e) {
    if (!(e instanceof TsbpfError)) throw new Error(`not a TsbpfError: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
  }
  const ms = Date.now() - start;
  assert.ok(ms < TIME_LIMIT_MS, `took ${ms} ms`);
}

describe("loader fuzzing: any mutation loads or throws a TsbpfError", () => {
  for (const o of [...fixtureObjects(), ...benchObjectFiles()]) {
    it(o.name, () => {
      const bytes = readBytes(o.path);
      const fields = fieldsOf(bytes);
      const mutation: fc.Arbitrary<Mutation> = fc.oneof(
        fc.record({ kind: fc.constant("flip" as const), at: fc.integer({ min: 0, max: bytes.length - 1 }), mask: fc.integer({ min: 1, max: 255 }) }),
        fc.record({ kind: fc.constant("truncate" as const), at: fc.integer({ min: 0, max: bytes.length }) }),
        fc.record({
          kind: fc.constant("field" as const),
          field: fc.integer({ min: 0, max: fields.length - 1 }),
          value: fc.oneof(fc.constantFrom(...EDGE), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: 4096n })),
        }),
      );
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => check(apply(bytes, ms, fields))),
        { numRuns: RUNS },
      );
    });
  }
});
