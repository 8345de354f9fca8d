import { describe, expect, it } from "vitest";
import { toMimeBundle } from "../../src/display/mime.js";
import "../../src/display/trace.js";
import { TIMELINE_MIME } from "../../src/contract/mime.js";
import { runTrial } from "../../src/experiments/scenarios.js";

describe("a Trace displays as a timeline", () => {
  it("gives the custom payload, an SVG and text, with the use-after-free marker", () => {
    const r = runTrial({ scenario: "use-mm-walker", profile: "v4.14", backend: "native", seed: 1 });
    const bundle = toMimeBundle(r.system.sim.trace);
    const payload = bundle[TIMELINE_MIME] as { lanes: unknown[]; instants: { kind: string }[] };
    // one lane per CPU that did something (here the munmap CPU and the walker), plus RCU
    expect(payload.lanes.length).toBe(3);
    expect(payload.instants.some((i) => i.kind === "uaf")).toBe(true);
    expect(bundle["text/html"]).toEqual(expect.stringContaining("<svg"));
    expect(bundle["text/plain"]).toEqual(expect.stringMatching(/\S/));
  });
});
