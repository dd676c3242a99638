import { z } from 'zod';

/**
 * Bodies shaped like what a route accepts, derived from its own zod schema (through JSON Schema), so
 * a route added later is fuzzed with plausible bodies without anyone writing samples for it. Field
 * names the project uses get realistic values, so a mutated sample fails on the one field that was
 * broken rather than on everything at once.
 */
type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  minLength?: number;
  format?: string;
  pattern?: string;
};

export interface ShapeHints {
  /** Values for string or number fields by name, e.g. address, amount, chainId, code. */
  byName: Record<string, unknown>;
}

function sampleOne(schema: JsonSchema, name: string, hints: ShapeHints, depth: number): unknown {
  if (depth > 6) return null;
  if (Object.hasOwn(hints.byName, name)) return hints.byName[name];
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  const union = schema.anyOf ?? schema.oneOf;
  if (union?.length) return sampleOne(union[0] as JsonSchema, name, hints, depth + 1);
  if (schema.allOf?.length) return sampleOne(schema.allOf[0] as JsonSchema, name, hints, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries(schema.properties ?? {})) {
        out[key] = sampleOne(sub, key, hints, depth + 1);
      }
      return out;
    }
    case 'array':
      return schema.items ? [sampleOne(schema.items, name, hints, depth + 1)] : [];
    case 'integer':
    case 'number': {
      const low = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
      return Math.min(Math.max(low, 1), schema.maximum ?? Number.MAX_SAFE_INTEGER);
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string':
      if (schema.format === 'uuid') return '00000000-0000-4000-8000-000000000000';
      if (schema.format === 'date-time') return new Date(0).toISOString();
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
    default:
      return schema.default ?? 'x';
  }
}

/** One sample per branch of a top-level union (a discriminated body gets each of its variants). */
export function bodySamples(schema: z.ZodType, hints: ShapeHints): unknown[] {
  let json: JsonSchema;
  try {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return [{}];
  }
  const branches = json.anyOf ?? json.oneOf ?? [json];
  return branches.map((branch) => sampleOne(branch, '', hints, 0));
}

/** Every place in a sample a value could be swapped, objects included (so `asset` as a whole too). */
export function fieldPaths(value: unknown, prefix: readonly string[] = []): string[][] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const out: string[][] = [];
  for (const [key, sub] of Object.entries(value)) {
    const here = [...prefix, key];
    out.push(here);
    out.push(...fieldPaths(sub, here));
  }
  return out;
}

const RAW_MARK = '\u0001RAW\u0001';
const RAW_MARK_JSON = JSON.stringify(RAW_MARK);

function cloneWith(value: unknown, path: readonly string[], replace: (old: unknown) => unknown): unknown {
  if (path.length === 0) return replace(value);
  const [head, ...rest] = path as [string, ...string[]];
  const copy = { ...(value as Record<string, unknown>) };
  copy[head] = cloneWith(copy[head], rest, replace);
  return copy;
}

/** The sample as JSON text with the value at `path` replaced by raw JSON text (kept as written). */
export function withRawValue(sample: unknown, path: readonly string[], rawJson: string): string {
  return JSON.stringify(cloneWith(sample, path, () => RAW_MARK)).replace(RAW_MARK_JSON, () => rawJson);
}

/** The sample as JSON text without the field at `path`. */
export function withoutField(sample: unknown, path: readonly string[]): string {
  const parent = path.slice(0, -1);
  const last = path[path.length - 1] as string;
  return JSON.stringify(
    cloneWith(sample, parent, (old) => {
      const copy = { ...(old as Record<string, unknown>) };
      delete copy[last];
      return copy;
    }),
  );
}

/** Adds a raw `"key": value` member to a JSON object text, first or last (JSON.stringify would drop `__proto__`). */
export function withRawMember(objectText: string, member: string, first: boolean): string {
  if (!objectText.startsWith('{')) return objectText;
  const empty = objectText === '{}';
  if (first) return `{${member}${empty ? '' : ','}${objectText.slice(1)}`;
  return `${objectText.slice(0, -1)}${empty ? '' : ','}${member}}`;
}

/** What a route's schema demands of each path parameter: its JSON Schema `pattern` and `format`. */
export function paramRules(
  schema: z.ZodType | undefined,
): Record<string, { pattern?: string; format?: string }> {
  if (!schema) return {};
  try {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    return json.properties ?? {};
  } catch {
    return {};
  }
}
