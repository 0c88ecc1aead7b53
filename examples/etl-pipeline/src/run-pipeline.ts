/**
 * Starts one pipeline run and prints its result as JSON:
 *
 *   node lib/run-pipeline.js '{"regionId":"cn-hangzhou","streamingJobIds":[…],"batchJobIds":[…]}'
 *
 * The task queue is `ETL_TASK_QUEUE` (default `etl-pipeline`); Temporal from `TEMPORAL_ADDRESS`.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { etlPipeline, type EtlPipelineInput } from './workflows';

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as EtlPipelineInput;
  const { connectionOptions, namespace } = loadClientConnectConfig();
  const connection = await Connection.connect(connectionOptions);
  try {
    const client = new Client({ connection, namespace });
    const handle = await client.workflow.start(etlPipeline, {
      taskQueue: process.env.ETL_TASK_QUEUE ?? 'etl-pipeline',
      workflowId: `etl-pipeline-${randomUUID()}`,
      args: [input],
    });
    process.stderr.write(`pipeline: started ${handle.workflowId}\n`);
    const result = await handle.result();
    for (const f of result.failed) {
      process.stderr.write(`pipeline: ${f.apsJobId} ${f.status}: ${f.errMessage ?? ''}\n`);
      for (const line of f.reasons) process.stderr.write(`  ${line}\n`);
      if (f.consoleUrl) process.stderr.write(`  console: ${f.consoleUrl}\n`);
    }
    process.stdout.write(`${JSON.stringify({ workflowId: handle.workflowId, ...result })}\n`);
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`pipeline: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
