/**
 * What the client helpers and the schedule helpers share: the hash of a normalized input kept in
 * a workflow's memo, and telling a server without the search attributes from other refusals.
 */
import { createHash } from 'node:crypto';
import { validateRetryRules } from './retry';

// The version names the normalization: a release that changes what two inputs count as equal
// bumps it, so that it joins (rather than refuses) runs hashed the old way.
export const INPUT_HASH_VERSION = 'v1';

/** JSON with sorted keys and no undefined fields: equal values give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const fields = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Hash of a normalized input. Retry rules are normalized too, so that `'1s'` and `1000` inside a
 * rule also count as equal.
 */
export function inputHash(workflowType: string, normalized: { retryRules?: unknown }): string {
  const rules = normalized.retryRules === undefined ? undefined : validateRetryRules(normalized.retryRules);
  const digest = createHash('sha256')
    .update(canonicalJson({ ...normalized, retryRules: rules, workflowType }))
    .digest('hex');
  return `${INPUT_HASH_VERSION}:sha256:${digest}`;
}

/** The server refused a start because a search attribute is not registered there. */
export function isUnregisteredSearchAttribute(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /search attribute/i.test(msg) && /(not defined|unknown|not registered|invalid)/i.test(msg);
}
