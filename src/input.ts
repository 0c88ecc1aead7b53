/**
 * Validation of runApsJob's input, shared by the workflow (first thing it does), the client
 * helpers and the CLI (before anything is started). Pure: safe in workflow code.
 */
import type { JobTarget, OnStopAction, RunApsJobInput } from './api';
import { validateRetryRules } from './retry';
import type { RetryRuleInput } from './retry/types';
import {
  InputValidationError,
  describeValue,
  parseDuration,
  validateApsJobId,
  validateEnum,
  validateRegionId,
} from './validation';

/** runApsJob's input with defaults applied and durations in milliseconds. */
export interface NormalizedRunInput {
  /** Region. */
  regionId: string;
  /** Job ID. */
  apsJobId: string;
  /** Target state. */
  target: JobTarget;
  /** Poll interval, ms. */
  pollIntervalMs: number;
  /** Deadline from the workflow start, ms. */
  timeoutMs: number;
  /** Action on cancellation. */
  onCancel: OnStopAction;
  /** Action on deadline. */
  onTimeout: OnStopAction;
  /** How long a stopped status is tolerated while waiting, ms. */
  stoppedGraceMs: number;
  /** Bound of one API attempt (start-to-close of each activity attempt), ms. */
  activityTimeoutMs: number;
  /** Workflow-level rules as given (validated). */
  retryRules?: RetryRuleInput[];
}

/** Defaults of runApsJob's optional fields. */
export const RUN_DEFAULTS = {
  target: 'running' as JobTarget,
  pollInterval: '30s',
  timeout: '24h',
  onCancel: 'leave' as OnStopAction,
  onTimeout: 'leave' as OnStopAction,
  stoppedGrace: '1m',
  activityTimeout: '2m',
};

const KNOWN_FIELDS = new Set([
  'regionId',
  'apsJobId',
  'target',
  'pollInterval',
  'timeout',
  'onCancel',
  'onTimeout',
  'stoppedGrace',
  'activityTimeout',
  'retryRules',
]);

/**
 * Validates and normalizes runApsJob's input; throws {@link InputValidationError} naming the
 * first bad field.
 */
export function normalizeRunInput(input: unknown): NormalizedRunInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InputValidationError('input', 'an object like { regionId, apsJobId }', describeValue(input));
  }
  const raw = input as Record<string, unknown> & Partial<RunApsJobInput>;
  for (const key of Object.keys(raw)) {
    if (!KNOWN_FIELDS.has(key)) {
      throw new InputValidationError(
        key,
        `no such field (known: ${[...KNOWN_FIELDS].join(', ')})`,
        'a value',
      );
    }
  }
  const regionId = validateRegionId(raw.regionId);
  const apsJobId = validateApsJobId(raw.apsJobId);
  const target = validateEnum(raw.target ?? RUN_DEFAULTS.target, 'target', ['running', 'completed'] as const);
  const pollIntervalMs = parseDuration(raw.pollInterval ?? RUN_DEFAULTS.pollInterval, 'pollInterval', {
    minMs: 100,
    maxMs: 24 * 3_600_000,
  });
  const timeoutMs = parseDuration(raw.timeout ?? RUN_DEFAULTS.timeout, 'timeout', {
    minMs: 1000,
    maxMs: 366 * 86_400_000,
  });
  const onCancel = validateEnum(raw.onCancel ?? RUN_DEFAULTS.onCancel, 'onCancel', [
    'suspend',
    'leave',
  ] as const);
  const onTimeout = validateEnum(raw.onTimeout ?? RUN_DEFAULTS.onTimeout, 'onTimeout', [
    'suspend',
    'leave',
  ] as const);
  const stoppedGraceMs = parseDuration(raw.stoppedGrace ?? RUN_DEFAULTS.stoppedGrace, 'stoppedGrace', {
    maxMs: 24 * 3_600_000,
  });
  const activityTimeoutMs = parseDuration(
    raw.activityTimeout ?? RUN_DEFAULTS.activityTimeout,
    'activityTimeout',
    {
      minMs: 1000,
      maxMs: 3_600_000,
    },
  );
  let retryRules: RetryRuleInput[] | undefined;
  if (raw.retryRules !== undefined) {
    validateRetryRules(raw.retryRules, 'retryRules');
    retryRules = raw.retryRules;
  }
  return {
    regionId,
    apsJobId,
    target,
    pollIntervalMs,
    timeoutMs,
    onCancel,
    onTimeout,
    stoppedGraceMs,
    activityTimeoutMs,
    retryRules,
  };
}
