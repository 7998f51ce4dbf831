// The in-process row the Python bridge rows are compared with: the same SQL env the stdio host
// serves, stepped directly in this process (no JSON, no pipe).
import { GovernedSqlEnv } from "../../src/gym/governed-sql-env.js";

/** A measured call and how to release what it holds. */
export interface SqlEnvStepRow {
  readonly id: string;
  readonly name: string;
  readonly what: string;
  readonly call: (i: number) => unknown;
  readonly close: () => Promise<unknown>;
}

/**
 * GovernedSqlEnv.step with its own kernel and an in-memory trail, as the host builds one per
 * `make`; action `i % 4`; a call after an episode ended is its reset instead (one env-step of
 * Gymnasium's NEXT_STEP autoreset, as the Python bridge rows count them).
 */
export async function sqlEnvStepRow(): Promise<SqlEnvStepRow> {
  const env = await GovernedSqlEnv.open({});
  let done = true;
  let first = true;
  // One call is one slot of Gymnasium's NEXT_STEP stream (a step, or the reset after an episode
  // ended), as the Python rows count env-steps. Async either way, so the meter awaits every call.
  const call = async (i: number): Promise<void> => {
    if (done) {
      env.reset(first ? { seed: 7 } : {});
      first = false;
      done = false;
      return;
    }
    const result = await env.step(i % env.spec.actionCount);
    done = result.terminated || result.truncated;
  };
  return {
    id: "sql_env_step",
    name: "GovernedSqlEnv.step (in process)",
    what: "the SQL env the stdio host serves, stepped in process: kernel + demo executor + PolicyReward + trail in memory; a reset counts as the env-step after an episode ends",
    call,
    close: () => env.close(),
  };
}
