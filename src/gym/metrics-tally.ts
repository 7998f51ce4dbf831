import type { EnvironmentMetrics } from "../env/environment.js";

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
    const perEpisode = (n: number): number => (this.#episodes === 0 ? 0 : n / this.#episodes);
    return {
      totalEpisodes: this.#episodes,
      finishedEpisodes: this.#finished,
      totalSteps: this.#steps,
      totalViolations: this.#violations,
      successfulEpisodes: this.#successful,
      successRate: this.#finished === 0 ? 0 : this.#successful / this.#finished,
      violationsPerEpisode: perEpisode(this.#violations),
      stepsPerEpisode: perEpisode(this.#steps),
      meanEpisodeReward: this.#finished === 0 ? 0 : this.#rewardSum / this.#finished,
    };
  }
}
