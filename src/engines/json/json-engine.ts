import { Almanac, Engine, Fact, Rule, type EngineResult, type RuleProperties, type RuleResult, type TopLevelCondition as EngineTopLevelCondition } from "json-rules-engine";
import { canonicalJson, sha256Hex } from "../../canonical-json.js";
import { assertJsonData, errorMessage, issuePath, PolicyKernelError } from "../../errors.js";
import type { PolicyFinding, PolicyInput } from "../../schemas.js";
import type { PolicyEngine } from "../engine.js";
import { compileCondition, type CompiledCondition } from "./compiled.js";
import { factReads, factsReadByCondition } from "./fact-reads.js";
import { unionFactsRead, type FactsRead } from "../facts-read.js";
import { missingSafeOperators } from "./operators.js";
import { parsePath, resolvePath, resolveSteps } from "./paths.js";
import { checkUniqueNames, isJsonRulesFact, JSON_RULES_FACTS, parseRuleSet, ruleSetContent, type JsonCondition, type RuleSet } from "./rule-set.js";

// json-rules-engine 7.3.1 calls `rule.evaluate(almanac)` from Engine.evaluateRules
// (dist/engine.js); its typings leave the method out. Declaring it lets TrackedRule override it
// with types instead of patching instances.
declare module "json-rules-engine" {
  interface Rule {
    evaluate(almanac: Almanac): Promise<RuleResult>;
  }
}

/**
 * A fact computed in TypeScript for the rules (for example a lookup): called at most once per
 * evaluation for each distinct `params` (json-rules-engine caches it per run). Throwing or
 * rejecting makes `evaluate` reject, which the kernel turns into a denied decision.
 */
export type JsonRulesCustomFact = (input: PolicyInput, params: Readonly<Record<string, unknown>>) => unknown;

/** Build-time options of the JSON-rules engine. */
export interface JsonRulesEngineOptions {
  /** Rule sets in load order (the order rules of equal priority are reported in). */
  readonly ruleSets: readonly RuleSet[];
  /** The kernel configuration, the object Rego sees at `data.policy_kernel.config`; exposed as fact `config`. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Extra facts by name; rule sets using them must be loaded with the same names in `customFacts`. */
  readonly customFacts?: Readonly<Record<string, JsonRulesCustomFact>>;
  /** Prepared json-rules-engine instances kept for reuse between evaluations (default 4). */
  readonly maxIdleEngines?: number;
  /**
   * Decide rules json-rules-engine-free where they compile to closures (default true). `false`
   * runs every rule on json-rules-engine, the oracle the compiled path is tested against.
   */
  readonly fastPath?: boolean;
}

/** The JSON-rules PolicyEngine. */
export interface JsonRulesEngine extends PolicyEngine {
  readonly source: "json";
  readonly provenance: { readonly rulesSha256: string | null };
  evaluate(input: PolicyInput): Promise<readonly PolicyFinding[]>;
  /**
   * The same findings, synchronously, when every rule runs compiled (no custom facts, no
   * operator decorators); undefined when some rule needs json-rules-engine. Throws what
   * `evaluate` would reject with.
   */
  evaluateSync(input: PolicyInput): readonly PolicyFinding[] | undefined;
}

const DEFAULT_MAX_IDLE_ENGINES = 4;

interface PreparedRule {
  /** The json-rules-engine rule name: unique, maps a RuleResult back to this rule. */
  readonly key: string;
  /** Declaration order across all sets: file order, then rule order. */
  readonly order: number;
  readonly priority: number;
  readonly source: string;
  readonly ruleSetName: string;
  readonly ruleName: string;
  readonly finding: PolicyFinding;
  /** Condition references already expanded; cloned for every engine instance. */
  readonly properties: RuleProperties;
  /** The conditions as a closure (compiled.ts), or undefined when this rule runs on json-rules-engine. */
  readonly compiled: CompiledCondition | undefined;
}

/** How a run of some rules ended: the rules that fired, or the first failure in report order. */
type RunOutcome = { readonly fired: PreparedRule[] } | { readonly failure: { readonly rule: PreparedRule; readonly error: unknown } };

/** Priority first (higher first), then declaration order: the one reporting order. */
function byReportOrder(a: PreparedRule, b: PreparedRule): number {
  return b.priority - a.priority || a.order - b.order;
}

/** Records how the rules of one run ended, so a failure can be reported deterministically. */
class RunTracker {
  readonly failures: { rule: PreparedRule; error: unknown }[] = [];
  readonly done: Promise<void>;
  #remaining: number;
  #resolve: () => void = () => {};

  constructor(ruleCount: number) {
    this.#remaining = ruleCount;
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    if (ruleCount === 0) this.#resolve();
  }

  settled(rule: PreparedRule, error?: { error: unknown }): void {
    if (error) this.failures.push({ rule, error: error.error });
    this.#remaining -= 1;
    if (this.#remaining === 0) this.#resolve();
  }
}

/** A json-rules-engine Rule that reports to the run's tracker how its evaluation ended. */
class TrackedRule extends Rule {
  readonly #prepared: PreparedRule;
  readonly #trackers: WeakMap<Almanac, RunTracker>;

  constructor(prepared: PreparedRule, trackers: WeakMap<Almanac, RunTracker>) {
    // json-rules-engine mutates condition objects (Condition copies them with Object.assign and
    // rewrites `priority`), so every instance gets its own copy.
    super(structuredClone(prepared.properties));
    this.#prepared = prepared;
    this.#trackers = trackers;
  }

  override evaluate(almanac: Almanac): Promise<RuleResult> {
    const tracker = this.#trackers.get(almanac);
    let pending: Promise<RuleResult>;
    try {
      pending = super.evaluate(almanac);
    } catch (error) {
      // A fact that throws synchronously escapes Rule.evaluate without a promise.
      pending = Promise.reject(error);
    }
    return pending.then(
      (result) => {
        tracker?.settled(this.#prepared);
        return result;
      },
      (error: unknown) => {
        tracker?.settled(this.#prepared, { error });
        throw error;
      },
    );
  }
}

/** Rewrites `{condition: name}` into the named condition, as json-rules-engine's realize() would at run time. */
function expandReferences(node: JsonCondition, named: Readonly<Record<string, JsonCondition>>): JsonCondition {
  if ("condition" in node) {
    const { condition, ...meta } = node;
    const target = named[condition];
    if (!target) throw new Error(`unknown condition reference ${condition}`);
    return expandReferences({ ...meta, ...target } as JsonCondition, named);
  }
  if ("all" in node) return { ...node, all: node.all.map((child) => expandReferences(child, named)) };
  if ("any" in node) return { ...node, any: node.any.map((child) => expandReferences(child, named)) };
  if ("not" in node) return { ...node, not: expandReferences(node.not, named) };
  return node;
}

/**
 * A rule reading a config value the configuration does not have would compare against
 * undefined and never fire: a silent fail-open. The Rego side blocks on missing config
 * (kernel/missing_config); here it is refused when the engine is built.
 */
function checkConfigPaths(ruleSet: RuleSet, source: string, config: Readonly<Record<string, unknown>>): void {
  const roots: [readonly PropertyKey[], unknown][] = [
    ...Object.entries(ruleSet.conditions ?? {}).map(([name, c]): [readonly PropertyKey[], unknown] => [["conditions", name], c]),
    ...ruleSet.rules.map((rule, index): [readonly PropertyKey[], unknown] => [["rules", index, "conditions"], rule.conditions]),
  ];
  for (const [root, condition] of roots) {
    for (const { fact, path, field } of factReads(condition, root)) {
      if (fact !== "config" || typeof path !== "string") continue;
      const steps = parsePath(path);
      if (steps && resolveSteps(config, steps) === undefined) {
        throw new PolicyKernelError("invalid_config", `the configuration has no value at ${path} (config${path.slice(1)})`, {
          file: source,
          field: issuePath([...field, "path"]),
          expected: "the kernel configuration to define every config value the rules read",
        });
      }
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Prepares the JSON-rules engine: validates the rule sets (again, so in-memory sets get the same
 * checks as files), checks the config values they read, and hashes them for provenance.
 */
export function createJsonRulesEngine(options: JsonRulesEngineOptions): JsonRulesEngine {
  const customFacts = Object.entries(options.customFacts ?? {});
  for (const [name, fn] of customFacts) {
    if (isJsonRulesFact(name) || typeof fn !== "function" || name.length === 0) {
      throw new PolicyKernelError("invalid_config", `custom fact ${JSON.stringify(name)} cannot be used`, {
        field: `customFacts.${name}`,
        expected: `a function under a name other than ${JSON_RULES_FACTS.join(", ")}`,
      });
    }
  }
  const maxIdle = options.maxIdleEngines ?? DEFAULT_MAX_IDLE_ENGINES;
  if (!Number.isInteger(maxIdle) || maxIdle < 0) {
    throw new PolicyKernelError("invalid_config", `maxIdleEngines ${maxIdle} is not allowed`, {
      field: "maxIdleEngines",
      expected: "an integer >= 0",
    });
  }
  const customFactNames = customFacts.map(([name]) => name);
  const ruleSets = options.ruleSets.map((set, index) => {
    const source = set.source ?? `ruleSets[${index}]`;
    return { source, ruleSet: parseRuleSet(ruleSetContent(set), source, { customFacts: customFactNames }) };
  });
  checkUniqueNames(ruleSets.map(({ ruleSet }) => ruleSet));
  assertJsonData(options.config, "config");
  // A private frozen copy: a caller mutating its config object later must not change decisions.
  const config = deepFreeze(structuredClone(options.config));
  for (const { ruleSet, source } of ruleSets) checkConfigPaths(ruleSet, source, config);

  const prepared: PreparedRule[] = [];
  const reads: FactsRead[] = [];
  for (const { source, ruleSet } of ruleSets) {
    const named = (ruleSet.conditions ?? {}) as Readonly<Record<string, JsonCondition>>;
    for (const rule of ruleSet.rules) {
      const order = prepared.length;
      const key = `${order}:${ruleSet.name}/${rule.name}`;
      const priority = rule.priority ?? 1;
      // Validated above: the expanded tree has json-rules-engine's condition shape.
      const expanded = expandReferences(rule.conditions, named);
      reads.push(factsReadByCondition(expanded));
      const conditions = expanded as unknown as EngineTopLevelCondition;
      prepared.push({
        key,
        order,
        priority,
        source,
        ruleSetName: ruleSet.name,
        ruleName: rule.name,
        finding: rule.event.params,
        properties: { name: key, priority, conditions, event: { type: "violation", params: { ...rule.event.params } } },
        // compileCondition itself declines trees that read a custom fact (it only knows the input facts and config).
        compiled: options.fastPath === false ? undefined : compileCondition(expanded, config),
      });
    }
  }
  prepared.sort(byReportOrder);
  // Compiled rules are decided here in report order; the rest keep json-rules-engine (the oracle).
  const fastRules = prepared.filter((rule) => rule.compiled !== undefined);
  const slowRules = prepared.filter((rule) => rule.compiled === undefined);
  const byKey = new Map(slowRules.map((rule) => [rule.key, rule]));
  const trackers = new WeakMap<Almanac, RunTracker>();
  const policyNames = [...new Set(prepared.map((rule) => rule.finding.policy))].sort();
  // A custom fact can read anything: factsReadByCondition says "all" for a rule that names one.
  const factsRead = unionFactsRead(reads);
  const rulesSha256 = ruleSets.length === 0 ? null : sha256Hex(canonicalJson(ruleSets.map(({ ruleSet }) => ruleSetContent(ruleSet))));

  // json-rules-engine keeps run state on the Engine (`status`), so two in-flight runs on one
  // Engine interfere: the first to finish marks it FINISHED and the other skips its remaining
  // priority levels, dropping events. Each run therefore has an Engine to itself.
  const idle: Engine[] = [];
  let closed = false;

  const createInstance = (): Engine => {
    const engine = new Engine([], { allowUndefinedFacts: false, pathResolver: resolvePath });
    const safe = missingSafeOperators();
    for (const operator of safe.operators) engine.addOperator(operator);
    for (const decorator of safe.decorators) engine.addOperatorDecorator(decorator);
    engine.addFact("config", config);
    for (const rule of slowRules) engine.addRule(new TrackedRule(rule, trackers));
    return engine;
  };

  const runtimeFacts = (input: PolicyInput): Record<string, unknown> => {
    const facts: Record<string, unknown> = {
      agentId: input.agentId,
      action: input.action,
      context: input.context,
      facts: input.facts,
    };
    for (const [name, fn] of customFacts) {
      facts[name] = new Fact<unknown>(name, async (params: Record<string, unknown>) => {
        try {
          return await fn(input, params);
        } catch (error) {
          throw new Error(`custom fact "${name}" failed: ${errorMessage(error)}`, { cause: error });
        }
      });
    }
    return facts;
  };

  /** The compiled rules, in report order; the first that throws is the failure. */
  const runFast = (input: PolicyInput): RunOutcome => {
    const fired: PreparedRule[] = [];
    for (const rule of fastRules) {
      try {
        if ((rule.compiled as CompiledCondition)(input)) fired.push(rule);
      } catch (error) {
        return { failure: { rule, error } };
      }
    }
    return { fired };
  };

  /** The rules json-rules-engine runs, each run on an Engine of its own. */
  const runSlow = async (input: PolicyInput): Promise<RunOutcome> => {
    if (slowRules.length === 0) return { fired: [] };
    const engine = idle.pop() ?? createInstance();
    const almanac = new Almanac({ allowUndefinedFacts: false, pathResolver: resolvePath });
    const tracker = new RunTracker(slowRules.length);
    trackers.set(almanac, tracker);
    let result: EngineResult;
    try {
      result = await engine.run(runtimeFacts(input), { almanac });
    } catch (error) {
      // The Engine is not returned to the pool: after a rejection 7.3.1 goes on evaluating the
      // lower priority levels and marks itself FINISHED later, which would cut short a new run.
      // Waiting for every rule to settle makes the reported failure the first in report order,
      // not whichever happened to reject first.
      if (tracker.failures.length > 0) await tracker.done;
      const [first] = [...tracker.failures].sort((a, b) => byReportOrder(a.rule, b.rule));
      if (!first) throw new PolicyKernelError("engine_error", `JSON rules evaluation failed: ${errorMessage(error)}`, {}, { cause: error });
      return { failure: first };
    }
    if (!closed && idle.length < maxIdle) idle.push(engine);
    const fired: PreparedRule[] = [];
    for (const ruleResult of result.results) {
      const rule = byKey.get(ruleResult.name);
      if (!rule) throw new PolicyKernelError("engine_error", `json-rules-engine reported an unknown rule ${JSON.stringify(ruleResult.name)}`);
      fired.push(rule);
    }
    return { fired };
  };

  /** Findings in report order (events of equal-priority rules arrive in completion order; the order is fixed here). */
  const report = (outcomes: readonly RunOutcome[]): readonly PolicyFinding[] => {
    const failures = outcomes.flatMap((o) => ("failure" in o ? [o.failure] : []));
    if (failures.length > 0) {
      const { rule, error } = failures.sort((a, b) => byReportOrder(a.rule, b.rule))[0]!;
      throw new PolicyKernelError(
        "engine_error",
        `rule set "${rule.ruleSetName}", rule "${rule.ruleName}" failed: ${errorMessage(error)}`,
        { file: rule.source },
        { cause: error },
      );
    }
    const fired = outcomes.flatMap((o) => ("fired" in o ? o.fired : []));
    return fired.sort(byReportOrder).map((rule) => ({ ...rule.finding }));
  };

  const closedError = () => new PolicyKernelError("engine_error", "the JSON rules engine is closed");

  // All rules compiled: fastRules are already in report order, so findings need no sorting.
  const evaluateSync = (input: PolicyInput): readonly PolicyFinding[] | undefined => {
    if (slowRules.length > 0) return undefined;
    if (closed) throw closedError();
    const outcome = runFast(input);
    return "failure" in outcome ? report([outcome]) : outcome.fired.map((rule) => ({ ...rule.finding }));
  };

  const evaluate = async (input: PolicyInput): Promise<readonly PolicyFinding[]> => {
    if (closed) throw closedError();
    const fast = runFast(input);
    return report([fast, await runSlow(input)]);
  };

  return {
    source: "json",
    policyNames,
    provenance: { rulesSha256 },
    factsRead,
    evaluate,
    evaluateSync,
    close(): void {
      closed = true;
      idle.length = 0;
    },
  };
}
