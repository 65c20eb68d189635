/** Progress of one epoch: a redrawn bar on a terminal, a plain line every tenth otherwise (logs, CI). */
export class Progress {
  private readonly start = performance.now();
  private lastLine = -1;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.tty = Boolean(out.isTTY) && !process.env.CI;
  }

  /** `done` images so far; `loss` the running mean loss. */
  update(done: number, loss: number): void {
    const seconds = (performance.now() - this.start) / 1000;
    const rate = done / Math.max(seconds, 1e-9);
    const eta = (this.total - done) / Math.max(rate, 1e-9);
    const stats = `${done}/${this.total}  ${Math.round(rate)} img/s  ETA ${formatDuration(eta)}  loss ${loss.toFixed(4)}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round((width * done) / this.total);
      this.out.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${stats}\x1b[K`);
      return;
    }
    const tenth = Math.floor((10 * done) / this.total);
    if (tenth > this.lastLine && tenth < 10) {
      this.lastLine = tenth;
      if (tenth > 0) this.out.write(`${this.label} ${stats}\n`);
    }
  }

  /** Ends the bar; returns the epoch's seconds. */
  finish(): number {
    if (this.tty) this.out.write('\r\x1b[K');
    return (performance.now() - this.start) / 1000;
  }
}

/** 75 -> '1:15', 3725 -> '1:02:05'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}
