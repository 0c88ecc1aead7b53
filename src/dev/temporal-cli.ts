/**
 * Finds a Temporal CLI to run a local dev server (tests, the demo, benchmarks).
 *
 * Order: `$TEMPORAL_CLI_PATH`; `temporal` on `PATH`; a cached build under
 * `${XDG_CACHE_HOME:-$HOME/.cache}/adb-aps-temporal/`; a `go install` of the CLI into that cache
 * where Go is installed; otherwise the SDK's own download (needs internet).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { EphemeralServerExecutable } from '@temporalio/testing';

/** The CLI release built from source where it cannot be downloaded; later tags cannot be `go install`ed. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
/** The Go package path of the CLI. */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** Where a resolved CLI came from. */
export type TemporalCliSource = 'env' | 'path' | 'cache' | 'go-build' | 'sdk-download';

/** A CLI ready to hand to `TestWorkflowEnvironment.createLocal`. */
export interface ResolvedTemporalCli {
  /** Where it came from. */
  source: TemporalCliSource;
  /** The binary's path, unless the SDK downloads it. */
  path?: string;
  /** What `temporal --version` printed, when it could be run. */
  version?: string;
  /** The `executable` option for the dev server. */
  executable: EphemeralServerExecutable;
}

/** Options for {@link resolveTemporalCli}. */
export interface ResolveTemporalCliOptions {
  /** Environment to read (defaults to `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Progress and "which one" lines go here (defaults to stderr). */
  log?: (line: string) => void;
  /** Whether building with Go is allowed (default true). */
  allowBuild?: boolean;
}

/** The cache directory for the built CLI. */
export function temporalCliCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.length > 0 ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'adb-aps-temporal', `temporal-cli-${TEMPORAL_CLI_VERSION.replace(/^v/, '')}`);
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function cliVersion(path: string): string | undefined {
  const out = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 15_000 });
  if (out.status !== 0) return undefined;
  return out.stdout.trim().split('\n')[0];
}

function resolved(source: TemporalCliSource, path: string): ResolvedTemporalCli {
  return { source, path, version: cliVersion(path), executable: { type: 'existing-path', path } };
}

/**
 * Resolves (and where needed builds) the Temporal CLI, logging which one it chose.
 */
export async function resolveTemporalCli(opts: ResolveTemporalCliOptions = {}): Promise<ResolvedTemporalCli> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const report = (cli: ResolvedTemporalCli): ResolvedTemporalCli => {
    log(
      cli.path
        ? `temporal-cli: using ${cli.path} (${cli.source}${cli.source === 'cache' || cli.source === 'go-build' ? `, built from ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}` : ''}${cli.version ? `, ${cli.version}` : ''})`
        : 'temporal-cli: none found locally; the Temporal SDK will download the dev server (needs internet)',
    );
    return cli;
  };

  const fromEnv = env.TEMPORAL_CLI_PATH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isExecutableFile(fromEnv)) {
      throw new Error(
        `TEMPORAL_CLI_PATH=${fromEnv} is not an executable file; point it at a Temporal CLI binary or unset it.`,
      );
    }
    return report(resolved('env', fromEnv));
  }

  const onPath = findOnPath('temporal', env);
  if (onPath) return report(resolved('path', onPath));

  const cacheDir = temporalCliCacheDir(env);
  const cached = join(cacheDir, 'temporal');
  if (isExecutableFile(cached)) return report(resolved('cache', cached));

  const go = opts.allowBuild === false ? undefined : findOnPath('go', env);
  if (go) {
    await buildWithGo(go, cacheDir, env, log);
    return report(resolved('go-build', cached));
  }

  return report({ source: 'sdk-download', executable: { type: 'cached-download' } });
}

function runGoInstall(
  go: string,
  gobin: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let packages = 0;
    let output = '';
    const child = spawn(go, ['install', '-v', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      env: { ...env, GOBIN: gobin, GOFLAGS: `${env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      output = (output + text).slice(-20_000);
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        if (line.startsWith('go: downloading')) continue;
        packages += 1;
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    // Building the CLI takes minutes on a small machine: show that it is moving.
    const ticker = setInterval(() => {
      const secs = Math.round((Date.now() - started) / 1000);
      log(`temporal-cli: building ${TEMPORAL_CLI_VERSION} with Go… ${secs}s, ${packages} packages compiled`);
    }, 15_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('close', (code) => {
      clearInterval(ticker);
      const secs = Math.round((Date.now() - started) / 1000);
      log(`temporal-cli: go install exited ${code ?? 'by signal'} after ${secs}s`);
      resolve({ ok: code === 0, output });
    });
  });
}

async function buildWithGo(
  go: string,
  cacheDir: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<void> {
  mkdirSync(cacheDir, { recursive: true });
  // Build into a private folder and rename: an interrupted or concurrent build never leaves a
  // half-written binary where the next run would pick it up.
  const staging = mkdtempSync(join(cacheDir, 'build-'));
  try {
    log(
      `temporal-cli: building ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION} into ${cacheDir} (a few minutes the first time)`,
    );
    let result = await runGoInstall(go, staging, env, log);
    if (!result.ok && /checksum|sumdb|verifying .*module|SECURITY ERROR/i.test(result.output)) {
      // The checksum database may be unreachable where only the module proxy is.
      log('temporal-cli: module checksums could not be verified; retrying this one build with GOSUMDB=off');
      result = await runGoInstall(go, staging, { ...env, GOSUMDB: 'off' }, log);
    }
    const built = join(staging, 'temporal');
    if (!result.ok || !existsSync(built)) {
      throw new Error(
        `Building the Temporal CLI with Go failed. Set TEMPORAL_CLI_PATH to a Temporal CLI binary, or put 'temporal' on PATH.\n${result.output.slice(-4000)}`,
      );
    }
    renameSync(built, join(cacheDir, 'temporal'));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
