import type { EnvironmentMetrics } from "./environment.js";

/** The counts an environment keeps over its life, from which its metrics are computed. */
export interface MetricCounts {
  readonly episodes: number;
  readonly finished: number;
  readonly steps: number;
  readonly violations: number;
  readonly successful: number;
  /** Sum of the finished episodes' total rewards. */
  readonly rewardSum: number;
}

/** EnvironmentMetrics from the counts: rates over finished episodes, per-episode figures over started ones, 0 before any. */
export function environmentMetrics(c: MetricCounts): EnvironmentMetrics {
  const perEpisode = (n: number): number => (c.episodes === 0 ? 0 : n / c.episodes);
  return {
    totalEpisodes: c.episodes,
    finishedEpisodes: c.finished,
    totalSteps: c.steps,
    totalViolations: c.violations,
    successfulEpisodes: c.successful,
    successRate: c.finished === 0 ? 0 : c.successful / c.finished,
    violationsPerEpisode: perEpisode(c.violations),
    stepsPerEpisode: perEpisode(c.steps),
    meanEpisodeReward: c.finished === 0 ? 0 : c.rewardSum / c.finished,
  };
}
