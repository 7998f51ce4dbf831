import { readFileSync } from "node:fs";
import { sha256Hex } from "../canonical-json.js";
import { PolicyKernelError, errorMessage } from "../errors.js";
import { DEFAULT_BUNDLE_LIMITS, type BundleLimits } from "../engines/rego/bundle.js";
import { DEFAULT_MAX_DELAY_SECONDS, DEFAULT_MIN_DELAY_SECONDS, DEFAULT_RESPONSE_HEADER_TIMEOUT_SECONDS, displayUrl, type BundleServiceOptions, type BundleStatus } from "./config.js";
import { BundleDownloadError, downloadBundle, type DownloadResult } from "./download.js";

/** Largest token file read: a token is a line, not a document. */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;

/** The archive a source serves now: its bytes, ETag and hash. */
export interface ActiveArchive {
  readonly bytes: Buffer;
  readonly etag: string | undefined;
  readonly sha256: string;
  /** The Content-Type it was served with, named in the error when the bytes are not a bundle. */
  readonly contentType: string | undefined;
}

/** The settings of every source of one kernel, resolved once from the options. */
export interface SourceSettings {
  readonly token: string | undefined;
  readonly tokenFile: string | undefined;
  readonly minMs: number;
  readonly maxMs: number;
  readonly longPollSeconds: number | undefined;
  readonly headerTimeoutMs: number;
  readonly bodyIdleTimeoutMs: number;
  readonly maxBytes: number;
}

/** The options, checked against each other and with OPA's defaults filled in. */
export function sourceSettings(options: BundleServiceOptions, limits: BundleLimits | undefined): SourceSettings {
  if (options.token !== undefined && options.tokenFile !== undefined) {
    throw new PolicyKernelError("invalid_config", "a bearer token is given twice: give token or tokenFile", { field: "createPolicyKernel.bundleService.tokenFile" });
  }
  const min = options.minDelaySeconds ?? Math.min(DEFAULT_MIN_DELAY_SECONDS, options.maxDelaySeconds ?? DEFAULT_MIN_DELAY_SECONDS);
  const max = options.maxDelaySeconds ?? Math.max(DEFAULT_MAX_DELAY_SECONDS, min);
  if (min > max) {
    throw new PolicyKernelError("invalid_config", `the least delay between polls (${min} s) is more than the most (${max} s)`, {
      field: "createPolicyKernel.bundleService.minDelaySeconds",
      expected: "minDelaySeconds <= maxDelaySeconds (the CLI's --bundle-poll-min and --bundle-poll-max)",
    });
  }
  const headerTimeoutMs = (options.responseHeaderTimeoutSeconds ?? DEFAULT_RESPONSE_HEADER_TIMEOUT_SECONDS) * 1000;
  return {
    token: options.token,
    tokenFile: options.tokenFile,
    minMs: min * 1000,
    maxMs: max * 1000,
    longPollSeconds: options.longPollingTimeoutSeconds,
    headerTimeoutMs,
    bodyIdleTimeoutMs: (options.bodyIdleTimeoutSeconds ?? headerTimeoutMs / 1000) * 1000,
    maxBytes: limits?.maxBytes ?? DEFAULT_BUNDLE_LIMITS.maxBytes,
  };
}

/**
 * One bundle URL: what it serves now, its ETag and long-poll state, and its status in OPA's
 * terms. It downloads; deciding what to do with a new archive is the served kernel's.
 */
export class BundleSource {
  active: ActiveArchive | undefined;
  /** Whether the server answered the last request with OPA's long-poll content type. */
  longPoll = false;
  /** Failures since the last success, for the backoff. */
  retries = 0;
  /** The ETag sent as If-None-Match; cleared after a failed request, as OPA does. */
  private etag: string | undefined;
  private readonly state: { -readonly [K in keyof BundleStatus]: BundleStatus[K] };

  constructor(
    readonly url: string,
    private readonly settings: SourceSettings,
  ) {
    this.state = { name: displayUrl(url), activations: 0, long_polling: false };
  }

  /** A copy of the status, in OPA's field names. */
  status(): BundleStatus {
    return { ...this.state, ...(this.state.errors ? { errors: [...this.state.errors] } : {}) };
  }

  /**
   * Downloads once: a new archive, or undefined when the active one is current (304, or the same
   * bytes again). `wait`: a long poll when the server holds them; never for the request a kernel
   * is built from, or one asked for now (refreshBundles).
   */
  async fetch(signal: AbortSignal | undefined, wait: boolean): Promise<ActiveArchive | undefined> {
    this.state.last_request = new Date().toISOString();
    let result: DownloadResult;
    try {
      result = await downloadBundle({
        url: this.url,
        etag: this.etag,
        token: this.token(),
        longPollSeconds: wait && this.longPoll ? this.settings.longPollSeconds : undefined,
        maxBytes: this.settings.maxBytes,
        headerTimeoutMs: this.settings.headerTimeoutMs,
        bodyIdleTimeoutMs: this.settings.bodyIdleTimeoutMs,
        signal,
      });
    } catch (error) {
      this.etag = undefined;
      this.failed(error);
      throw error;
    }
    this.state.last_successful_request = this.state.last_request;
    // Long polls go on while the server says it holds them, and only when asked for.
    this.longPoll = this.settings.longPollSeconds !== undefined && (result.status === "not_modified" ? this.longPoll || result.longPoll : result.longPoll);
    this.state.long_polling = this.longPoll;
    if (result.status === "not_modified") {
      this.etag = result.etag ?? this.etag;
      if (this.active) this.ok();
      return undefined;
    }
    this.state.last_successful_download = this.state.last_request;
    this.state.size = result.bytes.length;
    const archive: ActiveArchive = { bytes: result.bytes, etag: result.etag, sha256: sha256Hex(result.bytes), contentType: result.contentType };
    if (this.active && this.active.sha256 === archive.sha256) {
      // The same archive again (after an error cleared the ETag, or a server without ETags): nothing to swap.
      this.etag = archive.etag;
      this.active = archive;
      this.ok();
      return undefined;
    }
    return archive;
  }

  /** `archive` decides from now on. */
  activated(archive: ActiveArchive, revision: string): void {
    this.active = archive;
    this.etag = archive.etag;
    this.state.active_revision = revision;
    this.state.active_sha256 = archive.sha256;
    if (archive.etag !== undefined) this.state.etag = archive.etag;
    else delete this.state.etag;
    this.state.last_successful_activation = new Date().toISOString();
    this.state.activations += 1;
    this.ok();
  }

  /** Records a failure (request, parse, verification or compile) in OPA's status fields; the active archive stays. */
  failed(error: unknown): void {
    this.retries += 1;
    this.state.code = "bundle_error";
    this.state.message = errorMessage(error);
    this.state.errors = errorMessage(error).split("\n");
    if (error instanceof BundleDownloadError && error.httpCode !== undefined) this.state.http_code = String(error.httpCode);
    else delete this.state.http_code;
  }

  private ok(): void {
    this.retries = 0;
    delete this.state.code;
    delete this.state.message;
    delete this.state.http_code;
    delete this.state.errors;
  }

  /** The bearer token: given, or read from its file before every request (a rotated token is picked up). */
  private token(): string | undefined {
    if (this.settings.tokenFile === undefined) return this.settings.token;
    let text: string;
    try {
      const bytes = readFileSync(this.settings.tokenFile);
      if (bytes.length > MAX_TOKEN_FILE_BYTES) throw new Error(`more than ${MAX_TOKEN_FILE_BYTES} bytes`);
      text = bytes.toString("utf8").trim();
    } catch (error) {
      throw new PolicyKernelError("io_error", `cannot read the bearer token (${(error as NodeJS.ErrnoException).code ?? errorMessage(error)})`, {
        file: this.settings.tokenFile,
        expected: "a file holding the token on one line (the CLI's --bundle-token-file)",
      });
    }
    if (text === "" || /[\r\n\0]/.test(text)) {
      throw new PolicyKernelError("invalid_config", "the bearer token file is empty or holds more than one line", { file: this.settings.tokenFile, expected: "the token on one line" });
    }
    return text;
  }
}
