import { once } from "node:events";
import { EnvError } from "../env/errors.js";
import { PolicyKernelError, errorMessage } from "../errors.js";
import { createEnvTrail, envTrailInfo } from "../gym/env-trail.js";
import { GovernanceGate } from "../gym/governance-gate.js";
import { GovernedSqlEnv, sqlChainId } from "../gym/governed-sql-env.js";
import type { PolicyKernel } from "../kernel/types.js";
import type { RewardConfigInput } from "../reward/config.js";
import { isPlainObject } from "../values.js";
import { EnvRegistry, type HostedEnv } from "./env-registry.js";
import { LineReader } from "./line-reader.js";
import { BATCH_OPS, ENV_KINDS, GateMakeOptionsSchema, HostError, PROTOCOL_VERSION, SqlMakeOptionsSchema, type ErrorBody, type OpName, type OpParams, type RequestId } from "./protocol.js";
import { RequestError, checkParams, isOpName, paramsError, paramsOf, readRequest } from "./request.js";
import type { RoutingAuditSink } from "./routing-sink.js";
import { verifyTrailFile } from "./verify-trail.js";

/** Options of a StdioHost. */
export interface StdioHostOptions {
  /** The host's one kernel, built with `router` as its recorder. */
  readonly kernel: PolicyKernel;
  readonly router: RoutingAuditSink;
  /** The package version the ready line announces. */
  readonly version: string;
  readonly maxEnvs: number;
  readonly maxLineBytes: number;
  /** Where a failure nobody asked about (an env that fails to close at exit) is reported. */
  readonly log?: (line: string) => void;
}

type Result = Readonly<Record<string, unknown>>;
type Handler = (params: Record<string, unknown>) => Promise<Result> | Result;

/**
 * Serves the stdio protocol (docs/reference/stdio-protocol.md) over one kernel: JSON lines in,
 * one reply line per request, in order, one request at a time. Ends on stdin EOF, `shutdown` or
 * `stop()`, closing every env's trail.
 */
export class StdioHost {
  readonly #kernel: PolicyKernel;
  readonly #router: RoutingAuditSink;
  readonly #version: string;
  readonly #maxLineBytes: number;
  readonly #registry: EnvRegistry;
  readonly #log: (line: string) => void;
  readonly #handlers: Readonly<Record<OpName, Handler>>;
  #reader: LineReader | undefined;
  #shutdown = false;

  /** A host; nothing is read until `run`. */
  constructor(options: StdioHostOptions) {
    this.#kernel = options.kernel;
    this.#router = options.router;
    this.#version = options.version;
    this.#maxLineBytes = options.maxLineBytes;
    this.#registry = new EnvRegistry(options.maxEnvs);
    this.#log = options.log ?? ((line) => process.stderr.write(line));
    this.#handlers = {
      hello: () => this.#hello(),
      evaluate: async (p) => ({ decision: await this.#kernel.evaluateUntrusted(p["action"]) }),
      evaluate_batch: async (p) => {
        const decisions = [];
        for (const action of p["actions"] as unknown[]) decisions.push(await this.#kernel.evaluateUntrusted(action));
        return { decisions };
      },
      make: (p) => this.#make(p as OpParams<"make">),
      reset: (p) => this.#reset(p as OpParams<"reset">),
      step: (p) => this.#onEnv(p as OpParams<"step">, (hosted) => (hosted.kind === "sql" ? hosted.env.step((p as OpParams<"step">).action) : wrongKind("step", "sql"))),
      check: (p) => {
        const params = p as OpParams<"check">;
        return this.#onEnv(params, (hosted) => (hosted.kind === "gate" ? hosted.env.check(params.action, params.context) : wrongKind("check", "gate")));
      },
      record: (p) => {
        const params = p as OpParams<"record">;
        return this.#onEnv(params, (hosted) => {
          if (hosted.kind !== "gate") return wrongKind("record", "gate");
          hosted.env.record({
            ...(params.result === undefined ? {} : { result: params.result }),
            ...(params.success === undefined ? {} : { success: params.success }),
            ...(params.costUsd === undefined ? {} : { costUsd: params.costUsd }),
          });
          return {};
        });
      },
      batch: (p) => this.#batch(p as OpParams<"batch">),
      metrics: (p) => this.#registry.get((p as OpParams<"metrics">).env).env.metrics() as unknown as Result,
      trail: (p) => {
        const params = p as OpParams<"trail">;
        const recorder = this.#registry.get(params.env).env.trail;
        return { ...envTrailInfo(recorder), ...(params.entries ? { lines: recorder.entries() } : {}) };
      },
      close: async (p) => ({ ...(await this.#registry.close((p as OpParams<"close">).env)) }),
      verify_trail: (p) => verifyTrailFile((p as OpParams<"verify_trail">).path, (p as OpParams<"verify_trail">).publicKey) as unknown as Promise<Result>,
      shutdown: () => {
        this.#shutdown = true;
        return {};
      },
    };
  }

  /** The ready line's object: the protocol, the version, the kernel's policies and bundle revision, the env kinds. */
  ready(): Result {
    return { ready: true, ...this.#hello() };
  }

  #hello(): Result {
    return { protocol: PROTOCOL_VERSION, version: this.#version, policies: [...this.#kernel.policyNames], bundleRevision: this.#kernel.provenance.bundleRevision, kinds: [...ENV_KINDS] };
  }

  /**
   * Writes the ready line, then serves `input` until EOF, `shutdown` or `stop()`; closes every env
   * (trails flushed, sealed and verified) before it resolves.
   */
  async run(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<void> {
    // A trainer that died leaves a broken pipe: the error must not kill the host before the trails
    // are closed, and nobody is left to read replies, so serving stops.
    let broken = false;
    const onError = (): void => {
      broken = true;
      this.stop();
    };
    output.on("error", onError);
    const write = async (value: unknown): Promise<void> => {
      if (broken) return;
      if (!output.write(`${JSON.stringify(value)}\n`)) {
        const drained = once(output, "drain").then(() => undefined, () => undefined);
        const failed = once(output, "error").then(() => undefined, () => undefined);
        await Promise.race([drained, failed]);
      }
    };
    await write(this.ready());
    const reader = new LineReader(input, this.#maxLineBytes);
    this.#reader = reader;
    try {
      for (let item = await reader.next(); item !== undefined; item = await reader.next()) {
        if (item.kind === "too_large") {
          await write(errorReply(null, new HostError("too_large", `request line of ${item.bytes} bytes is over --max-line-bytes ${this.#maxLineBytes}: it was skipped`, { expected: `at most ${this.#maxLineBytes} bytes per line` })));
          continue;
        }
        await write(await this.#serve(item.text));
        if (this.#shutdown) break;
      }
    } finally {
      reader.stop();
      // onError stays: a write still pending when the trainer died may fail after this.
      await this.closeAll();
    }
  }

  /** Stops reading requests: the one being served finishes, then `run` closes every env and resolves. */
  stop(): void {
    this.#shutdown = true;
    this.#reader?.stop();
  }

  /** Closes every open env; a failure is logged, never thrown, so the others still close. */
  async closeAll(): Promise<void> {
    for (const handle of this.#registry.openHandles()) {
      try {
        await this.#registry.close(handle);
      } catch (error) {
        this.#log(`policy-kernel serve: closing env ${handle}: ${errorMessage(error)}\n`);
      }
    }
  }

  /** One request line in, its reply object out (never throws). */
  async #serve(text: string): Promise<unknown> {
    let id: RequestId | null = null;
    try {
      const request = readRequest(text);
      id = request.id;
      const result = await this.#handlers[request.op](request.params as Record<string, unknown>);
      return { id, ok: true, result };
    } catch (error) {
      if (error instanceof RequestError) return errorReply(error.id, error.error);
      return errorReply(id, error);
    }
  }

  async #batch(params: OpParams<"batch">): Promise<Result> {
    const results: unknown[] = [];
    for (let i = 0; i < params.requests.length; i++) {
      const sub = params.requests[i]!;
      try {
        const op = sub["op"];
        if (typeof op !== "string") throw new HostError("invalid_request", `requests[${i}] has no op`, { field: `requests[${i}].op`, expected: BATCH_OPS.join(", ") });
        if (!isOpName(op) || !BATCH_OPS.includes(op)) {
          throw new HostError(isOpName(op) ? "invalid_request" : "unknown_op", `requests[${i}]: op "${op}" cannot be batched`, { field: `requests[${i}].op`, expected: `one of ${BATCH_OPS.join(", ")}` });
        }
        const checked = checkParams(op, paramsOf(sub), `requests[${i}]`);
        results.push({ ok: true, result: await this.#handlers[op](checked) });
      } catch (error) {
        results.push({ ok: false, error: errorBody(error) });
      }
    }
    return { results };
  }

  async #make(params: OpParams<"make">): Promise<Result> {
    const raw = params.options ?? {};
    if (params.kind === "sql") {
      const parsed = SqlMakeOptionsSchema.safeParse(raw);
      if (!parsed.success) throw paramsError(parsed.error, "options");
      const options = parsed.data;
      const handle = this.#registry.reserve();
      const trail = createEnvTrail(options.trail, sqlChainId(handle), "options.trail");
      const env = await GovernedSqlEnv.create({
        kernel: this.#kernel,
        trail,
        ...(options.governed === undefined ? {} : { governed: options.governed }),
        ...(options.rowBudget === undefined ? {} : { rowBudget: options.rowBudget }),
        ...(options.rewardConfig === undefined ? {} : { rewardConfig: options.rewardConfig as RewardConfigInput }),
      }).catch((error: unknown) => {
        trail.close();
        throw error;
      });
      this.#registry.add(handle, { kind: "sql", env });
      return { env: handle, spec: env.spec };
    }
    const parsed = GateMakeOptionsSchema.safeParse(raw);
    if (!parsed.success) throw paramsError(parsed.error, "options");
    const { trail: trailOptions, rewardConfig, ...rest } = parsed.data;
    const handle = this.#registry.reserve();
    const trail = createEnvTrail(trailOptions, `policy-kernel-host/gate/${handle}`, "options.trail");
    let gate: GovernanceGate;
    try {
      gate = new GovernanceGate({ kernel: this.#kernel, trail, ...rest, ...(rewardConfig === undefined ? {} : { rewardConfig: rewardConfig as RewardConfigInput }) });
    } catch (error) {
      trail.close();
      throw error;
    }
    this.#registry.add(handle, { kind: "gate", env: gate });
    return { env: handle, spec: { kind: "gate" } };
  }

  #reset(params: OpParams<"reset">): Promise<Result> {
    return this.#onEnv(params, (hosted) => {
      if (hosted.kind === "gate") return { observation: null, info: hosted.env.reset() };
      return hosted.env.reset({
        ...(params.seed === undefined ? {} : { seed: params.seed }),
        ...(params.options === undefined ? {} : { options: params.options.taskIndex === undefined ? {} : { taskIndex: params.options.taskIndex } }),
      });
    });
  }

  /** Runs `fn` on env `params.env` with the kernel's audit events routed to that env's trail. */
  async #onEnv(params: { readonly env: number }, fn: (hosted: HostedEnv) => Promise<object> | object): Promise<Result> {
    const hosted = this.#registry.get(params.env);
    this.#router.route(hosted.env.trail);
    try {
      return (await fn(hosted)) as Result;
    } finally {
      this.#router.route(undefined);
    }
  }
}

function wrongKind(op: string, kind: string): never {
  throw new HostError("invalid_request", `${op} is an op of ${kind} envs`, { field: "env", expected: `the handle of a ${kind} env` });
}

/** The error part of a reply: library errors keep their codes, anything else is internal_error. */
export function errorBody(error: unknown): ErrorBody {
  if (error instanceof HostError || error instanceof PolicyKernelError) {
    return { code: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }), ...(error.expected === undefined ? {} : { expected: error.expected }) };
  }
  if (error instanceof EnvError) return { code: error.code, message: error.message };
  if (isPlainObject(error) && typeof error["code"] === "string") return { code: error["code"], message: errorMessage(error) };
  return { code: "internal_error", message: errorMessage(error) };
}

function errorReply(id: RequestId | null, error: unknown): unknown {
  return { id, ok: false, error: errorBody(error) };
}
