#!/usr/bin/env node
// `npm run bench [-- options]`: runs kernel/src/bench (compiled to kernel/dist/bench) against the
// compiled simulator. The prebench script builds kernel/dist first.
let benchMain;
try {
  ({ benchMain } = await import("../kernel/dist/bench/main.js"));
} catch (error) {
  if (error instanceof Error && "code" in error && error.code === "ERR_MODULE_NOT_FOUND") {
    process.stderr.write(
      `bench: kernel/dist is not built (${error.message})\nRun \`npm run build\` first.\n`,
    );
    process.exit(1);
  }
  throw error;
}
process.exitCode = await benchMain(process.argv.slice(2));
