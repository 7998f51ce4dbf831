// What the stdio host costs a client: a node client drives `policy-kernel serve --stdio` (dist/) with
// sequential requests and with batches, beside the same env stepped in process. Prints JSON.
//   node dist/bench/src/stdio-host.js [--steps 10000] [--batches 1000] [--width 64]
import { spawn } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { GovernedSqlEnv } from "../../src/gym/governed-sql-env.js";

const { values } = parseArgs({ options: { steps: { type: "string" }, batches: { type: "string" }, width: { type: "string" } } });
const STEPS = Number(values.steps ?? 10_000);
const BATCHES = Number(values.batches ?? 1_000);
const WIDTH = Number(values.width ?? 64);
const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");

interface Reply {
  ok: boolean;
  result: { terminated?: boolean; truncated?: boolean; env?: number; results?: Array<{ ok: boolean; result: { terminated: boolean; truncated: boolean } }> };
}

/** A minimal line client: one request in flight at a time, as a Gymnasium proxy sends them. */
function client(): { request: (msg: object) => Promise<Reply>; ready: Promise<unknown>; end: () => Promise<unknown> } {
  const child = spawn(process.execPath, [cli, "serve", "--stdio"], { stdio: ["pipe", "pipe", "inherit"] });
  let buffer = "";
  const waiting: Array<(line: string) => void> = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf("\n"); nl !== -1; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      waiting.shift()?.(line);
    }
  });
  const next = (): Promise<string> => new Promise((resolve) => waiting.push(resolve));
  let id = 0;
  return {
    ready: next(),
    request: (msg) => {
      const reply = next();
      child.stdin.write(`${JSON.stringify({ id: ++id, ...msg })}\n`);
      return reply.then((line) => JSON.parse(line) as Reply);
    },
    end: () => {
      child.stdin.end();
      return new Promise((resolve) => child.on("exit", resolve));
    },
  };
}

const micros = (ns: bigint, n: number): number => Math.round(Number(ns) / n / 10) / 100;

const host = client();
await host.ready;
// Round trip of the cheapest op: the bridge alone.
for (let i = 0; i < 500; i++) await host.request({ op: "hello" });
let t = process.hrtime.bigint();
for (let i = 0; i < STEPS; i++) await host.request({ op: "hello" });
const helloUs = micros(process.hrtime.bigint() - t, STEPS);

// Sequential steps on one env (a reset after each episode, counted apart).
const env = (await host.request({ op: "make", kind: "sql" })).result.env!;
await host.request({ op: "reset", env, seed: 1 });
let resets = 0;
t = process.hrtime.bigint();
for (let i = 0; i < STEPS; i++) {
  const r = (await host.request({ op: "step", env, action: i % 3 })).result;
  if (r.terminated || r.truncated) {
    await host.request({ op: "reset", env });
    resets++;
  }
}
const stepUs = micros(process.hrtime.bigint() - t, STEPS + resets);

// Batches: WIDTH envs, each batch one step (or the reset an ended episode needs) per env.
const handles: number[] = [];
for (let i = 0; i < WIDTH; i++) handles.push((await host.request({ op: "make", kind: "sql" })).result.env!);
await host.request({ op: "batch", requests: handles.map((e, i) => ({ op: "reset", env: e, seed: i })) });
const done = new Array<boolean>(WIDTH).fill(false);
t = process.hrtime.bigint();
for (let b = 0; b < BATCHES; b++) {
  const requests = handles.map((e, i) => (done[i] ? { op: "reset", env: e } : { op: "step", env: e, action: (b + i) % 3 }));
  const { results } = (await host.request({ op: "batch", requests })).result;
  results!.forEach((r, i) => (done[i] = !done[i] && (r.result.terminated || r.result.truncated)));
}
const batchUs = micros(process.hrtime.bigint() - t, BATCHES * WIDTH);

// A gate check: the kernel's decision without the SQL world's work, alone and WIDTH to a batch.
const gate = (await host.request({ op: "make", kind: "gate" })).result.env!;
const action = { type: "sql", sql: "SELECT name FROM users WHERE id = 42" };
t = process.hrtime.bigint();
for (let i = 0; i < STEPS; i++) await host.request({ op: "check", env: gate, action });
const checkUs = micros(process.hrtime.bigint() - t, STEPS);
const checks = Array.from({ length: WIDTH }, () => ({ op: "check", env: gate, action }));
t = process.hrtime.bigint();
for (let b = 0; b < BATCHES; b++) await host.request({ op: "batch", requests: checks });
const batchCheckUs = micros(process.hrtime.bigint() - t, BATCHES * WIDTH);
await host.end();

// The same env in process: what a step costs without the bridge.
const local = await GovernedSqlEnv.open({});
local.reset({ seed: 1 });
resets = 0;
t = process.hrtime.bigint();
for (let i = 0; i < STEPS; i++) {
  const r = await local.step(i % 3);
  if (r.terminated || r.truncated) {
    local.reset({});
    resets++;
  }
}
const localUs = micros(process.hrtime.bigint() - t, STEPS + resets);
await local.close();

process.stdout.write(
  `${JSON.stringify({ helloRoundTripUs: helloUs, stepRoundTripUs: stepUs, batchEnvStepUs: batchUs, batchWidth: WIDTH, inProcessStepUs: localUs, checkRoundTripUs: checkUs, batchCheckUs, steps: STEPS, batches: BATCHES }, null, 2)}\n`,
);
