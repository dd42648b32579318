#!/usr/bin/env node
// Executable for the bpf_conformance runner's --plugin_path: the runner passes the
// input memory as hex and the --plugin_options words as argv, and the program on stdin.
import { main } from "../dist/cli/main.js";
main(["plugin", ...process.argv.slice(2)]).then((code) => { process.exitCode = code; });
