/**
 * The renderers outside JupyterLab: the entry of the standalone bundle
 * (dist/standalone/mmulab-renderers.js, built by scripts/build.mjs with esbuild as one IIFE with
 * plotly inside) that an interactive HTML report inlines (scripts/nbexec.py). The report holds,
 * for each mmulab output, an element
 *
 *   <div class="mmulab-interactive" data-mime="application/vnd.mmulab.…+json">
 *     <script type="application/json" class="mmulab-payload">…</script>
 *     <div class="mmulab-static">…the static SVG…</div>
 *   </div>
 *
 * and this code draws the payload with the same renderer JupyterLab uses (payload checked by
 * the contract's validator first) in place of the static figure; if it cannot, the static figure
 * stays and the error is shown above it. No kernel: plot sliders use the precomputed frames,
 * timelines their reduced overview.
 */
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { Widget } from "@lumino/widgets";
import extensions from "./index.js";

const options = (mimeType: string): IRenderMime.IRendererOptions => ({
  mimeType,
  sanitizer: { sanitize: (s: string) => s },
  resolver: null,
  linkHandler: null,
  latexTypesetter: null,
});

/** Draws one report element; resolves when drawn, never rejects (errors are shown inline). */
export async function renderElement(host: HTMLElement): Promise<void> {
  const mime = host.dataset["mime"] ?? "";
  const factory = extensions.map((e) => e.rendererFactory).find((f) => f.mimeTypes.includes(mime));
  const fallback = host.querySelector<HTMLElement>(".mmulab-static");
  const showError = (why: string): void => {
    const p = document.createElement("pre");
    p.className = "mmulab-error";
    p.textContent = `mmulab: ${why}; the static figure is shown instead.`;
    host.prepend(p);
    host.dataset["rendered"] = "error";
  };
  if (factory === undefined) return showError(`no renderer for ${mime}`);
  try {
    const text = host.querySelector("script.mmulab-payload")?.textContent ?? "";
    const payload = JSON.parse(text) as unknown;
    const renderer = factory.createRenderer(options(mime));
    const slot = document.createElement("div");
    host.append(slot);
    Widget.attach(renderer, slot);
    await renderer.renderModel({
      trusted: true,
      data: { [mime]: payload } as IRenderMime.IMimeModel["data"],
      metadata: {},
      setData: () => undefined,
    });
    if (fallback !== null) fallback.hidden = true;
    host.dataset["rendered"] = "true";
  } catch (e) {
    showError(e instanceof Error ? e.message : String(e));
  }
}

/** Draws every report element on the page, one after the other. */
export async function renderAll(root: ParentNode = document): Promise<void> {
  for (const host of root.querySelectorAll<HTMLElement>(".mmulab-interactive"))
    await renderElement(host);
  document.body.dataset["mmulabRendered"] = "true";
}

if (typeof document !== "undefined" && typeof window !== "undefined") {
  const start = (): void => void renderAll();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
