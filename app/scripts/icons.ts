// Renders the app icons (static/icons/*.png) from static/icons/icon.svg with headless Chromium. The PNGs
// are committed; the build does not run this. Run it after changing the SVG:
//   export PATH=/work/main/node_modules/.bin:$PATH && node app/scripts/icons.ts
// It needs Debian's Chromium (`apt-get install -y chromium`) or CHROMIUM_PATH pointing at another one.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const iconsDir = join(import.meta.dirname, '..', 'static', 'icons');

interface IconSpec {
  file: string;
  size: number;
  /**
   * Maskable icons are cropped by the launcher to any shape inside the central 80% circle: the background
   * fills the whole square and the mark shrinks so it stays inside that safe zone.
   */
  maskable: boolean;
}

const ICONS: readonly IconSpec[] = [
  { file: 'icon-192.png', size: 192, maskable: false },
  { file: 'icon-512.png', size: 512, maskable: false },
  { file: 'icon-maskable-512.png', size: 512, maskable: true },
];

/** The SVG as one icon needs it: square corners and a smaller mark for the maskable one. */
function variant(svg: string, maskable: boolean): string {
  if (!maskable) return svg;
  return svg
    .replace(/(<rect id="background"[^>]*?) rx="\d+"/, '$1')
    .replace(
      '<g id="mark">',
      '<g id="mark" transform="translate(256 256) scale(0.78) translate(-256 -256)">',
    );
}

const svg = await readFile(join(iconsDir, 'icon.svg'), 'utf8');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-sync',
  ],
});
try {
  for (const icon of ICONS) {
    const page = await browser.newPage({ viewport: { width: icon.size, height: icon.size } });
    const markup = variant(svg, icon.maskable).replace(
      '<svg ',
      `<svg width="${icon.size}" height="${icon.size}" `,
    );
    await page.setContent(
      `<!doctype html><html><body style="margin:0;background:transparent">${markup}</body></html>`,
    );
    const png = await page.locator('svg').screenshot({ omitBackground: true });
    await writeFile(join(iconsDir, icon.file), png);
    await page.close();
    process.stdout.write(`wrote ${icon.file} (${icon.size}px)\n`);
  }
} finally {
  await browser.close();
}
