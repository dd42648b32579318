// Preloaded into every test process by run-tests.js: fast-check properties run from
// one fixed seed, so a CI run is repeatable and a failure can be replayed. Set
// TSBPF_FUZZ_SEED to another integer to explore elsewhere, or to "random" for a fresh
// seed per property (fast-check prints the seed and path of any counterexample).
import fc from "fast-check";

const env = process.env.TSBPF_FUZZ_SEED;
if (env !== "random") {
  const seed = env === undefined || env === "" ? 0x7b5bf : Number(env);
  if (!Number.isInteger(seed)) throw new Error(`TSBPF_FUZZ_SEED must be an integer or "random", not ${JSON.stringify(env)}`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}
