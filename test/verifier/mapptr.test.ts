/**
 * Loads through a map pointer (check_ptr_to_map_access, src/verifier/mapptr.ts):
 * the verifier's struct bpf_map / bpf_array walk, and the runtime's map header
 * holding those fields at the kernel's offsets, so that what the verifier accepts
 * reads mapped memory with the kernel's values, on the interpreter and the JIT.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Insn } from "../../src/isa/index.js";
import { Runtime } from "../../src/runtime/index.js";
import type { MapSpec } from "../../src/maps/index.js";
import { verifyProgram } from "../../src/verifier/index.js";

const ARRAY: MapSpec = { name: "arr", type: "BPF_MAP_TYPE_ARRAY", keySize: 4, valueSize: 12, maxEntries: 5, flags: 0 };
const HASH: MapSpec = { name: "h", type: "BPF_MAP_TYPE_HASH", keySize: 4, valueSize: 8, maxEntries: 7, flags: 0 };

/** r1 = map; r0 = *(uSIZE *)(r1 + off); exit */
function prog(address: number, off: number, size: 1 | 2 | 4 | 8 = 4): Insn[] {
  return [
    { kind: "ld_imm64", pc: 0, dst: 1, pseudo: "imm", imm: address, imm2: 0, value: BigInt(address) },
    { kind: "ldx", pc: 2, dst: 0, src: 1, off, size, signed: false },
    { kind: "exit", pc: 3 },
  ] as Insn[];
}

function verify(rt: Runtime, spec: MapSpec, off: number, size: 1 | 2 | 4 | 8 = 4, privileged = true) {
  const map = rt.createMap(spec);
  const insns = prog(map.address, off, size);
  const r = verifyProgram({ insns, progType: "xdp", privileged, maps: [{ index: 0, name: spec.name, spec, address: map.address }] });
  return { r, insns };
}

test("map pointer: reads of struct bpf_array fields give the map's values on both engines", () => {
  const cases: Array<[number, 1 | 2 | 4 | 8, bigint]> = [
    [64, 4, 2n], // map_type BPF_MAP_TYPE_ARRAY
    [68, 4, 4n], // key_size
    [72, 4, 12n], // value_size
    [76, 4, 5n], // max_entries
    [296, 4, 16n], // elem_size = round_up(12, 8)
    [300, 4, 7n], // index_mask for 5 entries
    [136, 1, BigInt("a".charCodeAt(0))], // name[0]
  ];
  for (const [off, size, want] of cases) {
    const rt = new Runtime();
    const { r, insns } = verify(rt, ARRAY, off, size);
    assert.ok(r.accepted, `off ${off}: ${r.log.slice(-2).join(" / ")}`);
    for (const engine of ["interp", "jit"] as const) {
      const p = rt.loadProgram({ name: "m", type: "xdp", insns, engine, verified: true });
      assert.equal(BigInt(p.testRun({ dataIn: new Uint8Array(64) }).retval), want, `off ${off} on ${engine}`);
    }
  }
});

test("map pointer: the kernel's refusals", () => {
  const rt = new Runtime();
  const msg = (spec: MapSpec, off: number, size: 1 | 2 | 4 | 8 = 4, priv = true): string => {
    const { r } = verify(rt, spec, off, size, priv);
    assert.ok(!r.accepted, `off ${off} accepted`);
    return r.error!.message;
  };
  assert.match(msg(ARRAY, 0, 4, false), /'struct bpf_array' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN/);
  assert.match(msg(HASH, 76, 4, false), /'struct bpf_htab' access is allowed only to CAP_PERFMON/);
  assert.match(msg(ARRAY, 36), /struct bpf_map doesn't have field at offset 36/);
  assert.match(msg(ARRAY, 76, 8), /access beyond the end of member max_entries \(mend:80\) in struct bpf_map with off 76 size 8/);
  assert.match(msg(ARRAY, 312), /access beyond struct bpf_array at off 312 size 4/);
  assert.match(msg(ARRAY, 44, 4), /cannot access ptr member ops with moff 40 in struct bpf_map with off 44 size 4/);
  assert.match(msg(HASH, 300), /only the struct bpf_map part of struct bpf_htab/);
  // The hash map's struct bpf_map part is readable.
  assert.ok(verify(rt, HASH, 76).r.accepted);
});
