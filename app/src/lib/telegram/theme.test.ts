import { describe, expect, it } from 'vitest';
import {
  applyTheme,
  contrastRatio,
  isDarkColor,
  safeAreaVariables,
  THEME_VARIABLES,
  themeVariables,
  withContrast,
} from './theme.ts';

describe('themeVariables', () => {
  it('maps each Telegram theme parameter onto the app variable that plays its part', () => {
    const { variables, scheme } = themeVariables({
      bg_color: '#FFFFFF',
      text_color: '#000000',
      hint_color: '#555555',
      secondary_bg_color: '#f4f4f5',
      button_color: '#2481cc',
      button_text_color: '#ffffff',
      link_color: '#1a5a8c',
      section_separator_color: '#e7e7e7',
      header_bg_color: '#123456',
    });
    expect(variables).toEqual({
      '--bg': '#ffffff',
      '--fg': '#000000',
      '--muted': '#555555',
      '--card': '#f4f4f5',
      '--accent': '#2481cc',
      '--accent-fg': '#ffffff',
      '--link': '#1a5a8c',
      '--border': '#e7e7e7',
    });
    expect(scheme).toBe('light');
  });

  it('calls a dark background dark and leaves out what Telegram did not send or sent malformed', () => {
    const { variables, scheme } = themeVariables({
      bg_color: '#212121',
      text_color: 'white',
      link_color: '',
    });
    expect(variables).toEqual({ '--bg': '#212121' });
    expect(scheme).toBe('dark');
  });

  it('has no opinion on the scheme without a background colour', () => {
    expect(themeVariables({ text_color: '#000000' }).scheme).toBeNull();
  });

  it('darkens a hint colour too faint to read on the background until it meets AA contrast', () => {
    const { variables } = themeVariables({
      bg_color: '#ffffff',
      text_color: '#000000',
      hint_color: '#999999',
    });
    const muted = variables['--muted'] as string;
    expect(contrastRatio('#999999', '#ffffff')).toBeLessThan(4.5);
    expect(muted).not.toBe('#999999');
    expect(contrastRatio(muted, '#ffffff')).toBeGreaterThanOrEqual(4.5);
    // Still a grey between the hint and the text colour, not the text colour itself.
    expect(muted).not.toBe('#000000');
  });

  it('lightens a faint link on a dark background', () => {
    const { variables } = themeVariables({ bg_color: '#212121', link_color: '#3a3a8a' });
    expect(contrastRatio(variables['--link'] as string, '#212121')).toBeGreaterThanOrEqual(4.5);
  });
});

describe('colour helpers', () => {
  it('measures contrast as WCAG defines it', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrastRatio('#fff', '#ffffff')).toBeCloseTo(1, 5);
  });

  it('judges darkness by perceived brightness', () => {
    expect(isDarkColor('#0f0f0f')).toBe(true);
    expect(isDarkColor('#2481cc')).toBe(false);
    expect(isDarkColor('#ffffff')).toBe(false);
  });

  it('keeps a colour that already reads well', () => {
    expect(withContrast('#333333', '#ffffff', '#000000')).toBe('#333333');
  });
});

describe('applyTheme', () => {
  it('sets the variables and data-theme on the root, and hands back variables a new theme lacks', () => {
    const root = document.createElement('html');
    applyTheme(root, { bg_color: '#212121', text_color: '#ffffff', section_separator_color: '#2f2f2f' });
    expect(root.dataset.theme).toBe('dark');
    expect(root.style.getPropertyValue('--bg')).toBe('#212121');
    expect(root.style.getPropertyValue('--border')).toBe('#2f2f2f');

    applyTheme(root, { bg_color: '#ffffff', text_color: '#000000' });
    expect(root.dataset.theme).toBe('light');
    expect(root.style.getPropertyValue('--bg')).toBe('#ffffff');
    expect(root.style.getPropertyValue('--border')).toBe('');
    expect(THEME_VARIABLES).toContain('--border');
  });
});

describe('safeAreaVariables', () => {
  it('pads by the device safe area plus what Telegram’s controls cover', () => {
    expect(
      safeAreaVariables(
        { top: 47, bottom: 34, left: 0, right: 0 },
        { top: 46, bottom: 0, left: 0, right: 0 },
      ),
    ).toEqual({ '--safe-top': '93px', '--safe-bottom': '34px', '--safe-left': '0px', '--safe-right': '0px' });
  });

  it('ignores negative insets some clients report during rotation', () => {
    expect(
      safeAreaVariables({ top: -5, bottom: 0, left: 0, right: 0 }, { top: 0, bottom: 0, left: 0, right: 0 })[
        '--safe-top'
      ],
    ).toBe('0px');
  });
});
