import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { checkHandlers, dispatch } from './handlers.ts';

const ok = async () => 'done';

describe('job handler registry', () => {
  it('accepts exactly one handler per job name of the queue contract', () => {
    expect(() =>
      checkHandlers('deadlines', { 'payment-window': ok, 'delivery-deadline': ok, 'inspection-end': ok }),
    ).not.toThrow();
  });

  it('refuses to start with a missing or an unknown job name', () => {
    expect(() => checkHandlers('deadlines', { 'payment-window': ok, 'delivery-deadline': ok })).toThrow(
      'queue deadlines: no handler for inspection-end',
    );
    expect(() => checkHandlers('mirror', { 'mirror-entity': ok, 'mirror-everything': ok })).toThrow(
      'queue mirror: unknown job names mirror-everything',
    );
  });

  it('fails a job without a handler visibly instead of dropping it', async () => {
    const run = dispatch({ 'mirror-entity': ok });
    await expect(run({ name: 'mirror-entity' } as Job)).resolves.toBe('done');
    await expect(run({ name: 'toString' } as Job)).rejects.toThrow("no handler for job 'toString'");
  });
});
