/**
 * Access to the shared dev server that the root hooks start, and per-test helpers.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ResolvedTemporalCli } from '../../src/dev/temporal-cli';

let current: { env: TestWorkflowEnvironment; cli: ResolvedTemporalCli } | undefined;

/** Called by the root hooks once the server is up. */
export function setTestEnv(env: TestWorkflowEnvironment, cli: ResolvedTemporalCli): void {
  current = { env, cli };
}

/** Called by the root hooks at the end of the run. */
export async function clearTestEnv(): Promise<void> {
  const env = current?.env;
  current = undefined;
  await env?.teardown();
}

/** The shared test environment (client + native connection to the dev server). */
export function testEnv(): TestWorkflowEnvironment {
  if (!current) throw new Error('The Temporal test environment is not running (root hooks not loaded?)');
  return current.env;
}

/** The CLI the server runs on. */
export function testCli(): ResolvedTemporalCli {
  if (!current) throw new Error('The Temporal test environment is not running (root hooks not loaded?)');
  return current.cli;
}

/** A task queue of its own for one test. */
export function uniqueTaskQueue(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}
