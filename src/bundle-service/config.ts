import { z } from "zod";
import { isFunction } from "../values.js";

/** OPA's defaults (`bundles.<name>.polling`): a new request 60 to 120 seconds after the last answer. */
export const DEFAULT_MIN_DELAY_SECONDS = 60;
/** See DEFAULT_MIN_DELAY_SECONDS. */
export const DEFAULT_MAX_DELAY_SECONDS = 120;
/** OPA's `response_header_timeout_seconds` default: the server must start answering within 10 s. */
export const DEFAULT_RESPONSE_HEADER_TIMEOUT_SECONDS = 10;
/** Redirects followed before a download fails (Go's http.Client, which OPA uses, stops at 10). */
export const MAX_REDIRECTS = 10;

/**
 * The status of one served bundle, with the field names of OPA's status API
 * (`bundles.<name>` in a status report). Times are ISO 8601 strings, absent until they happen.
 */
export const BundleStatusSchema = z.strictObject({
  /** The bundle's name: its URL, without any user name or password in it. */
  name: z.string(),
  /** The revision deciding now (the manifest's `revision`, "" when it has none). */
  active_revision: z.string().optional(),
  /** SHA-256 of the active archive, which names it even when the revision is "". */
  active_sha256: z.string().optional(),
  /** The active archive's ETag, sent as If-None-Match. */
  etag: z.string().optional(),
  last_request: z.string().optional(),
  last_successful_request: z.string().optional(),
  last_successful_download: z.string().optional(),
  last_successful_activation: z.string().optional(),
  /** `bundle_error` while the last request or activation failed (OPA's code); absent when all is well. */
  code: z.string().optional(),
  /** What failed, in words. */
  message: z.string().optional(),
  /** The HTTP status of a failed request, as a string (OPA's `http_code`). */
  http_code: z.string().optional(),
  /** Every problem of the last failure (one line each). */
  errors: z.array(z.string()).optional(),
  /** Bytes of the last archive downloaded. */
  size: z.number().int().nonnegative().optional(),
  /** Activations so far, the first load included. */
  activations: z.number().int().nonnegative(),
  /** Whether the server answers long polls (content type `application/vnd.openpolicyagent.bundles`). */
  long_polling: z.boolean(),
});
/** See BundleStatusSchema. */
export type BundleStatus = z.infer<typeof BundleStatusSchema>;

/** Called with every bundle's status whenever one changes (a request answered, a revision activated, an error). */
export type BundleStatusListener = (statuses: readonly BundleStatus[]) => void;

/**
 * How bundles given as `http(s)://` URLs are fetched, with OPA's configuration names where they
 * exist (`polling.min_delay_seconds`, `credentials.bearer.token`, ...), in camel case.
 */
export const BundleServiceOptionsSchema = z.strictObject({
  /** Bearer token sent as `Authorization: Bearer <token>` (OPA's `credentials.bearer.token`). */
  token: z.string().min(1).optional(),
  /** File holding the token, read again before every request so a rotated token is used (OPA's `token_path`). */
  tokenFile: z.string().min(1).optional(),
  /** Least seconds between two polls (default 60); jitter picks a delay between min and max. */
  minDelaySeconds: z.number().finite().nonnegative().optional(),
  /** Most seconds between two polls (default 120), and the cap of the retry backoff after a failure. */
  maxDelaySeconds: z.number().finite().nonnegative().optional(),
  /** Ask for long polls of this many seconds (`Prefer: wait=N`); used while the server answers with OPA's bundle content type. */
  longPollingTimeoutSeconds: z.number().int().min(1).optional(),
  /** Seconds the server has to send the response headers (default 10; a long poll adds its wait). */
  responseHeaderTimeoutSeconds: z.number().finite().positive().optional(),
  /** Seconds a body may stall without a byte before the download fails (default: the header timeout). */
  bodyIdleTimeoutSeconds: z.number().finite().positive().optional(),
  /** Poll at all: false fetches once at load and never again (default true). */
  polling: z.boolean().optional(),
  /** Told of every status change (see BundleStatusSchema). */
  onStatus: z.custom<BundleStatusListener>(isFunction, { message: "a function (statuses) => void" }).optional(),
});
/** See BundleServiceOptionsSchema. */
export type BundleServiceOptions = z.input<typeof BundleServiceOptionsSchema>;

/** True for a bundle location the bundle service client fetches rather than a path on disk. */
export function isBundleUrl(location: unknown): location is string {
  return typeof location === "string" && /^https?:\/\//i.test(location);
}

/** The URL as status and errors show it: without a user name or password. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.toString();
  } catch {
    return url;
  }
}
