import { z } from "zod";
import { PolicyKernelError } from "../errors.js";
import { SeveritySchema, type Severity } from "../schemas.js";
import { DEFAULT_REWARD_CONFIG, PenaltySchema, SEVERITY_PENALTY_KEY } from "./config.js";
import { noNegativeZero } from "../values.js";
import { optionsError } from "../options.js";

/** Per-severity penalties of `policyPenalty`; each <= 0, omitted ones take the RewardConfig default. */
export const PolicyPenaltyOptionsSchema = z.strictObject({
  criticalPenalty: PenaltySchema.default(DEFAULT_REWARD_CONFIG.criticalPenalty),
  highPenalty: PenaltySchema.default(DEFAULT_REWARD_CONFIG.highPenalty),
  mediumPenalty: PenaltySchema.default(DEFAULT_REWARD_CONFIG.mediumPenalty),
  lowPenalty: PenaltySchema.default(DEFAULT_REWARD_CONFIG.lowPenalty),
});
/** Options of `policyPenalty`, as a caller writes them (every field optional). */
export type PolicyPenaltyOptions = z.input<typeof PolicyPenaltyOptionsSchema>;

const SeverityOnlySchema = z.array(z.looseObject({ severity: SeveritySchema }));

/** Sum (<= 0) of per-severity penalties over `violations`; positive penalties and unknown options are errors. */
export function policyPenalty(violations: readonly { readonly severity: Severity }[], options: PolicyPenaltyOptions = {}): number {
  const parsed = PolicyPenaltyOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) throw optionsError(parsed.error, "options", PolicyPenaltyOptionsSchema);
  const checked = SeverityOnlySchema.safeParse(violations);
  if (!checked.success) {
    throw new PolicyKernelError("invalid_input", "policyPenalty needs an array of violations", {
      field: "violations",
      expected: "objects with severity critical|high|medium|low",
    });
  }
  let total = 0;
  for (const violation of checked.data) total += parsed.data[SEVERITY_PENALTY_KEY[violation.severity]];
  return noNegativeZero(total);
}
