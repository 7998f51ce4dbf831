import { HostBuiltinError } from "./go-values.js";
import { layoutTokenAt } from "./time-layout.js";

// Go's Time.Format layout language, as OPA's time.format uses it: the reference time
// "Mon Jan 2 15:04:05 MST 2006" spelled in the shape wanted. Anything Go does not read as an
// element is copied as is, so every layout formats; the tokens are found as Go's nextStdChunk does.

/** A date and a time of day, as a calendar and a clock show it. */
export interface Civil {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** Within the second. */
  readonly nanos: bigint;
}

/** A civil time with its zone's offset from UTC, in seconds. */
export interface ZonedCivil extends Civil {
  /** 0 = Sunday. */
  readonly weekday: number;
  /** 1-366. */
  readonly yearDay: number;
  readonly offsetSeconds: number;
  /** The zone's abbreviation when this host knows Go's (UTC only), else undefined. */
  readonly zoneName: string | undefined;
}

/** OPA's names for Go's layout constants (time.format and time.parse_ns accept them). */
export const NAMED_LAYOUTS: Readonly<Record<string, string>> = {
  ANSIC: "Mon Jan _2 15:04:05 2006",
  UnixDate: "Mon Jan _2 15:04:05 MST 2006",
  RubyDate: "Mon Jan 02 15:04:05 -0700 2006",
  RFC822: "02 Jan 06 15:04 MST",
  RFC822Z: "02 Jan 06 15:04 -0700",
  RFC850: "Monday, 02-Jan-06 15:04:05 MST",
  RFC1123: "Mon, 02 Jan 2006 15:04:05 MST",
  RFC1123Z: "Mon, 02 Jan 2006 15:04:05 -0700",
  RFC3339: "2006-01-02T15:04:05Z07:00",
  RFC3339Nano: "2006-01-02T15:04:05.999999999Z07:00",
};

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

type Element = (t: ZonedCivil) => string;

const pad = (value: number, width: number): string => {
  const text = String(Math.abs(value)).padStart(width, "0");
  return value < 0 ? `-${text}` : text;
};

function zone(t: ZonedCivil, iso: boolean, colon: boolean, minutes: boolean, seconds: boolean): string {
  if (iso && t.offsetSeconds === 0) return "Z";
  const abs = Math.abs(t.offsetSeconds);
  const hours = Math.trunc(abs / 3600);
  const mins = Math.trunc(abs / 60) % 60;
  let out = `${t.offsetSeconds < 0 ? "-" : "+"}${pad(hours, 2)}`;
  if (minutes) out += `${colon ? ":" : ""}${pad(mins, 2)}`;
  if (seconds) out += `${colon ? ":" : ""}${pad(abs % 60, 2)}`;
  return out;
}

function fraction(t: ZonedCivil, separator: string, digits: number, trim: boolean): string {
  let text = t.nanos.toString().padStart(9, "0").slice(0, digits);
  if (trim) {
    text = text.replace(/0+$/, "");
    if (text === "") return "";
  }
  return separator + text;
}

const ZERO_PADDED: Readonly<Record<string, Element>> = {
  "01": (t) => pad(t.month, 2),
  "02": (t) => pad(t.day, 2),
  "03": (t) => pad(t.hour % 12 === 0 ? 12 : t.hour % 12, 2),
  "04": (t) => pad(t.minute, 2),
  "05": (t) => pad(t.second, 2),
  "06": (t) => pad(((t.year % 100) + 100) % 100, 2),
};

const ELEMENTS: Readonly<Record<string, Element>> = {
  ...ZERO_PADDED,
  January: (t) => MONTHS[t.month - 1] ?? "",
  Jan: (t) => (MONTHS[t.month - 1] ?? "").slice(0, 3),
  Monday: (t) => DAYS[t.weekday] ?? "",
  Mon: (t) => (DAYS[t.weekday] ?? "").slice(0, 3),
  MST: (t) => t.zoneName ?? (() => { throw new HostBuiltinError("time.format", "the MST element (a zone abbreviation) is supported in UTC only by this host"); })(),
  "002": (t) => pad(t.yearDay, 3),
  "15": (t) => pad(t.hour, 2),
  "1": (t) => String(t.month),
  "2006": (t) => pad(t.year, 4),
  "2": (t) => String(t.day),
  _2: (t) => String(t.day).padStart(2, " "),
  __2: (t) => String(t.yearDay).padStart(3, " "),
  "3": (t) => String(t.hour % 12 === 0 ? 12 : t.hour % 12),
  "4": (t) => String(t.minute),
  "5": (t) => String(t.second),
  PM: (t) => (t.hour >= 12 ? "PM" : "AM"),
  pm: (t) => (t.hour >= 12 ? "pm" : "am"),
};

/** What a zone token (`-07:00`, `Z0700`, ...) writes: ISO ("Z" for UTC) or not, with a colon, minutes, seconds. */
const ZONES: Readonly<Record<string, readonly [colon: boolean, minutes: boolean, seconds: boolean]>> = {
  "070000": [false, true, true],
  "07:00:00": [true, true, true],
  "0700": [false, true, false],
  "07:00": [true, true, false],
  "07": [false, false, false],
};

/** The element a layout token (time-layout.ts) writes; undefined for the literal "_" of "_2006". */
function elementOf(token: string): Element | undefined {
  const named = Object.hasOwn(ELEMENTS, token) ? ELEMENTS[token] : undefined;
  if (named) return named;
  const first = token[0];
  const zoneParts = Object.hasOwn(ZONES, token.slice(1)) ? ZONES[token.slice(1)] : undefined;
  if ((first === "-" || first === "Z") && zoneParts) return (t) => zone(t, first === "Z", ...zoneParts);
  // A fraction: "." or "," then a run of 0s (fixed width) or 9s (trailing zeros trimmed).
  if (first === "." || first === ",") return (t) => fraction(t, first, token.length - 1, token[1] === "9");
  return undefined;
}

/** Go's Time.Format(layout). */
export function goFormat(t: ZonedCivil, layout: string): string {
  let out = "";
  let i = 0;
  while (i < layout.length) {
    const token = layoutTokenAt(layout, i);
    const element = token === undefined ? undefined : elementOf(token);
    if (token !== undefined && element) {
      out += element(t);
      i += token.length;
    } else {
      out += layout[i];
      i++;
    }
  }
  return out;
}
