/**
 * The guest's artefacts: the workload program (kernel/validate-c/mmulab-wl.c) built static with
 * Debian's gcc, and an initramfs holding it, busybox and /init (kernel/validate-c/init.sh).
 * Cached under `cacheDir/<key>/`, the key a hash of every input (the sources, `gcc --version`,
 * the busybox binary), so a second run reuses them and a changed input rebuilds.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MmulabError } from "../sim/errors.js";
import { makeInitramfs } from "./cpio.js";
import type { GuestTools } from "./host.js";

/** kernel/validate-c, from src/validate or dist/validate alike. */
export const C_SOURCE_DIR = fileURLToPath(new URL("../../validate-c/", import.meta.url));
/** kernel/.cache/validate (gitignored). */
export const DEFAULT_CACHE_DIR = fileURLToPath(new URL("../../.cache/validate/", import.meta.url));

export class GuestBuildError extends MmulabError {}

export interface GuestArtefacts {
  readonly key: string;
  readonly initramfs: string;
  readonly program: string;
}

function sha256(...parts: (string | Buffer)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex");
}

/** Builds (or finds in the cache) the workload program and the initramfs. */
export function buildGuest(
  tools: GuestTools,
  cacheDir: string = DEFAULT_CACHE_DIR,
): GuestArtefacts {
  const source = readFileSync(join(C_SOURCE_DIR, "mmulab-wl.c"));
  const init = readFileSync(join(C_SOURCE_DIR, "init.sh"));
  const busybox = readFileSync(tools.busybox);
  const gccVersion = execFileSync(tools.gcc, ["--version"], { encoding: "utf8", timeout: 30_000 });
  const key = sha256(source, init, gccVersion, sha256(busybox)).slice(0, 16);
  const dir = join(cacheDir, key);
  const artefacts = {
    key,
    initramfs: join(dir, "initramfs.cpio.gz"),
    program: join(dir, "mmulab-wl"),
  };
  if (existsSync(artefacts.initramfs) && existsSync(artefacts.program)) return artefacts;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = mkdtempSync(join(cacheDir, `.build-${key}-`));
  try {
    const program = join(tmp, "mmulab-wl");
    try {
      execFileSync(
        tools.gcc,
        ["-O2", "-Wall", "-static", "-pthread", "-o", program, join(C_SOURCE_DIR, "mmulab-wl.c")],
        { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 },
      );
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new GuestBuildError(
        `gcc could not build the workload program: ${err.stderr?.toString().trim() || err.message}`,
      );
    }
    const image = makeInitramfs([
      { kind: "dir", path: "bin" },
      { kind: "dir", path: "dev" },
      { kind: "chardev", path: "dev/console", major: 5, minor: 1 },
      { kind: "dir", path: "proc" },
      { kind: "dir", path: "sys" },
      { kind: "dir", path: "tmp", mode: 0o1777 },
      { kind: "file", path: "bin/busybox", data: busybox, mode: 0o755 },
      { kind: "file", path: "init", data: init, mode: 0o755 },
      { kind: "file", path: "mmulab-wl", data: readFileSync(program), mode: 0o755 },
    ]);
    writeFileSync(join(tmp, "initramfs.cpio.gz"), image);
    try {
      renameSync(tmp, dir);
    } catch {
      // another run built the same key meanwhile: use theirs
      if (!existsSync(artefacts.initramfs)) throw new GuestBuildError(`cannot create ${dir}`);
    }
    return artefacts;
  } finally {
    if (existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
  }
}
