// Go's time layouts (time/format.go), read by time.format (time-format.ts) and time.parse_ns
// (time-parse.ts) alike: one tokenizer, so the two cannot disagree on what a layout means.

/** The token for the "_" of "_2006": a literal underscore before the year, not the `_2` element. */
export const LITERAL_UNDERSCORE = "_";

/**
 * The layout element at `i` (Go's nextStdChunk: longest first where one is the prefix of another),
 * or undefined where the character is literal. The "_" of "_2006" comes back as LITERAL_UNDERSCORE.
 */
export function layoutTokenAt(layout: string, i: number): string | undefined {
  const rest = layout.slice(i);
  const lower = (from: number): boolean => /^[a-z]/.test(rest.slice(from));
  switch (layout[i]) {
    case "J":
      if (rest.startsWith("January")) return "January";
      return rest.startsWith("Jan") && !lower(3) ? "Jan" : undefined;
    case "M":
      if (rest.startsWith("Monday")) return "Monday";
      if (rest.startsWith("Mon") && !lower(3)) return "Mon";
      return rest.startsWith("MST") ? "MST" : undefined;
    case "0":
      if (/^0[1-6]/.test(rest)) return rest.slice(0, 2);
      return rest.startsWith("002") ? "002" : undefined;
    case "1":
      return rest.startsWith("15") ? "15" : "1";
    case "2":
      return rest.startsWith("2006") ? "2006" : "2";
    case "_":
      if (rest.startsWith("_2")) return rest.startsWith("_2006") ? LITERAL_UNDERSCORE : "_2";
      return rest.startsWith("__2") ? "__2" : undefined;
    case "3":
    case "4":
    case "5":
      return layout[i];
    case "P":
      return rest.startsWith("PM") ? "PM" : undefined;
    case "p":
      return rest.startsWith("pm") ? "pm" : undefined;
    case "-":
    case "Z":
      for (const body of ["070000", "07:00:00", "0700", "07:00", "07"]) if (rest.slice(1).startsWith(body)) return rest.slice(0, body.length + 1);
      return undefined;
    case ".":
    case ",": {
      const digit = layout[i + 1];
      if (digit !== "0" && digit !== "9") return undefined;
      let j = i + 1;
      while (layout[j] === digit) j++;
      return /[0-9]/.test(layout[j] ?? "") ? undefined : layout.slice(i, j);
    }
    default:
      return undefined;
  }
}
