import { writeFileAtomic } from "../audit/atomic-write.js";
import { errorMessage } from "../errors.js";
import { isBundleUrl, type BundleServiceOptions, type BundleStatus } from "../bundle-service/config.js";
import { UsageError } from "./flags.js";

/** The flags of every command that takes --bundle, for a bundle given as an http(s) URL (OPA's config names in the docs). */
export const BUNDLE_SERVICE_FLAGS = {
  "bundle-token": { type: "string" },
  "bundle-token-file": { type: "string" },
  "bundle-poll-min": { type: "string" },
  "bundle-poll-max": { type: "string" },
  "bundle-long-poll": { type: "string" },
  "bundle-timeout": { type: "string" },
  "bundle-status-file": { type: "string" },
} as const;

/** What BUNDLE_SERVICE_FLAGS parse to. */
export interface BundleServiceFlagValues {
  bundle?: string;
  "bundle-token"?: string;
  "bundle-token-file"?: string;
  "bundle-poll-min"?: string;
  "bundle-poll-max"?: string;
  "bundle-long-poll"?: string;
  "bundle-timeout"?: string;
  "bundle-status-file"?: string;
}

/** The usage lines of BUNDLE_SERVICE_FLAGS. */
export const BUNDLE_SERVICE_USAGE = `  --bundle URL     an http(s):// URL serves the bundle (OPA's bundle service protocol): polled, each new
                   revision swapped in atomically (docs/guides/bundle-service.md)
  --bundle-token T / --bundle-token-file F   bearer token, or a file holding it (read before each request)
  --bundle-poll-min S / --bundle-poll-max S  seconds between polls, jittered (default 60 / 120)
  --bundle-long-poll S   ask the server to hold each poll up to S seconds for a new revision
  --bundle-timeout S     seconds the server has to start answering (default 10)
  --bundle-status-file F the bundle status (OPA's fields) as JSON, rewritten on every change`;

/** Seconds from a flag: a non-negative decimal number. */
function secondsFlag(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new UsageError(`must be a number of seconds (such as 30 or 0.5), got "${raw}"`, { field: flag });
  return Number(raw);
}

/**
 * The kernel's `bundleService` options from the flags, or undefined when none is given. A flag
 * given without a URL bundle is a UsageError: it would silently do nothing.
 */
export function bundleServiceFromFlags(values: BundleServiceFlagValues): BundleServiceOptions | undefined {
  const given = (Object.keys(BUNDLE_SERVICE_FLAGS) as (keyof typeof BUNDLE_SERVICE_FLAGS)[]).filter((flag) => values[flag] !== undefined);
  if (!isBundleUrl(values.bundle)) {
    if (given.length > 0) throw new UsageError(`--${given[0]} applies to a bundle served by URL: give --bundle http(s)://...`);
    return undefined;
  }
  if (values["bundle-token"] !== undefined && values["bundle-token-file"] !== undefined) throw new UsageError("--bundle-token and --bundle-token-file both give the token: give one");
  const longPoll = secondsFlag(values["bundle-long-poll"], "--bundle-long-poll");
  if (longPoll !== undefined && (!Number.isInteger(longPoll) || longPoll < 1)) throw new UsageError(`must be a whole number of seconds from 1, got "${values["bundle-long-poll"]}"`, { field: "--bundle-long-poll" });
  const timeout = secondsFlag(values["bundle-timeout"], "--bundle-timeout");
  if (timeout === 0) throw new UsageError('must be more than 0 seconds, got "0"', { field: "--bundle-timeout" });
  const min = secondsFlag(values["bundle-poll-min"], "--bundle-poll-min");
  const max = secondsFlag(values["bundle-poll-max"], "--bundle-poll-max");
  if (min !== undefined && max !== undefined && min > max) throw new UsageError(`--bundle-poll-min (${min}) is more than --bundle-poll-max (${max})`);
  const statusFile = values["bundle-status-file"];
  return {
    ...(values["bundle-token"] === undefined ? {} : { token: values["bundle-token"] }),
    ...(values["bundle-token-file"] === undefined ? {} : { tokenFile: values["bundle-token-file"] }),
    ...(min === undefined ? {} : { minDelaySeconds: min }),
    ...(max === undefined ? {} : { maxDelaySeconds: max }),
    ...(longPoll === undefined ? {} : { longPollingTimeoutSeconds: longPoll }),
    ...(timeout === undefined ? {} : { responseHeaderTimeoutSeconds: timeout }),
    onStatus: statusReporter(statusFile),
  };
}

/**
 * Tells a CLI user of each revision activated after the first (one line on stderr; failures reach
 * stderr through the kernel's log) and keeps the status file, when asked for, current. `train`
 * builds several kernels from the same options: each revision is announced once, not once per kernel.
 */
function statusReporter(statusFile: string | undefined): (statuses: readonly BundleStatus[]) => void {
  const announced = new Set<string>();
  let writes: Promise<void> = Promise.resolve();
  return (statuses) => {
    for (const status of statuses) {
      const key = `${status.name}\0${status.active_sha256 ?? ""}`;
      if (announced.has(key)) continue;
      announced.add(key);
      // The revision a kernel was built with is no news; one swapped in later is.
      if (status.activations > 1) {
        process.stderr.write(`policy-kernel: bundle ${status.name}: revision "${status.active_revision ?? ""}" active (sha256 ${(status.active_sha256 ?? "").slice(0, 12)})\n`);
      }
    }
    if (statusFile === undefined) return;
    // As OPA's status API reports them: bundles by name.
    const text = `${JSON.stringify({ bundles: Object.fromEntries(statuses.map((status) => [status.name, status])) }, null, 2)}\n`;
    writes = writes
      .then(() => writeFileAtomic(statusFile, text))
      .catch((error: unknown) => {
        process.stderr.write(`policy-kernel: cannot write the bundle status file ${statusFile}: ${errorMessage(error)}\n`);
      });
  };
}
