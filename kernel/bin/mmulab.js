#!/usr/bin/env node
// Checked-in launcher for the compiled CLI. npm links a package's bins at install time and skips
// any whose file does not exist yet; kernel/dist is only built after install, so the bin entry
// points here and this file loads the build.
try {
  await import("../dist/cli/main.js");
} catch (error) {
  if (error instanceof Error && "code" in error && error.code === "ERR_MODULE_NOT_FOUND") {
    process.stderr.write(
      `mmulab: the kernel is not built (${error.message})\n` +
        "Run `npm run build` (or `npm start` / `npm test`, which bootstrap) from the repo root.\n",
    );
    process.exitCode = 1;
  } else {
    throw error;
  }
}
