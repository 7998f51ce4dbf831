import * as crypto from "node:crypto";

/**
 * JSON with object keys sorted at every level and no whitespace, so equal values always
 * encode to equal bytes (hash chains and provenance hashes depend on it). `undefined`
 * object members are dropped as JSON.stringify does; non-finite numbers are rejected
 * because they have no JSON form.
 */
export function canonicalJson(value: unknown): string {
  return encode(value);
}

// Hot on the audit path (every FlightRecorder entry is hashed over it), so it builds one string
// with `+=` and quotes common keys without JSON.stringify; the output is byte-for-byte what the
// plain map/join version gave (a property test compares the two).
const PLAIN_KEY = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/; // printable ASCII but " and \
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 4096;

function quoteKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = PLAIN_KEY.test(key) ? `"${key}"` : JSON.stringify(key);
    if (quotedKeys.size < MAX_QUOTED_KEYS) quotedKeys.set(key, quoted);
  }
  return quoted;
}

function encode(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`);
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (i > 0) out += ",";
          // undefined, and a hole, print as null, as JSON.stringify writes them.
          out += item === undefined ? "null" : encode(item);
        }
        return `${out}]`;
      }
      const withToJson = value as { toJSON?: () => unknown };
      if (typeof withToJson.toJSON === "function") return encode(withToJson.toJSON());
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      if (keys.length > 1) keys.sort();
      let out = "{";
      let first = true;
      for (const key of keys) {
        const member = record[key];
        if (member === undefined || typeof member === "function") continue;
        out += first ? quoteKey(key) : `,${quoteKey(key)}`;
        out += `:${encode(member)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
  }
}

// crypto.hash (Node >= 20.12) hashes in one call without a Hash object: about 0.6 µs less per
// audit entry. Older Node 20 releases keep createHash.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: "hex") => string }).hash;

/** SHA-256 of text (UTF-8) or bytes, as lower-case hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return oneShotHash ? oneShotHash("sha256", data, "hex") : crypto.createHash("sha256").update(data).digest("hex");
}
