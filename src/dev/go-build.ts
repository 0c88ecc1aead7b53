/**
 * Builds Go binaries into the project's cache with `go install`, showing progress: the Temporal
 * CLI, the Temporal server and its SQL tool, and Toxiproxy all come this way where they cannot be
 * downloaded.
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

/** The project's cache folder: `${XDG_CACHE_HOME:-$HOME/.cache}/adb-aps-temporal`. */
export function projectCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.length > 0 ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'adb-aps-temporal');
}

/** Whether `path` is an executable regular file. */
export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The first executable `name` on `PATH`. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** One `go install` of one or more packages of a module at one version. */
export interface GoInstallSpec {
  /** Prefix of the progress lines, e.g. `temporal-cli`. */
  label: string;
  /** Package paths, e.g. `go.temporal.io/server/cmd/server`. */
  packages: readonly string[];
  /** Module version, e.g. `v1.29.1`. */
  version: string;
  /** The binaries `go install` writes (the last element of each package path), and the names they get in `dir`. */
  binaries: readonly { built: string; as: string }[];
  /** The cache folder that receives them. */
  dir: string;
  /** Environment for `go`. */
  env: NodeJS.ProcessEnv;
  /** Where progress lines go. */
  log: (line: string) => void;
}

function runGoInstall(
  go: string,
  spec: GoInstallSpec,
  gobin: string,
  env: NodeJS.ProcessEnv,
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let packages = 0;
    let output = '';
    const args = ['install', '-v', ...spec.packages.map((p) => `${p}@${spec.version}`)];
    const child = spawn(go, args, {
      env: { ...env, GOBIN: gobin, GOFLAGS: `${env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      output = (output + text).slice(-20_000);
      for (const line of text.split('\n')) {
        if (line.trim() === '' || line.startsWith('go: downloading')) continue;
        packages += 1;
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    // A build takes minutes on a small machine: show that it is moving.
    const ticker = setInterval(() => {
      const secs = Math.round((Date.now() - started) / 1000);
      spec.log(`${spec.label}: building ${spec.version} with Go… ${secs}s, ${packages} packages compiled`);
    }, 15_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('close', (code) => {
      clearInterval(ticker);
      const secs = Math.round((Date.now() - started) / 1000);
      spec.log(`${spec.label}: go install exited ${code ?? 'by signal'} after ${secs}s`);
      resolve({ ok: code === 0, output });
    });
  });
}

/**
 * Runs `go install` into a private folder of `spec.dir` and moves the binaries into place: an
 * interrupted or concurrent build never leaves a half-written binary where the next run would
 * pick it up. Throws with the build's last output when it fails.
 */
export async function goInstall(go: string, spec: GoInstallSpec, hint: string): Promise<void> {
  mkdirSync(spec.dir, { recursive: true });
  const staging = mkdtempSync(join(spec.dir, 'build-'));
  try {
    spec.log(
      `${spec.label}: building ${spec.packages.map((p) => `${p}@${spec.version}`).join(', ')} into ${spec.dir} (a few minutes the first time)`,
    );
    let result = await runGoInstall(go, spec, staging, spec.env);
    if (!result.ok && /checksum|sumdb|verifying .*module|SECURITY ERROR/i.test(result.output)) {
      // The checksum database may be unreachable where only the module proxy is.
      spec.log(
        `${spec.label}: module checksums could not be verified; retrying this one build with GOSUMDB=off`,
      );
      result = await runGoInstall(go, spec, staging, { ...spec.env, GOSUMDB: 'off' });
    }
    const missing = spec.binaries.filter((b) => !existsSync(join(staging, b.built)));
    if (!result.ok || missing.length > 0) {
      throw new Error(`Building ${spec.label} with Go failed. ${hint}\n${result.output.slice(-4000)}`);
    }
    for (const b of spec.binaries) renameSync(join(staging, b.built), join(spec.dir, b.as));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The folder of a Go module's source in the module cache (`go mod download -json`), downloading it
 * when needed. Undefined when Go cannot provide it.
 */
export function goModuleDir(
  go: string,
  module: string,
  version: string,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const run = (extra: NodeJS.ProcessEnv) =>
    spawnSync(go, ['mod', 'download', '-json', `${module}@${version}`], {
      encoding: 'utf8',
      env: { ...env, ...extra },
      timeout: 600_000,
      // Outside any module: `go mod download` of an explicit version needs no go.mod.
      cwd: homedir(),
    });
  let out = run({});
  if (out.status !== 0) out = run({ GOSUMDB: 'off' });
  if (out.status !== 0) return undefined;
  try {
    const dir = (JSON.parse(out.stdout) as { Dir?: string }).Dir;
    return dir && existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}
