/**
 * Rewrites the generated README sections. `npm run docs`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applySections, generatedSections } from '../src/docs/generated';

const path = join(__dirname, '..', 'README.md');
writeFileSync(path, applySections(readFileSync(path, 'utf8'), generatedSections()));
process.stdout.write('README.md sections regenerated; run prettier --write README.md\n');
