/**
 * The package's entry points as another project imports them: the `exports` map of package.json,
 * resolved by plain `node` on the built `lib/` (the package refers to itself by name, so the map is
 * what resolves every specifier). Client-side entries must load no worker code.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { buildPackage, mustRun, ROOT } from './support/package-build';

/** What a fresh `node` process loaded for one `require`. */
interface Probe {
  /** Keys of `module.exports`. */
  exports: string[];
  /** Paths in `require.cache` under `@temporalio/worker` or `@temporalio/core-bridge` (the native core). */
  workerModules: string[];
  /** Every path in `require.cache`. */
  modules: number;
  /** `require.resolve` of the specifier. */
  resolved: string;
}

const PROBE = `
const spec = process.argv[1];
const mod = require(spec);
const loaded = Object.keys(require.cache);
process.stdout.write(JSON.stringify({
  exports: Object.keys(mod),
  workerModules: loaded.filter((p) => /[\\\\/]@temporalio[\\\\/](worker|core-bridge)[\\\\/]/.test(p)),
  modules: loaded.length,
  resolved: require.resolve(spec),
}));
`;

/** Requires `specifier` in a new plain `node` process (no tsx, no NODE_OPTIONS) run from the repository. */
async function probe(specifier: string): Promise<Probe> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const run = await mustRun(process.execPath, ['-e', PROBE, specifier], {
    cwd: ROOT,
    env,
    timeoutMs: 60_000,
  });
  return JSON.parse(run.stdout) as Probe;
}

interface PackageJson {
  exports: Record<string, string | { types: string; default: string }>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

describe('package entry points (exports map)', function () {
  this.timeout(120_000);

  before(async function () {
    this.timeout(180_000);
    await buildPackage();
  });

  it('maps every subpath to a built file and its declarations', () => {
    for (const sub of ['.', './workflows', './activities', './worker', './client', './emulator']) {
      const target = pkg.exports[sub];
      assert.ok(target && typeof target === 'object', `exports["${sub}"] has types and default`);
      assert.ok(existsSync(join(ROOT, target.default)), `${sub}: ${target.default} is built`);
      assert.ok(existsSync(join(ROOT, target.types)), `${sub}: ${target.types} is built`);
    }
    assert.equal(pkg.exports['./package.json'], './package.json');
  });

  for (const [specifier, names] of [
    [
      'adb-aps-temporal/client',
      [
        'startJobRun',
        'startSupervisor',
        'supervisorStatus',
        'cancelSupervisor',
        'followJobRun',
        'apsJobFailureOf',
      ],
    ],
    [
      'adb-aps-temporal/workflows',
      [
        'runApsJob',
        'superviseApsJob',
        'jobWorkflowId',
        'supervisorWorkflowId',
        'FailureTypes',
        'apsJobFailureOf',
      ],
    ],
    ['adb-aps-temporal/activities', ['createActivities', 'createApsApi', 'DEFAULT_RETRY_RULES']],
    ['adb-aps-temporal/emulator', ['startEmulator', 'generateAccessKey', 'EmulatorControl']],
    ['adb-aps-temporal/lib/client', ['startJobRun', 'startSupervisor']],
  ] as const) {
    it(`${specifier} loads no @temporalio/worker and no native core`, async () => {
      const p = await probe(specifier);
      assert.deepEqual(p.workerModules, [], `${specifier} loaded worker code`);
      for (const name of names) assert.ok(p.exports.includes(name), `${specifier} exports ${name}`);
    });
  }

  it('the root and /worker do load the worker (so the check above can see it)', async () => {
    for (const specifier of ['adb-aps-temporal', 'adb-aps-temporal/worker']) {
      const p = await probe(specifier);
      assert.ok(
        p.workerModules.some((m) => /[\\/]@temporalio[\\/]worker[\\/]/.test(m)),
        `${specifier} should load @temporalio/worker`,
      );
    }
  });

  it('the root keeps its API and now has the supervisor helpers', async () => {
    const p = await probe('adb-aps-temporal');
    assert.equal(p.resolved, join(ROOT, 'lib', 'index.js'));
    for (const name of [
      'startJobRun',
      'createApsWorker',
      'createActivities',
      'startEmulator',
      'startSupervisor',
      'supervisorHandle',
      'supervisorStatus',
      'pauseSupervisor',
      'resumeSupervisor',
      'setSupervisorCheckInterval',
      'cancelSupervisor',
      'workflowsPath',
    ]) {
      assert.ok(p.exports.includes(name), `root exports ${name}`);
    }
  });

  it('deep lib/ imports keep resolving, with or without .js', async () => {
    assert.equal((await probe('adb-aps-temporal/lib/client')).resolved, join(ROOT, 'lib', 'client.js'));
    assert.equal((await probe('adb-aps-temporal/lib/client.js')).resolved, join(ROOT, 'lib', 'client.js'));
    assert.equal((await probe('adb-aps-temporal/package.json')).resolved, join(ROOT, 'package.json'));
  });

  it('/worker names the workflows module for workflowsPath', async () => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const run = await mustRun(
      process.execPath,
      ['-e', "process.stdout.write(require('adb-aps-temporal/worker').workflowsPath)"],
      { cwd: ROOT, env },
    );
    assert.equal(run.stdout, join(ROOT, 'lib', 'workflows', 'index.js'));
  });

  it('/workflows bundles in the workflow sandbox, re-exported from a workflows file of your own', async () => {
    const entry = pkg.exports['./workflows'];
    assert.ok(entry && typeof entry === 'object');
    const dir = mkdtempSync(join(tmpdir(), 'aps-wf-entry-'));
    const file = join(dir, 'workflows.js');
    // A user's workflows file: the package's workflows next to the user's own.
    writeFileSync(
      file,
      `exports.runApsJob = require(${JSON.stringify(join(ROOT, entry.default))}).runApsJob;\n` +
        `exports.mine = async function mine() { return 'ok'; };\n`,
    );
    // A Node built-in or worker code anywhere under the entry fails the bundle (disallowed modules).
    const { code } = await bundleWorkflowCode({
      workflowsPath: file,
      logger: quietLogger,
      // The file lives outside the repository: let it find the SDK where the repository has it.
      webpackConfigHook: (config) => ({
        ...config,
        resolve: { ...config.resolve, modules: ['node_modules', join(ROOT, 'node_modules')] },
      }),
    });
    assert.match(code, /runApsJob/);
  });

  it('runtime dependencies leave out checkout-only tools', () => {
    for (const name of ['tsx', 'mocha', 'typescript']) {
      assert.equal(pkg.dependencies[name], undefined, `${name} is not a runtime dependency`);
    }
    // `aps-jobs demo` (lib/demo.js) starts a dev server with the test SDK at run time.
    assert.ok(pkg.dependencies['@temporalio/testing']);
  });
});

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string, meta?: unknown) => console.error(message, meta),
};
