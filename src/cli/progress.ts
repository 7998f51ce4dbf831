import { SingleBar } from "cli-progress";

/** Where progress goes: a terminal gets a redrawn bar (cli-progress), anything else plain lines. */
export interface ProgressStream extends NodeJS.WritableStream {
  readonly isTTY?: boolean;
}

/**
 * True when a bar can be drawn on `stream`: a terminal that understands cursor moves. CI logs,
 * pipes, files and TERM=dumb get the plain lines instead, which read well in a log.
 */
export function isBarTerminal(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env["TERM"] !== "dumb";
}

/** One cli-progress bar; `label` names what it counts (an arm, the rounds). */
function startBar(stream: ProgressStream, label: string, unit: string, total: number): SingleBar {
  const bar = new SingleBar({
    stream,
    format: `${label} [{bar}] {value}/{total} ${unit} | {percentage}% | {eta_formatted} left`,
    barCompleteChar: "#",
    barIncompleteChar: "-",
    barsize: 30,
    // Redrawing every episode would cost more than the episode: at most ten frames a second.
    fps: 10,
    etaBuffer: 100,
    // The cursor stays visible: a second Ctrl-C exits at once, with no chance to show it again.
    hideCursor: false,
    linewrap: false,
  });
  bar.start(total, 0);
  return bar;
}

/** Training progress: `onEpisode` for runDemo, and `stop` for when the run ends however it ends. */
export interface TrainProgress {
  readonly onEpisode: (arm: string, done: number, total: number) => void;
  readonly stop: () => void;
}

/** Plain log lines at every tenth of an arm, so a CI log shows life without flooding. */
const LOG_STEPS = 10;

/** Reports `train` progress on `stream`: a bar per arm on a terminal, else `train: <arm> <done>/<total> episodes` at every tenth. */
export function trainProgress(stream: ProgressStream, bar = isBarTerminal(stream)): TrainProgress {
  if (!bar) {
    return {
      onEpisode: (arm, done, total) => {
        const step = Math.max(1, Math.ceil(total / LOG_STEPS));
        if (done % step === 0 || done === total) stream.write(`train: ${arm} ${done}/${total} episodes\n`);
      },
      stop: () => {},
    };
  }
  let current: { arm: string; bar: SingleBar } | undefined;
  const stop = (): void => {
    current?.bar.stop();
    current = undefined;
  };
  return {
    onEpisode: (arm, done, total) => {
      if (current?.arm !== arm) {
        stop();
        current = { arm, bar: startBar(stream, arm.padEnd(10), "episodes", total) };
      }
      current.bar.update(done);
      if (done === total) stop();
    },
    stop,
  };
}

/** How far a stepped task is: `done` of `total`. */
export interface ProgressStep {
  readonly done: number;
  readonly total: number;
}

/** A progress callback for messages, some of them steps of a longer task; `stop` ends a bar still drawn. */
export type StepProgress = ((message: string, step?: ProgressStep) => void) & { readonly stop: () => void };

/**
 * Progress of a long run that logs its messages with `log` (the benchmark's stdout lines). With `bar`
 * (default: both stdout and `stream` are terminals, so a log file keeps every line), the steps of
 * a task are drawn as a bar on `stream` instead: the first step (0 done) is logged as the task's
 * heading, the rest only move the bar. Without it every message is logged as it always was.
 */
export function stepProgress(log: (line: string) => void, label: string, unit: string, stream: ProgressStream = process.stderr, bar = isBarTerminal(stream) && isBarTerminal(process.stdout)): StepProgress {
  let current: SingleBar | undefined;
  const stop = (): void => {
    current?.stop();
    current = undefined;
  };
  const report = (message: string, step?: ProgressStep): void => {
    if (!bar || step === undefined || step.done === 0) {
      stop();
      log(message);
    }
    if (!bar || step === undefined) return;
    current ??= startBar(stream, label, unit, step.total);
    current.setTotal(step.total);
    current.update(step.done);
    if (step.done >= step.total) stop();
  };
  return Object.assign(report, { stop });
}

/** Progress of a command counting units of named parts (`replay` and `diff`: decisions of a trail). */
export interface CountProgress {
  readonly onStep: (label: string, done: number, total: number) => void;
  readonly stop: () => void;
}

/**
 * Reports counted progress on `stream`: a bar per label on a terminal, else `<command>: <label>
 * <done>/<total> <unit>` at every tenth, as trainProgress does for episodes.
 */
export function countProgress(stream: ProgressStream, command: string, unit: string, bar = isBarTerminal(stream)): CountProgress {
  if (!bar) {
    return {
      onStep: (label, done, total) => {
        const step = Math.max(1, Math.ceil(total / LOG_STEPS));
        if (done % step === 0 || done === total) stream.write(`${command}: ${label} ${done}/${total} ${unit}\n`);
      },
      stop: () => {},
    };
  }
  let current: { label: string; bar: SingleBar } | undefined;
  const stop = (): void => {
    current?.bar.stop();
    current = undefined;
  };
  return {
    onStep: (label, done, total) => {
      if (current?.label !== label) {
        stop();
        current = { label, bar: startBar(stream, label, unit, total) };
      }
      current.bar.update(done);
      if (done === total) stop();
    },
    stop,
  };
}
