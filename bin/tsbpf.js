#!/usr/bin/env node
// The installed `tsbpf` command: runs the compiled CLI (npm ci / npm install build it through `prepare`).
import { main } from "../dist/cli/main.js";
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
