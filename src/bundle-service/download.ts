import { request as httpRequest, STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { PolicyKernelError } from "../errors.js";
import { MAX_REDIRECTS, displayUrl } from "./config.js";

/** The content type a bundle server answers with when it holds long polls open (OPA's isLongPollSupported). */
export const LONG_POLL_CONTENT_TYPE = "application/vnd.openpolicyagent.bundles";

/** One GET of a bundle, as OPA's downloader makes it. */
export interface DownloadRequest {
  readonly url: string;
  /** The active archive's ETag, sent as If-None-Match: the server answers 304 while it is current. */
  readonly etag?: string | undefined;
  /** Sent as `Authorization: Bearer <token>`, and not to another host after a redirect. */
  readonly token?: string | undefined;
  /** Ask the server to hold the request up to this many seconds for a new revision (`Prefer: ...;wait=N`). */
  readonly longPollSeconds?: number | undefined;
  /** Largest body accepted; a larger one is cut off as it streams in, never buffered whole. */
  readonly maxBytes: number;
  /** Milliseconds until the response headers must have arrived (a long poll's wait is added). */
  readonly headerTimeoutMs: number;
  /** Milliseconds the body may go without a byte. */
  readonly bodyIdleTimeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/** What a download brought: a new archive, or word that the active one is current (304). */
export type DownloadResult =
  | { readonly status: "not_modified"; readonly etag: string | undefined; readonly longPoll: boolean }
  | { readonly status: "ok"; readonly bytes: Buffer; readonly etag: string | undefined; readonly longPoll: boolean; readonly contentType: string | undefined };

/** A download that failed: the HTTP status when the server answered with one. */
export class BundleDownloadError extends PolicyKernelError {
  /** The server's HTTP status (404, 500, ...), when it answered with an error status. */
  readonly httpCode: number | undefined;

  constructor(message: string, url: string, httpCode?: number, expected?: string) {
    super("io_error", message, { file: displayUrl(url), ...(expected ? { expected } : {}) });
    this.httpCode = httpCode;
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Downloads a bundle archive with OPA's bundle protocol: If-None-Match, `Prefer` for long polls,
 * a bearer token, redirects as Go's client (OPA's) follows them, and caps on size and time.
 */
export async function downloadBundle(req: DownloadRequest): Promise<DownloadResult> {
  let url = parseHttpUrl(req.url, req.url);
  let sendToken = req.token !== undefined;
  for (let hop = 0; ; hop++) {
    const response = await get(url, req, sendToken);
    const status = response.statusCode ?? 0;
    if (REDIRECTS.has(status)) {
      response.destroy();
      const location = response.headers.location;
      if (!location) throw new BundleDownloadError(`server replied with ${status} but no Location`, req.url, status);
      if (hop + 1 > MAX_REDIRECTS) throw new BundleDownloadError(`stopped after ${MAX_REDIRECTS} redirects`, req.url, status, `at most ${MAX_REDIRECTS} redirects`);
      const next = parseHttpUrl(new URL(location, url).toString(), req.url);
      // As Go's client (OPA's): the token goes on only to the same host and port, or a subdomain of it.
      if (!sameOrSubdomain(next.host, url.host)) sendToken = false;
      url = next;
      continue;
    }
    return readResponse(response, req);
  }
}

function parseHttpUrl(text: string, original: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BundleDownloadError(`"${displayUrl(text)}" is not a URL`, original, undefined, "an http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new BundleDownloadError(`redirected to a ${url.protocol} URL`, original, undefined, "http:// or https:// only");
  }
  return url;
}

function sameOrSubdomain(host: string, of: string): boolean {
  return host === of || host.endsWith(`.${of}`);
}

/** One GET; resolves with the response once its headers are in, or fails after the header timeout. */
function get(url: URL, req: DownloadRequest, sendToken: boolean): Promise<IncomingMessage> {
  const headers: OutgoingHttpHeaders = {
    "user-agent": "policy-kernel",
    // A body the server compressed again would be a second, unbounded inflation: ask for none.
    "accept-encoding": "identity",
    prefer: req.longPollSeconds === undefined ? "modes=snapshot" : `modes=snapshot;wait=${req.longPollSeconds}`,
  };
  if (req.etag) headers["if-none-match"] = req.etag;
  if (sendToken && req.token !== undefined) headers["authorization"] = `Bearer ${req.token}`;
  const headerTimeoutMs = req.headerTimeoutMs + (req.longPollSeconds ?? 0) * 1000;
  return new Promise((resolve, reject) => {
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    let request: ReturnType<typeof send>;
    try {
      request = send(url, { method: "GET", headers, ...(req.signal ? { signal: req.signal } : {}) });
    } catch (error) {
      // A header Node will not send (a token with a control character): a failed request, not a crash.
      reject(asDownloadError(error, req.url));
      return;
    }
    const timer = setTimeout(() => {
      request.destroy(new BundleDownloadError(`no response within ${Math.round(headerTimeoutMs / 100) / 10} s`, req.url, undefined, "response headers before the timeout (responseHeaderTimeoutSeconds)"));
    }, headerTimeoutMs);
    request.once("response", (response) => {
      clearTimeout(timer);
      resolve(response);
    });
    request.once("error", (error) => {
      clearTimeout(timer);
      reject(asDownloadError(error, req.url));
    });
    request.end();
  });
}

/** The answer to a GET: 304, a capped body for 200, an error naming the status otherwise. */
function readResponse(response: IncomingMessage, req: DownloadRequest): Promise<DownloadResult> {
  const status = response.statusCode ?? 0;
  const etag = headerText(response.headers.etag);
  const contentType = headerText(response.headers["content-type"]);
  const longPoll = contentType?.trim().toLowerCase() === LONG_POLL_CONTENT_TYPE;
  if (status === 304) {
    response.destroy();
    return Promise.resolve({ status: "not_modified", etag, longPoll });
  }
  if (status !== 200) {
    // The body of an error answer is not read at all: it could be endless.
    response.destroy();
    return Promise.reject(new BundleDownloadError(`server replied with ${status} ${STATUS_CODES[status] ?? ""}`.trim(), req.url, status));
  }
  const encoding = headerText(response.headers["content-encoding"])?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== "" && encoding !== "identity") {
    response.destroy();
    return Promise.reject(new BundleDownloadError(`server sent Content-Encoding ${encoding}, which was not asked for`, req.url, status, "the archive's bytes as they are (Content-Encoding identity)"));
  }
  const declared = Number(response.headers["content-length"]);
  if (Number.isFinite(declared) && declared > req.maxBytes) {
    response.destroy();
    return Promise.reject(tooLarge(`${declared} bytes (Content-Length)`, req));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      response.destroy();
      reject(error);
    };
    const stalled = (): void => fail(new BundleDownloadError(`the body stalled: no byte for ${req.bodyIdleTimeoutMs / 1000} s after ${total} bytes`, req.url, status, "a body that keeps coming (bodyIdleTimeoutSeconds)"));
    const idle = setTimeout(stalled, req.bodyIdleTimeoutMs);
    response.on("data", (chunk: Buffer) => {
      total += chunk.length;
      if (total > req.maxBytes) return fail(tooLarge(`more than ${req.maxBytes} bytes`, req));
      chunks.push(chunk);
      idle.refresh();
    });
    response.once("end", () => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      if (!response.complete) return reject(new BundleDownloadError(`the connection closed after ${total} bytes, before the body ended`, req.url, status, "the whole archive"));
      resolve({ status: "ok", bytes: Buffer.concat(chunks, total), etag, longPoll, contentType });
    });
    response.once("aborted", () => fail(new BundleDownloadError(`the connection closed after ${total} bytes, before the body ended`, req.url, status, "the whole archive")));
    response.once("error", (error) => fail(asDownloadError(error, req.url)));
  });
}

function tooLarge(what: string, req: DownloadRequest): PolicyKernelError {
  return new PolicyKernelError("invalid_bundle", `the server sent ${what}, more than ${req.maxBytes} (bundleLimits.maxBytes; the CLI's --bundle-max-bytes)`, {
    file: displayUrl(req.url),
    expected: `an archive of at most ${req.maxBytes} bytes`,
  });
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function asDownloadError(error: unknown, url: string): PolicyKernelError {
  if (error instanceof PolicyKernelError) return error;
  const err = error as NodeJS.ErrnoException;
  if (err.name === "AbortError") return new BundleDownloadError("the request was cancelled (the kernel closed)", url);
  return new BundleDownloadError(`request failed (${err.code ?? err.message})`, url);
}
