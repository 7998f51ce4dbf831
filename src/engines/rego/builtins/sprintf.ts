import { numberTextOf } from "../rego-value.js";
import { HostBuiltinError, canBackquote, goFloat, goQuote, regoString } from "./go-values.js";

// OPA's sprintf (topdown/strings.go) hands Go's fmt.Sprintf each argument as an int (a number
// that parses as int64), a *big.Int (a larger integer), a float64 (any other number), a string
// (a Rego string), or the value's Rego text (every other value: booleans, null, composites). So
// `%t` of true prints `%!t(string=true)` and `%f` of 5 prints `%!f(int=5)`, exactly as OPA does.

type GoArg =
  | { readonly kind: "int"; readonly value: bigint }
  | { readonly kind: "big"; readonly value: bigint }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "string"; readonly value: string };

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

function goArg(value: unknown): GoArg {
  const text = numberTextOf(value);
  if (text !== undefined) {
    // As OPA: the text decides (`1.0` is a float), not the value.
    if (/[.eE]/.test(text)) {
      const float = Number(text);
      return Number.isFinite(float) ? { kind: "float", value: float } : { kind: "string", value: text };
    }
    if (/^-?\d+$/.test(text)) {
      const integer = BigInt(text);
      return integer >= INT64_MIN && integer <= INT64_MAX ? { kind: "int", value: integer } : { kind: "big", value: integer };
    }
    return { kind: "string", value: text };
  }
  if (typeof value === "string") return { kind: "string", value };
  return { kind: "string", value: regoString(value) };
}

interface Spec {
  readonly minus: boolean;
  readonly plus: boolean;
  readonly sharp: boolean;
  readonly space: boolean;
  readonly zero: boolean;
  readonly width: number | undefined;
  readonly precision: number | undefined;
  readonly verb: string;
  /** `%#v`: Go syntax (a string is quoted). */
  readonly sharpV?: boolean;
  /** `%+v`: a Formatter (*big.Int) still sees the '+' flag. */
  readonly plusV?: boolean;
}

/** OPA's `sprintf(format, values)`: Go's fmt.Sprintf over the arguments OPA passes it. */
export function sprintf(format: unknown, values: unknown): string | undefined {
  // OPA's operand errors make the call undefined (non-strict builtin errors).
  if (typeof format !== "string" || !Array.isArray(values)) return undefined;
  const args = values.map(goArg);
  let out = "";
  let next = 0;
  let index = 0;
  while (index < format.length) {
    const percent = format.indexOf("%", index);
    if (percent < 0) {
      out += format.slice(index);
      break;
    }
    out += format.slice(index, percent);
    index = percent + 1;
    let minus = false, plus = false, sharp = false, space = false, zero = false;
    for (; index < format.length; index++) {
      const flag = format[index];
      if (flag === "-") minus = true;
      else if (flag === "+") plus = true;
      else if (flag === "#") sharp = true;
      else if (flag === " ") space = true;
      else if (flag === "0") zero = true;
      else break;
    }
    if (format[index] === "*" || format[index] === "[") throw new HostBuiltinError("sprintf", `"${format}": argument indexes and * widths are not supported by this host`);
    let width: number | undefined;
    const widthMatch = /^\d+/.exec(format.slice(index));
    if (widthMatch) {
      width = Number(widthMatch[0]);
      index += widthMatch[0].length;
    }
    let precision: number | undefined;
    if (format[index] === ".") {
      index++;
      if (format[index] === "*" || format[index] === "[") throw new HostBuiltinError("sprintf", `"${format}": argument indexes and * precisions are not supported by this host`);
      const precisionMatch = /^\d+/.exec(format.slice(index));
      precision = precisionMatch ? Number(precisionMatch[0]) : 0;
      index += precisionMatch?.[0].length ?? 0;
    }
    if (index >= format.length) {
      out += "%!(NOVERB)";
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(index) ?? 0);
    index += verb.length;
    if (verb === "%") {
      out += "%";
      continue;
    }
    const arg = args[next];
    if (arg === undefined) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    next++;
    // Go: the '-' flag overrides '0'.
    // Go: for %v the '+' and '#' flags mean "+v" and "#v" (field names, Go syntax), not a sign or prefix.
    const spec: Spec = verb === "v" ? { minus, plus: false, plusV: plus, sharp: false, sharpV: sharp, space, zero: zero && !minus, width, precision, verb } : { minus, plus, sharp, space, zero: zero && !minus, width, precision, verb };
    out += formatArg(spec, arg);
  }
  if (next < args.length) out += `%!(EXTRA ${args.slice(next).map((arg) => `${typeName(arg)}=${plainV(arg)}`).join(", ")})`;
  return out;
}

function typeName(arg: GoArg): string {
  return arg.kind === "int" ? "int64" : arg.kind === "big" ? "*big.Int" : arg.kind === "float" ? "float64" : "string";
}

const PLAIN_V: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false, width: undefined, precision: undefined, verb: "v" };

/** The argument as a bare %v (the EXTRA list clears every flag first). */
function plainV(arg: GoArg): string {
  return formatArg(PLAIN_V, arg);
}

/** Go's badVerb: `%!verb(type=value)`, the value printed as %v with the flags, width and precision given. */
function badVerb(spec: Spec, arg: GoArg): string {
  return `%!${spec.verb}(${typeName(arg)}=${formatArg({ ...spec, verb: "v" }, arg)})`;
}

function formatArg(spec: Spec, arg: GoArg): string {
  switch (arg.kind) {
    case "int":
      return formatInt(spec, arg);
    case "big":
      return formatBig(spec, arg);
    case "float":
      return formatFloat(spec, arg);
    case "string":
      return formatString(spec, arg);
  }
}

/** Pads to the width, as Go's fmt.pad: on the right with '-', else on the left with zeros under '0' (strings too), else spaces. */
function pad(spec: Spec, text: string): string {
  const length = [...text].length;
  if (spec.width === undefined || length >= spec.width) return text;
  if (spec.minus) return text + " ".repeat(spec.width - length);
  return (spec.zero ? "0" : " ").repeat(spec.width - length) + text;
}

/** Pads a float as Go's fmtFloat: under '0', the zeros go between the sign and the digits. */
function padNumber(spec: Spec, sign: string, body: string): string {
  if (spec.zero && spec.width !== undefined && !spec.minus) {
    const missing = spec.width - sign.length - body.length;
    return sign + (missing > 0 ? "0".repeat(missing) : "") + body;
  }
  return pad(spec, sign + body);
}

function signOf(spec: Spec, negative: boolean): string {
  return negative ? "-" : spec.plus ? "+" : spec.space ? " " : "";
}

const BASES: Readonly<Record<string, { radix: number; prefix: string }>> = {
  d: { radix: 10, prefix: "" },
  v: { radix: 10, prefix: "" },
  b: { radix: 2, prefix: "0b" },
  o: { radix: 8, prefix: "0" },
  O: { radix: 8, prefix: "0o" },
  x: { radix: 16, prefix: "0x" },
  X: { radix: 16, prefix: "0X" },
};

function formatInt(spec: Spec, arg: { value: bigint }): string {
  const { verb } = spec;
  if (verb === "c" || verb === "q" || verb === "U") return formatRune(spec, arg.value);
  const base = BASES[verb];
  if (base === undefined) return badVerb(spec, { kind: "int", value: arg.value });
  const negative = arg.value < 0n;
  let digits = (negative ? -arg.value : arg.value).toString(base.radix);
  if (verb === "X") digits = digits.toUpperCase();
  const sign = signOf(spec, negative);
  // Go: precision is the minimum number of digits (%.0d of 0 prints nothing); without one, the
  // '0' flag pads the digits to the width less the sign, and the 0x prefix comes on top.
  if (spec.precision !== undefined) digits = spec.precision === 0 && arg.value === 0n ? "" : digits.padStart(spec.precision, "0");
  else if (spec.zero && spec.width !== undefined && !spec.minus) digits = digits.padStart(spec.width - sign.length, "0");
  // Go: '#' adds 0b, 0x, or a leading 0 for octal (unless there is one); %O always adds 0o on top.
  let prefix = "";
  if (spec.sharp && (verb === "o" || verb === "O")) prefix = digits.startsWith("0") ? "" : "0";
  else if (spec.sharp && verb !== "d" && verb !== "v") prefix = base.prefix;
  if (verb === "O") prefix = `0o${prefix}`;
  // Go turns the '0' flag off for this last padding: the zeros went in above.
  return pad({ ...spec, zero: false }, sign + prefix + digits);
}

/** *big.Int's own Format (numbers past int64): [left pad][sign][prefix][zeros][digits][right pad]. */
function formatBig(spec: Spec, arg: { value: bigint }): string {
  const verb = spec.verb === "s" ? "d" : spec.verb;
  const base = BASES[verb];
  if (base === undefined) return `%!${spec.verb}(big.Int=${arg.value})`;
  const negative = arg.value < 0n;
  let digits = (negative ? -arg.value : arg.value).toString(base.radix);
  if (verb === "X") digits = digits.toUpperCase();
  const sign = negative ? "-" : spec.plus || spec.plusV ? "+" : spec.space ? " " : "";
  const prefix = verb === "O" ? "0o" : spec.sharp && verb !== "d" && verb !== "v" ? base.prefix : "";
  let zeros = spec.precision !== undefined && digits.length < spec.precision ? spec.precision - digits.length : 0;
  const length = sign.length + prefix.length + zeros + digits.length;
  let left = 0;
  let right = 0;
  if (spec.width !== undefined && length < spec.width) {
    const missing = spec.width - length;
    if (spec.minus) right = missing;
    else if (spec.zero && spec.precision === undefined) zeros = missing;
    else left = missing;
  }
  return " ".repeat(left) + sign + prefix + "0".repeat(zeros) + digits + " ".repeat(right);
}

function formatRune(spec: Spec, value: bigint): string {
  const code = value >= 0n && value <= 0x10ffffn && !(value >= 0xd800n && value <= 0xdfffn) ? Number(value) : 0xfffd;
  if (spec.verb === "c") return pad(spec, String.fromCodePoint(code));
  if (spec.verb === "U") {
    // Go: at least four hex digits (more with a larger precision), of the value as a uint64.
    const unsigned = value < 0n ? (1n << 64n) + value : value;
    const body = `U+${unsigned.toString(16).toUpperCase().padStart(Math.max(4, spec.precision ?? 0), "0")}`;
    // %#U adds the character when it is a printable code point.
    const printable = value >= 0n && value <= 0x10ffffn && (code === 0x20 || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(String.fromCodePoint(code)));
    return pad(spec, spec.sharp && printable ? `${body} '${String.fromCodePoint(code)}'` : body);
  }
  const char = String.fromCodePoint(code);
  const quoted = goQuote(char, spec.plus);
  const inner = quoted.slice(1, -1).replace(/\\"/g, '"');
  return pad(spec, `'${char === "'" ? "\\'" : inner}'`);
}

function formatFloat(spec: Spec, arg: { value: number }): string {
  const { verb } = spec;
  const lower = verb.toLowerCase();
  if (verb === "v" || lower === "e" || lower === "f" || lower === "g") {
    if (spec.sharp) throw new HostBuiltinError("sprintf", `%#${verb} of a number is not supported by this host`);
    const goVerb = verb === "v" ? "g" : (verb as "e" | "E" | "f" | "F" | "g" | "G");
    const precision = spec.precision ?? (lower === "e" || lower === "f" ? 6 : -1);
    const body = goFloat(Math.abs(arg.value), goVerb, precision);
    return padNumber(spec, signOf(spec, arg.value < 0 || Object.is(arg.value, -0)), body);
  }
  if (verb === "b" || lower === "x") throw new HostBuiltinError("sprintf", `%${verb} of a non-integer number is not supported by this host`);
  return badVerb(spec, { kind: "float", value: arg.value });
}

function formatString(spec: Spec, arg: { value: string }): string {
  const { verb } = spec;
  const text = spec.precision === undefined ? arg.value : [...arg.value].slice(0, spec.precision).join("");
  if (verb === "v" && spec.sharpV) return pad(spec, goQuote(text));
  if (verb === "s" || verb === "v") return pad(spec, text);
  if (verb === "q") {
    if (spec.sharp && canBackquote(text)) return pad(spec, `\`${text}\``);
    return pad(spec, goQuote(text, spec.plus));
  }
  if (verb === "x" || verb === "X") {
    // Hex of the bytes; precision counts bytes here, not runes.
    const bytes = Buffer.from(arg.value, "utf8");
    const limited = spec.precision === undefined ? bytes : bytes.subarray(0, spec.precision);
    // Nothing to encode: only the padding.
    if (limited.length === 0) return pad(spec, "");
    let parts = [...limited].map((byte) => byte.toString(16).padStart(2, "0"));
    if (verb === "X") parts = parts.map((part) => part.toUpperCase());
    const prefix = spec.sharp ? (verb === "X" ? "0X" : "0x") : "";
    const body = spec.space ? parts.map((part) => prefix + part).join(" ") : prefix + parts.join("");
    return pad(spec, body);
  }
  return badVerb(spec, { kind: "string", value: arg.value });
}
