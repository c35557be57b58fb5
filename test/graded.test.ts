/**
 * Proves the graded tests honest: for every graded chapter, each task
 * fails on the unsolved exercise (exercises/) and passes on the reference
 * solution (solutions/). A test that passed on both would grade nothing.
 */
import { describe, expect, test } from "bun:test";
import { gradedChapters, runGraded } from "./harness/graded-files.ts";

for (const chapter of gradedChapters()) {
  describe(chapter.chapter, () => {
    test("every task fails on the unsolved exercise", async () => {
      const { outcomes } = await runGraded(chapter, "exercises");
      expect(outcomes.length).toBeGreaterThan(0);
      expect(outcomes.filter((o) => o.passed).map((o) => o.name)).toEqual([]);
    }, 120_000);

    test("every task passes on the solution", async () => {
      const { outcomes, tasks } = await runGraded(chapter, "solutions");
      expect(outcomes.length).toBe(tasks.length);
      expect(outcomes.length).toBeGreaterThan(0);
      expect(outcomes.filter((o) => !o.passed).map((o) => `${o.name}: ${o.message}`)).toEqual([]);
    }, 120_000);
  });
}
