/**
 * The pipeline's own step after the loads: here it writes a load report that a downstream job
 * (a BI refresh, an alert) picks up. Created by closure over where it writes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '@temporalio/activity';

/** A batch job that completed. */
export interface LoadedJob {
  /** The job. */
  apsJobId: string;
  /** Its raw status at the end (`COMPLETED`). */
  status: string;
  /** Status reads while it ran. */
  polls: number;
  /** When it was seen completed, ISO-8601. */
  reachedAt: string;
}

/** A batch job that failed, and why. */
export interface FailedJob {
  /** The job. */
  apsJobId: string;
  /** Its raw status (`Failed`). */
  status: string;
  /** The job's ErrMessage, when it could be read. */
  errMessage?: string;
  /** Its newest ERROR lines, newest first. */
  reasons: string[];
  /** The AnalyticDB console page to look further. */
  consoleUrl?: string;
}

/** Input of `publishLoadReport`. */
export interface LoadReport {
  /** The pipeline run the report is for: the report's name, so a retry overwrites the same file. */
  pipelineRunId: string;
  /** Batch jobs that completed. */
  loaded: LoadedJob[];
  /** Batch jobs that failed. */
  failed: FailedJob[];
}

/** The pipeline's activities, writing their reports under `reportDir`. */
export function createPipelineActivities(deps: { reportDir: string }) {
  return {
    /** Writes the load report (idempotent: one file per pipeline run). */
    async publishLoadReport(report: LoadReport): Promise<{ path: string }> {
      await mkdir(deps.reportDir, { recursive: true });
      const path = join(deps.reportDir, `${report.pipelineRunId.replace(/[^\w.-]/g, '_')}.json`);
      await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
      log.info('load report published', { path, loaded: report.loaded.length, failed: report.failed.length });
      return { path };
    },
  };
}
