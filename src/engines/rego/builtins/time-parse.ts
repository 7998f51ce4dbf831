// Go's time.Parse(layout, value) as OPA's time.parse_ns uses it, for the layout elements of
// time-format.ts. Returns nanoseconds since the epoch, or undefined where Go returns an error
// (OPA's call is then undefined). A zone abbreviation (MST) is refused by the caller.

import { LITERAL_UNDERSCORE, layoutTokenAt as tokenAt } from "./time-layout.js";

const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/** The next layout element at or after `from` (Go's nextStdChunk of the rest of the layout). */
function nextToken(layout: string, from: number): string | undefined {
  for (let j = from; j < layout.length; j++) {
    const token = tokenAt(layout, j);
    if (token !== undefined && token !== LITERAL_UNDERSCORE) return token;
  }
  return undefined;
}


/** Go's skip: literal text, where a run of spaces in the layout matches a run of spaces in the value. */
function skip(value: string, prefix: string): string | undefined {
  let v = value;
  let p = prefix;
  while (p.length > 0) {
    if (p[0] === " ") {
      if (v.length > 0 && v[0] !== " ") return undefined;
      p = p.replace(/^ +/, "");
      v = v.replace(/^ +/, "");
      continue;
    }
    if (v.length === 0 || v[0] !== p[0]) return undefined;
    p = p.slice(1);
    v = v.slice(1);
  }
  return v;
}

/** Go's getnum (fixed: exactly two digits) and getnum3. */
function number(value: string, min: number, max: number): [number, string] | undefined {
  const match = new RegExp(`^\\d{${min},${max}}`).exec(value);
  if (!match) return undefined;
  return [Number(match[0]), value.slice(match[0].length)];
}

function lookup(names: readonly string[], value: string, short: boolean): [number, string] | undefined {
  for (let index = 0; index < names.length; index++) {
    const name = short ? (names[index] ?? "").slice(0, 3) : (names[index] ?? "");
    if (value.slice(0, name.length).toLowerCase() === name) return [index, value.slice(name.length)];
  }
  return undefined;
}

/** Go's parseNanoseconds of ".ddd" (or ",ddd"): at most nine digits count. */
function nanosOf(digits: string): number {
  return Number(digits.slice(0, 9).padEnd(9, "0"));
}

/** `time.Parse(layout, value)` in nanoseconds since the epoch; undefined on Go's errors. Throws for MST. */
export function goParse(layout: string, input: string, refuse: (what: string) => Error): bigint | undefined {
  let value = input;
  let year = 1;
  let month = -1;
  let day = -1;
  let yday = -1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nanos = 0;
  let pmSet = false;
  let amSet = false;
  let offset: number | undefined;
  let literal = "";
  let i = 0;
  const step = (token: string): boolean => {
    const take = (parsed: [number, string] | undefined, set: (n: number) => void): boolean => {
      if (!parsed) return false;
      set(parsed[0]);
      value = parsed[1];
      return true;
    };
    switch (token) {
      case "2006":
        if (value.length < 4 || !/^\d{4}/.test(value)) return false;
        year = Number(value.slice(0, 4));
        value = value.slice(4);
        return true;
      case "06":
        return take(number(value, 2, 2), (n) => (year = n >= 69 ? 1900 + n : 2000 + n));
      case "January":
        return take(lookup(MONTHS, value, false), (n) => (month = n + 1));
      case "Jan":
        return take(lookup(MONTHS, value, true), (n) => (month = n + 1));
      case "Monday":
        return take(lookup(DAYS, value, false), () => undefined);
      case "Mon":
        return take(lookup(DAYS, value, true), () => undefined);
      case "01":
        return take(number(value, 2, 2), (n) => (month = n)) && month >= 1 && month <= 12;
      case "1":
        return take(number(value, 1, 2), (n) => (month = n)) && month >= 1 && month <= 12;
      case "_2":
        if (value.startsWith(" ")) value = value.slice(1);
        return take(number(value, 1, 2), (n) => (day = n));
      case "02":
        return take(number(value, 2, 2), (n) => (day = n));
      case "2":
        return take(number(value, 1, 2), (n) => (day = n));
      case "__2":
        if (value.startsWith("  ")) value = value.slice(2);
        else if (value.startsWith(" ")) value = value.slice(1);
        return take(number(value, 1, 3), (n) => (yday = n)) && yday >= 1 && yday <= 366;
      case "002":
        return take(number(value, 3, 3), (n) => (yday = n)) && yday >= 1 && yday <= 366;
      case "15":
        return take(number(value, 1, 2), (n) => (hour = n)) && hour < 24;
      case "03":
        return take(number(value, 2, 2), (n) => (hour = n)) && hour <= 12;
      case "3":
        return take(number(value, 1, 2), (n) => (hour = n)) && hour <= 12;
      case "04":
        return take(number(value, 2, 2), (n) => (minute = n)) && minute < 60;
      case "4":
        return take(number(value, 1, 2), (n) => (minute = n)) && minute < 60;
      case "05":
      case "5": {
        if (!take(number(value, token === "05" ? 2 : 1, 2), (n) => (second = n)) || second >= 60) return false;
        // Go: a fraction after the seconds is read even when the layout has none there.
        const next = nextToken(layout, i);
        const fraction = /^[.,](\d+)/.exec(value);
        if (fraction && !(next && /^[.,][09]/.test(next))) {
          nanos = nanosOf(fraction[1] ?? "");
          value = value.slice(fraction[0].length);
        }
        return true;
      }
      case "PM":
        if (value.startsWith("PM")) pmSet = true;
        else if (value.startsWith("AM")) amSet = true;
        else return false;
        value = value.slice(2);
        return true;
      case "pm":
        if (value.startsWith("pm")) pmSet = true;
        else if (value.startsWith("am")) amSet = true;
        else return false;
        value = value.slice(2);
        return true;
      case "MST":
        throw refuse("the MST element (a zone abbreviation)");
      default:
        break;
    }
    if (token.startsWith("-") || token.startsWith("Z")) {
      if (token.startsWith("Z") && value.startsWith("Z")) {
        value = value.slice(1);
        offset = 0;
        return true;
      }
      const body = token.slice(1);
      const shapes: Readonly<Record<string, RegExp>> = {
        "070000": /^([+-])(\d\d)(\d\d)(\d\d)/,
        "07:00:00": /^([+-])(\d\d):(\d\d):(\d\d)/,
        "0700": /^([+-])(\d\d)(\d\d)/,
        "07:00": /^([+-])(\d\d):(\d\d)/,
        "07": /^([+-])(\d\d)/,
      };
      const match = shapes[body]?.exec(value);
      if (!match) return false;
      const [hh, mm, ss] = [Number(match[2]), Number(match[3] ?? 0), Number(match[4] ?? 0)];
      if (hh > 24 || mm > 60 || ss > 60) return false;
      offset = (match[1] === "-" ? -1 : 1) * (hh * 3600 + mm * 60 + ss);
      value = value.slice(match[0].length);
      return true;
    }
    // A fraction element: .000 needs exactly that many digits; .999 takes what is there.
    const digits = token.length - 1;
    if (token[1] === "0") {
      const match = new RegExp(`^[.,](\\d{${digits}})`).exec(value);
      if (!match) return false;
      nanos = nanosOf(match[1] ?? "");
      value = value.slice(match[0].length);
      return true;
    }
    const match = /^[.,](\d+)/.exec(value);
    if (match) {
      nanos = nanosOf(match[1] ?? "");
      value = value.slice(match[0].length);
    }
    return true;
  };
  while (i < layout.length) {
    const token = tokenAt(layout, i);
    if (token === undefined || token === LITERAL_UNDERSCORE) {
      literal += layout[i];
      i++;
      continue;
    }
    const rest = skip(value, literal);
    if (rest === undefined) return undefined;
    value = rest;
    literal = "";
    i += token.length;
    if (!step(token)) return undefined;
  }
  const rest = skip(value, literal);
  if (rest === undefined || rest !== "") return undefined;
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  if (yday >= 0) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    if (yday > (leap ? 366 : 365)) return undefined;
    const date = new Date(0);
    date.setUTCFullYear(year, 0, yday);
    if (month >= 0 && month !== date.getUTCMonth() + 1) return undefined;
    if (day >= 0 && day !== date.getUTCDate()) return undefined;
    month = date.getUTCMonth() + 1;
    day = date.getUTCDate();
  }
  if (month < 0) month = 1;
  if (day < 0) day = 1;
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0) ? 1 : 0);
  if (day < 1 || day > daysInMonth) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const seconds = BigInt(date.getTime() / 1000 - (offset ?? 0));
  return seconds * 1_000_000_000n + BigInt(nanos);
}
