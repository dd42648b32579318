// Loading through the runtime verifies by default, as BPF_PROG_LOAD does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadCollectionSpec } from "../../src/elf/index.js";
import { Runtime, loadCollection } from "../../src/runtime/index.js";
import { VerifierError } from "../../src/verifier/index.js";
import { REPO_ROOT } from "../support/paths.js";

const fixture = (name: string) => loadCollectionSpec(new Uint8Array(readFileSync(join(REPO_ROOT, "test", "fixtures", "runtime", `${name}.bpf.o`))), { name });

test("a program the verifier rejects does not load; verify: false loads it for checked-mode runs", () => {
  const spec = fixture("reject_retcode");
  assert.throws(() => loadCollection(new Runtime(), spec), (e: unknown) => e instanceof VerifierError && /At program exit the register R0 has/.test(e.log.join("\n")));
  const col = loadCollection(new Runtime(), spec, { verify: false });
  assert.ok(col.programs.size > 0);
  assert.equal(col.verifier.size, 0);
  col.close();
});

test("accepted programs carry the verifier's statistics", () => {
  const col = loadCollection(new Runtime(), fixture("array_basic"));
  const [name] = [...col.programs.keys()];
  const v = col.verifier.get(name!);
  assert.ok(v?.accepted);
  assert.ok(v!.stats.processed > 0);
  col.close();
});
