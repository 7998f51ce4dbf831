import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { fromZodError, issuePath, PolicyKernelError } from "../../errors.js";
import { ONCE, PolicyFindingSchema } from "../../schemas.js";
import { isPlainObject } from "../../values.js";
import { assertNoJsonHazard, parseUntrustedJson } from "../../safe-json.js";
import { literalValueProblem, OPERATOR_EXPECTATION, parseOperator } from "./operators.js";
import { parsePath, PATH_EXPECTATION } from "./paths.js";

/**
 * Facts every evaluation provides: the PolicyInput fields plus the kernel configuration
 * (`config`, the object Rego sees at `data.policy_kernel.config`).
 */
export const JSON_RULES_FACTS = ["agentId", "action", "context", "facts", "config"] as const;
/** Whether `name` is one of the JSON_RULES_FACTS the adapter always supplies. */
export const isJsonRulesFact = (name: unknown): name is (typeof JSON_RULES_FACTS)[number] => (JSON_RULES_FACTS as readonly unknown[]).includes(name);

// ---------------------------------------------------------------- condition types
// Conditions are recursive and each kind is told apart by which key it has, which zod unions
// report as one vague "invalid input" at the top. They are typed here and checked by a walker
// that names the exact field (`rules[1].conditions.all[0].operator`).

/** A leaf: `fact` (at `path`) `operator` `value`. */
export interface FactCondition {
  readonly fact: string;
  readonly operator: string;
  readonly value: unknown;
  readonly path?: string;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly name?: string;
  readonly priority?: number;
}

interface ConditionMeta {
  readonly name?: string;
  readonly priority?: number;
}
export interface AllCondition extends ConditionMeta {
  readonly all: readonly JsonCondition[];
}
export interface AnyCondition extends ConditionMeta {
  readonly any: readonly JsonCondition[];
}
export interface NotCondition extends ConditionMeta {
  readonly not: JsonCondition;
}
/** A reference to a condition named in the rule set's top-level `conditions`. */
export interface ConditionReference extends ConditionMeta {
  readonly condition: string;
}
/** What json-rules-engine accepts as a rule's root condition. */
export type TopLevelCondition = AllCondition | AnyCondition | NotCondition | ConditionReference;
export type JsonCondition = FactCondition | TopLevelCondition;

const ConditionField = z.custom<TopLevelCondition>(isPlainObject, {
  message: "Invalid input: expected a condition object with all, any, not or condition",
});

// ---------------------------------------------------------------- rule set schema

/** One rule: a json-rules-engine rule whose event is a typed violation. */
export const JsonRuleSchema = z.strictObject({
  name: z.string().min(1),
  /** json-rules-engine priority (>= 1, default 1); higher runs and is reported first. */
  priority: z.number().int().min(1).optional(),
  conditions: ConditionField,
  event: z.strictObject({
    type: z.literal("violation"),
    // strict so a misspelt optional key (`penality`) is an error, not silently dropped.
    params: PolicyFindingSchema.strict(),
  }),
});
export type JsonRule = z.infer<typeof JsonRuleSchema>;

/** A rule-set file: `{name, description?, config?, conditions?, rules}`. */
export const RuleSetFileSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  /**
   * Default configuration the set's rules read (`{"rate_limit": {"block_at": 50}}`). The kernel
   * merges it under the bundle's and the caller's configuration; the engine itself only reads
   * the `config` it is given, so there is one place where configuration is decided.
   */
  config: z.record(z.string(), z.unknown()).optional(),
  /** Named conditions that rules of this set reference with `{"condition": "<name>"}`. */
  conditions: z.record(z.string().min(1), ConditionField).optional(),
  rules: z.array(JsonRuleSchema),
});
export type RuleSetFile = z.infer<typeof RuleSetFileSchema>;

/**
 * A validated rule set and where it came from (the file path, or a label for in-memory sets).
 * `source` is for messages only: it is not part of the rules hash, so moving a file does not
 * change provenance.
 */
export type RuleSet = RuleSetFile & { readonly source?: string };

/** Load-time options: names of custom facts the engine will be given besides JSON_RULES_FACTS. */
export interface RuleSetOptions {
  readonly customFacts?: readonly string[];
}

// ---------------------------------------------------------------- validation

const BOOLEAN_KINDS = ["all", "any", "not"] as const;
const STRUCTURAL_KEYS = ["all", "any", "not", "condition", "fact"] as const;
const META_KEYS = ["name", "priority"];
const ALLOWED_KEYS: Readonly<Record<(typeof STRUCTURAL_KEYS)[number], readonly string[]>> = {
  all: ["all", ...META_KEYS],
  any: ["any", ...META_KEYS],
  not: ["not", ...META_KEYS],
  condition: ["condition", ...META_KEYS],
  fact: ["fact", "operator", "value", "path", "params", ...META_KEYS],
};

class ConditionChecker {
  constructor(
    private readonly source: string,
    private readonly knownFacts: ReadonlySet<string>,
    private readonly named: Readonly<Record<string, unknown>>,
  ) {}

  fail(path: readonly PropertyKey[], message: string, expected?: string): never {
    throw new PolicyKernelError("invalid_rules", message, { file: this.source, field: issuePath(path), expected });
  }

  check(node: unknown, path: readonly PropertyKey[], root: boolean): void {
    if (!isPlainObject(node)) this.fail(path, "a condition must be an object", "a condition object");
    const kinds = STRUCTURAL_KEYS.filter((key) => Object.hasOwn(node, key));
    const [kind] = kinds;
    if (kind === undefined || kinds.length > 1) {
      const what = kind === undefined ? "a condition has none of" : `a condition has ${kinds.join(" and ")}; it needs exactly one of`;
      this.fail(path, `${what} all, any, not, condition, fact`, "exactly one of all, any, not, condition or fact");
    }
    if (root && kind === "fact") {
      // json-rules-engine rejects a bare fact condition as a rule's root.
      this.fail(path, "the root condition of a rule must be all, any, not or a condition reference", 'e.g. {"all": [ … ]}');
    }
    const allowed = ALLOWED_KEYS[kind];
    for (const key of Object.keys(node)) {
      if (!allowed.includes(key)) this.fail([...path, key], `unknown key "${key}" in a ${kind} condition`, `one of ${allowed.join(", ")}`);
    }
    if (node.name !== undefined && typeof node.name !== "string") this.fail([...path, "name"], "name must be a string", "a string");
    if (node.priority !== undefined && !(Number.isInteger(node.priority) && (node.priority as number) >= 1)) {
      this.fail([...path, "priority"], "priority must be an integer >= 1", "an integer >= 1");
    }
    if (kind === "all" || kind === "any") {
      const children = node[kind];
      if (!Array.isArray(children) || children.length === 0) {
        // json-rules-engine treats an empty list as true for both all and any.
        this.fail([...path, kind], `"${kind}" must be a non-empty array of conditions`, "a non-empty array of conditions");
      }
      children.forEach((child: unknown, index: number) => this.check(child, [...path, kind, index], false));
    } else if (kind === "not") {
      if (Array.isArray(node.not)) this.fail([...path, "not"], '"not" takes one condition, not an array', "a single condition object");
      this.check(node.not, [...path, "not"], false);
    } else if (kind === "condition") {
      const ref = node.condition;
      if (typeof ref !== "string" || !Object.hasOwn(this.named, ref)) {
        const names = Object.keys(this.named);
        this.fail(
          [...path, "condition"],
          `unknown condition reference ${JSON.stringify(ref)}`,
          names.length ? `one of the set's named conditions: ${names.join(", ")}` : "a name defined in the rule set's top-level conditions",
        );
      }
    } else {
      this.checkFactCondition(node, path);
    }
  }

  private checkFactCondition(node: Record<string, unknown>, path: readonly PropertyKey[]): void {
    this.checkFactName(node.fact, [...path, "fact"]);
    this.checkPathAndParams(node, path);
    if (typeof node.operator !== "string") this.fail([...path, "operator"], "operator is missing or not a string", OPERATOR_EXPECTATION);
    const parsed = parseOperator(node.operator);
    if (!parsed) this.fail([...path, "operator"], `unknown operator ${JSON.stringify(node.operator)}`, OPERATOR_EXPECTATION);
    if (!Object.hasOwn(node, "value")) this.fail([...path, "value"], "value is missing", "a JSON value or a fact reference {fact, path?}");
    const value = node.value;
    // json-rules-engine's Almanac.getValue treats any object with an own `fact` key as a reference.
    if (isPlainObject(value) && Object.hasOwn(value, "fact")) {
      const valuePath = [...path, "value"];
      for (const key of Object.keys(value)) {
        if (!["fact", "path", "params"].includes(key)) {
          this.fail([...valuePath, key], `unknown key "${key}" in a fact reference`, "one of fact, path, params");
        }
      }
      this.checkFactName(value.fact, [...valuePath, "fact"]);
      this.checkPathAndParams(value, valuePath);
      return;
    }
    const problem = literalValueProblem(parsed, value);
    if (problem) this.fail([...path, "value"], `value ${JSON.stringify(value)} does not suit operator "${node.operator}"`, problem);
  }

  private checkFactName(fact: unknown, path: readonly PropertyKey[]): void {
    if (typeof fact !== "string" || !this.knownFacts.has(fact)) {
      this.fail(path, `unknown fact ${JSON.stringify(fact)}`, `one of ${[...this.knownFacts].join(", ")}`);
    }
  }

  private checkPathAndParams(node: Record<string, unknown>, path: readonly PropertyKey[]): void {
    if (node.path !== undefined && (typeof node.path !== "string" || !parsePath(node.path))) {
      this.fail([...path, "path"], `unsupported path ${JSON.stringify(node.path)}`, PATH_EXPECTATION);
    }
    if (node.params !== undefined && !isPlainObject(node.params)) this.fail([...path, "params"], "params must be an object", "an object");
  }
}

/** Condition-reference cycles would recurse forever when json-rules-engine (or we) expand them. */
function checkReferenceCycles(named: Readonly<Record<string, unknown>>, fail: (path: PropertyKey[], message: string) => never): void {
  const references = (node: unknown, out: string[]): string[] => {
    if (Array.isArray(node)) node.forEach((child) => references(child, out));
    else if (isPlainObject(node)) {
      if (typeof node.condition === "string") out.push(node.condition);
      for (const kind of BOOLEAN_KINDS) if (Object.hasOwn(node, kind)) references(node[kind], out);
    }
    return out;
  };
  const done = new Set<string>();
  const visit = (name: string, trail: string[]): void => {
    if (trail.includes(name)) fail(["conditions", trail[0] ?? name], `condition references form a cycle: ${[...trail, name].join(" -> ")}`);
    if (done.has(name)) return;
    for (const next of references(named[name], [])) visit(next, [...trail, name]);
    done.add(name);
  };
  for (const name of Object.keys(named)) visit(name, []);
}

/**
 * Validates one rule set (already parsed from JSON) and returns it with its source; throws a
 * PolicyKernelError "invalid_rules" naming `source`, the field path and what was expected.
 */
export function parseRuleSet(value: unknown, source: string, options: RuleSetOptions = {}): RuleSet {
  // Rule sets built in memory get the same key and depth checks as files.
  assertNoJsonHazard(value, "invalid_rules", { file: source });
  const result = RuleSetFileSchema.safeParse(value, ONCE);
  if (!result.success) throw fromZodError("invalid_rules", result.error, { file: source });
  const ruleSet = result.data;
  const knownFacts = new Set<string>([...JSON_RULES_FACTS, ...(options.customFacts ?? [])]);
  const named = ruleSet.conditions ?? {};
  const checker = new ConditionChecker(source, knownFacts, named);
  for (const [name, condition] of Object.entries(named)) checker.check(condition, ["conditions", name], true);
  checkReferenceCycles(named, (path, message) => checker.fail(path, message, "condition references without cycles"));
  const seen = new Map<string, number>();
  ruleSet.rules.forEach((rule, index) => {
    const earlier = seen.get(rule.name);
    if (earlier !== undefined) {
      checker.fail(["rules", index, "name"], `duplicate rule name ${JSON.stringify(rule.name)} (also rules[${earlier}])`, "rule names unique within the set");
    }
    seen.set(rule.name, index);
    checker.check(rule.conditions, ["rules", index, "conditions"], true);
  });
  return { ...ruleSet, source };
}

/** The rule set as its file holds it, without `source` (what the rules hash covers). */
export function ruleSetContent(ruleSet: RuleSet): RuleSetFile {
  const { source: _source, ...content } = ruleSet;
  return content;
}

/** Reads, parses and validates one rule-set file. */
export function loadRuleSetFile(file: string, options: RuleSetOptions = {}): RuleSet {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new PolicyKernelError("io_error", `cannot read rule set: ${(error as Error).message}`, { file }, { cause: error });
  }
  return parseRuleSet(parseUntrustedJson(text, "invalid_rules", file), file, options);
}

/** The `*.json` files directly in `dir` (no recursion), sorted by name in code-unit order. */
function listRuleFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new PolicyKernelError("io_error", `cannot list rule sets: ${(error as Error).message}`, { file: dir }, { cause: error });
  }
  const files: string[] = [];
  // Default sort() is code-unit order, not locale order, so the load order (and rulesSha256) is the same everywhere.
  for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
    const file = join(dir, name);
    let isFile: boolean;
    try {
      isFile = statSync(file).isFile();
    } catch (error) {
      throw new PolicyKernelError("io_error", `cannot read rule set: ${(error as Error).message}`, { file }, { cause: error });
    }
    if (isFile) files.push(file);
  }
  return files;
}

/**
 * Loads rule sets from files and folders (a folder contributes its `*.json` files sorted by name,
 * not its subfolders), in the order given. All or nothing: any bad file, or two sets with the
 * same name, throws and nothing is returned.
 */
export function loadRuleSets(paths: string | readonly string[], options: RuleSetOptions = {}): RuleSet[] {
  const files: string[] = [];
  for (const path of typeof paths === "string" ? [paths] : paths) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      throw new PolicyKernelError(
        "io_error",
        `cannot read rule sets (${code === "ENOENT" ? "ENOENT: no such file or folder" : code})`,
        { file: path, expected: "a rule-set JSON file or a folder of them (--rules / the rules option)" },
        { cause: error },
      );
    }
    if (isDirectory) files.push(...listRuleFiles(path));
    else files.push(path);
  }
  const loaded = files.map((file) => loadRuleSetFile(file, options));
  checkUniqueNames(loaded);
  return loaded;
}

/** Two loaded sets with one name would make findings and provenance ambiguous. */
export function checkUniqueNames(ruleSets: readonly RuleSet[]): void {
  const seen = new Map<string, string>();
  for (const [index, ruleSet] of ruleSets.entries()) {
    const source = ruleSet.source ?? `ruleSets[${index}]`;
    const earlier = seen.get(ruleSet.name);
    if (earlier !== undefined) {
      throw new PolicyKernelError("invalid_rules", `duplicate rule set name ${JSON.stringify(ruleSet.name)} (also in ${earlier})`, {
        file: source,
        field: "name",
        expected: "rule set names unique across the loaded sets",
      });
    }
    seen.set(ruleSet.name, source);
  }
}
