import { types } from "node:util";
import { z } from "zod";
import type { Logger } from "pino";
import { canonicalJson, sha256Hex } from "../canonical-json.js";
import { PolicyKernelError, assertJsonData, errorMessage, issuePath } from "../errors.js";
import { optionsError } from "../options.js";
import { createLogger, isLogger } from "../logging.js";
import { ActionSchema, ONCE, type Action, type ActionInput, type Decision, type PolicyFinding, type PolicyInput, type Provenance, type Violation, type ViolationSource } from "../schemas.js";
import type { PolicyEngine } from "../engines/engine.js";
import { BundleLimitsSchema, kernelSection, type PolicyBundle } from "../engines/rego/bundle.js";
import { BundleVerificationSchema } from "../engines/rego/bundle-signature.js";
import { readVerifiedBundle, type BundleReader } from "../engines/rego/verified-bundle.js";
import { createRegoEngine, DEFAULT_ENTRYPOINT } from "../engines/rego/rego-engine.js";
import { assertNoPreparedValues } from "../engines/rego/prepared-values.js";
import { createJsonRulesEngine, loadRuleSets, type RuleSet } from "../engines/json/index.js";
import { isAuditSink, recordSafely, type KernelAuditSink } from "./audit-sink.js";
import type { DecisionInput } from "./decision-input.js";
import { protoKeyField, readAction } from "./action-check.js";
import { sealDecision } from "./sealed-decision.js";
import { freezeProvenance } from "../decision-check.js";
import { buildDecision, kernelViolation, toViolation } from "./decision.js";
import { defaultBundlePath, defaultRulesPath } from "./defaults.js";
import { factNeedsByActionType, nonFiniteFact, toPolicyInput, type FactNeedsByActionType } from "./enrich.js";
import { effectiveData, readConfig } from "./effective-data.js";
import { isPlainObject } from "../values.js";
import { assertNoJsonHazard } from "../safe-json.js";
import { configSources, validatePolicyConfig, type ConfigLayer } from "./policy-config.js";
import type { PolicySpec } from "./policies.js";
import { createSqlAnalyzer, type SqlAnalyzer, type SqlJudgement } from "../sql/analyze.js";
import { DEFAULT_SQL_ANALYZER } from "../sql/default-analyzer.js";
import type { EvaluateOptions, PolicyKernel } from "./types.js";
import { DEFAULT_MAX_ACTION_BYTES, frozenCopy } from "./frozen-action.js";
import { declaredActionTypes, unknownTypeViolation } from "./action-types.js";
import { buildToolRegistry, carriedActions, ToolRegistrySchema, type ToolMapping } from "./tool-registry.js";
import { OpaSourceSchema } from "../engines/opa/source.js";
import type { OpaEngine } from "../engines/opa/opa-engine.js";
import { bundlesProvenance, checkOpaOptions, loadOpaEngines } from "./opa-sources.js";
import { BundleServiceOptionsSchema } from "../bundle-service/config.js";
import { servedBundleUrls, createServedKernel } from "../bundle-service/served-kernel.js";
import { isDecisionLog, type DecisionLog } from "../decision-log/decision-log.js";
import type { DecisionLogOptions } from "../decision-log/options.js";
import { kernelDecisionLog, withDecisionLog } from "../decision-log/kernel-hook.js";

const PolicySpecSchema = z.strictObject({
  name: z.string().min(1),
  config: z.record(z.string(), z.unknown()),
  mergeLists: z.boolean().optional(),
});

/** Build-time options; per-call options (`now`) go to `evaluate`. */
export const PolicyKernelOptionsSchema = z.strictObject({
  /** Bundle `.tar.gz` or folder; default: the shipped default bundle; `false`: no Rego engine. */
  bundle: z.union([z.string().min(1), z.literal(false)]).optional(),
  /** JSON rule-set files or folders; default: the shipped `rules/`; `false`: no JSON engine. */
  rules: z.union([z.array(z.string().min(1)), z.literal(false)]).optional(),
  /** Switch on only these policies, with their configuration (`sqlPolicy({...})`, ...). */
  policies: z.array(PolicySpecSchema).optional(),
  /** Data deep-merged over the bundle's data (e.g. `{policy_kernel: {config: {cost: {max_cost_usd: 5}}}}`). */
  data: z.record(z.string(), z.unknown()).optional(),
  /** Where `data` came from (a file name), for error messages; default "createPolicyKernel.data". */
  dataSource: z.string().min(1).optional(),
  /** Caps on the bundle (decompressed bytes, file count, bytes per file); defaults in DEFAULT_BUNDLE_LIMITS. */
  bundleLimits: BundleLimitsSchema.optional(),
  /** The key `bundle` is signed with (OPA's `.signatures.json`; docs/guides/signed-bundles.md); absent: `bundle` must be unsigned. */
  verification: BundleVerificationSchema.optional(),
  /** Rego entrypoint returning the violation set (default `kernel/violations`). */
  entrypoint: z.string().min(1).optional(),
  /** Let actions through when a policy cannot be evaluated (recorded as a critical warning). Default false. */
  failOpen: z.boolean().optional(),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
  /** A pino logger; kernels given the same one report a bundle's load-time problem once (onceFor). */
  logger: z.custom<Logger>(isLogger, "a pino logger").optional(),
  /** Receives an entry for every decision and signal (a FlightRecorder). */
  recorder: z
    .custom<KernelAuditSink>(isAuditSink, "an object with a record(event) method")
    .optional(),
  /** The action types allowed at all (exact names); default: the default library's plus `data.policy_kernel.action_types`. */
  actionTypes: z.array(z.string().min(1)).optional(),
  /** Tools that carry SQL, messages or money, over the defaults and `data.policy_kernel.tool_registry` (`false` unregisters). */
  toolRegistry: ToolRegistrySchema.optional(),
  /** Largest action (compact JSON bytes) the kernel analyses; a larger one is denied unread. Default 4 MiB. */
  maxActionBytes: z.number().int().positive().optional(),
  /** OPA bundles someone else wrote, each with the entrypoints that decide (docs/guides/your-own-opa.md); given, `bundle` and `rules` default to none. */
  opa: z.array(OpaSourceSchema).optional(),
  /** The `opa` policies read the caller's JSON as their `input`, as it is: decide with `evaluateInput`. Default false. */
  rawInput: z.boolean().optional(),
  /** How `http(s)://` bundles are fetched and polled (docs/guides/bundle-service.md): token, delays, timeouts, status listener. */
  bundleService: BundleServiceOptionsSchema.optional(),
  /** Report every decision as an OPA decision-log event: options ({file} or {url}, labels, mask...) or a shared DecisionLog (docs/guides/decision-logs.md). */
  decisionLog: z.custom<DecisionLog | DecisionLogOptions>((v) => isDecisionLog(v) || isPlainObject(v), "a DecisionLog, or decision-log options {file} or {url}").optional(),
});
export type PolicyKernelOptions = z.input<typeof PolicyKernelOptionsSchema>;

/**
 * Prepares a kernel once: reads and instantiates the bundle, loads and validates the rule
 * sets, merges configuration. Bad input throws a PolicyKernelError naming file and field;
 * after that, `evaluate` never throws.
 */
export async function createPolicyKernel(options: PolicyKernelOptions = {}): Promise<PolicyKernel> {
  checkUntrustedOptions(options);
  const parsed = PolicyKernelOptionsSchema.safeParse(options, ONCE);
  if (!parsed.success) throw optionsError(parsed.error, "createPolicyKernel", PolicyKernelOptionsSchema);
  const opts = parsed.data;
  if (opts.data !== undefined) {
    assertJsonData(opts.data, "createPolicyKernel.data");
    assertNoPreparedValues(opts.data, { field: "createPolicyKernel.data.policy_kernel.prepared" });
  }
  const logger = createLogger({ level: opts.logLevel, logger: opts.logger, name: "policy-kernel" });
  checkOpaOptions(opts);
  // Bundles given by URL: a kernel that polls them and swaps in each new revision (bundle-service/).
  const urls = servedBundleUrls(opts);
  if (urls.length > 0) {
    // One decision log across revisions: each revision's kernel writes to it, the served kernel closes it.
    const shared = kernelDecisionLog(opts.decisionLog, logger);
    const perRevision = shared === undefined ? opts : { ...opts, decisionLog: shared.log };
    try {
      return await createServedKernel(urls, opts.bundleService ?? {}, opts.bundleLimits, logger, (read) => prepareKernel(perRevision, logger, read), shared);
    } catch (error) {
      if (shared?.owned) void shared.log.close();
      throw error;
    }
  }
  return prepareKernel(opts, logger, readVerifiedBundle);
}

/** The kernel of `createPolicyKernel`, reading each bundle through `read`. */
async function prepareKernel(opts: z.output<typeof PolicyKernelOptionsSchema>, logger: Logger, read: BundleReader): Promise<PolicyKernel> {
  const sayOnce = onceFor(opts.logger);
  const failOpen = opts.failOpen ?? false;
  const specs = opts.policies;
  // With OPA bundles of one's own, the default library and rules come only when named.
  const ownOpa = (opts.opa?.length ?? 0) > 0;
  const bundlePath = opts.bundle ?? (ownOpa ? false : defaultBundlePath());
  const rulesPaths = opts.rules ?? (ownOpa ? false : [defaultRulesPath()]);

  if (bundlePath === false && opts.verification) throw new PolicyKernelError("invalid_config", "a verification key needs the bundle it verifies", { field: "createPolicyKernel.verification", expected: "bundle: PATH beside verification (for opa: [...] bundles, verification inside each)" });
  const bundle: PolicyBundle | undefined = bundlePath === false ? undefined : await read(bundlePath, { limits: opts.bundleLimits, verification: opts.verification });
  const ruleSets: RuleSet[] = rulesPaths === false ? [] : loadRuleSets(rulesPaths);

  const jsonPolicies = [...new Set(ruleSets.flatMap((set) => set.rules.map((rule) => rule.event.params.policy)))].sort();
  const regoPolicies = bundle ? declaredPolicies(bundle) : [];
  if (specs) checkSpecs(specs, [...regoPolicies, ...jsonPolicies]);

  const data = effectiveData(bundle?.data ?? {}, ruleSets, specs, regoPolicies, opts.data ?? {});
  const config = readConfig(data);
  // `policies` given: only those are on; otherwise everything is.
  const enabled = specs ? new Set(specs.map((s) => s.name)) : undefined;
  const active = (names: readonly string[]): string[] => (enabled ? names.filter((name) => enabled.has(name)) : [...names]);
  // A built-in policy with a mistyped value would compare false and let actions through: a load error instead.
  validatePolicyConfig(config, active([...regoPolicies, ...jsonPolicies]), configSources(configLayers(opts, bundle, ruleSets)));

  const engines: PolicyEngine[] = [];
  if (bundle) {
    // A missing entrypoint or builtin is a load error from createRegoEngine itself.
    const engine = await createRegoEngine({ bundle, data, entrypoint: opts.entrypoint ?? DEFAULT_ENTRYPOINT, policyNames: active(regoPolicies) });
    const where = { bundle: bundle.location };
    for (const problem of engine.diagnostics) sayOnce(`${bundle.sha256}\0${problem}`, () => logger.error(where, problem));
    const note = engine.buildRecordNote;
    if (note) sayOnce(`${bundle.sha256}\0${note}`, () => logger.warn(where, note));
    engines.push(engine);
  }
  const activeRuleSets = enabled ? filterRuleSets(ruleSets, enabled) : ruleSets;
  if (activeRuleSets.some((set) => set.rules.length > 0)) engines.push(createJsonRulesEngine({ ruleSets: activeRuleSets, config }));
  const opaEngines = await loadOpaEngines(opts.opa ?? [], opts.bundleLimits, opts.data, read);
  // Raw input goes to the OPA engines only, through evaluateInput; otherwise they judge actions beside the others.
  if (!opts.rawInput) engines.push(...opaEngines);

  // Every decision shares this object: frozen, so editing one decision's provenance cannot rewrite the next.
  const provenance: Provenance = freezeProvenance({
    bundleRevision: null,
    bundleSha256: null,
    rulesSha256: null,
    ...Object.assign({}, ...engines.map((e) => e.provenance)),
    ...Object.assign({}, ...opaEngines.map((e) => e.provenance)),
    // Each engine once: without rawInput the OPA engines are among `engines` too.
    ...bundlesProvenance([...new Set([...engines, ...opaEngines])].map((e) => e.provenance)),
    // With OPA bundles of one's own, the data of each is part of what decided.
    dataSha256: sha256Hex(canonicalJson(opaEngines.length === 0 ? data : [data, ...opaEngines.map((e) => e.dataSha256)])),
  });
  const policyNames = [...new Set([...new Set([...engines, ...opaEngines])].flatMap((e) => e.policyNames))].sort();
  logger.info({ policies: policyNames, provenance }, "policy kernel ready");

  // Facts no engine reads are not computed: a kernel running three policies skips the SQL analysis
  // and PII scan, and an SQL action skips the clock only transaction policies read.
  const needs = factNeedsByActionType(engines);
  const boundary: Boundary = {
    actionTypes: declaredActionTypes(data, opts.actionTypes),
    tools: buildToolRegistry(data, opts.toolRegistry),
    maxActionBytes: opts.maxActionBytes ?? DEFAULT_MAX_ACTION_BYTES,
  };
  const sql = await sqlAnalyzerFor(config);
  // Last: a load error above leaves no decision-log file open.
  const decisionLog = kernelDecisionLog(opts.decisionLog, logger);
  const kernel = new Kernel(engines, provenance, policyNames, failOpen, logger, withDecisionLog(opts.recorder, decisionLog), needs, boundary, sql, opts.rawInput ? opaEngines : undefined);
  kernel.attachDecisionLog(decisionLog);
  return kernel;
}

const SQL_JUDGEMENTS: readonly SqlJudgement[] = ["any", "postgres", "sqlite"];

/**
 * The SQL analyzer `config.sql` asks for: its `dialect` (`postgres`, `sqlite`, or `any`, the
 * default), `sqlite_schema` (DDL SQLite statements compile against) and `max_sql_length`. The
 * process's shared analyzer when none is set.
 */
async function sqlAnalyzerFor(config: Readonly<Record<string, unknown>>): Promise<SqlAnalyzer> {
  const sql = isPlainObject(config["sql"]) ? config["sql"] : {};
  const { dialect, sqlite_schema: schema, max_sql_length: maxSqlLength } = sql;
  if (dialect !== undefined && !SQL_JUDGEMENTS.includes(dialect as SqlJudgement)) {
    throw new PolicyKernelError("invalid_config", `unknown SQL dialect ${JSON.stringify(dialect)}`, { field: "policy_kernel.config.sql.dialect", expected: SQL_JUDGEMENTS.join(", ") });
  }
  if (schema !== undefined && typeof schema !== "string") {
    throw new PolicyKernelError("invalid_config", "the SQLite schema must be DDL text", { field: "policy_kernel.config.sql.sqlite_schema", expected: "a string of CREATE TABLE statements" });
  }
  if (maxSqlLength !== undefined && !(Number.isSafeInteger(maxSqlLength) && (maxSqlLength as number) > 0)) {
    throw new PolicyKernelError("invalid_config", "the SQL length limit must be a whole number of characters", { field: "policy_kernel.config.sql.max_sql_length", expected: "a whole number >= 1" });
  }
  if ((dialect === undefined || dialect === "any") && (schema === undefined || schema === "") && maxSqlLength === undefined) return DEFAULT_SQL_ANALYZER;
  return createSqlAnalyzer({
    dialect: (dialect ?? "any") as SqlJudgement,
    ...(schema ? { sqliteSchema: schema } : {}),
    ...(maxSqlLength === undefined ? {} : { maxSqlLength: maxSqlLength as number }),
  });
}

/**
 * The caller's data and policy configuration, checked before zod copies them: a `__proto__` key
 * (as JSON.parse makes one) would become the copy's prototype there, and never be seen again.
 */
function checkUntrustedOptions(options: unknown): void {
  if (!isPlainObject(options)) return;
  assertNoJsonHazard(options["data"], "invalid_config", { root: "createPolicyKernel.data" });
  // An object with another prototype (a literal `{__proto__: {...}}`) would lose it in zod's copy, silently.
  if (options["data"] !== undefined) assertJsonData(options["data"], "createPolicyKernel.data");
  const policies = options["policies"];
  if (Array.isArray(policies)) policies.forEach((spec, index) => assertNoJsonHazard(spec, "invalid_config", { root: `createPolicyKernel.policies[${index}]` }));
}

/** Where each part of the configuration came from, highest precedence first (see effectiveData). */
function configLayers(opts: z.output<typeof PolicyKernelOptionsSchema>, bundle: PolicyBundle | undefined, ruleSets: readonly RuleSet[]): ConfigLayer[] {
  const layers: ConfigLayer[] = [{ source: opts.dataSource ?? "createPolicyKernel.data", config: readConfig(opts.data ?? {}) }];
  (opts.policies ?? []).forEach((spec, index) => layers.push({ source: `createPolicyKernel.policies[${index}].config`, config: { [spec.name]: spec.config } }));
  if (bundle) layers.push({ source: bundle.location, config: readConfig(bundle.data) });
  for (const [index, set] of [...ruleSets.entries()].reverse()) layers.push({ source: set.source ?? `ruleSets[${index}]`, config: set.config ?? {} });
  return layers;
}

/** What each caller-given logger has been told about a bundle at load. */
const toldAtLoad = new WeakMap<Logger, Set<string>>();

/**
 * Says a load-time problem once per logger the caller gives: kernels built from the same bundle
 * on one logger (the demo's evaluation kernel and arms) report it once. A kernel with its own
 * logger (none given) always reports.
 */
function onceFor(given: Logger | undefined): (key: string, say: () => void) => void {
  if (!given) return (_key, say) => say();
  let told = toldAtLoad.get(given);
  if (!told) toldAtLoad.set(given, (told = new Set()));
  const seen = told;
  return (key, say) => {
    if (seen.has(key)) return;
    seen.add(key);
    say();
  };
}

/** What the kernel lets in at all: the declared action types, the tool registry and the size limit. */
interface Boundary {
  readonly actionTypes: ReadonlySet<string>;
  readonly tools: ReadonlyMap<string, ToolMapping>;
  readonly maxActionBytes: number;
}

class Kernel implements PolicyKernel {
  private closed = false;
  readonly maxActionBytes: number;
  decisionLog: DecisionLog | undefined;
  private ownsDecisionLog = false;

  constructor(
    private readonly engines: readonly PolicyEngine[],
    readonly provenance: Provenance,
    readonly policyNames: readonly string[],
    private readonly failOpen: boolean,
    private readonly logger: Logger,
    private readonly recorder: KernelAuditSink | undefined,
    private readonly needs: FactNeedsByActionType,
    private readonly boundary: Boundary,
    private readonly sql: SqlAnalyzer,
    /** Set when built with `rawInput`: the engines `evaluateInput` runs; `evaluate` then denies. */
    private readonly rawEngines?: readonly OpaEngine[],
  ) {
    this.maxActionBytes = boundary.maxActionBytes;
  }

  evaluate(action: ActionInput, options: EvaluateOptions = {}): Promise<Decision> {
    // The type is for the caller; JavaScript callers exist, so the checks stay the same.
    return this.evaluateUntrusted(action, options);
  }

  evaluateUntrusted(raw: unknown, options: EvaluateOptions = {}): Promise<Decision> {
    // One promise per decision: engines that answer synchronously are never awaited.
    try {
      const decision = this.decide(raw, options);
      return decision instanceof Promise ? decision : Promise.resolve(decision);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  evaluateInput(input: unknown): Promise<Decision> {
    const engines = this.rawEngines;
    if (!engines) {
      return Promise.reject(
        new PolicyKernelError("invalid_config", "evaluateInput needs a kernel built for raw input", { field: "createPolicyKernel.rawInput", expected: "createPolicyKernel({opa: [{bundle, entrypoints}], rawInput: true})" }),
      );
    }
    const copied = frozenCopy(input, this.boundary.maxActionBytes, "input");
    const violations: Violation[] = [];
    if (!copied.ok) violations.push(kernelViolation(copied.refusal.rule, copied.refusal.description, "kernel", false));
    else if (this.closed) violations.push(kernelViolation("engine_error", "the kernel is closed", "kernel", false));
    else {
      for (const engine of engines) {
        try {
          for (const finding of engine.evaluateValue(copied.value)) violations.push(toViolation(finding, engine.source));
        } catch (error) {
          violations.push(this.engineFailure(engine.source, error, RAW_AGENT));
        }
      }
    }
    const decision = buildDecision(violations, this.provenance);
    if (this.recorder) this.audit(this.recorder, { agentId: RAW_AGENT, action: { type: "raw_input", input: copied.ok ? copied.value : null }, now: null, ...(copied.ok ? { input: RAW_INPUT } : {}) }, decision);
    return Promise.resolve(decision);
  }

  /** The decision, synchronously unless an engine can only answer with a promise. */
  private decide(raw: unknown, options: EvaluateOptions): Decision | Promise<Decision> {
    // The one copy (kernel/frozen-action.ts): a runner or environment hands one over already made;
    // what is evaluated below, recorded and executed is this copy, never the caller's object.
    if (this.rawEngines) {
      // Its policies read another input than an action: judging an action with them would be a guess.
      return this.refuse(raw, [kernelViolation("raw_input_kernel", "this kernel was built with rawInput: decide with evaluateInput(input)", "kernel", false)]);
    }
    const copied = frozenCopy(raw, this.boundary.maxActionBytes);
    const refused = options.refusal === undefined ? [] : [kernelViolation(String(options.refusal.rule), String(options.refusal.description), "kernel", false)];
    if (!copied.ok) return this.refuse(raw, [...refused, kernelViolation(copied.refusal.rule, copied.refusal.description, "kernel", false)]);
    const frozen = copied.value;
    const candidate = options.now === undefined ? frozen : withNow(frozen, options.now);
    // The hand-written check takes the common case; zod decides the rest and names the field.
    let action = readAction(candidate);
    if (action === undefined) {
      const protoField = protoKeyField(candidate);
      if (protoField !== undefined) {
        const violation = kernelViolation("invalid_action", `malformed action: ${protoField}: forbidden key "__proto__"`, "kernel", false);
        const decision = buildDecision([violation], this.provenance);
        if (this.recorder) this.audit(this.recorder, { ...describeRaw(raw), input: invalidInput(candidate, options.refusal) }, decision);
        return decision;
      }
      const parsed = ActionSchema.safeParse(candidate);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = issuePath(issue?.path ?? []);
        const violation = kernelViolation("invalid_action", `malformed action: ${field}: ${issue?.message ?? "invalid"}`, "kernel", false);
        const decision = buildDecision([...refused, violation], this.provenance);
        if (this.recorder) this.audit(this.recorder, { ...describeRaw(frozen), input: invalidInput(candidate, options.refusal) }, decision);
        return decision;
      }
      // The body stays the frozen copy (zod's output is an equal, unfrozen one).
      action = { agentId: parsed.data.agentId, action: (candidate as { action: Action["action"] }).action, context: parsed.data.context };
    }
    const violations: Violation[] = refused;
    if (this.closed) {
      violations.push(kernelViolation("engine_error", "the kernel is closed", "kernel", false));
      return this.finish(action, violations, options.refusal);
    }
    const type = action.action.type;
    if (!this.boundary.actionTypes.has(type)) {
      violations.push(unknownTypeViolation(type, this.boundary.actionTypes));
      return this.finish(action, violations, options.refusal);
    }
    const inputs = [toPolicyInput(action, this.needs.types.get(type) ?? this.needs.other, this.sql)];
    if (type === "tool_call") {
      const body = action.action as Record<string, unknown>;
      const mapping = typeof body["tool"] === "string" ? this.boundary.tools.get(body["tool"]) : undefined;
      if (mapping) {
        const carried = carriedActions(body["tool"] as string, mapping, body["args"]);
        if (!carried.ok) violations.push(carried.violation);
        else for (const native of carried.actions) inputs.push(toPolicyInput({ ...action, action: native }, this.needs.types.get(native.type) ?? this.needs.other, this.sql));
      }
    }
    for (const input of inputs) {
      const nonFinite = nonFiniteFact(input.facts);
      if (nonFinite === undefined) continue;
      // Not an engine failure, so failOpen does not apply: the policies would see null, not the value.
      violations.push(kernelViolation("non_finite_value", nonFinite, "kernel", false));
      return this.finish(action, violations, options.refusal);
    }
    return this.evaluateInputs(action, inputs, violations, 0, undefined, options.refusal);
  }

  /**
   * Runs every engine on every input (the action, and the native actions a registered tool call
   * carries) from the `start`-th (input, engine) pair on, synchronously until an engine answers
   * with a promise (`pending` is that answer for pair `start`), then awaiting.
   */
  private evaluateInputs(
    action: Action,
    inputs: readonly PolicyInput[],
    violations: Violation[],
    start: number,
    pending: Promise<readonly PolicyFinding[]> | undefined,
    refusal: EvaluateOptions["refusal"],
  ): Decision | Promise<Decision> {
    const engines = this.engines;
    const pairs = inputs.length * engines.length;
    for (let k = start; k < pairs; k++) {
      const input = inputs[Math.floor(k / engines.length)]!;
      const engine = engines[k % engines.length]!;
      try {
        const result = k === start && pending ? pending : (engine.evaluateSync?.(input) ?? engine.evaluate(input));
        if (result instanceof Promise) return this.finishAsync(action, inputs, violations, k, result, refusal);
        for (const finding of result) violations.push(toViolation(finding, engine.source));
      } catch (error) {
        violations.push(this.engineFailure(engine.source, error, action.agentId));
      }
    }
    return this.finish(action, inputs.length > 1 ? distinct(violations) : violations, refusal);
  }

  /** Continues `evaluateInputs` from pair `index`, whose answer is `pending`. */
  private async finishAsync(
    action: Action,
    inputs: readonly PolicyInput[],
    violations: Violation[],
    index: number,
    pending: Promise<readonly PolicyFinding[]>,
    refusal: EvaluateOptions["refusal"],
  ): Promise<Decision> {
    const engines = this.engines;
    try {
      for (const finding of await pending) violations.push(toViolation(finding, engines[index % engines.length]!.source));
    } catch (error) {
      violations.push(this.engineFailure(engines[index % engines.length]!.source, error, action.agentId));
    }
    return this.evaluateInputs(action, inputs, violations, index + 1, undefined, refusal);
  }

  /** Denies what cannot be copied (too large, not plain data) without reading it again, and records that. */
  private refuse(raw: unknown, violations: Violation[]): Decision {
    const decision = buildDecision(violations, this.provenance);
    if (this.recorder) this.audit(this.recorder, describeUncopied(raw), decision);
    return decision;
  }

  private finish(action: Action, violations: Violation[], refusal: EvaluateOptions["refusal"]): Decision {
    const decision = buildDecision(violations, this.provenance);
    // Most training kernels record nothing: build the audit subject only for a recorder. The
    // context evaluated is recorded as it is (the recorder copies it), so a replay decides again.
    if (this.recorder) {
      const input: DecisionInput = refusal === undefined ? { kind: "action", context: action.context } : { kind: "action", context: action.context, refusal: recordedRefusal(refusal) };
      this.audit(this.recorder, { agentId: action.agentId, action: action.action, now: action.context.now ?? null, input }, decision);
    }
    return decision;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Its own decision log starts delivering what is left; `await kernel.decisionLog.close()` gives the report.
    if (this.ownsDecisionLog) void this.decisionLog?.close();
    for (const engine of this.engines) engine.close();
    if (this.sql !== DEFAULT_SQL_ANALYZER) this.sql.close();
  }

  /** Sets the decision log (kernel/create-kernel.ts, once); an owned one is closed with the kernel. */
  attachDecisionLog(attached: { readonly log: DecisionLog; readonly owned: boolean } | undefined): void {
    this.decisionLog = attached?.log;
    this.ownsDecisionLog = attached?.owned ?? false;
  }

  private engineFailure(source: ViolationSource, error: unknown, agentId: string): Violation {
    const message = errorMessage(error);
    this.logger.error({ agentId, engine: source, err: message }, this.failOpen ? "policy evaluation failed; failing open" : "policy evaluation failed; action denied");
    return kernelViolation("engine_error", `${source} engine could not evaluate: ${message}`, source, this.failOpen);
  }

  /** The decision and each signal it sends, to the recorder (recordSafely: a failing sink never breaks a decision). */
  private audit(recorder: KernelAuditSink, subject: AuditSubject, decision: Decision): void {
    const { agentId, action, now, input } = subject;
    // The sink gets a sealed copy: the caller may change the decision it is returned, the trail must not.
    recordSafely(recorder, { type: "policy_check", agentId, action, now, decision: sealDecision(decision), ...(input === undefined ? {} : { input }) }, this.logger);
    for (const violation of decision.violations) {
      if (violation.signal) recordSafely(recorder, { type: "signal", agentId, signal: violation.signal, policy: violation.policy, now, bundleRevision: decision.provenance.bundleRevision }, this.logger);
    }
  }
}

/** The agent the trail names for a raw-input decision: the input carries none the kernel can trust. */
const RAW_AGENT = "(raw input)";

/** Who did what, and when, as the audit trail names a decision. */
interface AuditSubject {
  readonly agentId: string;
  readonly action: Action["action"];
  readonly now: string | null;
  /** What replay needs to decide again; absent for an action that could not be copied. */
  readonly input?: DecisionInput;
}

/** The recorded input of every raw-input decision: the input itself is the entry's `action.input`. */
const RAW_INPUT: DecisionInput = Object.freeze({ kind: "raw_input" });

/** A refusal as the trail records it (the strings its violation was built from). */
function recordedRefusal(refusal: NonNullable<EvaluateOptions["refusal"]>): { rule: string; description: string } {
  return { rule: String(refusal.rule), description: String(refusal.description) };
}

/** The recorded input of a malformed action: the copy the kernel read (with the logical time applied). */
function invalidInput(candidate: unknown, refusal: EvaluateOptions["refusal"]): DecisionInput {
  return { kind: "invalid_action", value: candidate as Extract<DecisionInput, { kind: "invalid_action" }>["value"], ...(refusal === undefined ? {} : { refusal: recordedRefusal(refusal) }) };
}

/** What can be said of a malformed action for the audit trail, without trusting its shape. */
function describeRaw(raw: unknown): AuditSubject {
  const source = isPlainObject(raw) ? raw : {};
  const body = source["action"];
  const context = isPlainObject(source["context"]) ? source["context"] : {};
  return {
    agentId: typeof source["agentId"] === "string" ? source["agentId"] : "(invalid)",
    action: isPlainObject(body) && typeof body["type"] === "string" ? { ...body, type: body["type"] } : { type: "(invalid)" },
    now: typeof context["now"] === "string" ? context["now"] : null,
  };
}

/**
 * What can be said of an action that could not be copied, read without running any of its code:
 * only own data properties of non-Proxy objects (a getter is not called), the type cut short.
 */
function describeUncopied(raw: unknown): AuditSubject {
  const read = (from: unknown, key: string): unknown => {
    if (typeof from !== "object" || from === null || types.isProxy(from)) return undefined;
    const descriptor = Object.getOwnPropertyDescriptor(from, key);
    return descriptor && "value" in descriptor ? descriptor.value : undefined;
  };
  const short = (value: unknown): string | undefined => (typeof value === "string" && value.length > 0 ? value.slice(0, 128) : undefined);
  return {
    agentId: short(read(raw, "agentId")) ?? "(invalid)",
    action: { type: short(read(read(raw, "action"), "type")) ?? "(invalid)" },
    now: null,
  };
}

/** Violations of several inputs (a tool call and what it carries) without the repeats policies on every type raise for each. */
function distinct(violations: Violation[]): Violation[] {
  const seen = new Set<string>();
  return violations.filter((v) => {
    const key = canonicalJson(v);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Applies the per-call logical time to the action's context before validation. */
function withNow(raw: unknown, now: EvaluateOptions["now"]): unknown {
  if (now === undefined || !isPlainObject(raw)) return raw;
  const iso = now instanceof Date ? (Number.isNaN(now.getTime()) ? "Invalid Date" : now.toISOString()) : now;
  const context = isPlainObject(raw["context"]) ? raw["context"] : {};
  if (context["now"] === iso) return raw; // already there (GovernedEnvironment passes both): no copy
  return { ...raw, context: { ...context, now: iso } };
}

/** A bundle lists its policy names at `data.policy_kernel.policies` (the default one always does). */
function declaredPolicies(bundle: PolicyBundle): string[] {
  const names = kernelSection(bundle.data)["policies"];
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === "string") : [];
}

function checkSpecs(specs: readonly PolicySpec[], known: readonly string[]): void {
  specs.forEach((spec, index) => {
    assertJsonData(spec.config, `createPolicyKernel.policies[${index}].config`);
    if (!known.includes(spec.name)) {
      throw new PolicyKernelError("invalid_config", `unknown policy "${spec.name}"`, {
        field: `createPolicyKernel.policies[${index}].name`,
        expected: `one of ${known.join(", ")}`,
      });
    }
  });
}

function filterRuleSets(ruleSets: readonly RuleSet[], names: ReadonlySet<string>): RuleSet[] {
  return ruleSets.map((set) => ({ ...set, rules: set.rules.filter((rule) => names.has(rule.event.params.policy)) }));
}
