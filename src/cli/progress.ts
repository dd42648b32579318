/** A minimal progress bar on stderr: `[#####-----]  42%  label`, redrawn at most ten times a second. */
export class Progress {
  private last = 0;
  private shown = false;
  constructor(private readonly write: (s: string) => void) {}

  update(fraction: number, label: string): void {
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    const frac = Math.min(1, Math.max(0, fraction));
    const width = 30;
    const full = Math.round(frac * width);
    this.write(`\r[${"#".repeat(full)}${"-".repeat(width - full)}] ${String(Math.floor(frac * 100)).padStart(3)}%  ${label}`);
    this.shown = true;
  }

  /** Erases the bar. */
  done(): void {
    if (this.shown) this.write("\r\x1b[K");
  }
}
