// Child process of `make bench`: the first createPolicyKernel() of a fresh process (modules
// already imported, nothing else warmed), then repeated ones. Prints one JSON line.
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { median } from "./measure.js";

const t0 = performance.now();
const first = await createPolicyKernel();
const firstMs = performance.now() - t0;
const t1 = performance.now();
await first.evaluate({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } });
const firstDecisionMs = performance.now() - t1;
first.close();
const again: number[] = [];
for (let i = 0; i < 15; i++) {
  const t = performance.now();
  const kernel = await createPolicyKernel();
  again.push(performance.now() - t);
  kernel.close();
}
process.stdout.write(`${JSON.stringify({ firstMs, firstDecisionMs, warmMedianMs: median(again) })}\n`);
