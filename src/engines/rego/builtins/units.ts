import { RegoSet } from "../rego-value.js";
import { exactInteger } from "./time.js";

// units.parse_bytes, units.parse, semver.* and a few strings.* helpers as OPA computes them.
// units.parse_bytes multiplies in Go's big.Float (64-bit mantissa, round half to even) and
// truncates; units.parse multiplies exact rationals; both are reproduced with BigInt.

type Host = (...args: unknown[]) => unknown;

const KI = 1024n;
const BYTE_UNITS: Readonly<Record<string, bigint>> = {
  "": 1n,
  kb: 1000n, k: 1000n, kib: KI, ki: KI,
  mb: 1000n ** 2n, m: 1000n ** 2n, mib: KI ** 2n, mi: KI ** 2n,
  gb: 1000n ** 3n, g: 1000n ** 3n, gib: KI ** 3n, gi: KI ** 3n,
  tb: 1000n ** 4n, t: 1000n ** 4n, tib: KI ** 4n, ti: KI ** 4n,
  pb: 1000n ** 5n, p: 1000n ** 5n, pib: KI ** 5n, pi: KI ** 5n,
  eb: 1000n ** 6n, e: 1000n ** 6n, eib: KI ** 6n, ei: KI ** 6n,
};

/** OPA's extractNumAndUnit: the leading number (digits, '.', an exponent of at most 6 digits) and the rest. */
function splitNumber(value: string): { num: string; unit: string } | undefined {
  let index = 0;
  while (index < value.length) {
    const char = value[index] ?? "";
    if (!/[0-9.eE+-]/.test(char)) break;
    if (char === "e" || char === "E") {
      const next = value[index + 1];
      if (next === undefined || !/[0-9+-]/.test(next)) break;
      if (next === "+" || next === "-") index++;
      const digits = /^\d*/.exec(value.slice(index + 1))?.[0] ?? "";
      if (digits.length > 6) return undefined;
    }
    index++;
  }
  return { num: value.slice(0, index), unit: value.slice(index) };
}

/** A decimal literal as an exact fraction (Go's big.Rat / big.Float SetString accept this syntax). */
function parseDecimal(num: string): { numerator: bigint; denominator: bigint } | undefined {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(num);
  if (!match) return undefined;
  const [, sign, whole = "", fraction = "", exponentText] = match;
  if (whole === "" && fraction === "") return undefined;
  let numerator = BigInt(`${whole}${fraction}` || "0");
  let denominator = 10n ** BigInt(fraction.length);
  const exponent = Number(exponentText ?? "0");
  if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
  else denominator *= 10n ** BigInt(-exponent);
  return { numerator: sign === "-" ? -numerator : numerator, denominator };
}

/** Rounds n/d to a 64-bit binary mantissa, half to even (big.Float with precision 64): m·2^e. */
function toFloat64Bits(numerator: bigint, denominator: bigint): { mantissa: bigint; exponent: number } {
  if (numerator === 0n) return { mantissa: 0n, exponent: 0 };
  const negative = numerator < 0n;
  let n = negative ? -numerator : numerator;
  let d = denominator;
  let exponent = 0;
  // Scale so that 2^63 <= n/d < 2^64.
  const bitLength = (value: bigint): number => value.toString(2).length;
  const shift = 64 - (bitLength(n) - bitLength(d));
  if (shift > 0) n <<= BigInt(shift);
  else d <<= BigInt(-shift);
  exponent -= shift;
  while (n / d >= 1n << 64n) {
    d <<= 1n;
    exponent++;
  }
  while (n / d < 1n << 63n) {
    n <<= 1n;
    exponent--;
  }
  let mantissa = n / d;
  const remainder = n - mantissa * d;
  if (remainder * 2n > d || (remainder * 2n === d && mantissa % 2n === 1n)) mantissa++;
  if (mantissa === 1n << 64n) {
    mantissa >>= 1n;
    exponent++;
  }
  return { mantissa: negative ? -mantissa : mantissa, exponent };
}

/** big.Float.Int: truncation toward zero of m·2^e. */
function truncate(value: { mantissa: bigint; exponent: number }): bigint {
  if (value.exponent >= 0) return value.mantissa << BigInt(value.exponent);
  const magnitude = (value.mantissa < 0n ? -value.mantissa : value.mantissa) >> BigInt(-value.exponent);
  return value.mantissa < 0n ? -magnitude : magnitude;
}

const parseBytes: Host = (value) => {
  if (typeof value !== "string") return undefined;
  const s = value.toLowerCase().replaceAll('"', "");
  if (s.includes(" ")) return undefined;
  const split = splitNumber(s);
  if (!split || split.num === "") return undefined;
  const unit = BYTE_UNITS[split.unit];
  const number = parseDecimal(split.num);
  if (unit === undefined || !number) return undefined;
  const rounded = toFloat64Bits(number.numerator, number.denominator);
  const product = toFloat64Bits(rounded.mantissa * unit * (rounded.exponent >= 0 ? 1n << BigInt(rounded.exponent) : 1n), rounded.exponent >= 0 ? 1n : 1n << BigInt(-rounded.exponent));
  return exactInteger(truncate(product));
};

const SI: Readonly<Record<string, bigint>> = {
  "": 1n, k: 1000n, K: 1000n, ki: KI, Ki: KI, M: 1000n ** 2n, mi: KI ** 2n, Mi: KI ** 2n,
  g: 1000n ** 3n, G: 1000n ** 3n, gi: KI ** 3n, Gi: KI ** 3n, t: 1000n ** 4n, T: 1000n ** 4n, ti: KI ** 4n, Ti: KI ** 4n,
  p: 1000n ** 5n, P: 1000n ** 5n, pi: KI ** 5n, Pi: KI ** 5n, e: 1000n ** 6n, E: 1000n ** 6n, ei: KI ** 6n, Ei: KI ** 6n,
};

/** The double 0.001 as an exact fraction: OPA multiplies by big.Rat.SetFloat64(0.001) for `m`. */
const MILLI = { numerator: 1152921504606847n, denominator: 1n << 60n };

function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a < 0n ? -a : a, b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** big.Rat.FloatString(10): rounded half away from zero to ten decimals. */
function floatString(numerator: bigint, denominator: bigint): string {
  const negative = numerator < 0n;
  const n = negative ? -numerator : numerator;
  const scale = 10n ** 10n;
  let scaled = (n * scale) / denominator;
  const remainder = n * scale - scaled * denominator;
  if (remainder * 2n >= denominator) scaled++;
  const digits = scaled.toString().padStart(11, "0");
  return `${negative ? "-" : ""}${digits.slice(0, -10)}.${digits.slice(-10)}`;
}

const parseUnits: Host = (value) => {
  if (typeof value !== "string") return undefined;
  const s = value.replaceAll('"', "");
  if (s.includes(" ")) return undefined;
  const split = splitNumber(s);
  if (!split || split.num === "") return undefined;
  const unit = split.unit.length > 1 ? split.unit[0] + split.unit.slice(1).toLowerCase() : split.unit;
  const factor = unit === "m" ? MILLI : SI[unit] === undefined ? undefined : { numerator: SI[unit] ?? 1n, denominator: 1n };
  const number = parseDecimal(split.num);
  if (!factor || !number) return undefined;
  const numerator = number.numerator * factor.numerator;
  const denominator = number.denominator * factor.denominator;
  const divisor = gcd(numerator, denominator);
  const [n, d] = [numerator / divisor, denominator / divisor];
  if (d === 1n) return exactInteger(n);
  return new TextEncoder().encode(floatString(n, d)).buffer;
};

interface SemVer {
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  readonly preRelease: string;
}

// semver.org's own pattern, with OPA's optional leading "v" (no leading zeros, no empty parts).
const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** A version as OPA's semver builtins read it; undefined where they reject it. */
function parseSemVer(value: string): SemVer | undefined {
  const match = SEMVER.exec(value);
  if (!match) return undefined;
  return { major: BigInt(match[1] ?? "0"), minor: BigInt(match[2] ?? "0"), patch: BigInt(match[3] ?? "0"), preRelease: match[4] ?? "" };
}

function compareSemVer(a: SemVer, b: SemVer): number {
  for (const key of ["major", "minor", "patch"] as const) {
    if (a[key] !== b[key]) return a[key] > b[key] ? 1 : -1;
  }
  if (a.preRelease === b.preRelease) return 0;
  if (a.preRelease === "") return 1;
  if (b.preRelease === "") return -1;
  const left = a.preRelease.split(".");
  const right = b.preRelease.split(".");
  for (let index = 0; ; index++) {
    const x = left[index];
    const y = right[index];
    if (x === undefined) return y === undefined ? 0 : -1;
    if (y === undefined) return 1;
    const xInt = /^\d+$/.test(x);
    const yInt = /^\d+$/.test(y);
    if (xInt !== yInt) return xInt ? -1 : 1;
    if (xInt) {
      const [xn, yn] = [BigInt(x), BigInt(y)];
      if (xn !== yn) return xn > yn ? 1 : -1;
    } else if (x !== y) {
      return Buffer.compare(Buffer.from(x), Buffer.from(y));
    }
  }
}

/** OPA's strings.any_*_match operands: a string, or an array or a set of strings. */
function stringsOf(value: unknown): readonly string[] | undefined {
  if (typeof value === "string") return [value];
  const items = Array.isArray(value) ? value : value instanceof RegoSet ? value.elements : undefined;
  return items?.every((item) => typeof item === "string") ? (items as readonly string[]) : undefined;
}

const anyMatch = (test: (item: string, affix: string) => boolean): Host => (search, base) => {
  const items = stringsOf(search);
  const affixes = stringsOf(base);
  if (!items || !affixes) return undefined;
  return items.some((item) => affixes.some((affix) => test(item, affix)));
};

/** Go's strings.Count: non-overlapping occurrences; an empty substring counts runes plus one. */
function count(value: unknown, sub: unknown): number | undefined {
  if (typeof value !== "string" || typeof sub !== "string") return undefined;
  if (sub === "") return [...value].length + 1;
  return value.split(sub).length - 1;
}

/** units, semver and strings builtins this host implements, by name. */
export const UNIT_BUILTINS: Readonly<Record<string, Host>> = {
  "units.parse_bytes": parseBytes,
  "units.parse": parseUnits,
  "semver.is_valid": (value) => typeof value === "string" && parseSemVer(value) !== undefined,
  "semver.compare": (a, b) => {
    const left = typeof a === "string" ? parseSemVer(a) : undefined;
    const right = typeof b === "string" ? parseSemVer(b) : undefined;
    return left && right ? compareSemVer(left, right) : undefined;
  },
  "strings.any_prefix_match": anyMatch((item, affix) => item.startsWith(affix)),
  "strings.any_suffix_match": anyMatch((item, affix) => item.endsWith(affix)),
  "strings.count": count,
};
