/**
 * Finds a Temporal CLI to run a local dev server (tests, the demo, benchmarks).
 *
 * Order: `$TEMPORAL_CLI_PATH`; `temporal` on `PATH`; a cached build under
 * `${XDG_CACHE_HOME:-$HOME/.cache}/adb-aps-temporal/`; a `go install` of the CLI into that cache
 * where Go is installed; otherwise the SDK's own download (needs internet).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findOnPath, goInstall, isExecutableFile, projectCacheDir } from './go-build';
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
  return join(projectCacheDir(env), `temporal-cli-${TEMPORAL_CLI_VERSION.replace(/^v/, '')}`);
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

async function buildWithGo(
  go: string,
  cacheDir: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<void> {
  await goInstall(
    go,
    {
      label: 'temporal-cli',
      packages: [TEMPORAL_CLI_MODULE],
      version: TEMPORAL_CLI_VERSION,
      binaries: [{ built: 'temporal', as: 'temporal' }],
      dir: cacheDir,
      env,
      log,
    },
    "Set TEMPORAL_CLI_PATH to a Temporal CLI binary, or put 'temporal' on PATH.",
  );
}
