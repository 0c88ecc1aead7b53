/**
 * The package as users get it: `lib/` built by `npm run build`, and the tarball of `npm pack`.
 * Each is made once per test run, however many suites ask for it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The repository root. */
export const ROOT = join(__dirname, '..', '..');

/** What a command printed, and how it ended. */
export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after `timeoutMs`); never throws on a non-zero exit. */
export function runCommand(
  command: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command and throws with its output when it does not exit 0. */
export async function mustRun(
  command: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CommandRun> {
  const run = await runCommand(command, args, opts);
  if (run.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${opts.cwd}) exited ${run.code}\n${run.stdout}\n${run.stderr}`,
    );
  }
  return run;
}

let built: Promise<void> | undefined;

/** `npm run build` into `lib/`, once per test run. */
export function buildPackage(): Promise<void> {
  built ??= mustRun('npm', ['run', 'build'], { cwd: ROOT }).then(() => undefined);
  return built;
}

let packed: Promise<string> | undefined;

/**
 * `npm pack` of the freshly built package into a directory of its own; resolves to the tarball's
 * path. The directory is left for the OS to clean (the tarball is a few hundred KB).
 */
export function packPackage(): Promise<string> {
  packed ??= (async () => {
    await buildPackage();
    const dir = mkdtempSync(join(tmpdir(), 'aps-pack-'));
    // The build just ran: `prepack` would only build again.
    const run = await mustRun('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: ROOT,
    });
    const [info] = JSON.parse(run.stdout) as { filename: string }[];
    if (!info) throw new Error(`npm pack printed no file: ${run.stdout}`);
    return join(dir, info.filename);
  })();
  return packed;
}
