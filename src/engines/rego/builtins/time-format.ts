import { HostBuiltinError } from "./go-values.js";

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

const startsLower = (rest: string): boolean => /^[a-z]/.test(rest);

/** The next element of a layout at `i`, with its length; undefined when the character is literal. */
function elementAt(layout: string, i: number): { length: number; element: Element } | undefined {
  const rest = layout.slice(i);
  const c = layout[i];
  switch (c) {
    case "J":
      if (rest.startsWith("January")) return { length: 7, element: (t) => MONTHS[t.month - 1] ?? "" };
      if (rest.startsWith("Jan") && !startsLower(rest.slice(3))) return { length: 3, element: (t) => (MONTHS[t.month - 1] ?? "").slice(0, 3) };
      return undefined;
    case "M":
      if (rest.startsWith("Monday")) return { length: 6, element: (t) => DAYS[t.weekday] ?? "" };
      if (rest.startsWith("Mon") && !startsLower(rest.slice(3))) return { length: 3, element: (t) => (DAYS[t.weekday] ?? "").slice(0, 3) };
      if (rest.startsWith("MST")) {
        return {
          length: 3,
          element: (t) => t.zoneName ?? (() => { throw new HostBuiltinError("time.format", "the MST element (a zone abbreviation) is supported in UTC only by this host"); })(),
        };
      }
      return undefined;
    case "0": {
      const next = layout[i + 1];
      const zero2: Readonly<Record<string, Element>> = {
        "1": (t) => pad(t.month, 2),
        "2": (t) => pad(t.day, 2),
        "3": (t) => pad(t.hour % 12 === 0 ? 12 : t.hour % 12, 2),
        "4": (t) => pad(t.minute, 2),
        "5": (t) => pad(t.second, 2),
        "6": (t) => pad(((t.year % 100) + 100) % 100, 2),
      };
      if (next !== undefined && zero2[next]) return { length: 2, element: zero2[next] };
      if (rest.startsWith("002")) return { length: 3, element: (t) => pad(t.yearDay, 3) };
      return undefined;
    }
    case "1":
      if (layout[i + 1] === "5") return { length: 2, element: (t) => pad(t.hour, 2) };
      return { length: 1, element: (t) => String(t.month) };
    case "2":
      if (rest.startsWith("2006")) return { length: 4, element: (t) => pad(t.year, 4) };
      return { length: 1, element: (t) => String(t.day) };
    case "_":
      if (layout[i + 1] === "2") {
        // "_2006" is a literal "_" then the year.
        if (rest.startsWith("_2006")) return { length: 5, element: (t) => `_${pad(t.year, 4)}` };
        return { length: 2, element: (t) => String(t.day).padStart(2, " ") };
      }
      if (rest.startsWith("__2")) return { length: 3, element: (t) => String(t.yearDay).padStart(3, " ") };
      return undefined;
    case "3":
      return { length: 1, element: (t) => String(t.hour % 12 === 0 ? 12 : t.hour % 12) };
    case "4":
      return { length: 1, element: (t) => String(t.minute) };
    case "5":
      return { length: 1, element: (t) => String(t.second) };
    case "P":
      return layout[i + 1] === "M" ? { length: 2, element: (t) => (t.hour >= 12 ? "PM" : "AM") } : undefined;
    case "p":
      return layout[i + 1] === "m" ? { length: 2, element: (t) => (t.hour >= 12 ? "pm" : "am") } : undefined;
    case "-":
    case "Z": {
      const iso = c === "Z";
      const body = rest.slice(1);
      if (body.startsWith("070000")) return { length: 7, element: (t) => zone(t, iso, false, true, true) };
      if (body.startsWith("07:00:00")) return { length: 9, element: (t) => zone(t, iso, true, true, true) };
      if (body.startsWith("0700")) return { length: 5, element: (t) => zone(t, iso, false, true, false) };
      if (body.startsWith("07:00")) return { length: 6, element: (t) => zone(t, iso, true, true, false) };
      if (body.startsWith("07")) return { length: 3, element: (t) => zone(t, iso, false, false, false) };
      return undefined;
    }
    case ".":
    case ",": {
      const digit = layout[i + 1];
      if (digit !== "0" && digit !== "9") return undefined;
      let j = i + 1;
      while (layout[j] === digit) j++;
      // Only a run of one digit that the layout does not continue with another digit.
      if (/[0-9]/.test(layout[j] ?? "")) return undefined;
      const count = j - (i + 1);
      return { length: j - i, element: (t) => fraction(t, c, count, digit === "9") };
    }
    default:
      return undefined;
  }
}

/** Go's Time.Format(layout). */
export function goFormat(t: ZonedCivil, layout: string): string {
  let out = "";
  let i = 0;
  while (i < layout.length) {
    const found = elementAt(layout, i);
    if (found) {
      out += found.element(t);
      i += found.length;
    } else {
      out += layout[i];
      i++;
    }
  }
  return out;
}
