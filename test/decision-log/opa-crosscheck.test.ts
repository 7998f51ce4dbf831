// Our decision-log events against a real OPA's: the pinned OPA runs as a server with console decision
// logs and a decision-log service (a Node HTTP server here), its mask policy reading the mask rules
// from each query's input. Every OPA event must parse with DecisionLogEventSchema; ours must have
// the same members with the same JSON types; and for every mask rule set, hostile ones included, our
// masking must give exactly OPA's input, erased and masked (or refuse the rules where OPA drops the event).
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { DecisionLogEventSchema } from "../../src/decision-log/event.js";
import { applyMask, prepareMaskRules, copyForMask, type MaskRule } from "../../src/decision-log/mask.js";
import { isPolicyKernelError } from "../../src/errors.js";
import { opaPath } from "../helpers/opa.js";
import { expectPrototypeClean } from "../helpers/prototype-clean.js";

interface Upload {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const uploads: Upload[] = [];
let service: Server;
let opa: ChildProcess;
let opaOut = "";
let base = "";
let dir = "";

/** A free TCP port on 127.0.0.1 (bound, then released for OPA). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function until<T>(what: string, probe: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; OPA said:\n${opaOut.slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** OPA's console decision-log lines, by decision id (console adds level, msg, time and type to the event). */
function consoleEvents(): Map<string, Record<string, unknown>> {
  const events = new Map<string, Record<string, unknown>>();
  for (const line of opaOut.split("\n")) {
    if (!line.includes('"Decision Log"')) continue;
    const { level: _l, msg: _m, time: _t, type: _y, ...event } = JSON.parse(line) as Record<string, unknown>;
    events.set(event["decision_id"] as string, event);
  }
  return events;
}

async function query(input: unknown, path = "authz/allow"): Promise<string> {
  const res = await fetch(`${base}/v1/data/${path}`, { method: "POST", body: JSON.stringify({ input }), headers: { "content-type": "application/json" } });
  const body = (await res.json()) as { decision_id: string };
  return body.decision_id;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pk-dl-opa-"));
  writeFileSync(join(dir, "authz.rego"), "package authz\n\ndefault allow := false\n\nallow if input.user == \"alice\"\n");
  // The mask rules come with each query, so one OPA process checks every rule set.
  writeFileSync(join(dir, ".manifest"), JSON.stringify({ revision: "v7", roots: [""] }));
  writeFileSync(join(dir, "mask.rego"), "package system.log\n\nmask := input.input.rules if input.input.rules\n");
  service = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      uploads.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.end();
    });
  });
  await new Promise<void>((resolve) => service.listen(0, "127.0.0.1", resolve));
  const servicePort = (service.address() as { port: number }).port;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  opa = spawn(
    opaPath(),
    [
      "run", "--server", "--addr", `127.0.0.1:${port}`, "--log-format", "json",
      "--set", "decision_logs.console=true",
      "--set", `services.dl.url=http://127.0.0.1:${servicePort}`,
      "--set", "decision_logs.service=dl",
      "--set", "decision_logs.reporting.min_delay_seconds=1",
      "--set", "decision_logs.reporting.max_delay_seconds=1",
      "--set", "labels.team=platform",
      "--bundle", dir,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  opa.stdout!.on("data", (d: Buffer) => (opaOut += d.toString()));
  opa.stderr!.on("data", (d: Buffer) => (opaOut += d.toString()));
  await until("OPA to listen", () => (/Initializing server|Server initialized/.test(opaOut) ? true : undefined));
  for (let i = 0; ; i++) {
    try {
      await fetch(`${base}/health`);
      break;
    } catch (error) {
      if (i > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}, 60_000);

afterAll(async () => {
  opa?.kill();
  await new Promise<void>((resolve) => service?.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** JSON type of a value, as a schema comparison needs it. */
const jsonType = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

describe("decision-log events against a real OPA 1.22", () => {
  it("OPA's upload is a gzip JSON array POSTed to /logs; its events and ours parse with the schema and share members and types", async () => {
    // The package, not a rule: its result is an object, as our Decision is.
    const id = await query({ user: "alice", password: "hunter2", rules: ["/input/password"] }, "authz");
    const upload = await until("OPA's upload", () => uploads.find((u) => gunzipSync(u.body).toString().includes(id)));
    expect(upload.headers["content-encoding"]).toBe("gzip");
    expect(upload.headers["content-type"]).toBe("application/json");
    const batch = JSON.parse(gunzipSync(upload.body).toString()) as unknown[];
    expect(Array.isArray(batch)).toBe(true);
    const theirs = batch.find((e) => (e as { decision_id: string }).decision_id === id) as Record<string, unknown>;
    expect(DecisionLogEventSchema.safeParse(theirs).success).toBe(true);
    expect(theirs).toMatchObject({ erased: ["/input/password"], labels: { team: "platform" } });

    const file = join(mkdtempSync(join(tmpdir(), "pk-dl-ours-")), "ours.jsonl");
    const kernel = await createPolicyKernel({ decisionLog: { file, labels: { team: "platform" }, mask: ["/input/action/sql"] } });
    await kernel.evaluate({ agentId: "a1", action: { type: "sql", sql: "DELETE FROM users" }, context: { now: "2026-11-21T10:00:00Z" } });
    await kernel.decisionLog!.close();
    kernel.close();
    const { readFileSync } = await import("node:fs");
    const ours = JSON.parse(readFileSync(file, "utf8").trim()) as Record<string, unknown>;
    expect(DecisionLogEventSchema.safeParse(ours).success).toBe(true);
    // Every member we write, OPA writes too, with the same JSON type (one level down for labels and bundles).
    for (const [key, value] of Object.entries(ours)) {
      expect(Object.keys(theirs), key).toContain(key);
      expect(jsonType(value), key).toBe(jsonType(theirs[key]));
    }
    for (const key of ["labels", "decision_id", "bundles", "path", "input", "result", "erased", "timestamp", "req_id"]) expect(Object.keys(ours)).toContain(key);
    expect(Object.keys(theirs).filter((k) => !(k in ours)).sort()).toEqual(["metrics", "requested_by"]);
    expect(Object.keys(ours.labels as object)).toEqual(expect.arrayContaining(Object.keys(theirs["labels"] as object)));
    const [[name, info]] = Object.entries(theirs["bundles"] as Record<string, unknown>) as [[string, Record<string, unknown>]];
    expect(name).toBe(dir);
    expect(Object.keys((ours.bundles as Record<string, object>)["policy_kernel"]!)).toEqual(Object.keys(info));
    // Member order as OPA's struct declares it.
    const order = Object.keys(theirs).filter((k) => k in ours);
    expect(Object.keys(ours)).toEqual(order);
  }, 60_000);

  // [rules, input]: each run through OPA's mask policy and through ours.
  const cases: Array<[string, MaskRule[], Record<string, unknown>]> = [
    ["remove a member", ["/input/password"], { password: "p", user: "u" }],
    ["upsert creates a missing member", [{ op: "upsert", path: "/input/ssn", value: "**" }], { user: "u" }],
    ["upsert replaces, with any JSON", [{ op: "upsert", path: "/input/card", value: { last4: "1234", n: [1, null] } }], { card: "4111" }],
    ["remove a missing nested member: not listed", ["/input/a/b"], { x: 1 }],
    ["upsert through missing objects creates them", [{ op: "upsert", path: "/input/a/b/c", value: 1 }], { x: 1 }],
    ["upsert through a string: blocked, not listed", [{ op: "upsert", path: "/input/a/b", value: 1 }], { a: "text" }],
    ["remove an array element", ["/input/list/1"], { list: [10, 20, 30] }],
    ["remove out of range, negative, not a number", ["/input/list/5", "/input/list/-1", "/input/list/x"], { list: [1, 2] }],
    ["Go's Atoi: +1, 007 and -0 are indices", ["/input/list/+1", "/input/list/007", "/input/list/-0"], { list: [0, 1, 2, 3, 4, 5, 6, 7, 8] }],
    ["remove inside nested arrays", ["/input/m/0/1", "/input/m/1/k"], { m: [[1, 2, 3], { k: 1, j: 2 }] }],
    ["upsert an existing index; a missing one is not created", [{ op: "upsert", path: "/input/list/0", value: "x" }, { op: "upsert", path: "/input/list/7", value: "y" }], { list: [1, 2] }],
    ["upsert through a missing index", [{ op: "upsert", path: "/input/list/9/k", value: 1 }], { list: [1] }],
    ["a space is escaped, so it matches the escaped key only", ["/input/a b", "/input/c d"], { "a b": 1, "c%20d": 2 }],
    ["a %-escape is escaped again", ["/input/a%20b", "/input/c%2520d"], { "a b": 1, "a%20b": 2, "c%20d": 3 }],
    ["non-ASCII and reserved characters", ["/input/naïve", "/input/a:b@c$d", "/input/x;y", "/input/q?"], { "naïve": 1, "na%C3%AFve": 2, "a:b@c$d": 3, "x;y": 4, "x%3By": 5, "q?": 6 }],
    ["an empty segment is the empty key", ["/input/"], { "": 1, x: 2 }],
    ["remove the whole input", ["/input"], { user: "u" }],
    ["upsert the whole input", [{ op: "upsert", path: "/input", value: { replaced: true } }], { user: "u" }],
    ["remove the result", ["/result"], { user: "alice" }],
    ["a path twice: removed once, upserted twice", ["/input/p", "/input/p", { op: "upsert", path: "/input/q", value: 1 }, { op: "upsert", path: "/input/q", value: 2 }], { p: 1 }],
    ["order matters: upsert then remove", [{ op: "upsert", path: "/input/z", value: 1 }, "/input/z"], {}],
    ["prototype keys are keys", ["/input/__proto__", { op: "upsert", path: "/input/constructor/prototype/polluted", value: true }], JSON.parse('{"__proto__": {"polluted": true}, "k": 1}') as Record<string, unknown>],
    ["upsert through __proto__ creates an own member", [{ op: "upsert", path: "/input/__proto__/polluted", value: true }], { k: 1 }],
    ["the rules themselves are input", ["/input/rules"], {}],
  ];

  it.each(cases)("masks as OPA does: %s", async (_name, rules, data) => {
    // JSON keeps a "__proto__" key an own member, as OPA receives it (the spread keeps it own too).
    const sent = { ...data, rules };
    const id = await query(sent);
    const theirs = await until(`OPA's event ${id}`, () => consoleEvents().get(id));
    const mine: { input?: unknown; result?: unknown; erased?: string[]; masked?: string[] } = { input: copyForMask(sent), result: data["user"] === "alice" };
    applyMask(mine, prepareMaskRules(rules, "mask"));
    expect(mine.input).toEqual(theirs["input"]);
    expect(mine.erased).toEqual(theirs["erased"]);
    expect(mine.masked).toEqual(theirs["masked"]);
    expect(mine.result).toEqual(theirs["result"]);
    await expectPrototypeClean();
  }, 30_000);

  // Rules OPA cannot parse: it logs "Log event masking failed" and drops the whole event. Ours are
  // configuration, so the same rules are a load error naming the rule.
  const refused: Array<[string, unknown[]]> = [
    ["no leading slash", ["input/password"]],
    ["empty", [""]],
    ["a prefix OPA does not allow", ["/data/x"]],
    ["a doubled slash", ["//input/x"]],
    ["a bad %-escape", ["/input/%zz"]],
    ["an unknown op", [{ op: "replace", path: "/input/x", value: 1 }]],
    ["an object without op", [{ path: "/input/x" }]],
  ];

  it.each(refused)("refuses what OPA refuses: %s", async (_name, rules) => {
    const failures = (): number => opaOut.split("Log event masking failed").length - 1;
    const before = failures();
    const id = await query({ user: "u", rules });
    await until("OPA to report the failed mask", () => (failures() > before ? true : undefined));
    expect(consoleEvents().has(id)).toBe(false);
    let error: unknown;
    try {
      const parsed = (await import("../../src/decision-log/mask.js")).MaskRuleSchema.array().parse(rules);
      prepareMaskRules(parsed, "mask");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeDefined();
    if (isPolicyKernelError(error)) expect(error.message).toContain("mask[0]");
  }, 30_000);
});
