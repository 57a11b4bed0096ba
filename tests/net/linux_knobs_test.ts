/**
 * docs/linux-knobs.md cannot drift from the option table: each row's option
 * holds the row's Linux name and has the row's default, every Linux name of
 * the option table has a row, every knob issue 13 lists is there, and every
 * test file and lab scenario named under "Shown by" exists.
 */
import assert from "node:assert/strict";
import { type OptionSpec, TOU_OPTION_SPECS } from "../../src/net/option_specs.ts";
import { findScenario } from "../../src/lab/mod.ts";
import { KNOB_FLAGS } from "../../src/tunnel/knob_flags.ts";

const ROOT = new URL("../../", import.meta.url);
const DOC = "docs/linux-knobs.md";
const START = "<!-- knobs table: checked by tests/net/linux_knobs_test.ts -->";
const END = "<!-- end of knobs table -->";

/** Every sysctl and socket option the seed notes use (issue 13's list). */
const ISSUE_KNOBS = [
  "tcp_syn_retries",
  "tcp_synack_retries",
  "tcp_orphan_retries",
  "tcp_fin_timeout",
  "tcp_keepalive_time",
  "tcp_keepalive_intvl",
  "tcp_keepalive_probes",
  "tcp_max_syn_backlog",
  "somaxconn",
  "tcp_abort_on_overflow",
  "tcp_syncookies",
  "tcp_fastopen",
  "tcp_tw_reuse",
  "tcp_max_tw_buckets",
  "tcp_timestamps",
  "tcp_window_scaling",
  "tcp_sack",
  "ip_local_port_range",
  "SO_LINGER",
  "SO_REUSEADDR",
  "SO_REUSEPORT",
  "TCP_NODELAY",
  "TCP_KEEPIDLE",
  "TCP_KEEPINTVL",
  "TCP_KEEPCNT",
  "TCP_USER_TIMEOUT",
  "TCP_INFO",
  "SHUT_RD",
  "SHUT_WR",
  "SHUT_RDWR",
];

interface Row {
  linux: string;
  linuxDefault: string;
  tou: string;
  touDefault: string;
  cli: string;
  shownBy: string;
}

function rows(): Row[] {
  const text = Deno.readTextFileSync(new URL(DOC, ROOT));
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  assert.ok(start >= 0 && end > start, `${DOC}: table markers missing`);
  return text.slice(start + START.length, end).split("\n")
    .filter((l) => l.startsWith("|"))
    .slice(2) // header and rule
    .map((l) => {
      const [linux, linuxDefault, tou, touDefault, cli, shownBy] = l.split("|").slice(1, -1)
        .map((c) => c.trim());
      return { linux: linux.replace(/^`|`$/g, ""), linuxDefault, tou, touDefault, cli, shownBy };
    });
}

const ticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

const cliDocs = Deno.readTextFileSync(new URL("docs/cli.md", ROOT));

const specs = TOU_OPTION_SPECS as unknown as Record<string, OptionSpec>;

function defaultText(spec: OptionSpec): string {
  const d = spec.default;
  if (typeof d === "string") return `"${d}"`;
  if (typeof d === "object") return `[${d.join(", ")}]`;
  return String(d);
}

Deno.test("docs/linux-knobs.md has a row for every knob of issue 13 and every Linux name of TOU_OPTION_SPECS", () => {
  const names = new Set(rows().map((r) => r.linux));
  for (const k of ISSUE_KNOBS) assert.ok(names.has(k), `${DOC}: no row for ${k}`);
  for (const [name, spec] of Object.entries(specs)) {
    for (const l of spec.linux ?? []) assert.ok(names.has(l), `${DOC}: no row for ${l} (${name})`);
  }
});

Deno.test("docs/linux-knobs.md names, for each row with an option, the option that lists that Linux name, with its default", () => {
  let checked = 0;
  for (const r of rows()) {
    const option = ticked(r.tou).find((t) => t in specs);
    if (option === undefined) {
      // no option: no option table entry may claim this Linux name
      for (const [name, spec] of Object.entries(specs)) {
        assert.ok(
          !spec.linux?.includes(r.linux),
          `${r.linux}: row names no option, but ${name} lists it`,
        );
      }
      continue;
    }
    const spec = specs[option];
    assert.ok(spec.linux?.includes(r.linux), `${option}.linux lacks ${r.linux}`);
    assert.equal(r.touDefault, defaultText(spec), `${r.linux}: default of ${option}`);
    if (r.cli !== "—") {
      const [key, ...flags] = ticked(r.cli);
      assert.equal(key, `tcp.${option}`, `${r.linux}: config key`);
      for (const f of flags) {
        assert.ok(cliDocs.includes(f.split(" ")[0]), `${r.linux}: ${f} is not in docs/cli.md`);
      }
    }
    checked++;
  }
  assert.ok(checked >= 30, `${checked} option rows`);
});

Deno.test("docs/linux-knobs.md shows each knob in a test file or lab scenario that exists", () => {
  for (const r of rows()) {
    const refs = ticked(r.shownBy);
    assert.ok(refs.length > 0, `${r.linux}: nothing under "Shown by"`);
    for (const ref of refs) {
      const lab = /^tou lab (\S+)$/.exec(ref);
      if (lab) {
        assert.ok(findScenario(lab[1]), `${r.linux}: no lab scenario ${lab[1]}`);
      } else {
        assert.ok(Deno.statSync(new URL(ref, ROOT)).isFile, `${r.linux}: ${ref}`);
      }
    }
  }
});

Deno.test("docs/linux-knobs.md lists each knob flag in the CLI column of its sysctl's row", () => {
  const byLinux = new Map(rows().map((r) => [r.linux, r]));
  assert.ok(KNOB_FLAGS.length >= 15);
  for (const k of KNOB_FLAGS) {
    const r = byLinux.get(k.linux);
    assert.ok(r, `no row for ${k.linux}`);
    assert.ok(ticked(r.cli).includes(`${k.flag} ${k.arg}`), `${k.linux}: CLI lacks ${k.flag}`);
  }
});
