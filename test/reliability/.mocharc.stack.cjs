'use strict';
// The reliability suite on the local production stack (PostgreSQL, a 4-shard Temporal server,
// worker hosts behind Toxiproxy): `npm run test:reliability -- --stack [--quick]`.
module.exports = {
  require: ['tsx/cjs', 'test/reliability/support/stack-hooks.ts'],
  extension: ['ts'],
  spec: ['test/reliability/stack/*.rel.ts'],
  timeout: 20 * 60_000,
  slow: 60_000,
  exit: false,
};
