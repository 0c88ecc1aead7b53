/**
 * Validation of runApsJob's, superviseApsJob's and reconcileApsFleet's inputs, shared by the workflows (first thing
 * they do), the client helpers and the CLI (before anything is started). Pure: safe in workflow code.
 */
import type { PollSchedule } from './poll-schedule';
import type {
  FleetCarriedState,
  FleetMode,
  FleetSupervisorSettings,
  JobRestart,
  JobTarget,
  OnStopAction,
  ReconcileApsFleetInput,
  RunApsJobInput,
  SuperviseApsJobInput,
  SupervisorCarriedState,
} from './api';
import { DEFAULT_WAIT_OUTAGE, validateRetryRules } from './retry';
import type { RetryRuleInput } from './retry/types';
import {
  InputValidationError,
  describeValue,
  formatMs,
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
  /** Poll interval, ms (with `pollSchedule`: its first delay). */
  pollIntervalMs: number;
  /** An adaptive poll interval, when `pollInterval` is `{ initial, max, coefficient }`. */
  pollSchedule?: PollSchedule;
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
  /** Restarts after a failed status; absent when the job is not to be restarted. */
  jobFailure?: NormalizedJobFailure;
  /** How long a job whose status gives no clear answer is watched before it is started, ms. */
  settleWindowMs: number;
  /** How long status reads may fail transiently while the job is waited on, ms. */
  waitOutageMs: number;
  /** Heartbeat timeout of the start and wait attempts, ms, when given (else derived from the interval). */
  heartbeatTimeoutMs?: number;
}

/** A backoff schedule in milliseconds. */
export interface NormalizedBackoff {
  /** First delay, ms. */
  initialIntervalMs: number;
  /** Growth factor. */
  backoffCoefficient: number;
  /** Longest delay, ms. */
  maximumIntervalMs: number;
}

/** `onJobFailure` with defaults applied. */
export interface NormalizedJobFailure extends NormalizedBackoff {
  /** Restarts allowed. */
  maxRestarts: number;
}

/** Defaults of `onJobFailure` (when `restart` is true). */
export const JOB_FAILURE_DEFAULTS = {
  maxRestarts: 3,
  initialInterval: '10s',
  backoffCoefficient: 2,
  maximumInterval: '10m',
};

/** Defaults of runApsJob's optional fields. */
export const RUN_DEFAULTS = {
  target: 'running' as JobTarget,
  pollInterval: '30s',
  timeout: '24h',
  onCancel: 'leave' as OnStopAction,
  onTimeout: 'leave' as OnStopAction,
  stoppedGrace: '1m',
  activityTimeout: '2m',
  settleWindow: '1m',
  waitOutage: DEFAULT_WAIT_OUTAGE,
};

/** Bounds of runApsJob's `heartbeatTimeout`: at most the window a wait is held in process. */
export const HEARTBEAT_TIMEOUT_BOUNDS = { minMs: 10_000, maxMs: 10 * 60_000 };
/** Bounds of `settleWindow` (both workflows). */
const SETTLE_WINDOW_BOUNDS = { minMs: 1000, maxMs: 3_600_000 };
/** Bounds of `waitOutage` (both workflows). */
const WAIT_OUTAGE_BOUNDS = { minMs: 1000, maxMs: 30 * 86_400_000 };

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
  'onJobFailure',
  'settleWindow',
  'waitOutage',
  'heartbeatTimeout',
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
  // The server does not hand out an activity retry sooner than about a second after the failure,
  // so a shorter interval would only be a promise it cannot keep.
  const { pollIntervalMs, pollSchedule } = normalizePollInterval(raw.pollInterval);
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
  const jobFailure = normalizeJobFailure(raw.onJobFailure);
  const settleWindowMs = parseDuration(
    raw.settleWindow ?? RUN_DEFAULTS.settleWindow,
    'settleWindow',
    SETTLE_WINDOW_BOUNDS,
  );
  const waitOutageMs = parseDuration(
    raw.waitOutage ?? RUN_DEFAULTS.waitOutage,
    'waitOutage',
    WAIT_OUTAGE_BOUNDS,
  );
  const heartbeatTimeoutMs =
    raw.heartbeatTimeout === undefined
      ? undefined
      : parseDuration(raw.heartbeatTimeout, 'heartbeatTimeout', HEARTBEAT_TIMEOUT_BOUNDS);
  return {
    regionId,
    apsJobId,
    target,
    pollIntervalMs,
    ...(pollSchedule ? { pollSchedule } : {}),
    timeoutMs,
    onCancel,
    onTimeout,
    stoppedGraceMs,
    activityTimeoutMs,
    retryRules,
    ...(jobFailure ? { jobFailure } : {}),
    settleWindowMs,
    waitOutageMs,
    ...(heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs } : {}),
  };
}

const POLL_INTERVAL_BOUNDS = { minMs: 1000, maxMs: 24 * 3_600_000 };

/**
 * Validates runApsJob's `pollInterval`: a duration, or `{ initial, max, coefficient }` for an
 * adaptive interval (the delay after the n-th read is min(max, initial × coefficient^(n − 1))).
 */
export function normalizePollInterval(value: unknown): {
  pollIntervalMs: number;
  pollSchedule?: PollSchedule;
} {
  // The server does not hand out an activity retry sooner than about a second after the failure,
  // so a shorter interval would only be a promise it cannot keep.
  if (typeof value !== 'object' || value === null) {
    return {
      pollIntervalMs: parseDuration(value ?? RUN_DEFAULTS.pollInterval, 'pollInterval', POLL_INTERVAL_BOUNDS),
    };
  }
  const obj = validateObject(value, 'pollInterval', ['initial', 'max', 'coefficient']);
  const initialMs = parseDuration(obj.initial ?? '5s', 'pollInterval.initial', POLL_INTERVAL_BOUNDS);
  const maxMs = parseDuration(obj.max ?? '2m', 'pollInterval.max', POLL_INTERVAL_BOUNDS);
  if (maxMs < initialMs) {
    throw new InputValidationError(
      'pollInterval.max',
      `a duration no shorter than pollInterval.initial (${formatMs(initialMs)})`,
      describeValue(obj.max ?? '2m'),
    );
  }
  const coefficient = validateCoefficient(
    obj.coefficient ?? 1.25,
    'pollInterval.coefficient',
    10,
    'a number from 1 to 10, e.g. 1.25',
  );
  return { pollIntervalMs: initialMs, pollSchedule: { initialMs, maxMs, coefficient } };
}

/** A growth factor: a finite number from 1 to `max`; `expected` is the error's wording. */
function validateCoefficient(value: unknown, field: string, max: number, expected: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > max) {
    throw new InputValidationError(field, expected, describeValue(value));
  }
  return value;
}

/** Checks that `value` is a plain object with only `known` keys; returns it. */
function validateObject(value: unknown, field: string, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputValidationError(field, `an object with ${known.join(', ')}`, describeValue(value));
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      throw new InputValidationError(
        `${field}.${key}`,
        `no such field (known: ${known.join(', ')})`,
        'a value',
      );
    }
  }
  return obj;
}

/** Validates an integer within bounds. */
function validateInt(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InputValidationError(field, `an integer from ${min} to ${max}`, describeValue(value));
  }
  return value;
}

/** Validates a backoff's three fields (prefix names the parent field). */
function normalizeBackoff(
  obj: Record<string, unknown>,
  prefix: string,
  defaults: { initialInterval: string; backoffCoefficient: number; maximumInterval: string },
): NormalizedBackoff {
  const initialIntervalMs = parseDuration(
    obj.initialInterval ?? defaults.initialInterval,
    `${prefix}.initialInterval`,
    { maxMs: 24 * 3_600_000 },
  );
  const coefficient = validateCoefficient(
    obj.backoffCoefficient ?? defaults.backoffCoefficient,
    `${prefix}.backoffCoefficient`,
    100,
    'a number from 1 to 100',
  );
  const maximumIntervalMs = parseDuration(
    obj.maximumInterval ?? defaults.maximumInterval,
    `${prefix}.maximumInterval`,
    { maxMs: 24 * 3_600_000 },
  );
  if (maximumIntervalMs < initialIntervalMs) {
    throw new InputValidationError(
      `${prefix}.maximumInterval`,
      `a duration no shorter than ${prefix}.initialInterval (${formatMs(initialIntervalMs)})`,
      describeValue(obj.maximumInterval ?? defaults.maximumInterval),
    );
  }
  return { initialIntervalMs, backoffCoefficient: coefficient, maximumIntervalMs };
}

/** Validates runApsJob's `onJobFailure`; undefined when the job is not to be restarted. */
export function normalizeJobFailure(value: unknown): NormalizedJobFailure | undefined {
  if (value === undefined) return undefined;
  const field = 'onJobFailure';
  const obj = validateObject(value, field, [
    'restart',
    'maxRestarts',
    'initialInterval',
    'backoffCoefficient',
    'maximumInterval',
  ]);
  if (typeof obj.restart !== 'boolean') {
    throw new InputValidationError(`${field}.restart`, 'true or false', describeValue(obj.restart));
  }
  const maxRestarts = validateInt(
    obj.maxRestarts ?? JOB_FAILURE_DEFAULTS.maxRestarts,
    `${field}.maxRestarts`,
    0,
    1000,
  );
  const backoff = normalizeBackoff(obj, field, JOB_FAILURE_DEFAULTS);
  return obj.restart ? { maxRestarts, ...backoff } : undefined;
}

/** Bounds of a supervisor's check interval (input and `setCheckInterval`). */
export const CHECK_INTERVAL_BOUNDS = { minMs: 100, maxMs: 24 * 3_600_000 };

/** Validates a check interval; throws {@link InputValidationError} naming `field`. */
export function validateCheckInterval(value: unknown, field = 'checkInterval'): number {
  return parseDuration(value, field, CHECK_INTERVAL_BOUNDS);
}

/** The longest run deadline from now that `setDeadline` and `extendDeadline` accept, ms (as `timeout`). */
export const DEADLINE_MAX_MS = 366 * 86_400_000;

/** An update's argument: an object with only the `known` fields (unknown ones are named in the error). */
function updateArgument(value: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputValidationError(
      known[0] ?? 'input',
      `an object like { ${known.join(', ')} }`,
      describeValue(value),
    );
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      throw new InputValidationError(key, `no such field (known: ${known.join(', ')})`, 'a value');
    }
  }
  return obj;
}

/**
 * Validates the argument of runApsJob's `setPollInterval` update ({ pollInterval }): a duration or
 * an adaptive interval, as the input's `pollInterval` (but required).
 */
export function validateSetPollInterval(arg: unknown): {
  pollIntervalMs: number;
  pollSchedule?: PollSchedule;
} {
  const { pollInterval } = updateArgument(arg, ['pollInterval']);
  if (pollInterval === undefined || pollInterval === null) {
    throw new InputValidationError(
      'pollInterval',
      'a duration such as 30s (1s to 24h) or { initial, max, coefficient }',
      describeValue(pollInterval),
    );
  }
  return normalizePollInterval(pollInterval);
}

const DEADLINE_FORM =
  'an ISO-8601 time with its offset, like 2025-01-31T02:00:00Z or 2025-01-31T10:00:00+08:00';

/**
 * Validates the argument of runApsJob's `setDeadline` update ({ deadline }) against `nowMs` (the
 * workflow's clock): an ISO-8601 time with an explicit offset (a local time would read differently
 * on workers in other time zones), not before now and at most {@link DEADLINE_MAX_MS} after it.
 * Returns epoch ms.
 */
export function validateSetDeadline(arg: unknown, nowMs: number): number {
  const { deadline } = updateArgument(arg, ['deadline']);
  if (
    typeof deadline !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(deadline)
  ) {
    throw new InputValidationError('deadline', DEADLINE_FORM, describeValue(deadline));
  }
  const ms = Date.parse(deadline);
  if (!Number.isFinite(ms))
    throw new InputValidationError('deadline', DEADLINE_FORM, describeValue(deadline));
  return checkDeadline(ms, 'deadline', describeValue(deadline), nowMs);
}

/**
 * Validates the argument of runApsJob's `extendDeadline` update ({ by }): a positive duration; the
 * deadline it gives (`currentMs` + by) must not be before `nowMs`. Returns the new deadline, epoch ms.
 */
export function validateExtendDeadline(arg: unknown, currentMs: number, nowMs: number): number {
  const { by } = updateArgument(arg, ['by']);
  const byMs = validateExtendBy(by);
  return checkDeadline(
    currentMs + byMs,
    'by',
    `${describeValue(by)} (a deadline of ${iso(currentMs + byMs)})`,
    nowMs,
  );
}

/** Validates `extendDeadline`'s `by`: a positive duration of at most {@link DEADLINE_MAX_MS}; returns ms. */
export function validateExtendBy(by: unknown): number {
  return parseDuration(by, 'by', { minMs: 1, maxMs: DEADLINE_MAX_MS });
}

/** Validates the argument of runApsJob's `setOnCancel` update ({ onCancel }). */
export function validateSetOnCancel(arg: unknown): OnStopAction {
  const { onCancel } = updateArgument(arg, ['onCancel']);
  return validateEnum(onCancel, 'onCancel', ['suspend', 'leave'] as const);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function checkDeadline(ms: number, field: string, got: string, nowMs: number): number {
  if (ms < nowMs) {
    throw new InputValidationError(field, `a deadline not before now (${iso(nowMs)})`, got);
  }
  if (ms > nowMs + DEADLINE_MAX_MS) {
    throw new InputValidationError(field, `a deadline at most ${formatMs(DEADLINE_MAX_MS)} from now`, got);
  }
  return ms;
}

/** Defaults of superviseApsJob's optional fields. */
export const SUPERVISE_DEFAULTS = {
  checkInterval: '5m',
  pollInterval: '30s',
  startTimeout: '1h',
  stoppedGrace: '1m',
  activityTimeout: '2m',
  onCancel: 'leave' as OnStopAction,
  settleWindow: '1m',
  waitOutage: DEFAULT_WAIT_OUTAGE,
  maxChecksPerRun: 300,
  restartPolicy: {
    maxPerWindow: 5,
    window: '1h',
    initialInterval: '10s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
  },
};

/** superviseApsJob's input with defaults applied and durations in milliseconds. */
export interface NormalizedSuperviseInput {
  /** Region. */
  regionId: string;
  /** Job ID. */
  apsJobId: string;
  /** Check interval, ms. */
  checkIntervalMs: number;
  /** Poll interval while bringing the job up, ms. */
  pollIntervalMs: number;
  /** Bound of bringing the job up, ms. */
  startTimeoutMs: number;
  /** Stopped grace right after a start, ms. */
  stoppedGraceMs: number;
  /** Bound of one API attempt, ms. */
  activityTimeoutMs: number;
  /** Action on cancellation. */
  onCancel: OnStopAction;
  /** Restarts allowed per window. */
  maxRestartsPerWindow: number;
  /** The window, ms. */
  windowMs: number;
  /** Backoff before restarts. */
  backoff: NormalizedBackoff;
  /** Checks per run before continuing as new. */
  maxChecksPerRun: number;
  /** Workflow-level rules as given (validated). */
  retryRules?: RetryRuleInput[];
  /** State from the previous run, when continued as new. */
  carried?: SupervisorCarriedState;
  /** How long a job whose status gives no clear answer is watched before it is started, ms. */
  settleWindowMs: number;
  /** How long status reads may fail transiently while the job is brought up, ms. */
  waitOutageMs: number;
}

const SUPERVISE_FIELDS = [
  'regionId',
  'apsJobId',
  'checkInterval',
  'pollInterval',
  'startTimeout',
  'stoppedGrace',
  'activityTimeout',
  'onCancel',
  'restartPolicy',
  'maxChecksPerRun',
  'retryRules',
  'carried',
  'settleWindow',
  'waitOutage',
];

/**
 * Validates and normalizes superviseApsJob's input; throws {@link InputValidationError} naming
 * the first bad field.
 */
export function normalizeSuperviseInput(input: unknown): NormalizedSuperviseInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InputValidationError('input', 'an object like { regionId, apsJobId }', describeValue(input));
  }
  const raw = input as Record<string, unknown> & Partial<SuperviseApsJobInput>;
  for (const key of Object.keys(raw)) {
    if (!SUPERVISE_FIELDS.includes(key)) {
      throw new InputValidationError(key, `no such field (known: ${SUPERVISE_FIELDS.join(', ')})`, 'a value');
    }
  }
  const d = SUPERVISE_DEFAULTS;
  const regionId = validateRegionId(raw.regionId);
  const apsJobId = validateApsJobId(raw.apsJobId);
  const checkIntervalMs = validateCheckInterval(raw.checkInterval ?? d.checkInterval);
  // As in runApsJob: the server re-dispatches a poll (an activity retry) no sooner than about 1s.
  const pollIntervalMs = parseDuration(raw.pollInterval ?? d.pollInterval, 'pollInterval', {
    minMs: 1000,
    maxMs: 24 * 3_600_000,
  });
  const startTimeoutMs = parseDuration(raw.startTimeout ?? d.startTimeout, 'startTimeout', {
    minMs: 1000,
    maxMs: 7 * 86_400_000,
  });
  const stoppedGraceMs = parseDuration(raw.stoppedGrace ?? d.stoppedGrace, 'stoppedGrace', {
    maxMs: 24 * 3_600_000,
  });
  const activityTimeoutMs = parseDuration(raw.activityTimeout ?? d.activityTimeout, 'activityTimeout', {
    minMs: 1000,
    maxMs: 3_600_000,
  });
  const onCancel = validateEnum(raw.onCancel ?? d.onCancel, 'onCancel', ['suspend', 'leave'] as const);
  const policy = validateObject(raw.restartPolicy ?? {}, 'restartPolicy', [
    'maxPerWindow',
    'window',
    'initialInterval',
    'backoffCoefficient',
    'maximumInterval',
  ]);
  const maxRestartsPerWindow = validateInt(
    policy.maxPerWindow ?? d.restartPolicy.maxPerWindow,
    'restartPolicy.maxPerWindow',
    0,
    1000,
  );
  const windowMs = parseDuration(policy.window ?? d.restartPolicy.window, 'restartPolicy.window', {
    minMs: 1000,
    maxMs: 30 * 86_400_000,
  });
  const backoff = normalizeBackoff(policy, 'restartPolicy', d.restartPolicy);
  const maxChecksPerRun = validateInt(raw.maxChecksPerRun ?? d.maxChecksPerRun, 'maxChecksPerRun', 1, 10_000);
  let retryRules: RetryRuleInput[] | undefined;
  if (raw.retryRules !== undefined) {
    validateRetryRules(raw.retryRules, 'retryRules');
    retryRules = raw.retryRules;
  }
  const carried = raw.carried === undefined ? undefined : validateCarried(raw.carried);
  const settleWindowMs = parseDuration(
    raw.settleWindow ?? d.settleWindow,
    'settleWindow',
    SETTLE_WINDOW_BOUNDS,
  );
  const waitOutageMs = parseDuration(raw.waitOutage ?? d.waitOutage, 'waitOutage', WAIT_OUTAGE_BOUNDS);
  return {
    regionId,
    apsJobId,
    checkIntervalMs,
    pollIntervalMs,
    startTimeoutMs,
    stoppedGraceMs,
    activityTimeoutMs,
    onCancel,
    maxRestartsPerWindow,
    windowMs,
    backoff,
    maxChecksPerRun,
    retryRules,
    ...(carried ? { carried } : {}),
    settleWindowMs,
    waitOutageMs,
  };
}

/** Shallow check of the state a supervisor carries across continue-as-new. */
function validateCarried(value: unknown): SupervisorCarriedState {
  const field = 'carried';
  const obj = validateObject(value, field, [
    'recentRestarts',
    'totalRestarts',
    'totalChecks',
    'runs',
    'paused',
    'supervisingSince',
    'runningSince',
    'lastFailure',
    'lastStatus',
    'nextCheckAt',
  ]);
  if (!Array.isArray(obj.recentRestarts)) {
    throw new InputValidationError(`${field}.recentRestarts`, 'an array', describeValue(obj.recentRestarts));
  }
  (obj.recentRestarts as unknown[]).forEach((r, i) => {
    const at = (r as Partial<JobRestart> | null)?.failure?.at;
    if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) {
      throw new InputValidationError(`${field}.recentRestarts[${i}]`, 'a restart record', describeValue(r));
    }
  });
  for (const k of ['totalRestarts', 'totalChecks', 'runs'] as const) {
    validateInt(obj[k], `${field}.${k}`, 0, Number.MAX_SAFE_INTEGER);
  }
  if (typeof obj.paused !== 'boolean') {
    throw new InputValidationError(`${field}.paused`, 'true or false', describeValue(obj.paused));
  }
  if (typeof obj.supervisingSince !== 'string') {
    throw new InputValidationError(
      `${field}.supervisingSince`,
      'an ISO-8601 time',
      describeValue(obj.supervisingSince),
    );
  }
  return obj as unknown as SupervisorCarriedState;
}

/** Defaults of reconcileApsFleet's optional fields. */
export const FLEET_DEFAULTS = {
  mode: 'report' as FleetMode,
  endGone: false,
  maxAdoptionsPerRun: 25,
  activityTimeout: '2m',
};

/** Most job IDs an explicit selector may name. */
export const FLEET_SELECTOR_MAX_IDS = 1000;
/** Longest name prefix or pattern. */
const FLEET_SELECTOR_MAX_TEXT = 256;

/** A validated selector, ready to test job names and IDs. */
export type NormalizedFleetSelector =
  | { kind: 'jobIds'; jobIds: string[] }
  | { kind: 'namePrefix'; namePrefix: string }
  | { kind: 'namePattern'; namePattern: string };

/** reconcileApsFleet's input with defaults applied. */
export interface NormalizedReconcileInput {
  /** Region. */
  regionId: string;
  /** The selector. */
  selector: NormalizedFleetSelector;
  /** The mode. */
  mode: FleetMode;
  /** The supervisor settings as given (validated). */
  supervisor: FleetSupervisorSettings;
  /** Cancel supervisors whose job is gone (supervise mode only). */
  endGone: boolean;
  /** Most supervisors started per run. */
  maxAdoptionsPerRun: number;
  /** Bound of one activity attempt, ms. */
  activityTimeoutMs: number;
  /** State from the previous run, when continued as new. */
  carried?: FleetCarriedState;
}

const SELECTOR_FORM =
  "exactly one of { jobIds: ['aps-…', …] }, { namePrefix: 'nightly-' } or { namePattern: '^kafka-.*' } " +
  '(CLI: --select ids:aps-a,aps-b | prefix:nightly- | pattern:^kafka-)';

/**
 * Validates a fleet selector; throws {@link InputValidationError} naming `selector` or its field
 * and the form that would do.
 */
export function normalizeFleetSelector(value: unknown, field = 'selector'): NormalizedFleetSelector {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputValidationError(field, SELECTOR_FORM, describeValue(value));
  }
  const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
  const [key] = keys;
  if (keys.length !== 1 || (key !== 'jobIds' && key !== 'namePrefix' && key !== 'namePattern')) {
    throw new InputValidationError(
      field,
      SELECTOR_FORM,
      keys.length === 0 ? 'an empty selector' : `fields ${keys.join(', ')}`,
    );
  }
  const given = (value as Record<string, unknown>)[key];
  if (key === 'jobIds') {
    if (!Array.isArray(given) || given.length === 0 || given.length > FLEET_SELECTOR_MAX_IDS) {
      throw new InputValidationError(
        `${field}.jobIds`,
        `a list of 1 to ${FLEET_SELECTOR_MAX_IDS} APS job IDs, e.g. ['aps-bp1234567890']`,
        describeValue(given),
      );
    }
    const jobIds = given.map((id, i) => validateApsJobId(id, `${field}.jobIds[${i}]`));
    return { kind: 'jobIds', jobIds: [...new Set(jobIds)] };
  }
  if (typeof given !== 'string' || given === '' || given.length > FLEET_SELECTOR_MAX_TEXT) {
    throw new InputValidationError(
      `${field}.${key}`,
      key === 'namePrefix'
        ? `a non-empty name prefix of at most ${FLEET_SELECTOR_MAX_TEXT} characters, e.g. 'nightly-'`
        : `a non-empty regular expression of at most ${FLEET_SELECTOR_MAX_TEXT} characters, e.g. '^kafka-'`,
      describeValue(given),
    );
  }
  if (key === 'namePrefix') return { kind: 'namePrefix', namePrefix: given };
  try {
    new RegExp(given, 'u');
  } catch (err) {
    throw new InputValidationError(
      `${field}.namePattern`,
      `a valid JavaScript regular expression (${(err as Error).message.replace(/^Invalid regular expression: /, '')}); ` +
        'escape special characters such as ( [ * + ? with a backslash, or use namePrefix',
      describeValue(given),
    );
  }
  return { kind: 'namePattern', namePattern: given };
}

/** Whether a selector picks a job (name patterns and prefixes test the name; a job without one has none). */
export function selectorMatches(
  selector: NormalizedFleetSelector,
  job: { apsJobId: string; apsJobName?: string },
): boolean {
  switch (selector.kind) {
    case 'jobIds':
      return selector.jobIds.includes(job.apsJobId);
    case 'namePrefix':
      return job.apsJobName !== undefined && job.apsJobName.startsWith(selector.namePrefix);
    case 'namePattern':
      return job.apsJobName !== undefined && new RegExp(selector.namePattern, 'u').test(job.apsJobName);
  }
}

const RECONCILE_FIELDS = [
  'regionId',
  'selector',
  'mode',
  'supervisor',
  'endGone',
  'maxAdoptionsPerRun',
  'activityTimeout',
  'carried',
];

/**
 * Validates and normalizes reconcileApsFleet's input; throws {@link InputValidationError} naming
 * the first bad field (`supervisor.checkInterval`, `selector.namePattern`, …).
 */
export function normalizeReconcileInput(input: unknown): NormalizedReconcileInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InputValidationError(
      'input',
      "an object like { regionId, selector: { namePrefix: 'nightly-' }, mode: 'report' }",
      describeValue(input),
    );
  }
  const raw = input as Record<string, unknown> & Partial<ReconcileApsFleetInput>;
  for (const key of Object.keys(raw)) {
    if (!RECONCILE_FIELDS.includes(key)) {
      throw new InputValidationError(key, `no such field (known: ${RECONCILE_FIELDS.join(', ')})`, 'a value');
    }
  }
  const regionId = validateRegionId(raw.regionId);
  const selector = normalizeFleetSelector(raw.selector);
  const mode = validateEnum(raw.mode ?? FLEET_DEFAULTS.mode, 'mode', ['report', 'supervise'] as const);
  const supervisor: unknown = raw.supervisor ?? {};
  if (typeof supervisor !== 'object' || supervisor === null || Array.isArray(supervisor)) {
    throw new InputValidationError(
      'supervisor',
      "an object of superviseApsJob settings, e.g. { checkInterval: '5m' }",
      describeValue(supervisor),
    );
  }
  for (const key of ['regionId', 'apsJobId', 'carried']) {
    if ((supervisor as Record<string, unknown>)[key] !== undefined) {
      throw new InputValidationError(
        `supervisor.${key}`,
        'nothing (the reconciler sets it for each job)',
        'a value',
      );
    }
  }
  try {
    // The settings are checked as the supervisors will check them, on a stand-in job.
    normalizeSuperviseInput({ ...supervisor, regionId, apsJobId: 'aps-fleet-settings' });
  } catch (err) {
    if (err instanceof InputValidationError) {
      throw new InputValidationError(`supervisor.${err.field}`, err.expected, err.got);
    }
    throw err;
  }
  if (raw.endGone !== undefined && typeof raw.endGone !== 'boolean') {
    throw new InputValidationError('endGone', 'true or false', describeValue(raw.endGone));
  }
  const maxAdoptionsPerRun = validateInt(
    raw.maxAdoptionsPerRun ?? FLEET_DEFAULTS.maxAdoptionsPerRun,
    'maxAdoptionsPerRun',
    1,
    500,
  );
  const activityTimeoutMs = parseDuration(
    raw.activityTimeout ?? FLEET_DEFAULTS.activityTimeout,
    'activityTimeout',
    { minMs: 1000, maxMs: 3_600_000 },
  );
  let carried: FleetCarriedState | undefined;
  if (raw.carried !== undefined) {
    const c = validateObject(raw.carried, 'carried', ['runs', 'adopted', 'adoptedJobIds', 'startedAt']);
    validateInt(c.runs, 'carried.runs', 1, Number.MAX_SAFE_INTEGER);
    validateInt(c.adopted, 'carried.adopted', 0, Number.MAX_SAFE_INTEGER);
    if (!Array.isArray(c.adoptedJobIds)) {
      throw new InputValidationError('carried.adoptedJobIds', 'an array', describeValue(c.adoptedJobIds));
    }
    if (typeof c.startedAt !== 'string') {
      throw new InputValidationError('carried.startedAt', 'an ISO-8601 time', describeValue(c.startedAt));
    }
    carried = c as unknown as FleetCarriedState;
  }
  return {
    regionId,
    selector,
    mode,
    supervisor,
    endGone: raw.endGone ?? FLEET_DEFAULTS.endGone,
    maxAdoptionsPerRun,
    activityTimeoutMs,
    ...(carried ? { carried } : {}),
  };
}
