import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { readTarGz } from "../../src/engines/rego/tar.js";
import { defaultBundlePath } from "../../src/kernel/defaults.js";

/** One tar entry to write: a regular file unless `type` says otherwise (`1` hard link, `2` symlink, `5` folder). */
export interface TarEntry {
  readonly path: string;
  readonly bytes?: Uint8Array | string;
  readonly type?: "0" | "1" | "2" | "5";
  readonly linkName?: string;
}

const BLOCK = 512;

/** A ustar header block for `entry` of `size` bytes (names up to 100 bytes, which the tests keep to). */
export function tarHeader(entry: TarEntry, size: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  const put = (text: string, offset: number, length: number): void => {
    header.write(text.slice(0, length), offset, "utf8");
  };
  const octal = (value: number, length: number): string => value.toString(8).padStart(length - 1, "0");
  put(entry.path, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put(entry.type ?? "0", 156, 1);
  put(entry.linkName ?? "", 157, 100);
  put("ustar\u000000", 257, 8);
  // The checksum is computed with its own field read as spaces.
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(`${octal(sum, 7)}\0`, 148, 8);
  return header;
}

/** An uncompressed ustar archive of `entries`, ended by two zero blocks. */
export function tarOf(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const bytes = Buffer.from(entry.bytes ?? "");
    parts.push(tarHeader(entry, bytes.length), bytes, Buffer.alloc((BLOCK - (bytes.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** `tarOf(entries)`, gzip-compressed: a bundle file's bytes. */
export function tarGzOf(entries: readonly TarEntry[]): Buffer {
  return gzipSync(tarOf(entries));
}

/** The shipped default bundle's files as tar entries (real `opa build` output), to add hostile entries to. */
export function defaultBundleEntries(): TarEntry[] {
  return readTarGz(readFileSync(defaultBundlePath()), "default").map((file) => ({ path: file.path, bytes: file.bytes }));
}
