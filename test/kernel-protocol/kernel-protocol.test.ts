// Debian's jupyter_kernel_test suite (test_mmulab_kernel.py) against the `mmulab` kernelspec.
// Every test of the suite must run and pass: none skipped, no expected failures.
import { describe, expect, it } from "vitest";
import { missingPrerequisites, ROOT, runPython } from "./jupyter.js";

// The apt packages come from .ci/run; a machine without them fails here, saying what is missing.
const missing = missingPrerequisites();

describe("jupyter_kernel_test against the mmulab kernel", () => {
  it("passes every test of the suite", async () => {
    expect(missing, `prerequisites (install them as .ci/run does)`).toBeNull();
    const r = await runPython(
      ["-m", "unittest", "-v", "test_mmulab_kernel"],
      `${ROOT}/test/kernel-protocol`,
      240_000,
    );
    const report = r.stderr;
    expect(report, report).toMatch(/\nOK\s*$/);
    expect(r.status, report).toBe(0);
    const ran = /Ran (\d+) tests?/.exec(report);
    expect(Number(ran?.[1])).toBeGreaterThanOrEqual(12);
    expect(report).not.toMatch(/skipped|expected failure|unexpected success/i);
  }, 300_000);
});
