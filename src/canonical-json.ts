import { createHash } from "node:crypto";

/**
 * JSON with object keys sorted at every level and no whitespace, so equal values always
 * encode to equal bytes (hash chains and provenance hashes depend on it). `undefined`
 * object members are dropped as JSON.stringify does; non-finite numbers are rejected
 * because they have no JSON form.
 */
export function canonicalJson(value: unknown): string {
  return encode(value);
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
      if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : encode(item))).join(",")}]`;
      const withToJson = value as { toJSON?: () => unknown };
      if (typeof withToJson.toJSON === "function") return encode(withToJson.toJSON());
      const record = value as Record<string, unknown>;
      const members: string[] = [];
      for (const key of Object.keys(record).sort()) {
        const member = record[key];
        if (member === undefined || typeof member === "function") continue;
        members.push(`${JSON.stringify(key)}:${encode(member)}`);
      }
      return `{${members.join(",")}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
  }
}

/** SHA-256 of text (UTF-8) or bytes, as lower-case hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
