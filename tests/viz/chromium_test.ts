/**
 * The lab figure as a browser draws it: headless Chromium (Debian's
 * `chromium` package) takes a screenshot of the handshake's SVG and the
 * picture must show the ladder's arrows between the two timelines, the
 * state labels, and the highlighted paths on the state diagram. Skipped,
 * saying why, where /usr/bin/chromium is missing.
 */

import assert from "node:assert/strict";
import { findScenario, runScenario } from "../../src/lab/mod.ts";
import { labFigure } from "../../src/lab/figure.ts";
import { svgSize } from "../../src/viz/svg.ts";
import { decodePng, type Png } from "./_svg.ts";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** Pixels within `tol` of colour `hex`, inside columns [x0, x1). */
function countColour(png: Png, hex: string, x0 = 0, x1 = png.width, tol = 40): number {
  const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let y = 0; y < png.height; y++) {
    for (let x = x0; x < x1; x++) {
      const p = (y * png.width + x) * 4;
      const d = Math.abs(png.rgba[p] - want[0]) + Math.abs(png.rgba[p + 1] - want[1]) +
        Math.abs(png.rgba[p + 2] - want[2]);
      if (d <= tol) n++;
    }
  }
  return n;
}

Deno.test("headless Chromium draws the handshake figure: arrows, states, highlighted path", async () => {
  if (!haveChromium) {
    console.log("skipped: no chromium");
    return;
  }
  const svg = labFigure(runScenario(findScenario("handshake")!));
  const { width, height } = svgSize(svg);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/figure.svg`, svg);
    const out = await new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        `--user-data-dir=${dir}/profile`,
        `--screenshot=${dir}/shot.png`,
        `--window-size=${width},${height}`,
        `file://${dir}/figure.svg`,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(90_000),
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const png = await decodePng(await Deno.readFile(`${dir}/shot.png`));
    assert.deepEqual([png.width, png.height], [width, height]);
    // Mostly white paper.
    assert.ok(countColour(png, "#ffffff", 0, width, 6) > width * height * 0.7, "background");
    // The ladder (left part): blue arrows between the timelines at x 230 and 650.
    assert.ok(countColour(png, "#1f4e9c", 240, 640) > 500, "ladder arrows");
    assert.ok(
      countColour(png, "#1f4e9c", 900, width) < 50,
      "no ladder arrows on the state diagram",
    );
    assert.ok(countColour(png, "#5a8f3c", 0, 850) > 100, "state labels");
    // The state diagram (right part): both sides' paths in their colours.
    assert.ok(countColour(png, "#1f77b4", 880, width) > 300, "client's path");
    assert.ok(countColour(png, "#d62728", 880, width) > 300, "server's path");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
