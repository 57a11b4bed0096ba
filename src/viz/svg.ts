/**
 * Small helpers for writing SVG by hand: escaping and composing figures.
 *
 * @module
 */

/**
 * Escapes text for XML content and attribute values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeXml } from "./svg.ts";
 * assert.equal(escapeXml(`a<b & "c"`), "a&lt;b &amp; &quot;c&quot;");
 * ```
 */
export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) =>
      c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === "&"
        ? "&amp;"
        : c === '"'
        ? "&quot;"
        : "&apos;",
  );
}

/** The width and height an SVG document declares on its root element. */
export function svgSize(svg: string): { width: number; height: number } {
  const m = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  return m ? { width: Number(m[1]), height: Number(m[2]) } : { width: 0, height: 0 };
}

/**
 * Puts standalone SVG documents side by side in one document (each one
 * becomes a nested `<svg>` at its x offset), top-aligned.
 *
 * @param parts SVG documents, left to right.
 * @param gap Room between them in px.
 * @returns One SVG document.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sideBySide } from "./svg.ts";
 * const a = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="20"></svg>';
 * const both = sideBySide([a, a], 5);
 * assert.ok(both.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="25" height="20"'));
 * ```
 */
export function sideBySide(parts: readonly string[], gap = 20): string {
  let x = 0;
  let height = 0;
  const inner: string[] = [];
  for (const p of parts) {
    const { width, height: h } = svgSize(p);
    inner.push(p.replace(/^<svg /, `<svg x="${x}" y="0" `));
    x += width + gap;
    height = Math.max(height, h);
  }
  const width = Math.max(0, x - gap);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}">\n<rect width="100%" height="100%" fill="#ffffff"/>\n` +
    `${inner.join("\n")}</svg>\n`;
}
