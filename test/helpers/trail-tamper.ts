// A sealed trail on disk and the ways an attacker who can write the file (but not the signing key)
// would alter it: the tamper matrix the verifier and `policy-kernel verify` are tested against.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlightRecorder, computeEntryHash, generateTrailKeyPair, signCheckpoint, trailKeyId, type Checkpoint } from "../../src/audit/flight-recorder.js";
import { GENESIS_HASH } from "../../src/audit/entries.js";
import { canonicalJson } from "../../src/canonical-json.js";

export const ENTRIES = 40;
export const EVERY = 10;

export interface Trail {
  readonly dir: string;
  readonly path: string;
  /** The file's lines, without the final "" after the last newline. */
  readonly lines: readonly string[];
  readonly publicKeyPem: string;
  readonly publicKeyPath: string;
}

/**
 * 40 tool-call entries with a checkpoint after every 10 and the final one: lines 1-10 entries 0-9,
 * 11 checkpoint 10, 12-21, 22 checkpoint 20, 23-32, 33 checkpoint 30, 34-43, 44 checkpoint 40, 45 final.
 */
export function sealedTrail(): Trail {
  const dir = mkdtempSync(join(tmpdir(), "pk-tamper-"));
  const path = join(dir, "audit.jsonl");
  const recorder = new FlightRecorder({ chainId: "tamper", clock: () => new Date("2026-11-23T10:00:00Z"), jsonlPath: path, checkpoints: { everyEntries: EVERY, everyMs: 0 } });
  for (let i = 0; i < ENTRIES; i++) recorder.recordToolCall({ agentId: `agent-${i % 3}`, tool: "sql", args: { sql: `SELECT ${i}` }, result: { rows: i } });
  recorder.close();
  const publicKeyPath = join(dir, "trainer-key.pub");
  writeFileSync(publicKeyPath, recorder.publicKeyPem);
  const lines = readFileSync(path, "utf8").split("\n").slice(0, -1);
  return { dir, path, lines, publicKeyPem: recorder.publicKeyPem, publicKeyPath };
}

type Raw = Record<string, unknown>;

/** Re-links every entry (seq, prevHash, hash) in order from genesis, as an attacker without the key can; checkpoints are left as they are. */
export function rehash(lines: readonly string[]): string[] {
  let previous = GENESIS_HASH;
  let seq = 0;
  return lines.map((line) => {
    const raw = JSON.parse(line) as Raw;
    if (raw["type"] === "checkpoint") return line;
    const entry: Raw = { ...raw, seq: seq++, prevHash: previous };
    entry["hash"] = computeEntryHash(entry);
    previous = entry["hash"] as string;
    return canonicalJson(entry);
  });
}

/** Re-links the entries and re-signs every checkpoint with a key of the attacker's own (its keyId claimed as `claimKeyId`, if given). */
export function forge(lines: readonly string[], claimKeyId?: string): string[] {
  const attacker = generateTrailKeyPair();
  const keyId = claimKeyId ?? trailKeyId(attacker.publicKey);
  let count = 0;
  let head = GENESIS_HASH;
  let prevCount: number | null = null;
  return rehash(lines).map((line) => {
    const raw = JSON.parse(line) as Raw;
    if (raw["type"] !== "checkpoint") {
      count++;
      head = raw["hash"] as string;
      return line;
    }
    const unsigned = { type: "checkpoint" as const, chainId: raw["chainId"] as string, count, head, prevCount, final: raw["final"] as boolean, keyId };
    prevCount = count;
    return canonicalJson(signCheckpoint(unsigned, attacker.privateKey) satisfies Checkpoint);
  });
}

/** The lines (real checkpoints kept) followed by a final checkpoint over all their entries, signed with an attacker's key. */
export function withForgedFinal(lines: readonly string[], claimKeyId?: string): string[] {
  const attacker = generateTrailKeyPair();
  const entries = lines.map((l) => JSON.parse(l) as Raw).filter((raw) => raw["type"] !== "checkpoint");
  const last = [...lines].reverse().map((l) => JSON.parse(l) as Raw).find((raw) => raw["type"] === "checkpoint");
  const unsigned = {
    type: "checkpoint" as const,
    chainId: entries[0]!["chainId"] as string,
    count: entries.length,
    head: entries.at(-1)!["hash"] as string,
    prevCount: (last?.["count"] as number | undefined) ?? null,
    final: true,
    keyId: claimKeyId ?? trailKeyId(attacker.publicKey),
  };
  return [...lines, canonicalJson(signCheckpoint(unsigned, attacker.privateKey))];
}

/** An entry line with `agentId` changed. */
export function edited(line: string, agentId = "mallory"): string {
  return canonicalJson({ ...(JSON.parse(line) as Raw), agentId });
}

export interface TamperCase {
  readonly name: string;
  /** The tampered file's text. */
  readonly text: (trail: Trail) => string;
  /** What verify must say: broken at this 1-based line for this reason, or unsealed with this many entries signed. */
  readonly expect: { readonly status: "broken"; readonly line: number; readonly reason: string } | { readonly status: "unsealed"; readonly signed: number; readonly torn?: number };
}

const text = (lines: readonly string[]): string => `${lines.join("\n")}\n`;
const without = (lines: readonly string[], ...numbers: number[]): string[] => lines.filter((_, i) => !numbers.includes(i + 1));

/** Every tampering of the matrix, each with the first bad line (1-based) or the seal verify must report. */
export const TAMPER_CASES: readonly TamperCase[] = [
  { name: "edit a field of an entry", text: (t) => text(t.lines.map((l, i) => (i === 16 ? edited(l) : l))), expect: { status: "broken", line: 17, reason: "hash_mismatch" } },
  {
    name: "edit a field and re-hash the chain from there",
    text: (t) => text(rehash(t.lines.map((l, i) => (i === 16 ? edited(l) : l)))),
    expect: { status: "broken", line: 22, reason: "checkpoint_mismatch" },
  },
  { name: "delete an entry line", text: (t) => text(without(t.lines, 5)), expect: { status: "broken", line: 5, reason: "seq_mismatch" } },
  { name: "delete an entry line and re-hash", text: (t) => text(rehash(without(t.lines, 5))), expect: { status: "broken", line: 10, reason: "checkpoint_mismatch" } },
  { name: "delete a checkpoint line", text: (t) => text(without(t.lines, 22)), expect: { status: "broken", line: 32, reason: "checkpoint_mismatch" } },
  {
    name: "swap two entry lines",
    text: (t) => text(t.lines.map((l, i) => (i === 2 ? t.lines[3]! : i === 3 ? t.lines[2]! : l))),
    expect: { status: "broken", line: 3, reason: "seq_mismatch" },
  },
  {
    name: "swap two entry lines and re-hash",
    text: (t) => text(rehash(t.lines.map((l, i) => (i === 2 ? t.lines[3]! : i === 3 ? t.lines[2]! : l)))),
    expect: { status: "broken", line: 11, reason: "checkpoint_mismatch" },
  },
  {
    name: "move a checkpoint one line later",
    text: (t) => text(t.lines.map((l, i) => (i === 10 ? t.lines[11]! : i === 11 ? t.lines[10]! : l))),
    expect: { status: "broken", line: 12, reason: "checkpoint_mismatch" },
  },
  {
    name: "duplicate an entry line with re-hash",
    text: (t) => text(rehash([...t.lines.slice(0, 5), t.lines[4]!, ...t.lines.slice(5)])),
    expect: { status: "broken", line: 12, reason: "checkpoint_mismatch" },
  },
  { name: "duplicate a checkpoint line", text: (t) => text([...t.lines.slice(0, 11), t.lines[10]!, ...t.lines.slice(11)]), expect: { status: "broken", line: 12, reason: "checkpoint_mismatch" } },
  { name: "truncate at an entry", text: (t) => text(t.lines.slice(0, 27)), expect: { status: "unsealed", signed: 20 } },
  { name: "truncate at a checkpoint", text: (t) => text(t.lines.slice(0, 33)), expect: { status: "unsealed", signed: 30 } },
  { name: "truncate before the final checkpoint", text: (t) => text(t.lines.slice(0, 44)), expect: { status: "unsealed", signed: 40 } },
  {
    name: "truncate mid-line",
    text: (t) => `${t.lines.slice(0, 29).join("\n")}\n${t.lines[29]!.slice(0, 40)}`,
    expect: { status: "unsealed", signed: 20, torn: 30 },
  },
  { name: "truncate mid-way through the final checkpoint", text: (t) => `${t.lines.slice(0, 44).join("\n")}\n${t.lines[44]!.slice(0, 60)}`, expect: { status: "unsealed", signed: 40, torn: 45 } },
  {
    name: "append re-hashed entries after the final checkpoint",
    text: (t) => text(rehash([...t.lines, t.lines[0]!, t.lines[1]!])),
    expect: { status: "broken", line: 46, reason: "after_final_checkpoint" },
  },
  {
    name: "append re-hashed entries in place of the final checkpoint",
    text: (t) => text(rehash([...t.lines.slice(0, 44), t.lines[0]!, t.lines[1]!])),
    expect: { status: "unsealed", signed: 40 },
  },
  {
    name: "append an entry and a final checkpoint signed with another key",
    text: (t) => text(withForgedFinal(rehash([...t.lines.slice(0, 44), t.lines[0]!]))),
    expect: { status: "broken", line: 46, reason: "signature_mismatch" },
  },
  {
    name: "the same, the forged checkpoint claiming the real key id",
    text: (t) => text(withForgedFinal(rehash([...t.lines.slice(0, 44), t.lines[0]!]), (JSON.parse(t.lines[10]!) as Raw)["keyId"] as string)),
    expect: { status: "broken", line: 46, reason: "signature_mismatch" },
  },
  {
    name: "a wholly forged chain, re-hashed from genesis and re-signed with another key",
    text: (t) => text(forge(t.lines.map((l, i) => (i < 43 && !l.includes('"type":"checkpoint"') ? edited(l) : l)))),
    expect: { status: "broken", line: 11, reason: "signature_mismatch" },
  },
  {
    name: "a forged chain re-signed with another key claiming the real key id",
    text: (t) => text(forge(t.lines.map((l, i) => (i === 0 ? edited(l) : l)), (JSON.parse(t.lines[10]!) as Raw)["keyId"] as string)),
    expect: { status: "broken", line: 11, reason: "signature_mismatch" },
  },
  {
    name: "a forged chain with every checkpoint removed",
    text: (t) => text(rehash(t.lines.filter((l) => !l.includes('"type":"checkpoint"')).map((l) => edited(l)))),
    expect: { status: "unsealed", signed: 0 },
  },
  {
    // JSON.parse keeps the last "agentId" (the honest one, so the hash matches); a first-wins reader sees "mallory".
    name: "a duplicate key in an entry",
    text: (t) => text(t.lines.map((l, i) => (i === 6 ? l.replace('"agentId":', '"agentId":"mallory","agentId":') : l))),
    expect: { status: "broken", line: 7, reason: "invalid_entry" },
  },
  {
    name: "a duplicate key nested in an entry, spelt with an escape",
    text: (t) => text(t.lines.map((l, i) => (i === 6 ? l.replace('"args":{"sql":', '"args":{"\\u0073ql":"DROP TABLE users","sql":') : l))),
    expect: { status: "broken", line: 7, reason: "invalid_entry" },
  },
  {
    name: "a duplicate key in a checkpoint",
    text: (t) => text(t.lines.map((l, i) => (i === 21 ? l.replace('"final":false', '"final":true,"final":false') : l))),
    expect: { status: "broken", line: 22, reason: "invalid_entry" },
  },
];
