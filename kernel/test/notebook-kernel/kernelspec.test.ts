import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { commands } from "../../src/cli/commands.js";
import {
  DISPLAY_NAME,
  installKernelSpec,
  KERNEL_MAIN,
  kernelSpec,
  prefixDataDir,
  uninstallKernelSpec,
  userDataDir,
} from "../../src/notebook-kernel/kernelspec.js";
import { captureIO } from "../support/io.js";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "mmulab-spec-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("the mmulab kernelspec", () => {
  it("runs this Node on the built front with the connection file", () => {
    const spec = kernelSpec();
    expect(spec.argv).toEqual([
      process.execPath,
      KERNEL_MAIN,
      "--connection-file",
      "{connection_file}",
    ]);
    expect(spec.display_name).toBe("mmulab (TypeScript)");
    expect(spec.language).toBe("typescript");
    expect(spec.interrupt_mode).toBe("message");
  });

  it("installs kernel.json and a logo, idempotently, and uninstalls", () => {
    const data = tmp();
    const first = installKernelSpec(data);
    expect(first.changed).toBe(true);
    expect(first.path).toBe(join(data, "kernels", "mmulab"));
    const json = JSON.parse(readFileSync(join(first.path, "kernel.json"), "utf8")) as {
      display_name: string;
    };
    expect(json.display_name).toBe(DISPLAY_NAME);
    expect(readFileSync(join(first.path, "logo-svg.svg"), "utf8")).toContain("<svg");
    expect(installKernelSpec(data).changed).toBe(false);
    expect(uninstallKernelSpec(data)).toBe(true);
    expect(uninstallKernelSpec(data)).toBe(false);
    expect(() => installKernelSpec(data, { name: "../evil" })).toThrow(/kernel name/);
  });

  it("finds Jupyter's data directories as jupyter_core does", () => {
    expect(userDataDir({ JUPYTER_DATA_DIR: "/j" }, "linux", "/home/u")).toBe("/j");
    expect(userDataDir({}, "linux", "/home/u")).toBe("/home/u/.local/share/jupyter");
    expect(userDataDir({ XDG_DATA_HOME: "/x" }, "linux", "/home/u")).toBe("/x/jupyter");
    expect(userDataDir({}, "darwin", "/Users/u")).toBe("/Users/u/Library/Jupyter");
    expect(prefixDataDir("/opt/venv")).toBe("/opt/venv/share/jupyter");
  });

  it("is installed by `mmulab kernel install`", async () => {
    const data = tmp();
    const io = captureIO();
    expect(await runCli(["kernel", "install", "--data-dir", data, "--json"], io, commands)).toBe(0);
    const out = JSON.parse(io.stdout()) as { path: string; changed: boolean; where: string };
    expect(out).toMatchObject({
      path: join(data, "kernels", "mmulab"),
      changed: true,
      where: "data-dir",
    });
    const spec = captureIO();
    expect(await runCli(["kernel", "spec", "--json"], spec, commands)).toBe(0);
    expect(JSON.parse(spec.stdout())).toEqual(JSON.parse(JSON.stringify(kernelSpec())));
    const bad = captureIO();
    expect(await runCli(["kernel", "install", "--user", "--data-dir", data], bad, commands)).toBe(
      2,
    );
    expect(bad.stderr()).toContain("at most one of --user, --prefix and --data-dir");
    const unknown = captureIO();
    expect(await runCli(["kernel", "frobnicate"], unknown, commands)).toBe(2);
  });
});
