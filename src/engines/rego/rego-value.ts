// Rego values as the host builtins see them. JSON has no sets, no numbers beyond a double and no
// object keys but strings; Rego has all three, and OPA's builtins (sprintf above all) print them.
// So a builtin argument is read from the module as Rego text (opa_value_dump, value-text.ts) into:
//   null, booleans, strings                    as JS primitives
//   numbers                                    as JS numbers when the number's text is the one
//                                              JS writes for that double and, for an integer,
//                                              the double is exact; else a RegoNumber (its text)
//   arrays                                     as JS arrays
//   objects with string keys only              as plain objects (own properties, `__proto__` too)
//   objects with any other key                 as a RegoObject (its entries)
//   sets                                       as a RegoSet (its elements)
// A builtin that wants an array or an object therefore refuses a set or an odd object, as OPA's
// operand checks do; the few that take sets (strings.any_prefix_match...) say so.

/** A Rego number whose text a JS number would not keep: a big integer, `1.0`, `1e3`. */
export class RegoNumber {
  /** The number as Rego wrote it (JSON number syntax). */
  readonly text: string;

  constructor(text: string) {
    this.text = text;
    Object.freeze(this);
  }
}

/** A Rego set; `elements` in the order the module listed them (`sortedValues` gives OPA's order). */
export class RegoSet {
  readonly elements: readonly unknown[];

  constructor(elements: readonly unknown[]) {
    this.elements = Object.freeze([...elements]);
    Object.freeze(this);
  }
}

/** A Rego object with at least one key that is not a string (`{1: "a"}`). */
export class RegoObject {
  readonly entries: readonly (readonly [unknown, unknown])[];

  constructor(entries: readonly (readonly [unknown, unknown])[]) {
    this.entries = Object.freeze(entries.map(([key, value]) => Object.freeze([key, value] as const)));
    Object.freeze(this);
  }
}

const INTEGER_TEXT = /^-?(?:0|[1-9]\d*)$/;

/** A JSON number as OPA's json.Number text: integers in decimal digits, others in JS's shortest form. */
export function numberText(value: number): string {
  return Object.is(value, -0) ? "0" : String(value);
}

/** The value of number text `text`: a JS number when it keeps the text exactly (see above), else a RegoNumber. */
export function regoNumber(text: string): number | RegoNumber {
  const value = Number(text);
  if (Number.isFinite(value) && numberText(value) === text && (!INTEGER_TEXT.test(text) || Number.isSafeInteger(value))) return value;
  return new RegoNumber(text);
}

/** The text of a number value (a JS number or a RegoNumber), undefined for anything else. */
export function numberTextOf(value: unknown): string | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? numberText(value) : undefined;
  return value instanceof RegoNumber ? value.text : undefined;
}

/**
 * The exact integer a number value stands for (`1.0` and `1e3` are integers, as for OPA's
 * NumberToInt), undefined for a fraction or a non-number.
 */
export function integerOf(value: unknown): bigint | undefined {
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : undefined;
  if (!(value instanceof RegoNumber)) return undefined;
  const decimal = decimalOf(value.text);
  if (decimal === undefined) return undefined;
  if (decimal.digits === "") return 0n;
  // value = 0.digits × 10^point: an integer when every digit lies left of the point.
  if (decimal.digits.length > decimal.point) return undefined;
  // A hostile exponent would ask for billions of zeros: no int64 has more than 19 digits.
  if (decimal.point > 400) return undefined;
  const magnitude = BigInt(decimal.digits.padEnd(decimal.point, "0"));
  return decimal.negative ? -magnitude : magnitude;
}

/** A number's exact decimal: 0.digits × 10^point, digits without leading or trailing zeros ("" for zero). */
interface Decimal {
  readonly negative: boolean;
  readonly digits: string;
  readonly point: number;
}

const NUMBER_TEXT = /^(-?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

function decimalOf(text: string): Decimal | undefined {
  const match = NUMBER_TEXT.exec(text);
  if (!match) return undefined;
  const whole = match[2] ?? "";
  const fraction = match[3] ?? "";
  const exponent = Number(match[4] ?? "0");
  if (!Number.isSafeInteger(exponent)) return undefined;
  const all = whole + fraction;
  const leading = /^0*/.exec(all)?.[0].length ?? 0;
  const digits = all.slice(leading).replace(/0+$/, "");
  return { negative: match[1] === "-" && digits !== "", digits, point: whole.length - leading + exponent };
}

/** Compares number texts by exact value, as OPA's NumberCompare does; texts that are not numbers last, by text. */
export function compareNumberTexts(a: string, b: string): number {
  if (a === b) return 0;
  const x = decimalOf(a);
  const y = decimalOf(b);
  if (!x || !y) return !x && !y ? (a < b ? -1 : 1) : x ? -1 : 1;
  if (x.negative !== y.negative) return x.negative ? -1 : 1;
  const sign = x.negative ? -1 : 1;
  if (x.digits === "" || y.digits === "") return x.digits === y.digits ? 0 : x.digits === "" ? -sign : sign;
  if (x.point !== y.point) return x.point < y.point ? -sign : sign;
  const width = Math.max(x.digits.length, y.digits.length);
  const [dx, dy] = [x.digits.padEnd(width, "0"), y.digits.padEnd(width, "0")];
  return dx === dy ? 0 : dx < dy ? -sign : sign;
}

/** Compares strings as Go does (by UTF-8 bytes), the order OPA sorts strings in. */
export function compareGoStrings(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 order equals UTF-8 byte order except around surrogates; only then pay for the bytes.
  return /[\ud800-\udfff]/.test(a) || /[\ud800-\udfff]/.test(b) ? Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")) : a < b ? -1 : 1;
}

function kindOrder(value: unknown): number {
  if (value === null) return 0;
  if (typeof value === "boolean") return 1;
  if (typeof value === "number" || value instanceof RegoNumber) return 2;
  if (typeof value === "string") return 3;
  if (Array.isArray(value)) return 7;
  if (value instanceof RegoSet) return 9;
  return 8;
}

/** The entries of an object value (plain or RegoObject), keys in OPA's order. */
export function sortedEntries(value: object): (readonly [unknown, unknown])[] {
  if (value instanceof RegoObject) return [...value.entries].sort((a, b) => compareValues(a[0], b[0]));
  const record = value as Record<string, unknown>;
  return Object.keys(record)
    .sort(compareGoStrings)
    .map((key) => [key, record[key]] as const);
}

/** A set's elements in OPA's order. */
export function sortedValues(set: RegoSet): unknown[] {
  return [...set.elements].sort(compareValues);
}

/** OPA's ast.Compare over values: null < booleans < numbers < strings < arrays < objects < sets. */
export function compareValues(a: unknown, b: unknown): number {
  const kind = kindOrder(a);
  const other = kindOrder(b);
  if (kind !== other) return kind < other ? -1 : 1;
  switch (kind) {
    case 0:
      return 0;
    case 1:
      return a === b ? 0 : a === false ? -1 : 1;
    case 2:
      return compareNumberTexts(numberTextOf(a) ?? "", numberTextOf(b) ?? "");
    case 3:
      return compareGoStrings(a as string, b as string);
    case 7:
      return compareLists(a as unknown[], b as unknown[]);
    case 9:
      return compareLists(sortedValues(a as RegoSet), sortedValues(b as RegoSet));
    default: {
      const x = sortedEntries(a as object);
      const y = sortedEntries(b as object);
      for (let index = 0; index < Math.min(x.length, y.length); index++) {
        const byKey = compareValues(x[index]![0], y[index]![0]);
        if (byKey !== 0) return byKey;
        const byValue = compareValues(x[index]![1], y[index]![1]);
        if (byValue !== 0) return byValue;
      }
      return x.length - y.length;
    }
  }
}

function compareLists(a: readonly unknown[], b: readonly unknown[]): number {
  for (let index = 0; index < Math.min(a.length, b.length); index++) {
    const order = compareValues(a[index], b[index]);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

/**
 * The value as JSON data, as OPA's ast.JSON makes it: a set becomes an array in OPA's order, a
 * number a JS number (rounded if it must be), an object key that is not a string its JSON text.
 * For the builtins that take JSON (the SDK's yaml.*).
 */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof RegoNumber) return Number(value.text);
  if (value instanceof RegoSet) return sortedValues(value).map(toJsonValue);
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value instanceof RegoObject) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of sortedEntries(value)) defineMember(out, typeof key === "string" ? key : JSON.stringify(toJsonValue(key)), toJsonValue(item));
    return out;
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) defineMember(out, key, toJsonValue(item));
    return out;
  }
  return value;
}

/** Sets `record[key]` as an own data property, so a key `__proto__` is a member like any other (as JSON.parse makes it). */
export function defineMember(record: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
