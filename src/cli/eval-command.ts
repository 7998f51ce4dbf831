import { fromZodError } from "../errors.js";
import { BUNDLE_SERVICE_USAGE } from "./bundle-service-flags.js";
import { ActionContextSchema, ActionSchema } from "../schemas.js";
import { UsageError, parseFlags } from "./flags.js";
import { KERNEL_FLAGS, displayName, kernelOptionsFromFlags, readJson } from "./kernel-flags.js";
import { OPA_FLAGS, OPA_FLAGS_USAGE, withOpaFlags } from "./opa-flags.js";
import { createPolicyKernel } from "../kernel/create-kernel.js";
import { VERIFICATION_FLAGS_USAGE } from "./verification-flags.js";
import { DECISION_LOG_FLAGS, DECISION_LOG_USAGE, decisionLogFromFlags, undeliveredLine } from "./decision-log-flags.js";

export const EVAL_USAGE = `usage: policy-kernel eval [--input FILE|-] [--now ISO] [--bundle PATH] [--entrypoint PKG/RULE...] [--raw-input | --binding FILE] [--rules PATH...] [--data FILE] [--fail-open] [--log-level L] [--verification-key K ...]
  Prints the Decision for one action as JSON. Exit 0 allowed, 2 denied, 1 error.
  --input FILE|-   the action {agentId, action: {type, ...}, context}, or with --raw-input any JSON (default: stdin)
  --now ISO        logical time of the decision, ISO 8601 with a time zone (2026-11-21T10:00:00Z; overrides context.now)
  --bundle PATH    OPA bundle (.tar.gz or folder) instead of the default library
  --rules PATH     JSON rule-set file or folder (repeatable) instead of the default rules
  --no-bundle / --no-rules   leave one engine out
  --data FILE      JSON deep-merged over the bundle data (e.g. {"policy_kernel":{"config":{...}}})
  --fail-open      allow an action when a policy cannot be evaluated (default: deny)
  --bundle-max-bytes N / --bundle-max-files N   caps on the bundle (default 64 MiB decompressed, 10000 files)
  --log-level L    kernel log on stderr: trace, debug, info, warn (default), error, fatal or silent
${OPA_FLAGS_USAGE}
${VERIFICATION_FLAGS_USAGE}
${BUNDLE_SERVICE_USAGE}
${DECISION_LOG_USAGE}`;

/** --now is checked as context.now is, so a bad time is a usage error (exit 1), not a denial (exit 2). */
function checkNow(raw: string): void {
  if (ActionContextSchema.shape.now.safeParse(raw).success) return;
  throw new UsageError(`must be an ISO 8601 date-time with a time zone, such as 2026-11-21T10:00:00Z or 2026-11-21T12:00:00+02:00; got "${raw}"`, { field: "--now" });
}

/** `policy-kernel eval`: one action in, one Decision out. */
export async function evalCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...KERNEL_FLAGS, ...OPA_FLAGS, ...DECISION_LOG_FLAGS, input: { type: "string" }, now: { type: "string" } });
  const decisionLog = decisionLogFromFlags(values);
  const options = { ...withOpaFlags(kernelOptionsFromFlags(values), values), ...(decisionLog ? { decisionLog } : {}) };
  if (options.rawInput && values.now !== undefined) throw new UsageError("a raw input has no context to put the time in: leave --now out with --raw-input", { field: "--now" });
  const inputPath = values.input ?? "-";
  if (values.now !== undefined) checkNow(values.now);
  // Waiting on a terminal for JSON nobody will type looks like a hang to a newcomer.
  if (inputPath === "-" && process.stdin.isTTY) {
    throw new UsageError("reads the action from standard input, which is a terminal: pipe the action in (policy-kernel eval < action.json) or pass --input FILE", { field: "--input" });
  }
  // Load first: a misconfigured kernel (a missing entrypoint, a binding that cannot work) is the
  // error to report, whatever the input holds.
  const kernel = await createPolicyKernel(options);
  try {
    const raw = readJson(inputPath, values.input === undefined ? undefined : "--input");
    // Validate here too so a malformed file is an error (exit 1) naming the field, not a denial.
    const parsed = options.rawInput ? undefined : ActionSchema.safeParse(raw);
    if (parsed && !parsed.success) throw fromZodError("invalid_action", parsed.error, { file: displayName(inputPath) });
    const decision = options.rawInput && kernel.evaluateInput ? await kernel.evaluateInput(raw) : await kernel.evaluateUntrusted(raw, values.now ? { now: values.now } : {});
    process.stdout.write(`${JSON.stringify(decision, null, 2)}\n`);
    // An event the platform never got is an error, whatever the decision was.
    const undelivered = undeliveredLine("eval", await kernel.decisionLog?.close());
    if (undelivered !== undefined) {
      process.stderr.write(undelivered);
      return 1;
    }
    return decision.allowed ? 0 : 2;
  } finally {
    kernel.close();
  }
}
