// Prints one closing line for `make test`: every test counted across the suites that ran
// (opa test, vitest, pytest, the CLI decision cases), as "Tests: N passed, N failed".
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? ".tools/reports";
const parts = [];
let passed = 0;
let failed = 0;

const opa = join(dir, "opa-test.txt");
if (existsSync(opa)) {
  const text = readFileSync(opa, "utf8");
  const pass = /PASS: (\d+)\/(\d+)/.exec(text);
  const fail = /FAIL: (\d+)\/(\d+)/.exec(text);
  const p = pass ? Number(pass[1]) : 0;
  const f = fail ? Number(fail[1]) : 0;
  passed += p;
  failed += f;
  parts.push(`opa test ${p}/${p + f}`);
}

const vitest = join(dir, "vitest.json");
if (existsSync(vitest)) {
  const report = JSON.parse(readFileSync(vitest, "utf8"));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  parts.push(`vitest ${report.numPassedTests}/${report.numTotalTests}`);
}

// pytest's JUnit XML: one <testsuite> with tests/failures/errors/skipped counts (skips are not passes).
const pytest = join(dir, "pytest.xml");
if (existsSync(pytest)) {
  const suite = /<testsuite\b([^>]*)>/.exec(readFileSync(pytest, "utf8"));
  const count = (name) => Number((suite ? new RegExp(`\\b${name}="(\\d+)"`).exec(suite[1]) : null)?.[1] ?? 0);
  const total = count("tests");
  const f = count("failures") + count("errors");
  const p = total - f - count("skipped");
  passed += p;
  failed += f;
  parts.push(`pytest ${p}/${total}`);
}

const cli = join(dir, "cli-test.txt");
if (existsSync(cli)) {
  const match = /(\d+) passed, (\d+) failed/.exec(readFileSync(cli, "utf8"));
  if (match) {
    passed += Number(match[1]);
    failed += Number(match[2]);
    parts.push(`decision cases ${match[1]}/${Number(match[1]) + Number(match[2])}`);
  }
}

console.log(parts.join(" · "));
console.log(`Tests: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
