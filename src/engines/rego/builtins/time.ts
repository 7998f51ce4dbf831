import { integerOf } from "../rego-value.js";
import { HostBuiltinError } from "./go-values.js";
import { NAMED_LAYOUTS, goFormat, type Civil, type ZonedCivil } from "./time-format.js";
import { goParse } from "./time-parse.js";

const RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00";

// OPA's time builtins (topdown/time.go) over Go's time package. Nanoseconds are int64 there; a
// JS number holds them exactly only up to 2^53, so results are written as exact JSON integers,
// and arguments arrive exact (a RegoNumber past 2^53, rego-value.ts).

type Host = (...args: unknown[]) => unknown;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const NS_PER_MS = 1_000_000n;

/** A JSON integer the SDK copies into the Wasm as written (no rounding through a double). */
export function exactInteger(value: bigint): ArrayBuffer {
  const bytes = new TextEncoder().encode(value.toString());
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** An instant: nanoseconds since the epoch, and the zone its civil fields are read in. */
interface ZonedTime {
  readonly ns: bigint;
  readonly zone: string;
  /** The third element of `[ns, zone, layout]` (time.format), "" when absent. */
  readonly layout: string;
}

/** OPA's tzTime: `ns` or `[ns, zone]`; undefined where OPA's builtin errors (undefined call). */
function zonedTime(builtin: string, value: unknown): ZonedTime | undefined {
  let ns: unknown = value;
  let zone = "UTC";
  let layout = "";
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    ns = value[0];
    if (value.length > 1) {
      if (typeof value[1] !== "string") return undefined;
      zone = value[1] === "" ? "UTC" : value[1];
    }
    if (value.length > 2) {
      if (typeof value[2] !== "string") return undefined;
      layout = value[2];
    }
  }
  // OPA: the number must be an integer (1.0 and 1e3 are) within int64.
  const exact = integerOf(ns);
  if (exact === undefined || exact < INT64_MIN || exact > INT64_MAX) return undefined;
  if (zone === "Local") throw new HostBuiltinError(builtin, `the "Local" zone is the host machine's and would make the decision depend on it; name a zone such as "UTC" or "Europe/Paris"`);
  if (zone !== "UTC" && !validZone(zone)) return undefined;
  return { ns: exact, zone, layout };
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

function validZone(zone: string): boolean {
  try {
    formatFor(zone);
    return true;
  } catch {
    return false;
  }
}

function formatFor(zone: string): Intl.DateTimeFormat {
  let format = zoneFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    zoneFormats.set(zone, format);
  }
  return format;
}


function floorDiv(a: bigint, b: bigint): bigint {
  const quotient = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? quotient - 1n : quotient;
}

/** The civil date and clock of an instant in its zone (Go's Date and Clock). */
function civil(time: ZonedTime): Civil {
  const ms = floorDiv(time.ns, NS_PER_MS);
  const nanos = time.ns - floorDiv(time.ns, 1_000_000_000n) * 1_000_000_000n;
  const date = new Date(Number(ms));
  if (time.zone === "UTC") {
    return {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      hour: date.getUTCHours(),
      minute: date.getUTCMinutes(),
      second: date.getUTCSeconds(),
      nanos,
    };
  }
  const parts = Object.fromEntries(formatFor(time.zone).formatToParts(date).map((part) => [part.type, part.value]));
  const year = Number(parts["year"]);
  return {
    year: parts["era"] === "BC" ? 1 - year : year,
    month: Number(parts["month"]),
    day: Number(parts["day"]),
    hour: Number(parts["hour"]),
    minute: Number(parts["minute"]),
    second: Number(parts["second"]),
    nanos,
  };
}

/** Milliseconds since the epoch of a civil UTC time, normalising overflowing fields as Go's time.Date does. */
function utcMillis(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

function inInt64(ns: bigint): ArrayBuffer | undefined {
  return ns < INT64_MIN || ns > INT64_MAX ? undefined : exactInteger(ns);
}

/** Go's time.Parse(time.RFC3339, value), in nanoseconds; undefined where Go errors. */
export function parseRfc3339Ns(value: string): bigint | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = 0;
  if (zone !== undefined && zone !== "Z") {
    const zoneHours = Number(zone.slice(1, 3));
    const zoneMinutes = Number(zone.slice(4, 6));
    if (zoneHours > 24 || zoneMinutes > 60) return undefined;
    offset = (zone.startsWith("-") ? -1 : 1) * (zoneHours * 3600 + zoneMinutes * 60);
  }
  // Go reads at most nine fractional digits and drops the rest.
  const nanos = BigInt((fraction ?? "").slice(0, 9).padEnd(9, "0"));
  const seconds = BigInt(utcMillis(year, month, day, hour, minute, second) / 1000 - offset);
  const ns = seconds * 1_000_000_000n + nanos;
  return ns < INT64_MIN || ns > INT64_MAX ? undefined : ns;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(month: number, year: number): number {
  return month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DURATION_UNITS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  "µs": 1_000n,
  "μs": 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's time.ParseDuration, in nanoseconds; undefined where Go errors. */
export function parseDurationNs(text: string): bigint | undefined {
  let rest = text;
  let negative = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    negative = rest.startsWith("-");
    rest = rest.slice(1);
  }
  if (rest === "0") return 0n;
  if (rest === "") return undefined;
  let total = 0n;
  while (rest !== "") {
    const match = /^(\d*)(?:\.(\d*))?([^\d.]+)?/.exec(rest);
    const whole = match?.[1] ?? "";
    const fraction = match?.[2];
    const unitName = match?.[3];
    if (!match || (whole === "" && (fraction === undefined || fraction === ""))) return undefined;
    if (unitName === undefined) return undefined;
    const unitMatch = /^(ns|us|µs|μs|ms|s|m|h)/.exec(unitName);
    // Go takes the unit as every character up to the next digit or '.'.
    if (!unitMatch || unitMatch[0] !== unitName) return undefined;
    const unit = DURATION_UNITS[unitName] ?? 1n;
    let value = BigInt(whole === "" ? "0" : whole) * unit;
    if (fraction !== undefined && fraction !== "") {
      // Go: the fraction scaled by the unit, truncated (it keeps at most ~18 digits of it).
      value += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    }
    total += value;
    if (total > 1n << 63n) return undefined;
    rest = rest.slice(match[0].length);
  }
  if (!negative && total > INT64_MAX) return undefined;
  return negative ? -total : total;
}

const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

function weekdayOf(fields: Civil): string {
  return WEEKDAYS[new Date(utcMillis(fields.year, fields.month, fields.day, 0, 0, 0)).getUTCDay()] ?? "";
}

/** Go's AddDate in UTC (time.Date normalises: January 31 plus one month is March 2 or 3). */
function addDate(fields: Civil, years: number, months: number, days: number): bigint {
  const ms = utcMillis(fields.year + years, fields.month + months, fields.day + days, fields.hour, fields.minute, fields.second);
  return BigInt(ms) * NS_PER_MS + fields.nanos;
}

/** icza's diff as OPA ships it: calendar years, months, days, hours, minutes, seconds between two instants. */
function diff(first: ZonedTime, second: ZonedTime): number[] {
  const [a, b] = first.ns > second.ns ? [second.ns, first.ns] : [first.ns, second.ns];
  // Go reads both in the first argument's zone.
  const t1 = civil({ ns: a, zone: first.zone, layout: "" });
  const t2 = civil({ ns: b, zone: first.zone, layout: "" });
  let year = t2.year - t1.year;
  let month = t2.month - t1.month;
  let day = t2.day - t1.day;
  let hour = t2.hour - t1.hour;
  let minute = t2.minute - t1.minute;
  let sec = t2.second - t1.second;
  if (sec < 0) {
    sec += 60;
    minute--;
  }
  if (minute < 0) {
    minute += 60;
    hour--;
  }
  if (hour < 0) {
    hour += 24;
    day--;
  }
  if (day < 0) {
    // Go: time.Date(y1, M1, 32) in UTC, whose day tells how far 32 overflows the month.
    const overflow = new Date(utcMillis(t1.year, t1.month, 32, 0, 0, 0)).getUTCDate();
    day += 32 - overflow;
    month--;
  }
  if (month < 0) {
    month += 12;
    year--;
  }
  return [year, month, day, hour, minute, sec];
}

/** The instant's civil fields, weekday, day of the year and zone offset, for Go's Format. */
function zonedCivil(time: ZonedTime): ZonedCivil {
  const fields = civil(time);
  const seconds = floorDiv(time.ns, 1_000_000_000n);
  const offsetSeconds = utcMillis(fields.year, fields.month, fields.day, fields.hour, fields.minute, fields.second) / 1000 - Number(seconds);
  const dayStart = utcMillis(fields.year, fields.month, fields.day, 0, 0, 0);
  const yearDay = Math.round((dayStart - utcMillis(fields.year, 1, 1, 0, 0, 0)) / 86_400_000) + 1;
  return {
    ...fields,
    weekday: new Date(dayStart).getUTCDay(),
    yearDay,
    offsetSeconds,
    zoneName: time.zone === "UTC" ? "UTC" : undefined,
  };
}

function integer(value: unknown): number | undefined {
  const exact = integerOf(value);
  return exact === undefined || exact < INT64_MIN || exact > INT64_MAX ? undefined : Number(exact);
}

/** Where the logical time of the evaluation under way is read from (`time.now_ns`). */
export interface LogicalClock {
  /** The evaluation's time in nanoseconds, or undefined when it has none. */
  now(): bigint | undefined;
}

/** The time builtins this host implements; `time.now_ns` reads `clock`. */
export function timeBuiltins(clock: LogicalClock): Record<string, Host> {
  const zoned = (builtin: string, run: (time: ZonedTime) => unknown): Host => (value) => {
    const time = zonedTime(builtin, value);
    return time === undefined ? undefined : run(time);
  };
  return {
    "time.now_ns": () => {
      const now = clock.now();
      if (now === undefined) {
        throw new HostBuiltinError("time.now_ns", "this evaluation has no logical time: give the action a context.now (an RFC 3339 time), or pass `now` to evaluate");
      }
      return exactInteger(now);
    },
    "time.parse_rfc3339_ns": (value) => {
      if (typeof value !== "string") return undefined;
      const ns = parseRfc3339Ns(value);
      return ns === undefined ? undefined : exactInteger(ns);
    },
    "time.parse_ns": (layout, value) => {
      if (typeof layout !== "string" || typeof value !== "string") return undefined;
      const ns = goParse(NAMED_LAYOUTS[layout] ?? layout, value, (what) => new HostBuiltinError("time.parse_ns", `${what} is not supported by this host`));
      return ns === undefined || ns < INT64_MIN || ns > INT64_MAX ? undefined : exactInteger(ns);
    },
    "time.parse_duration_ns": (value) => {
      if (typeof value !== "string") return undefined;
      const ns = parseDurationNs(value);
      return ns === undefined ? undefined : exactInteger(ns);
    },
    "time.date": zoned("time.date", (time) => {
      const fields = civil(time);
      return [fields.year, fields.month, fields.day];
    }),
    "time.clock": zoned("time.clock", (time) => {
      const fields = civil(time);
      return [fields.hour, fields.minute, fields.second];
    }),
    "time.weekday": zoned("time.weekday", (time) => weekdayOf(civil(time))),
    "time.add_date": (value, years, months, days) => {
      const time = zonedTime("time.add_date", value);
      const [y, m, d] = [integer(years), integer(months), integer(days)];
      if (time === undefined || y === undefined || m === undefined || d === undefined) return undefined;
      if (time.zone !== "UTC") throw new HostBuiltinError("time.add_date", `adding dates in zone "${time.zone}" is not supported by this host (UTC is)`);
      return inInt64(addDate(civil(time), y, m, d));
    },
    "time.format": zoned("time.format", (time) => goFormat(zonedCivil(time), time.layout === "" ? RFC3339_NANO : (NAMED_LAYOUTS[time.layout] ?? time.layout))),
    "time.diff": (first, second) => {
      const a = zonedTime("time.diff", first);
      const b = zonedTime("time.diff", second);
      return a === undefined || b === undefined ? undefined : diff(a, b);
    },
  };
}
