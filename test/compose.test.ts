/**
 * Structural checks of the deployment files: docker-compose.yml, the Dockerfile and the Temporal
 * setup scripts under deploy/. None of them needs a Docker engine. Each check is a pure function
 * that returns the problems it finds; every check runs once on the real files (no problems
 * expected) and once on a copy broken on purpose (its problem expected), so none can pass by
 * construction.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse } from 'yaml';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { SEARCH_ATTRIBUTES } from '../src/api';
import { SETTINGS } from '../src/config';
import { runEmulatorCli } from '../src/emulator/cli';
import { isLoopbackHost } from '../src/emulator/state';
import { COMPOSE_SERVER_ENV, POSTGRES_MAX_CONNECTIONS, STACK_SCRIPTS } from '../src/dev/stack';
import { TEMPORAL_SERVER_VERSION } from '../src/dev/temporal-server';

const ROOT = join(__dirname, '..');

/** Worker variables that are not project settings (src/config.ts), each with why it is set. */
const WORKER_ENV_EXCEPTIONS: Readonly<Record<string, string>> = {
  NODE_OPTIONS: 'Node runtime flag: caps the V8 heap to fit the container memory limit',
};

/** Variables that carry cloud credentials: only ever passed through from the host, no default. */
const CLOUD_CREDENTIAL =
  /^(ALIBABA_CLOUD_(ACCESS_KEY_ID|ACCESS_KEY_SECRET|SECURITY_TOKEN)|APS_EMULATOR_ACCESS_KEY_(ID|SECRET)|TEMPORAL_API_KEY)$/;
/** Variables that look secret: never a literal value. */
const SECRET_LIKE = /(SECRET|PASSWORD|PWD|TOKEN|API_KEY|ACCESS_KEY)/;
/** An Alibaba Cloud AccessKey ID pasted as a literal. */
const LITERAL_ACCESS_KEY = /LTAI[0-9A-Za-z]{12,}/;
/** `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}`. */
const INTERPOLATION = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}$/;
/** An exact version tag: major.minor[.patch…] with an optional variant suffix (`-bookworm-slim`). */
const VERSION_TAG = /^v?\d+\.\d+(\.\d+)*([-.][A-Za-z0-9][A-Za-z0-9.-]*)?$/;

type Problems = string[];

// ---------------------------------------------------------------------------------------------
// Reading the compose file

type Compose = Record<string, unknown> & { services: Record<string, Record<string, unknown>> };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A YAML scalar as text (numbers and booleans as written, null as empty); anything else as JSON. */
function scalar(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : JSON.stringify(value);
}

function parseCompose(text: string): Compose {
  // Merge keys (`<<: *anchor`) are part of the Compose format; YAML 1.2 needs them switched on.
  const doc: unknown = parse(text, { merge: true });
  if (!isRecord(doc) || !isRecord(doc.services)) throw new Error('docker-compose.yml has no services');
  for (const [name, service] of Object.entries(doc.services)) {
    if (!isRecord(service)) throw new Error(`service ${name} is not a mapping`);
  }
  return doc as Compose;
}

/** The service's environment as name → value; `undefined` is a bare name (passed from the host). */
function envOf(service: Record<string, unknown>): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  const raw = service.environment;
  if (Array.isArray(raw)) {
    for (const item of raw) {
      const text = scalar(item);
      const eq = text.indexOf('=');
      if (eq < 0) env.set(text, undefined);
      else env.set(text.slice(0, eq), text.slice(eq + 1));
    }
  } else if (isRecord(raw)) {
    for (const [name, value] of Object.entries(raw)) {
      env.set(name, value === null || value === undefined ? undefined : scalar(value));
    }
  }
  return env;
}

/** `depends_on` as dependency → condition (the short list form means `service_started`). */
function dependsOn(service: Record<string, unknown>): Map<string, string> {
  const deps = new Map<string, string>();
  const raw = service.depends_on;
  if (Array.isArray(raw)) {
    for (const name of raw) deps.set(scalar(name), 'service_started');
  } else if (isRecord(raw)) {
    for (const [name, spec] of Object.entries(raw)) {
      const condition = isRecord(spec) && typeof spec.condition === 'string' ? spec.condition : undefined;
      deps.set(name, condition ?? 'service_started');
    }
  }
  return deps;
}

/** Published ports as { published, target }, from the short or the long syntax. */
function portsOf(service: Record<string, unknown>): { published?: number; target: number }[] {
  const raw = service.ports;
  if (!Array.isArray(raw)) return [];
  return raw.map((entry: unknown) => {
    if (isRecord(entry)) {
      return {
        target: Number(entry.target),
        published: entry.published === undefined ? undefined : Number(entry.published),
      };
    }
    // [host_ip:]published:target[/protocol], or a bare target (random host port).
    const parts = scalar(entry)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = Number(parts[parts.length - 1]);
    return { target, published: parts.length >= 2 ? Number(parts[parts.length - 2]) : undefined };
  });
}

/** The health check command, or undefined when there is none or it is disabled. */
function healthTest(service: Record<string, unknown>): string[] | undefined {
  const hc = service.healthcheck;
  if (!isRecord(hc) || hc.disable === true) return undefined;
  const test: unknown = hc.test;
  if (typeof test === 'string') return ['CMD-SHELL', test];
  if (!Array.isArray(test) || test.length === 0 || test[0] === 'NONE') return undefined;
  return test.map(scalar);
}

/** Splits `registry:5000/name:tag@sha256:…` into name, tag and digest. */
function imageRef(image: string): { name: string; tag?: string; digest?: string } {
  const [withoutDigest, digest] = image.split('@') as [string, string | undefined];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon > slash) {
    return { name: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1), digest };
  }
  return { name: withoutDigest, digest };
}

/** A Compose memory size (`1024M`, `1g`, `536870912`) in MiB. */
function memoryMiB(value: unknown): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg])?i?b?$/i.exec(scalar(value).trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase();
  const factor = { b: 1 / 2 ** 20, k: 1 / 1024, m: 1, g: 1024 }[unit] ?? NaN;
  return Number(m[1]) * factor;
}

function heapMiB(nodeOptions: string | undefined): number | undefined {
  const m = /--max-old-space-size=(\d+)/.exec(nodeOptions ?? '');
  return m ? Number(m[1]) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Reading the Dockerfile

interface Instruction {
  /** Upper-case keyword (FROM, RUN, ENV, …). */
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  /** Index of the build stage (-1 before the first FROM). */
  stage: number;
}

interface Dockerfile {
  instructions: Instruction[];
  /** Number of the last stage (the image that runs). */
  finalStage: number;
  /** Defaults of the ARGs declared before the first FROM. */
  globalArgs: Map<string, string>;
}

function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  const globalArgs = new Map<string, string>();
  let stage = -1;
  let pending = '';
  for (const rawLine of text.split(/\r?\n/)) {
    // Comment lines are dropped even inside a continued instruction, as Docker does.
    if (/^\s*#/.test(rawLine)) continue;
    const line = rawLine.trimEnd();
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full === '') continue;
    const m = /^(\S+)\s*(.*)$/s.exec(full);
    if (!m) continue;
    const keyword = (m[1] as string).toUpperCase();
    const args = (m[2] as string).trim();
    if (keyword === 'FROM') stage += 1;
    if (keyword === 'ARG' && stage === -1) {
      const [name, value] = args.split('=', 2) as [string, string | undefined];
      globalArgs.set(name.trim(), (value ?? '').trim());
    }
    instructions.push({ keyword, args, stage });
  }
  return { instructions, finalStage: stage, globalArgs };
}

/** Splits shell-like words, honouring quotes and backslashes. */
function words(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: '"' | "'" | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(current);
  return out;
}

/** ENV (or ARG) pairs of one instruction, in both the `K=V …` and the legacy `K V` form. */
function pairsOf(instruction: Instruction): [string, string][] {
  const tokens = words(instruction.args);
  if (tokens.length === 0) return [];
  if (!(tokens[0] as string).includes('=')) {
    if (instruction.keyword === 'ARG') return [[tokens[0] as string, '']];
    return [[tokens[0] as string, tokens.slice(1).join(' ')]];
  }
  return tokens.map((t) => {
    const eq = t.indexOf('=');
    return eq < 0 ? [t, ''] : [t.slice(0, eq), t.slice(eq + 1)];
  });
}

function substituteArgs(text: string, args: Map<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, a, b) => {
    const name = (a ?? b) as string;
    return args.get(name) ?? whole;
  });
}

/** The images the stages start from, ARGs resolved, stage references left out. */
function baseImages(df: Dockerfile): string[] {
  const stageNames = new Set<string>();
  const images: string[] = [];
  for (const ins of df.instructions.filter((i) => i.keyword === 'FROM')) {
    const tokens = words(ins.args).filter((t) => !t.startsWith('--'));
    const image = substituteArgs(tokens[0] ?? '', df.globalArgs);
    if (!stageNames.has(image)) images.push(image);
    if ((tokens[1] ?? '').toUpperCase() === 'AS' && tokens[2]) stageNames.add(tokens[2]);
  }
  return images;
}

/** The argv of an exec-form (JSON array) CMD or ENTRYPOINT, or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function finalStageEnv(df: Dockerfile): Map<string, string> {
  const env = new Map<string, string>();
  for (const ins of df.instructions) {
    if (ins.keyword === 'ENV' && ins.stage === df.finalStage) {
      for (const [k, v] of pairsOf(ins)) env.set(k, v);
    }
  }
  return env;
}

// ---------------------------------------------------------------------------------------------
// The checks. Each returns the problems it finds; an empty list means the files are right.

const REQUIRED_SERVICES = [
  'postgresql',
  'temporal-schema',
  'temporal',
  'temporal-setup',
  'temporal-ui',
  'worker',
  'emulator-token',
  'emulator',
];

/** The services of the optional `emulator` profile. */
const EMULATOR_SERVICES = ['emulator-token', 'emulator'];

function checkServicesExist(c: Compose): Problems {
  return REQUIRED_SERVICES.filter((s) => !(s in c.services)).map((s) => `service ${s} is missing`);
}

function checkImagesPinned(c: Compose, packageVersion: string): Problems {
  const problems: Problems = [];
  for (const [name, service] of Object.entries(c.services)) {
    if (service.image === undefined) {
      if (service.build === undefined) problems.push(`${name}: neither image nor build`);
      continue;
    }
    const image = scalar(service.image);
    const { tag } = imageRef(image);
    if (tag === undefined) problems.push(`${name}: image ${image} has no tag`);
    else if (tag === 'latest') problems.push(`${name}: image ${image} uses latest`);
    else if (image.includes('${')) problems.push(`${name}: image ${image} is interpolated, not pinned`);
    else if (!VERSION_TAG.test(tag)) problems.push(`${name}: image ${image} tag is not an exact version`);
    else if (service.build !== undefined && tag !== packageVersion) {
      problems.push(
        `${name}: locally built image ${image} should be tagged ${packageVersion} (package.json)`,
      );
    }
  }
  return problems;
}

function checkHealthChecks(c: Compose): Problems {
  const problems: Problems = [];
  const pg = c.services.postgresql;
  const pgTest = pg ? healthTest(pg) : undefined;
  if (!pgTest?.some((part) => part.includes('pg_isready'))) {
    problems.push('postgresql: health check must run pg_isready');
  }
  const temporal = c.services.temporal;
  const tTest = temporal ? healthTest(temporal) : undefined;
  if (!tTest || !tTest.join(' ').includes('7233')) {
    problems.push('temporal: health check must probe the frontend port 7233');
  }
  return problems;
}

/** [service, dependency, condition] that the start order relies on. */
const REQUIRED_DEPENDENCIES: [string, string, string][] = [
  ['temporal-schema', 'postgresql', 'service_healthy'],
  ['temporal', 'postgresql', 'service_healthy'],
  ['temporal', 'temporal-schema', 'service_completed_successfully'],
  ['temporal-setup', 'temporal', 'service_healthy'],
  ['temporal-ui', 'temporal', 'service_healthy'],
  ['worker', 'temporal', 'service_healthy'],
  ['worker', 'temporal-setup', 'service_completed_successfully'],
  ['emulator', 'emulator-token', 'service_completed_successfully'],
];
const ONE_SHOT_SERVICES = ['temporal-schema', 'temporal-setup', 'emulator-token'];

function checkDependencies(c: Compose): Problems {
  const problems: Problems = [];
  for (const [service, dep, condition] of REQUIRED_DEPENDENCIES) {
    const actual = c.services[service] ? dependsOn(c.services[service]).get(dep) : undefined;
    if (actual !== condition) {
      problems.push(`${service} must depend on ${dep} with ${condition} (has ${actual ?? 'nothing'})`);
    }
  }
  for (const name of Object.keys(c.services)) {
    for (const dep of dependsOn(c.services[name] ?? {}).keys()) {
      if (!(dep in c.services)) problems.push(`${name} depends on unknown service ${dep}`);
    }
  }
  for (const name of ONE_SHOT_SERVICES) {
    const restart = c.services[name]?.restart;
    if (restart !== 'no') problems.push(`${name} runs once: restart must be "no" (has ${scalar(restart)})`);
  }
  return problems;
}

/** The schema service must run the schema script, and that script must set up both databases. */
function checkSchemaStep(c: Compose, readScript: (hostPath: string) => string | undefined): Problems {
  const problems: Problems = [];
  const service = c.services['temporal-schema'];
  const script = service ? mountedScript(service, readScript) : undefined;
  if (!script) return ['temporal-schema: does not run a mounted script that exists'];
  const serverDb = c.services.temporal ? envOf(c.services.temporal).get('DB') : undefined;
  if (serverDb !== 'postgres12')
    problems.push(`temporal: DB must be postgres12 (has ${serverDb ?? 'nothing'})`);
  if (!script.includes('--plugin postgres12')) problems.push('schema script: must use --plugin postgres12');
  for (const step of ['create-database', 'setup-schema -v 0.0', 'update-schema -d']) {
    if (!script.includes(step)) problems.push(`schema script: no ${step}`);
  }
  for (const dir of ['postgresql/v12', '/temporal/versioned', '/visibility/versioned']) {
    if (!script.includes(dir)) problems.push(`schema script: does not apply ${dir}`);
  }
  if (!/temporal_visibility/.test(script)) problems.push('schema script: no temporal_visibility database');
  return problems;
}

/** The host path of the script that a one-shot service runs from a bind mount. */
function mountedScriptPath(service: Record<string, unknown>): string | undefined {
  const argv = [service.entrypoint, service.command].flatMap((v) => (Array.isArray(v) ? v.map(scalar) : []));
  const volumes = Array.isArray(service.volumes) ? service.volumes.map(scalar) : [];
  for (const volume of volumes) {
    const [source, target] = volume.split(':') as [string, string | undefined];
    if (target && argv.includes(target)) return source;
  }
  return undefined;
}

/** The text of the script that a one-shot service runs from a bind mount, when it exists. */
function mountedScript(
  service: Record<string, unknown>,
  readScript: (hostPath: string) => string | undefined,
): string | undefined {
  const source = mountedScriptPath(service);
  return source === undefined ? undefined : readScript(source);
}

function checkNamespaceSetup(
  c: Compose,
  readScript: (hostPath: string) => string | undefined,
  expected: readonly { name: string; type: string }[],
): Problems {
  const problems: Problems = [];
  const service = c.services['temporal-setup'];
  const script = service ? mountedScript(service, readScript) : undefined;
  if (!script) return ['temporal-setup: does not run a mounted script that exists'];
  if (!script.includes('temporal operator namespace create'))
    problems.push('setup script: no namespace create');
  if (!script.includes('temporal operator search-attribute create')) {
    problems.push('setup script: no search-attribute create');
  }
  const declared = /^SEARCH_ATTRIBUTES="([^"]*)"/m.exec(script)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
  const registered = new Map(declared.map((pair) => pair.split(':') as [string, string]));
  for (const { name, type } of expected) {
    // SDK types are KEYWORD, KEYWORD_LIST…; the CLI spells them Keyword, KeywordList…
    const cliType = registered.get(name);
    if (cliType === undefined) problems.push(`setup script: does not register ${name}`);
    else if (cliType.toUpperCase() !== type.replace(/_/g, '')) {
      problems.push(`setup script: ${name} registered as ${cliType}, the workflow uses ${type}`);
    }
  }
  const setupEnv = service ? envOf(service) : new Map<string, string | undefined>();
  const workerEnv = c.services.worker ? envOf(c.services.worker) : new Map<string, string | undefined>();
  for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE']) {
    if (setupEnv.get(name) !== workerEnv.get(name)) {
      problems.push(`temporal-setup and worker disagree on ${name}`);
    }
  }
  return problems;
}

function checkDynamicConfig(c: Compose, exists: (hostPath: string) => boolean): Problems {
  const service = c.services.temporal;
  const path = service ? envOf(service).get('DYNAMIC_CONFIG_FILE_PATH') : undefined;
  if (!service || !path) return ['temporal: DYNAMIC_CONFIG_FILE_PATH is not set'];
  // Relative paths are resolved from the image's working directory, /etc/temporal.
  const inContainer = posix.resolve('/etc/temporal', path);
  const volumes = Array.isArray(service.volumes) ? service.volumes.map(scalar) : [];
  for (const volume of volumes) {
    const [source, target] = volume.split(':') as [string, string | undefined];
    if (target && inContainer.startsWith(target.replace(/\/$/, '') + '/')) {
      const hostFile = posix.join(source, inContainer.slice(target.replace(/\/$/, '').length));
      return exists(hostFile) ? [] : [`temporal: dynamic config ${hostFile} does not exist`];
    }
  }
  return [`temporal: no volume provides ${inContainer}`];
}

function checkPorts(c: Compose): Problems {
  const problems: Problems = [];
  const expectPublished: [string, number][] = [
    ['temporal', 7233],
    ['temporal-ui', 8080],
  ];
  for (const [service, port] of expectPublished) {
    const ports = c.services[service] ? portsOf(c.services[service]) : [];
    if (!ports.some((p) => p.target === port && p.published === port)) {
      problems.push(`${service}: port ${port} is not published`);
    }
  }
  const worker = c.services.worker ?? {};
  if (portsOf(worker).length > 0) problems.push('worker: publishes host ports, so it cannot scale');
  if (worker.container_name !== undefined) problems.push('worker: container_name prevents --scale');
  const metrics = envOf(worker).get('APS_METRICS_ADDRESS') ?? '';
  const metricsPort = /:(\d+)$/.exec(metrics)?.[1];
  const exposed = Array.isArray(worker.expose) ? worker.expose.map(scalar) : [];
  if (!metricsPort || !exposed.includes(metricsPort)) {
    problems.push(`worker: APS_METRICS_ADDRESS (${metrics}) port is not in expose (${exposed.join(', ')})`);
  }
  return problems;
}

function checkEmulatorProfile(c: Compose): Problems {
  const problems: Problems = [];
  for (const name of EMULATOR_SERVICES) {
    const profiles = c.services[name]?.profiles;
    if (!Array.isArray(profiles) || !profiles.includes('emulator')) {
      problems.push(`${name}: must be in the "emulator" profile`);
    }
  }
  for (const [name, service] of Object.entries(c.services)) {
    if (EMULATOR_SERVICES.includes(name)) continue;
    if (service.profiles !== undefined) problems.push(`${name}: core services must not be in a profile`);
    for (const optional of EMULATOR_SERVICES) {
      if (dependsOn(service).has(optional))
        problems.push(`${name}: must not depend on the optional ${optional}`);
    }
  }
  return problems;
}

/** Every `${NAME...}` in a value (a value may hold several, or text around one). */
function interpolations(value: string): { name: string; op?: string; rest: string }[] {
  return [...value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g)].map((m) => ({
    name: m[1] as string,
    op: m[2],
    rest: m[3] ?? '',
  }));
}

/** The strings of a service definition, nested ones included. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (isRecord(value)) return Object.values(value).flatMap(stringsOf);
  return [];
}

/** The value of `--host` in a service's command (the emulator CLI's default is 127.0.0.1). */
function hostFlag(service: Record<string, unknown>): string {
  const argv = Array.isArray(service.command) ? service.command.map(scalar) : [];
  const at = argv.indexOf('--host');
  return at >= 0 ? (argv[at + 1] ?? '') : '127.0.0.1';
}

/** Named-volume mounts of a service as `{ source, target, readOnly }` (bind mounts left out). */
function namedVolumes(
  service: Record<string, unknown>,
): { source: string; target: string; readOnly: boolean }[] {
  const raw = Array.isArray(service.volumes) ? service.volumes.map(scalar) : [];
  return raw.flatMap((v) => {
    const [source = '', target = '', mode = ''] = v.split(':');
    if (source.startsWith('.') || source.startsWith('/') || target === '') return [];
    return [{ source, target, readOnly: mode.split(',').includes('ro') }];
  });
}

/**
 * The emulator binds beyond loopback, so its control API needs a token, and compose must supply
 * one without a required `${VAR:?}`: compose interpolates every service before it applies
 * profiles, so a required variable in a profiled service would break a plain `docker compose up`.
 * The token comes from a file that a one-shot service writes onto a volume only they share.
 */
function checkEmulatorToken(c: Compose, readScript: (hostPath: string) => string | undefined): Problems {
  const problems: Problems = [];
  for (const [name, service] of Object.entries(c.services)) {
    if (service.profiles === undefined) continue;
    for (const text of stringsOf(service)) {
      for (const i of interpolations(text)) {
        if (i.op?.includes('?')) {
          problems.push(
            `${name}: \${${i.name}${i.op}…} in a profiled service fails every docker compose command without that profile`,
          );
        }
      }
    }
  }
  const emulator = c.services.emulator;
  if (!emulator) return [...problems, 'emulator: service is missing'];
  const host = hostFlag(emulator);
  const env = envOf(emulator);
  const direct = env.get('APS_EMULATOR_ADMIN_TOKEN');
  const file = env.get('APS_EMULATOR_ADMIN_TOKEN_FILE');
  if (isLoopbackHost(host)) return problems;
  // `${APS_EMULATOR_ADMIN_TOKEN:-}` is empty unless the host sets it: alone, it can leave the
  // emulator without a token (and then it refuses to start).
  const m = direct === undefined ? null : INTERPOLATION.exec(direct);
  if (m && !m[2]?.includes('?') && (m[3] ?? '') === '' && file === undefined) {
    problems.push(`emulator: binds ${host} with an admin token that may be empty`);
  }
  if (file === undefined) {
    if (direct === undefined) problems.push(`emulator: binds ${host} without an admin token`);
    return problems;
  }
  const mount = namedVolumes(emulator).find((v) => file.startsWith(`${v.target.replace(/\/$/, '')}/`));
  if (!mount) return [...problems, `emulator: no named volume holds APS_EMULATOR_ADMIN_TOKEN_FILE ${file}`];
  if (!mount.readOnly)
    problems.push(`emulator: mounts the ${mount.source} volume read-write; it only reads the token`);
  const writers = Object.entries(c.services).filter(
    ([name, s]) =>
      name !== 'emulator' &&
      envOf(s).get('APS_EMULATOR_ADMIN_TOKEN_FILE') === file &&
      namedVolumes(s).some((v) => v.source === mount.source && !v.readOnly),
  );
  const [writerName, writer] = writers[0] ?? [];
  if (!writerName || !writer) {
    return [...problems, `emulator: no service writes ${file} onto the ${mount.source} volume`];
  }
  if (dependsOn(emulator).get(writerName) !== 'service_completed_successfully') {
    problems.push(`emulator: must wait for ${writerName} with service_completed_successfully`);
  }
  const script = mountedScript(writer, readScript);
  if (!script) problems.push(`${writerName}: does not run a mounted script that exists`);
  for (const [name, s] of Object.entries(c.services)) {
    if (name === writerName || name === 'emulator') continue;
    if (namedVolumes(s).some((v) => v.source === mount.source)) {
      problems.push(`${name}: mounts the ${mount.source} volume that holds the emulator token`);
    }
  }
  return problems;
}

function settingMatcher(settings: readonly { name: string }[]): (name: string) => boolean {
  const exact = new Set(settings.filter((s) => !s.name.includes('*')).map((s) => s.name));
  const prefixes = settings.filter((s) => s.name.endsWith('*')).map((s) => s.name.slice(0, -1));
  return (name) => exact.has(name) || prefixes.some((p) => name.startsWith(p));
}

function checkWorkerEnv(c: Compose, settings: readonly { name: string }[]): Problems {
  const problems: Problems = [];
  const env = c.services.worker ? envOf(c.services.worker) : new Map<string, string | undefined>();
  const isSetting = settingMatcher(settings);
  for (const name of env.keys()) {
    if (!isSetting(name) && !(name in WORKER_ENV_EXCEPTIONS)) {
      problems.push(`worker: ${name} is neither in SETTINGS (src/config.ts) nor a documented exception`);
    }
  }
  const required: [string, string | undefined][] = [
    ['TEMPORAL_ADDRESS', 'temporal:7233'],
    ['TEMPORAL_NAMESPACE', undefined],
    ['TEMPORAL_TASK_QUEUE', undefined],
    ['ALIBABA_CLOUD_ACCESS_KEY_ID', undefined],
    ['ALIBABA_CLOUD_ACCESS_KEY_SECRET', undefined],
    ['ALIBABA_CLOUD_SECURITY_TOKEN', undefined],
    ['ADB_ENDPOINT', undefined],
    ['APS_METRICS_ADDRESS', '0.0.0.0:9464'],
    ['APS_LOG_FORMAT', 'json'],
  ];
  for (const [name, value] of required) {
    if (!env.has(name)) problems.push(`worker: ${name} is not set`);
    else if (value !== undefined && env.get(name) !== value) {
      problems.push(`worker: ${name} must be ${value} (has ${env.get(name) ?? 'nothing'})`);
    }
  }
  return problems;
}

function checkCredentials(c: Compose, composeText: string): Problems {
  const problems: Problems = [];
  for (const [service, spec] of Object.entries(c.services)) {
    for (const [name, value] of envOf(spec)) {
      if (!SECRET_LIKE.test(name) || value === undefined) continue; // a bare name is a passthrough
      if (name.endsWith('_FILE')) continue; // the path of a secret, not the secret
      const m = INTERPOLATION.exec(value);
      if (!m) problems.push(`${service}: ${name} is a literal, not a \${...} interpolation`);
      else if (CLOUD_CREDENTIAL.test(name) && m[2]?.includes('-') && (m[3] ?? '') !== '') {
        problems.push(`${service}: ${name} has a default value; credentials come from the host only`);
      }
    }
  }
  if (LITERAL_ACCESS_KEY.test(composeText)) problems.push('docker-compose.yml contains an AccessKey ID');
  return problems;
}

function checkMemorySizing(c: Compose, df: Dockerfile): Problems {
  const problems: Problems = [];
  const worker = c.services.worker ?? {};
  const deploy = isRecord(worker.deploy) ? worker.deploy : {};
  const resources = isRecord(deploy.resources) ? deploy.resources : {};
  const limits = isRecord(resources.limits) ? resources.limits : {};
  const limit = memoryMiB(limits.memory);
  if (limit === undefined) return ['worker: deploy.resources.limits.memory is not set'];
  const imageDefault = heapMiB(finalStageEnv(df).get('NODE_OPTIONS'));
  const effective = heapMiB(envOf(worker).get('NODE_OPTIONS')) ?? imageDefault;
  // The heap gets 50–80% of the limit: the Rust core and native buffers live outside it.
  for (const [what, heap] of [
    ['worker NODE_OPTIONS', effective],
    ['Dockerfile NODE_OPTIONS', imageDefault],
  ] as const) {
    if (heap === undefined) problems.push(`${what}: no --max-old-space-size`);
    else if (heap < 0.5 * limit || heap > 0.8 * limit) {
      problems.push(`${what}: heap ${heap} MiB is not 50–80% of the ${limit} MiB memory limit`);
    }
  }
  return problems;
}

function checkDockerfile(df: Dockerfile, text: string): Problems {
  const problems: Problems = [];
  for (const image of baseImages(df)) {
    const { name, tag } = imageRef(image);
    if (/alpine/i.test(image)) problems.push(`FROM ${image}: Alpine (musl); the Temporal core needs glibc`);
    else if (name !== 'node' || !/-(bookworm|bullseye|trixie)(-slim)?$/.test(tag ?? '')) {
      problems.push(`FROM ${image}: expected a Debian (glibc) node image such as node:20.x.y-bookworm-slim`);
    }
    if (!tag || !/^\d+\.\d+\.\d+-/.test(tag)) {
      problems.push(`FROM ${image}: not pinned to an exact Node version`);
    }
  }
  const final = df.instructions.filter((i) => i.stage === df.finalStage);
  const user = final.filter((i) => i.keyword === 'USER').pop()?.args;
  if (!user || /^(root|0)(:|$)/.test(user)) problems.push(`final stage runs as ${user ?? 'root (no USER)'}`);

  const env = finalStageEnv(df);
  const workdir = final.filter((i) => i.keyword === 'WORKDIR').pop()?.args ?? '/';
  const bundle = env.get('APS_WORKFLOW_BUNDLE');
  if (bundle !== posix.join(workdir, 'lib/workflow-bundle.js')) {
    problems.push(
      `APS_WORKFLOW_BUNDLE must be ${posix.join(workdir, 'lib/workflow-bundle.js')} (has ${bundle})`,
    );
  }
  if (heapMiB(env.get('NODE_OPTIONS')) === undefined) {
    problems.push('NODE_OPTIONS has no --max-old-space-size');
  }
  if (env.get('NODE_ENV') !== 'production') problems.push('NODE_ENV is not production');

  for (const ins of df.instructions.filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')) {
    for (const [name] of pairsOf(ins)) {
      if (SECRET_LIKE.test(name)) problems.push(`${ins.keyword} ${name}: credentials must not be baked in`);
    }
  }
  if (LITERAL_ACCESS_KEY.test(text)) problems.push('Dockerfile contains an AccessKey ID');

  const runs = df.instructions
    .filter((i) => i.keyword === 'RUN' && i.stage < df.finalStage)
    .map((i) => i.args);
  for (const step of ['npm ci', 'npm run build', 'npm run bundle']) {
    if (!runs.some((r) => r.includes(step))) problems.push(`build stage does not run ${step}`);
  }
  if (!runs.some((r) => /npm (prune|ci)\b.*--omit=dev/.test(r))) {
    problems.push('build stage does not drop dev dependencies');
  }
  // Exec form, so that node (not a shell) receives SIGTERM.
  const cmd = final.filter((i) => i.keyword === 'CMD').pop()?.args ?? '';
  if (JSON.stringify(execForm(cmd)) !== JSON.stringify(['node', 'lib/worker.js'])) {
    problems.push(`CMD must be the exec form ["node", "lib/worker.js"] (has ${cmd || 'none'})`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Ignore files: local secrets stay out of git and out of the image's build context

/** `.env` files, and the emulator's `--write-env` output (its file name as the docs give it). */
function secretFiles(docs: readonly string[]): string[] {
  const written = docs.flatMap((text) =>
    [...text.matchAll(/--write-env[ =]([^\s\]`'"]+)/g)].map((m) => m[1] as string),
  );
  return ['.env', '.env.local', '.env.production', 'scripts/.env', 'src/.env.staging', ...written];
}

/** Files that must stay visible: what the image builds from, and an `.env.example` for git. */
const BUILD_INPUTS = ['package.json', 'src/config.ts', 'src/emulator/cli.ts', 'scripts/emulator.ts'];
const GIT_KEEPS = [...BUILD_INPUTS, 'docker-compose.yml', 'test/support/env.ts', '.env.example'];

/** The paths git ignores under this .gitignore alone: real git, in a scratch repository. */
function gitIgnored(gitignore: string, paths: readonly string[]): Set<string> {
  const dir = mkdtempSync(join(tmpdir(), 'aps-gitignore-'));
  try {
    execFileSync('git', ['init', '-q', dir]);
    writeFileSync(join(dir, '.gitignore'), gitignore);
    let out = '';
    try {
      out = execFileSync(
        'git',
        ['-c', 'core.excludesFile=/dev/null', 'check-ignore', '--no-index', '--stdin'],
        { cwd: dir, input: paths.join('\n'), encoding: 'utf8' },
      );
    } catch (err) {
      // Exit 1 means "none of them is ignored"; anything else is a real failure.
      if ((err as { status?: number }).status !== 1) throw err;
    }
    return new Set(out.split('\n').filter(Boolean));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A .dockerignore pattern as a regular expression over slash-separated context paths. */
function dockerPattern(pattern: string): RegExp {
  const p = posix.normalize(pattern).replace(/^\/+/, '').replace(/\/+$/, '');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const ch = p[i] as string;
    if (ch === '*' && p[i + 1] === '*') {
      i += 1;
      if (p[i + 1] === '/') {
        i += 1;
        re += '(?:.*/)?';
      } else {
        re += '.*';
      }
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Whether Docker leaves a path out of the build context: patterns are relative to the context
 * root, `**` spans directories, a pattern that matches a parent directory covers what is under it,
 * `!` re-includes, and the last matching pattern wins.
 */
function dockerIgnored(dockerignore: string, path: string): boolean {
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of dockerignore.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    const re = dockerPattern(negate ? line.slice(1).trim() : line);
    if (prefixes.some((prefix) => re.test(prefix))) ignored = !negate;
  }
  return ignored;
}

function checkIgnoreFiles(gitignore: string, dockerignore: string, docs: readonly string[]): Problems {
  const problems: Problems = [];
  const secrets = secretFiles(docs);
  if (secrets.length === 5) problems.push('the docs name no --write-env file to check');
  const ignoredByGit = gitIgnored(gitignore, [...secrets, ...GIT_KEEPS]);
  for (const path of secrets) {
    if (!ignoredByGit.has(path)) problems.push(`.gitignore: does not cover ${path}`);
    if (!dockerIgnored(dockerignore, path)) problems.push(`.dockerignore: does not cover ${path}`);
  }
  for (const path of GIT_KEEPS) {
    if (ignoredByGit.has(path)) problems.push(`.gitignore: ignores ${path}, which belongs in git`);
  }
  for (const path of BUILD_INPUTS) {
    if (dockerIgnored(dockerignore, path))
      problems.push(`.dockerignore: leaves out ${path}, which the build needs`);
  }
  return problems;
}

/** What the local stack (src/dev/stack.ts) runs where compose runs a container. */
interface StackShape {
  serverEnv: Readonly<Record<string, string>>;
  postgresMaxConnections: number;
  serverVersion: string;
  scripts: { schema: string; namespace: string; dynamicConfig: string };
}

/**
 * The local stack and compose stay the same: the stack runs the scripts the one-shot services
 * mount, the dynamic config file the server mounts, the server version of the images, and the
 * server settings of the `temporal` service.
 */
function checkStackParity(c: Compose, stack: StackShape): Problems {
  const problems: Problems = [];
  const server = c.services.temporal;
  if (!server) return ['temporal: missing'];
  const env = envOf(server);
  for (const name of ['DB', 'NUM_HISTORY_SHARDS', 'POSTGRES_USER']) {
    if (env.get(name) !== stack.serverEnv[name]) {
      problems.push(
        `stack and compose differ on ${name}: compose ${env.get(name) ?? '(unset)'}, stack ${stack.serverEnv[name] ?? '(unset)'}`,
      );
    }
  }
  const pgCommand = Array.isArray(c.services.postgresql?.command)
    ? c.services.postgresql.command.map(scalar)
    : [];
  const maxConnections = pgCommand.find((arg) => arg.startsWith('max_connections='))?.split('=')[1];
  if (maxConnections !== String(stack.postgresMaxConnections)) {
    problems.push(
      `postgresql: max_connections ${maxConnections ?? '(default)'}, the stack runs ${stack.postgresMaxConnections}`,
    );
  }
  const dynamic = env.get('DYNAMIC_CONFIG_FILE_PATH') ?? '';
  if (posix.basename(dynamic) !== stack.serverEnv.DYNAMIC_CONFIG_FILE) {
    problems.push(
      `stack and compose differ on the dynamic config file: ${posix.basename(dynamic)} vs ${stack.serverEnv.DYNAMIC_CONFIG_FILE ?? ''}`,
    );
  }
  const volumes = Array.isArray(server.volumes) ? server.volumes.map(scalar) : [];
  const configDir = volumes.map((v) => v.split(':')[0] ?? '').find((src) => src.includes('dynamicconfig'));
  if (!configDir || join(ROOT, configDir, posix.basename(dynamic)) !== stack.scripts.dynamicConfig) {
    problems.push(`the stack reads ${stack.scripts.dynamicConfig}, compose mounts ${configDir ?? 'nothing'}`);
  }
  const tag = (service: string): string | undefined => {
    const image = c.services[service]?.image;
    return typeof image === 'string' ? image.slice(image.lastIndexOf(':') + 1) : undefined;
  };
  for (const service of ['temporal', 'temporal-schema', 'temporal-setup']) {
    if (tag(service) !== stack.serverVersion.replace(/^v/, '')) {
      problems.push(
        `${service}: image tag ${tag(service) ?? '(none)'}, the stack builds server ${stack.serverVersion}`,
      );
    }
  }
  for (const [service, script] of [
    ['temporal-schema', stack.scripts.schema],
    ['temporal-setup', stack.scripts.namespace],
  ] as const) {
    const source = c.services[service] ? mountedScriptPath(c.services[service]) : undefined;
    if (!source || join(ROOT, source) !== script) {
      problems.push(`${service}: runs ${source ?? 'no mounted script'}, the stack runs ${script}`);
    }
  }
  return problems;
}

const stackShape: StackShape = {
  serverEnv: COMPOSE_SERVER_ENV,
  postgresMaxConnections: POSTGRES_MAX_CONNECTIONS,
  serverVersion: TEMPORAL_SERVER_VERSION,
  scripts: STACK_SCRIPTS,
};

// ---------------------------------------------------------------------------------------------

interface Files {
  composeText: string;
  compose: Compose;
  dockerfileText: string;
  dockerfile: Dockerfile;
  packageJson: { version: string; scripts?: Record<string, string> };
}

let loaded: Files | undefined;
function files(): Files {
  if (!loaded) {
    const composeText = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const dockerfileText = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    loaded = {
      composeText,
      compose: parseCompose(composeText),
      dockerfileText,
      dockerfile: parseDockerfile(dockerfileText),
      packageJson: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Files['packageJson'],
    };
  }
  return loaded;
}

function ignoreFile(name: string): string {
  return readFileSync(join(ROOT, name), 'utf8');
}

/** The docs that show the emulator's `--write-env` file name. */
function docsText(): string[] {
  return ['README.md', 'src/emulator/README.md'].map((p) => readFileSync(join(ROOT, p), 'utf8'));
}

/** Reads a compose bind-mount source (relative to the project root), or undefined when absent. */
function readHostFile(hostPath: string): string | undefined {
  const full = join(ROOT, hostPath);
  return existsSync(full) ? readFileSync(full, 'utf8') : undefined;
}

const hostFileExists = (hostPath: string): boolean => existsSync(join(ROOT, hostPath));

/** A deep copy of the compose file for breaking on purpose. */
function composeCopy(): Compose {
  return structuredClone(files().compose);
}

/** A compose service of the copy, created when absent. */
function svc(c: Compose, name: string): Record<string, unknown> {
  c.services[name] ??= {};
  return c.services[name];
}

function setWorkerEnv(c: Compose, name: string, value: string): void {
  const worker = svc(c, 'worker');
  const env = isRecord(worker.environment) ? worker.environment : {};
  env[name] = value;
  worker.environment = env;
}

function assertFinds(problems: Problems, fragment: string): void {
  assert.ok(
    problems.some((p) => p.includes(fragment)),
    `expected a problem mentioning "${fragment}", got: ${JSON.stringify(problems)}`,
  );
}

const expectedAttributes = SEARCH_ATTRIBUTES.map((k) => ({ name: k.name, type: k.type }));

describe('deployment: docker-compose.yml, Dockerfile and deploy/', () => {
  describe('the real files', () => {
    it('docker-compose.yml has every service the stack needs', () => {
      assert.deepEqual(checkServicesExist(files().compose), []);
    });

    it('every image is pinned to an exact version, the local build to the package version', () => {
      assert.deepEqual(checkImagesPinned(files().compose, files().packageJson.version), []);
    });

    it('postgresql and temporal have health checks', () => {
      assert.deepEqual(checkHealthChecks(files().compose), []);
    });

    it('services wait for the right conditions; one-shot steps do not restart', () => {
      assert.deepEqual(checkDependencies(files().compose), []);
    });

    it('the schema step creates and upgrades both databases before the server starts', () => {
      assert.deepEqual(checkSchemaStep(files().compose, readHostFile), []);
    });

    it('temporal-setup creates the namespace and registers the workflow search attributes', () => {
      assert.ok(expectedAttributes.length >= 3, 'src/api.ts SEARCH_ATTRIBUTES is unexpectedly short');
      assert.deepEqual(checkNamespaceSetup(files().compose, readHostFile, expectedAttributes), []);
    });

    it('the server finds its dynamic config file through a volume', () => {
      assert.deepEqual(checkDynamicConfig(files().compose, hostFileExists), []);
    });

    it('7233 and 8080 are published; the worker publishes nothing, so it scales', () => {
      assert.deepEqual(checkPorts(files().compose), []);
    });

    it('the emulator is only in its profile and nothing depends on it', () => {
      assert.deepEqual(checkEmulatorProfile(files().compose), []);
    });

    it('the emulator gets a generated control API token from a one-shot step, no required variable', () => {
      assert.deepEqual(checkEmulatorToken(files().compose, readHostFile), []);
    });

    it('the worker sets only variables from SETTINGS (or documented exceptions)', () => {
      assert.deepEqual(checkWorkerEnv(files().compose, SETTINGS), []);
    });

    it('credentials are passed through from the host, never written down', () => {
      assert.deepEqual(checkCredentials(files().compose, files().composeText), []);
    });

    it('the V8 heap is sized to the worker memory limit', () => {
      assert.deepEqual(checkMemorySizing(files().compose, files().dockerfile), []);
    });

    it('the Dockerfile builds on glibc, runs as non-root, and bakes in no credentials', () => {
      assert.deepEqual(checkDockerfile(files().dockerfile, files().dockerfileText), []);
    });

    it('the local stack (npm run stack) runs the same scripts, server version and settings as compose', () => {
      assert.deepEqual(checkStackParity(files().compose, stackShape), []);
    });

    it('.gitignore and .dockerignore cover .env files and the emulator --write-env output', () => {
      assert.deepEqual(
        checkIgnoreFiles(ignoreFile('.gitignore'), ignoreFile('.dockerignore'), docsText()),
        [],
      );
    });
  });

  describe('the emulator token step, run here with sh', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'aps-emulator-token-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    /** Runs the token service's script as compose would, with the token file in `into`. */
    function runStep(env: Record<string, string> = {}, into = dir): { stdout: string; file: string } {
      const service = files().compose.services['emulator-token'];
      const script = service ? mountedScriptPath(service) : undefined;
      assert.ok(script, 'emulator-token runs no mounted script');
      const file = join(into, 'admin-token');
      const stdout = execFileSync('/bin/sh', [join(ROOT, script)], {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          APS_EMULATOR_ADMIN_TOKEN_FILE: file,
          // The image's user `node` may not exist here: hand the file to whoever runs the test.
          APS_EMULATOR_TOKEN_OWNER: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
          ...env,
        },
        encoding: 'utf8',
      });
      return { stdout, file };
    }

    it('generates a 256-bit token once, keeps it on later runs, and never prints it', () => {
      const first = runStep();
      const token = readFileSync(first.file, 'utf8').trim();
      assert.match(token, /^[0-9a-f]{64}$/);
      assert.equal(statSync(first.file).mode & 0o777, 0o400);
      assert.match(first.stdout, /generated/);
      assert.ok(!first.stdout.includes(token), 'the token is printed');
      const second = runStep();
      assert.equal(readFileSync(second.file, 'utf8').trim(), token);
      assert.match(second.stdout, /kept/);
      const other = mkdtempSync(join(tmpdir(), 'aps-emulator-token-'));
      try {
        const fresh = runStep({}, other);
        assert.notEqual(readFileSync(fresh.file, 'utf8').trim(), token, 'two volumes got the same token');
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    });

    it('takes APS_EMULATOR_ADMIN_TOKEN when set, over a generated one', () => {
      runStep();
      const { stdout, file } = runStep({ APS_EMULATOR_ADMIN_TOKEN: 'chosen-token-value' });
      assert.equal(readFileSync(file, 'utf8'), 'chosen-token-value\n');
      assert.ok(!stdout.includes('chosen-token-value'), 'the token is printed');
      assert.equal(statSync(file).mode & 0o777, 0o400);
    });

    it('the emulator on 0.0.0.0 starts with the written file and requires that token', async () => {
      const { file } = runStep();
      const token = readFileSync(file, 'utf8').trim();
      const emulator = files().compose.services.emulator ?? {};
      const argv = (Array.isArray(emulator.command) ? emulator.command.map(scalar) : []).slice(2);
      const portAt = argv.indexOf('--port');
      if (portAt >= 0) argv[portAt + 1] = '0';
      const stop = new AbortController();
      const errors: string[] = [];
      let port = 0;
      let answered: [number, number] = [0, 0];
      const code = await runEmulatorCli([...argv, '--quiet'], {
        out: () => {},
        err: (l) => errors.push(l),
        env: { APS_EMULATOR_ADMIN_TOKEN_FILE: file },
        signal: stop.signal,
        setExitCode: false,
        onReady: (emu) => {
          port = emu.port;
          const url = `http://127.0.0.1:${port}/__emulator/state`;
          void Promise.all([
            fetch(url).then((r) => r.status),
            fetch(url, { headers: { 'x-emulator-token': token } }).then((r) => r.status),
          ])
            .then((statuses) => (answered = statuses))
            .finally(() => stop.abort());
        },
      });
      assert.equal(code, 0, errors.join('\n'));
      assert.notEqual(port, 0);
      assert.deepEqual(answered, [401, 200]);
    });

    it('without a token file path it fails, and names the variable', () => {
      assert.throws(
        () =>
          execFileSync('/bin/sh', [join(ROOT, 'deploy/emulator/admin-token.sh')], {
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
            stdio: 'pipe',
          }),
        (e: Error & { stderr?: Buffer }) => /APS_EMULATOR_ADMIN_TOKEN_FILE/.test(String(e.stderr)),
      );
    });
  });

  describe('entry points the image runs exist in the source tree', () => {
    it('lib/worker.js (CMD) and lib/emulator/standalone.js (emulator command) come from src/', () => {
      const emulatorCommand = files().compose.services.emulator?.command;
      const argv = Array.isArray(emulatorCommand) ? emulatorCommand.map(scalar) : [];
      const scripts = ['lib/worker.js', argv.find((a) => a.startsWith('lib/')) ?? '(no lib/ script)'];
      for (const script of scripts) {
        const source = script.replace(/^lib\//, 'src/').replace(/\.js$/, '.ts');
        assert.ok(hostFileExists(source), `${script} is built from ${source}, which does not exist`);
      }
    });

    it('package.json has the bundle script the image build runs', () => {
      assert.equal(
        typeof files().packageJson.scripts?.bundle,
        'string',
        'no "bundle" script in package.json',
      );
    });
  });

  describe('each check fails on a broken copy', () => {
    it('compose and the local stack drifting apart', () => {
      const shards = composeCopy();
      (svc(shards, 'temporal').environment as Record<string, unknown>).NUM_HISTORY_SHARDS = '8';
      assertFinds(checkStackParity(shards, stackShape), 'NUM_HISTORY_SHARDS');
      const pg = composeCopy();
      delete svc(pg, 'postgresql').command;
      assertFinds(checkStackParity(pg, stackShape), 'max_connections (default)');
      const image = composeCopy();
      svc(image, 'temporal').image = 'temporalio/server:1.31.0';
      assertFinds(checkStackParity(image, stackShape), 'image tag 1.31.0');
      const script = composeCopy();
      svc(script, 'temporal-schema').volumes = ['./deploy/other.sh:/opt/aps/setup-schema.sh:ro'];
      assertFinds(checkStackParity(script, stackShape), 'temporal-schema: runs ./deploy/other.sh');
      assertFinds(
        checkStackParity(files().compose, {
          ...stackShape,
          scripts: { ...stackShape.scripts, namespace: '/elsewhere.sh' },
        }),
        'temporal-setup',
      );
    });

    it('a missing service', () => {
      const c = composeCopy();
      delete c.services['temporal-setup'];
      assertFinds(checkServicesExist(c), 'temporal-setup');
    });

    it('an image on latest, without a tag, with a floating tag, or a mis-tagged local build', () => {
      const version = files().packageJson.version;
      const cases: [string, string][] = [
        ['temporalio/ui:latest', 'latest'],
        ['temporalio/ui', 'no tag'],
        ['postgres:16', 'not an exact version'],
        ['temporalio/server:${TEMPORAL_VERSION}', 'interpolated'],
      ];
      for (const [image, fragment] of cases) {
        const c = composeCopy();
        svc(c, 'temporal-ui').image = image;
        assertFinds(checkImagesPinned(c, version), fragment);
      }
      const c = composeCopy();
      svc(c, 'worker').image = 'adb-aps-temporal:9.9.9';
      assertFinds(checkImagesPinned(c, version), 'package.json');
    });

    it('a missing or disabled health check', () => {
      const c = composeCopy();
      delete svc(c, 'postgresql').healthcheck;
      svc(c, 'temporal').healthcheck = { disable: true };
      const problems = checkHealthChecks(c);
      assertFinds(problems, 'pg_isready');
      assertFinds(problems, 'temporal');
    });

    it('a server that only waits for the schema step to start, and a restarting one-shot', () => {
      const c = composeCopy();
      svc(c, 'temporal').depends_on = { postgresql: { condition: 'service_healthy' }, 'temporal-schema': {} };
      svc(c, 'temporal-setup').restart = 'on-failure';
      const problems = checkDependencies(c);
      assertFinds(problems, 'temporal must depend on temporal-schema with service_completed_successfully');
      assertFinds(problems, 'temporal-setup runs once');
    });

    it('a schema script that skips the visibility database', () => {
      const reader = (p: string): string | undefined =>
        readHostFile(p)
          ?.replace(/visibility/g, 'other')
          .replace(/temporal_other/g, 'x');
      assertFinds(checkSchemaStep(files().compose, reader), '/visibility/versioned');
      assertFinds(
        checkSchemaStep(files().compose, () => undefined),
        'does not run a mounted script',
      );
    });

    it('a setup script that forgets a search attribute or registers the wrong type', () => {
      const dropPhase = (p: string): string | undefined => readHostFile(p)?.replace(/ ApsPhase:Keyword/, '');
      assertFinds(checkNamespaceSetup(files().compose, dropPhase, expectedAttributes), 'ApsPhase');
      const asText = (p: string): string | undefined =>
        readHostFile(p)?.replace(/ApsRegion:Keyword/, 'ApsRegion:Text');
      assertFinds(
        checkNamespaceSetup(files().compose, asText, expectedAttributes),
        'ApsRegion registered as Text',
      );
      const c = composeCopy();
      setWorkerEnv(c, 'TEMPORAL_NAMESPACE', 'elsewhere');
      assertFinds(checkNamespaceSetup(c, readHostFile, expectedAttributes), 'TEMPORAL_NAMESPACE');
    });

    it('a dynamic config path that no volume provides', () => {
      const c = composeCopy();
      svc(c, 'temporal').volumes = [];
      assertFinds(checkDynamicConfig(c, hostFileExists), 'no volume provides');
      assertFinds(
        checkDynamicConfig(files().compose, () => false),
        'does not exist',
      );
    });

    it('a worker with a host port or a container name, and an unpublished UI', () => {
      const c = composeCopy();
      svc(c, 'worker').ports = ['9464:9464'];
      svc(c, 'worker').container_name = 'aps-worker';
      svc(c, 'temporal-ui').ports = ['8081:8080'];
      const problems = checkPorts(c);
      assertFinds(problems, 'cannot scale');
      assertFinds(problems, 'container_name');
      assertFinds(problems, 'temporal-ui: port 8080');
    });

    it('an emulator outside its profile, or a worker that depends on it', () => {
      const c = composeCopy();
      delete svc(c, 'emulator').profiles;
      delete svc(c, 'emulator-token').profiles;
      svc(c, 'worker').depends_on = { emulator: { condition: 'service_started' } };
      svc(c, 'temporal-ui').depends_on = { 'emulator-token': { condition: 'service_started' } };
      const problems = checkEmulatorProfile(c);
      assertFinds(problems, 'emulator: must be in');
      assertFinds(problems, 'emulator-token: must be in');
      assertFinds(problems, 'worker: must not depend on the optional emulator');
      assertFinds(problems, 'temporal-ui: must not depend on the optional emulator-token');
    });

    it('an emulator on 0.0.0.0 without a token, with a required variable, or sharing its token', () => {
      const none = composeCopy();
      const noneEnv = envOf(svc(none, 'emulator'));
      noneEnv.delete('APS_EMULATOR_ADMIN_TOKEN_FILE');
      svc(none, 'emulator').environment = Object.fromEntries(noneEnv);
      assertFinds(checkEmulatorToken(none, readHostFile), 'binds 0.0.0.0 without an admin token');

      const maybeEmpty = composeCopy();
      svc(maybeEmpty, 'emulator').environment = {
        APS_EMULATOR_ADMIN_TOKEN: '${APS_EMULATOR_ADMIN_TOKEN:-}',
      };
      assertFinds(checkEmulatorToken(maybeEmpty, readHostFile), 'admin token that may be empty');

      const required = composeCopy();
      svc(required, 'emulator').environment = {
        APS_EMULATOR_ADMIN_TOKEN: '${APS_EMULATOR_ADMIN_TOKEN:?set a token}',
      };
      assertFinds(checkEmulatorToken(required, readHostFile), 'fails every docker compose command');

      const noWait = composeCopy();
      delete svc(noWait, 'emulator').depends_on;
      assertFinds(checkEmulatorToken(noWait, readHostFile), 'must wait for emulator-token');

      const writable = composeCopy();
      svc(writable, 'emulator').volumes = ['emulator-token:/run/aps-emulator'];
      assertFinds(checkEmulatorToken(writable, readHostFile), 'read-write');

      const shared = composeCopy();
      svc(shared, 'worker').volumes = ['emulator-token:/run/aps-emulator:ro'];
      assertFinds(checkEmulatorToken(shared, readHostFile), 'worker: mounts the emulator-token volume');

      const noWriter = composeCopy();
      delete noWriter.services['emulator-token'];
      assertFinds(checkEmulatorToken(noWriter, readHostFile), 'no service writes');
      assertFinds(
        checkEmulatorToken(files().compose, () => undefined),
        'emulator-token: does not run a mounted script',
      );

      // On loopback the token is optional.
      const local = composeCopy();
      svc(local, 'emulator').command = ['node', 'lib/emulator/standalone.js', '--host', '127.0.0.1'];
      svc(local, 'emulator').environment = {};
      assert.deepEqual(checkEmulatorToken(local, readHostFile), []);
    });

    it('a worker variable that is not a setting', () => {
      const c = composeCopy();
      setWorkerEnv(c, 'APS_TYPO_LEVEL', 'INFO');
      setWorkerEnv(c, 'APS_LOG_FORMAT', 'text');
      const problems = checkWorkerEnv(c, SETTINGS);
      assertFinds(problems, 'APS_TYPO_LEVEL');
      assertFinds(problems, 'APS_LOG_FORMAT must be json');
      // The TEMPORAL_TLS_* prefix entry admits its family and nothing else.
      const tls = composeCopy();
      setWorkerEnv(tls, 'TEMPORAL_TLS_CLIENT_CERT_PATH', '/certs/client.pem');
      assert.deepEqual(checkWorkerEnv(tls, SETTINGS), []);
    });

    it('a literal credential, or a credential with a default', () => {
      const literal = composeCopy();
      setWorkerEnv(literal, 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'not-a-real-secret');
      assertFinds(checkCredentials(literal, ''), 'ALIBABA_CLOUD_ACCESS_KEY_SECRET is a literal');
      const defaulted = composeCopy();
      setWorkerEnv(defaulted, 'ALIBABA_CLOUD_ACCESS_KEY_ID', '${ALIBABA_CLOUD_ACCESS_KEY_ID:-someone}');
      assertFinds(checkCredentials(defaulted, ''), 'has a default value');
      const pasted = files().composeText + '\n# LTAI5tAbCdEfGhIjKlMnOp\n';
      assertFinds(checkCredentials(files().compose, pasted), 'AccessKey ID');
    });

    it('a heap bigger than the memory limit allows', () => {
      const c = composeCopy();
      setWorkerEnv(c, 'NODE_OPTIONS', '--max-old-space-size=4096');
      assertFinds(checkMemorySizing(c, files().dockerfile), 'worker NODE_OPTIONS: heap 4096');
      const noLimit = composeCopy();
      delete svc(noLimit, 'worker').deploy;
      assertFinds(checkMemorySizing(noLimit, files().dockerfile), 'limits.memory');
    });

    it('ignore files without the .env lines, or that ignore too much', () => {
      const git = ignoreFile('.gitignore');
      const docker = ignoreFile('.dockerignore');
      const withoutEnv = (text: string): string =>
        text
          .split('\n')
          .filter((l) => !/env/.test(l))
          .join('\n');
      const bare = checkIgnoreFiles(withoutEnv(git), withoutEnv(docker), docsText());
      for (const path of ['.env', '.env.local', 'scripts/.env', '.emulator.env']) {
        assertFinds(bare, `.gitignore: does not cover ${path}`);
        assertFinds(bare, `.dockerignore: does not cover ${path}`);
      }
      // Docker anchors patterns to the context root: without `**/` a nested .env gets in (git
      // matches a slash-less pattern at any depth).
      const rootOnly = checkIgnoreFiles(git, docker.replace(/^\*\*\//gm, ''), docsText());
      assertFinds(rootOnly, '.dockerignore: does not cover scripts/.env');
      assertFinds(rootOnly, '.dockerignore: does not cover src/.env.staging');
      assert.ok(!rootOnly.some((p) => p.includes('.dockerignore: does not cover .env')), 'root .env');
      const greedy = checkIgnoreFiles(`${git}\n*env*\n`, `${docker}\nsrc\n`, docsText());
      assertFinds(greedy, '.gitignore: ignores .env.example');
      assertFinds(greedy, '.gitignore: ignores test/support/env.ts');
      assertFinds(greedy, '.dockerignore: leaves out src/config.ts');
      assertFinds(checkIgnoreFiles(git, docker, []), 'the docs name no --write-env file');
    });

    it('an Alpine base, a root user, a missing bundle path, baked-in credentials, a shell CMD', () => {
      const text = files()
        .dockerfileText.replace(/bookworm-slim/g, 'alpine3.20')
        .replace(/^USER .*$/m, 'USER root')
        .replace(/APS_WORKFLOW_BUNDLE=\S+/, 'APS_WORKFLOW_BUNDLE=/tmp/bundle.js')
        .replace(/^CMD .*$/m, 'ENV ALIBABA_CLOUD_ACCESS_KEY_ID=x\nCMD node lib/worker.js')
        .replace(/npm run bundle/g, 'true');
      const problems = checkDockerfile(parseDockerfile(text), text);
      for (const fragment of [
        'Alpine',
        'runs as root',
        'APS_WORKFLOW_BUNDLE must be',
        'ENV ALIBABA_CLOUD_ACCESS_KEY_ID',
        'exec form',
        'npm run bundle',
      ]) {
        assertFinds(problems, fragment);
      }
      const floating = files().dockerfileText.replace(/node:\d+\.\d+\.\d+-/g, 'node:20-');
      assertFinds(checkDockerfile(parseDockerfile(floating), floating), 'not pinned');
    });
  });
});
