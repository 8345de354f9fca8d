#!/usr/bin/env node
// The Debian packages `npm start` and `npm test` need (listed in scripts/debian-packages):
// which are missing, and installing them when this process may (root, or passwordless sudo),
// showing what it installs; otherwise it names the one command to run. The bootstrap calls
// ensureSystemPackages() before anything else. Dependency-free (node: builtins only).
//
//   node scripts/system-packages.mjs [start|test] [--dry-run]
//     prints what is missing and what would run (--dry-run: runs nothing), else installs
//
// MMULAB_APT=dry-run makes the bootstrap only say what it would install; MMULAB_APT=off skips this
// step (then the tests that need a package fail naming it).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const LIST = join(dirname(fileURLToPath(import.meta.url)), "debian-packages");

/** The sections of the list, in the order a command needs them: `test` installs `start` too. */
export const SECTIONS = /** @type {const} */ (["start", "test"]);
/** @typedef {(typeof SECTIONS)[number]} Section */

// Debian policy: lower case letters, digits, + - . ; at least two characters, alphanumeric first.
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

/**
 * Parses the list: `[start]`/`[test]` section lines, one package per line, `#` comments.
 * @param {string} text
 * @param {string} [source] for error messages
 * @returns {Record<Section, string[]>}
 */
export function parsePackageList(text, source = "debian-packages") {
  /** @type {Record<Section, string[]>} */
  const sections = { start: [], test: [] };
  /** @type {Section | null} */
  let section = null;
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const where = `${source}:${i + 1}`;
    const header = /^\[(.*)\]$/.exec(line);
    if (header !== null) {
      const name = header[1] ?? "";
      if (!(/** @type {readonly string[]} */ (SECTIONS).includes(name))) {
        throw new Error(
          `${where}: unknown section [${name}]; expected one of [${SECTIONS.join("], [")}]`,
        );
      }
      section = /** @type {Section} */ (name);
      return;
    }
    if (!PACKAGE_NAME.test(line)) {
      throw new Error(
        `${where}: ${JSON.stringify(line)} is not a Debian package name (one per line)`,
      );
    }
    if (section === null)
      throw new Error(`${where}: ${line} comes before any [start] or [test] line`);
    sections[section].push(line);
  });
  return sections;
}

/**
 * The packages `section` needs: its own and those of the sections before it, without duplicates.
 * @param {Record<Section, string[]>} sections
 * @param {Section} section
 */
export function packagesFor(sections, section) {
  const upTo = SECTIONS.slice(0, SECTIONS.indexOf(section) + 1);
  return [...new Set(upTo.flatMap((s) => sections[s]))];
}

/**
 * Which of `packages` dpkg reports installed (status "ii"). Null when dpkg-query is unavailable
 * (not a Debian-like system).
 * @param {readonly string[]} packages
 * @returns {Set<string> | null}
 */
export function installedPackages(packages) {
  if (packages.length === 0) return new Set();
  const r = spawnSync("dpkg-query", ["-W", "-f=${Package} ${db:Status-Abbrev}\\n", ...packages], {
    encoding: "utf8",
  });
  if (r.error !== undefined) return null;
  // Unknown packages make dpkg-query exit 1 and print nothing for them: that is "missing".
  const installed = new Set();
  for (const line of r.stdout.split("\n")) {
    const [name, status] = line.trim().split(/\s+/);
    if (name !== undefined && status !== undefined && status.startsWith("ii")) installed.add(name);
  }
  return installed;
}

/**
 * @typedef {object} Machine
 * @property {Set<string> | null} installed  installed packages (null: no dpkg here)
 * @property {boolean} aptGet  apt-get is on PATH
 * @property {boolean} root    this process runs as root
 * @property {boolean} sudo    `sudo -n true` succeeds (passwordless sudo)
 */

/**
 * @typedef {object} Plan
 * @property {"none" | "install" | "instruct" | "unsupported"} action
 *   none: nothing missing; install: run `commands`; instruct: cannot install, tell the user
 *   `hint`; unsupported: no dpkg/apt-get here, say what is needed
 * @property {string[]} missing
 * @property {string[][]} commands  argv of each command to run, in order (action "install")
 * @property {string} hint  the one command a person runs to install `missing`
 */

/**
 * What to do about `packages` on `machine`. Pure: the tests check it with made-up machines.
 * @param {readonly string[]} packages
 * @param {Machine} machine
 * @returns {Plan}
 */
export function planInstall(packages, machine) {
  const installed = machine.installed;
  const missing = installed === null ? [...packages] : packages.filter((p) => !installed.has(p));
  const install = ["install", "-y", "-q", "--no-install-recommends", ...missing];
  const hint = `sudo apt-get update && sudo apt-get ${["install", "-y", "--no-install-recommends", ...missing].join(" ")}`;
  if (missing.length === 0) return { action: "none", missing, commands: [], hint: "" };
  if (installed === null || !machine.aptGet) {
    return { action: "unsupported", missing, commands: [], hint };
  }
  // sudo resets the environment: pass DEBIAN_FRONTEND through env(1).
  const prefix = machine.root
    ? []
    : machine.sudo
      ? ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive"]
      : null;
  if (prefix === null) return { action: "instruct", missing, commands: [], hint };
  return {
    action: "install",
    missing,
    commands: [
      [...prefix, "apt-get", "update", "-q"],
      [...prefix, "apt-get", ...install],
    ],
    hint,
  };
}

/** @param {string} command */
function onPath(command) {
  const dirs = (process.env["PATH"] ?? "").split(":").filter((d) => d !== "");
  return dirs.some((d) => existsSync(join(d, command)));
}

/**
 * This machine, for {@link planInstall}.
 * @param {readonly string[]} packages
 * @returns {Machine}
 */
export function probeMachine(packages) {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const sudo =
    !root && onPath("sudo") && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0;
  return { installed: installedPackages(packages), aptGet: onPath("apt-get"), root, sudo };
}

/** `jupyter lab` 4.x's version when one is on PATH, else null (then `npm start` serves lab-app). */
export function stockLabVersion() {
  const probe = spawnSync("jupyter", ["lab", "--version"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0) return null;
  const version = probe.stdout.trim();
  return /^4\./.test(version) ? version : null;
}

/**
 * Makes sure the packages `section` needs are installed: installs the missing ones when it may,
 * showing the commands and apt-get's output; returns false (after saying which command to run)
 * when it cannot. `npm start` needs no [start] packages when a stock `jupyter lab` 4.x exists.
 * @param {Section} section
 * @param {{ dryRun?: boolean, log?: (message: string) => void, listFile?: string }} [options]
 * @returns {boolean} true when everything needed is there (or was installed, or cannot be
 *   checked on this system)
 */
export function ensureSystemPackages(section, options = {}) {
  const log = options.log ?? ((m) => process.stderr.write(`system-packages: ${m}\n`));
  const listFile = options.listFile ?? LIST;
  const sections = parsePackageList(readFileSync(listFile, "utf8"), listFile);
  if (section === "start" && sections.start.length > 0) {
    const stock = stockLabVersion();
    if (stock !== null) {
      log(`JupyterLab ${stock} is on PATH: the Debian Jupyter server packages are not needed`);
      sections.start = [];
    }
  }
  const packages = packagesFor(sections, section);
  const plan = planInstall(packages, probeMachine(packages));
  switch (plan.action) {
    case "none":
      return true;
    case "unsupported":
      log(
        `no dpkg/apt-get here; \`npm ${section}\` needs these Debian packages or their equivalents: ` +
          plan.missing.join(" "),
      );
      return true;
    case "instruct":
      log(`missing Debian packages: ${plan.missing.join(" ")}`);
      log(
        `this user cannot install them (not root, no passwordless sudo); run:\n\n  ${plan.hint}\n`,
      );
      return false;
    case "install": {
      log(`installing missing Debian packages: ${plan.missing.join(" ")}`);
      for (const argv of plan.commands) {
        log(`${options.dryRun === true ? "would run" : "running"}: ${argv.join(" ")}`);
        if (options.dryRun === true) continue;
        const [command, ...args] = argv;
        const r = spawnSync(/** @type {string} */ (command), args, {
          stdio: "inherit",
          env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
        });
        if (r.error !== undefined || r.status !== 0) {
          log(
            `${argv.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`}); to retry by hand:\n\n  ${plan.hint}\n`,
          );
          return false;
        }
      }
      return (
        options.dryRun === true || installedPackages(plan.missing)?.size === plan.missing.length
      );
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const section = /** @type {Section} */ (args.find((a) => !a.startsWith("--")) ?? "test");
  if (!(/** @type {readonly string[]} */ (SECTIONS).includes(section))) {
    process.stderr.write(`usage: node scripts/system-packages.mjs [start|test] [--dry-run]\n`);
    process.exit(2);
  }
  process.exit(ensureSystemPackages(section, { dryRun: args.includes("--dry-run") }) ? 0 : 1);
}
