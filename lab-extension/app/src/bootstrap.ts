/**
 * Entry point of the notebook app, and its module-federation boundary. It loads the prebuilt
 * (federated) extensions the way JupyterLab's own bootstrap does: read the page config, load each
 * extension's remoteEntry script, initialise webpack's "default" share scope, `container.init` it,
 * then get the `./extension` (plugins), `./mimeExtension` (renderers) and `./style` modules. Only
 * then is the app itself imported, so the shared modules (Lumino, JupyterLab) are resolved once, by
 * version, for both sides.
 *
 * This file must import nothing shared: it runs before the share scope exists.
 */

declare const __webpack_init_sharing__: (scope: string) => Promise<void>;
declare const __webpack_share_scopes__: { default: unknown };

/** A federated extension as jupyterlab_server lists it in `page_config.federated_extensions`. */
export interface FederatedExtension {
  readonly name: string;
  readonly load: string;
  readonly extension?: string;
  readonly mimeExtension?: string;
  readonly style?: string;
}

interface Container {
  init(scope: unknown): Promise<void> | void;
  get(module: string): Promise<() => unknown>;
}

/** What the app receives: loaded mime-extension and plugin modules, and what failed to load (by
 * name). */
export interface LoadedExtensions {
  readonly mime: { readonly name: string; readonly module: unknown }[];
  readonly plugins: { readonly name: string; readonly module: unknown }[];
  readonly failed: { readonly name: string; readonly error: string }[];
}

function pageConfig(): Record<string, unknown> {
  const el = document.getElementById("jupyter-config-data");
  if (el === null || el.textContent === null) return {};
  return JSON.parse(el.textContent) as Record<string, unknown>;
}

function loadScript(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.async = true;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load ${url}`));
    document.head.appendChild(script);
  });
}

function container(name: string): Container {
  const registry = (window as unknown as { _JUPYTERLAB?: Record<string, Container> })._JUPYTERLAB;
  const found = registry?.[name];
  if (found === undefined) throw new Error(`${name}: remoteEntry did not register a container`);
  return found;
}

async function moduleOf(name: string, module: string): Promise<unknown> {
  const factory = await container(name).get(module);
  return factory();
}

function join(...parts: string[]): string {
  return parts
    .map((p, i) => (i === 0 ? p.replace(/\/+$/, "") : p.replace(/^\/+|\/+$/g, "")))
    .filter((p) => p !== "")
    .join("/");
}

export async function loadFederatedExtensions(): Promise<LoadedExtensions> {
  const config = pageConfig();
  const base =
    typeof config["fullLabextensionsUrl"] === "string" ? config["fullLabextensionsUrl"] : "";
  const listed = Array.isArray(config["federated_extensions"])
    ? (config["federated_extensions"] as FederatedExtension[])
    : [];
  // Mime renderers, and plugins (activated by index.ts with the few services this app provides).
  const wanted = listed.filter(
    (e) => typeof e.mimeExtension === "string" || typeof e.extension === "string",
  );
  const loaded: LoadedExtensions = { mime: [], plugins: [], failed: [] };
  await __webpack_init_sharing__("default");
  await Promise.all(
    wanted.map(async (ext) => {
      try {
        await loadScript(join(base, ext.name, ext.load));
        await container(ext.name).init(__webpack_share_scopes__.default);
        if (ext.style !== undefined) await moduleOf(ext.name, ext.style);
        if (ext.mimeExtension !== undefined) {
          loaded.mime.push({ name: ext.name, module: await moduleOf(ext.name, ext.mimeExtension) });
        }
        if (ext.extension !== undefined) {
          loaded.plugins.push({ name: ext.name, module: await moduleOf(ext.name, ext.extension) });
        }
      } catch (error) {
        loaded.failed.push({ name: ext.name, error: String(error) });
      }
    }),
  );
  return loaded;
}

void loadFederatedExtensions()
  .then(async (loaded) => {
    const app = await import("./index.js");
    await app.main(loaded);
  })
  .catch((error: unknown) => {
    const pre = document.createElement("pre");
    pre.textContent = `mmulab notebook app failed to start:\n${String(error)}`;
    document.body.replaceChildren(pre);
    throw error;
  });
