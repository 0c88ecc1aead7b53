/**
 * Field validators shared by the API layer, the workflow, the client helpers and the CLI.
 * Pure: safe to import in workflow code.
 */
import { msToNumber } from '@temporalio/common/lib/time';
import type { Duration } from '@temporalio/common';

/** A bad input value: names the field and the expected form. */
export class InputValidationError extends Error {
  override readonly name = 'InputValidationError';
  constructor(
    /** The field, as the caller spelled it (`apsJobId`, `retryRules[1].maxAttempts`, …). */
    readonly field: string,
    /** What was expected, e.g. `a region ID like cn-hangzhou`. */
    readonly expected: string,
    /** A short description of what was given (never the whole value if long). */
    readonly got: string,
  ) {
    super(`Invalid ${field}: expected ${expected}, got ${got}`);
  }
}

/** Describes a value briefly for an error message, never dumping long input. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    if (value === '') return 'an empty string';
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return `${JSON.stringify(shown)}${value.length > 40 ? ` (${value.length} characters)` : ''}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${typeof value}`;
}

const REGION_RE = /^[a-z]{2,}(-[a-z0-9]+)+$/;
/** Expected form of a region ID. */
export const REGION_FORM = 'a region ID like cn-hangzhou (lower-case letters, digits and dashes)';

/** Validates a region ID such as `cn-hangzhou`; returns it unchanged. */
export function validateRegionId(value: unknown, field = 'regionId'): string {
  if (typeof value !== 'string' || value.length > 64 || !REGION_RE.test(value)) {
    throw new InputValidationError(field, REGION_FORM, describeValue(value));
  }
  return value;
}

/** The longest APS job ID accepted. */
export const APS_JOB_ID_MAX = 128;
/** Expected form of an APS job ID. */
export const APS_JOB_ID_FORM = `an APS job ID like aps-bp1234567890 (1 to ${APS_JOB_ID_MAX} characters, no whitespace or control characters)`;

/** Validates an APS job ID; returns it unchanged. */
export function validateApsJobId(value: unknown, field = 'apsJobId'): string {
  // \p{C} covers control, format, surrogate and unassigned code points; \s all whitespace.
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > APS_JOB_ID_MAX ||
    /[\s\p{C}]/u.test(value)
  ) {
    throw new InputValidationError(field, APS_JOB_ID_FORM, describeValue(value));
  }
  return value;
}

/** Expected form of a duration. */
export const DURATION_FORM = "a duration such as '30s', '5m', '2h', '1d' or a number of milliseconds";

/**
 * Parses a Temporal duration (string like `30s` or milliseconds) to milliseconds, within bounds.
 */
export function parseDuration(
  value: unknown,
  field: string,
  bounds: { minMs?: number; maxMs?: number } = {},
): number {
  let ms: number;
  try {
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new Error('not finite');
      ms = value;
    } else if (typeof value === 'string' && value.trim() !== '') {
      ms = msToNumber(value.trim() as Duration);
    } else {
      throw new Error('not a duration');
    }
  } catch {
    throw new InputValidationError(field, DURATION_FORM, describeValue(value));
  }
  if (!Number.isFinite(ms) || ms < 0)
    throw new InputValidationError(field, DURATION_FORM, describeValue(value));
  const { minMs, maxMs } = bounds;
  if (minMs !== undefined && ms < minMs) {
    throw new InputValidationError(
      field,
      `${DURATION_FORM}, at least ${formatMs(minMs)}`,
      describeValue(value),
    );
  }
  if (maxMs !== undefined && ms > maxMs) {
    throw new InputValidationError(
      field,
      `${DURATION_FORM}, at most ${formatMs(maxMs)}`,
      describeValue(value),
    );
  }
  return ms;
}

/** Formats milliseconds compactly (`1.5s`, `2m`, `3h`). */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)}m`;
  if (ms < 86_400_000) return `${+(ms / 3_600_000).toFixed(1)}h`;
  return `${+(ms / 86_400_000).toFixed(1)}d`;
}

/** Validates one of a fixed set of string values. */
export function validateEnum<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InputValidationError(
      field,
      `one of ${allowed.map((a) => `'${a}'`).join(', ')}`,
      describeValue(value),
    );
  }
  return value as T;
}
