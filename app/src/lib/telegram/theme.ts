/**
 * Telegram's theme and safe areas expressed in the app's own CSS variables (app.css), so every screen
 * follows the user's Telegram theme without knowing about Telegram.
 */

export type ThemeParams = Partial<Record<string, string>>;
export type Scheme = 'light' | 'dark';

/** Theme parameter → app variable. Absent parameters leave the app's own value for that variable. */
const THEME_TO_VARIABLE = [
  ['bg_color', '--bg'],
  ['text_color', '--fg'],
  ['hint_color', '--muted'],
  ['secondary_bg_color', '--card'],
  ['button_color', '--accent'],
  ['button_text_color', '--accent-fg'],
  ['link_color', '--link'],
  ['section_separator_color', '--border'],
] as const;

export type ThemeVariable = (typeof THEME_TO_VARIABLE)[number][1];
export const THEME_VARIABLES: readonly ThemeVariable[] = THEME_TO_VARIABLE.map(([, name]) => name);
export const SAFE_AREA_VARIABLES = ['--safe-top', '--safe-bottom', '--safe-left', '--safe-right'] as const;

/** WCAG AA for body text: what the app promises for its own colours, kept when Telegram's are fainter. */
const MIN_TEXT_CONTRAST = 4.5;

type Rgb = readonly [number, number, number];

function parseHex(color: string | undefined): Rgb | null {
  const m = color?.trim().match(/^#([\da-f]{6}|[\da-f]{3})$/i)?.[1];
  if (!m) return null;
  const hex = m.length === 3 ? [...m].map((c) => c + c).join('') : m;
  return [0, 2, 4].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as unknown as Rgb;
}

const toHex = (rgb: Rgb) => `#${rgb.map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;

function luminance([r, g, b]: Rgb): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio between two colours (1 to 21). */
export function contrastRatio(a: string, b: string): number {
  const ca = parseHex(a);
  const cb = parseHex(b);
  if (!ca || !cb) return 1;
  const [hi, lo] = [luminance(ca), luminance(cb)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** Dark by perceived brightness (the measure the SDK's isDark uses). */
export function isDarkColor(color: string): boolean {
  const rgb = parseHex(color);
  if (!rgb) return false;
  const [r, g, b] = rgb;
  return Math.sqrt(0.299 * r * r + 0.587 * g * g + 0.114 * b * b) < 120;
}

/**
 * `color` moved towards `towards` just enough to reach the contrast text needs on `bg`. Telegram's hint
 * colours are often too faint for AA; nudging keeps their tone instead of replacing them.
 */
export function withContrast(color: string, bg: string, towards: string): string {
  const from = parseHex(color);
  const to = parseHex(towards);
  if (!from || !to || !parseHex(bg) || contrastRatio(color, bg) >= MIN_TEXT_CONTRAST) return color;
  for (let step = 1; step <= 10; step++) {
    const t = step / 10;
    const mixed = toHex(from.map((c, i) => c + ((to[i] as number) - c) * t) as unknown as Rgb);
    if (contrastRatio(mixed, bg) >= MIN_TEXT_CONTRAST) return mixed;
  }
  return towards;
}

export interface ThemeVariables {
  variables: Partial<Record<ThemeVariable, string>>;
  /** Null when Telegram gave no background colour to judge by. */
  scheme: Scheme | null;
}

/** The app's variables for Telegram theme parameters. */
export function themeVariables(params: ThemeParams): ThemeVariables {
  const variables: Partial<Record<ThemeVariable, string>> = {};
  for (const [key, name] of THEME_TO_VARIABLE) {
    const value = params[key];
    if (parseHex(value)) variables[name] = (value as string).toLowerCase();
  }
  const bg = variables['--bg'];
  const scheme: Scheme | null = bg ? (isDarkColor(bg) ? 'dark' : 'light') : null;
  if (bg) {
    const strongest = scheme === 'dark' ? '#ffffff' : '#000000';
    for (const name of ['--muted', '--link'] as const) {
      const value = variables[name];
      if (value) variables[name] = withContrast(value, bg, variables['--fg'] ?? strongest);
    }
  }
  return { variables, scheme };
}

export interface Insets {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * Padding the body needs: the device's safe area (notches, home indicator) plus the part of it Telegram's
 * own controls cover in full-screen mode (content safe area, measured from the device safe area).
 */
export function safeAreaVariables(
  safe: Insets,
  content: Insets,
): Record<(typeof SAFE_AREA_VARIABLES)[number], string> {
  const px = (a: number, b: number) => `${Math.max(0, a) + Math.max(0, b)}px`;
  return {
    '--safe-top': px(safe.top, content.top),
    '--safe-bottom': px(safe.bottom, content.bottom),
    '--safe-left': px(safe.left, content.left),
    '--safe-right': px(safe.right, content.right),
  };
}

/** Set `names` on the element from `values`; a name without a value goes back to the stylesheet's. */
export function applyVariables(
  element: HTMLElement,
  names: readonly string[],
  values: Partial<Record<string, string>>,
): void {
  for (const name of names) {
    const value = values[name];
    if (value) element.style.setProperty(name, value);
    else element.style.removeProperty(name);
  }
}

/** Put Telegram's theme on the page: the colours, and the scheme the rest of app.css follows. */
export function applyTheme(root: HTMLElement, params: ThemeParams): void {
  const { variables, scheme } = themeVariables(params);
  applyVariables(root, THEME_VARIABLES, variables);
  if (scheme) root.dataset.theme = scheme;
}
