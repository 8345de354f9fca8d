/**
 * Starting the kernel from a command line (main.ts, and `mmulab kernel start`).
 *
 * Environment: MMULAB_INTERRUPT_GRACE_MS and MMULAB_INTERRUPT_KILL_MS override the interrupt
 * escalation delays (front.ts). JPY_PARENT_PID, which jupyter_client sets for the kernels it
 * starts, names the process whose end shuts the kernel down (as ipykernel reads it).
 */
import { readConnectionFile } from "./connection.js";
import { KernelFront } from "./front.js";

/** An interrupt timing from the environment (tests shorten them); ignored unless a number. */
function msOption<K extends string>(key: K, value: string | undefined): Partial<Record<K, number>> {
  const n = Number(value);
  return value !== undefined && value !== "" && Number.isFinite(n) && n >= 0
    ? ({ [key]: n } as Partial<Record<K, number>>)
    : {};
}

/** The parent to watch, from JPY_PARENT_PID (ipykernel watches it when it is above 1). */
function parentOption(value: string | undefined): { parentPid?: number } {
  const pid = Number(value);
  return value !== undefined && Number.isInteger(pid) && pid > 1 ? { parentPid: pid } : {};
}

/**
 * Runs the kernel for `argv` (`--connection-file <file>`; `-f <file>` and a bare path are
 * accepted too, as ipykernel does); resolves when it has shut down.
 */
export async function runKernel(argv: readonly string[]): Promise<void> {
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--connection-file" || a === "-f") file = argv[++i];
    else if (a.startsWith("--connection-file=")) file = a.slice("--connection-file=".length);
    else if (!a.startsWith("-")) file = a;
  }
  if (file === undefined) throw new Error("missing --connection-file <file>");
  const front = new KernelFront({
    connection: readConnectionFile(file),
    ...msOption("interruptGraceMs", process.env["MMULAB_INTERRUPT_GRACE_MS"]),
    ...msOption("killAfterMs", process.env["MMULAB_INTERRUPT_KILL_MS"]),
    ...parentOption(process.env["JPY_PARENT_PID"]),
  });
  process.on("SIGINT", () => front.interrupt());
  process.on("SIGTERM", () => void front.close());
  await front.start();
  await front.finished;
}
