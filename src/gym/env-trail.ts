import { writeFileSync } from "node:fs";
import { z } from "zod";
import { FlightRecorder } from "../audit/flight-recorder.js";
import { toSigningKey } from "../audit/checkpoint.js";
import { verifyJsonl } from "../audit/jsonl.js";
import { PolicyKernelError, fromZodError } from "../errors.js";

/** Audit entries of a hosted env get this fixed time (as the demo's), so a trail replays byte for byte. */
export const ENV_TRAIL_EPOCH = new Date("2026-01-05T00:00:00Z");

/** A signed checkpoint every this many entries, by count only (a time trigger would differ between runs). */
export const ENV_TRAIL_CHECKPOINT_EVERY = 200;

/**
 * Where a hosted env keeps its trail: `path` streams JSON Lines to that new file (its public key is
 * written beside it as `<path>.pub`), `chainId` names the chain, `signingKey` is the path of an
 * Ed25519 PKCS#8 PEM file the checkpoints are signed with (a new key per trail when absent).
 */
export const EnvTrailOptionsSchema = z.strictObject({
  path: z.string().min(1).max(4096).optional(),
  chainId: z.string().min(1).max(1024).optional(),
  signingKey: z.string().min(1).max(4096).optional(),
});
/** Options of `createEnvTrail`. */
export type EnvTrailOptions = z.infer<typeof EnvTrailOptionsSchema>;

/** Newest entries a streamed env trail keeps in memory (the file has them all). */
const STREAMED_RETAIN = 10_000;

/**
 * One env's FlightRecorder: fixed clock, a checkpoint every 200 entries, `chainId` as given
 * (else `fallbackChainId`). Throws `invalid_config` naming the field for bad options.
 */
export function createEnvTrail(input: unknown, fallbackChainId: string, root = "trail"): FlightRecorder {
  const parsed = EnvTrailOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) throw fromZodError("invalid_config", parsed.error, { root });
  const options = parsed.data;
  const signingKey = options.signingKey === undefined ? undefined : toSigningKey(options.signingKey, `${root}.signingKey`);
  const recorder = new FlightRecorder({
    chainId: options.chainId ?? fallbackChainId,
    clock: () => ENV_TRAIL_EPOCH,
    checkpoints: { everyEntries: ENV_TRAIL_CHECKPOINT_EVERY, everyMs: 0 },
    ...(signingKey === undefined ? {} : { signingKey }),
    ...(options.path === undefined ? {} : { jsonlPath: options.path, retain: STREAMED_RETAIN }),
  });
  // The key a reader verifies the trail with, beside it as `train` writes it (verify finds it there).
  // Created new, as the trail is: an existing file (or a symlink planted there) is an error, not overwritten.
  if (options.path !== undefined) {
    try {
      writeFileSync(`${options.path}.pub`, recorder.publicKeyPem, { flag: "wx" });
    } catch (error) {
      recorder.close();
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      throw new PolicyKernelError("invalid_config", `cannot create the trail's public key file (${code})`, {
        file: `${options.path}.pub`,
        field: `${root}.path`,
        expected: "a trail path whose .pub file does not exist yet",
      });
    }
  }
  return recorder;
}

/** What a hosted env's trail holds: entries, the head hash (null when empty), its file (null in memory). */
export interface EnvTrailInfo {
  readonly entries: number;
  readonly head: string | null;
  readonly path: string | null;
}

/** A closed trail: its info, and whether it verifies (from the file, as `policy-kernel verify` reads it, when it has one). */
export interface EnvTrailReport extends EnvTrailInfo {
  readonly verified: boolean;
}

/** The trail's entries, head and file. */
export function envTrailInfo(recorder: FlightRecorder): EnvTrailInfo {
  return { entries: recorder.size, head: recorder.size === 0 ? null : recorder.head, path: recorder.jsonlPath ?? null };
}

/**
 * Closes the trail (every entry on disk, sealed by the final checkpoint) and verifies it: a file
 * from disk with the recorder's own public key, intact and sealed; an in-memory trail as it is.
 */
export async function closeEnvTrail(recorder: FlightRecorder): Promise<EnvTrailReport> {
  recorder.close();
  const info = envTrailInfo(recorder);
  if (info.path === null) return { ...info, verified: recorder.verify().valid };
  const result = await verifyJsonl(info.path, { publicKey: recorder.publicKey });
  return { ...info, verified: result.valid && result.sealed };
}
