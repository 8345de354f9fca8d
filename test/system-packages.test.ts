// The Debian-package step of `npm start` and `npm test` (scripts/system-packages.mjs): the list's
// format, what it decides on machines where it may or may not install, and a dry run on this one.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ensureSystemPackages,
  installedPackages,
  LIST,
  packagesFor,
  parsePackageList,
  planInstall,
  probeMachine,
} from "../scripts/system-packages.mjs";

describe("the package list", () => {
  it("parses sections, one package per line, and comments", () => {
    const list = parsePackageList(
      "# header\n[start]\n# the server\npython3-jupyter-server  # trailing\n\n[test]\nchromium\ng++\n",
    );
    expect(list).toEqual({ start: ["python3-jupyter-server"], test: ["chromium", "g++"] });
    // `npm test` needs what `npm start` needs too.
    expect(packagesFor(list, "start")).toEqual(["python3-jupyter-server"]);
    expect(packagesFor(list, "test")).toEqual(["python3-jupyter-server", "chromium", "g++"]);
  });

  it("names the line of a mistake", () => {
    expect(() => parsePackageList("[start]\nchromium gcc\n", "list")).toThrow(
      'list:2: "chromium gcc" is not a Debian package name (one per line)',
    );
    expect(() => parsePackageList("chromium\n", "list")).toThrow(
      "list:1: chromium comes before any [start] or [test] line",
    );
    expect(() => parsePackageList("[build]\n", "list")).toThrow(
      "list:1: unknown section [build]; expected one of [start], [test]",
    );
  });

  it("the committed list has JupyterLab's server under [start] and Chromium under [test]", () => {
    const list = parsePackageList(readFileSync(LIST, "utf8"), LIST);
    expect(list.start).toEqual(
      expect.arrayContaining(["python3-jupyter-server", "python3-jupyterlab-server"]),
    );
    expect(list.test).toEqual(expect.arrayContaining(["chromium", "python3-nbclient"]));
    const all = packagesFor(list, "test");
    expect(new Set(all).size).toBe(all.length);
  });
});

describe("planInstall", () => {
  const packages = ["chromium", "spin", "gcc"];
  const installed = new Set(["gcc"]);

  it("does nothing when every package is installed", () => {
    const plan = planInstall(packages, {
      installed: new Set(packages),
      aptGet: true,
      root: false,
      sudo: false,
    });
    expect(plan).toEqual({ action: "none", missing: [], commands: [], hint: "" });
  });

  it("as root: apt-get update, then installs only the missing ones without recommends", () => {
    const plan = planInstall(packages, { installed, aptGet: true, root: true, sudo: false });
    expect(plan.action).toBe("install");
    expect(plan.missing).toEqual(["chromium", "spin"]);
    expect(plan.commands).toEqual([
      ["apt-get", "update", "-q"],
      ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", "spin"],
    ]);
  });

  it("with passwordless sudo: the same through sudo -n, DEBIAN_FRONTEND kept", () => {
    const plan = planInstall(packages, { installed, aptGet: true, root: false, sudo: true });
    expect(plan.action).toBe("install");
    const sudo = ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive"];
    expect(plan.commands).toEqual([
      [...sudo, "apt-get", "update", "-q"],
      [...sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", "spin"],
    ]);
  });

  it("otherwise: runs nothing and gives the one command to run", () => {
    const plan = planInstall(packages, { installed, aptGet: true, root: false, sudo: false });
    expect(plan.action).toBe("instruct");
    expect(plan.commands).toEqual([]);
    expect(plan.hint).toBe(
      "sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium spin",
    );
  });

  it("without dpkg or apt-get: says what is needed, installs nothing", () => {
    expect(
      planInstall(packages, { installed: null, aptGet: false, root: true, sudo: false }).action,
    ).toBe("unsupported");
    expect(planInstall(packages, { installed, aptGet: false, root: true, sudo: false })).toEqual(
      expect.objectContaining({ action: "unsupported", missing: ["chromium", "spin"] }),
    );
  });
});

describe("on this machine", () => {
  const dir = mkdtempSync(join(tmpdir(), "mmulab-packages-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("dpkg reports installed packages and not unknown ones", () => {
    const found = installedPackages(["dpkg", "mmulab-no-such-package"]);
    expect(found).not.toBeNull();
    expect(found?.has("dpkg")).toBe(true);
    expect(found?.has("mmulab-no-such-package")).toBe(false);
  });

  it("a dry run shows what it would install, or the command when it may not", () => {
    const list = join(dir, "debian-packages");
    writeFileSync(list, "[start]\ndpkg\n[test]\nmmulab-no-such-package\n");
    const lines: string[] = [];
    const ok = ensureSystemPackages("test", {
      dryRun: true,
      listFile: list,
      log: (m) => lines.push(m),
    });
    const text = lines.join("\n");
    const machine = probeMachine(["dpkg", "mmulab-no-such-package"]);
    if (machine.root || machine.sudo) {
      expect(ok).toBe(true);
      expect(text).toContain("installing missing Debian packages: mmulab-no-such-package");
      expect(text).toMatch(/would run: (sudo .*)?apt-get update -q/);
      expect(text).toMatch(
        /would run: (sudo .*)?apt-get install -y -q --no-install-recommends mmulab-no-such-package$/m,
      );
    } else {
      expect(ok).toBe(false);
      expect(text).toContain(
        "sudo apt-get update && sudo apt-get install -y --no-install-recommends mmulab-no-such-package",
      );
    }
    // dpkg is installed: never in the plan.
    expect(text).not.toMatch(/install.* dpkg\b/);
  });
});
