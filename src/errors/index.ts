/**
 * The error hierarchy of tsbpf. Every error the library raises on bad input is a
 * TsbpfError with a stable `code`, so callers (and tests) branch on fields, not on
 * message text. Subclasses carry where the problem is: an instruction index, a
 * source line and column, a byte offset.
 */

export type TsbpfErrorCode =
  | "EDECODE" // bytes that are not a valid instruction
  | "EENCODE" // an instruction that cannot be encoded
  | "EASM" // assembler input that does not parse
  | "EELF" // malformed ELF object
  | "EBTF" // malformed BTF or BTF.ext, or a type that does not fit its use
  | "EFAULT" // a program fault at run time (checked mode)
  | "EMAP" // a map operation or map definition the kernel would refuse (see MapError.errno)
  | "EPCAP" // malformed pcap / pcapng capture
  | "ECBPF" // a classic BPF program that does not parse or that the checker rejects
  | "EVERIFY" // a program the verifier rejects (see VerifierError in src/verifier)
  | "EUSAGE"; // bad command-line or API usage

export class TsbpfError extends Error {
  readonly code: TsbpfErrorCode;
  constructor(code: TsbpfErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An invalid instruction encoding, at slot index `pc`. */
export class DecodeError extends TsbpfError {
  readonly pc: number;
  constructor(pc: number, reason: string) {
    super("EDECODE", `insn ${pc}: ${reason}`);
    this.pc = pc;
  }
}

export class EncodeError extends TsbpfError {
  constructor(reason: string) {
    super("EENCODE", reason);
  }
}

/** Assembler error: 1-based line and column of the offending text. */
export class AsmError extends TsbpfError {
  readonly line: number;
  readonly column: number;
  constructor(line: number, column: number, reason: string, sourceLine?: string) {
    const caret = sourceLine === undefined ? "" : `\n  ${sourceLine}\n  ${" ".repeat(Math.max(0, column - 1))}^`;
    super("EASM", `${line}:${column}: ${reason}${caret}`);
    this.line = line;
    this.column = column;
  }
}

export class ElfError extends TsbpfError {
  readonly offset: number | undefined;
  constructor(reason: string, offset?: number) {
    super("EELF", offset === undefined ? reason : `${reason} (at byte offset ${offset})`);
    this.offset = offset;
  }
}

/** Malformed capture file: `offset` is the absolute byte offset, `record` the 0-based packet record number. */
export class PcapError extends TsbpfError {
  readonly offset: number;
  readonly record: number;
  constructor(reason: string, offset: number, record: number) {
    super("EPCAP", `${reason} (at byte offset ${offset}, record ${record})`);
    this.offset = offset;
    this.record = record;
  }
}

/**
 * A classic BPF program that does not parse (`line` set) or that a checker rejects
 * (`pc` set: the instruction index; `reason` a stable tag such as "jump_out_of_range").
 */
export class CbpfError extends TsbpfError {
  readonly reason: string;
  readonly pc: number | undefined;
  readonly line: number | undefined;
  constructor(reason: string, message: string, where: { pc?: number; line?: number } = {}) {
    const at = where.pc !== undefined ? `insn ${where.pc}: ` : where.line !== undefined ? `line ${where.line}: ` : "";
    super("ECBPF", at + message);
    this.reason = reason;
    this.pc = where.pc;
    this.line = where.line;
  }
}

/**
 * Malformed BTF / BTF.ext, or a BTF type unfit for its use (a map key that has no size).
 * `typeId` names the offending type when there is one, `offset` the byte offset inside
 * the .BTF / .BTF.ext data.
 */
export class BtfError extends TsbpfError {
  readonly typeId: number | undefined;
  readonly offset: number | undefined;
  constructor(reason: string, where: { typeId?: number; offset?: number } = {}, options?: { cause?: unknown }) {
    const at = where.typeId !== undefined ? `type [${where.typeId}]: ` : "";
    const off = where.offset !== undefined ? ` (at byte offset ${where.offset})` : "";
    super("EBTF", `${at}${reason}${off}`, options);
    this.typeId = where.typeId;
    this.offset = where.offset;
  }
}

export class UsageError extends TsbpfError {
  constructor(message: string) {
    super("EUSAGE", message);
  }
}

export function assertNever(x: never, what = "value"): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(x)}`);
}
