import { describe, expect, it } from "vitest";
import { checkEnv, type CheckableEnv } from "../../src/env/check-env.js";
import { GovernedEnvironment, type ResetParams, type StepAction } from "../../src/env/environment.js";
import { EnvCheckError } from "../../src/env/errors.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import type { Decision } from "../../src/schemas.js";

// A fake kernel (unit tests only): DROP is a critical block, everything else is allowed.
const PROVENANCE = { bundleRevision: null, bundleSha256: null, dataSha256: null, rulesSha256: null };
const kernel: PolicyKernel = {
  policyNames: ["fake"],
  provenance: PROVENANCE,
  close() {},
  evaluate(input): Promise<Decision> {
    return this.evaluateUntrusted(input);
  },
  async evaluateUntrusted(input): Promise<Decision> {
    const sql = String((input as { action?: { sql?: unknown } }).action?.sql ?? "");
    if (!/DROP/i.test(sql)) return { allowed: true, violations: [], signals: [], provenance: PROVENANCE };
    return {
      allowed: false,
      violations: [
        { type: "blocked", policy: "sql", rule: "no_drop", severity: "critical", description: "DROP", blocked: true, penalty: 100, source: "rego" },
      ],
      signals: [],
      provenance: PROVENANCE,
    };
  },
};

const options = {
  taskGenerator: (rng: { int(n: number): number }) => ({ target: rng.int(1_000_000) }),
  executor: (state: { target: number }, _action: unknown, { rng }: { rng: { int(n: number): number } }) => ({
    result: rng.int(10),
    observation: { target: state.target + 1 },
  }),
};
const goodEnv = () => new GovernedEnvironment(kernel, options);

async function failedCheck(env: CheckableEnv, actions?: readonly StepAction[]): Promise<EnvCheckError> {
  try {
    await checkEnv(env, { seed: 9, ...(actions ? { actions } : {}) });
  } catch (error) {
    if (error instanceof EnvCheckError) return error;
    throw error;
  }
  throw new Error("checkEnv passed a broken environment");
}

describe("checkEnv", () => {
  it("passes a correct environment", async () => {
    const report = await checkEnv(goodEnv(), { seed: 9 });
    expect(report.passed).toEqual([
      "step_before_reset",
      "reset_shape",
      "step_shape",
      "seed_determinism",
      "unseeded_reset_deterministic",
      "unseeded_reset_continues_stream",
      "seed_changes_stream",
      "close_twice",
    ]);
    expect(report.skipped.map((s) => s.check)).toEqual(["step_after_end"]);
    expect(report.trajectoryLength).toBe(3);
  });

  it("checks step-after-end when the actions end the episode", async () => {
    const report = await checkEnv(goodEnv(), { seed: 9, actions: [{ type: "sql", sql: "SELECT 1" }, { type: "sql", sql: "DROP TABLE t" }] });
    expect(report.passed).toContain("step_after_end");
    expect(report.trajectoryLength).toBe(2);
  });

  it("skips the determinism check when context carries over between episodes", async () => {
    const env = new GovernedEnvironment(kernel, { ...options, config: { resetKernelState: false } });
    const report = await checkEnv(env);
    expect(report.skipped.map((s) => s.check)).toContain("seed_determinism");
  });

  it("fails an env whose reset ignores the seed (the reference's defect)", async () => {
    class IgnoresSeed extends GovernedEnvironment<{ target: number }, number> {
      override reset(params: ResetParams = {}) {
        return super.reset({ ...params, seed: Math.floor(Math.random() * 2 ** 31) });
      }
    }
    const error = await failedCheck(new IgnoresSeed(kernel, options));
    expect(error.check).toBe("seed_determinism");
    expect(error.message).toMatch(/seed 9 .*differ at the reset observation/);
  });

  it("fails an env that re-seeds on every unseeded reset", async () => {
    class StickySeed extends GovernedEnvironment<{ target: number }, number> {
      #last = 0;
      override reset(params: ResetParams = {}) {
        if (params.seed !== undefined) this.#last = params.seed as number;
        return super.reset({ ...params, seed: this.#last });
      }
    }
    const error = await failedCheck(new StickySeed(kernel, options));
    expect(error.check).toBe("unseeded_reset_continues_stream");
  });

  it("fails an env whose seeds all give the same stream", async () => {
    class OneSeed extends GovernedEnvironment<{ target: number }, number> {
      override reset(params: ResetParams = {}) {
        return super.reset({ ...params, ...(params.seed === undefined ? {} : { seed: 1 }) });
      }
    }
    const error = await failedCheck(new OneSeed(kernel, options));
    expect(error.check).toBe("seed_changes_stream");
  });

  it("fails a non-finite reward, a bad flag, a wrong tuple and a plain-Error step before reset", async () => {
    const base = (): CheckableEnv => {
      const env = goodEnv();
      return { reset: (p) => env.reset(p), step: (a) => env.step(a), close: () => env.close() };
    };
    const tweakStep = (tweak: (result: unknown[]) => unknown): CheckableEnv => {
      const env = base();
      return { ...env, step: async (a) => tweak((await env.step(a)) as unknown[]) };
    };

    const nan = await failedCheck(tweakStep(([o, , t, u, i]) => [o, Number.NaN, t, u, i]));
    expect([nan.check, nan.message]).toEqual(["step_shape", "checkEnv: step_shape: reward must be a finite number, got NaN"]);

    const flag = await failedCheck(tweakStep(([o, r, t, , i]) => [o, r, t, 0, i]));
    expect(flag.message).toMatch(/truncated must be a boolean/);

    const four = await failedCheck(tweakStep(([o, r, t, , i]) => [o, r, t, i]));
    expect(four.message).toMatch(/an array of 4/);

    const plain = base();
    const noResetNeeded = await failedCheck({
      ...plain,
      step: async (a) => {
        try {
          return await plain.step(a);
        } catch {
          throw new Error("oops");
        }
      },
    });
    expect(noResetNeeded.check).toBe("step_before_reset");
    expect(noResetNeeded.message).toMatch(/Error: oops, not ResetNeeded/);
  });

  it("fails a reset that does not return [observation, info] and a close that throws the second time", async () => {
    const env = goodEnv();
    const single = await failedCheck({ reset: (p) => env.reset(p)[0], step: (a) => env.step(a), close: () => env.close() });
    expect(single.check).toBe("reset_shape");

    const other = goodEnv();
    let closes = 0;
    const closeTwice = await failedCheck({
      reset: (p) => other.reset(p),
      step: (a) => other.step(a),
      close: () => {
        closes += 1;
        if (closes > 1) throw new Error("already closed");
      },
    });
    expect(closeTwice.check).toBe("close_twice");
  });

  it("fails an env with a step that keeps going after the end", async () => {
    const env = goodEnv();
    let started = false;
    const leaky: CheckableEnv = {
      reset: (p) => {
        started = true;
        return env.reset(p);
      },
      close: () => env.close(),
      // Raises ResetNeeded before the first reset, but after an episode ends it keeps answering.
      step: async (a) => {
        if (!started) return env.step(a);
        const result = (await env.step(a).catch(() => null)) as unknown[] | null;
        return result ?? [{ target: 0 }, 0, false, false, {}];
      },
    };
    const error = await failedCheck(leaky, [{ type: "sql", sql: "DROP TABLE t" }]);
    expect(error.check).toBe("step_after_end");
  });
});
