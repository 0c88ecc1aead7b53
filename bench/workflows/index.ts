/**
 * Every workflow a benchmark worker registers: the package's runApsJob, exactly as shipped, and the
 * bench-only baselines. The one workflow bundle of the benchmark.
 */
export { runApsJob } from '../../src/workflows';
export { naivePollApsJob } from './naive-poll';
export { heartbeatPollApsJob } from './heartbeat-poll';
export { emptyWorkflow } from './empty';
