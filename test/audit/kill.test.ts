// kill -9 at random points: a real child process records entries with checkpoints and is SIGKILLed.
// Every checkpoint it acknowledged (written and synced) is in the file, and the trail verifies up to it.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verifyJsonl } from "../../src/audit/jsonl.js";
import { createRng } from "../../src/env/rng.js";

const index = new URL("../../dist/src/index.js", import.meta.url).href;

/** Records entries forever; after each checkpoint it asked for returns (written and synced), prints "ack <count>". */
function childScript(path: string): string {
  return `
    import { writeSync } from "node:fs";
    const { FlightRecorder } = await import(${JSON.stringify(index)});
    const recorder = new FlightRecorder({ chainId: "killed", jsonlPath: ${JSON.stringify(path)}, checkpoints: { everyEntries: 50, everyMs: 20 } });
    writeSync(1, "key " + Buffer.from(recorder.publicKeyPem).toString("base64") + "\\n");
    for (let i = 0; ; i++) {
      recorder.recordToolCall({ agentId: "a" + (i % 3), tool: "sql", args: { sql: "SELECT " + i, pad: "x".repeat(i % 200) }, result: { rows: i } });
      if (i % 37 === 36) {
        const checkpoint = recorder.checkpoint();
        if (checkpoint) writeSync(1, "ack " + checkpoint.count + "\\n");
      }
      // Turns of the event loop, so the time-triggered checkpoints and flushes run as in a real trainer.
      if (i % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }`;
}

interface Killed {
  readonly key: string;
  readonly acked: number;
}

/** Starts the child, kills it with SIGKILL `delayMs` after its first acknowledged checkpoint, and returns what it acknowledged. */
function recordAndKill(path: string, delayMs: number): Promise<Killed> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", childScript(path)], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (timer === undefined && /^ack /m.test(out)) timer = setTimeout(() => child.kill("SIGKILL"), delayMs);
    });
    child.on("exit", (code, signal) => {
      if (signal !== "SIGKILL") {
        reject(new Error(`the recording child ended by itself (code ${String(code)}): ${err}`));
        return;
      }
      const key = Buffer.from(/^key (\S+)$/m.exec(out)?.[1] ?? "", "base64").toString();
      // Only complete lines: an "ack" cut off by the kill was never acknowledged.
      const acks = [...out.matchAll(/^ack (\d+)\n/gm)].map((m) => Number(m[1]));
      resolve({ key, acked: Math.max(0, ...acks) });
    });
  });
}

describe("kill -9 while recording", () => {
  // Random but replayable delays: a seeded stream, named in each case.
  const rng = createRng("kill-9-delays");
  const delays = Array.from({ length: 6 }, () => Math.round(5 + rng.next() * 400));

  it.each(delays.map((delay, i) => [i, delay] as const))("kill %i after %i ms: every acknowledged checkpoint is on disk and the trail verifies up to it", async (i, delay) => {
    const dir = mkdtempSync(join(tmpdir(), "pk-kill-"));
    const path = join(dir, "audit.jsonl");
    const { key, acked } = await recordAndKill(path, delay);
    expect(acked).toBeGreaterThan(0);
    const result = await verifyJsonl(path, { publicKey: key });
    // Never a break: at worst an incomplete last line, reported as an unsealed tail.
    expect(result).toMatchObject({ valid: true, sealed: false, signaturesChecked: true });
    if (!result.valid) return;
    expect(result.signedCount).toBeGreaterThanOrEqual(acked);
    expect(result.count).toBeGreaterThanOrEqual(result.signedCount);

    // A later run never overwrites it: the same path is refused and the file is untouched.
    const before = readFileSync(path);
    const again = spawnSync(process.execPath, ["--input-type=module", "-e", `const { FlightRecorder } = await import(${JSON.stringify(index)}); new FlightRecorder({ jsonlPath: ${JSON.stringify(path)} });`], { encoding: "utf8" });
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/the file already exists; an audit log is only ever written to a new file/);
    expect(readFileSync(path).equals(before)).toBe(true);
  });
});
