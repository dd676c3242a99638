import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  apiConfigSchema,
  appConfigSchema,
  assistConfigSchema,
  scannerConfigSchema,
  workersConfigSchema,
} from '@amanat/core';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

describe('configuration documentation', () => {
  const variables = new Set(
    [apiConfigSchema, workersConfigSchema, scannerConfigSchema, assistConfigSchema, appConfigSchema].flatMap(
      (s) => Object.keys(s.shape),
    ),
  );

  it('.env.example documents every variable a service reads', () => {
    const documented = new Set(
      [...read('.env.example').matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]),
    );
    expect([...variables].filter((v) => !documented.has(v))).toEqual([]);
  });

  it('the README configuration table lists them too', () => {
    const readme = read('README.md');
    expect(
      [...variables].filter((v) => !readme.includes(`| \`${v}\``) && !readme.includes(`/ \`${v}\``)),
    ).toEqual([]);
  });
});
