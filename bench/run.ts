/**
 * `npm run bench [-- flags]`: runs the benchmark and writes `<out>/<name>.json` and `.md`
 * (bench/results/latest by default, bench/results/matrix with `--matrix`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { describePlan, runBench } from './harness';
import { BenchArgsError, parseBenchArgs } from './options';
import { renderMarkdown, resultsJson } from './report';

async function main(): Promise<void> {
  const { bench, outDir, name, matrix } = parseBenchArgs(process.argv.slice(2));
  if (matrix) process.stderr.write(`${describePlan(bench).join('\n')}\n`);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const result = await runBench(bench);
  mkdirSync(outDir, { recursive: true });
  const markdown = renderMarkdown(result);
  writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(resultsJson(result), null, 2)}\n`);
  writeFileSync(join(outDir, `${name}.md`), markdown);
  process.stdout.write(`${markdown}\n`);
  process.stderr.write(`bench: wrote ${join(outDir, `${name}.json`)} and ${join(outDir, `${name}.md`)}\n`);
}

main().catch((err: unknown) => {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
    return;
  }
  if (err instanceof BenchArgsError) {
    process.stderr.write(`bench: ${err.message} (see --help)\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
