/**
 * Recording of real histories for the replay tests: `RECORD_HISTORIES=1 npm test` rewrites
 * test/fixtures/histories/ from the integration runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

/** Where recorded histories live. */
export const HISTORIES_DIR = join(__dirname, '..', 'fixtures', 'histories');

/** Saves the handle's history under `name` when recording is on. */
export async function maybeRecordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), historyToJSON(history));
}
