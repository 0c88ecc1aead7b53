/**
 * The pipeline's worker: the pipeline, the package's workflows and activities, and the pipeline's
 * own activity, all on one task queue (`ETL_TASK_QUEUE`, default `etl-pipeline`). Temporal from
 * `TEMPORAL_ADDRESS` / `TEMPORAL_NAMESPACE` (@temporalio/envconfig), Alibaba Cloud from
 * `ALIBABA_CLOUD_*` and `ADB_ENDPOINT` as the package's own worker reads them. Stops on SIGINT/SIGTERM.
 */
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection, Worker } from '@temporalio/worker';
import { apsApiFromEnv, createActivities, createInProcessWaiter } from 'adb-aps-temporal/worker';
import { createPipelineActivities } from './activities';

async function main(): Promise<void> {
  const taskQueue = process.env.ETL_TASK_QUEUE ?? 'etl-pipeline';
  const reportDir = process.env.ETL_REPORT_DIR ?? 'reports';
  const { connectionOptions, namespace = 'default' } = loadClientConnectConfig();
  const connection = await NativeConnection.connect(connectionOptions);
  // Holds the APS waits in process between reads (no activity slot per waiting job). It heartbeats
  // and completes them on a connection of its own, apart from the worker's polls, as the package's
  // worker does; it is closed after the worker has stopped, and hands back the waits it still holds.
  const waiterConnection = await NativeConnection.connect(connectionOptions);
  const waiter = createInProcessWaiter(waiterConnection, namespace);
  try {
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      workflowsPath: require.resolve('./workflows'),
      activities: {
        ...createActivities({ aps: apsApiFromEnv(), waiter }),
        ...createPipelineActivities({ reportDir }),
      },
    });
    process.stderr.write(`etl worker: polling ${taskQueue}\n`);
    await worker.run();
  } finally {
    await waiter.close();
    await waiterConnection.close();
    await connection.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`etl worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
