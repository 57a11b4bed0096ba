import assert from "node:assert/strict";
import { renderStateDiagram, RFC9293_TRANSITIONS } from "../../src/viz/state_diagram.ts";
import { findScenario, runScenario } from "../../src/lab/mod.ts";
import { labStatePaths } from "../../src/lab/figure.ts";
import { byClass, parseSvg } from "./_svg.ts";

Deno.test("the state diagram draws RFC 9293's eleven states and every arrow of Figure 5", () => {
  const root = parseSvg(renderStateDiagram([]));
  const states = new Set(byClass(root, "g", "state").map((g) => g.getAttribute("data-state")));
  assert.deepEqual([...states].sort(), [
    "CLOSED",
    "CLOSE_WAIT",
    "CLOSING",
    "ESTABLISHED",
    "FIN_WAIT_1",
    "FIN_WAIT_2",
    "LAST_ACK",
    "LISTEN",
    "SYN_RCVD",
    "SYN_SENT",
    "TIME_WAIT",
  ]);
  assert.equal(byClass(root, "g", "transition").length, RFC9293_TRANSITIONS.length);
  assert.equal(byClass(root, "g", "taken").length, 0);
});

Deno.test("the close scenario's paths are highlighted, numbered in order, per side", () => {
  const paths = labStatePaths(runScenario(findScenario("close")!));
  assert.deepEqual(paths.map((p) => p.who), ["client :40000↔server:80", "server :80↔client:40000"]);
  const root = parseSvg(renderStateDiagram(paths));
  const taken = byClass(root, "g", "taken").map((g) =>
    `${g.getAttribute("data-from")}>${g.getAttribute("data-to")} ${g.getAttribute("data-taken")}`
  );
  for (
    const t of [
      "CLOSED>SYN_SENT client :40000↔server:80",
      "ESTABLISHED>FIN_WAIT_1 client :40000↔server:80",
      "FIN_WAIT_2>TIME_WAIT client :40000↔server:80",
      "TIME_WAIT>CLOSED client :40000↔server:80",
      "ESTABLISHED>CLOSE_WAIT server :80↔client:40000",
      "LAST_ACK>CLOSED server :80↔client:40000",
    ]
  ) assert.ok(taken.includes(t), `${t} in ${taken.join(", ")}`);
  assert.ok(!taken.some((t) => t.startsWith("FIN_WAIT_1>CLOSING")), "not a simultaneous close");
  const visited = byClass(root, "g", "visited").map((g) => g.getAttribute("data-state"));
  assert.ok(!visited.includes("CLOSING"));
  assert.ok(visited.includes("TIME_WAIT"));
});

Deno.test("a transition Figure 5 does not draw (a reset) is added, dashed", () => {
  const root = parseSvg(
    renderStateDiagram([{ who: "x", transitions: [["ESTABLISHED", "CLOSED"]] }]),
  );
  const extra = byClass(root, "g", "taken");
  assert.equal(extra.length, 1);
  assert.ok(extra[0].getElementsByTagName("path")[0].getAttribute("stroke-dasharray"));
});
