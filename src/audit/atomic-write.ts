import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { PolicyKernelError, errorMessage } from "../errors.js";

/** Text written in pieces of about this many UTF-16 units when `data` is a stream. */
const WRITE_CHUNK = 1 << 20;

/**
 * Open flags for a file that must not exist yet and is never reached through a link.
 * O_NOFOLLOW is 0 where the platform lacks it (Windows); O_EXCL alone still refuses an existing link there.
 */
export const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/**
 * Writes `data` to `path` atomically: a new temp file in the same folder (created with
 * O_EXCL|O_NOFOLLOW, so it can never be a pre-planted file or link), fsync, then rename over
 * the destination. Refuses when the destination is a symbolic link or not a regular file.
 * `data` may be a stream of text pieces, so a file of any size is written in little memory.
 */
export async function writeFileAtomic(path: string, data: string | AsyncIterable<string>): Promise<void> {
  await refuseUnsafeDestination(path);
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, CREATE_NEW, 0o666);
    try {
      if (typeof data === "string") await handle.writeFile(data, "utf8");
      else {
        let pending = "";
        for await (const piece of data) {
          pending += piece;
          if (pending.length >= WRITE_CHUNK) {
            await handle.writeFile(pending, "utf8");
            pending = "";
          }
        }
        await handle.writeFile(pending, "utf8");
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    // rename(2) replaces a link planted after the lstat check instead of writing through it.
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    if (error instanceof PolicyKernelError) throw error;
    throw new PolicyKernelError("io_error", `cannot write the file: ${errorMessage(error)}`, { file: path }, { cause: error });
  }
  await syncFolder(dirname(path));
}

async function refuseUnsafeDestination(path: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if (isErrno(error, "ENOENT")) return;
    throw new PolicyKernelError("io_error", `cannot inspect the destination: ${errorMessage(error)}`, { file: path }, { cause: error });
  }
  if (stats.isSymbolicLink()) {
    throw new PolicyKernelError("io_error", "refusing to write through a symbolic link", {
      file: path,
      expected: "a regular file or a new path",
    });
  }
  if (!stats.isFile()) {
    throw new PolicyKernelError("io_error", "the destination exists and is not a regular file", { file: path });
  }
}

/** fsync of a folder, so a rename into it survives a power cut (best effort: some platforms cannot open a folder). */
export async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await open(folder, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}

/** True when `error` is a Node system error with this `code`. */
export function isErrno(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}

