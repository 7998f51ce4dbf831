import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { readTarGz } from "../../src/engines/rego/tar.js";
import { defaultBundlePath } from "../../src/kernel/defaults.js";

/**
 * Writes the default bundle's files into `dir` as a bundle folder, each through `edit` when given
 * (its path in the bundle, e.g. `/rego/cost.rego`, and its bytes).
 */
export function unpackDefaultBundle(dir: string, edit: (path: string, bytes: Buffer) => Buffer = (_path, bytes) => bytes): void {
  for (const file of readTarGz(readFileSync(defaultBundlePath()), "default")) {
    mkdirSync(dirname(join(dir, file.path)), { recursive: true });
    writeFileSync(join(dir, file.path), edit(file.path, Buffer.from(file.bytes)));
  }
}
