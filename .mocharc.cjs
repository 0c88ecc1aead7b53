'use strict';
// Mocha runs the TypeScript sources directly through tsx; the root hooks start one
// Temporal dev server for the whole run and stop it at the end.
module.exports = {
  require: ['tsx/cjs', 'test/support/root-hooks.ts'],
  extension: ['ts'],
  timeout: 60_000,
  slow: 5_000,
  exit: false,
};
