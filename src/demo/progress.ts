import type { ArmName } from "./arm.js";

/** Where progress goes: a terminal gets a redrawn bar, anything else a few plain log lines. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

const BAR_WIDTH = 30;
/** Plain log lines at every tenth of an arm, so a CI log shows life without flooding. */
const LOG_STEPS = 10;

/** Returns an `onEpisode` callback that reports training progress to `stream`. */
export function createProgress(stream: ProgressStream): (arm: ArmName, done: number, total: number) => void {
  const tty = stream.isTTY === true;
  let lastDrawn = -1;
  return (arm, done, total) => {
    if (tty) {
      // Redraw at most once per percent: writing every episode costs more than the episode.
      const percent = Math.floor((done / total) * 100);
      if (percent === lastDrawn && done !== total) return;
      lastDrawn = percent;
      const filled = Math.round((done / total) * BAR_WIDTH);
      stream.write(`\r${arm.padEnd(11)} [${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${String(done).padStart(String(total).length)}/${total}`);
      if (done === total) {
        stream.write("\n");
        lastDrawn = -1;
      }
      return;
    }
    const step = Math.max(1, Math.ceil(total / LOG_STEPS));
    if (done % step === 0 || done === total) stream.write(`train: ${arm} ${done}/${total} episodes\n`);
  };
}
