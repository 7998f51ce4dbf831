import type { FlightRecorder } from "../audit/flight-recorder.js";
import type { EnvironmentMetrics } from "../env/environment.js";
import { EnvClosed } from "../env/errors.js";
import type { EnvTrailReport } from "../gym/env-trail.js";
import type { GovernanceGate } from "../gym/governance-gate.js";
import type { GovernedSqlEnv } from "../gym/governed-sql-env.js";
import { HostError } from "./protocol.js";

/** An env the host serves, by kind. */
export type HostedEnv = { readonly kind: "sql"; readonly env: GovernedSqlEnv } | { readonly kind: "gate"; readonly env: GovernanceGate };

/** What every hosted env offers the host, whatever its kind. */
interface Closable {
  readonly trail: FlightRecorder;
  metrics(): EnvironmentMetrics;
  close(): Promise<EnvTrailReport>;
}

/**
 * The envs `make` built, by handle. A closed env leaves a tombstone (its kind only), so a later
 * request names it `env_closed` rather than `unknown_env`, while its trail and world are released.
 */
export class EnvRegistry {
  readonly #max: number;
  readonly #envs = new Map<number, HostedEnv | { readonly kind: "closed" }>();
  #next = 1;
  #open = 0;

  /** At most `maxEnvs` open at once. */
  constructor(maxEnvs: number) {
    this.#max = maxEnvs;
  }

  /** The handle the next env gets; throws too_many_envs when `maxEnvs` are open. */
  reserve(): number {
    if (this.#open >= this.#max) {
      throw new HostError("too_many_envs", `${this.#open} envs are open, the most this host serves (--max-envs ${this.#max}): close one first`, { field: "kind", expected: "at most --max-envs open envs" });
    }
    return this.#next;
  }

  /** Registers `env` under the handle reserve() gave. */
  add(handle: number, env: HostedEnv): void {
    this.#envs.set(handle, env);
    this.#next = handle + 1;
    this.#open += 1;
  }

  /** The open env `handle` names; unknown_env or env_closed otherwise. */
  get(handle: number): HostedEnv {
    const found = this.#envs.get(handle);
    if (found === undefined) throw new HostError("unknown_env", `no env has handle ${handle}: use the handle make returned`, { field: "env" });
    if (found.kind === "closed") throw new EnvClosed(`env ${handle} is closed`);
    return found;
  }

  /** Closes env `handle`, leaving its tombstone. */
  async close(handle: number): Promise<EnvTrailReport> {
    const hosted = this.get(handle);
    this.#envs.set(handle, { kind: "closed" });
    this.#open -= 1;
    return (hosted.env as Closable).close();
  }

  /** Every open handle, oldest first. */
  openHandles(): number[] {
    return [...this.#envs].filter(([, env]) => env.kind !== "closed").map(([handle]) => handle);
  }
}
