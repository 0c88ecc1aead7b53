/** The Alibaba Cloud side: the {@link ApsApi} contract, its openapi-client implementation, error normalization, status classes and action-log reasons. */
export * from './types';
export * from './client';
export * from './errors';
export * from './status';
export * from './action-logs';
