import { createHmac } from "node:crypto";
import fc from "fast-check";

// Generated inputs for the differential test of the host builtins against `opa eval`. Each
// family is a Rego rule over an array of cases (test/engines/rego/builtins/differential.test.ts);
// generators are sampled with a fixed seed, so every run checks the same cases.

/** One family: the Rego rule body evaluated for each case `c`, and its generator. */
export interface Family {
  readonly name: string;
  /** Rego expression over `c`, the case. */
  readonly expression: string;
  readonly builtins: readonly string[];
  readonly cases: fc.Arbitrary<unknown>;
  readonly count: number;
}

const unicodeText = fc.string({ unit: fc.oneof(fc.constantFrom("a", "Z", "0", " ", "%", '"', "\\", "\n", "\t", "\u0007", "\u007f", "é", "€", "\u00a0", "\u200b", "😀", "'", "`"), fc.string({ minLength: 1, maxLength: 1 })), maxLength: 8 });
const smallText = fc.string({ unit: fc.constantFrom("a", "b", "A", "1", "-", ".", ",", " ", "_", "\n", "é"), maxLength: 10 });

const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e25, max: 1e25 });
const goNumber = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
  finiteDouble,
  fc.constantFrom(0.5, 1.5, 2.5, 0.125, 1e21, 1e-7, 123456789.5, 100000.5, 1234567.25, -0.0001, 3.14159, 1e20),
);

const jsonLeaf = fc.oneof(goNumber, unicodeText, fc.boolean(), fc.constant(null));
const jsonValue = fc.oneof(
  { weight: 3, arbitrary: jsonLeaf },
  { weight: 1, arbitrary: fc.array(jsonLeaf, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(smallText, jsonLeaf, { maxKeys: 3 }) },
);

const verbSpec = fc
  .record({
    flags: fc.subarray(["-", "+", "#", " ", "0"]),
    width: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
    precision: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
    verb: fc.constantFrom("v", "s", "q", "d", "x", "X", "o", "O", "b", "e", "E", "f", "F", "g", "G", "t", "c", "U", "%", "z"),
  })
  .map(({ flags, width, precision, verb }) => `%${flags.join("")}${width ?? ""}${precision === undefined ? "" : `.${precision}`}${verb}`);

const sprintfCase = fc
  .tuple(fc.array(fc.oneof(verbSpec, smallText), { minLength: 1, maxLength: 4 }), fc.array(jsonValue, { maxLength: 4 }))
  .map(([parts, args]) => ({ f: parts.join(""), a: args }))
  // Not supported by this host (it fails closed instead): %x/%X/%b of non-integers, '#' with a non-integer.
  .filter(({ f, a }) => !hostRefuses(f, a));

const sprintfEveryday = fc.constantFrom(
  { f: "%q", a: ["deployment"] },
  { f: "container %q has no resource limits", a: ["nginx"] },
  { f: "%v", a: [[1, "a", null, true]] },
  { f: "%v", a: [{ b: 1, a: [2.5, "x"] }] },
  { f: "%s is %d years", a: ["x", 3] },
  { f: "%v", a: [1.5e300] },
  { f: "%.2f%%", a: [99.555] },
  { f: "%05d|%-5d|%+d|% d", a: [42, 42, 42, 42] },
  { f: "%x %X %o %b %#x %#o", a: [255, 255, 8, 5, 255, 8] },
  { f: "%d %s", a: [1] },
  { f: "%d", a: [1, 2] },
  { f: "%t %v", a: [true, null] },
  { f: "%e %g %G %.3e", a: [123456.789, 1e-7, 1e21, 0] },
);

/** Whether this host refuses the format/args pair (fails closed) rather than answer. */
function hostRefuses(format: string, args: readonly unknown[]): boolean {
  const verbs = [...format.matchAll(/%([-+# 0]*)(\d*)(?:\.(\d*))?(.)/gu)].filter((match) => match[4] !== "%");
  return verbs.some((match, index) => {
    const arg = args[index];
    const verb = match[4] ?? "";
    const flags = match[1] ?? "";
    const isFloat = typeof arg === "number" && !/^-?\d+$/.test(String(Object.is(arg, -0) ? 0 : arg));
    if (isFloat && (verb === "x" || verb === "X" || verb === "b")) return true;
    if (isFloat && flags.includes("#")) return true;
    return false;
  });
}

const seconds = fc.integer({ min: -2_000_000_000, max: 4_000_000_000 });
const zone = fc.constantFrom("UTC", "", "America/New_York", "Europe/Paris", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham", "No/Such_Zone");
const timeArg = fc.oneof(
  seconds.map((s) => s * 1e9),
  fc.tuple(seconds, zone).map(([s, z]) => [s * 1e9, z]),
  fc.constantFrom(1.5, "x", [], [0, 5]),
);

const layout = fc.oneof(
  fc.constantFrom("", "RFC3339", "RFC3339Nano", "ANSIC", "RFC1123Z", "RubyDate", "RFC822Z", "2006-01-02", "Jan _2 15:04:05.000", "Monday, 02-Jan-06 3:04PM", "15:04:05.999 -07:00:00 Z07", "__2 002 pm .0 ,99 _2006 Mon Janx"),
  fc.array(fc.constantFrom("2006", "06", "01", "1", "Jan", "January", "02", "2", "_2", "002", "15", "03", "3", "04", "4", "05", "5", "PM", "pm", "Mon", "Monday", "-0700", "-07:00", "-07", "Z0700", "Z07:00", "Z07", "-070000", ".000", ".999999999", ",9", " ", "-", "T", "x", "Ja", "Mo"), { maxLength: 6 }).map((parts) => parts.join("")),
);
const formatArg = fc.oneof(
  seconds.map((s) => s * 1e9),
  fc.tuple(fc.integer({ min: -2_000_000, max: 4_000_000 }), fc.integer({ min: 0, max: 999 }), fc.constantFrom("UTC", "", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"), layout)
    // Milliseconds from an epoch near 1970 stay exact through a double.
    .map(([s, ms, zone, form]) => [s * 1e9 + ms * 1e6, zone, form]),
);

// A time formatted with a layout (by OPA's own time.format in the Rego, see the family), sometimes altered.
const parseCase = fc.tuple(
  fc.oneof(
    fc.constantFrom("RFC3339", "RFC3339Nano", "ANSIC", "RFC1123Z", "RubyDate", "RFC822Z", "2006-01-02", "Jan _2 15:04:05.000", "Monday, 02-Jan-06 3:04PM", "15:04:05.999 -07:00:00 Z07", "__2 002 2006 pm .0", "2006-01-02 15:04:05", "02/01/2006 15:04:05.000000 -0700", "January 2, 2006 at 3:04pm (-07)"),
    fc.array(fc.constantFrom("2006", "06", "01", "1", "Jan", "January", "02", "2", "_2", "002", "15", "03", "3", "04", "4", "05", "5", "PM", "pm", "Mon", "Monday", "-0700", "-07:00", "-07", "Z0700", "Z07:00", ".000", ".999999999", " ", "-", "T", ":"), { maxLength: 7 }).map((parts) => parts.join("")),
  ),
  fc.integer({ min: -2_000_000_000, max: 4_000_000_000 }),
  fc.constantFrom("UTC", "Asia/Kolkata", "America/New_York"),
  fc.constantFrom("", "", "", " ", "x", "1", "drop", "upper", "lower", "double-space"),
);

const two = (n: number): string => String(n).padStart(2, "0");
const rfc3339 = fc.oneof(
  fc
    .record({
      year: fc.integer({ min: 1678, max: 2261 }),
      month: fc.integer({ min: 0, max: 13 }),
      day: fc.integer({ min: 0, max: 32 }),
      hour: fc.integer({ min: 0, max: 24 }),
      minute: fc.integer({ min: 0, max: 60 }),
      second: fc.integer({ min: 0, max: 60 }),
      fraction: fc.option(fc.stringMatching(/^[0-9]{1,12}$/), { nil: undefined }),
      zone: fc.constantFrom("Z", "+00:00", "-07:00", "+05:30", "+14:00", "z", "+0100", ""),
      separator: fc.constantFrom("T", "T", "T", "t", " "),
    })
    .map((t) => `${t.year}-${two(t.month)}-${two(t.day)}${t.separator}${two(t.hour)}:${two(t.minute)}:${two(t.second)}${t.fraction === undefined ? "" : `.${t.fraction}`}${t.zone}`),
  fc.constantFrom("2024-02-29T12:00:00Z", "2023-02-29T12:00:00Z", "2026-11-21T10:00:00.123456789Z", "2026-11-21T1:00:00Z", "2026-11-21T10:00Z", "not a time", ""),
);

const duration = fc.oneof(
  fc
    .array(fc.tuple(fc.constantFrom("1", "0", "12", "1.5", ".5", "2.", "300", "0.001", "123456789"), fc.constantFrom("h", "m", "s", "ms", "us", "µs", "ns", "x", "")), { minLength: 1, maxLength: 3 })
    .chain((parts) => fc.constantFrom("", "-", "+").map((sign) => sign + parts.map(([n, u]) => n + u).join(""))),
  fc.constantFrom("0", "-0", "", "1", "h", "9223372036854775807ns", "9223372036854775808ns", "2562047h47m16.854775807s", "2562048h"),
);

const addDate = fc.tuple(seconds, fc.integer({ min: -30, max: 30 }), fc.integer({ min: -30, max: 30 }), fc.integer({ min: -400, max: 400 })).map(([s, y, m, d]) => [s * 1e9, y, m, d]);

const unitNumber = fc.constantFrom("1", "10", "1.5", ".5", "0.1", "1.1", "3.3", "1e3", "2E-2", "1.0000001", "-1", "7", "", "1.2.3", "1e1234567", "0.3333");
const byteUnit = fc.constantFrom("", "k", "K", "kb", "KB", "ki", "Ki", "KiB", "m", "M", "mb", "MiB", "Mi", "g", "Gi", "GB", "t", "Ti", "p", "Pi", "e", "Ei", "x", "b");
const units = fc.tuple(unitNumber, byteUnit, fc.constantFrom("", "", "", " ", '"')).map(([n, u, extra]) => extra === " " ? `${n} ${u}` : `${extra}${n}${u}${extra}`);

const semverText = fc.oneof(
  fc
    .tuple(fc.constantFrom("", "v"), fc.constantFrom("0", "1", "2", "10", "01"), fc.constantFrom("0", "1", "3"), fc.constantFrom("0", "1", "9", "x"), fc.constantFrom("", "-alpha", "-alpha.1", "-beta", "-1", "-rc.1", "-alpha.beta", "-a..b", "-0.3.7"), fc.constantFrom("", "+build", "+001", "+a.b", "+!"))
    .map(([v, major, minor, patch, pre, meta]) => `${v}${major}.${minor}.${patch}${pre}${meta}`),
  fc.constantFrom("1.0", "1.0.0.0", "", "v", "1.0.0-", "1.2.3+"),
);

const validSemver = fc
  .tuple(fc.constantFrom("", "v"), fc.constantFrom("0", "1", "2"), fc.constantFrom("0", "1"), fc.constantFrom("0", "1", "10", "9"), fc.constantFrom("", "", "-alpha", "-alpha.1", "-alpha.beta", "-beta", "-1", "-2", "-rc.1", "-0.3.7", "-alpha.10", "-alpha.9"), fc.constantFrom("", "+build", "+001"))
  .map(([v, major, minor, patch, pre, meta]) => `${v}${major}.${minor}.${patch}${pre}${meta}`);
const someSemver = fc.oneof({ weight: 4, arbitrary: validSemver }, { weight: 1, arbitrary: semverText });

const b64 = (value: string): string => Buffer.from(value, "utf8").toString("base64url");
// (A non-string `cty` header makes OPA 1.22 panic, so generated headers keep it a string.)
const jwt = fc.oneof(
  fc
    .tuple(fc.record({ alg: fc.constantFrom("HS256", "RS256"), typ: fc.constantFrom("JWT", "at+jwt"), kid: smallText, x: jsonLeaf }, { requiredKeys: ["alg"] }), fc.dictionary(smallText, jsonValue, { maxKeys: 4 }), unicodeText)
    .map(([header, payload, signature]) => `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}.${b64(signature)}`),
  fc.constantFrom(
    "a.b",
    "e30.e30.",
    "e30.e30.e30",
    `${b64('{"enc":"A128GCM"}')}.e30.`,
    `${b64('{"alg":"none"}')}.WzFd.`,
    `${b64('{"alg":"HS256"}')}.e30=.c2ln`,
    `${b64('{"alg":"HS256"}')}.e30.!!`,
  ),
);

// HS-signed tokens: the right secret, a wrong one, a tampered payload, a bad signature encoding.
const signed = fc
  .tuple(fc.constantFrom("sha256", "sha384", "sha512"), fc.dictionary(smallText, jsonLeaf, { maxKeys: 3 }), smallText, fc.constantFrom("right", "wrong", "tampered", "badsig", "padded"))
  .map(([hash, claims, secret, variant]) => {
    const unsigned = `${b64(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64(JSON.stringify(claims))}`;
    const mac = createHmac(hash, secret).update(unsigned).digest("base64url");
    const token = variant === "tampered" ? `${unsigned}x.${mac}` : variant === "badsig" ? `${unsigned}.${mac}!` : variant === "padded" ? `${unsigned}.${mac}=` : `${unsigned}.${mac}`;
    return [hash, token, variant === "wrong" ? `${secret}!` : secret];
  });

const patterns = fc.constantFrom(
  "a+", "a*", "[a-c]+", "[^a ]+", "\\d+", "\\w+", "\\s+", "\\bA", "(a)(b)?", "(?P<x>a)b", "(?i)a", "^a", "a$", "(?m)^a", "(?s)a.b", "a.b",
  ",", "\\.", "[[:alpha:]]+", "[[:digit:][:space:]]", "a{2}", "a{1,2}?", "a|b", "", "x*", "\\x41", "\\Qa.b\\E", "[\\d.]+", "é",
  "(a", "a**", "(?=a)", "(?<=a)b", "\\1", "a{1001}", "[z-a]", "\\z", "\\Aa",
);
const replacements = fc.constantFrom("x", "$1", "${1}x", "$1x", "$$", "$x", "${x}", "<$0>", "$", "$2");

const cryptoText = fc.oneof(unicodeText, smallText);
const hexText = fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{0,8}$/), fc.constantFrom("abc", "zz", "c3"));
const queryText = fc.oneof(unicodeText, fc.constantFrom("a%20b", "a+b", "%zz", "%", "%e2%82%ac", "a=1&b=2&a=3", "a;b=1", "=x", "&&", "k"));

// Rego values JSON cannot carry. Sets are built in the Rego from arrays (comprehensions); a number
// the input must hold as written (past 2^53, `1.0`, `1e3`) is a string marked with rawNumber,
// which the test writes into the input's JSON text as a bare number for both OPA and the Wasm.
const RAW_NUMBER = "\u0000number:";

/** A number written into the input as `text` exactly (see rawJson). */
export const rawNumber = (text: string): string => `${RAW_NUMBER}${text}`;

/** JSON text of `value` with every rawNumber as the bare number it marks. */
export function rawJson(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0000number:([-+.\deE]+)"/g, "$1");
}

const bigNumber = fc.oneof(
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n }).map(String),
  fc.constantFrom("1.0", "1e3", "1E3", "-0", "0.10", "1.5e300", "1e400", "2.50", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "12345678901234567890.5", "100000000000000000000000", "1.7e18", "9007199254740993"),
);
const setLeaf = fc.oneof(goNumber, smallText, fc.boolean(), fc.constant(null), bigNumber.map(rawNumber));
const setItems = fc.array(setLeaf, { maxLength: 4 });
const stringVerb = fc
  .record({
    flags: fc.subarray(["-", "+", "#", " ", "0"]),
    width: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    precision: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
    verb: fc.constantFrom("v", "v", "v", "s", "q", "x", "d"),
  })
  .map(({ flags, width, precision, verb }) => `%${flags.join("")}${width ?? ""}${precision === undefined ? "" : `.${precision}`}${verb}`);
const setsCase = fc.record({
  f: fc.array(fc.oneof(stringVerb, smallText), { minLength: 1, maxLength: 8 }).map((parts) => parts.join("")),
  s: setItems,
  t: setItems,
  u: setItems,
  ss: fc.array(setItems, { maxLength: 3 }),
  o: fc.array(fc.dictionary(smallText, setLeaf, { maxKeys: 2 }), { maxLength: 3 }),
});
const numbersCase = fc.record({
  f: fc.array(fc.oneof(verbSpec, smallText), { minLength: 1, maxLength: 4 }).map((parts) => parts.join("")),
  a: fc.array(bigNumber.map(rawNumber), { maxLength: 4 }),
  // The host refuses what it refuses for any float: a number written with a point or an exponent is one.
}).filter(({ f, a }) => !hostRefuses(f, a.map((marked) => {
  const text = marked.slice(RAW_NUMBER.length);
  return /[.eE]/.test(text) && Number.isFinite(Number(text)) ? 0.5 : 0;
})));
const exactNanos = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n) - 2n, max: 2n ** 63n + 2n }).map(String),
  fc.bigInt({ min: 1_600_000_000_000_000_000n, max: 1_800_000_000_000_000_000n }).map(String),
  fc.constantFrom("1.7e18", "1700000000000000000.0", "1.5", "-1.0", "9223372036854775807", "9223372036854775808", "-9223372036854775808"),
).map(rawNumber);

/** Families over Rego values JSON has not: sets, numbers as written, non-string object keys. */
const VALUE_FAMILIES: readonly Family[] = [
  {
    name: "sprintf_sets",
    // Sets of leaves, in arrays and objects, sets of sets and of objects, objects keyed by any value.
    expression:
      'sprintf(c.f, [{x | some x in c.s}, [{y | some y in c.t}], {"k": {z | some z in c.u}}, {{w | some w in a} | some a in c.ss}, {o | some o in c.o}, {x: true | some x in c.s}, {i: v | some i, v in c.t}])',
    builtins: ["sprintf"],
    cases: setsCase,
    count: 400,
  },
  { name: "sprintf_numbers", expression: "sprintf(c.f, c.a)", builtins: ["sprintf"], cases: numbersCase, count: 300 },
  { name: "time_exact_format", expression: "time.format(c)", builtins: ["time.format"], cases: exactNanos, count: 100 },
  { name: "time_exact_date", expression: "[time.date(c), time.clock([c, \"Asia/Kolkata\"])]", builtins: ["time.date", "time.clock"], cases: exactNanos, count: 100 },
  {
    name: "any_match_sets",
    expression: "[strings.any_prefix_match({x | some x in c[0]}, {y | some y in c[1]}), strings.any_suffix_match(c[0], {y | some y in c[1]})]",
    builtins: ["strings.any_prefix_match", "strings.any_suffix_match"],
    cases: fc.tuple(fc.array(smallText, { maxLength: 3 }), fc.array(smallText, { maxLength: 3 })),
    count: 100,
  },
  {
    name: "encode_object_sets",
    expression: "urlquery.encode_object({k: {v | some v in vs} | some k, vs in c})",
    builtins: ["urlquery.encode_object"],
    cases: fc.dictionary(smallText, fc.array(smallText, { maxLength: 3 }), { maxKeys: 3 }),
    count: 100,
  },
];

/** Every family the differential test runs, with its case count. */
export const FAMILIES: readonly Family[] = [
  { name: "sprintf", expression: "sprintf(c.f, c.a)", builtins: ["sprintf"], cases: fc.oneof({ weight: 9, arbitrary: sprintfCase }, { weight: 1, arbitrary: sprintfEveryday }), count: 1500 },
  { name: "parse_rfc3339", expression: "time.parse_rfc3339_ns(c)", builtins: ["time.parse_rfc3339_ns"], cases: rfc3339, count: 200 },
  { name: "parse_duration", expression: "time.parse_duration_ns(c)", builtins: ["time.parse_duration_ns"], cases: duration, count: 200 },
  { name: "date", expression: "time.date(c)", builtins: ["time.date"], cases: timeArg, count: 200 },
  { name: "clock", expression: "time.clock(c)", builtins: ["time.clock"], cases: timeArg, count: 200 },
  { name: "weekday", expression: "time.weekday(c)", builtins: ["time.weekday"], cases: timeArg, count: 200 },
  { name: "format", expression: "time.format(c)", builtins: ["time.format"], cases: formatArg, count: 300 },
  {
    name: "parse_ns",
    // The value is the pinned OPA's time.format of a time, altered by c[3]; both sides parse that text.
    expression: `time.parse_ns(c[0], mutate(time.format([c[1] * 1000000000, c[2], c[0]]), c[3]))`,
    builtins: ["time.parse_ns", "time.format"],
    cases: parseCase,
    count: 300,
  },
  { name: "add_date", expression: "time.add_date(c[0], c[1], c[2], c[3])", builtins: ["time.add_date"], cases: addDate, count: 200 },
  { name: "diff", expression: "time.diff(c[0], c[1])", builtins: ["time.diff"], cases: fc.tuple(timeArg, timeArg), count: 200 },
  { name: "parse_bytes", expression: "units.parse_bytes(c)", builtins: ["units.parse_bytes"], cases: units, count: 150 },
  { name: "units", expression: "units.parse(c)", builtins: ["units.parse"], cases: units, count: 150 },
  { name: "semver_valid", expression: "semver.is_valid(c)", builtins: ["semver.is_valid"], cases: semverText, count: 100 },
  { name: "semver_compare", expression: "semver.compare(c[0], c[1])", builtins: ["semver.compare"], cases: fc.tuple(someSemver, someSemver), count: 150 },
  { name: "jwt", expression: "io.jwt.decode(c)", builtins: ["io.jwt.decode"], cases: jwt, count: 100 },
  {
    name: "jwt_verify_hs",
    expression: `{"sha256": io.jwt.verify_hs256(c[1], c[2]), "sha384": io.jwt.verify_hs384(c[1], c[2]), "sha512": io.jwt.verify_hs512(c[1], c[2])}[c[0]]`,
    builtins: ["io.jwt.verify_hs256", "io.jwt.verify_hs384", "io.jwt.verify_hs512"],
    cases: fc.oneof({ weight: 9, arbitrary: signed }, { weight: 1, arbitrary: fc.tuple(fc.constant("sha256"), jwt, smallText) }),
    count: 200,
  },
  { name: "regex_replace", expression: "regex.replace(c[0], c[1], c[2])", builtins: ["regex.replace"], cases: fc.tuple(smallText, patterns, replacements), count: 400 },
  { name: "regex_find_n", expression: "regex.find_n(c[0], c[1], c[2])", builtins: ["regex.find_n"], cases: fc.tuple(patterns, smallText, fc.integer({ min: -1, max: 3 })), count: 400 },
  { name: "regex_split", expression: "regex.split(c[0], c[1])", builtins: ["regex.split"], cases: fc.tuple(patterns, smallText), count: 400 },
  {
    name: "hashes",
    expression: "[crypto.md5(c[0]), crypto.sha1(c[0]), crypto.sha256(c[0]), crypto.hmac.md5(c[0], c[1]), crypto.hmac.sha1(c[0], c[1]), crypto.hmac.sha256(c[0], c[1]), crypto.hmac.sha512(c[0], c[1]), crypto.hmac.equal(c[0], c[1])]",
    builtins: ["crypto.md5", "crypto.sha1", "crypto.sha256", "crypto.hmac.md5", "crypto.hmac.sha1", "crypto.hmac.sha256", "crypto.hmac.sha512", "crypto.hmac.equal"],
    cases: fc.tuple(cryptoText, fc.oneof(cryptoText, fc.constant("k"))),
    count: 100,
  },
  { name: "hex_encode", expression: "[hex.encode(c), base64url.encode_no_pad(c), urlquery.encode(c)]", builtins: ["hex.encode", "base64url.encode_no_pad", "urlquery.encode"], cases: cryptoText, count: 100 },
  { name: "hex_decode", expression: "hex.decode(c)", builtins: ["hex.decode"], cases: hexText, count: 100 },
  { name: "urlquery_decode", expression: "urlquery.decode(c)", builtins: ["urlquery.decode"], cases: queryText, count: 100 },
  { name: "urlquery_decode_object", expression: "urlquery.decode_object(c)", builtins: ["urlquery.decode_object"], cases: queryText, count: 100 },
  {
    name: "urlquery_encode_object",
    expression: "urlquery.encode_object(c)",
    builtins: ["urlquery.encode_object"],
    cases: fc.dictionary(smallText, fc.oneof(unicodeText, fc.array(unicodeText, { maxLength: 2 })), { maxKeys: 3 }),
    count: 100,
  },
  {
    name: "strings",
    expression: "[strings.any_prefix_match(c[0], c[1]), strings.any_suffix_match(c[0], c[1]), strings.count(c[2], c[3])]",
    builtins: ["strings.any_prefix_match", "strings.any_suffix_match", "strings.count"],
    cases: fc.tuple(fc.oneof(smallText, fc.array(smallText, { maxLength: 3 })), fc.oneof(smallText, fc.array(smallText, { maxLength: 3 })), smallText, fc.constantFrom("", "a", "aa", " ", "é")),
    count: 100,
  },
  ...VALUE_FAMILIES,
];

/** The cases of a family, the same on every run (BUILTINS_SEED=N explores other cases). */
export function sampleCases(family: Family): unknown[] {
  return fc.sample(family.cases, { seed: Number(process.env["BUILTINS_SEED"] ?? 21), numRuns: family.count });
}
