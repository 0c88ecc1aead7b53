/**
 * README sections generated from code (settings, default retry rules), so docs cannot drift:
 * `npm run docs` rewrites them; a test fails when the README is out of date.
 */
import { SETTINGS } from '../config';
import { defaultRulesMarkdownTable, DEFAULT_WAIT_OUTAGE, rulesMarkdownTable, waitOutageRule } from '../retry';
import { parseDuration } from '../validation';

/** Marker name → generated markdown. */
export function generatedSections(): Record<string, string> {
  const settings = [
    '| variable | default | what it does |',
    '|---|---|---|',
    ...SETTINGS.map(
      (s) =>
        `| \`${s.name}\` | ${s.default ? `\`${s.default}\`` : '–'} | ${s.description.replace(/\|/g, '\\|')} |`,
    ),
  ].join('\n');
  return {
    settings,
    'default-rules': defaultRulesMarkdownTable(),
    'wait-rules': rulesMarkdownTable([waitOutageRule(parseDuration(DEFAULT_WAIT_OUTAGE, 'waitOutage'))]),
  };
}

/** Replaces each `<!-- name:start -->…<!-- name:end -->` block of `text` with its section. */
export function applySections(text: string, sections: Record<string, string>): string {
  let out = text;
  for (const [name, body] of Object.entries(sections)) {
    const re = new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!re.test(out)) throw new Error(`README has no <!-- ${name}:start --> … <!-- ${name}:end --> block`);
    out = out.replace(re, (_m, a: string, b: string) => `${a}\n\n${body}\n\n${b}`);
  }
  return out;
}

/** Normalizes markdown for comparison: Prettier pads table cells, which changes nothing. */
export function normalizeMarkdown(text: string): string {
  return text
    .split('\n')
    .map((l) =>
      l
        .trim()
        .replace(/\s+/g, ' ')
        .replace(/ ?\| ?/g, '|')
        .replace(/:?-{3,}:?/g, '---'),
    )
    .filter((l) => l !== '')
    .join('\n');
}
