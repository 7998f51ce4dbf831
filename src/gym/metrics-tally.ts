import type { EnvironmentMetrics } from "../env/environment.js";
import { environmentMetrics } from "../env/metrics.js";

/**
 * Aggregates of a hosted env, in GovernedEnvironment's EnvironmentMetrics shape. Kept by the env
 * itself because its steps are not all GovernedEnvironment steps (an invalid index uses a step the
 * kernel never sees; a gate has no executor).
 */
export class MetricsTally {
  #episodes = 0;
  #finished = 0;
  #steps = 0;
  #violations = 0;
  #successful = 0;
  #rewardSum = 0;

  /** An episode started (a reset). */
  episodeStarted(): void {
    this.#episodes += 1;
  }

  /** One step with this many violations. */
  stepped(violations: number): void {
    this.#steps += 1;
    this.#violations += violations;
  }

  /** The episode ended (terminated or truncated) with this total reward. */
  episodeFinished(totalReward: number, successful: boolean): void {
    this.#finished += 1;
    this.#rewardSum += totalReward;
    if (successful) this.#successful += 1;
  }

  /** The aggregates so far. */
  metrics(): EnvironmentMetrics {
    return environmentMetrics({ episodes: this.#episodes, finished: this.#finished, steps: this.#steps, violations: this.#violations, successful: this.#successful, rewardSum: this.#rewardSum });
  }

}
