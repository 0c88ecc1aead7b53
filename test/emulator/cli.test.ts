import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAccessKey, startEmulator, type RunningEmulator } from '../../src/emulator';
import { runEmulatorCli, type EmulatorCliIo } from '../../src/emulator/cli';
import { expectOk, rawCall, waitFor } from './helpers';

const ROOT = join(__dirname, '..', '..');

/** Runs the CLI in-process until `use` is done; returns the exit code and every line printed. */
async function withCli(
  argv: string[],
  use: (emu: RunningEmulator) => void | Promise<void> = () => {},
  io: Partial<EmulatorCliIo> = {},
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const stop = new AbortController();
  let onReady: (e: RunningEmulator) => void = () => {};
  const ready = new Promise<RunningEmulator>((resolve) => (onReady = resolve));
  const running = runEmulatorCli(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    signal: stop.signal,
    env: {},
    setExitCode: false,
    onReady: (e) => onReady(e),
    ...io,
  });
  // A CLI that fails to start (or only prints help) resolves without ever being ready.
  const first = await Promise.race([running, ready]);
  if (typeof first === 'number') return { code: first, out, err };
  try {
    await use(first);
  } finally {
    stop.abort();
  }
  return { code: await running, out, err };
}

describe('emulator: the command line', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'aps-emulator-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts with a generated key, prints endpoint and key ID but not the secret, logs each request', async () => {
    let secret = '';
    const { code, out } = await withCli(['--port', '0', '--job', 'aps-cli1'], async (emu) => {
      const key = emu.credentials[0];
      assert.ok(key);
      secret = key.accessKeySecret;
      expectOk(
        await rawCall({ endpoint: emu.endpoint, key }, 'StartApsJob', {
          RegionId: 'cn-hangzhou',
          ApsJobId: 'aps-cli1',
        }),
      );
    });
    assert.equal(code, 0);
    const text = out.join('\n');
    assert.match(text, /listening on http:\/\/127\.0\.0\.1:\d+/);
    assert.match(text, /access key LTAI\w{20} \(generated\)/);
    assert.match(text, /StartApsJob aps-cli1 -> OK 200/);
    assert.match(text, /--print-secret/);
    assert.ok(!text.includes(secret), 'the secret is not printed');
    assert.match(text, /APS emulator stopped/);
  });

  it('--print-secret prints it; --write-env writes a 0600 env file for the worker', async () => {
    const envFile = join(dir, 'emulator.env');
    let key = { accessKeyId: '', accessKeySecret: '' };
    let url = '';
    const { code, out } = await withCli(
      ['--port', '0', '--print-secret', '--write-env', envFile, '--quiet'],
      (emu) => {
        const k = emu.credentials[0];
        assert.ok(k);
        key = k;
        url = emu.url;
      },
    );
    assert.equal(code, 0);
    assert.ok(out.join('\n').includes(`secret ${key.accessKeySecret}`));
    assert.equal(
      readFileSync(envFile, 'utf8'),
      `ALIBABA_CLOUD_ACCESS_KEY_ID=${key.accessKeyId}\nALIBABA_CLOUD_ACCESS_KEY_SECRET=${key.accessKeySecret}\nADB_ENDPOINT=${url}\n`,
    );
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
  });

  it('takes the key pair from APS_EMULATOR_ACCESS_KEY_ID / _SECRET', async () => {
    const key = generateAccessKey();
    const { code } = await withCli(
      ['--port', '0', '--quiet', '--auto-create'],
      async (emu) => {
        assert.deepEqual(emu.credentials, [key]);
        expectOk(
          await rawCall({ endpoint: emu.endpoint, key }, 'DescribeApsJobDetail', { ApsJobId: 'aps-auto1' }),
        );
      },
      {
        env: {
          APS_EMULATOR_ACCESS_KEY_ID: key.accessKeyId,
          APS_EMULATOR_ACCESS_KEY_SECRET: key.accessKeySecret,
        },
      },
    );
    assert.equal(code, 0);
    const half = await withCli(['--port', '0'], undefined, { env: { APS_EMULATOR_ACCESS_KEY_ID: 'x' } });
    assert.equal(half.code, 2);
    assert.match(half.err.join('\n'), /APS_EMULATOR_ACCESS_KEY_SECRET/);
  });

  it('loads a JSON config file (keys, jobs, faults); flags win over it', async () => {
    const key = generateAccessKey();
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        port: 1,
        accessKeys: [key],
        jobs: [{ apsJobId: 'aps-cfg1', kind: 'batch', runningPollsToComplete: 0 }],
        faults: [{ kind: 'error', code: 'ServiceUnavailable', action: 'DescribeApsJobDetail' }],
        seed: 9,
      }),
    );
    const { code } = await withCli(['--config', config, '--port', '0', '--quiet'], async (emu) => {
      assert.notEqual(emu.port, 1);
      assert.equal(emu.state().seed, 9);
      const target = { endpoint: emu.endpoint, key };
      const first = await rawCall(target, 'DescribeApsJobDetail', { ApsJobId: 'aps-cfg1' });
      assert.ok(!first.ok);
      assert.equal(first.error.code, 'ServiceUnavailable');
    });
    assert.equal(code, 0);
  });

  it('beyond loopback it needs the admin token: from the environment or the file it names', async () => {
    const refused = await withCli(['--host', '0.0.0.0', '--port', '0']);
    assert.equal(refused.code, 2);
    assert.match(refused.err.join('\n'), /"0\.0\.0\.0" is not a loopback address.*APS_EMULATOR_ADMIN_TOKEN/s);

    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, 'token-from-file\n', { mode: 0o600 });
    const fromFile = await withCli(
      ['--host', '0.0.0.0', '--port', '0', '--quiet'],
      async (emu) => {
        const state = `http://127.0.0.1:${emu.port}/__emulator/state`;
        assert.equal((await fetch(state)).status, 401);
        const ok = await fetch(state, { headers: { 'x-emulator-token': 'token-from-file' } });
        assert.equal(ok.status, 200);
      },
      { env: { APS_EMULATOR_ADMIN_TOKEN_FILE: tokenFile } },
    );
    assert.equal(fromFile.code, 0, fromFile.err.join('\n'));
    assert.match(fromFile.out.join('\n'), /admin token required/);
    assert.ok(!fromFile.out.join('\n').includes('token-from-file'), 'the token is not printed');

    // The variable wins over the file.
    const both = await withCli(
      ['--host', '0.0.0.0', '--port', '0', '--quiet'],
      async (emu) => {
        const res = await fetch(`http://127.0.0.1:${emu.port}/__emulator/health`, {
          headers: { 'x-emulator-token': 'token-from-env' },
        });
        assert.equal(res.status, 200);
      },
      { env: { APS_EMULATOR_ADMIN_TOKEN: 'token-from-env', APS_EMULATOR_ADMIN_TOKEN_FILE: tokenFile } },
    );
    assert.equal(both.code, 0, both.err.join('\n'));

    const empty = join(dir, 'empty-token');
    writeFileSync(empty, '  \n');
    const emptyRun = await withCli(['--port', '0'], undefined, {
      env: { APS_EMULATOR_ADMIN_TOKEN_FILE: empty },
    });
    assert.equal(emptyRun.code, 2);
    assert.match(emptyRun.err.join('\n'), /APS_EMULATOR_ADMIN_TOKEN_FILE: .*empty-token is empty/);
    const missing = await withCli(['--port', '0'], undefined, {
      env: { APS_EMULATOR_ADMIN_TOKEN_FILE: join(dir, 'no-such-token') },
    });
    assert.equal(missing.code, 2);
    assert.match(
      missing.err.join('\n'),
      /APS_EMULATOR_ADMIN_TOKEN_FILE: cannot read .*no-such-token: ENOENT/,
    );
  });

  it('bad arguments and bad config files exit 2 with a clear message; a taken port exits 1', async () => {
    const help = await withCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out.join('\n'), /Usage: emulator/);
    const unknown = await withCli(['--bogus']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err.join('\n'), /bogus/);
    const badPort = await withCli(['--port', 'http']);
    assert.equal(badPort.code, 2);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ jobs: [{ apsJobId: 'aps-x', kind: 'weird' }] }));
    const badConfig = await withCli(['--config', bad]);
    assert.equal(badConfig.code, 2);
    assert.match(badConfig.err.join('\n'), /jobs\[0\]\.kind|kind/);
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{');
    assert.equal((await withCli(['--config', notJson])).code, 2);
    assert.equal((await withCli(['--config', join(dir, 'missing.json')])).code, 2);
    const taken = await startEmulator();
    try {
      const busy = await withCli(['--port', String(taken.port)]);
      assert.equal(busy.code, 1);
      assert.match(busy.err.join('\n'), /EADDRINUSE/);
    } finally {
      await taken.close();
    }
  });

  it('scripts/emulator.ts runs standalone and stops cleanly on SIGTERM', async function () {
    this.timeout(60_000);
    const child = spawn(
      process.execPath,
      [require.resolve('tsx/cli'), join(ROOT, 'scripts', 'emulator.ts'), '--port', '0'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(
        () => /listening on http:\/\/127\.0\.0\.1:(\d+)/.test(output),
        'the standalone emulator to listen',
        30_000,
      );
      const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
      const health = await fetch(`http://127.0.0.1:${port}/__emulator/health`);
      assert.equal(health.status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output);
      assert.match(output, /APS emulator stopped/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
