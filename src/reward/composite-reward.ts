import { z } from "zod";
import { PolicyKernelError } from "../errors.js";
import { checkRollout, type RewardFn, type RewardRollout, type Rewarder } from "./rollout.js";
import { describeValue, isFunction, noNegativeZero } from "../values.js";
import { optionsError } from "../options.js";

/** A reward component: a function, or an object with `reward(rollout)` such as a PolicyReward. */
export type RewardComponent<R extends RewardRollout = RewardRollout> = RewardFn<R> | Rewarder<R>;

const isComponent = (value: unknown): value is RewardComponent =>
  isFunction(value) || (typeof value === "object" && value !== null && isFunction((value as Rewarder).reward));

/** Options of `new CompositeReward(options)`; unknown keys are an error. */
export const CompositeRewardOptionsSchema = z
  .strictObject({
    /** `[component, weight]` pairs; at least one, finite weights. */
    components: z
      .array(
        z.tuple([
          z.custom<RewardComponent>(isComponent, { message: "a function (rollout) => number or an object with reward(rollout)" }),
          z.number({ message: "a finite number" }),
        ]),
        { message: "an array of [component, weight] pairs" },
      )
      .min(1, { message: "needs at least one [component, weight] pair" }),
    /** Divide each weight by the weights' sum, so they sum to 1. */
    normalize: z.boolean().default(false),
  })
  .superRefine((options, ctx) => {
    if (!options.normalize) return;
    const sum = options.components.reduce((acc, [, weight]) => acc + weight, 0);
    if (sum === 0) ctx.addIssue({ code: "custom", path: ["components"], message: "weights sum to 0, so normalize cannot rescale them" });
  });
/** Options of CompositeReward, with components typed for the caller's rollout. */
export type CompositeRewardOptions<R extends RewardRollout = RewardRollout> = {
  components: readonly (readonly [RewardComponent<R>, number])[];
  normalize?: boolean;
};

/** A weighted sum of reward components (task accuracy, governance, efficiency…). */
export class CompositeReward<R extends RewardRollout = RewardRollout> {
  /** The weights actually applied (rescaled to sum 1 when normalize is on). */
  readonly weights: readonly number[];
  readonly #components: readonly RewardComponent<R>[];

  /** Creates a composite; throws `invalid_config` on no components, a non-finite weight or a zero-sum normalize. */
  constructor(options: CompositeRewardOptions<R>) {
    const parsed = CompositeRewardOptionsSchema.safeParse(options ?? {});
    if (!parsed.success) throw optionsError(parsed.error, "options", CompositeRewardOptionsSchema);
    const raw = parsed.data.components.map(([, weight]) => weight);
    const sum = raw.reduce((acc, w) => acc + w, 0);
    this.weights = Object.freeze(parsed.data.normalize ? raw.map((w) => w / sum) : raw);
    this.#components = options.components.map(([component]) => component);
  }

  /** Weighted sum of the components' rewards; a component returning a non-finite value is an error naming it. */
  reward(rollout: R): number {
    const invalid = checkRollout(rollout);
    if (invalid) throw invalid;
    let total = 0;
    this.#components.forEach((component, index) => {
      const value: unknown = isFunction(component) ? component(rollout) : component.reward(rollout);
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new PolicyKernelError("invalid_input", `reward component returned ${describeValue(value)}`, {
          field: `components[${index}]`,
          expected: "a finite number",
        });
      }
      total += (this.weights[index] ?? 0) * value;
    });
    return noNegativeZero(total);
  }

  /** A plain `(rollout) => number` bound to this composite, for APIs that take functions. */
  toFunction(): RewardFn<R> {
    return (rollout) => this.reward(rollout);
  }
}
