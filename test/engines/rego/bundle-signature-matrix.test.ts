// The differential proof of bundle signature verification: bundles signed by the pinned OPA's
// `opa build --signing-key`, then altered in every way we could think of, must be accepted by the
// kernel exactly when `opa build -b B --verification-key K` (OPA's own verifier) accepts them.
// The few places the kernel is stricter on purpose are a separate, named list.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicKey } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { readVerifiedBundle } from "../../../src/engines/rego/verified-bundle.js";
import { bundleFileDigest } from "../../../src/engines/rego/bundle-hash.js";
import { isPolicyKernelError } from "../../../src/errors.js";
import { tarGzOf, type TarEntry } from "../../helpers/tar-writer.js";
import { expectPrototypeClean } from "../../helpers/prototype-clean.js";
import {
  entriesOf,
  makeKey,
  opaSignedBundle,
  opaVerdict,
  payloadOf,
  pooled,
  signPayload,
  tokenOf,
  withSignatures,
  writeText,
  type TestKey,
  type VerifySettings,
} from "../../helpers/signed-bundles.js";

const work = mkdtempSync(join(tmpdir(), "pk-signature-matrix-"));

// Claims and signatures files with __proto__ keys must not reach Object.prototype.
afterEach(expectPrototypeClean);

/** One bundle and how it is verified. */
interface Case {
  readonly name: string;
  readonly entries?: readonly TarEntry[];
  /** A bundle file as is (OPA's own bytes) instead of entries. */
  readonly file?: string;
  readonly settings: VerifySettings;
}

const POLICY = "package x\n\nallow if input.a == data.x.v\n";
// Data with what OPA's hashing must get right: non-ASCII, an HTML character Go escapes, a float,
// a nested list, a control character.
const DATA = JSON.stringify({ x: { v: 1, name: "café <ok> ✓", ratio: 2.5, list: [1, "a", { b: null }], tab: "a\tb" } });

const keys: Record<string, TestKey> = {};
const signed: Record<string, string> = {};
let base: TarEntry[];
let other: TarEntry[];

function source(dir: string, data = DATA): string {
  const src = join(work, dir);
  writeText(src, "p.rego", POLICY);
  writeText(src, "data.json", data);
  return src;
}

function replace(entries: readonly TarEntry[], path: string, bytes: string | Uint8Array): TarEntry[] {
  return entries.map((entry) => (entry.path === path ? { path, bytes } : entry));
}

function text(entries: readonly TarEntry[], path: string): string {
  return Buffer.from(entries.find((entry) => entry.path === path)!.bytes ?? "").toString("utf8");
}

beforeAll(() => {
  for (const alg of ["RS256", "RS512", "PS256", "PS384", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"]) keys[alg] = makeKey(alg);
  keys["other-rsa"] = makeKey("RS256");
  keys["rsa-1024"] = makeKey("RS256", 1024);
  const src = source("src");
  for (const alg of Object.keys(keys).filter((name) => /^[A-Z]/.test(name))) signed[alg] = opaSignedBundle(work, `signed-${alg}`, src, keys[alg]!);
  signed["rsa-1024"] = opaSignedBundle(work, "signed-rsa-1024", src, keys["rsa-1024"]!);
  // Keys whose UTF-8 order differs from their UTF-16 order, and every character class Go escapes.
  const tricky = { x: { v: 1 }, r: "\ufffd", k: { "\uffff": 1, "😀": 2, é: 3, Z: 4, a: 5 }, s: "\u0001\u001f\u007f\u2028\u2029<>&\"\\/\b\f\n\r\t😀", n: [0, -0, 1e21, 1.5e-7, 2 ** 60] };
  signed["tricky"] = opaSignedBundle(work, "signed-tricky", source("src-tricky", JSON.stringify(tricky)), keys["RS256"]!);
  signed["other"] = opaSignedBundle(work, "signed-other", source("src-other", JSON.stringify({ x: { v: 2 } })), keys["RS256"]!);
  const claims = writeText(work, "claims.json", JSON.stringify({ scope: "write", iss: "policy-team", exp: 1 }));
  signed["scoped"] = opaSignedBundle(work, "signed-scoped", src, keys["RS256"]!, ["--claims-file", claims]);
  signed["kid"] = opaSignedBundle(work, "signed-kid", src, keys["RS256"]!, ["--verification-key-id", "team-key"]);
  base = entriesOf(readFileSync(signed["RS256"]!));
  other = entriesOf(readFileSync(signed["other"]!));
}, 120_000);

/** The cases: each bundle is written as the kernel and OPA both read it. */
async function cases(): Promise<Case[]> {
  const rsa = keys["RS256"]!;
  const key: VerifySettings = { key: rsa.verification };
  const data = text(base, "/data.json");
  const payload = payloadOf(base);
  const resign = async (claims: string, header: Record<string, unknown> = {}): Promise<TarEntry[]> =>
    withSignatures(base, JSON.stringify({ signatures: [await signPayload(claims, rsa, header)] }));
  const files = payload.files;
  const fileJson = (entries: readonly object[]): string => JSON.stringify(entries);
  const dataEntry = files.find((file) => file.name === "data.json")!;
  const token = tokenOf(base);
  const [header, body, signature] = token.split(".") as [string, string, string];
  const list: Case[] = [];
  // Every algorithm, untouched, as OPA wrote it.
  for (const alg of Object.keys(signed).filter((name) => /^[A-Z]/.test(name))) {
    list.push({ name: `untouched ${alg}`, file: signed[alg]!, settings: { key: keys[alg]!.verification, alg } });
  }
  list.push(
    { name: "untouched, data with escapes and non-BMP keys", file: signed["tricky"]!, settings: key },
    { name: "data with escapes and non-BMP keys, reformatted", entries: replace(entriesOf(readFileSync(signed["tricky"]!)), "/data.json", JSON.stringify(JSON.parse(text(entriesOf(readFileSync(signed["tricky"]!)), "/data.json")), null, 3)), settings: key },
    { name: "scoped token, --scope write", file: signed["scoped"]!, settings: { ...key, scope: "write" } },
    { name: "scoped token, no --scope", file: signed["scoped"]!, settings: key },
    { name: "unscoped token, --scope write", file: signed["RS256"]!, settings: { ...key, scope: "write" } },
    { name: "token kid team-key, default key id", file: signed["kid"]!, settings: key },
    { name: "token kid default, key id other", file: signed["RS256"]!, settings: { ...key, keyId: "other" } },
    { name: "wrong key", file: signed["RS256"]!, settings: { key: keys["other-rsa"]!.verification } },
    { name: "wrong algorithm PS256 for an RS256 token", file: signed["RS256"]!, settings: { ...key, alg: "PS256" } },
    { name: "wrong algorithm ES384 for an ES256 token", file: signed["ES256"]!, settings: { key: keys["ES256"]!.verification, alg: "ES384" } },
    { name: "wrong HMAC secret", file: signed["HS256"]!, settings: { key: `${keys["HS256"]!.verification}x`, alg: "HS256" } },
    { name: "HMAC token checked as RS256 with the RSA key", file: signed["HS256"]!, settings: key },
    { name: "private key as the verification key", file: signed["RS256"]!, settings: { key: rsa.signing } },
    { name: "PKCS#1 RSA PUBLIC KEY", file: signed["RS256"]!, settings: { key: createPublicKey(rsa.verification).export({ type: "pkcs1", format: "pem" }) as string } },
    { name: "signed bundle, no key", file: signed["RS256"]!, settings: {} },
    { name: "unsigned bundle, no key", entries: base.filter((entry) => entry.path !== "/.signatures.json"), settings: {} },
    { name: "unsigned bundle, a key", entries: base.filter((entry) => entry.path !== "/.signatures.json"), settings: key },
    // The files.
    { name: "data.json value changed", entries: replace(base, "/data.json", data.replace('"v":1', '"v":2')), settings: key },
    { name: "data.json whitespace only", entries: replace(base, "/data.json", JSON.stringify(JSON.parse(data), null, 2)), settings: key },
    { name: "data.json keys reordered", entries: replace(base, "/data.json", JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(data) as object).reverse()))), settings: key },
    { name: "data.json 1 spelled 1.0", entries: replace(base, "/data.json", data.replace('"v":1', '"v":1.0')), settings: key },
    { name: "data.json 2.5 spelled 25e-1", entries: replace(base, "/data.json", data.replace("2.5", "25e-1")), settings: key },
    { name: "data.json escapes spelled otherwise", entries: replace(base, "/data.json", data.replace("é", "\\u00e9").replace("\\u003c", "<").replace("\\t", "\\u0009")), settings: key },
    { name: "data.json key duplicated, last as signed", entries: replace(base, "/data.json", data.replace('{"x":', '{"x":{"v":9},"x":')), settings: key },
    { name: "data.json key duplicated, last changed", entries: replace(base, "/data.json", data.trimEnd().replace(/}$/, ',"x":{"v":9}}')), settings: key },
    { name: "data.json U+FFFD spelled as a lone surrogate escape", entries: replace(entriesOf(readFileSync(signed["tricky"]!)), "/data.json", text(entriesOf(readFileSync(signed["tricky"]!)), "/data.json").replace("\ufffd", "\\ud800")), settings: key },
    { name: "data.json with a byte-order mark", entries: replace(base, "/data.json", `\ufeff${data}`), settings: key },
    { name: "data.json as YAML of the same data", entries: replace(base, "/data.json", "x:\n  v: 1\n"), settings: key },
    { name: "data.json final newline removed", entries: replace(base, "/data.json", data.trimEnd()), settings: key },
    { name: "data.json truncated", entries: replace(base, "/data.json", data.slice(0, data.lastIndexOf("}"))), settings: key },
    { name: "policy.wasm one byte changed", entries: base.map((entry) => (entry.path === "/policy.wasm" ? { path: entry.path, bytes: flipLastByte(entry.bytes) } : entry)), settings: key },
    { name: "rego whitespace changed", entries: replace(base, "/src/p.rego", `${text(base, "/src/p.rego")}\n`), settings: key },
    { name: "file added", entries: [...base, { path: "/extra.txt", bytes: "hello" }], settings: key },
    { name: "data file added in a folder", entries: [...base, { path: "/y/data.json", bytes: "{}" }], settings: key },
    { name: "file removed", entries: base.filter((entry) => entry.path !== "/src/p.rego"), settings: key },
    { name: "file renamed", entries: base.map((entry) => (entry.path === "/src/p.rego" ? { path: "/src/q.rego", bytes: entry.bytes } : entry)), settings: key },
    { name: ".manifest revision edited", entries: replace(base, "/.manifest", text(base, "/.manifest").replace('"revision":"signed-RS256"', '"revision":"v2"')), settings: key },
    { name: ".manifest whitespace and key order", entries: replace(base, "/.manifest", JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(text(base, "/.manifest")) as object).reverse()), null, 1)), settings: key },
    { name: ".manifest removed", entries: base.filter((entry) => entry.path !== "/.manifest"), settings: key },
    // The signatures file and the token.
    { name: "signature of another bundle", entries: withSignatures(base, text(other, "/.signatures.json")), settings: key },
    { name: "signatures file moved into a folder", entries: base.map((entry) => (entry.path === "/.signatures.json" ? { path: "/sub/.signatures.json", bytes: entry.bytes } : entry)), settings: key },
    { name: "two signatures files", entries: [...base, { path: "/sub/.signatures.json", bytes: text(base, "/.signatures.json") }], settings: key },
    { name: "two JWTs", entries: withSignatures(base, JSON.stringify({ signatures: [token, token] })), settings: key },
    { name: "empty JWT list", entries: withSignatures(base, '{"signatures":[]}'), settings: key },
    { name: "signatures file {} with a key", entries: withSignatures(base, "{}"), settings: key },
    { name: "signatures file {} without a key", entries: withSignatures(base, "{}"), settings: {} },
    { name: "signatures null without a key", entries: withSignatures(base, '{"signatures":null}'), settings: {} },
    { name: "signatures file not JSON", entries: withSignatures(base, "{signatures"), settings: key },
    { name: "signatures file with trailing text", entries: withSignatures(base, `${JSON.stringify({ signatures: [token] })} trailing`), settings: key },
    { name: "signatures under __proto__, with a key", entries: withSignatures(base, `{"__proto__":{"signatures":[${JSON.stringify(token)}]}}`), settings: key },
    { name: "signatures under __proto__, without a key", entries: withSignatures(base, `{"__proto__":{"signatures":[${JSON.stringify(token)}]}}`), settings: {} },
    { name: "signatures file nested 150 deep beside the JWT", entries: withSignatures(base, `{"signatures":[${JSON.stringify(token)}],"x":${"[".repeat(150)}${"]".repeat(150)}}`), settings: key },
    { name: "signatures key in upper case", entries: withSignatures(base, JSON.stringify({ SIGNATURES: [token] })), settings: key },
    { name: "plugin _default", entries: withSignatures(base, JSON.stringify({ signatures: [token], plugin: "_default" })), settings: key },
    { name: "plugin of another verifier", entries: withSignatures(base, JSON.stringify({ signatures: [token], plugin: "kms" })), settings: key },
    { name: "JWT truncated", entries: withSignatures(base, JSON.stringify({ signatures: [token.slice(0, -10)] })), settings: key },
    { name: "JWT without its signature", entries: withSignatures(base, JSON.stringify({ signatures: [`${header}.${body}`] })), settings: key },
    { name: "JWT with four segments", entries: withSignatures(base, JSON.stringify({ signatures: [`${token}.x`] })), settings: key },
    { name: "alg none, no signature", entries: withSignatures(base, JSON.stringify({ signatures: [`${b64({ alg: "none" })}.${body}.`] })), settings: key },
    { name: "header swapped to HS256", entries: withSignatures(base, JSON.stringify({ signatures: [`${b64({ alg: "HS256", typ: "JWT" })}.${body}.${signature}`] })), settings: key },
    { name: "signature with a newline inside", entries: withSignatures(base, JSON.stringify({ signatures: [`${header}.${body}.${signature.slice(0, 40)}\n${signature.slice(40)}`] })), settings: key },
    { name: "signature with padding", entries: withSignatures(base, JSON.stringify({ signatures: [`${token}==`] })), settings: key },
    { name: "signature's unused trailing bits changed", entries: withSignatures(base, JSON.stringify({ signatures: [`${header}.${body}.${changeUnusedBits(signature)}`] })), settings: key },
    { name: "payload edited, old signature", entries: withSignatures(base, JSON.stringify({ signatures: [`${header}.${b64({ ...payload, scope: "" })}.${signature}`] })), settings: key },
    { name: "huge garbage JWT", entries: withSignatures(base, JSON.stringify({ signatures: [`${header}.${body}.${"A".repeat(2_000_000)}`] })), settings: key },
  );
  // Tokens re-signed with the right key, to reach the claims checks behind the signature.
  const resigned: [string, string][] = [
    ["re-signed as OPA signed it", fileJson(files)],
    ["duplicate entry, last right", fileJson([{ ...dataEntry, hash: "00".repeat(32) }, ...files])],
    ["duplicate entry, last wrong", fileJson([...files, { ...dataEntry, hash: "00".repeat(32) }])],
    ["all files SHA-512", filesWith(files, "SHA-512", base)],
    ["all files MD5", filesWith(files, "MD5", base)],
    ["all files SHA-512-256", filesWith(files, "SHA-512-256", base)],
    ["algorithm SHA3-256", fileJson(files.map((file) => ({ ...file, algorithm: "SHA3-256" })))],
    ["algorithm sha-256 in lower case", fileJson(files.map((file) => ({ ...file, algorithm: "sha-256" })))],
    ["algorithm empty", fileJson(files.map((file) => ({ ...file, algorithm: "" })))],
    ["hash in upper case", fileJson(files.map((file) => ({ ...file, hash: file.hash.toUpperCase() })))],
    ["hash odd length", fileJson(files.map((file) => (file.name === "data.json" ? { ...file, hash: file.hash.slice(1) } : file)))],
    ["file names with a leading slash", fileJson(files.map((file) => ({ ...file, name: `/${file.name}` })))],
    ["an unlisted file", fileJson(files.filter((file) => file.name !== "policy.wasm"))],
    ["a listed file missing", fileJson([...files, { name: "gone.rego", hash: dataEntry.hash, algorithm: "SHA-256" }])],
  ];
  const raw: [string, string][] = [
    ["prototype keys in the claims", `{"__proto__":{"scope":"x"},"constructor":{"prototype":1},"files":${JSON.stringify(files.map((file) => ({ ...file, __proto__: "x" })))}}`],
    ["claim names in upper case", `{"FILES":${JSON.stringify(files)},"Scope":""}`],
    ["scope claim as a number", `{"files":${JSON.stringify(files)},"scope":1}`],
    ["iat as a string", `{"files":${JSON.stringify(files)},"iat":"yesterday"}`],
    ["iat with a fraction", `{"files":${JSON.stringify(files)},"iat":1.5}`],
    ["exp long past (OPA does not check it)", `{"files":${JSON.stringify(files)},"exp":1,"nbf":99999999999}`],
    ["files as an object", `{"files":{"data.json":"x"}}`],
    ["files null", `{"files":null}`],
    ["payload null", "null"],
    ["payload an array", "[]"],
    ["payload not JSON", "{files"],
    ["claims nested 150 deep", `{"files":${JSON.stringify(files)},"x":${"[".repeat(150)}${"]".repeat(150)}}`],
    ["huge claim", `{"files":${JSON.stringify(files)},"pad":"${"x".repeat(3_000_000)}"}`],
  ];
  for (const [name, claims] of resigned) list.push({ name, entries: await resign(`{"files":${claims},"keyid":"default"}`), settings: key });
  for (const [name, claims] of raw) list.push({ name, entries: await resign(claims), settings: key });
  list.push({ name: "re-signed, header without kid", entries: await resign(JSON.stringify(payload), { kid: undefined }), settings: key });
  return list;
}

/** The cases where the kernel refuses what OPA accepts, on purpose; each names why. */
const STRICTER: Readonly<Record<string, string>> = {
  "untouched rsa-1024": "jose refuses RSA keys under 2048 bits",
  "signatures file nested 150 deep beside the JWT": "JSON read from a bundle nests at most 100 levels (MAX_JSON_DEPTH), here as everywhere",
  "claims nested 150 deep": "JSON read from a bundle nests at most 100 levels (MAX_JSON_DEPTH), here as everywhere",
};

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function flipLastByte(bytes: TarEntry["bytes"]): Uint8Array {
  const copy = new Uint8Array(Buffer.from(bytes ?? ""));
  copy[copy.length - 1] = copy[copy.length - 1]! ^ 1;
  return copy;
}

/** The last base64url character with its unused low bits changed: the same bytes to a lenient decoder. */
function changeUnusedBits(segment: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const unused = segment.length % 4 === 2 ? 4 : segment.length % 4 === 3 ? 2 : 0;
  if (unused === 0) return segment;
  const last = alphabet.indexOf(segment.at(-1)!);
  return segment.slice(0, -1) + alphabet[last ^ 1]!;
}

/** The files claim with every digest recomputed with `algorithm` (by the code under test: OPA is the judge of it), as a JSON array. */
function filesWith(files: readonly { name: string; hash: string; algorithm: string }[], algorithm: string, entries: readonly TarEntry[]): string {
  return JSON.stringify(
    files.map((file) => {
      const bytes = entries.find((entry) => entry.path === `/${file.name}`)!.bytes ?? "";
      return { name: file.name, hash: bundleFileDigest(`/${file.name}`, Buffer.from(bytes), algorithm).toString("hex"), algorithm };
    }),
  );
}

describe("bundle signatures: the kernel accepts exactly what OPA accepts", () => {
  it("agrees with `opa build -b --verification-key` on every case", async () => {
    const list = await cases();
    list.push({ name: "untouched rsa-1024", file: signed["rsa-1024"]!, settings: { key: keys["rsa-1024"]!.verification } });
    const paths = list.map((item, index) => {
      if (item.file) return item.file;
      const path = join(work, `case-${index}.tar.gz`);
      writeFileSync(path, tarGzOf(item.entries!));
      return path;
    });
    const opa = await pooled(list.map((item, index) => () => opaVerdict(work, paths[index]!, item.settings, index)), 3);
    const rows: { name: string; opa: boolean; kernel: boolean; opaMessage: string; kernelMessage: string }[] = [];
    for (const [index, item] of list.entries()) {
      let kernel = true;
      let kernelMessage = "";
      try {
        await readVerifiedBundle(paths[index]!, { verification: verificationOf(item.settings) });
      } catch (error) {
        if (!isPolicyKernelError(error, "invalid_bundle")) throw error;
        kernel = false;
        kernelMessage = error.message;
      }
      rows.push({ name: item.name, opa: opa[index]!.accepted, kernel, opaMessage: opa[index]!.message, kernelMessage });
    }
    // PK_SIGNATURE_MATRIX=1 prints every case with both verdicts.
    if (process.env["PK_SIGNATURE_MATRIX"]) for (const row of rows) console.log(`${row.opa ? "accept" : "refuse"} ${row.kernel ? "accept" : "refuse"}  ${row.name}  | ${row.kernelMessage.slice(0, 150)}`);
    const agreed = rows.filter((row) => row.opa === row.kernel && STRICTER[row.name] === undefined);
    const stricter = rows.filter((row) => STRICTER[row.name] !== undefined);
    const disagreements = rows.filter((row) => row.opa !== row.kernel && STRICTER[row.name] === undefined);
    console.log(
      `signature matrix: ${rows.length} cases; ${agreed.filter((row) => row.opa).length} accepted by both, ${agreed.filter((row) => !row.opa).length} refused by both, ` +
        `${stricter.length} refused by the kernel only on purpose, ${disagreements.length} disagreements`,
    );
    expect(disagreements.map((row) => `${row.name}: OPA ${row.opa ? "accepts" : `refuses (${row.opaMessage})`}, kernel ${row.kernel ? "accepts" : `refuses (${row.kernelMessage})`}`)).toEqual([]);
    for (const row of stricter) expect({ name: row.name, opa: row.opa, kernel: row.kernel }).toEqual({ name: row.name, opa: true, kernel: false });
    // Both outcomes are exercised, so the agreement is not all one way.
    expect(agreed.filter((row) => row.opa).length).toBeGreaterThan(15);
    expect(agreed.filter((row) => !row.opa).length).toBeGreaterThan(30);
  }, 120_000);
});

function verificationOf(settings: VerifySettings): { key: string; alg?: never; scope?: string; keyId?: string } | undefined {
  if (settings.key === undefined) return undefined;
  return {
    key: settings.key,
    ...(settings.alg === undefined ? {} : { alg: settings.alg as never }),
    ...(settings.scope === undefined ? {} : { scope: settings.scope }),
    ...(settings.keyId === undefined ? {} : { keyId: settings.keyId }),
  };
}

/** A small seeded generator (mulberry32), so the generated documents are the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Characters whose JSON spelling or UTF-8 order Go and JavaScript treat differently.
const CHARS = ["a", "Z", "0", " ", "\u0000", "\u0001", "\u001f", "\u007f", "\b", "\f", "\n", "\r", "\t", '"', "\\", "/", "<", ">", "&", "é", "ß", "\u2028", "\u2029", "\ud7ff", "\ue000", "\uffff", "\ufffd", "😀", "𝄞"];

function randomDocument(next: () => number, depth = 0): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const text = (): string => Array.from({ length: Math.floor(next() * 6) }, () => pick(CHARS)).join("");
  const kind = depth >= 4 ? Math.floor(next() * 4) : Math.floor(next() * 6);
  if (kind === 0) return text();
  if (kind === 1) return pick([0, -1, 7, 2.5, -0.125, 1e-7, 3e21, 2 ** 53, 123.456]);
  if (kind === 2) return pick([true, false, null]);
  if (kind === 3) return Math.floor(next() * 1e6);
  if (kind === 4) return Array.from({ length: Math.floor(next() * 4) }, () => randomDocument(next, depth + 1));
  return Object.fromEntries(Array.from({ length: 1 + Math.floor(next() * 5) }, () => [text(), randomDocument(next, depth + 1)]));
}

describe("bundle signatures: OPA's digest of generated data", () => {
  it("verifies OPA-signed data full of escapes, non-BMP keys and numbers, and refuses it changed", async () => {
    const rsa = keys["RS256"]!;
    let accepted = 0;
    for (const seed of [1, 2, 3, 4]) {
      const data = { x: { v: 1 }, generated: randomDocument(random(seed)) };
      const path = opaSignedBundle(work, `generated-${seed}`, source(`src-generated-${seed}`, JSON.stringify(data)), rsa);
      await readVerifiedBundle(path, { verification: { key: rsa.verification } });
      accepted++;
      // The same document, one value changed, no longer verifies (OPA's digest is not blind to it).
      const entries = entriesOf(readFileSync(path));
      const changed = join(work, `generated-${seed}-changed.tar.gz`);
      writeFileSync(changed, tarGzOf(replace(entries, "/data.json", text(entries, "/data.json").replace('"v":1', '"v":2'))));
      await expect(readVerifiedBundle(changed, { verification: { key: rsa.verification } })).rejects.toThrow("/data.json: digest mismatch");
      expect((await opaVerdict(work, changed, { key: rsa.verification }, 1000 + seed)).accepted).toBe(false);
    }
    expect(accepted).toBe(4);
  }, 60_000);
});
