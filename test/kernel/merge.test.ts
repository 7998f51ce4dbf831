import { describe, expect, it } from "vitest";
import { mergeData } from "../../src/kernel/merge.js";

describe("mergeData", () => {
  const base = { sql: { deny: ["DROP", "GRANT"], nested: { list: [1, 2], keep: true } }, other: [1] };

  it("merges objects key by key and lets a list replace a list", () => {
    expect(mergeData(base, { sql: { deny: ["DELETE"], nested: { list: [3] } } })).toEqual({
      sql: { deny: ["DELETE"], nested: { list: [3], keep: true } },
      other: [1],
    });
  });

  it('adds lists together at every depth with lists: "union", distinct items, base first', () => {
    expect(mergeData(base, { sql: { deny: ["DELETE", "DROP"], nested: { list: [2, 3] } }, other: "x" }, "union")).toEqual({
      sql: { deny: ["DROP", "GRANT", "DELETE"], nested: { list: [1, 2, 3], keep: true } },
      other: "x",
    });
    expect(base.sql.deny).toEqual(["DROP", "GRANT"]); // inputs are not mutated
  });
});
