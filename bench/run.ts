/**
 * `npm run bench [-- flags]`: runs the benchmark and writes `<out>/<name>.json` and `.md`
 * (bench/results/latest by default, bench/results/matrix with `--matrix`). With
 * `--server dev,stack` it runs on both servers in turn and adds `<name>-servers.md`, the two side by side.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { describePlan, runBench, type BenchResult } from './harness';
import { BenchArgsError, parseBenchArgs } from './options';
import { renderMarkdown, renderServerComparison, resultsJson, serverComparisonJson } from './report';

async function main(): Promise<void> {
  const { bench, outDir, name, matrix, servers } = parseBenchArgs(process.argv.slice(2));
  if (matrix) process.stderr.write(`${describePlan(bench).join('\n')}\n`);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  mkdirSync(outDir, { recursive: true });
  const results: { server: 'dev' | 'stack'; result: BenchResult }[] = [];
  for (const server of servers) {
    const result = await runBench({ ...bench, server });
    results.push({ server, result });
    // One server: <name>; several: <name>-<server> each, and the side-by-side table.
    const file = servers.length === 1 ? name : `${name}-${server}`;
    const markdown = renderMarkdown(result);
    writeFileSync(join(outDir, `${file}.json`), `${JSON.stringify(resultsJson(result), null, 2)}\n`);
    writeFileSync(join(outDir, `${file}.md`), markdown);
    process.stdout.write(`${markdown}\n`);
    process.stderr.write(`bench: wrote ${join(outDir, `${file}.json`)} and ${join(outDir, `${file}.md`)}\n`);
  }
  if (results.length > 1) {
    const markdown = renderServerComparison(results);
    writeFileSync(join(outDir, `${name}-servers.md`), markdown);
    writeFileSync(
      join(outDir, `${name}-servers.json`),
      `${JSON.stringify(serverComparisonJson(results), null, 2)}\n`,
    );
    process.stdout.write(`${markdown}\n`);
    process.stderr.write(`bench: wrote ${join(outDir, `${name}-servers.md`)} and .json\n`);
  }
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
