/**
 * `npm run stack` as a user runs it: `up` in the background with two worker hosts, `status`, a job
 * started with `aps-jobs start --wait` reaching Running through the stack's workers, and `down`
 * leaving no process and no folder behind.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StackState } from '../../../src/dev/stack';

const ROOT = join(__dirname, '..', '..', '..');

function run(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--require', 'tsx/cjs', join(ROOT, script), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 10 * 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('reliability (stack): npm run stack up, status, a job, down', function () {
  const parent = mkdtempSync(join(tmpdir(), 'aps-stack-cli-'));
  const dir = join(parent, 'stack');
  after(async () => {
    // Whatever happened above, nothing stays up.
    if (existsSync(dir)) await run('scripts/stack.ts', ['down', '--dir', dir]);
    rmSync(parent, { recursive: true, force: true });
  });

  it('refuses a folder that holds files of its own, and leaves them alone', async () => {
    const foreign = join(parent, 'mine');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'keep me');
    for (const command of ['up', 'down']) {
      const res = await run('scripts/stack.ts', [command, '--dir', foreign]);
      assert.equal(res.code, 1, res.out);
      assert.match(res.out, /holds files of its own; give a new or empty folder with --dir/);
    }
    assert.equal(readFileSync(join(foreign, 'notes.txt'), 'utf8'), 'keep me');
  });

  it('brings the stack up, runs a job to Running on it, and leaves nothing behind', async () => {
    const up = await run('scripts/stack.ts', ['up', '--workers', '2', '--dir', dir]);
    assert.equal(up.code, 0, up.out);
    assert.match(up.out, /stack: 2 workers polling aps-jobs/);

    const status = await run('scripts/stack.ts', ['status', '--json', '--dir', dir]);
    assert.equal(status.code, 0, status.out);
    const state = JSON.parse(status.out) as StackState & { supervisor: number };
    assert.equal(state.workers.length, 2);
    assert.equal(state.server.shards, 4);
    const pids = [
      state.supervisor,
      state.server.pid,
      state.postgres.pid,
      state.toxiproxy.pid,
      ...state.workers.map((w) => w.pid),
    ];
    assert.ok(pids.every(alive), `not every part runs: ${JSON.stringify(pids)}`);

    const start = await run(
      'src/cli.ts',
      ['start', 'aps-stackcli001', '--region', 'cn-hangzhou', '--poll-interval', '2s', '--wait'],
      { TEMPORAL_ADDRESS: state.address, TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: 'aps-jobs' },
    );
    assert.equal(start.code, 0, start.out);
    assert.match(start.out, /aps-stackcli001: Running \(started/);

    // Inside a private temp folder PostgreSQL (the postgres user, when root) keeps its files outside.
    const pgHome = existsSync(join(dir, 'pg-home'))
      ? readFileSync(join(dir, 'pg-home'), 'utf8').trim()
      : undefined;
    const down = await run('scripts/stack.ts', ['down', '--dir', dir]);
    assert.equal(down.code, 0, down.out);
    assert.match(down.out, /no process of it is left/);
    const left = pids.filter(alive);
    assert.deepEqual(left, [], `processes left after down: ${left.join(', ')}`);
    assert.ok(!existsSync(dir), `${dir} is still there`);
    if (pgHome) assert.ok(!existsSync(pgHome), `${pgHome} is still there`);
    const after = await run('scripts/stack.ts', ['status', '--dir', dir]);
    assert.equal(after.code, 3, after.out);
  });
});
