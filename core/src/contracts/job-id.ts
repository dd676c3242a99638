import { DomainError } from '../errors.ts';

/**
 * BullMQ 6 rejects custom job ids that contain ':' (its key separator) or are all digits (they would
 * collide with its own counters). Every job id is built through here so a bad id fails where it is made.
 */
export function jobId(...parts: Array<string | number | bigint>): string {
  const id = parts.map(String).join('-');
  if (id.length === 0 || id.includes(':') || /^\d+$/.test(id)) {
    throw new DomainError('job_id_invalid', `'${id}' cannot be a BullMQ job id (no ':' and not all digits)`);
  }
  return id;
}
