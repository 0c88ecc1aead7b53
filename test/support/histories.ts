/**
 * Recording of real histories for the replay tests: `RECORD_HISTORIES=1 npm test` rewrites
 * test/fixtures/histories/current/ from the integration runs. The folders named after a release
 * (`0.1.0/`) or after the change that followed them (`before-in-process-wait/`: the code just
 * before waits were held in process) hold what that code recorded; they are never re-recorded, so
 * every change of command order must keep replaying them (behind `patched()`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/** Where recorded histories live: one folder per release, and `current/` for this code. */
export const HISTORIES_DIR = join(__dirname, '..', 'fixtures', 'histories');
/** Where this code records. */
export const CURRENT_HISTORIES_DIR = join(HISTORIES_DIR, 'current');

/** Saves the handle's history under `name` when recording is on. */
export async function maybeRecordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  mkdirSync(CURRENT_HISTORIES_DIR, { recursive: true });
  // protobufjs' own JSON form (enums by name, 64-bit numbers as strings, bytes in base64).
  const json = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), {
    enums: String,
    longs: String,
    bytes: String,
  });
  writeFileSync(join(CURRENT_HISTORIES_DIR, `${name}.json`), `${JSON.stringify(json)}\n`);
}

/** Loads a history saved by {@link maybeRecordHistory}. */
export function loadHistory(text: string): temporal.api.history.v1.History {
  return temporal.api.history.v1.History.fromObject(JSON.parse(text) as Record<string, unknown>);
}
