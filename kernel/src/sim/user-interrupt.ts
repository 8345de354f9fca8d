/**
 * How a long `Simulation.run()` hears that the user interrupted it (a notebook's stop button).
 *
 * The notebook kernel installs a check here (display/runtime.ts does, with the runtime): a cheap
 * read of a flag that another thread sets at once. The engine reads it between events, every
 * 64 of them, and stops there with a {@link SimulationStopped} — an event boundary, where every
 * process is either queued, waiting or finished, so a later `run()` carries on exactly as if
 * nothing had happened. Without it the kernel's last resort is SIGINT, which V8 turns into an
 * exception at an arbitrary instruction, possibly inside a process's step.
 *
 * Kept on `globalThis` under a registered symbol, as the notebook runtime is, so that two copies
 * of this module (the kernel's and one a cell resolved elsewhere) share it.
 */
const KEY = Symbol.for("mmulab.sim.userInterrupt");

type Holder = { [KEY]?: (() => boolean) | null };

/** Installs (or, with null, removes) the check `run()` polls. */
export function setUserInterruptCheck(check: (() => boolean) | null): void {
  (globalThis as Holder)[KEY] = check;
}

/** The installed check, or null outside a notebook kernel. */
export function userInterruptCheck(): (() => boolean) | null {
  return (globalThis as Holder)[KEY] ?? null;
}
