/**
 * Validation of everything that reaches the emulator as data: the JSON config file, the control
 * API bodies and the in-process calls (which share the same rules).
 */
import { z } from 'zod';
import { validateApsJobId, validateRegionId, APS_JOB_ID_FORM, REGION_FORM } from '../validation';
import { APS_ACTIONS } from './actions';
import type {
  AccessKeyConfig,
  ApsAction,
  DefaultJobScript,
  EmulatorOptions,
  FaultSpec,
  JobScript,
  RateLimit,
} from './types';

/** Bad emulator input: names the place and what was wrong. */
export class EmulatorInputError extends Error {
  override readonly name = 'EmulatorInputError';
}

function passes(check: (v: unknown) => unknown): (v: unknown) => boolean {
  return (v) => {
    try {
      check(v);
      return true;
    } catch {
      return false;
    }
  };
}

const jobId = z.string().refine(passes(validateApsJobId), { message: `expected ${APS_JOB_ID_FORM}` });
const regionId = z.string().refine(passes(validateRegionId), { message: `expected ${REGION_FORM}` });
const count = z.number().int().min(0).max(1_000_000);
const ms = z.number().int().min(0).max(3_600_000);
const status = z.string().min(1).max(64);
const action = z.enum(APS_ACTIONS as [ApsAction, ...ApsAction[]]);
const whenAlreadyRunning = z.enum(['success', 'success-false', 'error-400']);
const errorCode = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected an error code like ServiceUnavailable');

/** An access key (IDs may not hold `,` or `=`, which the Authorization header uses as separators). */
export const accessKeySchema: z.ZodType<AccessKeyConfig> = z.strictObject({
  accessKeyId: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'expected letters, digits, `.`, `_` or `-`'),
  accessKeySecret: z.string().min(1).max(256),
  securityToken: z.string().min(1).max(8192).optional(),
  inactive: z.boolean().optional(),
  securityTokenExpired: z.boolean().optional(),
});

const scriptFields = {
  kind: z.enum(['streaming', 'batch', 'failing']),
  initialStatus: status.optional(),
  startingPolls: count.optional(),
  startingMs: ms.optional(),
  runningPollsToComplete: count.optional(),
  failAfterPolls: count.optional(),
  failuresBeforeHealthy: count.optional(),
  staleReadsAfterStart: count.optional(),
  errMessage: z.string().max(1024).optional(),
  whenAlreadyRunning: whenAlreadyRunning.optional(),
  sourceInstanceId: z.string().min(1).max(128).optional(),
  destinationInstanceId: z.string().min(1).max(128).optional(),
  actionLogs: z
    .array(
      z.strictObject({
        context: z.string().max(16_384),
        state: z.enum(['INFO', 'WARN', 'ERROR']).optional(),
        stage: z.enum(['StructureMigrate', 'FullDataSync', 'IncrementalSync']).optional(),
        atMs: ms.optional(),
      }),
    )
    .max(1000)
    .optional(),
  delay: z.number().int().min(0).max(1_000_000_000).optional(),
  subStatus: z.string().max(64).optional(),
};

/** A job script. */
export const jobScriptSchema: z.ZodType<JobScript> = z.strictObject({
  apsJobId: jobId,
  regionId: regionId.optional(),
  name: z.string().min(1).max(128).optional(),
  ...scriptFields,
});

/** The script of auto-created jobs. */
export const defaultJobScriptSchema: z.ZodType<DefaultJobScript> = z.strictObject(scriptFields);

const matchFields = {
  action: action.optional(),
  apsJobId: jobId.optional(),
  times: z.union([z.number().int().min(1).max(1_000_000_000), z.literal('unlimited')]).optional(),
  rate: z.number().min(0).max(1).optional(),
  applyFirst: z.boolean().optional(),
  latencyMs: ms.optional(),
};

/** A fault. */
export const faultSpecSchema: z.ZodType<FaultSpec> = z.discriminatedUnion('kind', [
  z.strictObject({
    ...matchFields,
    kind: z.literal('error'),
    code: errorCode,
    httpStatus: z.number().int().min(400).max(599).optional(),
    message: z.string().max(1024).optional(),
  }),
  z.strictObject({
    ...matchFields,
    kind: z.literal('success-false'),
    errCode: errorCode.optional(),
    errMessage: z.string().max(1024).optional(),
  }),
  z.strictObject({ ...matchFields, kind: z.literal('latency'), latencyMs: ms }),
  z.strictObject({ ...matchFields, kind: z.literal('reset') }),
  z.strictObject({ ...matchFields, kind: z.literal('html-502') }),
]);

/** A rate limit. */
export const rateLimitSchema: z.ZodType<RateLimit> = z.strictObject({
  ratePerSec: z.number().min(0).max(1_000_000),
  burst: z.number().int().min(1).max(1_000_000),
  accessKeyId: z.string().min(1).optional(),
});

/** Body of POST /__emulator/jobs/:id/status. */
export const statusUpdateSchema = z.strictObject({ status, errMessage: z.string().max(1024).optional() });

/** The JSON config file (EmulatorOptions without the functions). */
export const emulatorConfigSchema: z.ZodType<Omit<EmulatorOptions, 'now' | 'onRequest'>> = z.strictObject({
  port: z.number().int().min(0).max(65535).optional(),
  host: z.string().min(1).optional(),
  accessKeys: z.array(accessKeySchema).optional(),
  defaultRegionId: regionId.optional(),
  jobs: z.array(jobScriptSchema).optional(),
  autoCreateJobs: z.boolean().optional(),
  defaultJobScript: defaultJobScriptSchema.optional(),
  whenAlreadyRunning: whenAlreadyRunning.optional(),
  faults: z.array(faultSpecSchema).optional(),
  rateLimit: rateLimitSchema.optional(),
  seed: z.union([z.number().int(), z.string().min(1)]).optional(),
  adminToken: z.string().min(1).optional(),
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .optional(),
  requestLogLimit: z.number().int().min(1).max(10_000_000).optional(),
  nonceCacheLimit: z.number().int().min(1).max(10_000_000).optional(),
  maxClockSkewMs: z.number().int().min(0).optional(),
  hostId: z.string().min(1).optional(),
  maxJobs: z.number().int().min(1).max(10_000_000).optional(),
});

/** Parses a value or throws {@link EmulatorInputError} naming `what` and every problem. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new EmulatorInputError(`Invalid ${what}:\n${z.prettifyError(result.error)}`);
}
