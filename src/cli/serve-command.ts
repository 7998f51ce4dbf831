import { createPolicyKernel } from "../kernel/create-kernel.js";
import { RoutingAuditSink } from "../host/routing-sink.js";
import { StdioHost } from "../host/stdio-host.js";
import { BUNDLE_SERVICE_USAGE } from "./bundle-service-flags.js";
import { DECISION_LOG_FLAGS, DECISION_LOG_USAGE, decisionLogFromFlags, undeliveredLine } from "./decision-log-flags.js";
import { UsageError, parseFlags } from "./flags.js";
import { KERNEL_FLAGS, kernelOptionsFromFlags, positiveIntFlag } from "./kernel-flags.js";
import { OPA_FLAGS, OPA_FLAGS_USAGE, withOpaFlags } from "./opa-flags.js";
import { VERIFICATION_FLAGS_USAGE } from "./verification-flags.js";
import { packageVersion } from "./version.js";

/** Envs one host serves at once by default. */
export const DEFAULT_MAX_ENVS = 1024;
/** Longest request line by default (16 MiB): a longer one is skipped with a too_large error. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

export const SERVE_USAGE = `usage: policy-kernel serve --stdio [--max-envs N] [--max-line-bytes N] [kernel flags as for eval]
  Hosts governed environments for a trainer in another language (the Python package policy_kernel):
  JSON lines on stdin and stdout, one reply per request, in order (docs/reference/stdio-protocol.md).
  After the kernel loads it writes one ready line; logs go to stderr only. It exits 0 when stdin closes,
  on SIGTERM or on the shutdown op, after closing every env's trail; a load error exits 1 before any output.
  --stdio               serve on stdin/stdout (required)
  --max-envs N          envs open at once (default ${DEFAULT_MAX_ENVS}); one more is a too_many_envs error
  --max-line-bytes N    longest request line (default ${DEFAULT_MAX_LINE_BYTES}); a longer one is skipped with too_large
  --bundle PATH / --no-bundle, --rules PATH / --no-rules, --data FILE, --fail-open, --log-level L,
  --bundle-max-bytes N / --bundle-max-files N   the kernel, as for eval
${OPA_FLAGS_USAGE}
${VERIFICATION_FLAGS_USAGE}
${BUNDLE_SERVICE_USAGE}
${DECISION_LOG_USAGE}`;

/** The signals that end the host as stdin EOF does. */
const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const;

/** `policy-kernel serve --stdio`: the environment host for trainers in other languages. */
export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    stdio: { type: "boolean" },
    "max-envs": { type: "string" },
    "max-line-bytes": { type: "string" },
    ...KERNEL_FLAGS,
    ...OPA_FLAGS,
    ...DECISION_LOG_FLAGS,
  });
  if (!values.stdio) throw new UsageError("--stdio is required: it is the one transport serve has (JSON lines on stdin and stdout)", { field: "--stdio" });
  const maxEnvs = positiveIntFlag(values["max-envs"], "--max-envs", DEFAULT_MAX_ENVS, 1_000_000);
  const maxLineBytes = positiveIntFlag(values["max-line-bytes"], "--max-line-bytes", DEFAULT_MAX_LINE_BYTES, 1024 * 1024 * 1024);
  if (values["raw-input"]) throw new UsageError("the host evaluates actions; a raw input is eval's (--raw-input): leave it out", { field: "--raw-input" });
  const decisionLog = decisionLogFromFlags(values, "serve");
  const router = new RoutingAuditSink();
  // Every decision is recorded through the router, into the trail of the env being served.
  const kernel = await createPolicyKernel({ ...withOpaFlags(kernelOptionsFromFlags(values), values), ...(decisionLog ? { decisionLog } : {}), recorder: router });
  const host = new StdioHost({ kernel, router, version: packageVersion(), maxEnvs, maxLineBytes });
  const onSignal = (): void => host.stop();
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    await host.run(process.stdin, process.stdout);
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    kernel.close();
    // stdin may still be open (shutdown op, a signal): it must not keep the process alive.
    process.stdin.destroy();
  }
  const undelivered = undeliveredLine("serve", await kernel.decisionLog?.close());
  if (undelivered !== undefined) {
    process.stderr.write(undelivered);
    return 1;
  }
  return 0;
}
