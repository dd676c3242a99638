/**
 * Every rejection the domain makes carries a stable, machine-readable code so that the API can map it
 * to a problem+json answer and a CLI can say what to fix, without parsing messages.
 */
export class DomainError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

export const isDomainError = (value: unknown): value is DomainError => value instanceof DomainError;
