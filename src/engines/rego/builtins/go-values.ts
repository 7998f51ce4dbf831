// How OPA's Go evaluator writes values as text: Rego syntax for composites (ast.Value.String()),
// strconv.Quote for strings, Go's float formatting. Arguments reach the host as Rego values
// (rego-value.ts), so sets, big numbers and non-string keys print as OPA prints them.

import { RegoNumber, RegoSet, numberText, sortedEntries, sortedValues } from "../rego-value.js";

export { compareGoStrings, numberText } from "../rego-value.js";

/** A builtin argument the host cannot handle as OPA would: evaluation fails (fail closed). */
export class HostBuiltinError extends Error {
  constructor(builtin: string, message: string) {
    super(`${builtin}: ${message}`);
    this.name = "HostBuiltinError";
  }
}

/** Go's strconv.Quote: a double-quoted Go string literal, printable Unicode kept as is. */
export function goQuote(text: string, asciiOnly = false): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '"' || char === "\\") out += `\\${char}`;
    else if (code >= 0x20 && code < 0x7f) out += char;
    else if (code < 0x20 || code === 0x7f) out += goControlEscape(code);
    else if (asciiOnly || !isPrintable(code)) out += code > 0xffff ? `\\U${hex(code, 8)}` : `\\u${hex(code, 4)}`;
    else out += char;
  }
  return `${out}"`;
}

const NAMED_ESCAPES: Readonly<Record<number, string>> = { 7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v" };

function goControlEscape(code: number): string {
  return NAMED_ESCAPES[code] ?? `\\x${hex(code, 2)}`;
}

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, "0");
}

// Go's unicode.IsPrint, approximated with Unicode property classes: letters, marks, numbers,
// punctuation, symbols and U+0020 are printable; other spaces, controls, formats and
// unassigned code points are not (lone surrogates cannot come from valid JSON text).
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function isPrintable(code: number): boolean {
  return PRINTABLE.test(String.fromCodePoint(code));
}

/** Go's strconv.CanBackquote: `%#q` writes a raw string when this holds. */
export function canBackquote(text: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (char === "`" || code === 0xfeff || (code < 0x20 && code !== 9) || code === 0x7f) return false;
  }
  return true;
}

/** A value in Rego syntax, as OPA's ast.Value.String() writes it: sets and object keys in OPA's order. */
export function regoString(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") return numberText(value);
  if (typeof value === "string") return goQuote(value);
  if (Array.isArray(value)) return `[${value.map(regoString).join(", ")}]`;
  if (value instanceof RegoNumber) return value.text;
  if (value instanceof RegoSet) return value.elements.length === 0 ? "set()" : `{${sortedValues(value).map(regoString).join(", ")}}`;
  if (typeof value === "object") return `{${sortedEntries(value).map(([key, item]) => `${regoString(key)}: ${regoString(item)}`).join(", ")}}`;
  return String(value);
}

/** The exact decimal expansion of a finite double: digits (no leading zeros) and the decimal point's position. */
export interface ExactDecimal {
  readonly negative: boolean;
  /** Significant digits, "0" for zero. */
  readonly digits: string;
  /** The value is 0.digits × 10^point. */
  readonly point: number;
}

/** The double's exact value in decimal (every double is m·2^e, a finite decimal). */
export function exactDecimal(value: number): ExactDecimal {
  const negative = value < 0 || Object.is(value, -0);
  const magnitude = Math.abs(value);
  if (magnitude === 0) return { negative, digits: "0", point: 1 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, magnitude);
  const bits = view.getBigUint64(0);
  const exponentBits = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  const mantissa = exponentBits === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (exponentBits === 0 ? 1 : exponentBits) - 1075;
  let digits: string;
  let point: number;
  if (exponent >= 0) {
    digits = (mantissa << BigInt(exponent)).toString();
    point = digits.length;
  } else {
    // m / 2^k = m·5^k / 10^k
    digits = (mantissa * 5n ** BigInt(-exponent)).toString();
    point = digits.length + exponent;
  }
  const trimmed = digits.replace(/0+$/, "");
  return { negative, digits: trimmed, point };
}

/** Rounds decimal digits to `count` significant digits, half to even on an exact tie (Go's strconv). */
export function roundDigits(decimal: ExactDecimal, count: number): ExactDecimal {
  const { digits } = decimal;
  if (count < 0) return { ...decimal, digits: "0", point: decimal.point };
  if (digits.length <= count) return decimal;
  const next = digits.charCodeAt(count) - 48;
  const rest = digits.slice(count + 1);
  const kept = digits.slice(0, count);
  const lastKept = count > 0 ? kept.charCodeAt(count - 1) - 48 : 0;
  const up = next > 5 || (next === 5 && (/[1-9]/.test(rest) || lastKept % 2 === 1));
  if (!up) return kept === "" ? { ...decimal, digits: "0", point: decimal.point } : { ...decimal, digits: kept };
  if (kept === "") return { ...decimal, digits: "1", point: decimal.point + 1 };
  const increased = (BigInt(kept) + 1n).toString();
  return increased.length > kept.length ? { ...decimal, digits: increased.slice(0, count), point: decimal.point + 1 } : { ...decimal, digits: increased };
}

/** The shortest digits that read back as the same double (Go's strconv shortest = JS's). */
export function shortestDigits(value: number): ExactDecimal {
  const magnitude = Math.abs(value);
  if (magnitude === 0) return { negative: Object.is(value, -0) || value < 0, digits: "0", point: 1 };
  const [mantissa = "0", exponent = "0"] = magnitude.toExponential().split("e");
  const digits = mantissa.replace(".", "").replace(/0+$/, "") || "0";
  return { negative: value < 0, digits, point: Number(exponent) + 1 };
}

/** Digits in %e form: d.ddd plus Go's exponent (sign and at least two digits). */
export function formatE(decimal: ExactDecimal, precision: number, upper: boolean): string {
  const digits = decimal.digits === "0" ? "0" : decimal.digits;
  const first = digits[0] ?? "0";
  const fraction = digits.slice(1).padEnd(precision, "0").slice(0, precision);
  const exponent = decimal.digits === "0" ? 0 : decimal.point - 1;
  const sign = exponent < 0 ? "-" : "+";
  const expDigits = String(Math.abs(exponent)).padStart(2, "0");
  return `${first}${precision > 0 ? `.${fraction}` : ""}${upper ? "E" : "e"}${sign}${expDigits}`;
}

/** Digits in %f form with `precision` fractional digits (digits already rounded). */
export function formatF(decimal: ExactDecimal, precision: number): string {
  const { digits, point } = decimal;
  const zero = digits === "0";
  const integer = zero || point <= 0 ? "0" : digits.slice(0, point).padEnd(point, "0");
  let fraction = "";
  for (let index = 0; index < precision; index++) {
    const at = point + index;
    fraction += zero || at < 0 || at >= digits.length ? "0" : digits[at];
  }
  return precision > 0 ? `${integer}.${fraction}` : integer;
}

/** A double as Go's %e/%f/%g with a precision (-1: shortest), sign not included. */
export function goFloat(value: number, verb: "e" | "E" | "f" | "F" | "g" | "G", precision: number): string {
  const lower = verb.toLowerCase();
  if (lower === "e") {
    const decimal = precision < 0 ? shortestDigits(value) : roundDigits(exactDecimal(value), precision + 1);
    return formatE(decimal, precision < 0 ? Math.max(decimal.digits.length - 1, 0) : precision, verb === "E");
  }
  if (lower === "f") {
    if (precision < 0) {
      const decimal = shortestDigits(value);
      return formatF(decimal, Math.max(decimal.digits.length - decimal.point, 0));
    }
    const exact = exactDecimal(value);
    return formatF(roundDigits(exact, exact.point + precision), precision);
  }
  // %g: %e when the exponent is < -4 or >= the precision (6 for shortest), else %f, no trailing zeros.
  let decimal: ExactDecimal;
  let eprec: number;
  if (precision < 0) {
    decimal = shortestDigits(value);
    eprec = 6;
  } else {
    const wanted = precision === 0 ? 1 : precision;
    // strconv trims the rounded digits' trailing zeros: %g prints none.
    const rounded = roundDigits(exactDecimal(value), wanted);
    decimal = { ...rounded, digits: rounded.digits.replace(/(?<=.)0+$/, "") };
    eprec = wanted;
    if (eprec > decimal.digits.length && decimal.digits.length >= decimal.point) eprec = decimal.digits.length;
  }
  const exponent = decimal.digits === "0" ? 0 : decimal.point - 1;
  if (exponent < -4 || exponent >= eprec) return formatE(decimal, Math.max(decimal.digits.length - 1, 0), verb === "G");
  return formatF(decimal, Math.max(decimal.digits.length - decimal.point, 0));
}

/** Bytes as Go turns them into a JSON string: valid UTF-8 kept, each invalid byte one U+FFFD (utf8.DecodeRune). */
export function goUtf8(bytes: Uint8Array): string {
  let out = "";
  let index = 0;
  while (index < bytes.length) {
    const first = bytes[index] ?? 0;
    const size = first < 0x80 ? 1 : first >= 0xc2 && first <= 0xdf ? 2 : first >= 0xe0 && first <= 0xef ? 3 : first >= 0xf0 && first <= 0xf4 ? 4 : 0;
    // The second byte's range depends on the first (no overlongs, surrogates or code points past U+10FFFF).
    const low = first === 0xe0 ? 0xa0 : first === 0xf0 ? 0x90 : 0x80;
    const high = first === 0xed ? 0x9f : first === 0xf4 ? 0x8f : 0xbf;
    let valid = size > 0 && index + size <= bytes.length;
    for (let k = 1; valid && k < size; k++) {
      const byte = bytes[index + k] ?? 0;
      valid = k === 1 ? byte >= low && byte <= high : byte >= 0x80 && byte <= 0xbf;
    }
    if (!valid) {
      out += "\ufffd";
      index++;
      continue;
    }
    out += Buffer.from(bytes.subarray(index, index + size)).toString("utf8");
    index += size;
  }
  return out;
}
