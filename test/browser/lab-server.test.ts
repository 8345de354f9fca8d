/**
 * lab-app/serve.py without a browser: what JupyterLab's front end asks Debian's jupyter_server and
 * jupyterlab_server for, and that idle kernels end instead of piling up.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lab, requirePrerequisites, startLab } from "./lab.js";

interface Kernel {
  readonly id: string;
  readonly name: string;
}

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > end) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("serve.py: the APIs JupyterLab uses, on Debian's jupyter_server", () => {
  let lab: Lab;
  let root: string;

  beforeAll(async () => {
    requirePrerequisites({ kernel: true });
    root = mkdtempSync(join(tmpdir(), "mmulab-lab-server-"));
    mkdirSync(join(root, "sub"));
    // Kernels idle for 2 s with no browser connected end; checked every second.
    lab = await startLab(root, {
      args: [
        "--MappingKernelManager.cull_idle_timeout=2",
        "--MappingKernelManager.cull_interval=1",
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await lab?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("serves the JupyterLab page with its page config", async () => {
    const html = await (await fetch(`${lab.origin}/lab/tree/sub?token=${lab.token}`)).text();
    const json =
      /<script id="jupyter-config-data" type="application\/json">([\s\S]*?)<\/script>/.exec(
        html,
      )?.[1];
    expect(json).toBeDefined();
    const config = JSON.parse(json ?? "{}") as Record<string, unknown>;
    expect(config["appName"]).toBe("JupyterLab");
    expect(config["treePath"]).toBe("sub");
    expect(config["fullStaticUrl"]).toBe("/static/mmulab_lab");
    expect(config["disabledExtensions"]).toEqual(["@jupyterlab/apputils-extension:announcements"]);
    const federated = config["federated_extensions"] as { name: string }[];
    expect(federated.map((e) => e.name)).toContain("@mmulab/lab-extension");
    // The page loads the bundle it names.
    const main = /src="\/static\/mmulab_lab\/(main\.[0-9a-f]+\.js)"/.exec(html)?.[1];
    expect(main).toBeDefined();
    const bundle = await fetch(`${lab.origin}/static/mmulab_lab/${main}`);
    expect(bundle.status).toBe(200);
  });

  it("has the core extensions' settings schemas, the themes and the licenses", async () => {
    const { settings } = await lab.api<{ settings: { id: string }[] }>("/lab/api/settings/");
    const ids = settings.map((s) => s.id);
    for (const id of [
      "@jupyterlab/notebook-extension:tracker",
      "@jupyterlab/completer-extension:manager",
      "@jupyterlab/apputils-extension:themes",
      "@jupyterlab/shortcuts-extension:shortcuts",
    ]) {
      expect(ids).toContain(id);
    }
    const theme = await fetch(
      `${lab.origin}/lab/api/themes/@jupyterlab/theme-dark-extension/index.css?token=${lab.token}`,
    );
    expect(theme.status).toBe(200);
    expect(await theme.text()).toContain("--jp-layout-color0");
    const licenses = await lab.api<{ bundles: Record<string, { packages: { name: string }[] }> }>(
      "/lab/api/licenses/",
    );
    const names = licenses.bundles["@mmulab/lab-app"]?.packages.map((p) => p.name) ?? [];
    expect(names).toContain("@jupyterlab/notebook");
    expect(names).toContain("@lumino/widgets");
  });

  it("answers /api/me and lists the installed prebuilt extensions", async () => {
    const me = await lab.api<{ identity: { username: string }; permissions: unknown }>(
      `/api/me?permissions=${encodeURIComponent('{"contents":["read"]}')}`,
    );
    expect(me.identity.username).not.toBe("");
    expect(me.permissions).toEqual({ contents: ["read"] });
    const extensions =
      await lab.api<{ name: string; enabled: boolean; pkg_type: string }[]>("/lab/api/extensions");
    expect(extensions).toContainEqual(
      expect.objectContaining({
        name: "@mmulab/lab-extension",
        enabled: true,
        pkg_type: "prebuilt",
      }),
    );
    // Installing needs pip, which this JupyterLab does not have: a clear refusal.
    const install = await fetch(`${lab.origin}/lab/api/extensions`, {
      method: "POST",
      headers: { Authorization: `token ${lab.token}` },
      body: JSON.stringify({ cmd: "install", extension_name: "some-extension" }),
    });
    expect(install.status).toBe(422);
  });

  it("shuts down a kernel left idle with no browser connected", async () => {
    const started = await lab.api<Kernel>("/api/kernels", {
      method: "POST",
      body: JSON.stringify({ name: "mmulab" }),
    });
    expect(started.name).toBe("mmulab");
    const left = await until(
      () => lab.api<Kernel[]>("/api/kernels"),
      (ks) => !ks.some((k) => k.id === started.id),
      60_000,
    );
    expect(left.map((k) => k.id)).not.toContain(started.id);
    expect(lab.log()).toMatch(/Culling kernels with idle durations > 2 seconds/);
  }, 90_000);
});
