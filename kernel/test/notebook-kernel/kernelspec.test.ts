import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
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
import { makeDirectory } from "../../src/notebook-kernel/make-dir.js";
import { ParameterError } from "../../src/sim/errors.js";
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
    expect(() => installKernelSpec(data, { name: "../evil" })).toThrow(ParameterError);
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

describe("kernelspec names cannot reach outside kernels/<name>", () => {
  /** root/outer/data is the data directory; root/outer holds a file that must survive. */
  function layout(): { outer: string; data: string; keep: string } {
    const outer = join(tmp(), "outer");
    const data = join(outer, "data");
    mkdirSync(join(data, "kernels", "other"), { recursive: true });
    writeFileSync(join(data, "kernels", "other", "kernel.json"), "{}");
    const keep = join(outer, "keep.txt");
    writeFileSync(keep, "precious");
    return { outer, data, keep };
  }

  it.each(["../..", "..", ".", "../other", "a/b", "", "name with space", "über"])(
    "`kernel uninstall --name %j` deletes nothing and exits 2",
    async (name) => {
      const { data, keep } = layout();
      const io = captureIO();
      const code = await runCli(
        ["kernel", "uninstall", "--data-dir", data, `--name=${name}`],
        io,
        commands,
      );
      expect(code).toBe(2);
      expect(io.stderr()).toContain("name");
      expect(existsSync(keep)).toBe(true);
      expect(existsSync(join(data, "kernels", "other", "kernel.json"))).toBe(true);
    },
  );

  it.each(["..", ".", "../x", "../../x"])(
    "`kernel install --name %j` writes nothing outside kernels/ and exits 2",
    async (name) => {
      const { outer, data } = layout();
      const io = captureIO();
      expect(
        await runCli(["kernel", "install", "--data-dir", data, `--name=${name}`], io, commands),
      ).toBe(2);
      expect(existsSync(join(data, "kernel.json"))).toBe(false);
      expect(existsSync(join(data, "kernels", "kernel.json"))).toBe(false);
      expect(existsSync(join(outer, "kernel.json"))).toBe(false);
      expect(existsSync(join(outer, "x"))).toBe(false);
    },
  );

  it("refuses the names in the library functions with a ParameterError naming the name", () => {
    const { data, keep } = layout();
    for (const name of ["..", "../..", "."]) {
      expect(() => uninstallKernelSpec(data, name)).toThrow(ParameterError);
      expect(() => installKernelSpec(data, { name })).toThrow(/name = /);
    }
    expect(existsSync(keep)).toBe(true);
    expect(existsSync(join(data, "kernels", "other"))).toBe(true);
  });

  it("accepts every name jupyter_client accepts, other than '.' and '..'", () => {
    const data = tmp();
    for (const name of ["mmulab", "My.Kernel-2_x", "...", "a..b"]) {
      const r = installKernelSpec(data, { name });
      expect(r.path).toBe(join(data, "kernels", name));
      expect(uninstallKernelSpec(data, name)).toBe(true);
    }
  });

  it("removes only a kernelspec directory, and a symbolic link itself, not its target", () => {
    const { outer, data } = layout();
    mkdirSync(join(data, "kernels", "plain"));
    writeFileSync(join(data, "kernels", "plain", "notes.txt"), "not a kernelspec");
    expect(uninstallKernelSpec(data, "plain")).toBe(false);
    expect(existsSync(join(data, "kernels", "plain", "notes.txt"))).toBe(true);

    const target = join(outer, "elsewhere");
    mkdirSync(target);
    writeFileSync(join(target, "kernel.json"), "{}");
    symlinkSync(target, join(data, "kernels", "linked"), "dir");
    expect(uninstallKernelSpec(data, "linked")).toBe(true);
    expect(existsSync(join(data, "kernels", "linked"))).toBe(false);
    expect(existsSync(join(target, "kernel.json"))).toBe(true);
  });
});

describe("makeDirectory (mkdir -p one level at a time)", () => {
  it("makes missing parents, accepts an existing directory, refuses a file on the way", () => {
    const root = tmp();
    makeDirectory(join(root, "a", "b", "c"));
    expect(existsSync(join(root, "a", "b", "c"))).toBe(true);
    makeDirectory(join(root, "a", "b"));
    writeFileSync(join(root, "f"), "x");
    expect(() => makeDirectory(join(root, "f", "x"))).toThrow(/ENOTDIR/);
    expect(() => makeDirectory(join(root, "f"))).toThrow(/EEXIST/);
  });
});
