import { renameSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../../src/canonical-json.js";
import { defaultBundleEntries, tarGzOf, type TarEntry } from "./tar-writer.js";

/** A revision of the default bundle: its name, the cost cap in its data, its archive and the archive's hash. */
export interface Revision {
  readonly name: string;
  readonly maxCostUsd: number;
  readonly bytes: Buffer;
  readonly sha256: string;
}

/**
 * The default bundle (real `opa build` output) under another manifest revision and with another
 * `config.cost.max_cost_usd`, so which revision decided shows in the decision itself as well as
 * in its provenance: an action costing 50 USD is allowed under a cap of 100 and denied under 10.
 */
export function revision(name: string, maxCostUsd: number, edit: (entries: TarEntry[]) => TarEntry[] = (entries) => entries): Revision {
  const entries = defaultBundleEntries().map((entry) => {
    const text = () => Buffer.from(entry.bytes ?? "").toString("utf8");
    if (entry.path === "/.manifest") return { ...entry, bytes: JSON.stringify({ ...JSON.parse(text()), revision: name }) };
    if (entry.path === "/data.json") {
      const data = JSON.parse(text());
      data.policy_kernel.config.cost.max_cost_usd = maxCostUsd;
      return { ...entry, bytes: JSON.stringify(data) };
    }
    return entry;
  });
  const bytes = tarGzOf(edit(entries));
  return { name, maxCostUsd, bytes, sha256: sha256Hex(bytes) };
}

let published = 0;

/**
 * Replaces `dir/file` atomically (a temp file renamed over it), as a bundle server's deploy would.
 * Each publication gets its own mtime: nginx's ETag is mtime and size, so two archives of one
 * size written in the same second would otherwise share an ETag.
 */
export function publish(dir: string, file: string, bytes: Uint8Array): void {
  const temp = join(dir, `.${file}.${published}.tmp`);
  writeFileSync(temp, bytes);
  const when = 1_800_000_000 + ++published * 10;
  utimesSync(temp, when, when);
  renameSync(temp, join(dir, file));
}

/** An action whose verdict depends on the cost cap: 50 USD. */
export const COSTLY_ACTION = { agentId: "agent-1", action: { type: "sql", sql: "SELECT name FROM users WHERE id = 42" }, context: { costUsd: 50 } } as const;
