import { open } from "node:fs/promises";
import { PolicyKernelError, errorMessage } from "../errors.js";
import { isErrno } from "./atomic-write.js";
import { CheckpointSchema, type Checkpoint } from "./checkpoint.js";
import { FlightRecorderEntrySchema, describeIssue, type FlightRecorderEntry } from "./entries.js";
import { parseStrictJson } from "./strict-json.js";
import { ChainCheck, fail, isCheckpointLine, type VerifyFailure, type VerifyOptions, type VerifyResult } from "./verify.js";

// ---------------------------------------------------------------- JSON Lines

/** One line of a trail file: an entry or a signed checkpoint. */
export type TrailLine = FlightRecorderEntry | Checkpoint;

/**
 * Parses JSON Lines text into entries (shape only; call verifyEntries for the chain); errors name
 * line and field. Checkpoint lines are checked for shape and left out (parseTrail keeps them).
 */
export function parseJsonl(text: string, location: { file?: string } = {}): FlightRecorderEntry[] {
  return parseTrail(text, location).filter((line): line is FlightRecorderEntry => line.type !== "checkpoint");
}

/** Parses JSON Lines text into its entries and checkpoints, in order (verifyEntries checks them all). */
export function parseTrail(text: string, location: { file?: string } = {}): TrailLine[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((line, i) => parseTrailLine(line, i + 1, location.file));
}

/**
 * The entries of a JSON Lines log file, read line by line so a log of any length needs little
 * memory; errors as `readJsonl` (PolicyKernelError "invalid_input" naming file, line and field).
 * Checkpoint lines are checked for shape and skipped.
 */
export async function* streamJsonl(path: string): AsyncGenerator<FlightRecorderEntry, void, undefined> {
  let lineNumber = 0;
  for await (const { text } of jsonlLines(path)) {
    const line = parseTrailLine(text, ++lineNumber, path);
    if (line.type !== "checkpoint") yield line;
  }
}

/**
 * One line's JSON value (a trailing "\r" dropped); an Error saying what is wrong with the line
 * otherwise, a duplicate member name at any depth included (parseStrictJson).
 */
function lineJson(text: string): unknown {
  const line = text.replace(/\r$/, "");
  if (line.trim() === "") throw new Error("empty line");
  return parseStrictJson(line);
}

/** One line as an entry or checkpoint (shape only); PolicyKernelError "invalid_input" naming the line and field. */
function parseTrailLine(text: string, lineNumber: number, file: string | undefined): TrailLine {
  let raw: unknown;
  try {
    raw = lineJson(text);
  } catch (error) {
    throw new PolicyKernelError("invalid_input", errorMessage(error), { file, field: `line ${lineNumber}` }, { cause: error });
  }
  const parsed = isCheckpointLine(raw) ? CheckpointSchema.safeParse(raw) : FlightRecorderEntrySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = describeIssue(parsed.error, raw);
    throw new PolicyKernelError("invalid_input", issue.message, { file, field: `line ${lineNumber}: ${issue.field}`, expected: issue.expected });
  }
  // Keep the parsed JSON itself: zod strips unknown nested fields, which would change the hash.
  return raw as TrailLine;
}

/**
 * The lines of a file, read as a stream, each with whether a newline ended it (only the last one
 * can lack it: a write cut short); PolicyKernelError "io_error" naming the file when it cannot be read.
 */
async function* jsonlLines(path: string): AsyncGenerator<{ readonly text: string; readonly ended: boolean }, void, undefined> {
  let input;
  try {
    // Opened first, so a missing file is an error here rather than inside the reader.
    input = (await open(path, "r")).createReadStream({ encoding: "utf8" });
  } catch (error) {
    throw readError(path, error);
  }
  let rest = "";
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      let from = 0;
      for (let at = chunk.indexOf("\n"); at >= 0; at = chunk.indexOf("\n", from)) {
        const text = rest + chunk.slice(from, at);
        rest = "";
        from = at + 1;
        yield { text, ended: true };
      }
      rest += chunk.slice(from);
    }
  } catch (error) {
    throw readError(path, error);
  } finally {
    // Also when the reader stops early: the file handle closes with its stream.
    input.destroy();
  }
  if (rest !== "") yield { text: rest, ended: false };
}

/**
 * Verifies a JSON Lines trail file (`jsonlPath` or `writeJsonl`) as verifyEntries does, reading it
 * line by line so a log of any length needs little memory: the chain, every checkpoint (signatures
 * too, given `publicKey`) and no duplicate member names. A line that is not JSON fails as
 * "invalid_entry" naming the line, except an incomplete last line (no newline: a write cut short
 * by a crash), which is reported as `tornLine` of an unsealed trail. An unreadable file is
 * PolicyKernelError "io_error".
 */
export async function verifyJsonl(path: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const chain = new ChainCheck(options);
  let torn: number | undefined;
  for await (const step of chainWalk(path, chain)) {
    if ("failure" in step) return step.failure;
    if ("torn" in step) torn = step.torn;
  }
  return chain.end(options, torn);
}

/**
 * The entries of a JSON Lines log file, each yielded once the chain up to it verifies (as
 * verifyJsonl checks it), in one read of the file. A log that does not verify is PolicyKernelError
 * "invalid_input" naming the file and the failure; the expected count and head (and the seal,
 * with `requireSealed`) are checked only after the last entry, so a caller that acts on each entry
 * must undo that work when it throws (exportJsonlSpans writes to a temporary file it renames only at the end).
 */
export async function* streamVerifiedJsonl(path: string, options: VerifyOptions = {}): AsyncGenerator<FlightRecorderEntry, void, undefined> {
  const chain = new ChainCheck(options);
  let torn: number | undefined;
  for await (const step of chainWalk(path, chain)) {
    if ("failure" in step) throw notVerified(path, step.failure);
    if ("torn" in step) torn = step.torn;
    else yield step.entry;
  }
  const end = chain.end(options, torn);
  if (!end.valid) throw notVerified(path, end);
}

type WalkStep = { readonly entry: FlightRecorderEntry } | { readonly failure: VerifyFailure } | { readonly torn: number };

/** Each line checked against `chain`: its entry, a torn last line, or the failure (naming the line) that ends the walk. */
async function* chainWalk(path: string, chain: ChainCheck): AsyncGenerator<WalkStep, void, undefined> {
  let lineNumber = 0;
  for await (const { text, ended } of jsonlLines(path)) {
    lineNumber++;
    let raw: unknown;
    try {
      raw = lineJson(text);
    } catch (error) {
      // The writer ends every line with a newline: a last line without one that does not parse
      // was being written when the process died. Not a break, but nothing after the last checkpoint is sealed.
      if (!ended && !chain.sealed) {
        yield { torn: lineNumber };
        return;
      }
      yield { failure: fail(lineNumber - 1, chain.sealed ? "after_final_checkpoint" : "invalid_entry", `line ${lineNumber}: ${errorMessage(error)}`) };
      return;
    }
    const failure = chain.next(raw);
    if (failure) {
      yield { failure: { ...failure, message: `line ${lineNumber}: ${failure.message}` } };
      return;
    }
    // The parsed JSON itself, as streamJsonl yields it (zod's output would drop unknown nested fields).
    if (!isCheckpointLine(raw)) yield { entry: raw as FlightRecorderEntry };
  }
}

function notVerified(path: string, failure: VerifyFailure): PolicyKernelError {
  return new PolicyKernelError("invalid_input", `the log does not verify: ${failure.reason}: ${failure.message}`, { file: path, expected: "an unbroken hash chain with signed checkpoints" });
}

function readError(path: string, error: unknown): PolicyKernelError {
  const message = isErrno(error, "ENOENT") ? "file not found" : `cannot read the file: ${errorMessage(error)}`;
  return new PolicyKernelError("io_error", message, { file: path }, { cause: error });
}

/** Reads a JSON Lines log written by `writeJsonl` (its entries; checkpoints checked for shape and left out); errors name file, line and field. */
export async function readJsonl(path: string): Promise<FlightRecorderEntry[]> {
  const entries: FlightRecorderEntry[] = [];
  for await (const entry of streamJsonl(path)) entries.push(entry);
  return entries;
}

/** Reads a trail file's entries and checkpoints in order (for verifyEntries with a public key); errors as readJsonl. */
export async function readTrail(path: string): Promise<TrailLine[]> {
  const lines: TrailLine[] = [];
  let lineNumber = 0;
  for await (const { text } of jsonlLines(path)) lines.push(parseTrailLine(text, ++lineNumber, path));
  return lines;
}
