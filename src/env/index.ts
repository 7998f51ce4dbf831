// Public surface of the environment layer, named explicitly (no `export *`) so the root index stays deliberate.
export {
  GovernedEnvironment,
  createGovernedEnv,
  stepReward,
  type CreateGovernedEnvOptions,
  type ContextFn,
  type EnvironmentMetrics,
  type Executor,
  type ExecutorOutcome,
  type GovernedEnvironmentOptions,
  type ResetInfo,
  type ResetParams,
  type ResetResult,
  type RewardFn,
  type RewardParts,
  type StepAction,
  type StepInfo,
  type StepOutcome,
  type StepResult,
  type TaskGenerator,
  type ToolCallRecorder,
} from "./environment.js";
export {
  ENVIRONMENT_CONFIG_FIELDS,
  EnvironmentConfigSchema,
  SEVERITY_SCALE,
  parseEnvironmentConfig,
  type EnvironmentConfig,
  type EnvironmentConfigInput,
} from "./config.js";
export { DEFAULT_SEED, SeedSchema, createRng, type Rng, type RngState, type Seed } from "./rng.js";
export { EnvCheckError, EnvClosed, EnvError, ResetNeeded, isEnvError, isResetNeeded, type EnvErrorCode } from "./errors.js";
export {
  DEFAULT_CHECK_ACTIONS,
  checkEnv,
  type CheckEnvOptions,
  type CheckEnvReport,
  type CheckName,
  type CheckableEnv,
} from "./check-env.js";
