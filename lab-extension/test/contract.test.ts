/**
 * The renderers take the contract from @mmulab/kernel/contract and keep no copy of it: the same
 * MIME names, the same validator (a payload one side refuses, the other refuses with the same
 * message and class) and the same comm target.
 */
import * as Contract from "@mmulab/kernel/contract";
import { describe, expect, expectTypeOf, it } from "vitest";
import { SWEEP_COMM_TARGET } from "../src/kernel-comm.js";
import { parsePageTable } from "../src/pagetable-model.js";
import * as Payload from "../src/payload.js";
import { parsePlot } from "../src/plot-figure.js";
import { parseTimeline } from "../src/timeline-figure.js";

describe("the renderers' side of the contract", () => {
  it("uses the contract's names, versions, PayloadError and comm target", () => {
    expect(Payload.PayloadError).toBe(Contract.PayloadError);
    expect(Payload.PAGETABLE_MIME).toBe(Contract.PAGETABLE_MIME);
    expect(Payload.TIMELINE_MIME).toBe(Contract.TIMELINE_MIME);
    expect(Payload.PLOT_MIME).toBe(Contract.PLOT_MIME);
    expect(SWEEP_COMM_TARGET).toBe(Contract.SWEEP_COMM_TARGET);
    expectTypeOf<typeof SWEEP_COMM_TARGET>().toEqualTypeOf<"mmulab.sweep">();
    expectTypeOf(parsePlot).returns.toEqualTypeOf<Contract.PlotPayload>();
    expectTypeOf(parseTimeline).returns.toEqualTypeOf<Contract.TimelinePayload>();
  });

  it.each([
    ["page tables", parsePageTable, Contract.checkPageTablePayload, { version: 1, mm: -1 }],
    [
      "timeline",
      parseTimeline,
      Contract.checkTimelinePayload,
      { version: 1, unit: "ns", lanes: [], spans: [{ lane: "x" }], instants: [], arrows: [] },
    ],
    ["plot", parsePlot, Contract.checkPlotPayload, { version: 1, data: [1], layout: {} }],
  ] as const)(
    "a bad %s payload: the renderer refuses it as the kernel does",
    (_, parse, check, bad) => {
      const kernelSide = (() => {
        try {
          check(bad);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(kernelSide).toBeInstanceOf(Contract.PayloadError);
      expect(() => parse(bad)).toThrow(Contract.PayloadError);
      expect(() => parse(bad)).toThrow((kernelSide as Error).message);
    },
  );
});
