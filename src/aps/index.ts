/** The Alibaba Cloud side: the {@link ApsApi} contract, its openapi-client implementation, error normalization and status classes. */
export * from './types';
export * from './client';
export * from './errors';
export * from './status';
