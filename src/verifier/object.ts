/**
 * VerifierInput for a program of an ObjectSpec (src/elf): its maps by index (with
 * the frozen .rodata contents, whose loads the verifier knows as constants), line
 * info for messages, license and expected attach type.
 */
import type { ObjectSpec, ProgramSpecIn } from "../elf/index.js";
import { parseMapType, type MapSpec } from "../maps/index.js";
import type { VerifierInput } from "./index.js";

function mapSpecOf(m: ObjectSpec["maps"][number]): MapSpec {
  const spec: MapSpec = { name: m.name, type: parseMapType(m.type) ?? "BPF_MAP_TYPE_UNSPEC", keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags };
  if (m.innerMap !== undefined) spec.innerMap = mapSpecOf(m.innerMap);
  if (m.spinLockOffset !== undefined) spec.spinLockOffset = m.spinLockOffset;
  if (m.mapExtra !== undefined) spec.mapExtra = Number(m.mapExtra);
  return spec;
}

export function verifierInputFor(spec: ObjectSpec, prog: ProgramSpecIn, opts: Partial<Pick<VerifierInput, "privileged" | "logLevel">> = {}): VerifierInput {
  const maps = spec.maps.map((m, index) => {
    const first = m.contents?.[0];
    const frozen = m.kind === "rodata" && first !== undefined && "value" in first ? first.value : undefined;
    return { index, spec: mapSpecOf(m), name: m.name, ...(frozen !== undefined ? { frozenValue: frozen } : {}) };
  });
  return {
    insns: prog.insns,
    progType: prog.type,
    maps,
    lineInfo: prog.lineInfo,
    funcInfo: prog.funcInfo,
    license: prog.license,
    ...(prog.expectedAttachType !== undefined ? { expectedAttachType: prog.expectedAttachType } : {}),
    ...(opts.privileged !== undefined ? { privileged: opts.privileged } : {}),
    ...(opts.logLevel !== undefined ? { logLevel: opts.logLevel } : {}),
  };
}
