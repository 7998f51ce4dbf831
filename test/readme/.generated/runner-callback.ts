import { createPolicyKernel, GovernedRunner, PolicyViolationError } from "../../../src/index.js";

const kernel = await createPolicyKernel();
const violationLog: string[] = [];
const executed: string[] = [];
const runner = new GovernedRunner(kernel, {
  onViolation: (violation) => violationLog.push(`${violation.policy}/${violation.rule} ${violation.severity} blocked=${violation.blocked}`),
  executor: (action) => { executed.push(action.type); return "ok"; },
});

// A support agent: look the customer up, then reply — with their SSN, to a gmail address.
runner.init({
  agentId: "support-bot",
  async run(ticket: string, ctx) {
    const lookup = await ctx.act({ type: "sql", sql: `SELECT email FROM users WHERE id = ${ticket}` });
    const reply = await ctx.act({ type: "message", to: "customer@gmail.com", text: "Your SSN on file is 123-45-6789" });
    return { lookedUp: lookup.allowed, replied: reply.allowed };
  },
});
const rollout = await runner.step("42", { context: { role: "support" } });
console.log(rollout.taskOutput, `success=${rollout.success} totalPenalty=${rollout.totalPenalty}`);
console.log(violationLog);
console.log(executed); // the message never reached the executor
console.log(runner.getStats());

// failOnViolation: the step rejects with a typed error that keeps the whole rollout
const strict = new GovernedRunner(kernel, { failOnViolation: true });
try {
  await strict.step("TRUNCATE logs");
} catch (error) {
  if (error instanceof PolicyViolationError) console.log(error.violation.rule, error.rollout.totalPenalty, strict.getViolationRate());
}
