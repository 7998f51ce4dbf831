import type { KeyObject } from "node:crypto";
import { FlightRecorder } from "../audit/flight-recorder.js";
import { createRng, type Seed } from "../env/rng.js";
import { PolicyKernelError, errorMessage } from "../errors.js";
import { eventLoopTurns } from "../event-loop.js";
import { createPolicyKernel, type PolicyKernelOptions } from "../kernel/create-kernel.js";
import type { PolicyKernel } from "../kernel/types.js";
import type { RewardConfigInput } from "../reward/config.js";
import type { PolicyRewardStats } from "../reward/policy-reward.js";
import { QLearningAgent, fullMask, type AgentConfig } from "./agent.js";
import { createDemoEnvironment, runEpisode, type EpisodeRecord } from "./episode.js";
import { KernelTap, type Enforcement } from "./kernel-tap.js";
import { aggregate, round, type EpisodeStats } from "./metrics.js";
import { toolCallRecorder } from "./recorder-adapter.js";
import type { CandidateKind } from "./tasks.js";
import type { World } from "./world.js";

export const ARMS = ["ungoverned", "governed"] as const;
export type ArmName = (typeof ARMS)[number];

/** Which enforcement each arm uses: the ungoverned arm's kernel only observes. */
const ARM_ENFORCEMENT: Readonly<Record<ArmName, Enforcement>> = { ungoverned: "observe", governed: "enforce" };

/** Audit entries without an event time get this fixed time, so the trail replays byte for byte. */
const RECORDER_EPOCH = new Date("2026-01-05T00:00:00Z");

export interface ArmOptions {
  readonly arm: ArmName;
  readonly world: World;
  readonly kernelOptions: PolicyKernelOptions;
  /** A kernel without an audit sink, for the greedy evaluations (kept out of the training trail). */
  readonly evalKernel: PolicyKernel;
  readonly seed: Seed;
  readonly episodes: number;
  readonly evalWindow: number;
  /** Greedy evaluation episodes per task (ties of an untrained table are broken at random). */
  readonly evalRepeats: number;
  readonly agentConfig: AgentConfig;
  readonly rewardConfig: RewardConfigInput;
  readonly onEpisode?: (arm: ArmName, done: number, total: number) => void;
  /** Stops training before the next episode; the arm then throws PolicyKernelError "interrupted". */
  readonly signal?: AbortSignal;
  /**
   * Stream the audit trail to this new JSON Lines file as the arm runs, keeping only the newest
   * AUDIT_RETAIN entries in memory: a long run neither grows without bound nor loses its trail
   * when it stops early. In memory only when absent.
   */
  readonly auditJsonlPath?: string;
  /** The Ed25519 key the trail's checkpoints are signed with; a new one per arm when absent. */
  readonly signingKey?: KeyObject;
}

/**
 * A signed checkpoint every this many entries (and the final one at close). By count only, not by
 * time: a time trigger would put checkpoints at different places in two runs of the same seed.
 */
export const AUDIT_CHECKPOINT_EVERY = 200;

/** Audit entries a streamed arm keeps in memory (the file has them all); the bench's streamed env.step row keeps as many. */
export const AUDIT_RETAIN = 10_000;

/** The greedy choice for one task after training. */
export interface PolicyChoice {
  readonly task: string;
  readonly candidate: string;
  readonly kind: CandidateKind;
}

/** Everything one arm measured. */
export interface ArmResult {
  readonly arm: ArmName;
  readonly enforcement: Enforcement;
  /** Over the last `evalWindow` training episodes (exploration included). */
  readonly lastWindow: EpisodeStats;
  /** Over all training episodes. */
  readonly training: EpisodeStats;
  readonly greedyBefore: EpisodeStats;
  readonly greedyAfter: EpisodeStats;
  readonly learnedPolicy: readonly PolicyChoice[];
  /** The bundle revisions that decided the arm's training, in order (several when a served bundle was swapped mid-run). */
  readonly bundleRevisions: readonly (string | null)[];
  readonly rewardStats: PolicyRewardStats;
  readonly curve: { readonly reward: number[]; readonly attemptedViolation: number[]; readonly accurate: number[] };
  /** Closed when the arm streamed its trail (`auditJsonlPath`): the file is complete. */
  readonly recorder: FlightRecorder;
}

/** The span options of an arm's trail (one trace prefix per arm). */
export function armSpanOptions(arm: ArmName): { readonly traceIdPrefix: string } {
  return { traceIdPrefix: `demo-${arm}` };
}

/** The error of a run its signal stopped: the signal's reason (the CLI aborts with the signal's name), then `what` happened. */
export function interruptedError(signal: AbortSignal, what: string): PolicyKernelError {
  const reason: unknown = signal.reason;
  return new PolicyKernelError("interrupted", `${typeof reason === "string" ? reason : "aborted"}: ${what}`);
}

/** An arm stopped by its signal: how far it got and where its trail is (runArm then closes it, so all on disk). */
function armInterrupted(options: ArmOptions, signal: AbortSignal, done: number, recorder: FlightRecorder): PolicyKernelError {
  const trail = options.auditJsonlPath === undefined ? "" : `; its audit trail so far (${recorder.size} entries, hash-chained) is ${options.auditJsonlPath}`;
  return interruptedError(signal, `the ${options.arm} arm stopped after ${done} of ${options.episodes} training episodes${trail}`);
}

/** Trains one arm from scratch (fresh kernel, recorder, agent) and evaluates it greedily before and after. */
export async function runArm(options: ArmOptions): Promise<ArmResult> {
  const { arm, world, seed, episodes } = options;
  const enforcement = ARM_ENFORCEMENT[arm];
  const stream = options.auditJsonlPath === undefined ? {} : { jsonlPath: options.auditJsonlPath, retain: AUDIT_RETAIN };
  const recorder = new FlightRecorder({
    chainId: `policy-kernel-demo/${arm}/${String(seed)}`,
    clock: () => RECORDER_EPOCH,
    checkpoints: { everyEntries: AUDIT_CHECKPOINT_EVERY, everyMs: 0 },
    ...(options.signingKey === undefined ? {} : { signingKey: options.signingKey }),
    ...stream,
  });
  let kernel: PolicyKernel | undefined;
  let failure: { readonly error: unknown } | undefined;
  try {
    kernel = await createPolicyKernel({ ...options.kernelOptions, recorder });
    const tap = new KernelTap(kernel, enforcement);
    const { env, reward } = createDemoEnvironment({
      world,
      tap,
      rewardConfig: options.rewardConfig,
      recorder: toolCallRecorder(recorder, arm),
    });
    const evalTap = new KernelTap(options.evalKernel, enforcement);
    const evalEnv = createDemoEnvironment({ world, tap: evalTap, rewardConfig: options.rewardConfig });
    const agent = new QLearningAgent(new Map(world.tasks.map((t) => [t.id, t.candidates.length])), options.agentConfig);

    const evaluate = async (label: string): Promise<EpisodeRecord[]> => {
      const tieBreak = createRng(`${String(seed)}:${label}`);
      const out: EpisodeRecord[] = [];
      for (let index = 0; index < world.tasks.length; index += 1) {
        for (let r = 0; r < options.evalRepeats; r += 1) {
          const choose = (task: { id: string }, mask: readonly boolean[]): number => agent.greedy(task.id, mask, tieBreak);
          out.push(await runEpisode(evalEnv.env, evalTap, world, choose, { options: { taskIndex: index } }));
        }
      }
      return out;
    };

    const before = await evaluate("eval-before");
    const agentRng = createRng(`${String(seed)}:agent`);
    const records: EpisodeRecord[] = [];
    const turn = eventLoopTurns();
    for (let e = 0; e < episodes; e += 1) {
      // The episodes run on microtasks alone; a turn now and then lets a Ctrl-C handler abort the signal.
      await turn();
      if (options.signal?.aborted) throw armInterrupted(options, options.signal, e, recorder);
      const epsilon = agent.epsilon(e, episodes);
      const record = await runEpisode(
        env,
        tap,
        world,
        (task, mask) => agent.act(task.id, mask, epsilon, agentRng),
        // Seeded once: both arms then draw the same task sequence from the environment's stream.
        e === 0 ? { seed } : {},
        (task, action, value, next) => agent.update(task.id, action, value, next),
      );
      records.push(record);
      options.onEpisode?.(arm, e + 1, episodes);
    }
    const after = await evaluate("eval-after");
    env.close();
    evalEnv.env.close();

    const tieBreak = createRng(`${String(seed)}:policy`);
    const learnedPolicy = world.tasks.map((task) => {
      const candidate = task.candidates[agent.greedy(task.id, fullMask(task.candidates.length), tieBreak)];
      return { task: task.id, candidate: candidate?.id ?? "", kind: candidate?.kind ?? "wrong" };
    });
    return {
      arm,
      enforcement,
      bundleRevisions: [...tap.revisions],
      lastWindow: aggregate(records.slice(-options.evalWindow)),
      training: aggregate(records),
      greedyBefore: aggregate(before),
      greedyAfter: aggregate(after),
      learnedPolicy,
      rewardStats: reward.getStats(),
      curve: {
        reward: records.map((r) => round(r.reward)),
        attemptedViolation: records.map((r) => (r.violatingProposals > 0 ? 1 : 0)),
        accurate: records.map((r) => (r.grade.accurate ? 1 : 0)),
      },
      recorder,
    };
  } catch (error) {
    failure = { error };
    throw error;
  } finally {
    try {
      // Every entry on disk, also when the arm failed: the partial trail is what explains the failure.
      if (options.auditJsonlPath !== undefined) closeTrail(recorder, failure);
    } finally {
      kernel?.close();
    }
  }
}

/**
 * Closes the arm's streamed trail. When the arm had already failed (or was interrupted) and the
 * close fails too, one io_error names both, the first as its cause: the trail then lacks entries
 * the first error counts. (The close error's message names the file.)
 */
function closeTrail(recorder: FlightRecorder, failure: { readonly error: unknown } | undefined): void {
  try {
    recorder.close();
  } catch (error) {
    if (failure === undefined) throw error;
    throw new PolicyKernelError("io_error", `${errorMessage(error)}; the arm had stopped before that: ${errorMessage(failure.error)}`, {}, { cause: failure.error });
  }
}
