import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applySections, generatedSections, normalizeMarkdown } from '../src/docs/generated';

describe('README', () => {
  it('has up-to-date generated sections (settings, default retry rules): run `npm run docs` if not', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const regenerated = applySections(readme, generatedSections());
    assert.equal(normalizeMarkdown(readme), normalizeMarkdown(regenerated));
  });
});
