/**
 * Test helpers for SVG output: a strict XML parse (any well-formedness
 * error throws), and a minimal PNG decoder for screenshots.
 */

import { DOMParser } from "@xmldom/xmldom";

/** A parsed element (the subset of the DOM the tests use). */
export interface El {
  readonly tagName: string;
  getAttribute(name: string): string | null;
  getElementsByTagName(name: string): ArrayLike<El>;
  readonly textContent: string | null;
}

/** Parses `svg` strictly and returns the root element. */
export function parseSvg(svg: string): El {
  const doc = new DOMParser({
    onError: (level: string, msg: string) => {
      throw new Error(`SVG does not parse (${level}): ${msg}`);
    },
  }).parseFromString(svg, "image/svg+xml");
  const root = doc.documentElement as unknown as El | null;
  if (!root) throw new Error("SVG has no root element");
  return root;
}

/** Elements under `root` named `tag` whose class list contains `cls`. */
export function byClass(root: El, tag: string, cls: string): El[] {
  return Array.from(root.getElementsByTagName(tag)).filter((e) =>
    (e.getAttribute("class") ?? "").split(/\s+/).includes(cls)
  );
}

/** A decoded PNG: RGBA pixels, row-major. */
export interface Png {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
}

/** Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's --screenshot writes). */
export async function decodePng(bytes: Uint8Array): Promise<Png> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 8;
  let width = 0, height = 0, colorType = 0;
  const idat: Uint8Array<ArrayBuffer>[] = [];
  while (off + 8 <= bytes.length) {
    const len = dv.getUint32(off);
    const type = new TextDecoder().decode(bytes.subarray(off + 4, off + 8));
    const data = bytes.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = dv.getUint32(off + 8);
      height = dv.getUint32(off + 12);
      if (data[8] !== 8 || data[12] !== 0) throw new Error("only 8-bit non-interlaced PNGs");
      colorType = data[9];
    } else if (type === "IDAT") idat.push(data.slice());
    else if (type === "IEND") break;
    off += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  if (bpp === 0) throw new Error(`unsupported PNG colour type ${colorType}`);
  const raw = new Uint8Array(
    await new Response(new Blob(idat).stream().pipeThrough(new DecompressionStream("deflate")))
      .arrayBuffer(),
  );
  const stride = width * bpp;
  const out = new Uint8Array(width * height * bpp);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[y * stride + i - bpp] : 0;
      const b = y > 0 ? out[(y - 1) * stride + i] : 0;
      const c = i >= bpp && y > 0 ? out[(y - 1) * stride + i - bpp] : 0;
      let v = line[i];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + i] = v & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgba.set(out.subarray(p * bpp, p * bpp + 3), p * 4);
    rgba[p * 4 + 3] = bpp === 4 ? out[p * bpp + 3] : 255;
  }
  return { width, height, rgba };
}
