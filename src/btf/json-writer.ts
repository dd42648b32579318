/**
 * bpftool's streaming JSON writer (tools/bpf/bpftool/json_writer.c), reproduced
 * so that our output is byte-identical: the same comma and newline placement in
 * pretty mode (a newline before every property name and closing bracket, none
 * before array elements), four-space indents, and the same string escaping —
 * including its quirks (a backslash is written as "\n", a single quote as "\'").
 * Text accumulates in `out`; `destroy()` adds the final newline as jsonw_destroy() does.
 */

export class JsonWriter {
  out = "";
  pretty: boolean;
  private depth = 0;
  private sep = ""; // "" or ","

  constructor(opts: { pretty?: boolean } = {}) {
    this.pretty = opts.pretty ?? false;
  }

  private indent(): void {
    this.out += "    ".repeat(this.depth);
  }
  private eol(): void {
    if (!this.pretty) return;
    this.out += "\n";
    this.indent();
  }
  private eor(): void {
    if (this.sep !== "") this.out += this.sep;
    this.sep = ",";
  }
  private puts(s: string): void {
    let o = '"';
    for (const ch of s) {
      switch (ch) {
        case "\t":
          o += "\\t";
          break;
        case "\n":
          o += "\\n";
          break;
        case "\r":
          o += "\\r";
          break;
        case "\f":
          o += "\\f";
          break;
        case "\b":
          o += "\\b";
          break;
        case "\\":
          o += "\\n"; // sic: json_writer.c writes "\\n" for a backslash
          break;
        case '"':
          o += '\\"';
          break;
        case "'":
          o += "\\'";
          break;
        default:
          o += ch;
      }
    }
    this.out += o + '"';
  }
  private begin(c: string): void {
    this.eor();
    this.out += c;
    this.depth++;
    this.sep = "";
  }
  private end(c: string): void {
    this.depth--;
    if (this.sep !== "") this.eol();
    this.out += c;
    this.sep = ",";
  }

  startObject(): void {
    this.begin("{");
  }
  endObject(): void {
    this.end("}");
  }
  startArray(): void {
    this.begin("[");
  }
  endArray(): void {
    this.end("]");
  }
  name(n: string): void {
    this.eor();
    this.eol();
    this.sep = "";
    this.puts(n);
    this.out += this.pretty ? ": " : ":";
  }
  /** jsonw_printf: a pre-formatted value, written verbatim. */
  raw(text: string): void {
    this.eor();
    this.out += text;
  }
  string(v: string): void {
    this.eor();
    this.puts(v);
  }
  bool(v: boolean): void {
    this.raw(v ? "true" : "false");
  }
  null(): void {
    this.raw("null");
  }
  uint(v: number | bigint): void {
    this.raw(String(v));
  }
  int(v: number | bigint): void {
    this.raw(String(v));
  }
  stringField(n: string, v: string): void {
    this.name(n);
    this.string(v);
  }
  uintField(n: string, v: number | bigint): void {
    this.name(n);
    this.uint(v);
  }
  intField(n: string, v: number | bigint): void {
    this.name(n);
    this.int(v);
  }
  boolField(n: string, v: boolean): void {
    this.name(n);
    this.bool(v);
  }
  /** jsonw_destroy(): the closing newline. */
  destroy(): string {
    this.out += "\n";
    return this.out;
  }
}
