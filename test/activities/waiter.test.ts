import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { ActivityCancelledError, ActivityNotFoundError } from '@temporalio/client';
import type { Logger } from '@temporalio/common';
import { InProcessWaiter, type WaitOutcome } from '../../src/activities';

const noop = (): void => undefined;
const quiet: Logger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

/** A completion client that records every call; `answer` decides what each call does. */
class FakeCompletion {
  readonly calls: { call: string; token: string; arg?: unknown }[] = [];
  answer: (call: string, token: string) => Error | undefined = () => undefined;
  private record(call: string, token: Uint8Array, arg?: unknown): Promise<void> {
    const t = Buffer.from(token).toString();
    this.calls.push({ call, token: t, arg });
    const err = this.answer(call, t);
    return err ? Promise.reject(err) : Promise.resolve();
  }
  complete = (token: Uint8Array, result: unknown) => this.record('complete', token, result);
  fail = (token: Uint8Array, err: unknown) => this.record('fail', token, err);
  heartbeat = (token: Uint8Array, details?: unknown) => this.record('heartbeat', token, details);
  reportCancellation = (token: Uint8Array, details?: unknown) =>
    this.record('reportCancellation', token, details);
  of(token: string, call?: string) {
    return this.calls.filter((c) => c.token === token && (call === undefined || c.call === call));
  }
}

function entry(
  token: string,
  steps: WaitOutcome[],
  opts: { heartbeatEveryMs?: number; handBackAt?: number; firstDelayMs?: number } = {},
) {
  let n = 0;
  return {
    taskToken: Buffer.from(token),
    name: token,
    firstDelayMs: opts.firstDelayMs ?? 10,
    heartbeatEveryMs: opts.heartbeatEveryMs ?? 60_000,
    handBackAt: opts.handBackAt ?? Date.now() + 60_000,
    log: quiet,
    step: () => Promise.resolve(steps[Math.min(n++, steps.length - 1)]!),
    details: () => ({ token, steps: n }),
    handBack: (why: 'window' | 'shutdown'): WaitOutcome => ({
      kind: 'done',
      result: { handedBack: why, steps: n },
    }),
    get stepsTaken() {
      return n;
    },
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('in-process waiter (fake completion client)', () => {
  it('heartbeats at once, steps until done, then completes the attempt with the result', async () => {
    const fake = new FakeCompletion();
    const waiter = new InProcessWaiter({ completion: fake });
    const e = entry('a', [
      { kind: 'again', delayMs: 10 },
      { kind: 'again', delayMs: 10 },
      { kind: 'done', result: { status: 'Running' } },
    ]);
    waiter.add(e);
    await until(() => fake.of('a', 'complete').length === 1, 'completion');
    assert.equal(fake.calls[0]?.call, 'heartbeat', 'the first call records the handed-over state');
    assert.deepEqual(fake.of('a', 'complete')[0]?.arg, { status: 'Running' });
    assert.equal(e.stepsTaken, 3);
    assert.deepEqual(waiter.stats().ended, { done: 1, failed: 0, handedBack: 0, cancelled: 0, gone: 0 });
    assert.equal(waiter.stats().waiting, 0);
    await waiter.close();
  });

  it('a final failure heartbeats its details, then fails the attempt', async () => {
    const fake = new FakeCompletion();
    const waiter = new InProcessWaiter({ completion: fake });
    const failure = new Error('ApsJobFailed');
    waiter.add(entry('b', [{ kind: 'fail', failure, details: { counters: { transient: 1 } } }]));
    await until(() => fake.of('b', 'fail').length === 1, 'fail');
    const calls = fake.of('b').map((c) => c.call);
    assert.deepEqual(calls.slice(-2), ['heartbeat', 'fail']);
    assert.deepEqual(fake.of('b', 'heartbeat').at(-1)?.arg, { counters: { transient: 1 } });
    assert.equal(fake.of('b', 'fail')[0]?.arg, failure);
    await waiter.close();
  });

  it('hands the attempt back when its window ends, with no read past it', async () => {
    const fake = new FakeCompletion();
    const waiter = new InProcessWaiter({ completion: fake });
    const e = entry('c', [{ kind: 'again', delayMs: 50 }], { handBackAt: Date.now() + 120 });
    waiter.add(e);
    await until(() => fake.of('c', 'complete').length === 1, 'hand-back');
    assert.deepEqual(fake.of('c', 'complete')[0]?.arg, { handedBack: 'window', steps: e.stepsTaken });
    assert.ok(e.stepsTaken <= 3, `steps ${e.stepsTaken}`);
    assert.equal(waiter.stats().ended.handedBack, 1);
    await waiter.close();
  });

  it('heartbeats every heartbeatEveryMs while waiting', async () => {
    const fake = new FakeCompletion();
    const waiter = new InProcessWaiter({ completion: fake, sweepEveryMs: 10 });
    waiter.add(entry('d', [{ kind: 'again', delayMs: 1000 }], { heartbeatEveryMs: 40, firstDelayMs: 1000 }));
    await sleep(300);
    const beats = fake.of('d', 'heartbeat').length;
    // 1 at once, then one per 40 ms; the sweep may be a little late.
    assert.ok(beats >= 4 && beats <= 9, `heartbeats ${beats}`);
    await waiter.close();
  });

  it('reports the cancellation a heartbeat answers with, and stops reading', async () => {
    const fake = new FakeCompletion();
    fake.answer = (call) => (call === 'heartbeat' ? new ActivityCancelledError('cancelled') : undefined);
    const waiter = new InProcessWaiter({ completion: fake });
    const e = entry('e', [{ kind: 'again', delayMs: 20 }], { firstDelayMs: 200 });
    waiter.add(e);
    await until(() => fake.of('e', 'reportCancellation').length === 1, 'cancellation');
    await sleep(250);
    assert.equal(e.stepsTaken, 0);
    assert.equal(waiter.stats().ended.cancelled, 1);
    await waiter.close();
  });

  it('reports a cancellation with the state the entry hands back, after the read in flight is counted', async () => {
    const fake = new FakeCompletion();
    let cancelled = false;
    fake.answer = (call) =>
      call === 'heartbeat' && cancelled ? new ActivityCancelledError('cancelled') : undefined;
    const waiter = new InProcessWaiter({ completion: fake, sweepEveryMs: 10 });
    let reads = 0;
    let release: () => void = noop;
    const activity = { workflowId: 'w', runId: 'r', activityId: '7' };
    waiter.add({
      ...entry('g', [], { firstDelayMs: 10, heartbeatEveryMs: 60_000 }),
      activity,
      step: async (): Promise<WaitOutcome> => {
        reads++;
        // The second read is in flight when the cancel is heard.
        if (reads === 2) await new Promise<void>((r) => (release = r));
        return { kind: 'again', delayMs: 10 };
      },
      cancelled: () => ({ resume: { polls: reads } }),
    });
    await until(() => reads === 2, 'the second read in flight');
    cancelled = true;
    // Heartbeats come only every minute, unless the run is about to cancel: then at every sweep.
    assert.equal(waiter.heartbeatOften(activity, 5000), true);
    assert.equal(waiter.heartbeatOften({ ...activity, activityId: '8' }, 5000), false);
    await until(() => fake.of('g', 'heartbeat').length >= 2, 'a heartbeat soon');
    await sleep(50);
    assert.equal(fake.of('g', 'reportCancellation').length, 0, 'not before the read in flight ends');
    release();
    await until(() => fake.of('g', 'reportCancellation').length === 1, 'cancellation');
    assert.deepEqual(fake.of('g', 'reportCancellation')[0]?.arg, { resume: { polls: 2 } });
    assert.equal(reads, 2);
    assert.equal(waiter.stats().ended.cancelled, 1);
    await waiter.close();
  });

  it('handBackNow hands the attempt of that activity back at once, as at the end of its window', async () => {
    const fake = new FakeCompletion();
    const waiter = new InProcessWaiter({ completion: fake });
    const activity = { workflowId: 'w', runId: 'r', activityId: '1' };
    const e = entry('h', [{ kind: 'again', delayMs: 60_000 }], { firstDelayMs: 10 });
    waiter.add({ ...e, activity });
    await until(() => e.stepsTaken === 1, 'a read');
    assert.equal(waiter.handBackNow({ ...activity, runId: 'other' }), false);
    assert.equal(waiter.handBackNow(activity), true);
    await until(() => fake.of('h', 'complete').length === 1, 'hand-back');
    assert.deepEqual(fake.of('h', 'complete')[0]?.arg, { handedBack: 'window', steps: 1 });
    assert.equal(waiter.stats().ended.handedBack, 1);
    await waiter.close();
  });

  it('drops an attempt the server no longer knows (its run ended, or it timed out)', async () => {
    const fake = new FakeCompletion();
    fake.answer = (call) => (call === 'heartbeat' ? new ActivityNotFoundError('Not found') : undefined);
    const waiter = new InProcessWaiter({ completion: fake });
    const e = entry('f', [{ kind: 'again', delayMs: 20 }], { firstDelayMs: 200 });
    waiter.add(e);
    await until(() => waiter.stats().ended.gone === 1, 'gone');
    await sleep(250);
    assert.equal(e.stepsTaken, 0);
    assert.equal(fake.of('f', 'complete').length + fake.of('f', 'fail').length, 0);
    await waiter.close();
  });

  it('keeps trying to complete while the server is away, and succeeds when it is back', async () => {
    const fake = new FakeCompletion();
    let refusals = 2;
    fake.answer = (call) => (call === 'complete' && refusals-- > 0 ? new Error('unavailable') : undefined);
    const waiter = new InProcessWaiter({ completion: fake });
    waiter.add(entry('g', [{ kind: 'done', result: 1 }], { heartbeatEveryMs: 10_000 }));
    await until(() => waiter.stats().ended.done === 1, 'done', 10_000);
    assert.equal(fake.of('g', 'complete').length, 3);
    await waiter.close();
  });

  it('close() hands every attempt back, and refuses new ones', async () => {
    const fake = new FakeCompletion();
    const waiter = new InProcessWaiter({ completion: fake });
    for (const t of ['h1', 'h2', 'h3'])
      waiter.add(entry(t, [{ kind: 'again', delayMs: 10_000 }], { firstDelayMs: 10_000 }));
    assert.equal(waiter.stats().waiting, 3);
    await waiter.close();
    for (const t of ['h1', 'h2', 'h3']) {
      assert.deepEqual(fake.of(t, 'complete')[0]?.arg, { handedBack: 'shutdown', steps: 0 });
    }
    assert.equal(waiter.stats().ended.handedBack, 3);
    assert.equal(waiter.accepting, false);
    assert.throws(() => waiter.add(entry('late', [])), /closed/);
  });

  it('runs at most maxConcurrentSteps reads at once', async () => {
    const fake = new FakeCompletion();
    const waiter = new InProcessWaiter({ completion: fake, maxConcurrentSteps: 2 });
    let inFlight = 0;
    let peak = 0;
    for (let i = 0; i < 6; i++) {
      waiter.add({
        ...entry(`m${i}`, []),
        firstDelayMs: 1,
        step: async () => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await sleep(30);
          inFlight--;
          return { kind: 'done', result: i };
        },
      });
    }
    await until(() => waiter.stats().ended.done === 6, 'all done');
    assert.equal(peak, 2);
    await waiter.close();
  });

  it('keeps reads on a grid: the time a read takes does not push the next ones back', async () => {
    const fake = new FakeCompletion();
    const waiter = new InProcessWaiter({ completion: fake });
    // Each read takes 150 ms and asks for the next 200 ms later. Timed from the end of each read
    // they would begin every 350 ms; on a grid from the first, every 200 ms.
    const began: number[] = [];
    const e = entry('grid', []);
    waiter.add({
      ...e,
      step: async (): Promise<WaitOutcome> => {
        began.push(Date.now());
        await sleep(150);
        return began.length < 7 ? { kind: 'again', delayMs: 200 } : { kind: 'done', result: {} };
      },
    });
    await until(() => waiter.stats().ended.done === 1, 'done', 10_000);
    const mean = (began.at(-1)! - began[0]!) / (began.length - 1);
    assert.ok(mean < 275, `reads began every ${mean.toFixed(0)} ms on average (grid 200, drifting 350)`);
    await waiter.close();
  });
});
