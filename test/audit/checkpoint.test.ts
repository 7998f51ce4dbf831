// Signed checkpoints: the schedule, the key options, and the tamper matrix checked by verifyJsonl with the public key.
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  FlightRecorder,
  checkpointSignatureValid,
  generateTrailKeyPair,
  parseJsonl,
  parseTrail,
  readJsonl,
  readTrail,
  verifyEntries,
  verifyJsonl,
  type Checkpoint,
} from "../../src/audit/flight-recorder.js";
import { summarizeJsonl } from "../../src/audit/violation-summary.js";
import { ENTRIES, EVERY, TAMPER_CASES, forge, sealedTrail } from "../helpers/trail-tamper.js";

const FIXED_NOW = new Date("2026-11-23T10:00:00Z");

function record(recorder: FlightRecorder, count: number): void {
  for (let i = 0; i < count; i++) recorder.recordToolCall({ agentId: "a", tool: "t", args: { i } });
}

describe("checkpoints", () => {
  it("are written every N entries and at close, each covering every entry before it, signed by recorder.publicKey", () => {
    const recorder = new FlightRecorder({ chainId: "cp", clock: () => FIXED_NOW, checkpoints: { everyEntries: 4 } });
    record(recorder, 10);
    expect(recorder.checkpoints().map((c) => [c.count, c.prevCount, c.final])).toEqual([
      [4, null, false],
      [8, 4, false],
    ]);
    recorder.close();
    const all = recorder.checkpoints();
    expect(all.map((c) => [c.count, c.prevCount, c.final])).toEqual([
      [4, null, false],
      [8, 4, false],
      [10, 8, true],
    ]);
    expect(all.at(-1)?.head).toBe(recorder.head);
    for (const checkpoint of all) expect(checkpointSignatureValid(checkpoint, recorder.publicKey)).toBe(true);
    expect(recorder.verify()).toMatchObject({ valid: true, count: 10, checkpoints: 3, signedCount: 10, sealed: true, signaturesChecked: true, keyId: recorder.keyId });
    expect(recorder.checkpointedCount).toBe(10);
  });

  it("leave the entries, their hashes and the head alone: the same events under another key or schedule give the same entries", () => {
    const signed = new FlightRecorder({ chainId: "same", clock: () => FIXED_NOW, checkpoints: { everyEntries: 3 } });
    const unsigned = new FlightRecorder({ chainId: "same", clock: () => FIXED_NOW, checkpoints: false });
    record(signed, 20);
    record(unsigned, 20);
    signed.close();
    unsigned.close();
    expect(signed.head).toBe(unsigned.head);
    expect(parseJsonl(signed.toJsonl())).toEqual(parseJsonl(unsigned.toJsonl()));
    expect(signed.checkpoints()).toHaveLength(7);
    // `false` turns the periodic ones off; close still seals.
    expect(unsigned.checkpoints().map((c) => c.final)).toEqual([true]);
  });

  it("with a given key, replay byte for byte (Ed25519 signatures are deterministic)", () => {
    const { privateKey } = generateTrailKeyPair();
    const run = (): string => {
      const recorder = new FlightRecorder({ chainId: "replay", clock: () => FIXED_NOW, signingKey: privateKey, checkpoints: { everyEntries: 5 } });
      record(recorder, 12);
      recorder.close();
      return recorder.toJsonl();
    };
    expect(run()).toBe(run());
  });

  it("take the key as a KeyObject, PEM text or PEM file, and refuse any other kind of key naming the option", () => {
    const { privateKey, publicKey } = generateTrailKeyPair();
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const dir = sealedTrail().dir;
    const file = join(dir, "signing.pem");
    writeFileSync(file, pem);
    for (const signingKey of [privateKey, pem, file]) {
      const recorder = new FlightRecorder({ signingKey });
      expect(recorder.publicKey.equals(publicKey)).toBe(true);
      expect(recorder.publicKeyPem).toBe(publicKey.export({ type: "spki", format: "pem" }));
    }
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
    expect(() => new FlightRecorder({ signingKey: rsa })).toThrow(/signingKey: a rsa private key was given \(expected an Ed25519 private key/);
    expect(() => new FlightRecorder({ signingKey: publicKey })).toThrow(/signingKey: a ed25519 public key was given/);
    expect(() => new FlightRecorder({ signingKey: join(dir, "missing.pem") })).toThrow(/missing\.pem.*cannot read the key file/);
    expect(() => new FlightRecorder({ signingKey: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n" })).toThrow(/signingKey: not a private key/);
    expect(() => new FlightRecorder({ checkpoints: { everyEntries: -1 } })).toThrow(/checkpoints/);
  });

  it("with a file, are written within everyMs of an entry even when the writer goes quiet, and synced", async () => {
    const trail = sealedTrail();
    const path = join(trail.dir, "timed.jsonl");
    const recorder = new FlightRecorder({ chainId: "timed", jsonlPath: path, checkpoints: { everyEntries: 0, everyMs: 50 } });
    record(recorder, 3);
    expect(recorder.checkpoints()).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(recorder.checkpoints().map((c) => c.count)).toEqual([3]);
    // On disk already (the checkpoint flushed the file), before any close.
    expect(await verifyJsonl(path, { publicKey: recorder.publicKey })).toMatchObject({ valid: true, count: 3, signedCount: 3, sealed: false });
    recorder.close();
    expect(await verifyJsonl(path, { publicKey: recorder.publicKeyPem, requireSealed: true })).toMatchObject({ valid: true, sealed: true });
  });

  it("recorder.checkpoint() writes one on demand, only when there is something new", () => {
    const recorder = new FlightRecorder({ checkpoints: false });
    record(recorder, 2);
    expect(recorder.checkpoint()?.count).toBe(2);
    expect(recorder.checkpoint()).toBeUndefined();
    recorder.close();
    expect(() => recorder.checkpoint()).toThrow(/closed/);
  });

  it("are skipped by the entry readers, kept by readTrail/parseTrail, and do not count in summaries", async () => {
    const trail = sealedTrail();
    expect(await readJsonl(trail.path)).toHaveLength(ENTRIES);
    const lines = await readTrail(trail.path);
    expect(lines.filter((l) => l.type === "checkpoint")).toHaveLength(ENTRIES / EVERY + 1);
    expect(parseTrail(readFileSync(trail.path, "utf8"))).toEqual(lines);
    expect(verifyEntries(lines, { publicKey: trail.publicKeyPem })).toMatchObject({ valid: true, sealed: true, count: ENTRIES });
    expect((await summarizeJsonl(trail.path)).totalEntries).toBe(ENTRIES);
  });
});

describe("the tamper matrix: every change an attacker without the key can make is found with the public key", () => {
  const trail = sealedTrail();

  it("the untouched trail verifies and is sealed", async () => {
    expect(await verifyJsonl(trail.path, { publicKey: trail.publicKeyPath })).toMatchObject({
      valid: true,
      count: ENTRIES,
      checkpoints: ENTRIES / EVERY + 1,
      signedCount: ENTRIES,
      sealed: true,
      signaturesChecked: true,
    });
  });

  it.each(TAMPER_CASES.map((c) => [c.name, c] as const))("%s", async (name, tamper) => {
    const path = join(trail.dir, `${name.replace(/\W+/g, "-")}.jsonl`);
    writeFileSync(path, tamper.text(trail));
    const result = await verifyJsonl(path, { publicKey: trail.publicKeyPem });
    if (tamper.expect.status === "broken") {
      expect(result).toMatchObject({ valid: false, index: tamper.expect.line - 1, reason: tamper.expect.reason, message: expect.stringMatching(new RegExp(`^line ${tamper.expect.line}: `)) });
    } else {
      expect(result).toMatchObject({ valid: true, sealed: false, signedCount: tamper.expect.signed, ...(tamper.expect.torn === undefined ? {} : { tornLine: tamper.expect.torn }) });
      expect(result.valid && result.tornLine).toBe(tamper.expect.torn ?? undefined);
      // What a consumer that needs the whole trail asks for: a failure naming why.
      expect(await verifyJsonl(path, { publicKey: trail.publicKeyPem, requireSealed: true })).toMatchObject({ valid: false, reason: "unsealed" });
    }
  });

  it("without the public key only the checkpoints' places are checked: a re-signed forgery passes, which is why verify needs the key", async () => {
    const path = join(trail.dir, "forged-unchecked.jsonl");
    writeFileSync(path, `${forge(trail.lines).join("\n")}\n`);
    expect(await verifyJsonl(path)).toMatchObject({ valid: true, sealed: true, signaturesChecked: false });
    expect(await verifyJsonl(path, { publicKey: trail.publicKeyPem })).toMatchObject({ valid: false, reason: "signature_mismatch" });
  });

  it("a checkpoint with a malformed signature or an extra member is an invalid line", async () => {
    const checkpoint = JSON.parse(trail.lines[10]!) as Checkpoint;
    for (const [name, changed] of [
      ["short-signature", { ...checkpoint, signature: "AAAA" }],
      ["extra-member", { ...checkpoint, note: "x" }],
    ] as const) {
      const path = join(trail.dir, `${name}.jsonl`);
      writeFileSync(path, `${[...trail.lines.slice(0, 10), JSON.stringify(changed), ...trail.lines.slice(11)].join("\n")}\n`);
      expect(await verifyJsonl(path, { publicKey: trail.publicKeyPem })).toMatchObject({
        valid: false,
        index: 10,
        reason: "invalid_entry",
        message: expect.stringMatching(name === "extra-member" ? /^line 11: checkpoint: note: Unrecognized key/ : /^line 11: checkpoint: signature: an Ed25519 signature in base64/),
      });
    }
  });
});
