import qrcode from 'qrcode-generator';
import { describe, expect, it } from 'vitest';
import { qrDataUrl, qrSvg } from './qr.ts';

describe('qrSvg', () => {
  it('draws exactly the dark modules of the code, inside a quiet zone', () => {
    const text = 'ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@1?value=10';
    const reference = qrcode(0, 'M');
    reference.addData(text);
    reference.make();
    const n = reference.getModuleCount();
    let dark = 0;
    for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (reference.isDark(r, c)) dark++;

    const svg = qrSvg(text);
    expect(svg).toContain(`viewBox="0 0 ${n + 8} ${n + 8}"`);
    expect(svg.match(/h1v1h-1z/g)).toHaveLength(dark);
    // The top-left finder pattern starts at the quiet zone's edge.
    expect(svg).toContain('M4 4h1v1h-1z');
  });

  it('is an image URL that needs no escaping inside an attribute', () => {
    const url = qrDataUrl('ethereum:0x00@1?value=1');
    expect(url.startsWith('data:image/svg+xml,')).toBe(true);
    expect(url).not.toMatch(/["<> ]/);
  });
});
