import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import { PolicyKernelError, errorMessage } from "../errors.js";
import { isErrno } from "./atomic-write.js";
import { FlightRecorderEntrySchema, describeIssue, type FlightRecorderEntry } from "./entries.js";
import { ChainCheck, fail, type VerifyFailure, type VerifyOptions, type VerifyResult } from "./verify.js";

// ---------------------------------------------------------------- JSON Lines

/** Parses JSON Lines text into entries (shape only; call verifyEntries for the chain); errors name line and field. */
export function parseJsonl(text: string, location: { file?: string } = {}): FlightRecorderEntry[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((line, i) => parseJsonlLine(line, i + 1, location.file));
}

/**
 * The entries of a JSON Lines log file, read line by line so a log of any length needs little
 * memory; errors as `readJsonl` (PolicyKernelError "invalid_input" naming file, line and field).
 */
export async function* streamJsonl(path: string): AsyncGenerator<FlightRecorderEntry, void, undefined> {
  let lineNumber = 0;
  for await (const line of jsonlLines(path)) yield parseJsonlLine(line, ++lineNumber, path);
}

/** One line's JSON value (a trailing "\r" dropped); an Error saying what is wrong with the line otherwise. */
function lineJson(text: string): unknown {
  const line = text.replace(/\r$/, "");
  if (line.trim() === "") throw new Error("empty line");
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new Error(`not valid JSON: ${errorMessage(error)}`, { cause: error });
  }
}

/** One line as an entry (shape only); PolicyKernelError "invalid_input" naming the line and field. */
function parseJsonlLine(text: string, lineNumber: number, file: string | undefined): FlightRecorderEntry {
  let raw: unknown;
  try {
    raw = lineJson(text);
  } catch (error) {
    throw new PolicyKernelError("invalid_input", errorMessage(error), { file, field: `line ${lineNumber}` }, { cause: error });
  }
  const parsed = FlightRecorderEntrySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = describeIssue(parsed.error, raw);
    throw new PolicyKernelError("invalid_input", issue.message, { file, field: `line ${lineNumber}: ${issue.field}`, expected: issue.expected });
  }
  // Keep the parsed JSON itself: zod strips unknown nested fields, which would change the hash.
  return raw as FlightRecorderEntry;
}

/** The lines of a file, read as a stream; PolicyKernelError "io_error" naming the file when it cannot be read. */
async function* jsonlLines(path: string): AsyncGenerator<string, void, undefined> {
  let input;
  try {
    // Opened first, so a missing file is an error here rather than inside the line reader.
    input = (await open(path, "r")).createReadStream({ encoding: "utf8" });
  } catch (error) {
    throw readError(path, error);
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) yield line;
  } catch (error) {
    throw readError(path, error);
  } finally {
    lines.close();
    // Also when the reader stops early: the file handle closes with its stream.
    input.destroy();
  }
}

/**
 * Verifies a JSON Lines log file (`jsonlPath` or `writeJsonl`) as verifyEntries does, reading it
 * line by line so a log of any length needs little memory. A line that is not JSON fails as
 * "invalid_entry" naming the line; an unreadable file is PolicyKernelError "io_error".
 */
export async function verifyJsonl(path: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const chain = new ChainCheck(options.start);
  for await (const step of chainWalk(path, chain)) if ("failure" in step) return step.failure;
  return chain.end(options);
}

/**
 * The entries of a JSON Lines log file, each yielded once the chain up to it verifies (as
 * verifyJsonl checks it), in one read of the file. A log that does not verify is PolicyKernelError
 * "invalid_input" naming the file and the failure; the expected count and head are checked only
 * after the last entry, so a caller that acts on each entry must undo that work when it throws
 * (exportJsonlSpans writes to a temporary file it renames only at the end).
 */
export async function* streamVerifiedJsonl(path: string, options: VerifyOptions = {}): AsyncGenerator<FlightRecorderEntry, void, undefined> {
  const chain = new ChainCheck(options.start);
  for await (const step of chainWalk(path, chain)) {
    if ("failure" in step) throw notVerified(path, step.failure);
    yield step.entry;
  }
  const end = chain.end(options);
  if (!end.valid) throw notVerified(path, end);
}

/** Each line checked against `chain`: its entry, or the failure (naming the line) that ends the walk. */
async function* chainWalk(path: string, chain: ChainCheck): AsyncGenerator<{ entry: FlightRecorderEntry } | { failure: VerifyFailure }, void, undefined> {
  let lineNumber = 0;
  for await (const line of jsonlLines(path)) {
    lineNumber++;
    let raw: unknown;
    try {
      raw = lineJson(line);
    } catch (error) {
      yield { failure: fail(lineNumber - 1, "invalid_entry", `line ${lineNumber}: ${errorMessage(error)}`) };
      return;
    }
    const failure = chain.next(raw);
    if (failure) {
      yield { failure: { ...failure, message: `line ${lineNumber}: ${failure.message}` } };
      return;
    }
    // The parsed JSON itself, as streamJsonl yields it (zod's output would drop unknown nested fields).
    yield { entry: raw as FlightRecorderEntry };
  }
}

function notVerified(path: string, failure: VerifyFailure): PolicyKernelError {
  return new PolicyKernelError("invalid_input", `the log does not verify: ${failure.reason}: ${failure.message}`, { file: path, expected: "an unbroken hash chain" });
}

function readError(path: string, error: unknown): PolicyKernelError {
  const message = isErrno(error, "ENOENT") ? "file not found" : `cannot read the file: ${errorMessage(error)}`;
  return new PolicyKernelError("io_error", message, { file: path }, { cause: error });
}

/** Reads a JSON Lines log written by `writeJsonl`; PolicyKernelError "invalid_input" names file, line and field. */
export async function readJsonl(path: string): Promise<FlightRecorderEntry[]> {
  const entries: FlightRecorderEntry[] = [];
  for await (const entry of streamJsonl(path)) entries.push(entry);
  return entries;
}
