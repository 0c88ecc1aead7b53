'use strict';
// The reliability suite: its own root hooks (its own dev server on a SQLite file), never the unit
// suite's. Run it through `npm run test:reliability` (add `-- --quick` for the CI size).
module.exports = {
  require: ['tsx/cjs', 'test/reliability/support/hooks.ts'],
  extension: ['ts'],
  spec: ['test/reliability/scenarios/*.rel.ts'],
  timeout: 20 * 60_000,
  slow: 60_000,
  exit: false,
};
