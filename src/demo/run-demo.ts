import { createPublicKey, type KeyObject } from "node:crypto";
import { link, lstat, mkdir, open, readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { CREATE_NEW, isErrno, syncFolder, writeFileAtomic } from "../audit/atomic-write.js";
import { generateTrailKeyPair, publicKeyPem } from "../audit/checkpoint.js";
import { exportJsonlSpans } from "../audit/emitter.js";
import { PolicyKernelError, errorMessage } from "../errors.js";
import type { Seed } from "../env/rng.js";
import { createPolicyKernel, type PolicyKernelOptions } from "../kernel/create-kernel.js";
import { demoKernelData } from "./kernel-data.js";
import { createLogger } from "../logging.js";
import { RewardConfigSchema, type RewardConfigInput } from "../reward/config.js";
import type { Provenance } from "../schemas.js";
import { DEFAULT_AGENT_CONFIG, type AgentConfig } from "./agent.js";
import { ARMS, armSpanOptions, interruptedError, runArm, type ArmName, type ArmResult, type PolicyChoice } from "./arm.js";
import { MAX_STEPS, TASK_REWARD } from "./episode.js";
import { round, type EpisodeStats } from "./metrics.js";
import { renderReport } from "./report-html.js";
import { createWorld } from "./world.js";

/** Defaults chosen so learning is clearly visible and the run takes seconds. */
export const DEMO_DEFAULTS = Object.freeze({ episodes: 600, seed: 42, evalWindow: 100, evalRepeats: 5 });

export interface DemoOptions {
  readonly episodes: number;
  readonly seed: Seed;
  readonly arms: readonly ArmName[];
  readonly evalWindow: number;
  readonly evalRepeats?: number;
  /** Run folder; nothing is written when absent. */
  readonly outDir?: string;
  /** How each arm's kernel is built (bundle, rules, data…); the default library when absent. */
  readonly kernelOptions?: PolicyKernelOptions;
  readonly agentConfig?: AgentConfig;
  readonly rewardConfig?: RewardConfigInput;
  readonly onEpisode?: (arm: ArmName, done: number, total: number) => void;
  /**
   * Stops the run before the next training episode: runDemo then rejects with PolicyKernelError
   * "interrupted", every audit entry recorded so far on disk (in audit-<arm>.jsonl.partial).
   */
  readonly signal?: AbortSignal;
  /**
   * The Ed25519 private key every arm's trail checkpoints are signed with (the trainer's own key
   * file); a new key pair per arm when absent. The public key is written beside each trail
   * (audit-<arm>.jsonl.pub), never into summary.json, which stays byte-identical for a seed.
   */
  readonly signingKey?: KeyObject;
}

/** One arm as summary.json stores it (no wall-clock values, so the file replays byte for byte). */
export interface ArmSummary {
  readonly enforcement: ArmResult["enforcement"];
  /** The bundle revisions that decided the arm's training, in order: several when a served bundle was hot-swapped. */
  readonly bundleRevisions: readonly (string | null)[];
  readonly lastWindow: EpisodeStats;
  readonly training: EpisodeStats;
  readonly greedyBefore: EpisodeStats;
  readonly greedyAfter: EpisodeStats;
  readonly learnedPolicy: readonly PolicyChoice[];
  readonly rewardStats: Readonly<Record<string, number>>;
  /** `verified`: the chain, every checkpoint's signature (with the arm's public key) and the final seal. */
  readonly audit: { readonly chainId: string; readonly entries: number; readonly head: string; readonly checkpoints: number; readonly verified: boolean };
  readonly spans: number;
  readonly curve: ArmResult["curve"];
}

export interface DemoSummary {
  readonly schema: "policy-kernel/demo-summary@1";
  readonly experiment: {
    readonly seed: Seed;
    readonly episodes: number;
    readonly evalWindow: number;
    readonly evalRepeats: number;
    readonly arms: readonly ArmName[];
    readonly maxStepsPerEpisode: number;
    readonly taskReward: number;
    readonly agent: AgentConfig;
    readonly reward: Readonly<Record<string, unknown>>;
    readonly tasks: readonly { id: string; prompt: string; candidates: readonly { id: string; kind: string; effort: number }[] }[];
  };
  readonly kernel: { readonly policies: readonly string[]; readonly provenance: Provenance };
  readonly arms: Partial<Record<ArmName, ArmSummary>>;
  readonly files: Readonly<Record<string, string>>;
}

export interface DemoRun {
  readonly summary: DemoSummary;
  readonly timing: { readonly totalMs: number; readonly arms: Partial<Record<ArmName, number>> };
}

/**
 * Runs the experiment: the same seed, tasks and agent for each arm, trained through a
 * GovernedEnvironment on a real SQLite database; writes the run folder when `outDir` is set.
 */
export async function runDemo(options: DemoOptions): Promise<DemoRun> {
  const started = performance.now();
  // No folder (undefined or ""): the trails stay in memory and nothing is written.
  const outDir = options.outDir || undefined;
  // First: a folder that cannot be made, or that holds a finished run, fails the run before anything is loaded.
  if (outDir) {
    await mkdir(outDir, { recursive: true });
    const finished = await finishedRunFile(outDir);
    if (finished !== undefined) {
      throw new PolicyKernelError("io_error", `the folder already holds a finished run (${finished}); a trail is never overwritten`, {
        file: outDir,
        expected: "a new or empty run folder (or one whose runs were interrupted)",
      });
    }
  }
  const world = await createWorld();
  // One logger for every kernel of the run, so a problem with the bundle is reported once, not per kernel.
  const given = options.kernelOptions ?? {};
  const kernelOptions: PolicyKernelOptions = {
    ...given,
    // The world is SQLite: its SQL is judged as SQLite reads it, against the world's schema (the caller's data wins).
    data: demoKernelData(given.data ?? {}),
    logger: given.logger ?? createLogger({ level: given.logLevel }),
  };
  const evalKernel = await createPolicyKernel(kernelOptions);
  const agentConfig = options.agentConfig ?? DEFAULT_AGENT_CONFIG;
  const rewardConfig = RewardConfigSchema.parse(options.rewardConfig ?? {});
  const evalRepeats = options.evalRepeats ?? DEMO_DEFAULTS.evalRepeats;
  const arms = ARMS.filter((arm) => options.arms.includes(arm));
  const results: ArmResult[] = [];
  const armMs: Partial<Record<ArmName, number>> = {};
  try {
    for (const arm of arms) {
      // Checked before the arm opens its trail file: a run stopped between arms leaves no empty trail.
      if (options.signal?.aborted) throw interruptedError(options.signal, `the ${arm} arm was not started`);
      const t0 = performance.now();
      const signingKey = options.signingKey ?? generateTrailKeyPair().privateKey;
      const auditJsonlPath = outDir === undefined ? undefined : await freshPartialTrail(outDir, arm, signingKey);
      const result = await runArm({
        signingKey,
        arm,
        world,
        kernelOptions,
        evalKernel,
        seed: options.seed,
        episodes: options.episodes,
        evalWindow: options.evalWindow,
        evalRepeats,
        agentConfig,
        rewardConfig,
        ...(options.onEpisode ? { onEpisode: options.onEpisode } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(auditJsonlPath === undefined ? {} : { auditJsonlPath }),
      });
      armMs[arm] = Math.round(performance.now() - t0);
      // Finished as soon as the arm is: a later arm that fails or is stopped leaves this trail complete, under its final name.
      if (outDir !== undefined) await finishStreamedTrail(outDir, result);
      results.push(result);
    }
  } finally {
    evalKernel.close();
  }

  const files: Record<string, string> = {};
  if (outDir) {
    Object.assign(files, RUN_FILES);
    for (const r of results) {
      files[`audit-${r.arm}`] = armFiles(r.arm).audit;
      files[`spans-${r.arm}`] = armFiles(r.arm).spans;
      files[`key-${r.arm}`] = armFiles(r.arm).publicKey;
    }
  }
  const armSummaries: Partial<Record<ArmName, ArmSummary>> = {};
  for (const r of results) {
    armSummaries[r.arm] = {
      enforcement: r.enforcement,
      bundleRevisions: r.bundleRevisions,
      lastWindow: r.lastWindow,
      training: r.training,
      greedyBefore: r.greedyBefore,
      greedyAfter: r.greedyAfter,
      learnedPolicy: r.learnedPolicy,
      rewardStats: Object.fromEntries(Object.entries(r.rewardStats).map(([k, v]) => [k, round(v)])),
      // A streamed trail was verified against the recorder's head and count when it was finished
      // (finishStreamedTrail throws otherwise); one kept in memory is verified here.
      audit: {
        chainId: r.recorder.chainId,
        entries: r.recorder.size,
        head: r.recorder.head,
        checkpoints: r.recorder.checkpoints().length,
        verified: outDir !== undefined || sealedAndValid(r.recorder.verify()),
      },
      // The arms' span options filter no entry type (armSpanOptions): every entry is one span.
      spans: r.recorder.size,
      curve: r.curve,
    };
  }
  const summary: DemoSummary = {
    schema: "policy-kernel/demo-summary@1",
    experiment: {
      seed: options.seed,
      episodes: options.episodes,
      evalWindow: options.evalWindow,
      evalRepeats,
      arms,
      maxStepsPerEpisode: MAX_STEPS,
      taskReward: TASK_REWARD,
      agent: agentConfig,
      reward: rewardConfig,
      tasks: world.tasks.map((t) => ({ id: t.id, prompt: t.prompt, candidates: t.candidates.map((c) => ({ id: c.id, kind: c.kind, effort: c.effort })) })),
    },
    kernel: { policies: [...evalKernel.policyNames], provenance: evalKernel.provenance },
    arms: armSummaries,
    files,
  };
  const timing = { totalMs: Math.round(performance.now() - started), arms: armMs };
  if (outDir) await writeRunFolder(outDir, summary, timing);
  return { summary, timing };
}

/** The run folder's own files (each arm adds its audit and span files, armFiles). */
const RUN_FILES = Object.freeze({ summary: "summary.json", timing: "timing.json", report: "report.html" });

/** An arm's files in the run folder: the trail and its public key while it is written, then the verified trail, its key and spans. */
function armFiles(arm: ArmName): { readonly partial: string; readonly partialKey: string; readonly audit: string; readonly publicKey: string; readonly spans: string } {
  const audit = `audit-${arm}.jsonl`;
  return { partial: `${audit}.partial`, partialKey: `${audit}.partial.pub`, audit, publicKey: `${audit}.pub`, spans: `spans-${arm}.json` };
}

/** A file that makes `dir` a finished run (its summary, or an arm's completed trail), if any; undefined for a missing folder. */
export async function finishedRunFile(dir: string): Promise<string | undefined> {
  let listed: string[];
  try {
    listed = await readdir(dir);
  } catch (error) {
    if (isErrno(error, "ENOENT")) return undefined;
    throw error;
  }
  const names = new Set(listed);
  const finished = [RUN_FILES.summary, ...ARMS.map((arm) => armFiles(arm).audit)];
  return finished.find((name) => names.has(name));
}

/** Whether an in-memory trail verified, signatures and seal included. */
function sealedAndValid(result: { readonly valid: boolean; readonly sealed?: boolean }): boolean {
  return result.valid && result.sealed === true;
}

/**
 * The path an arm streams its trail to while it runs, its public key written beside it first
 * (audit-<arm>.jsonl.partial.pub), so even a killed run's trail can be verified. A partial trail
 * already there is an interrupted earlier run's: it is kept, with its key, as
 * audit-<arm>.interrupted-<its mtime>.jsonl(.pub), never replacing a file.
 */
async function freshPartialTrail(dir: string, arm: ArmName, signingKey: KeyObject): Promise<string> {
  const names = armFiles(arm);
  const path = join(dir, names.partial);
  let modified: Date | undefined;
  try {
    modified = (await lstat(path)).mtime;
  } catch (error) {
    if (!isErrno(error, "ENOENT")) throw error;
  }
  if (modified !== undefined) {
    const stamp = modified.toISOString().replace(/[:.]/g, "-");
    const kept = await moveAside(path, dir, `audit-${arm}.interrupted-${stamp}`, ".jsonl");
    await moveNoReplace(join(dir, names.partialKey), `${kept}.pub`).catch((error: unknown) => {
      if (!isErrno(error, "ENOENT")) throw error;
    });
  }
  // Exclusive create: a key file already there (an earlier run killed before its trail began) is kept aside too.
  const keyPath = join(dir, names.partialKey);
  try {
    await lstat(keyPath);
    await moveAside(keyPath, dir, `audit-${arm}.interrupted-orphan-${Date.now()}`, ".jsonl.pub");
  } catch (error) {
    if (!isErrno(error, "ENOENT")) throw error;
  }
  const handle = await open(keyPath, CREATE_NEW, 0o644);
  try {
    await handle.writeFile(publicKeyPem(createPublicKey(signingKey)), "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  return path;
}

/** Renames `from` to `<base><suffix>` in `dir`, or `<base>-2<suffix>`… when that exists: never replacing a file. Returns the new path. */
async function moveAside(from: string, dir: string, base: string, suffix: string): Promise<string> {
  for (let n = 1; ; n++) {
    const to = join(dir, `${base}${n === 1 ? "" : `-${n}`}${suffix}`);
    try {
      await moveNoReplace(from, to);
      return to;
    } catch (error) {
      if (!isErrno(error, "EEXIST")) throw error;
    }
  }
}

/** rename(2) without replacing: a hard link to the new name (EEXIST if it is taken), then the old name removed. */
async function moveNoReplace(from: string, to: string): Promise<void> {
  await link(from, to);
  await unlink(from);
}

/**
 * A finished arm's streamed trail: its spans exported from the file in the same read that
 * verifies it (chain, every checkpoint's signature with the arm's public key, the final seal)
 * against the recorder's head and count, then the trail and its key moved to audit-<arm>.jsonl(.pub),
 * refusing to replace a file already there.
 */
async function finishStreamedTrail(dir: string, r: ArmResult): Promise<void> {
  const names = armFiles(r.arm);
  const partial = join(dir, names.partial);
  const anchor = { expectedHead: r.recorder.head, expectedCount: r.recorder.size, publicKey: r.recorder.publicKey, requireSealed: true };
  await exportJsonlSpans(partial, join(dir, names.spans), armSpanOptions(r.arm), anchor);
  try {
    await moveNoReplace(join(dir, names.partialKey), join(dir, names.publicKey));
    await moveNoReplace(partial, join(dir, names.audit));
  } catch (error) {
    if (!isErrno(error, "EEXIST")) throw error;
    throw new PolicyKernelError("io_error", `another run finished a trail in this folder meanwhile; this one stays ${names.partial}: ${errorMessage(error)}`, { file: dir }, { cause: error });
  }
  await syncFolder(dir);
}


/** Writes the run folder's own files (RUN_FILES); the arms already wrote theirs. */
async function writeRunFolder(dir: string, summary: DemoSummary, timing: DemoRun["timing"]): Promise<void> {
  // The same atomic writer as the span files: no torn file, never through a planted link.
  await writeFileAtomic(join(dir, RUN_FILES.summary), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFileAtomic(join(dir, RUN_FILES.timing), `${JSON.stringify(timing, null, 2)}\n`);
  await writeFileAtomic(join(dir, RUN_FILES.report), renderReport(summary));
}
