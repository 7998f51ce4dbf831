import fc from "fast-check";
import { expect } from "vitest";

/**
 * Holds a hand-written acceptance check to its zod schema: on every drawn value the check says
 * yes exactly when `safeParse` succeeds, and more than `minAccepted` values pass, so the
 * generator reaches valid values and not only garbage.
 */
export function expectSameAcceptance(
  values: fc.Arbitrary<unknown>,
  schema: { safeParse(value: unknown): { success: boolean } },
  check: (value: unknown) => boolean,
  options: { readonly numRuns: number; readonly seed: number; readonly minAccepted: number },
): void {
  let accepted = 0;
  fc.assert(
    fc.property(values, (value) => {
      const zod = schema.safeParse(value).success;
      expect(check(value)).toBe(zod);
      if (zod) accepted++;
    }),
    { numRuns: options.numRuns, seed: options.seed },
  );
  expect(accepted).toBeGreaterThan(options.minAccepted);
}
