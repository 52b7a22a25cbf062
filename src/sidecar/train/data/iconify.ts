/**
 * One Iconify icon set from npm (`@iconify-json/<prefix>`: icons.json with SVG bodies, info.json with
 * the licence, chars.json mapping code points to icon names where the set has one) and the rasteriser
 * that turns one of its icons into `size` x `size` RGB pixels with sharp (librsvg), composited on white.
 *
 * SVG assembly (aliases, flips, viewBox, unique ids) is @iconify/utils' job; rasterising is sharp's.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { IconifyJSON } from '@iconify/types';

/** The background every icon is composited on (the embedded models' training background). */
export const BACKGROUND = '#ffffff';

export interface IconSet {
  /** npm package, e.g. "@iconify-json/twemoji". */
  pkg: string;
  version: string;
  /** Licence as the package's info.json declares it (SPDX id), e.g. "CC-BY-4.0". */
  licence: string;
  /** Author as info.json names it, e.g. "Twitter". */
  author: string;
  /** Upstream URL of the licence text, from info.json. */
  licenceUrl: string;
  icons: IconifyJSON;
  /** Code point key (see codeKey) -> icon name; empty where the package has no chars.json entries. */
  chars: Map<string, string>;
}

/**
 * The key emoji are matched on across sets: lowercase hex code points joined by "-", without the
 * variation selector FE0F (sets disagree on whether they write it: "2764-fe0f" vs "2764").
 */
export function codeKey(unified: string): string {
  return unified.toLowerCase().split('-').filter((c) => c !== 'fe0f').join('-');
}

/** Read one installed `@iconify-json/*` package. */
export function loadIconSet(pkg: string): IconSet {
  const dir = dirname(require.resolve(`${pkg}/package.json`));
  const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  const info = read('info.json');
  const chars = new Map<string, string>();
  for (const [k, v] of Object.entries(read('chars.json') as Record<string, string>)) chars.set(codeKey(k), v);
  return {
    pkg,
    version: read('package.json').version,
    licence: info.license.spdx,
    author: info.author.name,
    licenceUrl: info.license.url,
    icons: read('icons.json'),
    chars,
  };
}

/** Whether the set has an icon (or alias) of this name. */
export function hasIcon(set: IconSet, name: string): boolean {
  return name in set.icons.icons || name in (set.icons.aliases ?? {});
}

/** The complete SVG document of one icon at `size` x `size` (aspect kept, centred). */
export async function iconSvg(set: IconSet, name: string, size: number): Promise<string> {
  // @iconify/utils is an ES module; this package is CommonJS, so it is imported dynamically.
  const { getIconData, iconToSVG, iconToHTML, replaceIDs } = await import('@iconify/utils');
  const data = getIconData(set.icons, name);
  if (!data) throw new Error(`${set.pkg} has no icon "${name}"`);
  const svg = iconToSVG(data, { width: size, height: size });
  return iconToHTML(replaceIDs(svg.body), svg.attributes);
}

/** Rasterise an SVG document to `size` x `size` RGB (uint8 HWC) on the white background. */
export async function rasteriseSvg(svg: string, size: number): Promise<Uint8Array> {
  const { data, info } = await sharp(Buffer.from(svg))
    .resize(size, size, { fit: 'contain', background: BACKGROUND }) // a no-op when the SVG is size x size
    .flatten({ background: BACKGROUND })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || info.channels !== 3) {
    throw new Error(`rasterised to ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** One icon of a set as `size` x `size` RGB pixels on white. */
export async function renderIcon(set: IconSet, name: string, size: number): Promise<Uint8Array> {
  return rasteriseSvg(await iconSvg(set, name, size), size);
}
