/**
 * Starts JupyterLab: the plugins of the core extensions this app is built from (listed in
 * package.json "jupyterlab", loaded by the generated dist/build/extensions.cjs) plus those of the
 * prebuilt (federated) extensions the server lists in the page config, registered and activated the
 * way JupyterLab 4.6's own entry point (dev_mode/index.js) does it: disabled and deferred plugins
 * from the page config, a JupyterPluginRegistry, the service manager and connection status resolved
 * from their plugins, then `JupyterLab.start()`.
 *
 * Imported by bootstrap.ts only after the module-federation share scope is initialised, so the
 * shared packages (Lumino, @jupyterlab/*) resolve once for the app and the federated extensions.
 */
import { JupyterLab, type JupyterFrontEndPlugin } from "@jupyterlab/application";
import { JupyterPluginRegistry, PageConfig } from "@jupyterlab/coreutils";
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { IConnectionStatus, IServiceManager } from "@jupyterlab/services";
import type { FederatedModules } from "./bootstrap.js";

/** A core extension package: its name and a thunk that `require`s its plugin module. */
export type CoreExtension = readonly [name: string, load: () => unknown];

/** What dist/build/extensions.cjs exports. */
export interface CoreExtensions {
  readonly extensions: readonly CoreExtension[];
  readonly mimeExtensions: readonly CoreExtension[];
}

/** What the app keeps on `window.mmulabLab` for tests and the console. */
export interface LabStartup {
  /** Core extension modules that failed to load, with the error. */
  readonly failedModules: readonly { readonly name: string; readonly error: string }[];
  /** Plugin ids registered, and those the page config disabled. */
  readonly registered: readonly string[];
  readonly disabled: readonly string[];
  /** Resolves once JupyterLab restored its layout. */
  readonly restored: Promise<void>;
}

type AnyPlugin = JupyterFrontEndPlugin<unknown> | IRenderMime.IExtension;

/** The plugins a module exports: its default export (ES modules) or the module (CommonJS). */
function pluginsOf(module: unknown): AnyPlugin[] {
  const exports =
    typeof module === "object" && module !== null && Object.hasOwn(module, "__esModule")
      ? (module as { default?: unknown }).default
      : module;
  if (exports === undefined || exports === null) return [];
  return (Array.isArray(exports) ? exports : [exports]) as AnyPlugin[];
}

/** `id` or its extension name (the part before `:`) matches one of `rules`. */
function matches(rules: readonly string[], id: string): boolean {
  const colon = id.indexOf(":");
  const extension = colon === -1 ? "" : id.slice(0, colon);
  return rules.some((rule) => rule === id || (extension !== "" && rule === extension));
}

export async function main(core: CoreExtensions, federated: FederatedModules): Promise<LabStartup> {
  const disabledRules = PageConfig.Extension.disabled;
  const deferredRules = PageConfig.Extension.deferred;
  const disabled: string[] = [];
  const deferred: string[] = [];
  const available: JupyterLab.IPluginInfo[] = [];
  const failedModules: { name: string; error: string }[] = [];

  /** The plugins of `module` that are not disabled; records every one in `available`. */
  function* active(module: unknown, scope: string): Generator<AnyPlugin> {
    for (const plugin of pluginsOf(module)) {
      const off = matches(disabledRules, plugin.id);
      const p = plugin as Partial<JupyterFrontEndPlugin<unknown>>;
      available.push({
        id: plugin.id,
        description: p.description,
        requires: p.requires ?? [],
        optional: p.optional ?? [],
        provides: p.provides ?? null,
        autoStart: p.autoStart,
        enabled: !off,
        extension: scope,
      });
      if (off) {
        disabled.push(plugin.id);
        continue;
      }
      if (matches(deferredRules, plugin.id)) deferred.push(plugin.id);
      yield plugin;
    }
  }

  // A federated extension of the same name as a core one replaces it, as in JupyterLab.
  const federatedNames = new Set([
    ...federated.plugins.map((m) => m.name),
    ...federated.mime.map((m) => m.name),
  ]);
  const load = (ext: CoreExtension): unknown => {
    try {
      return ext[1]();
    } catch (error) {
      console.error(`${ext[0]}: ${String(error)}`);
      failedModules.push({ name: ext[0], error: String(error) });
      return undefined;
    }
  };

  // One module per renderer, as JupyterLab's createRendermimePlugins reads them.
  const mimeExtensions: IRenderMime.IExtensionModule[] = [];
  const addMime = (p: AnyPlugin): void => {
    const module: IRenderMime.IExtensionModule & { readonly __esModule: true } = {
      __esModule: true,
      default: p as IRenderMime.IExtension,
    };
    mimeExtensions.push(module);
  };
  for (const ext of core.mimeExtensions) {
    if (federatedNames.has(ext[0])) continue;
    for (const p of active(load(ext), ext[0])) addMime(p);
  }
  for (const { name, module } of federated.mime) {
    for (const p of active(module, name)) addMime(p);
  }
  const register: JupyterFrontEndPlugin<unknown>[] = [];
  for (const ext of core.extensions) {
    if (federatedNames.has(ext[0])) continue;
    for (const p of active(load(ext), ext[0])) register.push(p as JupyterFrontEndPlugin<unknown>);
  }
  for (const { name, module } of federated.plugins) {
    for (const p of active(module, name)) register.push(p as JupyterFrontEndPlugin<unknown>);
  }

  const pluginRegistry = new JupyterPluginRegistry();
  pluginRegistry.registerPlugins(register);
  const connectionStatus = await pluginRegistry.resolveOptionalService(IConnectionStatus);
  const serviceManager = await pluginRegistry.resolveRequiredService(IServiceManager);

  const lab = new JupyterLab({
    pluginRegistry,
    serviceManager,
    mimeExtensions,
    connectionStatus: connectionStatus ?? undefined,
    disabled: { matches: disabled, patterns: disabledRules },
    deferred: { matches: deferred, patterns: deferredRules },
    availablePlugins: available,
  });
  void lab.start({ ignorePlugins: deferred, bubblingKeydown: true });

  if (PageConfig.getOption("exposeAppInBrowser").toLowerCase() === "true") {
    (window as unknown as { jupyterapp: JupyterLab }).jupyterapp = lab;
  }
  return {
    failedModules,
    registered: register.map((p) => p.id),
    disabled,
    restored: lab.restored,
  };
}
