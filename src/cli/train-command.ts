import { mkdir } from "node:fs/promises";
import { BUNDLE_SERVICE_USAGE } from "./bundle-service-flags.js";
import { constants as osConstants } from "node:os";
import { resolve } from "node:path";
import { errorMessage } from "../errors.js";
import { ARMS, type ArmName } from "../demo/arm.js";
import { toSigningKey } from "../audit/checkpoint.js";
import { DEMO_DEFAULTS, finishedRunFile, runDemo, type DemoRun } from "../demo/run-demo.js";
import { renderTable } from "../demo/table.js";
import { UsageError, parseFlags } from "./flags.js";
import { KERNEL_FLAGS, kernelOptionsFromFlags, positiveIntFlag } from "./kernel-flags.js";
import { trainProgress } from "./progress.js";
import { DECISION_LOG_FLAGS, DECISION_LOG_USAGE, decisionLogFromFlags, undeliveredLine } from "./decision-log-flags.js";
import { createDecisionLog, type DecisionLog } from "../decision-log/decision-log.js";

export const TRAIN_USAGE = `usage: policy-kernel train [--episodes N] [--seed S] [--arms governed,ungoverned] [--out DIR] [--signing-key F] [kernel flags] [--json] [--eval-window N] [--no-progress]
  Trains a Q-learning agent on an embedded SQLite task environment, once with the kernel only observing
  (ungoverned) and once enforcing (governed), on the same seed; prints the comparison and writes a run folder.
  --episodes N     training episodes per arm (default ${DEMO_DEFAULTS.episodes})
  --seed S         integer seed of tasks, exploration and tie-breaks (default ${DEMO_DEFAULTS.seed})
  --arms LIST      comma-separated subset of ${ARMS.join(",")} (default both)
  --out DIR        run folder (default runs/<seed>, or runs/<seed>-2… when that holds a finished run): summary.json,
                   timing.json, audit-<arm>.jsonl(.pub), spans-<arm>.json, report.html; a folder holding a finished run
                   is refused (a trail is never overwritten)
  --signing-key F  Ed25519 private key (PEM) the trails' checkpoints are signed with (default: a new key per arm;
                   the public key is written beside each trail as audit-<arm>.jsonl.pub either way)
  --bundle PATH    OPA bundle (.tar.gz or folder) instead of the default library (--no-bundle: none)
  --rules PATH     JSON rule-set file or folder (repeatable) instead of the default rules (--no-rules: none)
  --data FILE      JSON data merged over the bundle data; --fail-open, --log-level LEVEL as for eval
  --verification-key K [--signing-alg A] [--scope S] [--verification-key-id ID]   verify a signed --bundle, as for
                   eval (--signing-alg is OPA's name for the bundle signature's algorithm, not --signing-key's)
  --json           print summary.json instead of the table
  --eval-window N  the last N training episodes the window metrics cover (default ${DEMO_DEFAULTS.evalWindow}, at most --episodes)
  --no-progress    no progress on stderr (otherwise a bar on a terminal, a line per tenth of an arm elsewhere)
${DECISION_LOG_USAGE}
                   (every kernel of the run logs: both arms' training and the greedy evaluations; ids from --seed)
  Ctrl-C (or SIGTERM) stops after the current episode with every audit entry written, exit code 130 (143);
  a second one exits at once.
${BUNDLE_SERVICE_USAGE}`;

const MAX_EPISODES = 1_000_000;

/** The signals that stop a run: Ctrl-C and the polite kill. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** The shell's convention for a run ended by a signal: 128 + its number (130 for Ctrl-C). */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + osConstants.signals[signal];
}

/**
 * The first SIGINT/SIGTERM aborts the run at the next episode (its audit entries all written),
 * with the signal's name as the abort reason; a second one exits at once, and the exit hook
 * still writes every pending audit line.
 */
function stopOnSignals(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`\npolicy-kernel train: ${signal} again: exiting now\n`);
      process.exit(signalExitCode(signal));
    }
    process.stderr.write(`\npolicy-kernel train: ${signal}: stopping after the current episode (again to exit at once)\n`);
    controller.abort(signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return {
    signal: controller.signal,
    release: () => {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    },
  };
}

function parseSeed(raw: string | undefined): number {
  if (raw === undefined) return DEMO_DEFAULTS.seed;
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) {
    throw new UsageError(`must be an integer, got "${raw}" (a negative one is written --seed=-5)`, { field: "--seed" });
  }
  return Number(raw);
}

function parseArms(raw: string | undefined): ArmName[] {
  if (raw === undefined) return [...ARMS];
  const names = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const unknown = names.filter((n) => !(ARMS as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new UsageError(`must be a comma-separated subset of ${ARMS.join(", ")}, got "${raw}"`, { field: "--arms" });
  }
  return ARMS.filter((arm) => names.includes(arm));
}

/** The default run folder: `base`, or `base-2`, `base-3`… when it holds a finished run (never overwritten). */
async function freeRunFolder(base: string): Promise<string> {
  for (let n = 1; ; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    if ((await finishedRunFile(dir)) === undefined) return dir;
  }
}

/**
 * Makes the run folder --out names, or says what is wrong with it in words: a path that is a
 * file (mkdir's EEXIST), under a file (ENOTDIR), or not writable. A folder holding a finished
 * run is refused as before, with what to do instead.
 */
async function prepareRunFolder(dir: string, given: string | undefined): Promise<void> {
  const shown = given ?? dir;
  const fix = given !== undefined ? "give --out a new folder (or one holding an interrupted run), or leave --out out for the next free runs/<seed>-N" : "give --out a new folder";
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "EEXIST" ? "is a file, not a folder" : code === "ENOTDIR" ? "is inside a file, not a folder" : code === "EACCES" || code === "EPERM" ? "cannot be created (permission denied)" : `cannot be created (${code ?? errorMessage(error)})`;
    throw new UsageError(`--out ${shown} ${why}: it names a run folder; ${fix}`);
  }
  const finished = await finishedRunFile(dir);
  if (finished !== undefined) {
    throw new UsageError(`--out ${shown} already holds a finished run (${finished}), and a trail is never overwritten; ${fix}`);
  }
}

/** `policy-kernel train`: the governed-vs-ungoverned training experiment. */
export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    episodes: { type: "string" },
    seed: { type: "string" },
    arms: { type: "string" },
    out: { type: "string" },
    "signing-key": { type: "string" },
    ...KERNEL_FLAGS,
    ...DECISION_LOG_FLAGS,
    json: { type: "boolean" },
    "eval-window": { type: "string" },
    "no-progress": { type: "boolean" },
  });
  const episodes = positiveIntFlag(values.episodes, "--episodes", DEMO_DEFAULTS.episodes, MAX_EPISODES);
  const seed = parseSeed(values.seed);
  const arms = parseArms(values.arms);
  const evalWindow = positiveIntFlag(values["eval-window"], "--eval-window", Math.min(DEMO_DEFAULTS.evalWindow, episodes), episodes);
  const outDir = resolve(values.out ?? (await freeRunFolder(`runs/${seed}`)));
  const signingKey = values["signing-key"] === undefined ? undefined : toSigningKey(values["signing-key"], "--signing-key");
  const logOptions = decisionLogFromFlags(values, `train/${seed}`);
  const kernelOptions = kernelOptionsFromFlags(values);
  // Last, once every flag is known good: a mistyped flag creates no folder.
  await prepareRunFolder(outDir, values.out);
  // One log shared by every kernel of the run, so the ids follow one sequence.
  const decisionLog: DecisionLog | undefined = logOptions === undefined ? undefined : createDecisionLog(logOptions, { field: "--decision-log" });
  if (decisionLog) kernelOptions.decisionLog = decisionLog;
  const progress = values["no-progress"] ? undefined : trainProgress(process.stderr);

  const stop = stopOnSignals();
  let run: DemoRun;
  try {
    run = await runDemo({
      episodes,
      seed,
      arms,
      evalWindow,
      outDir,
      kernelOptions,
      signal: stop.signal,
      ...(signingKey ? { signingKey } : {}),
      ...(progress ? { onEpisode: progress.onEpisode } : {}),
    });
  } catch (error) {
    // Stopped by a signal: its exit code, whatever the error says (an interruption, or a trail that then failed to close).
    if (!stop.signal.aborted) throw error;
    process.stderr.write(`policy-kernel train: ${errorMessage(error)}\n`);
    return signalExitCode(stop.signal.reason as NodeJS.Signals);
  } finally {
    progress?.stop();
    stop.release();
    // Delivered (or reported undelivered) however the run ended.
    const undelivered = undeliveredLine("train", await decisionLog?.close());
    if (undelivered !== undefined) process.stderr.write(undelivered);
  }
  if (values.json) process.stdout.write(`${JSON.stringify(run.summary, null, 2)}\n`);
  else {
    process.stdout.write(renderTable(run.summary));
    process.stdout.write(`\nrun folder: ${outDir} (report.html, summary.json, audit-*.jsonl and their public keys audit-*.jsonl.pub, spans-*.json); ${(run.timing.totalMs / 1000).toFixed(1)} s\n`);
  }
  const report = decisionLog?.status();
  return report !== undefined && report.undelivered > 0 ? 1 : 0;
}
