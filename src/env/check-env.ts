import { canonicalJson } from "../canonical-json.js";
import { isPlainObject, shapeOf } from "../values.js";
import type { Rng, RngState, Seed } from "./rng.js";
import { EnvCheckError, isResetNeeded } from "./errors.js";
import type { ResetParams, StepAction } from "./environment.js";

/**
 * What checkEnv needs from an environment; GovernedEnvironment satisfies it. Results are typed
 * `unknown` on purpose: checking their shape is the checker's job.
 */
export interface CheckableEnv {
  /** Starts an episode, as GovernedEnvironment.reset does. */
  reset(params?: ResetParams): unknown;
  /** Takes one action, as GovernedEnvironment.step does. */
  step(action: StepAction): unknown;
  /** Ends the environment; a step after it must fail. */
  close(): void;
  /** When present, the checker also inspects the generator (as Gymnasium's inspects `np_random`). */
  readonly rng?: Rng;
  readonly config?: { readonly resetKernelState?: boolean };
}

/** Options of checkEnv. */
export interface CheckEnvOptions {
  /** Seed of the determinism checks; default 123. */
  readonly seed?: Seed;
  /** A second seed, which must give a different generator stream; default seed + 1 (or seed + "'"). */
  readonly otherSeed?: Seed;
  /** Actions replayed after each seeded reset; default a few harmless ones. */
  readonly actions?: readonly StepAction[];
}

/** The checks checkEnv runs, in order. */
export type CheckName =
  | "step_before_reset"
  | "reset_shape"
  | "step_shape"
  | "step_after_end"
  | "seed_determinism"
  | "unseeded_reset_deterministic"
  | "unseeded_reset_continues_stream"
  | "seed_changes_stream"
  | "close_twice";

/** What checkEnv verified and what it could not. */
export interface CheckEnvReport {
  readonly passed: readonly CheckName[];
  readonly skipped: readonly { readonly check: CheckName; readonly reason: string }[];
  /** Steps of the replayed trajectory (it stops early when the episode ends). */
  readonly trajectoryLength: number;
}

/** Harmless default actions, allowed by the shipped default policies (no tool call: those need a role). */
export const DEFAULT_CHECK_ACTIONS: readonly StepAction[] = [
  { type: "sql", sql: "SELECT id, name FROM users WHERE id = 1" },
  { type: "message", to: "ops@example.com", text: "nightly report is ready" },
  { type: "sql", sql: "SELECT count(*) FROM orders WHERE status = 'open'" },
];

// How far the checker walks a generator to find the state an unseeded reset left; task generators draw far fewer.
const MAX_DRAWS_PER_RESET = 100_000;

interface Trajectory {
  readonly steps: string[];
  readonly ended: boolean;
}

/**
 * Checks an environment against the Gymnasium contract (shapes, ResetNeeded, seeding, close) in the
 * spirit of `gymnasium.utils.env_checker.check_env`. Needs a fresh environment; closes it at the end.
 * Returns a report, or throws an EnvCheckError naming the failed check.
 */
export async function checkEnv(env: CheckableEnv, options: CheckEnvOptions = {}): Promise<CheckEnvReport> {
  const seed = options.seed ?? 123;
  const otherSeed = options.otherSeed ?? (typeof seed === "number" ? seed + 1 : `${seed}'`);
  const actions = options.actions ?? DEFAULT_CHECK_ACTIONS;
  if (actions.length === 0) throw new EnvCheckError("options", "actions must hold at least one action");
  const passed: CheckName[] = [];
  const skipped: { check: CheckName; reason: string }[] = [];

  // step_before_reset
  const early = await settle(() => env.step(actions[0] as StepAction));
  if (early.ok) fail("step_before_reset", "step() before reset() returned instead of raising ResetNeeded (pass a fresh env)");
  if (!isResetNeeded(early.error)) {
    fail("step_before_reset", `step() before reset() raised ${describe(early.error)}, not ResetNeeded`, early.error);
  }
  passed.push("step_before_reset");

  // reset_shape, step_shape, step_after_end (first trajectory)
  const first = await runTrajectory(env, seed, actions);
  passed.push("reset_shape", "step_shape");
  if (first.ended) {
    const late = await settle(() => env.step(actions[0] as StepAction));
    if (late.ok) fail("step_after_end", "step() after the episode ended returned instead of raising ResetNeeded");
    if (!isResetNeeded(late.error)) fail("step_after_end", `step() after the end raised ${describe(late.error)}, not ResetNeeded`, late.error);
    passed.push("step_after_end");
  } else {
    skipped.push({ check: "step_after_end", reason: "the actions did not end the episode" });
  }

  // seed_determinism
  if (env.config?.resetKernelState === false) {
    skipped.push({ check: "seed_determinism", reason: "resetKernelState is false: tracked context carries over between episodes" });
  } else {
    const second = await runTrajectory(env, seed, actions);
    const index = second.steps.findIndex((entry, i) => entry !== first.steps[i]);
    if (index !== -1 || second.steps.length !== first.steps.length) {
      const at = index === -1 ? Math.min(first.steps.length, second.steps.length) : index;
      fail(
        "seed_determinism",
        `two runs with seed ${String(seed)} and the same actions differ at ${at === 0 ? "the reset observation" : `step ${at}`}: ` +
          `${first.steps[at] ?? "(ended)"} vs ${second.steps[at] ?? "(ended)"}`,
      );
    }
    passed.push("seed_determinism");
  }

  // unseeded_reset_deterministic: reset({seed}) then reset() replays too.
  const afterSeeded = async (): Promise<string> => {
    await checkedReset(env, { seed });
    const [observation] = await checkedReset(env, {});
    return encode("unseeded_reset_deterministic", observation);
  };
  const a = await afterSeeded();
  const b = await afterSeeded();
  if (a !== b) fail("unseeded_reset_deterministic", `reset() after reset({seed}) gave ${a}, then ${b}`);
  passed.push("unseeded_reset_deterministic");

  // Generator checks, when the env exposes one.
  const rng = env.rng;
  if (rng && typeof rng.clone === "function" && typeof rng.state === "function") {
    await checkedReset(env, { seed });
    // One draw of our own, so a reseed from the same seed cannot land on the snapshot itself.
    env.rng?.next();
    const snapshot = (env.rng as Rng).clone();
    await checkedReset(env, {});
    if (!reachable(snapshot, (env.rng as Rng).state())) {
      fail("unseeded_reset_continues_stream", "reset() without a seed re-seeded the generator instead of continuing its stream");
    }
    passed.push("unseeded_reset_continues_stream");

    await checkedReset(env, { seed });
    const one = (env.rng as Rng).state();
    await checkedReset(env, { seed: otherSeed });
    const two = (env.rng as Rng).state();
    if (sameState(one, two)) fail("seed_changes_stream", `seeds ${String(seed)} and ${String(otherSeed)} give the same generator state (seed ignored?)`);
    passed.push("seed_changes_stream");
  } else {
    const reason = "the environment exposes no rng with clone() and state()";
    skipped.push({ check: "unseeded_reset_continues_stream", reason }, { check: "seed_changes_stream", reason });
  }

  // close_twice
  const closed = await settle(() => {
    env.close();
    env.close();
  });
  if (!closed.ok) fail("close_twice", `close() twice raised ${describe(closed.error)}`, closed.error);
  passed.push("close_twice");

  return { passed, skipped, trajectoryLength: first.steps.length - 1 };
}

async function runTrajectory(env: CheckableEnv, seed: Seed, actions: readonly StepAction[]): Promise<Trajectory> {
  const [observation] = await checkedReset(env, { seed });
  const steps = [encode("seed_determinism", { observation })];
  for (const action of actions) {
    const [next, reward, terminated, truncated, info] = await checkedStep(env, action);
    const violations = (info as { violations?: unknown }).violations ?? null;
    steps.push(encode("seed_determinism", { observation: next, reward, terminated, truncated, violations }));
    if (terminated || truncated) return { steps, ended: true };
  }
  return { steps, ended: false };
}

async function checkedReset(env: CheckableEnv, params: ResetParams): Promise<[unknown, Record<string, unknown>]> {
  const out = await settle(() => env.reset(params));
  if (!out.ok) fail("reset_shape", `reset(${canonicalJson(params)}) raised ${describe(out.error)}`, out.error);
  const value = out.value;
  if (!Array.isArray(value) || value.length !== 2) fail("reset_shape", `reset() must return [observation, info], got ${shapeOf(value)}`);
  const [observation, info] = value as unknown[];
  if (!isPlainObject(info)) fail("reset_shape", `reset() info must be an object, got ${shapeOf(info)}`);
  return [observation, info as Record<string, unknown>];
}

async function checkedStep(env: CheckableEnv, action: StepAction): Promise<[unknown, number, boolean, boolean, Record<string, unknown>]> {
  const out = await settle(() => env.step(action));
  if (!out.ok) fail("step_shape", `step(${canonicalJson(action)}) raised ${describe(out.error)}`, out.error);
  const value = out.value;
  if (!Array.isArray(value) || value.length !== 5) {
    fail("step_shape", `step() must return [observation, reward, terminated, truncated, info], got ${shapeOf(value)}`);
  }
  const [observation, reward, terminated, truncated, info] = value as unknown[];
  if (typeof reward !== "number" || !Number.isFinite(reward)) fail("step_shape", `reward must be a finite number, got ${String(reward)}`);
  if (typeof terminated !== "boolean") fail("step_shape", `terminated must be a boolean, got ${shapeOf(terminated)}`);
  if (typeof truncated !== "boolean") fail("step_shape", `truncated must be a boolean, got ${shapeOf(truncated)}`);
  if (!isPlainObject(info)) fail("step_shape", `step() info must be an object, got ${shapeOf(info)}`);
  return [observation, reward as number, terminated as boolean, truncated as boolean, info as Record<string, unknown>];
}

/** True when `target` is `from`'s state after 0..MAX_DRAWS_PER_RESET further draws. */
function reachable(from: Rng, target: RngState): boolean {
  const walker = from.clone();
  for (let i = 0; i <= MAX_DRAWS_PER_RESET; i += 1) {
    if (sameState(walker.state(), target)) return true;
    walker.nextUint32();
  }
  return false;
}

function sameState(a: RngState, b: RngState): boolean {
  return a.every((word, i) => word === b[i]);
}

function encode(check: CheckName, value: unknown): string {
  try {
    return canonicalJson(value);
  } catch (error) {
    return fail(check, `observations, rewards and violations must be JSON-encodable to compare runs: ${describe(error)}`, error);
  }
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function settle<T>(run: () => T): Promise<Settled<Awaited<T>>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error };
  }
}

function fail(check: CheckName, message: string, cause?: unknown): never {
  throw new EnvCheckError(check, message, cause === undefined ? undefined : { cause });
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
