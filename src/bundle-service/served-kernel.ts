import type { Logger } from "pino";
import { PolicyKernelError, errorMessage } from "../errors.js";
import type { BundleLimits, PolicyBundle } from "../engines/rego/bundle.js";
import { readVerifiedBundle, readVerifiedBundleBytes, type BundleReader } from "../engines/rego/verified-bundle.js";
import type { ActionInput, Decision, Provenance } from "../schemas.js";
import type { EvaluateOptions, PolicyKernel } from "../kernel/types.js";
import { nextDelayMs } from "./backoff.js";
import { BundleSource, sourceSettings, type ActiveArchive, type SourceSettings } from "./bundle-source.js";
import { LONG_POLL_CONTENT_TYPE } from "./download.js";
import type { DecisionLog } from "../decision-log/decision-log.js";
import type { KernelDecisionLog } from "../decision-log/kernel-hook.js";
import { displayUrl, isBundleUrl, type BundleServiceOptions, type BundleStatus } from "./config.js";

/**
 * How the kernel reads a bundle location: a path from disk, a URL from what its source downloaded;
 * `options` (signature verification) apply to both alike.
 */

/** Builds a whole kernel (engines compiled, checks run) reading its bundles through `read`. */
export type KernelBuilder = (read: BundleReader) => Promise<PolicyKernel>;

/** A kernel whose bundles come from a bundle service (see createServedKernel). */
export interface ServedKernel extends PolicyKernel {
  /** Every served bundle's status, in OPA's status fields. */
  bundleStatus(): readonly BundleStatus[];
  /** Polls every source now, once, and resolves when any new revision is active or refused (OPA's manual trigger). */
  refreshBundles(): Promise<readonly BundleStatus[]>;
}

/** One kernel built from one set of revisions, and the decisions it still has running. */
interface Generation {
  readonly kernel: PolicyKernel;
  inFlight: number;
  retired: boolean;
}

/**
 * A kernel over bundles served by URL (OPA's bundle service protocol). The first download and
 * build must succeed (a failure is the load error a missing file would be). Then each source polls;
 * a new archive is parsed, verified and compiled into a whole new kernel aside, and swapped in
 * with one assignment. Each decision runs on the kernel active when it started, which names its
 * revision in its provenance; a retired kernel is closed once its last decision is done. A
 * failure at any step keeps the active revision and is reported in the source's status.
 */
export async function createServedKernel(
  urls: readonly string[],
  options: BundleServiceOptions,
  limits: BundleLimits | undefined,
  logger: Logger,
  build: KernelBuilder,
  decisionLog?: KernelDecisionLog,
): Promise<ServedKernel> {
  const settings = sourceSettings(options, limits);
  const sources = [...new Set(urls)].map((url) => new BundleSource(url, settings));
  for (const source of sources) {
    const archive = await source.fetch(undefined, false);
    if (archive) source.active = archive;
  }
  const served = new Served(sources, settings, options, limits, logger, build, decisionLog);
  await served.start();
  return served;
}

class Served implements ServedKernel {
  private generation!: Generation;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly timers = new Map<BundleSource, NodeJS.Timeout>();
  /** Activations run one at a time, so two sources changing together cannot build from a stale set. */
  private swaps: Promise<void> = Promise.resolve();

  constructor(
    private readonly sources: readonly BundleSource[],
    private readonly settings: SourceSettings,
    private readonly options: BundleServiceOptions,
    private readonly limits: BundleLimits | undefined,
    private readonly logger: Logger,
    private readonly build: KernelBuilder,
    private readonly sharedLog: KernelDecisionLog | undefined,
  ) {}

  /** The first build, then polling. */
  async start(): Promise<void> {
    const revisions = new Map<BundleSource, string>();
    const kernel = await this.build(this.reader(new Map(), revisions));
    this.generation = { kernel, inFlight: 0, retired: false };
    for (const source of this.sources) source.activated(source.active!, revisions.get(source) ?? "");
    this.tell();
    if (this.options.polling !== false) for (const source of this.sources) this.schedule(source, this.delay(source, false));
  }

  get provenance(): Provenance {
    return this.generation.kernel.provenance;
  }

  get policyNames(): readonly string[] {
    return this.generation.kernel.policyNames;
  }

  get maxActionBytes(): number | undefined {
    return this.generation.kernel.maxActionBytes;
  }

  /** The one decision log every revision's kernel writes to (the kernel option `decisionLog`). */
  get decisionLog(): DecisionLog | undefined {
    return this.sharedLog?.log;
  }

  evaluate(action: ActionInput, options?: EvaluateOptions): Promise<Decision> {
    return this.run((kernel) => kernel.evaluate(action, options));
  }

  evaluateUntrusted(raw: unknown, options?: EvaluateOptions): Promise<Decision> {
    return this.run((kernel) => kernel.evaluateUntrusted(raw, options));
  }

  evaluateInput(input: unknown): Promise<Decision> {
    return this.run((kernel) => (kernel.evaluateInput ? kernel.evaluateInput(input) : kernel.evaluateUntrusted(input)));
  }

  bundleStatus(): readonly BundleStatus[] {
    return this.sources.map((source) => source.status());
  }

  async refreshBundles(): Promise<readonly BundleStatus[]> {
    await Promise.all(this.sources.map((source) => this.poll(source, false)));
    return this.bundleStatus();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.retire(this.generation);
    // A log the kernel made starts delivering what is left; `await kernel.decisionLog.close()` reports.
    if (this.sharedLog?.owned) void this.sharedLog.log.close();
  }

  /**
   * One decision on the generation active now: read once, so a swap during the decision does not
   * change which kernel (and revision) makes it; counted, so the kernel is not closed under it.
   */
  private run(decide: (kernel: PolicyKernel) => Promise<Decision>): Promise<Decision> {
    const generation = this.generation;
    generation.inFlight += 1;
    let pending: Promise<Decision>;
    try {
      pending = decide(generation.kernel);
    } catch (error) {
      this.done(generation);
      return Promise.reject(error);
    }
    return pending.finally(() => this.done(generation));
  }

  private done(generation: Generation): void {
    generation.inFlight -= 1;
    if (generation.retired && generation.inFlight === 0) generation.kernel.close();
  }

  private retire(generation: Generation): void {
    generation.retired = true;
    if (generation.inFlight === 0) generation.kernel.close();
  }

  /**
   * Reads URL locations from the active archives, with `next` taking the place of theirs, and notes
   * the revision each holds in `revisions`; paths are read from disk.
   */
  private reader(next: ReadonlyMap<BundleSource, ActiveArchive>, revisions: Map<BundleSource, string>): BundleReader {
    return async (location, options) => {
      if (!isBundleUrl(location)) return readVerifiedBundle(location, options);
      const source = this.sources.find((s) => s.url === location)!;
      const archive = next.get(source) ?? source.active!;
      let bundle: PolicyBundle;
      try {
        bundle = await readVerifiedBundleBytes(archive.bytes, displayUrl(location), { ...options, limits: options.limits ?? this.limits });
      } catch (error) {
        throw withContentType(error, archive.contentType);
      }
      revisions.set(source, bundle.manifest.revision);
      return bundle;
    };
  }

  private delay(source: BundleSource, failed: boolean): number {
    return nextDelayMs({ failed, retries: source.retries, longPoll: source.longPoll, minMs: this.settings.minMs, maxMs: this.settings.maxMs });
  }

  private schedule(source: BundleSource, ms: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(source);
      void this.poll(source, true);
    }, ms);
    // A poll never keeps the process alive: a CLI run ends when its work does.
    timer.unref();
    this.timers.set(source, timer);
  }

  /**
   * One request for `source`, an activation when it brings a new archive, then (when `again`, a
   * scheduled poll, which may be a long poll) the next poll.
   */
  private async poll(source: BundleSource, again: boolean): Promise<void> {
    if (this.closed) return;
    let failed = false;
    try {
      const archive = await source.fetch(this.abort.signal, again);
      if (archive && !this.closed) failed = !(await this.activate(source, archive));
    } catch (error) {
      failed = true;
      if (!this.closed) this.logger.warn({ bundle: source.status().name, err: errorMessage(error), active_revision: source.status().active_revision }, "bundle download failed; the active revision stays");
    }
    if (this.closed) return;
    this.tell();
    if (again) {
      const timer = this.timers.get(source);
      if (timer) clearTimeout(timer);
      this.schedule(source, this.delay(source, failed));
    }
  }

  /** Builds a kernel from `archive` aside and swaps it in; false (and the old one kept) when any step fails. */
  private activate(source: BundleSource, archive: ActiveArchive): Promise<boolean> {
    const run = this.swaps.then(async () => {
      if (this.closed) return false;
      // A refresh and a scheduled poll can bring the same archive: it is active once.
      if (source.active?.sha256 === archive.sha256) return true;
      let kernel: PolicyKernel;
      const revisions = new Map<BundleSource, string>();
      try {
        kernel = await this.build(this.reader(new Map([[source, archive]]), revisions));
      } catch (error) {
        source.failed(error);
        this.logger.warn({ bundle: source.status().name, err: errorMessage(error), active_revision: source.status().active_revision }, "new bundle revision refused; the active revision stays");
        return false;
      }
      if (this.closed) {
        kernel.close();
        return false;
      }
      const old = this.generation;
      // The swap: one assignment; decisions that started before it finish on `old`.
      this.generation = { kernel, inFlight: 0, retired: false };
      this.retire(old);
      source.activated(archive, revisions.get(source) ?? "");
      this.logger.info({ bundle: source.status().name, revision: kernel.provenance.bundleRevision, bundleSha256: kernel.provenance.bundleSha256 }, "bundle revision activated");
      return true;
    });
    this.swaps = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private tell(): void {
    const listener = this.options.onStatus;
    if (!listener) return;
    try {
      listener(this.bundleStatus());
    } catch (error) {
      this.logger.error({ err: errorMessage(error) }, "bundle status listener failed");
    }
  }
}

/** Content types a bundle is served with (OPA's expectedBundleContentType, and gzip's old name). */
const BUNDLE_CONTENT_TYPES = new Set(["application/gzip", "application/x-gzip", "application/octet-stream", LONG_POLL_CONTENT_TYPE]);

/**
 * A bundle that does not parse, served with a content type no bundle has (a login page, an
 * error page): the error says so, since that is likely the cause. OPA reads such a body too.
 */
function withContentType(error: unknown, contentType: string | undefined): unknown {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  if (!(error instanceof PolicyKernelError) || type === undefined || BUNDLE_CONTENT_TYPES.has(type)) return error;
  return new PolicyKernelError(error.code, `${error.message} (served as ${type}, not a bundle's application/gzip)`, {}, { cause: error });
}

/**
 * The bundle URLs among a kernel's options (`bundle` and each `opa[i].bundle`), in order, each
 * once; `bundleService` options with no URL to apply to are a configuration error, not ignored.
 */
export function servedBundleUrls(options: {
  readonly bundle?: string | false | undefined;
  readonly opa?: readonly { readonly bundle: string }[] | undefined;
  readonly bundleService?: object | undefined;
}): string[] {
  const locations = [options.bundle, ...(options.opa ?? []).map((source) => source.bundle)];
  const urls = [...new Set(locations.filter(isBundleUrl))];
  if (urls.length === 0 && options.bundleService !== undefined) {
    throw new PolicyKernelError("invalid_config", "bundleService options apply to bundles given by URL, and no bundle is one", {
      field: "createPolicyKernel.bundleService",
      expected: "bundle (or opa[i].bundle) an http:// or https:// URL",
    });
  }
  return urls;
}
