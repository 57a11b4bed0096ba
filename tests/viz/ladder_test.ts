import assert from "node:assert/strict";
import { renderLadder, segmentLabel } from "../../src/viz/ladder.ts";
import { findScenario, runScenario } from "../../src/lab/mod.ts";
import { labFigure } from "../../src/lab/figure.ts";
import { byClass, parseSvg } from "./_svg.ts";

Deno.test("segment labels name the flags and seq/ack/len like Wireshark", () => {
  assert.equal(segmentLabel({ flags: 0x02, seq: 1000, ack: 0, len: 0 }), "SYN seq=1000");
  assert.equal(segmentLabel({ flags: 0x11, seq: 9, ack: 7, len: 0 }), "FIN, ACK seq=9 ack=7");
  assert.equal(segmentLabel({ flags: 0x14, seq: 0, ack: 1001, len: 0 }), "RST, ACK seq=0 ack=1001");
  assert.equal(
    segmentLabel({ flags: 0x00, seq: 4294967295, ack: 0, len: 1 }),
    "[none] seq=4294967295 len=1",
  );
});

Deno.test("the handshake ladder: two timelines, three arrows in order, states on each side", () => {
  const r = runScenario(findScenario("handshake")!);
  const svg = renderLadder({ segments: r.segments, states: r.states });
  const root = parseSvg(svg);
  assert.equal(root.tagName, "svg");
  const lines = byClass(root, "line", "timeline").map((l) => l.getAttribute("data-host"));
  assert.deepEqual(lines, ["client", "server"]);
  const segs = byClass(root, "g", "segment");
  assert.deepEqual(segs.map((g) => [g.getAttribute("data-from"), g.getAttribute("data-label")]), [
    ["client", "SYN seq=1000"],
    ["server", "SYN, ACK seq=5000 ack=1001"],
    ["client", "ACK seq=1001 ack=5001"],
  ]);
  // Each arrow goes down from its sender's timeline to the receiver's, ending in an arrowhead.
  const x = (h: string) =>
    Number(
      byClass(root, "line", "timeline").find((l) => l.getAttribute("data-host") === h)!
        .getAttribute("x1"),
    );
  let lastY = -Infinity;
  for (const g of segs) {
    const line = g.getElementsByTagName("line")[0];
    const [x1, y1, x2, y2] = ["x1", "y1", "x2", "y2"].map((a) => Number(line.getAttribute(a)));
    assert.equal(x1, x(g.getAttribute("data-from")!));
    assert.equal(x2, x(g.getAttribute("data-to")!));
    assert.ok(y2 > y1, "time runs down");
    assert.ok(y1 >= lastY, "in order");
    lastY = y2;
    assert.equal(line.getAttribute("marker-end"), "url(#arrow)");
  }
  const states = byClass(root, "g", "state").map((g) =>
    `${g.getAttribute("data-host")} ${g.getAttribute("data-state")}`
  );
  assert.deepEqual(states, [
    "client SYN_SENT",
    "server SYN_RCVD",
    "client ESTABLISHED",
    "server ESTABLISHED",
  ]);
});

Deno.test("a lost segment is an arrow that stops short with a cross", () => {
  const svg = renderLadder({
    segments: [
      { time: 0, from: "a", to: "b", flags: 0x18, seq: 1, ack: 1, len: 10, lost: "test" },
      { time: 200, arrived: 210, from: "a", to: "b", flags: 0x18, seq: 1, ack: 1, len: 10 },
    ],
  });
  const root = parseSvg(svg);
  const [lost, ok] = byClass(root, "g", "segment");
  assert.ok((lost.getAttribute("class") ?? "").includes("lost"));
  const l = lost.getElementsByTagName("line")[0], o = ok.getElementsByTagName("line")[0];
  const span = (e: typeof l) => Number(e.getAttribute("x2")) - Number(e.getAttribute("x1"));
  assert.ok(span(l) > 0 && span(l) < span(o) * 0.7, "stops short");
  assert.equal(l.getAttribute("marker-end"), null);
  assert.equal(byClass(root, "text", "cross").length, 1);
  assert.match(lost.textContent ?? "", /lost: test/);
});

Deno.test("a burst fans out: segments sent at one instant get one row each", () => {
  const svg = renderLadder({
    segments: [0, 1, 2].map((i) => ({
      time: 0,
      arrived: 10,
      from: "a",
      to: "b",
      flags: 0x10,
      seq: i * 100,
      ack: 1,
      len: 100,
    })),
  });
  const ys = byClass(parseSvg(svg), "g", "segment").map((g) =>
    Number(g.getElementsByTagName("line")[0].getAttribute("y1"))
  );
  assert.equal(new Set(ys).size, 3);
});

Deno.test("labels are XML-escaped and the lab figure of every scenario parses", () => {
  const root = parseSvg(renderLadder({ title: `<&"'>`, segments: [] }));
  assert.equal(root.getElementsByTagName("title")[0].textContent, `<&"'>`);
  for (const name of ["handshake", "close", "retransmission", "simultaneous-open", "syn-flood"]) {
    const fig = parseSvg(labFigure(runScenario(findScenario(name)!)));
    assert.equal(fig.getElementsByTagName("svg").length, 2, name); // ladder + state diagram
  }
});

Deno.test("a host talking to itself (self-connect) gets loops on its one timeline", () => {
  const r = runScenario(findScenario("self-connect")!);
  const root = parseSvg(renderLadder({ segments: r.segments, states: r.states }));
  assert.equal(byClass(root, "line", "timeline").length, 1);
  const loops = byClass(root, "g", "self");
  assert.equal(loops.length, r.segments.length);
  assert.equal(loops[1].getAttribute("data-label"), "SYN, ACK seq=1000 ack=1001");
  assert.match(
    loops[0].getElementsByTagName("path")[0].getAttribute("d") ?? "",
    /^M[\d.]+,[\d.]+ C/,
  );
});
