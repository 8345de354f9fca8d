/**
 * `mkdir -p` one level at a time, for directories a user names.
 *
 * Node's own `mkdirSync(path, { recursive: true })` never returns where a parent exists but
 * cannot hold children: procfs answers ENOENT (not EPERM) to mkdir of an absent child, so the
 * recursive walk takes the child's parent for missing, finds it exists (EEXIST), steps forward,
 * gets ENOENT again, and so on at 100 % CPU (`mmulab kernel install --data-dir /proc/x` hung).
 * Here an ENOENT from a directory whose parent exists is final: it is thrown.
 *
 * Node builtins only, like kernelspec.ts (scripts/bootstrap.mjs imports that before the rest).
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

function errnoCode(e: unknown): unknown {
  return e !== null && typeof e === "object" && "code" in e ? e.code : undefined;
}

/** Makes `path` and any missing parents; throws the file system's error (ENOTDIR, EACCES, …). */
export function makeDirectory(path: string): void {
  const missing: string[] = [];
  let p = resolve(path);
  for (;;) {
    try {
      // exists: a file where the directory should be is mkdir's own EEXIST, a file on the way
      // is ENOTDIR from the mkdir below
      if (!statSync(p).isDirectory() && missing.length === 0) mkdirSync(p);
      break;
    } catch (e) {
      if (errnoCode(e) !== "ENOENT") throw e;
    }
    const up = dirname(p);
    missing.push(p);
    if (up === p) break;
    p = up;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (e) {
      // created meanwhile by someone else: fine if it is a directory now
      if (errnoCode(e) !== "EEXIST" || !statSync(dir).isDirectory()) throw e;
    }
  }
}
