// What the kernel, the bench and the engine tests use of the JSON-rules engine; the modules
// themselves export the rest (schemas, operators, paths) to whoever needs it.
export { createJsonRulesEngine, type JsonRulesCustomFact, type JsonRulesEngine, type JsonRulesEngineOptions } from "./json-engine.js";
export { loadRuleSets, type RuleSet } from "./rule-set.js";
