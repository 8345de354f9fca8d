/**
 * The contract between the kernel and the JupyterLab front end (kernel/src/contract/), pinned:
 * the MIME types, versions and payload types are checked by the type checker (`npm run
 * typecheck` compiles this file; a change to the contract that breaks a pinned type fails it),
 * the validator's narrowing and error class at run time.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  checkPageTablePayload,
  checkPlotPayload,
  checkTimelinePayload,
  PAGETABLE_MIME,
  PAGETABLE_VERSIONS,
  PayloadError,
  PLOT_MIME,
  PLOT_VERSIONS,
  SWEEP_COMM_TARGET,
  SWEEP_PROTOCOL_VERSION,
  TIMELINE_MIME,
  TIMELINE_VERSIONS,
  type JsonObject,
  type MmulabMimeBundle,
  type PageTablePayload,
  type PlotPayload,
  type SweepReady,
  type SweepRequest,
  type SweepResponse,
  type SweepSlice,
  type TimelinePayload,
} from "../../src/contract/index.js";

describe("the MIME contract", () => {
  it("names three MIME types, each with its payload type and supported versions", () => {
    expectTypeOf<typeof PAGETABLE_MIME>().toEqualTypeOf<"application/vnd.mmulab.pagetable+json">();
    expectTypeOf<typeof TIMELINE_MIME>().toEqualTypeOf<"application/vnd.mmulab.timeline+json">();
    expectTypeOf<typeof PLOT_MIME>().toEqualTypeOf<"application/vnd.mmulab.plot+json">();
    expectTypeOf<typeof PAGETABLE_VERSIONS>().toEqualTypeOf<readonly [1]>();
    expectTypeOf<typeof TIMELINE_VERSIONS>().toEqualTypeOf<readonly [1]>();
    expectTypeOf<typeof PLOT_VERSIONS>().toEqualTypeOf<readonly [1]>();
    expectTypeOf<MmulabMimeBundle[typeof PAGETABLE_MIME]>().toEqualTypeOf<
      PageTablePayload | undefined
    >();
    expectTypeOf<MmulabMimeBundle[typeof TIMELINE_MIME]>().toEqualTypeOf<
      TimelinePayload | undefined
    >();
    expectTypeOf<MmulabMimeBundle[typeof PLOT_MIME]>().toEqualTypeOf<PlotPayload | undefined>();
    expectTypeOf<MmulabMimeBundle["text/plain"]>().toEqualTypeOf<string>();
    // every payload carries its version as a literal the consumer switches on
    expectTypeOf<PageTablePayload["version"]>().toEqualTypeOf<1>();
    expectTypeOf<TimelinePayload["version"]>().toEqualTypeOf<1>();
    expectTypeOf<PlotPayload["version"]>().toEqualTypeOf<1>();
    expectTypeOf<TimelinePayload["unit"]>().toEqualTypeOf<"ns">();
    expectTypeOf<PageTablePayload["levels"]>().toEqualTypeOf<4 | 5>();
    // the MIME strings the type names are the values the runtime uses
    expect([PAGETABLE_MIME, TIMELINE_MIME, PLOT_MIME]).toEqual([
      "application/vnd.mmulab.pagetable+json",
      "application/vnd.mmulab.timeline+json",
      "application/vnd.mmulab.plot+json",
    ]);
  });

  it("the checks narrow an unknown value to the payload type, or throw PayloadError", () => {
    expectTypeOf(checkPageTablePayload).toEqualTypeOf<
      (value: unknown) => asserts value is PageTablePayload
    >();
    expectTypeOf(checkTimelinePayload).toEqualTypeOf<
      (value: unknown) => asserts value is TimelinePayload
    >();
    expectTypeOf(checkPlotPayload).toEqualTypeOf<
      (value: unknown) => asserts value is PlotPayload
    >();
    expectTypeOf<PayloadError["mimeType"]>().toEqualTypeOf<string>();

    const plot: unknown = { version: 1, data: [], layout: {} };
    checkPlotPayload(plot);
    expectTypeOf(plot).toEqualTypeOf<PlotPayload>();
    expect(plot.data).toEqual([]);
    let thrown: unknown;
    try {
      checkTimelinePayload({ version: 2 });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(PayloadError);
    expect((thrown as PayloadError).mimeType).toBe(TIMELINE_MIME);
    expect((thrown as PayloadError).message).toContain("version 2; supported: version 1");
  });
});

describe("the mmulab.sweep comm protocol", () => {
  it("has one target name and version, and typed messages each way", () => {
    expectTypeOf<typeof SWEEP_COMM_TARGET>().toEqualTypeOf<"mmulab.sweep">();
    expectTypeOf<typeof SWEEP_PROTOCOL_VERSION>().toEqualTypeOf<2>();
    expectTypeOf<SweepReady>().toEqualTypeOf<{ readonly ready: true; readonly protocol: 2 }>();
    expectTypeOf<SweepRequest["key"]>().toEqualTypeOf<readonly (number | string)[]>();
    // required since protocol 2: a request names the plot's own sweep, or is refused
    expectTypeOf<SweepRequest["sweep"]>().toEqualTypeOf<string>();
    expectTypeOf<Extract<SweepResponse, { ok: false }>["error"]>().toEqualTypeOf<{
      readonly name: string;
      readonly message: string;
    }>();
    expectTypeOf<SweepSlice["data"]>().toEqualTypeOf<readonly JsonObject[]>();
    expectTypeOf<SweepSlice["layout"]>().toEqualTypeOf<JsonObject | undefined>();
    expectTypeOf<NonNullable<PlotPayload["sweep"]>["yRange"]>().toEqualTypeOf<
      "auto" | "fixed" | undefined
    >();
    expect(SWEEP_COMM_TARGET).toBe("mmulab.sweep");
    expect(SWEEP_PROTOCOL_VERSION).toBe(2);
  });
});
