/**
 * Error-code keyed retry rules: types, matching, validation, the decision, the built-in defaults and
 * their documentation. Pure: safe to import in workflow code.
 */
export * from './types';
/** The retry class an error carries (re-exported: rules match on it with `@class`). */
export type { RetryClass } from '../aps/types';
export * from './match';
export * from './validate';
export * from './decide';
export * from './defaults';
export * from './resolve';
export * from './describe';
