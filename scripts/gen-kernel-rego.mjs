#!/usr/bin/env node
// Writes rego/kernel.rego, the aggregate entrypoint (kernel/violations), from the
// policy list in rego/data.json (policy_kernel.policies).
//
// Why generated: OPA's Wasm planner evaluates a reference with a variable into
// virtual documents (`some name, pkg in data.policies`) by building every rule of
// every package, on every evaluation, whatever the action. One rule per policy
// with a ground reference (`data.policies.sql.violations`) evaluates only the
// violations; on the benchmark corpus that made a decision about 2x faster for
// actions other than messages (1.45x on the whole corpus).
//
// It also gives every action type its own entrypoint without the policies that cannot fire for
// it (scripts/action-scopes.mjs reads that from the policies' guards), which needs `opa parse`.
//
//   node scripts/gen-kernel-rego.mjs [--dir rego] [--opa OPA]          write DIR/kernel.rego
//   node scripts/gen-kernel-rego.mjs [--dir rego] [--opa OPA] --check  fail if it is stale
//     OPA: the opa binary (default: the pinned one, from scripts/ensure-opa.sh)
import { execFileSync } from "node:child_process";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { actionScopes, actionTypeGuards, parseModules } from "./action-scopes.mjs";

const { values } = parseArgs({ options: { dir: { type: "string", default: "rego" }, opa: { type: "string" }, check: { type: "boolean" } } });
const dataFile = join(values.dir, "data.json");
const target = join(values.dir, "kernel.rego");

function fail(message) {
  console.error(`gen-kernel-rego: ${message}`);
  process.exit(1);
}

let data;
try {
  data = JSON.parse(readFileSync(dataFile, "utf8"));
} catch (error) {
  fail(`${dataFile}: ${error.message}`);
}
const names = data?.policy_kernel?.policies;
if (!Array.isArray(names) || names.length === 0) {
  fail(`${dataFile}: policy_kernel.policies must be a non-empty array of package names under policies.*`);
}
names.forEach((name, index) => {
  if (typeof name !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    fail(`${dataFile}: policy_kernel.policies[${index}] is ${JSON.stringify(name)}; expected a Rego identifier (the X of package policies.X)`);
  }
});
if (new Set(names).size !== names.length) fail(`${dataFile}: policy_kernel.policies lists a name twice`);

/** One rule per policy, in name order: \`rule(name)\` gives its text. */
const perPolicy = (rule) =>
  [...names]
    .sort()
    .map((name) => `${rule(name)}\n`)
    .join("\n");

const policyRules = perPolicy(
  (name) => `policy_violations contains v if {
	not disabled("${name}")
	some v in data.policies.${name}.violations
}`,
);

let scopes;
try {
  const opa = values.opa ?? execFileSync(join(dirname(fileURLToPath(import.meta.url)), "ensure-opa.sh"), { encoding: "utf8" }).trim();
  scopes = actionScopes(actionTypeGuards(parseModules(opa, values.dir), names));
} catch (error) {
  fail(`reading the policies' action-type guards: ${error.message}`);
}

/** One rule per policy that can fire for the scope, as \`head\`: each policy's rule as policy_violations has it. */
const scopeRules = (head, scoped) =>
  scoped
    .map(
      (name) => `${head} contains v if {
	not disabled("${name}")
	some v in data.policies.${name}.violations
}
`,
    )
    .join("\n");

const entrypoint = "# METADATA\n# entrypoint: true\n";

const typeSection = scopes
  ? `
# Per action type. A policy whose every violations rule has the guard
# input.action.type == "<type>" finds nothing for an action of another type
# (scripts/action-scopes.mjs reads the guards from the policies' syntax), so
# each such type gets an entrypoint with only the policies that can fire for
# it, and violations_of_other_types holds the unscoped ones, for every other
# type. The kernel reads action_scopes once, at load, then evaluates per
# decision the entrypoint of the action's type: the same set policy_violations
# gives, without the policies that would find nothing.

${entrypoint}action_scopes := ${regoObject(scopes)}

${Object.entries(scopes.types)
  .map(([type, scoped]) => `${entrypoint}${scopeRules(`violations_of_type.${type}`, scoped)}`)
  .join("\n")}
${entrypoint}${scopes.other.length > 0 ? scopeRules("violations_of_other_types", scopes.other) : "violations_of_other_types := set()\n"}`
  : "";

/** The scopes as opa fmt writes an object literal: one member per line. */
function regoObject(value, indent = "") {
  if (Array.isArray(value)) return `[${value.map((item) => JSON.stringify(item)).join(", ")}]`;
  const inner = `${indent}\t`;
  const members = Object.entries(value).map(([key, item]) => `${inner}${JSON.stringify(key)}: ${regoObject(item, inner)},`);
  return `{\n${members.join("\n")}\n${indent}}`;
}

const configRules = perPolicy(
  (name) => `config_violations contains v if {
	not configured("${name}")
	not disabled("${name}")
	data.policies.${name}.needs_config == true
	v := missing_config("${name}")
}`,
);

const text = `# GENERATED by scripts/gen-kernel-rego.mjs from policy_kernel.policies in
# data.json: do not edit; add the package name there and rebuild the bundle.
#
# The aggregate entrypoint (kernel/violations): every enabled policy's
# violations in one set, so a decision costs exactly one Wasm call. One rule
# per policy with a ground reference, so only the violations rules are
# evaluated (a variable over data.policies would build every package whole).
#
# It is also the union of two entrypoints the kernel calls apart:
# policy_violations depends on the input, config_violations only on data. The
# data is fixed for an engine's life, so the kernel evaluates config_violations
# once, at load, and policy_violations per decision (the config checks were
# about 5% of a decision).
package kernel

# Policies switched off by data.policy_kernel.disabled[name] == true.
disabled(name) if data.policy_kernel.disabled[name] == true

# A helper, not an inline \`not is_object(...)\`: OPA hoists an undefined call
# argument out of the negation, which would make the whole body undefined.
configured(name) if is_object(data.policy_kernel.config[name])

# Fail closed: a policy that reads data.policy_kernel.config.<name> declares
# needs_config := true. If a setData call replaced the bundle data without that
# object, the policy would silently find nothing, so block instead. The rules
# test the config first: it is nearly always there, and then the body stops
# before evaluating (and memoizing) needs_config.
missing_config(name) := {
	"policy": "kernel",
	"rule": "missing_config",
	"severity": "critical",
	"effect": "block",
	"description": concat("", ["configuration data.policy_kernel.config.", name, " is missing"]),
}

violations contains v if some v in policy_violations

violations contains v if some v in config_violations

${policyRules}
${configRules}${typeSection}`;

let current = "";
try {
  current = readFileSync(target, "utf8");
} catch {
  // absent: written below, or stale under --check
}
if (values.check) {
  if (current !== text) fail(`${target} is stale; run node scripts/gen-kernel-rego.mjs (or scripts/build-bundle.sh)`);
  process.exit(0);
}
if (current !== text) {
  writeFileSync(`${target}.tmp`, text);
  renameSync(`${target}.tmp`, target);
  console.log(`gen-kernel-rego: wrote ${target} (${names.length} policies)`);
}
