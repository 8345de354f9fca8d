/**
 * The app's module-federation boundary, as JupyterLab's dev_mode/bootstrap.js: before anything
 * shared is imported, load the remoteEntry script of every prebuilt (federated) extension the page
 * config lists, initialise webpack's "default" share scope and `init` each extension's container
 * with it, so that the shared packages (Lumino, @jupyterlab/*, React) resolve once, by version, for
 * the app and the extensions. Then get their plugin, mime and style modules and start JupyterLab
 * (index.ts) with the core extensions.
 *
 * This file must import nothing shared at run time: it runs before the share scope exists. The
 * generated entry (dist/build/entry.js) calls {@link boot}.
 */
import type { CoreExtensions, LabStartup } from "./index.js";

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

/** The modules got from the federated extensions' containers. */
export interface FederatedModules {
  readonly plugins: readonly { readonly name: string; readonly module: unknown }[];
  readonly mime: readonly { readonly name: string; readonly module: unknown }[];
  /** Extensions whose remoteEntry or modules failed, with the error. */
  readonly failed: readonly { readonly name: string; readonly error: string }[];
}

interface Container {
  init(scope: unknown): Promise<void> | void;
  get(module: string): Promise<() => unknown>;
}

let configData: Record<string, unknown> | null = null;

/** A page-config option (the JSON in #jupyter-config-data), as @jupyterlab/coreutils reads it. */
function option(name: string): unknown {
  if (configData === null) {
    const el = document.getElementById("jupyter-config-data");
    configData = JSON.parse(el?.textContent ?? "{}") as Record<string, unknown>;
  }
  return configData[name];
}

function loadScript(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.onerror = () => reject(new Error(`could not load ${url}`));
    script.onload = () => resolve();
    script.async = true;
    document.head.appendChild(script);
    script.src = url;
  });
}

function container(name: string): Container {
  const found = (window as unknown as { _JUPYTERLAB?: Record<string, Container> })._JUPYTERLAB?.[
    name
  ];
  if (found === undefined) throw new Error(`${name}: its remoteEntry registered no container`);
  return found;
}

async function moduleOf(name: string, module: string): Promise<unknown> {
  const factory = await container(name).get(module);
  return factory();
}

/** Loads and initialises every listed federated extension; failures are collected, not thrown. */
export async function loadFederated(): Promise<FederatedModules> {
  const listed = option("federated_extensions");
  const extensions = Array.isArray(listed) ? (listed as FederatedExtension[]) : [];
  const url = option("fullLabextensionsUrl");
  const base = (typeof url === "string" ? url : "").replace(/\/+$/, "");
  const result = {
    plugins: [] as { name: string; module: unknown }[],
    mime: [] as { name: string; module: unknown }[],
    failed: [] as { name: string; error: string }[],
  };
  const fail = (name: string, error: unknown): void => {
    console.error(`${name}: ${String(error)}`);
    result.failed.push({ name, error: String(error) });
  };
  await __webpack_init_sharing__("default");
  const loaded = await Promise.all(
    extensions.map(async (ext) => {
      try {
        await loadScript(`${base}/${ext.name}/${ext.load}`);
        await container(ext.name).init(__webpack_share_scopes__.default);
        return ext;
      } catch (error) {
        fail(ext.name, error);
        return null;
      }
    }),
  );
  await Promise.all(
    loaded.map(async (ext) => {
      if (ext === null) return;
      try {
        if (ext.extension !== undefined) {
          result.plugins.push({ name: ext.name, module: await moduleOf(ext.name, ext.extension) });
        }
        if (ext.mimeExtension !== undefined) {
          result.mime.push({ name: ext.name, module: await moduleOf(ext.name, ext.mimeExtension) });
        }
        if (ext.style !== undefined) await moduleOf(ext.name, ext.style);
      } catch (error) {
        fail(ext.name, error);
      }
    }),
  );
  return result;
}

/** What the app exposes on `window.mmulabLab` once it has started. */
export interface LabHandle extends LabStartup {
  readonly federated: FederatedModules;
}

/**
 * Loads the federated extensions, then the core extensions (`loadCore`: the generated
 * extensions.cjs with the app's CSS) and index.ts, and starts JupyterLab.
 */
export async function boot(loadCore: () => Promise<CoreExtensions>): Promise<void> {
  try {
    const federated = await loadFederated();
    const [core, { main }] = await Promise.all([loadCore(), import("./index.js")]);
    const startup = await main(core, federated);
    const handle: LabHandle = { ...startup, federated };
    (window as unknown as { mmulabLab: LabHandle }).mmulabLab = handle;
  } catch (error) {
    const pre = document.createElement("pre");
    pre.textContent = `JupyterLab failed to start:\n${String(error)}`;
    document.body.replaceChildren(pre);
    throw error;
  }
}
