import type { CliIO } from "../../src/cli/command.js";

/** A CliIO that records what is written, for assertions. */
export function captureIO(): CliIO & { stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: (text) => {
      out.push(text);
    },
    err: (text) => {
      err.push(text);
    },
    stdout: () => out.join(""),
    stderr: () => err.join(""),
  };
}
