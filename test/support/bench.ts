/** The shared bench objects, packets and deny list (../shared/bench), for runtime tests and the bench. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SHARED_DIR } from "./paths.js";

export const BENCH_DIR = join(SHARED_DIR, "bench");
export const benchObject = (name: string): Uint8Array => new Uint8Array(readFileSync(join(BENCH_DIR, "obj", `${name}.o`)));
export const benchPacket = (name: "tcp64" | "udp512"): Uint8Array => new Uint8Array(readFileSync(join(BENCH_DIR, "pkt", `${name}.bin`)));

/** lpm_deny.txt as LPM trie keys ({u32 prefixlen LE; 4 address bytes}) and u32 values. */
export function denyList(): Array<{ key: Uint8Array; value: Uint8Array }> {
  const out: Array<{ key: Uint8Array; value: Uint8Array }> = [];
  for (const line of readFileSync(join(BENCH_DIR, "lpm_deny.txt"), "utf8").split("\n")) {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)\s+(\d+)/.exec(line.trim());
    if (m === null) continue;
    const key = new Uint8Array(8);
    new DataView(key.buffer).setUint32(0, Number(m[5]), true);
    key.set([Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])], 4);
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, Number(m[6]), true);
    out.push({ key, value });
  }
  return out;
}
