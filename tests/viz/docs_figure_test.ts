import assert from "node:assert/strict";
import { findScenario, runScenario } from "../../src/lab/mod.ts";
import { labFigure } from "../../src/lab/figure.ts";

Deno.test("docs/lab_handshake.svg (the README's picture) is what tou lab handshake --svg draws", async () => {
  const committed = await Deno.readTextFile(
    new URL("../../docs/lab_handshake.svg", import.meta.url),
  );
  assert.equal(
    committed,
    labFigure(runScenario(findScenario("handshake")!)),
    "out of date: run `deno run -A cli/main.ts lab handshake --svg docs/lab_handshake.svg`",
  );
});
