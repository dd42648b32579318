// bpftool-style commands over object files and pins: prog show/dump/run, map
// dump/lookup/update/delete, btf dump, feature.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { main } from "../../src/cli/main.js";
import { nodeIo, type CliIo } from "../../src/cli/io.js";
import { BENCH_DIR } from "../support/bench.js";
import { missing } from "../support/paths.js";

async function cli(args: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { ...nodeIo, out: (t) => void (out += t), err: (t) => void (err += t), isTty: false };
  return { status: await main(args, io), out, err };
}

const skip = missing(BENCH_DIR, "TSBPF_SHARED");
const obj = (n: string) => join(BENCH_DIR, "obj", `${n}.o`);
const pkt = (n: string) => join(BENCH_DIR, "pkt", `${n}.bin`);

test("prog show lists programs with type, section, size and map ids", { skip }, async () => {
  const r = await cli(["prog", "show", obj("lpm_filter")]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^1: xdp {2}name lpm_filter {2}gpl\n\tsection xdp {2}xlated 608B {2}insns 76 {2}map_ids \d+,\d+\n$/);
});

test("prog run prints retval and duration like bpftool, and dumps maps", { skip }, async () => {
  const r = await cli(["prog", "run", obj("flow_count"), "--data-in", pkt("udp512"), "--repeat", "3", "--dump-map", "flows", "-j"]);
  assert.equal(r.status, 0, r.err);
  const lines = r.out.trim().split("\n");
  assert.equal(JSON.parse(lines[0]!).retval, 2);
  const dump = JSON.parse(lines.slice(1).join("\n")) as Array<{ formatted: { value: { packets: number; bytes: number } } }>;
  assert.deepEqual(dump[0]!.formatted.value, { packets: 3, bytes: 1536 });
  const plain = await cli(["prog", "run", obj("csum_pkt"), "--data-in", pkt("tcp64")]);
  assert.match(plain.out, /^Return value: 28552, duration: \d+ns\n$/);
  const jit = await cli(["prog", "run", obj("csum_pkt"), "--data-in", pkt("udp512"), "--engine", "jit", "--repeat", "10"]);
  assert.match(jit.out, /^Return value: 1519, duration \(average\): \d+ns\n$/);
});

test("map updates before a run, pins written with rename and loaded back", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-pin-"));
  let r = await cli(["prog", "run", obj("lpm_filter"), "--data-in", pkt("udp512"), "--map-update", "deny_v4 key 24 0 0 0 10 1 2 0 value 3 0 0 0", "--pin-maps", dir]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^Return value: 1,/);
  assert.ok(existsSync(join(dir, "deny_v4")));
  assert.ok(!readdirSync(dir).some((f) => f.includes(".tmp")));
  // The pinned trie still drops the packet in a later run; the per-CPU counter keeps counting.
  r = await cli(["prog", "run", obj("lpm_filter"), "--data-in", pkt("udp512"), "--maps", dir, "--pin-maps", dir]);
  assert.match(r.out, /^Return value: 1,/);
  r = await cli(["map", "dump", join(dir, "verdicts"), "-j"]);
  assert.equal(r.status, 0, r.err);
  const slot1 = (JSON.parse(r.out) as Array<{ key: string[]; values: Array<{ cpu: number; value: string[] }> }>).find((e) => e.key[0] === "0x01")!;
  assert.equal(slot1.values[0]!.value[0], "0x02");
  // update and delete on a pin rewrite it
  r = await cli(["map", "delete", join(dir, "deny_v4"), "key", "24", "0", "0", "0", "10", "1", "2", "0"]);
  assert.equal(r.status, 0, r.err);
  r = await cli(["prog", "run", obj("lpm_filter"), "--data-in", pkt("udp512"), "--maps", dir]);
  assert.match(r.out, /^Return value: 2,/);
  r = await cli(["map", "lookup", join(dir, "deny_v4"), "key", "24", "0", "0", "0", "10", "1", "2", "0"]);
  assert.equal(r.status, 1);
});

test("map dump of an object's initial map, btf dump, prog dump with source lines", { skip }, async () => {
  let r = await cli(["map", "dump", obj("flow_count"), "flows"]);
  assert.equal(r.status, 0, r.err);
  assert.equal(r.out, "[]\n");
  r = await cli(["btf", "dump", obj("flow_count")]);
  assert.match(r.out, /^\[1\] /);
  assert.match(r.out, /STRUCT 'flow_key' size=16 vlen=6/);
  r = await cli(["prog", "dump", obj("flow_count")]);
  assert.match(r.out, /^; .*ctx->data_end/m);
  assert.match(r.out, /call bpf_map_lookup_elem#1/);
  r = await cli(["prog", "run", obj("flow_count"), "nope"]);
  assert.equal(r.status, 1);
  assert.match(r.err, /no program 'nope'.*programs: flow_count/);
});

test("feature lists program types, map types and helpers", async () => {
  const r = await cli(["feature"]);
  assert.equal(r.status, 0);
  assert.match(r.out, /eBPF program_type xdp is available/);
  assert.match(r.out, /eBPF map_type lpm_trie is available/);
  assert.match(r.out, /\t- bpf_map_lookup_elem\n/);
  assert.match(r.out, /\d+ of \d+ kernel helpers implemented/);
});
