// Request limits the line cap cannot give: a small line must not ask for an unbounded reply.
import { describe, expect, it } from "vitest";
import { MAX_BATCH_ITEMS } from "../../src/host/protocol.js";
import { checkParams } from "../../src/host/request.js";

function refusal(run: () => unknown): { code: string; field: string | undefined; message: string } {
  try {
    run();
  } catch (error) {
    const e = error as { code: string; field?: string; message: string };
    return { code: e.code, field: e.field, message: e.message };
  }
  throw new Error("expected a refusal");
}

describe("batch limits", () => {
  it("a batch or evaluate_batch of MAX_BATCH_ITEMS is taken; one more item is refused, naming the param", () => {
    const full = Array.from({ length: MAX_BATCH_ITEMS }, () => ({ op: "evaluate", action: {} }));
    expect(checkParams("batch", { requests: full })["requests"]).toHaveLength(MAX_BATCH_ITEMS);
    expect(checkParams("evaluate_batch", { actions: full })["actions"]).toHaveLength(MAX_BATCH_ITEMS);
    // 200,000 tiny items (0.6 MB, under the line cap) once produced a 114 MB reply.
    for (const [op, key] of [["batch", "requests"], ["evaluate_batch", "actions"]] as const) {
      const over = refusal(() => checkParams(op, { [key]: [...full, {}] }));
      expect(over).toMatchObject({ code: "invalid_request", field: key });
      expect(over.message).toContain(`at most ${MAX_BATCH_ITEMS} items`);
    }
  });
});
