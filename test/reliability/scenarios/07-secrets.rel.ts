/**
 * Secrets: runs with a known access key secret and STS token, through successes, transient faults,
 * throttling, a permanent refusal and a failing job, plus runs on a worker whose secret is wrong
 * (every call answers SignatureDoesNotMatch). Worker processes log at DEBUG, one in JSON and the
 * others as text. Every history is fetched with every payload decoded, and every line the workers
 * printed is kept: neither contains the secret, the token, the wrong secret, nor any 16-character
 * piece of them.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { generateAccessKey, type FaultSpec, type JobScript } from '../../../src/emulator';
import { suite } from '../support/hooks';
import { emulatorSeed, PLAN } from '../support/plan';
import { record, summary } from '../support/report';
import { awaitRuns, mapLimit, startRun, tally, type Run } from '../support/runs';
import { accountStarts, jobIds, jobInput, startStage, type Stage } from '../support/stage';

const ID = 'secrets';
const PIECE = 16;

/** The secret itself and every PIECE-long substring of it. */
function pieces(secret: string): string[] {
  const out = new Set([secret]);
  for (let i = 0; i + PIECE <= secret.length; i++) out.add(secret.slice(i, i + PIECE));
  return [...out];
}

/** A history as text with every byte field (payload data, metadata) decoded as UTF-8 and as base64. */
function historyText(history: unknown): string {
  return JSON.stringify(history, (_key, value: unknown) => {
    if (value instanceof Uint8Array) {
      const buf = Buffer.from(value);
      return `${buf.toString('utf8')} ${buf.toString('base64')}`;
    }
    if (typeof value === 'bigint') return value.toString();
    // Long (protobuf int64) objects stringify as their fields: harmless.
    return value;
  });
}

/** Where each needle appears in `text` (by name), at most a few. */
function findLeaks(text: string, needles: Map<string, string[]>, where: string): string[] {
  const leaks: string[] = [];
  for (const [name, list] of needles) {
    for (const n of list) {
      const at = text.indexOf(n);
      if (at >= 0) {
        leaks.push(
          `${where}: ${name}${n.length < PIECE + 1 ? ' (piece)' : ''} near ${JSON.stringify(text.slice(Math.max(0, at - 60), at))}`,
        );
        break;
      }
    }
  }
  return leaks;
}

async function histories(client: Client, runs: readonly Run[]): Promise<{ text: string; events: number }[]> {
  return mapLimit(runs, 8, async (run) => {
    const h = await client.workflow.getHandle(run.workflowId).fetchHistory();
    return { text: historyText(h), events: h.events?.length ?? 0 };
  });
}

describe('reliability: secrets stay out of histories and logs', function () {
  const plan = PLAN.secrets;
  this.timeout(10 * 60_000);
  let good: Stage | undefined;
  let bad: Stage | undefined;
  after(async () => {
    await bad?.stop();
    await good?.stop();
  });

  it(`[${ID}] ${plan.jobs} + 2 runs with a known secret and STS token: none in any history or log line`, async () => {
    const t0 = Date.now();
    const key = generateAccessKey({ sts: true });
    const wrongSecret = randomBytes(33).toString('base64');
    assert.ok(key.securityToken);
    const ids = jobIds('secret', plan.jobs);
    const badIds = jobIds('secret-badkey', 2);
    // Failure paths, each carrying bodies and messages into logs and histories.
    const faults: FaultSpec[] = [];
    const scripts: JobScript[] = [];
    const expectFail = new Map<string, string>();
    ids.forEach((apsJobId, i) => {
      switch (i % 6) {
        case 0:
          faults.push({ kind: 'error', code: 'ServiceUnavailable', apsJobId, times: 2 });
          faults.push({ kind: 'html-502', apsJobId, action: 'StartApsJob', applyFirst: true });
          break;
        case 1:
          faults.push({ kind: 'reset', apsJobId, times: 2 });
          faults.push({ kind: 'success-false', apsJobId, action: 'StartApsJob', errCode: 'InternalError' });
          break;
        case 2:
          faults.push({ kind: 'error', code: 'Throttling.User', apsJobId, times: 2 });
          break;
        case 3:
          faults.push({
            kind: 'error',
            code: 'InvalidInput',
            apsJobId,
            action: 'StartApsJob',
            times: 'unlimited',
          });
          expectFail.set(apsJobId, 'InvalidInput');
          break;
        case 4:
          scripts.push({
            apsJobId,
            kind: 'failing',
            failAfterPolls: 1,
            errMessage: 'emulated: source unreachable',
          });
          expectFail.set(apsJobId, 'ApsJobFailed');
          return;
        default:
          break;
      }
      scripts.push({ apsJobId, kind: 'streaming', startingPolls: 1 });
    });
    for (const apsJobId of badIds) scripts.push({ apsJobId, kind: 'streaming' });
    good = await startStage({
      id: ID,
      workers: 2,
      keys: [key],
      env: { APS_LOG_LEVEL: 'DEBUG' },
      slotEnv: (slot) => ({ APS_LOG_FORMAT: slot === 0 ? 'json' : 'text' }),
      emulator: { seed: emulatorSeed(ID), accessKeys: [key], jobs: scripts, faults },
    });
    const { emulator } = good;
    // The same emulator, reached with the right key ID and token but a wrong secret.
    bad = await startStage({
      id: `${ID}-wrong-secret`,
      workers: 1,
      keys: [{ ...key, accessKeySecret: wrongSecret }],
      env: { APS_LOG_LEVEL: 'DEBUG', APS_LOG_FORMAT: 'text' },
      emulator: { shared: emulator },
    });
    const { client } = suite();
    const goodRuns = await mapLimit(ids, ids.length, (apsJobId) =>
      startRun(
        client,
        good!.taskQueue,
        jobInput(apsJobId, { target: expectFail.get(apsJobId) === 'ApsJobFailed' ? 'completed' : 'running' }),
      ),
    );
    const badRuns = await mapLimit(badIds, badIds.length, (apsJobId) =>
      startRun(client, bad!.taskQueue, jobInput(apsJobId)),
    );
    const deadline = Date.now() + 4 * 60_000;
    const outcomes = [
      ...(await awaitRuns(client, good.taskQueue, goodRuns, deadline)),
      ...(await awaitRuns(client, bad.taskQueue, badRuns, deadline)),
    ];
    // Stop the workers first, so that every line they were going to print is in.
    await bad.pool.stop();
    await good.pool.stop();

    const needles = new Map<string, string[]>([
      ['access key secret', pieces(key.accessKeySecret)],
      ['STS token', pieces(key.securityToken)],
      ['wrong secret', pieces(wrongSecret)],
    ]);
    const leaks: string[] = [];
    const hist = await histories(client, [...goodRuns, ...badRuns]);
    hist.forEach((h, i) => leaks.push(...findLeaks(h.text, needles, `history ${i}`)));
    const logs = [
      { name: 'json worker', text: good.pool.slotOutput(0) },
      { name: 'text worker', text: good.pool.slotOutput(1) },
      { name: 'wrong-secret worker', text: bad.pool.output() },
    ];
    for (const l of logs) leaks.push(...findLeaks(l.text, needles, l.name));

    const jsonLines = logs[0]?.text.split('\n').filter((l) => l.startsWith('{')) ?? [];
    const parsed = jsonLines.filter((l) => {
      try {
        JSON.parse(l);
        return true;
      } catch {
        return false;
      }
    });
    const debugLines = logs.reduce(
      (n, l) => n + (l.text.match(/\[DEBUG\]|"level":"DEBUG"/g) ?? []).length,
      0,
    );
    const logLines = logs.reduce((n, l) => n + l.text.split('\n').filter((x) => x.trim() !== '').length, 0);
    const historyBytes = hist.reduce((n, h) => n + h.text.length, 0);
    const t = tally(outcomes);
    const starts = accountStarts(emulator, outcomes);
    const wrongOutcome = outcomes.filter((o) => {
      const want = badIds.includes(o.run.apsJobId)
        ? 'SignatureDoesNotMatch'
        : (expectFail.get(o.run.apsJobId) ?? 'completed');
      return (o.state === 'failed' ? o.failureType : o.state) !== want;
    });
    record(
      summary(ID, t, {
        doubleStarts: starts.doubleStarts,
        duplicateStartCalls: starts.duplicateStartCalls,
        apiCalls: emulator.counters().requests,
        wallMs: Date.now() - t0,
        notes:
          `${hist.length} histories (${hist.reduce((n, h) => n + h.events, 0)} events, ${Math.round(historyBytes / 1024)} KiB decoded) and ` +
          `${logLines} log lines (JSON + text, ${debugLines} at DEBUG) searched for secret, token, wrong secret ` +
          `and their ${PIECE}-char pieces: ${leaks.length} hits`,
        details: {
          histories: hist.length,
          historyEvents: hist.reduce((n, h) => n + h.events, 0),
          historyBytes,
          logLines,
          jsonLogLines: parsed.length,
          debugLines,
          needles: [...needles].map(([name, list]) => ({ name, strings: list.length })),
          leaks,
          wrongOutcomes: wrongOutcome.map((o) => `${o.run.apsJobId}: ${o.state} ${o.failureType ?? ''}`),
          signatureFailures: emulator.counters().signatureFailures,
        },
      }),
    );

    assert.deepEqual(leaks, [], 'secrets found');
    assert.equal(t.stuck, 0, 'stuck runs');
    assert.equal(starts.doubleStarts, 0, `double starts: ${starts.offenders.join(', ')}`);
    assert.equal(
      starts.duplicateStartCalls,
      0,
      `duplicate start calls: ${starts.duplicateOffenders.join(', ')}`,
    );
    assert.deepEqual(
      wrongOutcome.map((o) => `${o.run.apsJobId}: ${o.state} ${o.failureType ?? ''} ${o.message ?? ''}`),
      [],
      'runs with the wrong outcome',
    );
    assert.ok(
      parsed.length > 10 && parsed.length === jsonLines.length,
      'the JSON worker did not log JSON lines',
    );
    assert.ok(debugLines > 0, 'no DEBUG lines captured');
    assert.ok(emulator.counters().signatureFailures > 0, 'the wrong secret never reached the emulator');
  });
});
