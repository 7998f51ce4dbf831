import { gunzipSync } from "node:zlib";
import { PolicyKernelError } from "../../errors.js";

/** Caps on what one bundle may hold, so a hostile archive is refused before it is unpacked. */
export interface TarLimits {
  /** Bytes of the whole archive once decompressed (and of a folder's files together). */
  readonly maxBytes: number;
  /** Regular files in the archive or folder. */
  readonly maxFiles: number;
  /** Bytes of any one file. */
  readonly maxFileBytes: number;
}

/** One regular file of a tar archive. */
export interface TarFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

const BLOCK = 512;

/**
 * Reads the regular files of a gzip-compressed ustar archive (what `opa build` writes).
 * Small on purpose: bundles are a handful of files, and a dependency-free reader keeps
 * every malformed byte range an error that names the bundle file and the offset.
 */
export function readTarGz(archive: Uint8Array, file: string, limits?: TarLimits): TarFile[] {
  let tar: Uint8Array;
  try {
    // maxOutputLength stops inflating as soon as the output passes the cap: a gzip bomb costs
    // at most the cap in memory, not what it would expand to.
    tar = limits ? gunzipSync(archive, { maxOutputLength: limits.maxBytes }) : gunzipSync(archive);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" && limits) {
      throw new PolicyKernelError("invalid_bundle", `archive decompresses to more than ${limits.maxBytes} bytes (bundleLimits.maxBytes; the CLI's --bundle-max-bytes)`, {
        file,
        expected: `at most ${limits.maxBytes} bytes once decompressed`,
      });
    }
    throw new PolicyKernelError("invalid_bundle", `not a gzip archive (${(error as Error).message})`, {
      file,
      expected: "a .tar.gz bundle as written by `opa build`",
    });
  }
  const files: TarFile[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const size = parseOctal(header.subarray(124, 136), file, offset);
    const type = String.fromCharCode(header[156] ?? 0);
    const prefix = readString(header.subarray(345, 500));
    const rawName = readString(header.subarray(0, 100));
    const name = longName ?? (prefix ? `${prefix}/${rawName}` : rawName);
    const start = offset + BLOCK;
    const end = start + size;
    if (end > tar.length) {
      throw new PolicyKernelError("invalid_bundle", `archive truncated inside entry "${name}"`, {
        file,
        expected: `${size} bytes of data at offset ${start}`,
      });
    }
    longName = undefined;
    if (type === "L") longName = readString(tar.subarray(start, end));
    else if (type === "1" || type === "2") {
      // A link would make one path read another's bytes (or a host file, once unpacked): opa build writes none.
      throw new PolicyKernelError("invalid_bundle", `entry "${name}" is a ${type === "1" ? "hard" : "symbolic"} link`, {
        file,
        expected: "regular files only",
      });
    } else if (type === "0" || type === "\0") {
      if (limits) checkEntryLimits(limits, files.length + 1, size, name, file);
      files.push({ path: normalize(name), bytes: tar.slice(start, end) });
    }
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}

/** Throws when one more file of `size` bytes would pass the file-count or per-file cap. */
export function checkEntryLimits(limits: TarLimits, count: number, size: number, name: string, file: string): void {
  if (count > limits.maxFiles) {
    throw new PolicyKernelError("invalid_bundle", `more than ${limits.maxFiles} files (bundleLimits.maxFiles; the CLI's --bundle-max-files)`, {
      file,
      expected: `at most ${limits.maxFiles} files`,
    });
  }
  if (size > limits.maxFileBytes) {
    throw new PolicyKernelError("invalid_bundle", `entry "${name}" is ${size} bytes, more than ${limits.maxFileBytes} (bundleLimits.maxFileBytes)`, {
      file,
      expected: `files of at most ${limits.maxFileBytes} bytes`,
    });
  }
}

function parseOctal(field: Uint8Array, file: string, offset: number): number {
  const text = readString(field).trim();
  const value = Number.parseInt(text || "0", 8);
  if (!Number.isSafeInteger(value) || value < 0 || !/^[0-7]*$/.test(text)) {
    throw new PolicyKernelError("invalid_bundle", `corrupt tar header at offset ${offset}`, {
      file,
      expected: "an octal entry size",
    });
  }
  return value;
}

function readString(field: Uint8Array): string {
  const end = field.indexOf(0);
  return Buffer.from(end === -1 ? field : field.subarray(0, end)).toString("utf8");
}

/** Bundle paths compare as `/policy.wasm` whatever way the archive spelled them. */
function normalize(path: string): string {
  const trimmed = path.replace(/^\.\//, "").replace(/^\/+/, "");
  return `/${trimmed}`;
}
