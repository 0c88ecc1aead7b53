/**
 * The emulator's command line, shared by `scripts/emulator.ts`, the image's
 * `lib/emulator/standalone.js` and the project CLI's `emulator` command.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startEmulator, type RunningEmulator } from './index';
import { API_VERSION } from './errors';
import { loadEmulatorConfig } from './config-file';
import { EmulatorInputError } from './schema';
import type { AccessKeyConfig, EmulatorOptions, RequestLogEntry } from './types';

/** Where the CLI writes and what stops it (defaults: stdout, stderr, SIGINT/SIGTERM, process.env). */
export interface EmulatorCliIo {
  /** One line of normal output. */
  out?: (line: string) => void;
  /** One line of error output. */
  err?: (line: string) => void;
  /** Stops the emulator when aborted (instead of SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Environment to read `APS_EMULATOR_*` from. */
  env?: NodeJS.ProcessEnv;
  /** Called once the emulator listens. */
  onReady?: (emulator: RunningEmulator) => void;
  /** Set `process.exitCode` on failure (default true; tests turn it off). */
  setExitCode?: boolean;
}

/** Usage text. */
export const EMULATOR_USAGE = `Usage: emulator [options]

Runs a local AnalyticDB APS API (adb ${API_VERSION}, RPC, ACS3-HMAC-SHA256 signatures) with
scriptable jobs and faults, and a JSON control API under /__emulator/.

Options:
  --port <n>          port (default 9000; 0 picks a free one)
  --host <addr>       address to bind (default 127.0.0.1)
  --config <file>     JSON options: accessKeys, jobs, faults, rateLimit, autoCreateJobs, seed, ...
  --auto-create       let any well-formed aps-... job ID exist on first use
  --job <id>          seed a streaming job (repeatable)
  --seed <n>          seed of probabilistic faults
  --write-env <file>  write the key pair and ADB_ENDPOINT as KEY=value lines (mode 0600)
  --print-secret      print the access key secret too (local use only)
  --quiet             no line per request
  --json              one JSON object per request line
  --help              this text

Environment:
  APS_EMULATOR_ACCESS_KEY_ID, APS_EMULATOR_ACCESS_KEY_SECRET, APS_EMULATOR_SECURITY_TOKEN
                      the key pair to accept (default: a generated one, unless the config has keys)
  APS_EMULATOR_ADMIN_TOKEN
                      require this token (x-emulator-token) on the control API; needed (or the
                      file below, or adminToken in --config) when --host is not a loopback address
  APS_EMULATOR_ADMIN_TOKEN_FILE
                      read that token from this file instead (used by docker-compose.yml)`;

function keyFromEnv(env: NodeJS.ProcessEnv): AccessKeyConfig | undefined {
  const id = env.APS_EMULATOR_ACCESS_KEY_ID?.trim();
  const secret = env.APS_EMULATOR_ACCESS_KEY_SECRET?.trim();
  const token = env.APS_EMULATOR_SECURITY_TOKEN?.trim();
  if (!id && !secret) return undefined;
  if (!id || !secret) {
    throw new EmulatorInputError(
      'Set both APS_EMULATOR_ACCESS_KEY_ID and APS_EMULATOR_ACCESS_KEY_SECRET, or neither for a generated key',
    );
  }
  return { accessKeyId: id, accessKeySecret: secret, ...(token ? { securityToken: token } : {}) };
}

/** The control API token from the environment: APS_EMULATOR_ADMIN_TOKEN, else the file APS_EMULATOR_ADMIN_TOKEN_FILE names. */
function adminTokenFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const token = env.APS_EMULATOR_ADMIN_TOKEN?.trim();
  if (token) return token;
  const file = env.APS_EMULATOR_ADMIN_TOKEN_FILE?.trim();
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EmulatorInputError(
      `APS_EMULATOR_ADMIN_TOKEN_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const fromFile = text.trim();
  if (fromFile === '') {
    throw new EmulatorInputError(
      `APS_EMULATOR_ADMIN_TOKEN_FILE: ${file} is empty; write the token into it or unset the variable`,
    );
  }
  return fromFile;
}

function portOf(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new EmulatorInputError(`--port: expected a port from 0 to 65535, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function parseCliArgs(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      config: { type: 'string' },
      'auto-create': { type: 'boolean' },
      job: { type: 'string', multiple: true },
      seed: { type: 'string' },
      'write-env': { type: 'string' },
      'print-secret': { type: 'boolean' },
      quiet: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  }).values;
}

type CliValues = ReturnType<typeof parseCliArgs>;

function requestLine(e: RequestLogEntry): string {
  const parts = [
    e.time,
    e.action ?? '-',
    e.apsJobId ?? '-',
    '->',
    e.code,
    e.httpStatus === null ? '(no reply)' : String(e.httpStatus),
    `${e.durationMs}ms`,
  ];
  if (e.fault) parts.push(`fault=${e.fault}`);
  if (e.accessKeyId) parts.push(`key=${e.accessKeyId}`);
  return parts.join(' ');
}

/**
 * Runs the emulator until SIGINT/SIGTERM (or `io.signal`); resolves with the exit code
 * (0 after a clean stop, 1 when it could not start, 2 on bad arguments).
 */
export async function runEmulatorCli(argv: readonly string[], io: EmulatorCliIo = {}): Promise<number> {
  const out = io.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = io.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const fail = (code: number, message: string): number => {
    err(message);
    if (io.setExitCode !== false) process.exitCode = code;
    return code;
  };

  let values: CliValues;
  try {
    values = parseCliArgs(argv);
  } catch (e) {
    return fail(2, `${(e as Error).message}\n\n${EMULATOR_USAGE}`);
  }
  if (values.help) {
    out(EMULATOR_USAGE);
    return 0;
  }

  const env = io.env ?? process.env;
  let emulator: RunningEmulator;
  let generated = false;
  let adminToken: string | undefined;
  try {
    const config = values.config !== undefined ? loadEmulatorConfig(values.config) : {};
    const envKey = keyFromEnv(env);
    const accessKeys = config.accessKeys?.length ? config.accessKeys : envKey ? [envKey] : undefined;
    generated = accessKeys === undefined;
    const seededJobs = (values.job ?? []).map((apsJobId) => ({ apsJobId, kind: 'streaming' as const }));
    adminToken = adminTokenFromEnv(env) ?? config.adminToken;
    const options: EmulatorOptions = {
      ...config,
      port: values.port !== undefined ? portOf(values.port) : (config.port ?? 9000),
      host: values.host ?? config.host ?? '127.0.0.1',
      ...(accessKeys ? { accessKeys } : {}),
      jobs: [...(config.jobs ?? []), ...seededJobs],
      ...(values['auto-create'] ? { autoCreateJobs: true } : {}),
      ...(values.seed !== undefined
        ? { seed: /^-?\d+$/.test(values.seed) ? Number(values.seed) : values.seed }
        : {}),
      ...(adminToken ? { adminToken } : {}),
      onRequest: values.quiet
        ? undefined
        : (entry) => out(values.json ? JSON.stringify(entry) : requestLine(entry)),
    };
    emulator = await startEmulator(options);
  } catch (e) {
    if (e instanceof EmulatorInputError) return fail(2, e.message);
    return fail(1, `The emulator could not start: ${(e as Error).message}`);
  }

  const key = emulator.credentials[0];
  out(`APS emulator (adb ${API_VERSION}) listening on http://${emulator.host}:${emulator.port}`);
  out(
    `endpoint for clients: ${emulator.endpoint} (protocol http); control API: ${emulator.url}/__emulator/state` +
      (adminToken ? ' (admin token required)' : ''),
  );
  for (const k of emulator.credentials) {
    out(
      `access key ${k.accessKeyId}${k.securityToken ? ' (STS)' : ''}${generated ? ' (generated)' : ''}` +
        (values['print-secret'] ? ` secret ${k.accessKeySecret}` : ''),
    );
  }
  if (generated && !values['print-secret'] && values['write-env'] === undefined) {
    out('the secret is not shown: use --print-secret or --write-env <file> for local use');
  }
  if (values['write-env'] !== undefined && key) {
    const lines = [
      `ALIBABA_CLOUD_ACCESS_KEY_ID=${key.accessKeyId}`,
      `ALIBABA_CLOUD_ACCESS_KEY_SECRET=${key.accessKeySecret}`,
      ...(key.securityToken ? [`ALIBABA_CLOUD_SECURITY_TOKEN=${key.securityToken}`] : []),
      `ADB_ENDPOINT=${emulator.url}`,
    ];
    try {
      writeFileSync(values['write-env'], `${lines.join('\n')}\n`, { mode: 0o600 });
      out(`wrote the key pair and ADB_ENDPOINT to ${values['write-env']}`);
    } catch (e) {
      await emulator.close();
      return fail(1, `Cannot write ${values['write-env']}: ${(e as Error).message}`);
    }
  }
  io.onReady?.(emulator);

  await new Promise<void>((resolve) => {
    if (io.signal) {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await emulator.close();
  out('APS emulator stopped');
  return 0;
}
