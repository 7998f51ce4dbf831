#!/usr/bin/env node
// Reads `opa capabilities --current` JSON on stdin and writes a capabilities file
// without the builtins that read the clock, randomness, the network or the
// environment, so `opa build --capabilities` rejects any policy that uses them.
// Output is stable (builtins sorted by name) so the file itself is reproducible.
import { readFileSync } from "node:fs";

/** Whole namespaces: every builtin under them reads the clock or randomness. */
const DENIED_PREFIXES = ["time.", "rand.", "uuid."];

/**
 * Named builtins that reach outside the input and data. OPA marks most of them
 * `nondeterministic`; the x509 verifiers are not marked but check validity
 * against the wall clock.
 */
const DENIED_NAMES = new Set([
  "http.send", // network
  "net.lookup_ip_addr", // DNS
  "opa.runtime", // environment variables and config of the running OPA
  "io.jwt.decode_verify", // checks exp/nbf against the wall clock
  "io.jwt.encode_sign", // random nonce for some algorithms
  "io.jwt.encode_sign_raw",
  "json.match_schema", // may fetch remote $ref
  "json.verify_schema",
  "crypto.x509.parse_and_verify_certificates", // validity against the wall clock
  "crypto.x509.parse_and_verify_certificates_with_options",
]);

/** True when a builtin must not be available to default-bundle policies. */
function denied(builtin) {
  return (
    builtin.nondeterministic === true ||
    DENIED_NAMES.has(builtin.name) ||
    DENIED_PREFIXES.some((prefix) => builtin.name.startsWith(prefix))
  );
}

const caps = JSON.parse(readFileSync(0, "utf8"));
if (!Array.isArray(caps.builtins)) {
  console.error("capabilities-filter: stdin is not an OPA capabilities document (no builtins array)");
  process.exit(1);
}
const removed = caps.builtins.filter(denied).map((b) => b.name).sort();
const kept = caps.builtins.filter((b) => !denied(b)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
for (const name of DENIED_NAMES) {
  if (!removed.includes(name)) console.error(`capabilities-filter: note: ${name} is not in this OPA's capabilities`);
}
if (process.argv.includes("--verbose")) {
  console.error(`capabilities-filter: removed ${removed.length} builtins: ${removed.join(" ")}`);
}
process.stdout.write(`${JSON.stringify({ ...caps, builtins: kept }, null, 2)}\n`);
