/**
 * Runs Debian's `spin` on docs/models/mmu_race.pml: `spin -a`, `gcc -o pan pan.c`, `./pan`.
 *
 * `SpinVerifier.compile()` builds one verifier with -DPARAMS_FROM_ENV, which reads the model's
 * parameters from the environment, so every race-matrix cell is checked by the same binary (a
 * `pan` compile takes about a second; a run takes milliseconds). `compileFixed(params)` builds
 * the plain-Promela form with -D parameters, as a person would run it by hand.
 *
 * Verdict: "assertion violated" in pan's output means the walker can read a freed table; "errors:
 * 0" means it cannot. Anything else (an invalid end state, a search cut short) is a broken model
 * and throws.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MmulabError } from "../sim/errors.js";
import type { PromelaParams } from "./promela.js";

/** docs/models/mmu_race.pml, from kernel/src/explore or kernel/dist/explore alike. */
export const PROMELA_MODEL = fileURLToPath(
  new URL("../../../docs/models/mmu_race.pml", import.meta.url),
);

export class SpinUnavailableError extends MmulabError {
  constructor(tool: string, cause: string) {
    super(
      `${tool} is not available (${cause}); install Debian's spin and gcc: apt-get install spin gcc`,
    );
  }
}

export interface SpinVerdict {
  readonly uafReachable: boolean;
  /** "N states, stored" from pan. */
  readonly states: number;
  readonly output: string;
}

function run(cmd: string, args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): string {
  try {
    return execFileSync(cmd, [...args], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      ...(env ? { env } : {}),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (err.code === "ENOENT") throw new SpinUnavailableError(cmd, "not found on PATH");
    throw new MmulabError(
      `${cmd} ${args.join(" ")} failed: ${err.message}\n${err.stdout ?? ""}${err.stderr ?? ""}`,
    );
  }
}

function defines(params: PromelaParams): string[] {
  return Object.entries(params).map(([k, v]) => `-D${k}=${String(v)}`);
}

/** Reads pan's report. */
export function parsePan(output: string): SpinVerdict {
  const m = /(\d+) states, stored/.exec(output);
  const states = m ? Number(m[1]) : -1;
  if (/assertion violated/.test(output)) return { uafReachable: true, states, output };
  if (/max search depth too small/.test(output) || !/errors: 0\b/.test(output))
    throw new MmulabError(`spin: unexpected verifier result (a model error?):\n${output}`);
  return { uafReachable: false, states, output };
}

export class SpinVerifier {
  readonly dir: string;
  private envPan: string | null = null;

  /** Works in a fresh temporary directory (`dispose` removes it). */
  constructor(readonly model: string = PROMELA_MODEL) {
    if (!existsSync(model)) throw new MmulabError(`Promela model not found: ${model}`);
    this.dir = mkdtempSync(join(tmpdir(), "mmulab-spin-"));
  }

  private build(name: string, spinArgs: readonly string[]): string {
    const sub = join(this.dir, name);
    mkdirSync(sub, { recursive: true });
    run("spin", [...spinArgs, "-a", this.model], sub);
    // -DSAFETY: safety properties only (assertions, end states); -O1 compiles fast enough
    run("gcc", ["-O1", "-DSAFETY", "-o", "pan", "pan.c"], sub);
    return join(sub, "pan");
  }

  /** Compiles the verifier that reads its parameters from the environment. */
  compile(): void {
    this.envPan ??= this.build("env", ["-DPARAMS_FROM_ENV"]);
  }

  private static pan(pan: string, env?: NodeJS.ProcessEnv): SpinVerdict {
    // -m: search depth; -w: 2^w hash slots (small models, small table: start-up is faster)
    return parsePan(run(pan, ["-m100000", "-w16"], join(pan, ".."), env));
  }

  /** Checks one cell with the shared verifier. */
  check(params: PromelaParams): SpinVerdict {
    this.compile();
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [k, v] of Object.entries(params)) env[k] = String(v);
    return SpinVerifier.pan(this.envPan!, env);
  }

  /** Compiles and checks one cell in the model's plain form (-D parameters, no embedded C). */
  checkFixed(params: PromelaParams): SpinVerdict {
    const name = `fixed-${Object.values(params).join("")}`;
    return SpinVerifier.pan(this.build(name, defines(params)));
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
