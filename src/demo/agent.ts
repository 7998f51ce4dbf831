import type { Rng } from "../env/rng.js";
import { compareCodeUnits } from "../values.js";

/** Hyper-parameters of the tabular Q-learning agent. */
export interface AgentConfig {
  /** Learning rate. */
  readonly alpha: number;
  /** Discount of the value of the retry after a blocked action. */
  readonly gamma: number;
  /** Exploration rate at the first episode, decayed linearly to `epsilonEnd`. */
  readonly epsilonStart: number;
  readonly epsilonEnd: number;
  /** Fraction of the training episodes over which epsilon decays. */
  readonly decayFraction: number;
  /**
   * Starting value of every action. Optimistic (at least the best reachable reward), so an
   * action tried only a few times is not written off early: estimates fall toward the truth.
   */
  readonly initialValue: number;
}

export const DEFAULT_AGENT_CONFIG: AgentConfig = Object.freeze({
  alpha: 0.5,
  gamma: 0.9,
  epsilonStart: 1,
  epsilonEnd: 0.05,
  decayFraction: 0.6,
  initialValue: 15,
});

/** Which actions may still be proposed in this state (an action the kernel refused is not proposed again). */
export type ActionMask = readonly boolean[];

/**
 * Tabular Q-learning over a task's candidate actions. The state is the task; after a refused
 * action the agent stays in the same task with that action masked out, so `update` bootstraps
 * from the best remaining action. Ties are broken by the given generator, never by list order.
 */
export class QLearningAgent {
  readonly config: AgentConfig;
  readonly #q = new Map<string, number[]>();
  readonly #actionCounts: ReadonlyMap<string, number>;

  /** An agent for tasks with the given number of candidates each; all values start at `initialValue`. */
  constructor(actionCounts: ReadonlyMap<string, number>, config: AgentConfig = DEFAULT_AGENT_CONFIG) {
    this.config = config;
    this.#actionCounts = actionCounts;
  }

  /** Epsilon of training episode `episode` (0-based) of `total`. */
  epsilon(episode: number, total: number): number {
    const { epsilonStart, epsilonEnd, decayFraction } = this.config;
    const horizon = Math.max(1, Math.floor(total * decayFraction));
    const progress = Math.min(1, episode / horizon);
    return epsilonStart + (epsilonEnd - epsilonStart) * progress;
  }

  /** Epsilon-greedy choice among the unmasked actions. */
  act(state: string, mask: ActionMask, epsilon: number, rng: Rng): number {
    const allowed = indices(mask);
    if (allowed.length === 0) throw new Error(`no action left for state ${state}`);
    if (rng.next() < epsilon) return rng.pick(allowed);
    return this.greedy(state, mask, rng);
  }

  /** The best unmasked action by current value; `tieBreak` picks among equals. */
  greedy(state: string, mask: ActionMask, tieBreak: Rng): number {
    const values = this.#values(state);
    let best = Number.NEGATIVE_INFINITY;
    let ties: number[] = [];
    for (const index of indices(mask)) {
      const value = values[index] ?? 0;
      if (value > best) {
        best = value;
        ties = [index];
      } else if (value === best) ties.push(index);
    }
    if (ties.length === 0) throw new Error(`no action left for state ${state}`);
    return ties.length === 1 ? (ties[0] as number) : tieBreak.pick(ties);
  }

  /** One Q-learning update; `next` is the state the agent continues in (null when the episode ended). */
  update(state: string, action: number, reward: number, next: { readonly state: string; readonly mask: ActionMask } | null): void {
    const values = this.#values(state);
    let future = 0;
    if (next) {
      const nextValues = this.#values(next.state);
      const options = indices(next.mask).map((i) => nextValues[i] ?? 0);
      future = options.length > 0 ? Math.max(...options) : 0;
    }
    const target = reward + this.config.gamma * future;
    const current = values[action] ?? 0;
    values[action] = current + this.config.alpha * (target - current);
  }

  /** A copy of the value table, states sorted, for reports. */
  table(): Record<string, number[]> {
    return Object.fromEntries([...this.#q.entries()].sort(([a], [b]) => compareCodeUnits(a, b)).map(([k, v]) => [k, [...v]]));
  }

  #values(state: string): number[] {
    let values = this.#q.get(state);
    if (!values) {
      const count = this.#actionCounts.get(state);
      if (count === undefined) throw new Error(`unknown state ${state}`);
      values = new Array<number>(count).fill(this.config.initialValue);
      this.#q.set(state, values);
    }
    return values;
  }
}

/** A mask with every action available. */
export function fullMask(count: number): boolean[] {
  return new Array<boolean>(count).fill(true);
}

function indices(mask: ActionMask): number[] {
  const out: number[] = [];
  mask.forEach((open, index) => {
    if (open) out.push(index);
  });
  return out;
}
