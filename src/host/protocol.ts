import { z } from "zod";
import { SeedSchema } from "../env/rng.js";
import { EnvTrailOptionsSchema } from "../gym/env-trail.js";

// The stdio host's wire protocol (docs/reference/stdio-protocol.md): one JSON object per line each
// way. Every request is checked with one of these strict schemas, so an unknown or misspelt param is
// an error naming it rather than a silently ignored default.

/** The protocol version the ready line and `hello` announce; bumped only by an incompatible change. */
export const PROTOCOL_VERSION = 1;

/** The env kinds `make` builds. */
export const ENV_KINDS = ["sql", "gate"] as const;

/** A request id: an integer or a short string, echoed on the reply. */
export const RequestIdSchema = z.union([z.int(), z.string().max(256)]);
/** A request id. */
export type RequestId = z.infer<typeof RequestIdSchema>;

/** An env handle, as `make` returned it. */
export const EnvHandleSchema = z.int().min(1).max(2 ** 31);

// Values from a request line: JSON.parse made them and readRequest already refused forbidden keys and
// non-finite numbers, so walking them again with z.json() would only cost time on every request.
const json = z.unknown();

/** Trail options of `make`: the env trail's own options. */
const TrailParamSchema = EnvTrailOptionsSchema;

/**
 * Items one `batch` or `evaluate_batch` may hold. A line is capped in bytes, but a reply is not:
 * 200,000 `{}` actions (0.6 MB) would answer with 114 MB. 4,096 covers any vector env.
 */
export const MAX_BATCH_ITEMS = 4096;
const batchOf = <T extends z.ZodType>(item: T) => z.array(item).max(MAX_BATCH_ITEMS, { message: `at most ${MAX_BATCH_ITEMS} items per batch: split it` });

/** Options of a `make` of kind sql. */
export const SqlMakeOptionsSchema = z.strictObject({
  trail: TrailParamSchema.optional(),
  rewardConfig: z.record(z.string(), json).optional(),
  governed: z.boolean().optional(),
  rowBudget: z.int().min(0).nullable().optional(),
});

/** Options of a `make` of kind gate. */
export const GateMakeOptionsSchema = z.strictObject({
  trail: TrailParamSchema.optional(),
  rewardConfig: z.record(z.string(), json).optional(),
  agentId: z.string().min(1).max(256).optional(),
  terminateOnCritical: z.boolean().optional(),
  startTime: z.string().max(64).optional(),
  secondsPerStep: z.number().nonnegative().optional(),
});

/** Params of each op (the id and op members are checked before). */
export const OP_PARAMS = {
  hello: z.strictObject({}),
  evaluate: z.strictObject({ action: json }),
  evaluate_batch: z.strictObject({ actions: batchOf(json) }),
  make: z.strictObject({ kind: z.enum(ENV_KINDS), options: z.record(z.string(), json).optional() }),
  reset: z.strictObject({ env: EnvHandleSchema, seed: SeedSchema.optional(), options: z.strictObject({ taskIndex: z.int().optional() }).optional() }),
  step: z.strictObject({ env: EnvHandleSchema, action: z.int() }),
  check: z.strictObject({ env: EnvHandleSchema, action: json, context: z.record(z.string(), json).optional() }),
  record: z.strictObject({ env: EnvHandleSchema, result: json.optional(), success: z.boolean().optional(), costUsd: z.number().nonnegative().optional() }),
  batch: z.strictObject({ requests: batchOf(z.record(z.string(), json)) }),
  metrics: z.strictObject({ env: EnvHandleSchema }),
  trail: z.strictObject({ env: EnvHandleSchema, entries: z.boolean().optional() }),
  close: z.strictObject({ env: EnvHandleSchema }),
  verify_trail: z.strictObject({ path: z.string().min(1).max(4096), publicKey: z.string().min(1).max(4096).optional() }),
  shutdown: z.strictObject({}),
} as const;

/** An op the host serves. */
export type OpName = keyof typeof OP_PARAMS;
/** The params of op `O`, checked. */
export type OpParams<O extends OpName> = z.infer<(typeof OP_PARAMS)[O]>;

/** The ops a `batch` may hold. */
export const BATCH_OPS: readonly OpName[] = ["reset", "step", "check", "record", "evaluate"];

/** An error reply's body: a string code, the message, and where and what was expected when known. */
export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  readonly expected?: string;
}

/** Error codes of the host itself (library errors keep their own). */
export type HostErrorCode = "invalid_request" | "unknown_op" | "unknown_env" | "too_many_envs" | "too_large" | "internal_error";

/** A host error: its code goes on the wire as it is. */
export class HostError extends Error {
  readonly code: HostErrorCode;
  readonly field: string | undefined;
  readonly expected: string | undefined;

  constructor(code: HostErrorCode, message: string, location: { readonly field?: string; readonly expected?: string } = {}) {
    super(message);
    this.name = "HostError";
    this.code = code;
    this.field = location.field;
    this.expected = location.expected;
  }
}
