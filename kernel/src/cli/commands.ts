/**
 * The registry of `mmulab` subcommands, in the order `mmulab --help` lists them.
 *
 * To add a command: write `kernel/src/cli/commands/<name>.ts` exporting a `Command`, then add one
 * import and one entry below.
 */
import type { Command } from "./command.js";
import { bugsCommand } from "./commands/bugs.js";
import { demoCommand } from "./commands/demo.js";
import { exploreCommand } from "./commands/explore.js";
import { helpCommand } from "./commands/help.js";
import { kernbenchCommand } from "./commands/kernbench.js";
import { kernelCommand } from "./commands/kernel.js";
import { publishedCommand } from "./commands/published.js";
import { raceMatrixCommand } from "./commands/race-matrix.js";
import { workloadCommand } from "./commands/workload.js";
import { ebizzyVmsCommand } from "./commands/ebizzy-vms.js";
import { sweepCommand } from "./commands/sweep.js";
import { sweepWorkerCommand } from "./commands/sweep-worker.js";
import { validateCommand } from "./commands/validate.js";

export const commands: readonly Command[] = [
  helpCommand,
  demoCommand,
  raceMatrixCommand,
  kernbenchCommand,
  publishedCommand,
  workloadCommand,
  ebizzyVmsCommand,
  kernelCommand,
  exploreCommand,
  bugsCommand,
  sweepCommand,
  sweepWorkerCommand,
  validateCommand,
];
