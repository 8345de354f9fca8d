/** Test doubles: a mime model, and a fake plotly that records calls and draws nothing. */
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import type { ReadonlyPartialJSONObject } from "@lumino/coreutils";
import { vi } from "vitest";

export function mimeModel(mimeType: string, value: unknown): IRenderMime.IMimeModel {
  return {
    trusted: false,
    data: { [mimeType]: value } as ReadonlyPartialJSONObject,
    metadata: {},
    setData: () => undefined,
  };
}

export interface FakePlotly {
  newPlot: ReturnType<typeof vi.fn>;
  react: ReturnType<typeof vi.fn>;
  purge: ReturnType<typeof vi.fn>;
  downloadImage: ReturnType<typeof vi.fn>;
  Plots: { resize: ReturnType<typeof vi.fn> };
  Icons: { camera: { width: number; height: number; path: string } };
}

export function fakePlotly(): FakePlotly {
  const draw = (el: HTMLElement & { data?: unknown }, data: unknown) => {
    el.data = data;
    // plotly mutates its inputs; the renderers must hand it copies.
    if (Array.isArray(data))
      for (const t of data) (t as Record<string, unknown>)["uid"] = "mutated";
    return Promise.resolve(el);
  };
  return {
    newPlot: vi.fn(draw),
    react: vi.fn(draw),
    purge: vi.fn(),
    downloadImage: vi.fn(() => Promise.resolve("")),
    Plots: { resize: vi.fn() },
    Icons: { camera: { width: 1000, height: 1000, path: "M0 0" } },
  };
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** What JupyterLab hands a renderer: the MIME type, and no sanitizer, resolver or typesetter. */
export function rendererOptions(mimeType: string): IRenderMime.IRendererOptions {
  return {
    mimeType,
    sanitizer: { sanitize: (s) => s },
    resolver: null,
    linkHandler: null,
    latexTypesetter: null,
  };
}
