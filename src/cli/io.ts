/** The CLI's window on the host: output streams and files, injectable so tests can run commands in-process. */
import { readFileSync, writeFileSync } from "node:fs";

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readFile(path: string): Uint8Array;
  writeFile(path: string, data: Uint8Array | string): void;
  readStdin(): Promise<string>;
  /** Whether stdout is a terminal (colours, progress). */
  readonly isTty: boolean;
}

// A closed pipe (`tsbpf disasm x.o | head`) is not an error of ours: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
}

export const nodeIo: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  readFile: (p) => new Uint8Array(readFileSync(p)),
  writeFile: (p, d) => writeFileSync(p, d),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
  isTty: process.stdout.isTTY === true,
};

/** Reads a file, turning a missing or unreadable file into a usage error with the path. */
export function readInput(io: CliIo, path: string, what: string): Uint8Array {
  try {
    return io.readFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new CliFailure(`cannot read ${what} '${path}': ${code === "ENOENT" ? "no such file" : e instanceof Error ? e.message : String(e)}`);
  }
}

/** An expected failure: printed as `tsbpf: <message>` without a stack trace, exit status 1. */
export class CliFailure extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}
