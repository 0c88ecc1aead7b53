import { strict as assert } from 'node:assert';
import {
  actionLogWindow,
  consoleUrl,
  CUT_MARK,
  formatApiTime,
  keepNewest,
  MAX_ACTION_LOG_WINDOW_MS,
  MAX_REASON_BYTES,
  newestFirst,
  readRecentErrors,
  WINDOW_LEAD_MS,
} from '../../src/aps/action-logs';
import type { ActionLogLine, ActionLogsInput } from '../../src/aps/types';
import { FakeAps } from '../support/fake-aps';

const line = (i: number, context = `line ${i}`): ActionLogLine => ({
  time: formatApiTime(Date.UTC(2024, 0, 31, 8, 0, i)),
  state: 'ERROR',
  context,
});

describe('action logs: the pure parts of a failure reason', () => {
  it('formats times as UTC yyyy-MM-ddTHH:mm:ssZ, without milliseconds', () => {
    assert.equal(formatApiTime(Date.UTC(2024, 0, 31, 8, 5, 9, 999)), '2024-01-31T08:05:09Z');
    assert.match(formatApiTime(Date.now()), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });

  it('opens the window a minute before the run started, at most 30 days back, and ends now', () => {
    const now = Date.UTC(2024, 5, 1, 12, 0, 0, 700);
    const since = Date.UTC(2024, 5, 1, 11, 0, 0, 300);
    const w = actionLogWindow(now, since);
    // Rounded up: a line of the current second is in.
    assert.equal(w.endTime, Date.UTC(2024, 5, 1, 12, 0, 1));
    assert.equal(w.startTime, Date.UTC(2024, 5, 1, 10, 59, 0));
    assert.equal(since - w.startTime <= WINDOW_LEAD_MS + 1000, true);
    // A job created long ago, or no start known: 30 days back, not more.
    const old = actionLogWindow(now, Date.UTC(2023, 0, 1));
    assert.equal(old.endTime - old.startTime, MAX_ACTION_LOG_WINDOW_MS);
    assert.deepEqual(actionLogWindow(now), old);
    // A start in the future (clock skew) never makes the window negative.
    const ahead = actionLogWindow(now, now + 3_600_000);
    assert.equal(ahead.startTime, ahead.endTime);
  });

  it('orders lines newest first; equal or unreadable times keep the service order, reversed', () => {
    const ordered = newestFirst([line(1), line(3), line(2)]);
    assert.deepEqual(
      ordered.map((l) => l.context),
      ['line 3', 'line 2', 'line 1'],
    );
    const same = { time: 'not a time', state: 'ERROR' };
    assert.deepEqual(
      newestFirst([
        { ...same, context: 'a' },
        { ...same, context: 'b' },
      ]).map((l) => l.context),
      ['b', 'a'],
    );
    // `yyyy-MM-dd HH:mm:ss` (no zone) is read too.
    assert.deepEqual(
      newestFirst([
        { time: '2024-01-31 08:00:05', state: 'ERROR', context: 'late' },
        { time: '2024-01-31T08:00:01Z', state: 'ERROR', context: 'early' },
      ]).map((l) => l.context),
      ['late', 'early'],
    );
  });

  it('keeps at most 20 lines, marked truncated when more existed', () => {
    const lines = Array.from({ length: 25 }, (_, i) => line(24 - i));
    const kept = keepNewest(lines);
    assert.equal(kept.lines.length, 20);
    assert.equal(kept.lines[0]?.context, 'line 24');
    assert.equal(kept.lines[19]?.context, 'line 5');
    assert.equal(kept.truncated, true);
    const few = keepNewest(lines.slice(0, 3));
    assert.equal(few.lines.length, 3);
    assert.equal(few.truncated, false);
    assert.equal(keepNewest(lines.slice(0, 3), { more: true }).truncated, true);
  });

  it('keeps at most 4 KB of text: the line crossing it is cut with a mark, older ones dropped', () => {
    const big = 'x'.repeat(1500);
    const kept = keepNewest([line(9, big), line(8, big), line(7, big), line(6, 'older')]);
    const bytes = kept.lines.reduce((n, l) => n + Buffer.byteLength(l.context, 'utf8'), 0);
    assert.equal(kept.truncated, true);
    assert.equal(kept.lines.length, 3);
    assert.ok(bytes <= MAX_REASON_BYTES, `${bytes} bytes`);
    assert.equal(bytes, MAX_REASON_BYTES);
    assert.ok(kept.lines[2]?.context.endsWith(CUT_MARK));
    assert.equal(kept.lines[0]?.context, big, 'newer lines are whole');
    // Multi-byte text is cut on a character boundary.
    const wide = keepNewest([line(1, '数据'.repeat(2000))]);
    const text = wide.lines[0]?.context ?? '';
    assert.ok(Buffer.byteLength(text, 'utf8') <= MAX_REASON_BYTES);
    assert.ok(!text.includes('\uFFFD'));
    assert.ok(text.endsWith(CUT_MARK));
  });

  it('links the cluster console page in the region, or the region cluster list without a cluster', () => {
    assert.equal(
      consoleUrl('cn-hangzhou', 'amv-bp1abc'),
      'https://adb.console.aliyun.com/adb/cn-hangzhou/mysql/cluster/amv-bp1abc/basicInfo',
    );
    assert.equal(consoleUrl('cn-beijing'), 'https://adb.console.aliyun.com/adb/cn-beijing/mysql/clusters');
  });

  describe('readRecentErrors (fake ApsApi)', () => {
    const pages =
      (all: ActionLogLine[], pageSize = 30) =>
      (i: ActionLogsInput) => {
        const n = i.pageNumber ?? 1;
        return {
          lines: all.slice((n - 1) * pageSize, n * pageSize),
          totalCount: all.length,
          pageNumber: n,
          pageSize,
          raw: {},
        };
      };
    const input = {
      regionId: 'cn-hangzhou',
      dbClusterId: 'amv-x',
      apsJobId: 'aps-x',
      now: Date.UTC(2024, 0, 31, 9),
    };

    it('asks for ERROR lines of the window, one call when the service answers newest first', async () => {
      const aps = new FakeAps();
      aps.actionLogsAnswer = pages(Array.from({ length: 70 }, (_, i) => line(69 - i)));
      const kept = await readRecentErrors(aps, { ...input, since: Date.UTC(2024, 0, 31, 8) });
      assert.equal(aps.actionLogInputs.length, 1);
      const sent = aps.actionLogInputs[0]!;
      assert.deepEqual(sent.state, ['ERROR']);
      assert.equal(sent.pageNumber, 1);
      assert.equal(sent.startTime, Date.UTC(2024, 0, 31, 7, 59));
      assert.equal(sent.endTime, input.now);
      assert.equal(kept.lines[0]?.context, 'line 69');
      assert.equal(kept.lines.length, 20);
      assert.equal(kept.truncated, true);
    });

    it('reads the last pages when the service answers oldest first (at most 3 calls)', async () => {
      const aps = new FakeAps();
      // 70 lines oldest first: pages 1 (0–29), 2 (30–59), 3 (60–69).
      aps.actionLogsAnswer = pages(Array.from({ length: 70 }, (_, i) => line(i)));
      const kept = await readRecentErrors(aps, input);
      assert.deepEqual(
        aps.actionLogInputs.map((i) => i.pageNumber),
        [1, 3, 2],
      );
      assert.deepEqual(
        kept.lines.map((l) => l.context),
        Array.from({ length: 20 }, (_, i) => `line ${69 - i}`),
      );
      assert.equal(kept.truncated, true);
    });

    it('two pages oldest first: both read, nothing left out when all fit', async () => {
      const aps = new FakeAps();
      aps.actionLogsAnswer = pages(
        Array.from({ length: 8 }, (_, i) => line(i)),
        5,
      );
      const kept = await readRecentErrors(aps, input);
      assert.deepEqual(
        aps.actionLogInputs.map((i) => i.pageNumber),
        [1, 2],
      );
      assert.equal(kept.lines.length, 8);
      assert.equal(kept.lines[0]?.context, 'line 7');
      assert.equal(kept.truncated, false);
    });
  });
});
