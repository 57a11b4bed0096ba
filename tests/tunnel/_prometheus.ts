/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for
 * tests: it throws on any line a scraper would reject or misread.
 */

/** One sample: metric name, labels and value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A parsed exposition. */
export interface Exposition {
  /** TYPE by metric name. */
  readonly types: ReadonlyMap<string, string>;
  /** HELP by metric name. */
  readonly help: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE = new RegExp(
  `^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?\\})? (-?[0-9]+(?:\\.[0-9]+)?(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$`,
);
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/**
 * Parses `text`, checking: every line is a comment, HELP, TYPE or sample;
 * each family has one HELP and one TYPE, before its samples; counters end
 * in `_total`; no sample (name + labels) repeats; the text ends in a newline.
 *
 * @throws {Error} Naming the first bad line.
 */
export function parseExposition(text: string): Exposition {
  if (!text.endsWith("\n")) throw new Error("exposition does not end with a newline");
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, i) => {
    const where = `line ${i + 1} ${JSON.stringify(line)}`;
    const meta = line.match(new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`));
    if (meta) {
      const [, kind, name, rest] = meta;
      const table = kind === "HELP" ? help : types;
      if (table.has(name)) throw new Error(`${where}: second ${kind} for ${name}`);
      if (samples.some((s) => s.name === name)) throw new Error(`${where}: ${kind} after samples`);
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${rest}`);
        if (rest === "counter" && !name.endsWith("_total")) {
          throw new Error(`${where}: counter ${name} does not end in _total`);
        }
      } else if (rest.trim() === "") {
        throw new Error(`${where}: empty HELP`);
      }
      table.set(name, rest);
      return;
    }
    if (line.startsWith("#")) return;
    const m = line.match(SAMPLE);
    if (!m) throw new Error(`${where}: not a sample`);
    const [, name, labelText, value] = m;
    if (!types.has(name)) throw new Error(`${where}: no TYPE for ${name} before its sample`);
    if (!help.has(name)) throw new Error(`${where}: no HELP for ${name} before its sample`);
    const labels: Record<string, string> = {};
    for (const l of (labelText ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      if (l[1] in labels) throw new Error(`${where}: label ${l[1]} twice`);
      labels[l[1]] = l[2];
    }
    const key = `${name}{${labelText ?? ""}}`;
    if (seen.has(key)) throw new Error(`${where}: sample repeated`);
    seen.add(key);
    samples.push({ name, labels, value: Number(value) });
  });
  return { types, help, samples };
}

/** The value of the one sample of `name` whose labels include `labels`. */
export function sampleValue(
  exp: Exposition,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  const found = exp.samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  if (found.length !== 1) {
    throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  }
  return found[0].value;
}
