import { z } from "zod";
import { isPlainObject } from "../values.js";

// The input of one decision as the audit trail records it (a policy_check entry's `input`): what
// `policy-kernel replay` hands the kernel to decide it again.

/** A refusal at the trust boundary the caller passed to `evaluate` (EvaluateOptions.refusal). */
const RecordedRefusalSchema = z.strictObject({ rule: z.string(), description: z.string() });

/**
 * What the kernel decided on, beyond the entry's `agentId` and `action`, so `policy-kernel replay`
 * can decide it again: `action` — the input was `{agentId, action, context}` (the trusted context
 * with the logical time `now`, as evaluated); `invalid_action` — a malformed action, recorded as
 * given (the entry's `action` is only what could be read of it); `raw_input` — a raw-input kernel's
 * `evaluateInput`, whose input is the entry's `action.input`. Agent-controlled: stored as data,
 * and a replay reads it as hostile input. Absent in trails written before inputs were recorded,
 * and for an action that could not even be copied (it was denied unread).
 */
export const DecisionInputSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("action"),
    context: z.custom<Record<string, unknown>>(isPlainObject, "an object (the action's context)"),
    refusal: RecordedRefusalSchema.optional(),
  }),
  z.strictObject({ kind: z.literal("invalid_action"), value: z.json(), refusal: RecordedRefusalSchema.optional() }),
  z.strictObject({ kind: z.literal("raw_input") }),
]);
/** The recorded input of one decision (see DecisionInputSchema). */
export type DecisionInput = z.infer<typeof DecisionInputSchema>;
