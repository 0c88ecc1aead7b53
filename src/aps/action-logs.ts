/**
 * Why a job failed, from DescribeApsActionLogs: the time window of the call, the few newest ERROR
 * lines worth showing, and the console page to look further. Pure except for
 * {@link readRecentErrors}, which calls the {@link ApsApi}.
 */
import type { ActionLogLine, ApsApi } from './types';

/** Most lines kept for a failure's details. */
export const MAX_REASON_LINES = 20;
/** Most bytes (UTF-8) of `context` text kept in all. */
export const MAX_REASON_BYTES = 4096;
/** Widest window DescribeApsActionLogs accepts (StartTime to EndTime). */
export const MAX_ACTION_LOG_WINDOW_MS = 30 * 24 * 3_600_000;
/**
 * The window opens this long before the run's start: a line written as the job started may carry
 * a time a little before our own clock's.
 */
export const WINDOW_LEAD_MS = 60_000;
/** Page size of the reads (the API's default and smallest documented size). */
export const ACTION_LOG_PAGE_SIZE = 30 as const;
/** The page size of a lookup allowed one call (the API's largest). */
export const ACTION_LOG_SINGLE_CALL_PAGE_SIZE = 100 as const;
/** DescribeApsActionLogs calls made to read a failed job's reasons, at most. */
export const ACTION_LOG_MAX_CALLS = 3;
/** Appended to a line whose text was cut at the byte budget. */
export const CUT_MARK = '…';

/** A time as DescribeApsActionLogs takes it: UTC `yyyy-MM-ddTHH:mm:ssZ`. */
export function formatApiTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The window to read: from `since` (the run's start, else the job's creation) less
 * {@link WINDOW_LEAD_MS}, but no more than 30 days back, to `now` rounded up to the second (the
 * API's precision: a line of the current second is still in).
 */
export function actionLogWindow(now: number, since?: number): { startTime: number; endTime: number } {
  const endTime = Math.ceil(now / 1000) * 1000;
  const earliest = endTime - MAX_ACTION_LOG_WINDOW_MS;
  const from = since !== undefined && Number.isFinite(since) ? since - WINDOW_LEAD_MS : earliest;
  const startTime = Math.min(endTime, Math.max(earliest, Math.floor(from / 1000) * 1000));
  return { startTime, endTime };
}

/** Lines kept for a failure's details, and whether any were left out or cut. */
export interface KeptLines {
  /** Newest first. */
  lines: ActionLogLine[];
  /** True when lines were dropped or a text was cut. */
  truncated: boolean;
}

/** Epoch ms of a line's time, or NaN when the service wrote something unparseable. */
function timeOf(line: ActionLogLine): number {
  const t = line.time.trim();
  // `yyyy-MM-dd HH:mm:ss` without a zone: the API's samples do not say; read it as UTC.
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(t) ? `${t.replace(' ', 'T')}Z` : t;
  return Date.parse(iso);
}

/**
 * Orders lines newest first. Lines are given oldest first as far as their order is known (one
 * page's order as the service sent it, already turned to oldest first); equal or unparseable
 * times keep that order, reversed.
 */
export function newestFirst(oldestFirst: readonly ActionLogLine[]): ActionLogLine[] {
  const indexed = oldestFirst.map((line, i) => ({ line, i, t: timeOf(line) }));
  indexed.sort((a, b) => {
    if (!Number.isNaN(a.t) && !Number.isNaN(b.t) && a.t !== b.t) return b.t - a.t;
    return b.i - a.i;
  });
  return indexed.map((x) => x.line);
}

/** The longest prefix of `text` whose UTF-8 form fits in `bytes` (never splits a character). */
function utf8Prefix(text: string, bytes: number): string {
  let used = 0;
  let out = '';
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (used + size > bytes) break;
    used += size;
    out += ch;
  }
  return out;
}

/**
 * Keeps at most `maxLines` lines (newest first, as given) and `maxBytes` bytes of their text in
 * all. The line that crosses the byte budget is cut and ends with {@link CUT_MARK}; older lines
 * are dropped. `more` says lines existed beyond those given (a later page): they count as dropped.
 */
export function keepNewest(
  lines: readonly ActionLogLine[],
  opts: { maxLines?: number; maxBytes?: number; more?: boolean } = {},
): KeptLines {
  const maxLines = opts.maxLines ?? MAX_REASON_LINES;
  const maxBytes = opts.maxBytes ?? MAX_REASON_BYTES;
  const markBytes = Buffer.byteLength(CUT_MARK, 'utf8');
  const kept: ActionLogLine[] = [];
  let truncated = opts.more === true || lines.length > maxLines;
  let left = maxBytes;
  for (const line of lines.slice(0, maxLines)) {
    const size = Buffer.byteLength(line.context, 'utf8');
    if (size <= left) {
      kept.push(line);
      left -= size;
      continue;
    }
    truncated = true;
    if (left > markBytes)
      kept.push({ ...line, context: utf8Prefix(line.context, left - markBytes) + CUT_MARK });
    break;
  }
  return { lines: kept, truncated };
}

/** What {@link readRecentErrors} needs to know of the job. */
export interface RecentErrorsInput {
  /** Region. */
  regionId: string;
  /** The job's cluster (DescribeApsJobDetail's `DestinationEndpointInstanceID`). */
  dbClusterId: string;
  /** The job. */
  apsJobId: string;
  /** The window's start: the run's start, else the job's creation (epoch ms). */
  since?: number;
  /** Now, epoch ms. */
  now: number;
}

/**
 * Reads the job's ERROR lines of the window and keeps the newest {@link MAX_REASON_LINES} within
 * {@link MAX_REASON_BYTES}. The API's order is not documented: page 1 is read, and when it shows
 * lines oldest first and more pages exist, the last page (and the one before it, when the last
 * holds fewer lines than are kept, and `maxCalls` allows) is read instead: at most `maxCalls` calls
 * (default {@link ACTION_LOG_MAX_CALLS}).
 * Throws what the API throws.
 */
export async function readRecentErrors(
  aps: ApsApi,
  input: RecentErrorsInput,
  maxCalls: number = ACTION_LOG_MAX_CALLS,
): Promise<KeptLines> {
  const { startTime, endTime } = actionLogWindow(input.now, input.since);
  const page = (pageNumber: number, pageSize: 30 | 50 | 100 = ACTION_LOG_PAGE_SIZE) =>
    aps.actionLogs({
      regionId: input.regionId,
      dbClusterId: input.dbClusterId,
      apsJobId: input.apsJobId,
      startTime,
      endTime,
      state: ['ERROR'],
      pageSize,
      pageNumber,
    });
  // With one call allowed (under an API rate limit), the largest page: when the API answers
  // oldest first and holds more, the newest lines may be past it, and the result says so.
  const first = await page(1, maxCalls <= 1 ? ACTION_LOG_SINGLE_CALL_PAGE_SIZE : ACTION_LOG_PAGE_SIZE);
  const pageSize = first.pageSize > 0 ? first.pageSize : ACTION_LOG_PAGE_SIZE;
  const pages = Math.max(1, Math.ceil(first.totalCount / pageSize));
  const ascending = isAscending(first.lines);
  if (pages === 1 || !ascending || maxCalls <= 1) {
    const oldestFirst = ascending ? first.lines : [...first.lines].reverse();
    const seen = first.lines.length;
    return keepNewest(newestFirst(oldestFirst), { more: first.totalCount > seen });
  }
  // Oldest first and more than one page: the newest lines are at the end.
  const last = await page(pages);
  let lines = last.lines;
  let read = last.lines.length;
  if (last.lines.length < MAX_REASON_LINES && pages - 1 > 1 && maxCalls >= 3) {
    const before = await page(pages - 1);
    lines = [...before.lines, ...last.lines];
    read += before.lines.length;
  } else if (last.lines.length < MAX_REASON_LINES && pages - 1 === 1) {
    lines = [...first.lines, ...last.lines];
    read += first.lines.length;
  }
  return keepNewest(newestFirst(lines), { more: first.totalCount > read });
}

/** True when a page's times grow from first to last line (unknown or equal times: false). */
function isAscending(lines: readonly ActionLogLine[]): boolean {
  if (lines.length < 2) return false;
  const a = timeOf(lines[0]!);
  const b = timeOf(lines[lines.length - 1]!);
  return !Number.isNaN(a) && !Number.isNaN(b) && a < b;
}

/**
 * The AnalyticDB for MySQL console page of the job's cluster, where the user goes on to the data
 * synchronization (APS) jobs and their logs. Not a deep link to the job: the console's job URL is
 * not documented, and this form could not be checked from here. Without a cluster, the region's
 * cluster list.
 */
export function consoleUrl(regionId: string, dbClusterId?: string): string {
  const base = `https://adb.console.aliyun.com/adb/${encodeURIComponent(regionId)}/mysql`;
  return dbClusterId ? `${base}/cluster/${encodeURIComponent(dbClusterId)}/basicInfo` : `${base}/clusters`;
}
