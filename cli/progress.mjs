// The poc command's progress on stderr: one self-overwriting bar on a terminal, plain lines
// otherwise (a log file, a CI job, a test reading them). Stages are weighted by their
// planned work, so the percentage moves about as the time does. Only display.

const WIDTH = 20;

export class Progress {
  #stream;
  #total;
  #done = 0;  // the units of the stages finished
  #stage = null;  // {label, units}
  #last = '';  // the last text shown (plain lines: only changes are printed)

  /** @param {NodeJS.WriteStream} stream @param {number} totalUnits the planned work of every stage */
  constructor(stream, totalUnits) {
    this.#stream = stream;
    this.#total = Math.max(totalUnits, 1);
  }

  /** Begins a stage of `units` planned work; the one before counts as done. */
  start(label, units) {
    if (this.#stage) this.#done += this.#stage.units;
    this.#stage = { label, units };
    this.update(0);
  }

  /** How far the current stage is (0 to 1), and what it is doing now. */
  update(fraction, detail = '') {
    const { label, units } = this.#stage;
    const share = Math.min((this.#done + units * Math.min(Math.max(fraction, 0), 1)) / this.#total, 1);
    const percent = `${Math.floor(100 * share)}%`.padStart(4);
    const text = detail ? `${label}, ${detail}` : label;
    if (this.#stream.isTTY) {
      const filled = Math.round(WIDTH * share);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${percent} ${text}`;
      this.#stream.write(`\r${line.slice(0, (this.#stream.columns || 100) - 1)}\x1b[K`);
    } else if (text !== this.#last) {
      this.#stream.write(`[${percent}] ${text}\n`);
    }
    this.#last = text;
  }

  /** Ends the bar's line (a terminal's next output starts on a line of its own). */
  end() {
    if (this.#stream.isTTY && this.#last) this.#stream.write('\n');
    this.#last = '';
  }
}
