/**
 * `mmulab kernel`: the Jupyter kernel's kernelspec (install, uninstall, print) and the kernel
 * process itself (`start`, which is what kernel.json runs).
 */
import { isAbsolute, resolve } from "node:path";
import {
  DISPLAY_NAME,
  installKernelSpec,
  KERNEL_NAME,
  kernelSpecDir,
  kernelSpec,
  prefixDataDir,
  projectDataDir,
  uninstallKernelSpec,
  userDataDir,
} from "../../notebook-kernel/kernelspec.js";
import { ParameterError } from "../../sim/errors.js";
import { JSON_FLAG_USAGE, jsonFlag, outputDirFlag, parseFlags, printResult } from "../args.js";
import { PROGRAM } from "../cli.js";
import type { Command } from "../command.js";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "../command.js";

const locationFlags = {
  user: { type: "boolean", default: false },
  prefix: { type: "string" },
  "data-dir": { type: "string" },
  name: { type: "string", default: KERNEL_NAME },
  ...jsonFlag,
} as const;

/** The data directory the flags name; the project's .jupyter-data by default. */
function dataDirOf(values: { user: boolean; prefix?: string; "data-dir"?: string }): {
  dir: string;
  where: "project" | "user" | "prefix" | "data-dir";
} {
  const chosen = [values.user, values.prefix !== undefined, values["data-dir"] !== undefined];
  if (chosen.filter(Boolean).length > 1) {
    throw new UsageError("give at most one of --user, --prefix and --data-dir", {
      parameter: values.user ? "--user" : "--prefix",
    });
  }
  if (values.user) return { dir: userDataDir(), where: "user" };
  if (values.prefix !== undefined)
    return { dir: prefixDataDir(resolve(values.prefix)), where: "prefix" };
  if (values["data-dir"] !== undefined)
    return { dir: resolve(values["data-dir"]), where: "data-dir" };
  return { dir: projectDataDir(), where: "project" };
}

export const kernelCommand: Command = {
  name: "kernel",
  summary: "install the mmulab Jupyter kernel (kernelspec), or run it",
  usage: [
    `Usage: ${PROGRAM} kernel install   [--user | --prefix DIR | --data-dir DIR] [--name NAME] [--json]`,
    `       ${PROGRAM} kernel uninstall [--user | --prefix DIR | --data-dir DIR] [--name NAME] [--json]`,
    `       ${PROGRAM} kernel spec [--json]`,
    `       ${PROGRAM} kernel start --connection-file FILE`,
    "",
    `install writes the "${KERNEL_NAME}" kernelspec (display name "${DISPLAY_NAME}") without`,
    "IPython. By default it goes to the project's .jupyter-data (npm start and npm test keep that",
    "one current; point Jupyter at it with JUPYTER_PATH=<repo>/.jupyter-data).",
    "",
    "Options:",
    "  --user            your Jupyter data directory (e.g. ~/.local/share/jupyter): every",
    "                    Jupyter you run finds the kernel",
    "  --prefix DIR      DIR/share/jupyter (a virtualenv or conda prefix)",
    "  --data-dir DIR    this Jupyter data directory",
    `  --name NAME       kernelspec name (default ${KERNEL_NAME}): letters, digits, '.', '_', '-'`,
    JSON_FLAG_USAGE,
    "",
    "spec prints the kernel.json that install writes. start runs the kernel on a connection",
    "file, as kernel.json's argv does (Jupyter starts it; you rarely need to).",
  ].join("\n"),

  async run(argv, io) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case "install":
      case "uninstall": {
        const { values } = parseFlags(rest, locationFlags);
        const { dir, where } = dataDirOf(values);
        // The name becomes a directory under <dir>/kernels: refuse one that would leave it.
        try {
          kernelSpecDir(dir, values.name);
        } catch (e) {
          if (e instanceof ParameterError)
            throw UsageError.invalid("--name", values.name, e.accepted);
          throw e;
        }
        if (sub === "install") {
          // a directory the user named: made (or refused) here, as a usage error
          if (where === "data-dir" || where === "prefix") outputDirFlag(dir, where);
          const r = installKernelSpec(dir, { name: values.name });
          printResult(
            io,
            {
              name: values.name,
              path: r.path,
              dataDir: dir,
              where,
              changed: r.changed,
              spec: r.spec,
            },
            values.json,
            () =>
              [
                `${r.changed ? "Installed" : "Up to date:"} kernelspec ${values.name} in ${r.path}`,
                where === "project" || where === "data-dir"
                  ? `Jupyter finds it with JUPYTER_PATH=${dir}`
                  : "Jupyter finds it without further set-up.",
              ].join("\n"),
          );
          return EXIT_OK;
        }
        const removed = uninstallKernelSpec(dir, values.name);
        printResult(io, { name: values.name, dataDir: dir, removed }, values.json, () =>
          removed
            ? `Removed kernelspec ${values.name} from ${dir}`
            : `No kernelspec ${values.name} in ${dir}`,
        );
        return removed ? EXIT_OK : EXIT_FAILURE;
      }
      case "spec": {
        const { values } = parseFlags(rest, { ...jsonFlag });
        const spec = kernelSpec();
        printResult(io, spec, values.json, (s) => JSON.stringify(s, null, 2));
        return EXIT_OK;
      }
      case "start": {
        const { values } = parseFlags(rest, { "connection-file": { type: "string" } });
        const file = values["connection-file"];
        if (file === undefined)
          throw new UsageError("start needs --connection-file FILE", {
            parameter: "--connection-file",
          });
        // Imported here: loading ZeroMQ is for the kernel process only.
        const { runKernel } = await import("../../notebook-kernel/run.js");
        await runKernel(["--connection-file", isAbsolute(file) ? file : resolve(file)]);
        return EXIT_OK;
      }
      case undefined:
        throw new UsageError("missing subcommand: install, uninstall, spec or start");
      default:
        throw new UsageError(
          `unknown subcommand '${sub}'; expected install, uninstall, spec or start`,
        );
    }
  },
};
