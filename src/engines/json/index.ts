export {
  createJsonRulesEngine,
  type JsonRulesCustomFact,
  type JsonRulesEngine,
  type JsonRulesEngineOptions,
} from "./json-engine.js";
export {
  JSON_RULES_OPERATOR_DECORATORS,
  JSON_RULES_OPERATORS,
  parseOperator,
  type JsonRulesOperator,
  type JsonRulesOperatorDecorator,
  type ParsedOperator,
} from "./operators.js";
export { parsePath, PATH_EXPECTATION, type PathStep } from "./paths.js";
export {
  JSON_RULES_FACTS,
  JsonRuleSchema,
  loadRuleSetFile,
  loadRuleSets,
  parseRuleSet,
  ruleSetContent,
  RuleSetFileSchema,
  type JsonCondition,
  type JsonRule,
  type RuleSet,
  type RuleSetFile,
  type RuleSetOptions,
  type TopLevelCondition,
} from "./rule-set.js";
