import { z } from "zod";
import { MaskRuleSchema } from "./mask.js";

/** Schema of the `upload` member of {@link DecisionLogOptions}: batching and retries, OPA's defaults where it has them. */
export const DecisionLogUploadSchema = z.strictObject({
  /** Most events in one POST (default 1000). */
  maxEvents: z.number().int().positive().optional(),
  /** Most bytes of one POST's JSON before gzip (default 1 MiB); a larger single event is reported, not sent. */
  maxBytes: z.number().int().positive().optional(),
  /** Longest an event waits before its batch is sent (default 1000 ms). */
  flushMs: z.number().int().nonnegative().optional(),
  /** First retry delay after a failed POST (default 100 ms, OPA's); then x1.6 per retry with 20% jitter. */
  minRetryMs: z.number().int().positive().optional(),
  /** Longest retry delay (default 10000 ms). */
  maxRetryMs: z.number().int().positive().optional(),
  /** Events held while the service is unreachable (default 10000, OPA's); beyond, the oldest are dropped and counted. */
  maxBufferedEvents: z.number().int().positive().optional(),
  /** How long `close` keeps retrying what is left before it reports it undelivered (default 10000 ms). */
  closeTimeoutMs: z.number().int().nonnegative().optional(),
  /** Timeout of one POST (default 10000 ms). */
  requestTimeoutMs: z.number().int().positive().optional(),
});

/** Schema of {@link DecisionLogOptions}. */
export const DecisionLogOptionsSchema = z
  .strictObject({
    /** Append each event as one JSON line to this file (created when missing). */
    file: z.string().min(1).optional(),
    /**
     * POST batches of events, as OPA does, to this `http:` or `https:` URL: the decision-log
     * service's URL plus its resource (OPA's default resource is `/logs`).
     */
    url: z.string().min(1).optional(),
    /** Sent as `Authorization: Bearer <token>` (OPA's bearer credentials). */
    token: z.string().min(1).optional(),
    /** `labels` of every event, over the defaults `id` (derived from `seed`) and `version` (the package's). */
    labels: z.record(z.string(), z.string()).optional(),
    /** OPA mask rules applied to every event before it leaves: `"/input/password"` or `{op, path, value}`. */
    mask: z.array(MaskRuleSchema).optional(),
    /** Decision ids and the default `labels.id` derive from it (default "policy-kernel"): give each run its own. */
    seed: z.string().min(1).optional(),
    /** `path` of every event, what was evaluated (default "policy_kernel/decision"). */
    path: z.string().min(1).optional(),
    /** The bundle's name in `bundles` (default "policy_kernel"). */
    bundleName: z.string().min(1).optional(),
    /** Batching and retries of `url` uploads. */
    upload: DecisionLogUploadSchema.optional(),
  })
  .refine((o) => (o.file === undefined) !== (o.url === undefined), { message: "give exactly one of file and url", path: ["file"] })
  .refine((o) => o.token === undefined || o.url !== undefined, { message: "a token goes with url", path: ["token"] });
/** Where and how a kernel reports each decision as an OPA decision-log event (docs/guides/decision-logs.md). */
export type DecisionLogOptions = z.input<typeof DecisionLogOptionsSchema>;
