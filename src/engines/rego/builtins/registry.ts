import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { toJsonValue } from "../rego-value.js";
import { HostBuiltinError } from "./go-values.js";
import { ENCODING_BUILTINS } from "./encoding.js";
import { REGEX_BUILTINS } from "./regex.js";
import { sprintf } from "./sprintf.js";
import { timeBuiltins, type LogicalClock } from "./time.js";
import { UNIT_BUILTINS } from "./units.js";

/**
 * A host builtin: its arguments are Rego values as src/engines/rego/rego-value.ts models them (sets,
 * exact numbers); it returns a value, exact JSON text as an ArrayBuffer, or undefined (Rego's undefined).
 */
export type HostBuiltin = (...args: unknown[]) => unknown;

/** Builtins OPA's Wasm leaves to the host that read the world outside the input and data: refused at load. */
export const NONDETERMINISTIC_BUILTINS: Readonly<Record<string, string>> = {
  "rand.intn": "randomness",
  "uuid.rfc4122": "randomness",
  "http.send": "the network",
  "net.lookup_ip_addr": "DNS",
  "opa.runtime": "the environment of the running process",
  "io.jwt.encode_sign": "randomness in some signing algorithms",
  "io.jwt.encode_sign_raw": "randomness in some signing algorithms",
  "io.jwt.decode_verify": "the wall clock (its default time)",
  "providers.aws.sign_req": "the wall clock",
  "crypto.x509.parse_and_verify_certificates": "the wall clock",
  "crypto.x509.parse_and_verify_certificates_with_options": "the wall clock",
};

/** The SDK's own JS builtins this host keeps (the `yaml` package; not differential-tested against OPA). */
const SDK_KEPT = ["yaml.is_valid", "yaml.marshal", "yaml.unmarshal"];

/** Names of every builtin this host implements (besides those compiled into the Wasm). */
export const HOST_BUILTIN_NAMES: readonly string[] = Object.freeze(
  [
    "sprintf",
    ...Object.keys(timeBuiltins({ now: () => undefined })),
    ...Object.keys(REGEX_BUILTINS),
    ...Object.keys(ENCODING_BUILTINS),
    ...Object.keys(UNIT_BUILTINS),
    ...SDK_KEPT,
  ].sort(),
);

/** The table of host builtins for one loaded policy (wasm-instance.ts calls them by name); `time.now_ns` reads `clock`. */
export function hostBuiltins(clock: LogicalClock): Record<string, HostBuiltin> {
  return {
    ...sdkKept(),
    sprintf,
    ...timeBuiltins(clock),
    ...REGEX_BUILTINS,
    ...ENCODING_BUILTINS,
    ...UNIT_BUILTINS,
  };
}

let sdkTable: Record<string, HostBuiltin> | undefined;

function loadSdkTable(): Record<string, HostBuiltin> {
  const require = createRequire(import.meta.url);
  return require(join(dirname(require.resolve("@open-policy-agent/opa-wasm")), "builtins", "index.js")) as Record<string, HostBuiltin>;
}

/**
 * The SDK's yaml.* builtins, handed JSON as OPA's ast.JSON makes it (sets as arrays) since they
 * take plain JS data. Their module (and the `yaml` package) is loaded at the first call: most
 * policies never make one, and loading it would cost every cold start.
 */
function sdkKept(): Record<string, HostBuiltin> {
  return Object.fromEntries(
    SDK_KEPT.map((name) => [
      name,
      (...args: unknown[]) => {
        sdkTable ??= loadSdkTable();
        const builtin = sdkTable[name];
        if (!builtin) throw new HostBuiltinError(name, "the opa-wasm SDK no longer has this builtin");
        return builtin(...args.map(toJsonValue));
      },
    ]),
  );
}
