/**
 * Finds or builds the full Temporal server and its SQL tool for the local production stack
 * (`npm run stack`), with the server's config template and PostgreSQL schema beside them.
 *
 * Order: a cached build under `${XDG_CACHE_HOME:-$HOME/.cache}/adb-aps-temporal/`; a `go install`
 * of `go.temporal.io/server` into that cache where Go is installed.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { findOnPath, goInstall, goModuleDir, isExecutableFile, projectCacheDir } from './go-build';

/**
 * The server release: the one docker-compose.yml runs (temporalio/server and admin-tools 1.30.1;
 * the compose test holds them equal), so the stack here is the compose stack's server.
 */
export const TEMPORAL_SERVER_VERSION = 'v1.30.1';
/** The Go module of the server. */
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';

/** A server ready to run. */
export interface ResolvedTemporalServer {
  /** `temporal-server`. */
  server: string;
  /** `temporal-sql-tool`. */
  sqlTool: string;
  /** Folder with the server's `docker.yaml` config template (run with `--env docker`). */
  configDir: string;
  /** The PostgreSQL schema root (`temporal/versioned`, `visibility/versioned`). */
  schemaDir: string;
  /** What `temporal-server --version` printed. */
  version?: string;
  /** `cache` or `go-build`. */
  source: 'cache' | 'go-build';
}

/** The cache directory of the server build. */
export function temporalServerCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(projectCacheDir(env), `temporal-server-${TEMPORAL_SERVER_VERSION.replace(/^v/, '')}`);
}

function layout(dir: string): Omit<ResolvedTemporalServer, 'source' | 'version'> {
  return {
    server: join(dir, 'temporal-server'),
    sqlTool: join(dir, 'temporal-sql-tool'),
    configDir: join(dir, 'config'),
    schemaDir: join(dir, 'schema', 'postgresql', 'v12'),
  };
}

function complete(dir: string): boolean {
  const l = layout(dir);
  return (
    isExecutableFile(l.server) &&
    isExecutableFile(l.sqlTool) &&
    existsSync(join(l.configDir, 'docker.yaml')) &&
    existsSync(join(l.schemaDir, 'temporal', 'versioned')) &&
    existsSync(join(l.schemaDir, 'visibility', 'versioned'))
  );
}

/** Resolves (and where needed builds) the server, logging which one it chose. */
export async function resolveTemporalServer(
  opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): Promise<ResolvedTemporalServer> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = temporalServerCacheDir(env);
  let source: ResolvedTemporalServer['source'] = 'cache';
  if (!complete(dir)) {
    const go = findOnPath('go', env);
    if (!go) {
      throw new Error(
        `The local stack needs temporal-server ${TEMPORAL_SERVER_VERSION}, built with Go into ${dir}; Go is not on PATH. Install Go (https://go.dev/dl) and run again.`,
      );
    }
    await buildServer(go, dir, env, log);
    source = 'go-build';
  }
  const l = layout(dir);
  const out = spawnSync(l.server, ['--version'], { encoding: 'utf8', timeout: 15_000 });
  const version = out.status === 0 ? out.stdout.trim().split('\n')[0] : undefined;
  log(
    `temporal-server: using ${l.server} (${source}, built from ${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}${version ? `, ${version}` : ''})`,
  );
  return { ...l, version, source };
}

async function buildServer(
  go: string,
  dir: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<void> {
  const hint = `Check that the Go module proxy serves ${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}.`;
  await goInstall(
    go,
    {
      label: 'temporal-server',
      packages: [`${TEMPORAL_SERVER_MODULE}/cmd/server`, `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql`],
      version: TEMPORAL_SERVER_VERSION,
      binaries: [
        { built: 'server', as: 'temporal-server' },
        { built: 'sql', as: 'temporal-sql-tool' },
      ],
      dir,
      env,
      log,
    },
    hint,
  );
  // The config template and the schema ship in the module: copied next to the binaries, the
  // cache runs without Go afterwards.
  const moduleDir = goModuleDir(go, TEMPORAL_SERVER_MODULE, TEMPORAL_SERVER_VERSION, env);
  if (!moduleDir)
    throw new Error(
      `temporal-server: could not locate ${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION} in Go's module cache. ${hint}`,
    );
  mkdirSync(dir, { recursive: true });
  const staging = mkdtempSync(join(dir, 'files-'));
  try {
    cpSync(join(moduleDir, 'config', 'docker.yaml'), join(staging, 'config', 'docker.yaml'));
    cpSync(join(moduleDir, 'schema', 'postgresql', 'v12'), join(staging, 'schema', 'postgresql', 'v12'), {
      recursive: true,
    });
    // Files in Go's module cache are read-only; the copies need not be.
    spawnSync('chmod', ['-R', 'u+w', staging]);
    for (const part of ['config', 'schema']) {
      rmSync(join(dir, part), { recursive: true, force: true });
      renameSync(join(staging, part), join(dir, part));
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
