/**
 * The mmulab notebook app: a small JupyterLab 4 front end (file browser, notebooks in a dock
 * panel, a handful of commands) for machines without the `jupyterlab` Python package. It talks
 * to jupyter_server's REST and WebSocket APIs like JupyterLab does, and renders outputs with the
 * standard renderers plus every federated mime extension that bootstrap.ts loaded. The federated
 * plugins (`jupyterlab.extension` modules) are activated with a Lumino PluginRegistry that
 * provides what this app has of JupyterLab's services: INotebookTracker (the app's notebooks),
 * and as the `app` argument a small object with the commands, service manager and document
 * registry. Plugins that need more (a shell, other tokens) fail to activate and are listed in
 * `mmulabApp.failedPlugins`.
 */
import "./style.js";
import type { IYText } from "@jupyter/ydoc";
import { SessionContextDialogs, Toolbar } from "@jupyterlab/apputils";
import {
  CodeMirrorEditorFactory,
  CodeMirrorMimeTypeService,
  EditorExtensionRegistry,
  EditorLanguageRegistry,
  EditorThemeRegistry,
  ybinding,
} from "@jupyterlab/codemirror";
import { PageConfig } from "@jupyterlab/coreutils";
import { DocumentManager, type IDocumentWidgetOpener } from "@jupyterlab/docmanager";
import { DocumentRegistry, type IDocumentWidget } from "@jupyterlab/docregistry";
import { FileBrowser, FilterFileBrowserModel } from "@jupyterlab/filebrowser";
import { createMarkdownParser } from "@jupyterlab/markedparser-extension";
import {
  INotebookTracker,
  NotebookActions,
  NotebookModelFactory,
  NotebookPanel,
  NotebookTracker,
  NotebookWidgetFactory,
  ToolbarItems,
} from "@jupyterlab/notebook";
import { MimeModel, RenderMimeRegistry, standardRendererFactories } from "@jupyterlab/rendermime";
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { ServiceManager } from "@jupyterlab/services";
import { CommandRegistry } from "@lumino/commands";
import { PluginRegistry, type IPlugin, type ReadonlyPartialJSONValue } from "@lumino/coreutils";
import { Signal } from "@lumino/signaling";
import { BoxPanel, DockPanel, SplitPanel, Widget } from "@lumino/widgets";
import type { LoadedExtensions } from "./bootstrap.js";

/** The kernel new notebooks get when the server has it. */
export const PREFERRED_KERNEL = "mmulab";

/** What a federated plugin gets as its `app` argument here: the part of JupyterFrontEnd this app
 * has. */
export interface MmulabFrontEnd {
  readonly name: string;
  readonly commands: CommandRegistry;
  readonly serviceManager: ServiceManager;
  readonly docRegistry: DocumentRegistry;
}

interface AppState {
  readonly loaded: LoadedExtensions;
  readonly renderers: string[];
}

/** Exposed on window for tests and for people poking at the app from the console. */
export interface MmulabAppHandle {
  readonly ready: true;
  readonly renderers: readonly string[];
  readonly failedExtensions: readonly { name: string; error: string }[];
  /** Ids of the federated plugins that activated, and of those that did not. */
  readonly plugins: readonly string[];
  readonly failedPlugins: readonly string[];
  open(path: string): Promise<void>;
  current(): NotebookPanel | null;
  /**
   * Renders `data` under `mimeType` into a fresh output node and resolves to the milliseconds
   * from the renderModel call to the first frame painted after it (two animation frames).
   * Used by the first-paint benchmarks; the node stays until the next call.
   */
  firstPaint(mimeType: string, data: unknown): Promise<number>;
  /** Runs every cell of the current notebook once its kernel is ready; false on an error. */
  runAll(): Promise<boolean>;
}

function nextFrame(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}

function isExtension(value: unknown): value is IRenderMime.IExtension {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { id?: unknown; rendererFactory?: { mimeTypes?: unknown } };
  return typeof v.id === "string" && Array.isArray(v.rendererFactory?.mimeTypes);
}

function isPlugin(value: unknown): value is IPlugin<MmulabFrontEnd, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { id?: unknown; activate?: unknown };
  return typeof v.id === "string" && typeof v.activate === "function";
}

/** A plugin module's default export: one plugin or a list of them. */
export function pluginsOf(module: unknown): IPlugin<MmulabFrontEnd, unknown>[] {
  const exported =
    typeof module === "object" && module !== null && "default" in module ? module.default : module;
  const list = Array.isArray(exported) ? (exported as unknown[]) : [exported];
  return list.filter(isPlugin);
}

/** A mime-extension module's default export: one extension or a list of them. */
export function mimeExtensionsOf(module: unknown): IRenderMime.IExtension[] {
  const exported =
    typeof module === "object" && module !== null && "default" in module ? module.default : module;
  const list = Array.isArray(exported) ? (exported as unknown[]) : [exported];
  return list.filter(isExtension);
}

function editorServices(languages: EditorLanguageRegistry) {
  const themes = new EditorThemeRegistry();
  for (const theme of EditorThemeRegistry.getDefaultThemes()) themes.addTheme(theme);
  const extensions = new EditorExtensionRegistry();
  for (const factory of EditorExtensionRegistry.getDefaultExtensions({ themes })) {
    extensions.addExtension(factory);
  }
  // Keeps each editor and its cell's shared model in sync (what JupyterLab's plugin adds).
  extensions.addExtension({
    name: "shared-model-binding",
    factory: (options) => {
      const shared = options.model.sharedModel as IYText;
      return EditorExtensionRegistry.createImmutableExtension(
        ybinding({ ytext: shared.ysource, undoManager: shared.undoManager ?? undefined }),
      );
    },
  });
  const factoryService = new CodeMirrorEditorFactory({ extensions, languages });
  return { factoryService, mimeTypeService: new CodeMirrorMimeTypeService(languages) };
}

export async function main(loaded: LoadedExtensions): Promise<void> {
  const manager = new ServiceManager();
  const languages = new EditorLanguageRegistry();
  for (const language of EditorLanguageRegistry.getDefaultLanguages()) {
    languages.addLanguage(language);
  }
  const rendermime = new RenderMimeRegistry({
    initialFactories: standardRendererFactories,
    markdownParser: createMarkdownParser(languages),
  });
  const state: AppState = { loaded, renderers: [] };
  for (const { name, module } of loaded.mime) {
    for (const ext of mimeExtensionsOf(module)) {
      rendermime.addFactory(ext.rendererFactory, ext.rank);
      state.renderers.push(...ext.rendererFactory.mimeTypes);
      console.info(`mmulab: federated mime extension loaded: ${name} ${ext.id}`);
    }
  }
  for (const f of loaded.failed) console.error(`mmulab: extension ${f.name} failed: ${f.error}`);

  const dock = new DockPanel();
  dock.id = "mmulab-dock";
  dock.addClass("mmulab-App-dock");
  const tracker = new NotebookTracker({ namespace: "mmulab-notebook" });
  const opened = new Signal<IDocumentWidgetOpener, IDocumentWidget>({} as IDocumentWidgetOpener);
  const opener: IDocumentWidgetOpener = {
    open: (widget) => {
      if (!widget.isAttached) dock.addWidget(widget, { mode: "tab-after" });
      dock.activateWidget(widget);
      if (widget instanceof NotebookPanel && !tracker.has(widget)) void tracker.add(widget);
      opened.emit(widget);
    },
    get opened() {
      return opened;
    },
  };

  const registry = new DocumentRegistry();
  const docManager = new DocumentManager({
    registry,
    manager,
    opener,
    sessionDialogs: new SessionContextDialogs(),
  });
  const services = editorServices(languages);
  const contentFactory = new NotebookPanel.ContentFactory({
    editorFactory: services.factoryService.newInlineEditor,
  });
  const widgetFactory = new NotebookWidgetFactory({
    name: "Notebook",
    modelName: "notebook",
    fileTypes: ["notebook"],
    defaultFor: ["notebook"],
    preferKernel: true,
    canStartKernel: true,
    rendermime,
    contentFactory,
    mimeTypeService: services.mimeTypeService,
  });
  registry.addModelFactory(new NotebookModelFactory({}));
  registry.addWidgetFactory(widgetFactory);
  widgetFactory.widgetCreated.connect((_sender, panel) => {
    const dialogs = new SessionContextDialogs();
    const bar = panel.toolbar;
    bar.addItem("save", ToolbarItems.createSaveButton(panel));
    bar.addItem("run", ToolbarItems.createRunButton(panel, dialogs));
    bar.addItem("interrupt", Toolbar.createInterruptButton(panel.sessionContext));
    bar.addItem("restart-run-all", ToolbarItems.createRestartRunAllButton(panel, dialogs));
    bar.addItem("spacer", Toolbar.createSpacerItem());
    bar.addItem("kernel-name", Toolbar.createKernelNameItem(panel.sessionContext, dialogs));
    bar.addItem("kernel-status", Toolbar.createKernelStatusItem(panel.sessionContext));
  });

  const commands = new CommandRegistry();
  addCommands(commands, tracker);
  document.addEventListener("keydown", (event) => commands.processKeydownEvent(event), true);

  const plugins = await activatePlugins(
    loaded,
    {
      name: "mmulab",
      commands,
      serviceManager: manager,
      docRegistry: registry,
    },
    tracker,
  );

  const files = new FileBrowser({
    id: "mmulab-filebrowser",
    model: new FilterFileBrowserModel({ manager: docManager }),
  });
  files.addClass("mmulab-App-files");
  files.title.label = "Notebooks";

  const top = new Widget();
  top.addClass("mmulab-App-topBar");
  const title = document.createElement("span");
  title.className = "mmulab-App-title";
  title.textContent = "mmulab";
  const newButton = document.createElement("button");
  newButton.textContent = "New notebook";
  newButton.title = `Create a notebook in the current folder (kernel: ${PREFERRED_KERNEL} when available)`;
  const status = document.createElement("span");
  status.className = "mmulab-App-status";
  status.textContent = state.renderers.length
    ? `renderers: ${state.renderers.length} mmulab MIME types`
    : "no mmulab renderers loaded";
  top.node.append(title, newButton, status);

  const split = new SplitPanel({ orientation: "horizontal" });
  split.addWidget(files);
  split.addWidget(dock);
  split.setRelativeSizes([1, 4]);
  SplitPanel.setStretch(files, 0);
  SplitPanel.setStretch(dock, 1);

  const shell = new BoxPanel({ direction: "top-to-bottom", spacing: 0 });
  shell.id = "mmulab-main";
  BoxPanel.setStretch(top, 0);
  BoxPanel.setStretch(split, 1);
  shell.addWidget(top);
  shell.addWidget(split);
  Widget.attach(shell, document.body);
  window.addEventListener("resize", () => shell.update());

  const kernelName = async (): Promise<string | undefined> => {
    await manager.kernelspecs.ready;
    const specs = manager.kernelspecs.specs;
    if (specs === null) return undefined;
    return PREFERRED_KERNEL in specs.kernelspecs ? PREFERRED_KERNEL : specs.default;
  };
  newButton.addEventListener("click", () => {
    void (async () => {
      const model = await docManager.newUntitled({ path: files.model.path, type: "notebook" });
      const name = await kernelName();
      docManager.open(model.path, "Notebook", name === undefined ? undefined : { name });
    })();
  });

  const open = async (path: string): Promise<void> => {
    const widget = docManager.openOrReveal(path);
    if (widget === undefined) throw new Error(`cannot open ${path}`);
    await widget.context.ready;
  };
  let benchWidget: Widget | null = null;
  const firstPaint = async (mimeType: string, data: unknown): Promise<number> => {
    benchWidget?.dispose();
    const model = new MimeModel({ data: { [mimeType]: data as ReadonlyPartialJSONValue } });
    const renderer = rendermime.createRenderer(mimeType);
    renderer.addClass("mmulab-App-bench");
    benchWidget = renderer;
    dock.addWidget(renderer, { mode: "tab-after" });
    dock.activateWidget(renderer);
    await nextFrame();
    const start = performance.now();
    await renderer.renderModel(model);
    await nextFrame();
    await nextFrame();
    return performance.now() - start;
  };
  const handle: MmulabAppHandle = {
    ready: true,
    renderers: state.renderers,
    failedExtensions: loaded.failed,
    plugins: plugins.activated,
    failedPlugins: plugins.failed,
    open,
    current: () => tracker.currentWidget,
    firstPaint,
    runAll: async () => {
      const panel = tracker.currentWidget;
      if (panel === null) throw new Error("no notebook is open");
      await panel.sessionContext.ready;
      return NotebookActions.runAll(panel.content, panel.sessionContext);
    },
  };
  (window as unknown as { mmulabApp: MmulabAppHandle }).mmulabApp = handle;

  // /mmulab/tree/<path> opens that file (a notebook) at start.
  const treePath = PageConfig.getOption("treePath");
  if (treePath !== "") await open(decodeURIComponent(treePath));
}

/**
 * Registers the federated plugins next to the app's own service plugins and activates the
 * auto-start ones. Activation errors are logged by the registry; the ids sort into activated and
 * failed.
 */
async function activatePlugins(
  loaded: LoadedExtensions,
  app: MmulabFrontEnd,
  tracker: INotebookTracker,
): Promise<{ activated: string[]; failed: string[] }> {
  const registry = new PluginRegistry<MmulabFrontEnd>();
  registry.application = app;
  registry.registerPlugin({
    id: "mmulab-app:notebook-tracker",
    description: "The app's notebooks, as JupyterLab's INotebookTracker",
    autoStart: true,
    provides: INotebookTracker,
    activate: () => tracker,
  });
  const ids: string[] = [];
  const failed: string[] = [];
  for (const { name, module } of loaded.plugins) {
    for (const plugin of pluginsOf(module)) {
      try {
        registry.registerPlugin(plugin);
        ids.push(plugin.id);
        console.info(`mmulab: federated plugin registered: ${name} ${plugin.id}`);
      } catch (error) {
        failed.push(plugin.id);
        console.error(`mmulab: plugin ${plugin.id} of ${name} not registered: ${String(error)}`);
      }
    }
  }
  await registry.activatePlugins("startUp");
  const activated = ids.filter((id) => registry.isPluginActivated(id));
  failed.push(...ids.filter((id) => !registry.isPluginActivated(id)));
  return { activated, failed };
}

function addCommands(commands: CommandRegistry, tracker: INotebookTracker): void {
  const current = (): NotebookPanel | null => tracker.currentWidget;
  const add = (id: string, label: string, run: (panel: NotebookPanel) => unknown): void => {
    commands.addCommand(id, {
      label,
      execute: () => {
        const panel = current();
        return panel === null ? undefined : run(panel);
      },
    });
  };
  add("notebook:run-cell-and-select-next", "Run and advance", (p) =>
    NotebookActions.runAndAdvance(p.content, p.sessionContext),
  );
  add("notebook:run-cell", "Run", (p) => NotebookActions.run(p.content, p.sessionContext));
  add("notebook:run-all-cells", "Run all", (p) =>
    NotebookActions.runAll(p.content, p.sessionContext),
  );
  add("notebook:enter-edit-mode", "Edit", (p) => {
    p.content.mode = "edit";
  });
  add("notebook:enter-command-mode", "Command mode", (p) => {
    p.content.mode = "command";
  });
  add("notebook:select-next", "Next cell", (p) => NotebookActions.selectBelow(p.content));
  add("notebook:select-previous", "Previous cell", (p) => NotebookActions.selectAbove(p.content));
  add("notebook:insert-below", "Insert below", (p) => NotebookActions.insertBelow(p.content));
  add("notebook:save", "Save", (p) => p.context.save());

  const cmd = ".jp-Notebook.jp-mod-commandMode:not(.jp-mod-readWrite) :focus";
  const any = ".jp-Notebook";
  const bindings: [string, string[], string][] = [
    ["notebook:run-cell-and-select-next", ["Shift Enter"], any],
    ["notebook:run-cell", ["Accel Enter"], any],
    ["notebook:enter-edit-mode", ["Enter"], cmd],
    ["notebook:enter-command-mode", ["Escape"], ".jp-Notebook.jp-mod-editMode"],
    ["notebook:select-next", ["J"], cmd],
    ["notebook:select-next", ["ArrowDown"], cmd],
    ["notebook:select-previous", ["K"], cmd],
    ["notebook:select-previous", ["ArrowUp"], cmd],
    ["notebook:insert-below", ["B"], cmd],
    ["notebook:save", ["Accel S"], any],
  ];
  for (const [command, keys, selector] of bindings) {
    commands.addKeyBinding({ command, keys, selector });
  }
}
