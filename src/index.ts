/**
 * policy-kernel decides, before an AI agent's action runs, whether policies written in Rego or as
 * JSON rules allow it, and feeds that one {@link Decision} to RL training.
 *
 * - **Decide**: {@link createPolicyKernel} loads a bundle (the default one, or yours) and rules once;
 *   {@link PolicyKernel.evaluate} returns a {@link Decision}: `allowed`, every {@link Violation}, signals
 *   and provenance. It never throws: what cannot be evaluated is denied.
 * - **Test policies**: {@link loadDecisionCases} and {@link runDecisionCases} run case files against a kernel.
 * - **Train**: {@link GovernedRunner} runs an agent whose every action goes through the kernel;
 *   {@link GovernedEnvironment} is the Gymnasium-style environment ({@link checkEnv} is its contract test).
 * - **Shape rewards**: {@link PolicyReward} turns a rollout's violations into a reward;
 *   {@link CompositeReward} adds weighted components.
 * - **Audit**: {@link FlightRecorder} keeps a hash-chained, signed trail; {@link verifyJsonl} checks one;
 *   {@link FlightRecorderEmitter} turns it into spans.
 * - **Errors** are {@link PolicyKernelError}s whose message names the file, the field and what was expected.
 *
 * @packageDocumentation
 */
// Public API. Named exports only (no `export *`), so what is public is a decision.
export { createPolicyKernel, PolicyKernelOptionsSchema } from "./kernel/create-kernel.js";
export type { PolicyKernelOptions } from "./kernel/create-kernel.js";
export type { PolicyKernel, EvaluateOptions } from "./kernel/types.js";
export { DEFAULT_ACTION_TYPES } from "./kernel/action-types.js";
export { DEFAULT_TOOL_REGISTRY, ToolMappingSchema, ToolRegistrySchema } from "./kernel/tool-registry.js";
export type { ToolMapping, ToolRegistryInput } from "./kernel/tool-registry.js";
export { DEFAULT_MAX_ACTION_BYTES } from "./kernel/frozen-action.js";
export type { KernelAuditSink, KernelAuditEvent, PolicyCheckEvent, SignalEvent } from "./kernel/audit-sink.js";
// Decision logs: each decision as an OPA decision-log event, to a file or a service (docs/guides/decision-logs.md)
export { createDecisionLog, isDecisionLog } from "./decision-log/decision-log.js";
export type { DecisionLog, DecisionLogReport } from "./decision-log/decision-log.js";
export { DecisionLogOptionsSchema, DecisionLogUploadSchema } from "./decision-log/options.js";
export type { DecisionLogOptions } from "./decision-log/options.js";
export { DecisionLogEventSchema } from "./decision-log/event.js";
export type { DecisionLogEvent } from "./decision-log/event.js";
export { MaskRuleSchema } from "./decision-log/mask.js";
export type { MaskRule } from "./decision-log/mask.js";
export {
  sqlPolicy,
  costControlPolicy,
  toolsPolicy,
  piiPolicy,
  transactionPolicy,
  businessHoursPolicy,
  rateLimitPolicy,
  readOnlyPolicy,
} from "./kernel/policies.js";
export type { PolicySpec } from "./kernel/policies.js";
export { defaultBundlePath, defaultRulesPath, DEFAULT_REGO_POLICIES, DEFAULT_JSON_POLICIES } from "./kernel/defaults.js";
export { createSqlAnalyzer, type SqlAnalyzer, type SqlAnalyzerOptions, type SqlJudgement } from "./sql/analyze.js";
export { toPolicyInput } from "./kernel/enrich.js";
// Input binding: an agent action -> the input an unchanged infrastructure policy reads (docs/guides/input-binding.md)
export { InputBindingSchema, BindingRuleSchema, BindingWhenSchema, TemplateLeafSchema, TemplateNodeSchema, UrlPartSchema } from "./kernel/binding/schema.js";
export type { InputBinding, BindingRule, BindingWhen, TemplateLeaf, TemplateNode, UrlPart } from "./kernel/binding/schema.js";
export { loadInputBinding, parseInputBinding, MAX_BINDING_FILE_BYTES } from "./kernel/binding/load.js";
export { bindInput, bindingViolation, findBinding, MAX_BOUND_VALUES } from "./kernel/binding/bind.js";
export type { BindResult, BindingContext } from "./kernel/binding/bind.js";
export { checkBinding, assertBindingFeeds, givenPaths } from "./kernel/binding/check.js";
export type { BindingProblem, GivenPath } from "./kernel/binding/check.js";
export { inputPathsOfEntrypoint, entrypointInputPaths, inputPathsWithOpa, inputPathsFromDeps } from "./kernel/binding/entrypoint-paths.js";
export type { EntrypointPathsOptions } from "./kernel/binding/entrypoint-paths.js";
export { loadCheckedBinding } from "./kernel/binding/checked-binding.js";
export { readBundle } from "./engines/rego/bundle.js";
export type { PolicyBundle } from "./engines/rego/bundle.js";
export { BundleLimitsSchema, DEFAULT_BUNDLE_LIMITS } from "./engines/rego/bundle.js";
export type { BundleLimits } from "./engines/rego/bundle.js";
// Signed bundles, OPA's format (docs/guides/signed-bundles.md)
export { readVerifiedBundle, readVerifiedBundleBytes } from "./engines/rego/verified-bundle.js";
export type { ReadBundleOptions, BundleReader } from "./engines/rego/verified-bundle.js";
export { verifyBundleFiles, BundleVerificationSchema, SIGNING_ALGORITHMS } from "./engines/rego/bundle-signature.js";
export type { BundleVerification } from "./engines/rego/bundle-signature.js";
export type { TarFile } from "./engines/rego/tar.js";
// Bundles served by URL, OPA's bundle protocol, hot-swapped (docs/guides/bundle-service.md)
export { readBundleBytes } from "./engines/rego/bundle.js";
export { BundleServiceOptionsSchema, BundleStatusSchema, isBundleUrl } from "./bundle-service/config.js";
export type { BundleServiceOptions, BundleStatus, BundleStatusListener } from "./bundle-service/config.js";
export { downloadBundle, BundleDownloadError, LONG_POLL_CONTENT_TYPE } from "./bundle-service/download.js";
export type { DownloadRequest, DownloadResult } from "./bundle-service/download.js";
export { BUILTIN_POLICY_CONFIG, validatePolicyConfig } from "./kernel/policy-config.js";
export { createRegoEngine, DEFAULT_ENTRYPOINT } from "./engines/rego/rego-engine.js";
export { createOpaEngine } from "./engines/opa/opa-engine.js";
export type { OpaEngine, OpaEngineOptions, OpaEntrypointPlan } from "./engines/opa/opa-engine.js";
export { ConventionSchema, CONVENTION_DEFAULTS } from "./engines/opa/conventions.js";
export type { Convention, FindingStamp } from "./engines/opa/conventions.js";
export { OpaSourceSchema, OpaEntrypointConfigSchema } from "./engines/opa/source.js";
export type { OpaSource, OpaEntrypointConfig } from "./engines/opa/source.js";
export type { PolicyEngine, EngineSource } from "./engines/engine.js";
export { loadDecisionCases, runDecisionCases } from "./testing/decision-cases.js";
export type { DecisionCase, CaseResult } from "./testing/decision-cases.js";
export { PolicyKernelError, isPolicyKernelError } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export { canonicalJson, sha256Hex } from "./canonical-json.js";
export { boundedDetails, MAX_DETAILS_BYTES, MAX_DETAILS_DEPTH } from "./violation-details.js";
export type { JsonValue } from "./audit/json-value.js";
export {
  ActionSchema,
  ActionBodySchema,
  ActionContextSchema,
  DecisionSchema,
  ViolationSchema,
  ViolationDetailsSchema,
  PolicyFindingSchema,
  PolicyInputSchema,
  SeveritySchema,
  DEFAULT_SEVERITY_PENALTY,
} from "./schemas.js";
export type { Action, ActionInput, ActionBody, ActionContext, Decision, Violation, PolicyFinding, PolicyInput, Provenance, Severity, Effect } from "./schemas.js";

// Training layer: runner
export { GovernedRunner, GovernedRunnerOptionsSchema, StepOptionsSchema, IterOptionsSchema } from "./runner/governed-runner.js";
export type { GovernedRunnerOptions, StepOptions, IterOptions, IterSummary, ActionExecutor, ExecutionInfo, ViolationCallback, ViolationInfo } from "./runner/governed-runner.js";
export type { CostFn, CostInfo } from "./runner/governed-runner.js";
export { actionAgent } from "./runner/agent.js";
export type { GovernedAgent, GovernedAgentFn, AgentStepContext, ActOutcome, ActionAgentInput } from "./runner/agent.js";
export { PolicyViolationError, ActionBlockedError } from "./runner/errors.js";
export { InMemoryTaskStore } from "./runner/in-memory-store.js";
export { TaskSchema } from "./runner/task-store.js";
export type { Task, TaskStore } from "./runner/task-store.js";
export { GovernedRolloutSchema, RunnerStatsSchema, RunModeSchema } from "./runner/rollout.js";
export type { GovernedRollout, RunnerStats, RunMode, WorkerId } from "./runner/rollout.js";

// Training layer: reward shaping
export { PolicyReward, createPolicyReward, successReward, PolicyRewardOptionsSchema, CreatePolicyRewardOptionsSchema } from "./reward/policy-reward.js";
export type { PolicyRewardOptions, CreatePolicyRewardOptions, PolicyRewardStats, RewardBreakdown } from "./reward/policy-reward.js";
export {
  RewardConfigSchema,
  DEFAULT_REWARD_CONFIG,
  defaultRewardConfig,
  conservativeRewardConfig,
  lenientRewardConfig,
  unboundedRewardConfig,
} from "./reward/config.js";
export type { RewardConfig, RewardConfigInput } from "./reward/config.js";
export { policyPenalty } from "./reward/policy-penalty.js";
export type { PolicyPenaltyOptions } from "./reward/policy-penalty.js";
export { CompositeReward } from "./reward/composite-reward.js";
export type { CompositeRewardOptions, RewardComponent } from "./reward/composite-reward.js";
export type { RewardRollout, RewardFn, Rewarder } from "./reward/rollout.js";

// Training layer: Gymnasium-style environment
export { GovernedEnvironment, createGovernedEnv } from "./env/environment.js";
export { stepReward } from "./env/step-reward.js";
export type { TaskOutcome, StepRewardShaper, ShapedStep, ShapedReward, RewardFn as EnvRewardFn, RewardParts } from "./env/step-reward.js";
export { runsAction } from "./kernel/guarded-evaluate.js";
export type {
  CreateGovernedEnvOptions,
  ContextFn,
  EnvCostFn,
  EnvironmentMetrics,
  Executor,
  ExecutorOutcome,
  GovernedEnvironmentOptions,
  ResetInfo,
  ResetParams,
  ResetResult,
  StepAction,
  StepInfo,
  StepResult,
  TaskGenerator,
  ToolCallRecorder,
} from "./env/environment.js";
export { EnvironmentConfigSchema, SEVERITY_SCALE, parseEnvironmentConfig } from "./env/config.js";
export type { EnvironmentConfig, EnvironmentConfigInput } from "./env/config.js";
export { createRng, DEFAULT_SEED } from "./env/rng.js";
export type { Rng } from "./env/rng.js";
export { EnvError, ResetNeeded, EnvClosed, EnvCheckError, isEnvError, isResetNeeded } from "./env/errors.js";
export { checkEnv, DEFAULT_CHECK_ACTIONS } from "./env/check-env.js";
export type { CheckEnvOptions, CheckEnvReport } from "./env/check-env.js";

// Environments for trainers in other languages (served by `policy-kernel serve --stdio`)
export { GovernedSqlEnv, SQL_ACTION_COUNT, sqlChainId } from "./gym/governed-sql-env.js";
export type { GovernedSqlEnvOptions, GovernedSqlEnvOpenOptions, SqlEnvSpec, SqlTaskSpec, SqlObservation, SqlResetInfo, SqlResetParams, SqlResetResult, SqlStepInfo, SqlStepResult } from "./gym/governed-sql-env.js";
export { GovernanceGate } from "./gym/governance-gate.js";
export type { GovernanceGateOptions, GateCheck, GateOutcome } from "./gym/governance-gate.js";
export { createEnvTrail, closeEnvTrail, envTrailInfo, EnvTrailOptionsSchema, ENV_TRAIL_EPOCH, ENV_TRAIL_CHECKPOINT_EVERY } from "./gym/env-trail.js";
export type { EnvTrailOptions, EnvTrailInfo, EnvTrailReport } from "./gym/env-trail.js";

// Audit: hash-chained flight recorder and span emitter
export { FlightRecorder, FlightRecorderEntrySchema, verifyEntries, verifyJsonl, readJsonl, streamJsonl, streamVerifiedJsonl, parseJsonl, computeEntryHash, GENESIS_HASH } from "./audit/flight-recorder.js";
export { readTrail, parseTrail, describeUnsealed, CheckpointSchema, checkpointSignatureValid, generateTrailKeyPair, publicKeyPem, trailKeyId } from "./audit/flight-recorder.js";
export type { Checkpoint, TrailLine, VerifySuccess, VerifyFailure } from "./audit/flight-recorder.js";
export { summarizeJsonl, summarizeEntries, type ViolationSummary } from "./audit/violation-summary.js";
export type { FlightRecorderEntry, FlightRecorderOptions, PolicyCheckEntry, SignalEntry, ToolCallEntry, ToolCallRecord, VerifyResult, VerifyOptions } from "./audit/flight-recorder.js";
export { FlightRecorderEmitter, createEmitter, EmitterOptionsSchema, exportJsonlSpans } from "./audit/emitter.js";
export type { EmitterOptions, EmitToStoreResult, SpanStore, StreamOptions } from "./audit/emitter.js";
export { SpanSchema, entryToSpan, MAX_ATTRIBUTE_CHARS } from "./audit/span.js";
export type { Span, SpanEvent, SpanAttributes } from "./audit/span.js";

// Types the exports above name in their signatures, so a caller can write them down and the API
// reference can link them (`make docs-check` fails on a public signature naming an unexported type).
export type { SqlAction, ToolCallAction, MessageAction, TransactionAction, OtherAction, SqlDialect, PolicyFacts } from "./schemas.js";
export type { ToolCallEvent } from "./kernel/audit-sink.js";
export type { FactNeeds } from "./kernel/enrich.js";
export type { ConfigSourceOf } from "./kernel/policy-config.js";
export type { ErrorLocation } from "./errors.js";
export type { FactsRead, FactsReadByActionType } from "./engines/facts-read.js";
export type { RegoEngine, RegoEngineOptions } from "./engines/rego/rego-engine.js";
export type { InputPaths } from "./engines/rego/projection-tree.js";
export { DecisionCaseSchema } from "./testing/decision-cases.js";
export type { RolloutData } from "./runner/rollout.js";
export type { Awaitable } from "./runner/task-store.js";
export type { Seed, RngState } from "./env/rng.js";
export type { EnvErrorCode } from "./env/errors.js";
export type { CheckName, CheckableEnv } from "./env/check-env.js";
export type { EntryType, EntryMetadata, VerifyFailureReason } from "./audit/flight-recorder.js";
export type { EntryToSpanOptions } from "./audit/span.js";
export { DecisionInputSchema, type DecisionInput } from "./kernel/decision-input.js";
export { readTrailFacts, replayJsonl, provenanceKey, NO_INPUT, RAW_INPUT_NEEDED, type ReplayOptions, type ReplayedDecision, type SkippedDecision, type TrailFacts } from "./audit/replay.js";
export { ImpactCollector, decisionChange, decisionDifferences, impactText, changeText, describeAction, ruleKey, type DecisionChange, type ImpactSummary, type RuleImpact } from "./audit/impact.js";
export { generateActions } from "./testing/generated-actions.js";
