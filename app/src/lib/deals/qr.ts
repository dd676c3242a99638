import qrcode from 'qrcode-generator';

/**
 * A QR code as an SVG data URL for an <img>: one path of dark modules, no canvas, nothing inline to
 * trip the content security policy. Always dark on white with a quiet zone, whatever the theme: that is
 * what wallet cameras read reliably.
 */
export function qrSvg(text: string): string {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4;
  const size = n + quiet * 2;
  let path = '';
  for (let row = 0; row < n; row++)
    for (let col = 0; col < n; col++)
      if (qr.isDark(row, col)) path += `M${col + quiet} ${row + quiet}h1v1h-1z`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges">` +
    `<rect width="${size}" height="${size}" fill="#fff"/><path d="${path}" fill="#000"/></svg>`
  );
}

export const qrDataUrl = (text: string): string => `data:image/svg+xml,${encodeURIComponent(qrSvg(text))}`;
