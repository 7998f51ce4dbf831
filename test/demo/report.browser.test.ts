import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { DEMO_DEFAULTS, runDemo } from "../../src/demo/run-demo.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const repoRoot = join(import.meta.dirname, "..", "..");
// Written under the git-ignored reports folder on every run, so `make test` leaves a clone clean;
// UPDATE_SCREENSHOT=1 also replaces the README's copy in docs/.
const SCREENSHOT = join(repoRoot, ".tools", "reports", "report-screenshot.png");
const README_SCREENSHOT = join(repoRoot, "docs", "report-screenshot.png");

if (!hasChromium) {
  process.stderr.write(`report.browser.test: skipped, ${CHROMIUM} is absent (install Debian's chromium; the Makefile does it for CI)\n`);
}

describe.skipIf(!hasChromium)(`report.html in headless Chromium (${CHROMIUM})`, () => {
  it("renders every chart, logs no console error, loads nothing from the network, and is screenshotted", { timeout: 120_000 }, async () => {
    // The default run: the screenshot in the README shows exactly what `make demo` produces.
    const out = mkdtempSync(join(tmpdir(), "pk-report-"));
    await runDemo({ episodes: DEMO_DEFAULTS.episodes, seed: DEMO_DEFAULTS.seed, arms: ["ungoverned", "governed"], evalWindow: DEMO_DEFAULTS.evalWindow, outDir: out });
    const profile = mkdtempSync(join(tmpdir(), "pk-chromium-"));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 900 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const external: string[] = [];
      await context.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith("file:")) return route.continue();
        external.push(url);
        return route.abort();
      });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("console", (msg) => {
        if (msg.type() === "error") errors.push(msg.text());
      });
      page.on("pageerror", (error) => errors.push(error.message));
      await page.goto(pathToFileURL(join(out, "report.html")).href);
      await page.waitForFunction(() => (window as unknown as { __reportReady?: boolean }).__reportReady === true, undefined, { timeout: 15_000 });

      const canvases = await page.evaluate(() =>
        Array.from(document.querySelectorAll("canvas")).map((canvas) => {
          const ctx = canvas.getContext("2d");
          if (!ctx || canvas.width === 0 || canvas.height === 0) return { id: canvas.id, painted: 0 };
          const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
          let painted = 0;
          for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) painted += 1;
          return { id: canvas.id, painted: painted / (canvas.width * canvas.height) };
        }),
      );
      expect(canvases.map((c) => c.id)).toEqual(["reward", "violation", "accuracy", "policies"]);
      // Axes and labels alone paint well under 1% of a canvas; data lines and bars push it above.
      for (const canvas of canvases) expect(canvas.painted, canvas.id).toBeGreaterThan(0.01);
      expect(await page.locator("table").first().locator("tr").count()).toBeGreaterThan(10);
      expect(errors).toEqual([]);
      expect(external).toEqual([]);

      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      const png = readFileSync(SCREENSHOT);
      expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
      if (process.env["UPDATE_SCREENSHOT"] === "1") copyFileSync(SCREENSHOT, README_SCREENSHOT);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
