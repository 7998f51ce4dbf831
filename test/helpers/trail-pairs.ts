import { expect } from "vitest";
import { canonicalJson, sha256Hex } from "../../src/canonical-json.js";
import type { FlightRecorder } from "../../src/audit/flight-recorder.js";

/**
 * Holds what the trust boundary promises for every execution in a trail: the tool_call entry
 * follows an allowing policy_check, its args are exactly the action that check recorded, and its
 * actionSha256 is that action's hash; `executed` (what the executors received, as JSON at the
 * moment they ran) is the same list. Returns the checked actions, in order.
 */
export function expectExecutedAsChecked(recorder: FlightRecorder, executed: readonly unknown[]): unknown[] {
  const entries = recorder.entries();
  const checked: unknown[] = [];
  entries.forEach((entry, index) => {
    if (entry.type !== "tool_call") return;
    const check = entries.slice(0, index).reverse().find((e) => e.type === "policy_check");
    if (check?.type !== "policy_check") throw new Error(`tool_call at seq ${entry.seq} has no policy_check before it`);
    expect(check.decision.allowed).toBe(true);
    expect(entry.args).toEqual(check.action);
    expect(entry.actionSha256).toBe(sha256Hex(canonicalJson(check.action)));
    checked.push(check.action);
  });
  expect(executed).toEqual(checked);
  expect(recorder.verify().valid).toBe(true);
  return checked;
}
