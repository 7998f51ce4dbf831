import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { RegoObject, RegoSet, sortedValues } from "../rego-value.js";
import { goUtf8 } from "./go-values.js";

// Hashes, HMACs, hex, base64url, URL query encoding and JWT decoding as OPA's topdown computes
// them with Go's standard library. Where Go returns an error the call is undefined (OPA's
// default, non-strict builtin errors); a non-string operand cannot pass OPA's type check.

type Host = (...args: unknown[]) => unknown;

const text = (run: (value: string) => unknown): Host => (value) => (typeof value === "string" ? run(value) : undefined);
const text2 = (run: (a: string, b: string) => unknown): Host => (a, b) => (typeof a === "string" && typeof b === "string" ? run(a, b) : undefined);

/** Go's base64.URLEncoding.DecodeString (padded) on bytes; undefined where Go errors. */
function decodeBase64Url(value: string): Buffer | undefined {
  // Go's decoder skips \r and \n, then needs whole padded quanta of the URL alphabet.
  const clean = value.replace(/[\r\n]/g, "");
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9_-]*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/.test(clean)) return undefined;
  return Buffer.from(clean, "base64url");
}

/** OPA's base64url.decode: padding restored as RFC 7515 Appendix C says, then Go's strict padded decoder. */
function base64UrlDecode(value: string): Buffer | undefined {
  let padded = value;
  if (!value.endsWith("=")) {
    const rest = value.length % 4;
    if (rest === 1) return undefined;
    padded += rest === 2 ? "==" : rest === 3 ? "=" : "";
  }
  return decodeBase64Url(padded);
}

/** Go's url.QueryEscape. */
function queryEscape(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const char = String.fromCharCode(byte);
    if (/^[A-Za-z0-9\-_.~]$/.test(char)) out += char;
    else if (char === " ") out += "+";
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Go's url.QueryUnescape; undefined on a bad escape. */
function queryUnescape(value: string): string | undefined {
  const bytes: number[] = [];
  const source = Buffer.from(value, "utf8");
  for (let index = 0; index < source.length; index++) {
    const byte = source[index] ?? 0;
    if (byte === 0x25) {
      const hex = source.subarray(index + 1, index + 3).toString("latin1");
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
    } else {
      bytes.push(byte === 0x2b ? 0x20 : byte);
    }
  }
  return goUtf8(Buffer.from(bytes));
}

/** OPA's urlquery.encode_object: url.Values.Encode of strings and arrays or sets of strings, keys sorted. */
function encodeObject(value: unknown): string | undefined {
  // OPA goes through ast.JSON: a set is an array in OPA's order; an object with non-string keys is not an object of strings.
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof RegoSet || value instanceof RegoObject) return undefined;
  const pairs: string[] = [];
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
    const entry = record[key];
    const values = typeof entry === "string" ? [entry] : Array.isArray(entry) ? entry : entry instanceof RegoSet ? sortedValues(entry) : undefined;
    if (values === undefined || !values.every((item) => typeof item === "string")) return undefined;
    for (const item of values as string[]) pairs.push(`${queryEscape(key)}=${queryEscape(item)}`);
  }
  return pairs.join("&");
}

/** Go's url.ParseQuery as OPA's urlquery.decode_object uses it; undefined on its errors. */
function decodeObject(value: string): Record<string, string[]> | undefined {
  const result: Record<string, string[]> = {};
  for (const part of value.split("&")) {
    if (part === "") continue;
    if (part.includes(";")) return undefined;
    const at = part.indexOf("=");
    const key = queryUnescape(at < 0 ? part : part.slice(0, at));
    const item = queryUnescape(at < 0 ? "" : part.slice(at + 1));
    if (key === undefined || item === undefined) return undefined;
    (result[key] ??= []).push(item);
  }
  return result;
}

/** Go's hex.DecodeString; undefined on odd length or a non-hex digit. */
function hexDecode(value: string): string | undefined {
  if (value.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(value)) return undefined;
  return goUtf8(Buffer.from(value, "hex"));
}

function jsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(goUtf8(bytes));
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** OPA's io.jwt.decode: [header, payload, signature as hex]; a JWE, or a malformed token, is undefined. */
function jwtDecode(token: string): unknown {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [encodedHeader = "", encodedPayload = "", encodedSignature = ""] = parts;
  const headerBytes = base64UrlDecode(encodedHeader);
  const header = headerBytes && jsonObject(headerBytes);
  if (!header || header["enc"] !== undefined) return undefined;
  const payloadBytes = base64UrlDecode(encodedPayload);
  if (!payloadBytes) return undefined;
  const cty = header["cty"];
  if (cty !== undefined && typeof cty !== "string") return undefined;
  // A nested token (cty JWT) is decoded instead, its surrounding quotes trimmed as OPA does.
  if (cty === "JWT") return jwtDecode(goUtf8(payloadBytes).replace(/^["']+|["']+$/g, ""));
  const payload = jsonObject(payloadBytes);
  const signature = base64UrlDecode(encodedSignature);
  if (!payload || !signature) return undefined;
  return [header, payload, signature.toString("hex")];
}

/** OPA's io.jwt.verify_hs*: the HMAC of `header.payload` under the secret, compared with the decoded signature (hmac.Equal). */
const verifyHmac = (algorithm: string): Host =>
  text2((token, secret) => {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [header = "", payload = "", encodedSignature = ""] = parts;
    const signature = base64UrlDecode(encodedSignature);
    if (!signature) return undefined;
    const mac = createHmac(algorithm, Buffer.from(secret, "utf8")).update(`${header}.${payload}`, "utf8").digest();
    return signature.length === mac.length && timingSafeEqual(signature, mac);
  });

const digest = (algorithm: string): Host => text((value) => createHash(algorithm).update(value, "utf8").digest("hex"));
const hmac = (algorithm: string): Host => text2((value, key) => createHmac(algorithm, Buffer.from(key, "utf8")).update(value, "utf8").digest("hex"));

/** The encoding and hashing builtins this host implements, by name. */
export const ENCODING_BUILTINS: Readonly<Record<string, Host>> = {
  "crypto.md5": digest("md5"),
  "crypto.sha1": digest("sha1"),
  "crypto.sha256": digest("sha256"),
  "crypto.hmac.md5": hmac("md5"),
  "crypto.hmac.sha1": hmac("sha1"),
  "crypto.hmac.sha256": hmac("sha256"),
  "crypto.hmac.sha512": hmac("sha512"),
  // Go's hmac.Equal: constant time, and false for different lengths.
  "crypto.hmac.equal": text2((a, b) => {
    const left = Buffer.from(a, "utf8");
    const right = Buffer.from(b, "utf8");
    return left.length === right.length && timingSafeEqual(left, right);
  }),
  "hex.encode": text((value) => Buffer.from(value, "utf8").toString("hex")),
  "hex.decode": text(hexDecode),
  "base64url.encode_no_pad": text((value) => Buffer.from(value, "utf8").toString("base64url")),
  "urlquery.encode": text(queryEscape),
  "urlquery.decode": text(queryUnescape),
  "urlquery.encode_object": encodeObject,
  "urlquery.decode_object": text(decodeObject),
  "io.jwt.decode": text(jwtDecode),
  "io.jwt.verify_hs256": verifyHmac("sha256"),
  "io.jwt.verify_hs384": verifyHmac("sha384"),
  "io.jwt.verify_hs512": verifyHmac("sha512"),
};
