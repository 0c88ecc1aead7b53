/**
 * `aps-jobs demo`: one job end to end on embedded defaults — a local Temporal dev server (found
 * or built like in the tests), the emulator with a generated key pair, and a worker — with a
 * throttled start on the way, so the retry rules can be seen at work.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from './api';
import { createApsApi } from './aps/client';
import { startJobRun } from './client';
import { freePort } from './dev/net';
import { resolveTemporalCli } from './dev/temporal-cli';
import { generateAccessKey, startEmulator } from './emulator';
import { followJobRun } from './follow';
import { createApsWorker } from './run-worker';

/** The demo's job. */
export const DEMO_JOB = { regionId: 'cn-hangzhou', apsJobId: 'aps-demo0000001' };
const DEMO_TASK_QUEUE = 'aps-jobs-demo';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Leave everything up until Ctrl-C. */
  keep: boolean;
  /** Print the result as JSON on stdout. */
  json: boolean;
}

/** Runs the demo; throws (with a one-line message) when the job does not reach its target. */
export async function runDemo(opts: DemoOptions): Promise<void> {
  const say = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  // Expected retries are shown by the emulator and progress lines; the worker logs only errors.
  Runtime.install({ logger: new DefaultLogger('ERROR') });

  say('demo: finding the Temporal CLI');
  const cli = await resolveTemporalCli({ log: say });
  const uiPort = await freePort();
  say('demo: starting a local Temporal dev server');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: cli.executable,
      ui: true,
      uiPort,
      searchAttributes: SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'error' },
    },
  });
  const key = generateAccessKey();
  const emulator = await startEmulator({
    accessKeys: [key],
    jobs: [{ ...DEMO_JOB, kind: 'streaming', startingPolls: 3 }],
    // Two throttled answers to the start: the default throttling rule backs off and retries.
    faults: [{ kind: 'error', code: 'Throttling.User', action: 'StartApsJob', times: 2 }],
    onRequest: (e) =>
      say(`emulator: ${e.action ?? '?'} ${e.apsJobId ?? ''} -> ${e.code} (HTTP ${e.httpStatus ?? '-'})`),
  });
  say(`demo: emulator at http://${emulator.endpoint} (generated key ${key.accessKeyId})`);

  const worker = await createApsWorker({
    connection: env.nativeConnection,
    taskQueue: DEMO_TASK_QUEUE,
    aps: createApsApi({
      credentials: { kind: 'access-key', accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret },
      endpoint: emulator.endpoint,
      protocol: 'http',
    }),
  });
  const workerRun = worker.run();
  const shutdown = async (): Promise<void> => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerRun;
    await env.teardown();
    await emulator.close();
  };

  try {
    const started = await startJobRun(
      env.client,
      { ...DEMO_JOB, pollInterval: '1s', timeout: '5m' },
      { taskQueue: DEMO_TASK_QUEUE },
    );
    const uiLink = `http://127.0.0.1:${uiPort}/namespaces/default/workflows/${encodeURIComponent(started.workflowId)}`;
    say(`demo: workflow ${started.workflowId} started; Temporal UI: ${uiLink}`);
    const outcome = await followJobRun(env.client, DEMO_JOB.regionId, DEMO_JOB.apsJobId, { quiet: false });
    if (!outcome.ok) throw new Error(`demo job did not reach running: ${outcome.reason}`);
    const r = outcome.result;
    const starts = emulator.effectiveStarts(DEMO_JOB.apsJobId);
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify({ ...r, workflowId: started.workflowId, uiLink, effectiveStarts: starts })}\n`,
      );
    } else {
      process.stdout.write(
        `${r.apsJobId} is ${r.status}: started=${r.started}, ${r.polls} polls, effective starts=${starts}\n` +
          `Temporal UI: ${uiLink}\n`,
      );
    }
    if (opts.keep) {
      say('demo: everything stays up; press Ctrl-C to stop');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } finally {
    say('demo: shutting down');
    await shutdown();
  }
}
