import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  ConfigError,
  DEFAULT_WORKER_TUNING,
  alibabaConfigFrom,
  parseEndpoint,
  rateLimitsFrom,
  regionFrom,
  resolveWorkerTuning,
  workerConfigFrom,
  workerTuningFrom,
  WORKER_NODE_OPTIONS,
} from '../src/config';
import { formatLogLine, rateLimitPlan, workerRulesFrom } from '../src/run-worker';
import {
  RATE_LIMITED_ACTION_LOG_CALLS,
  RATE_LIMITED_CALLS_PER_ATTEMPT,
  RATE_LIMITED_ERR_MESSAGE_PAGES,
} from '../src/activities';

describe('config (environment → typed settings)', () => {
  it('applies defaults', () => {
    const c = workerConfigFrom({});
    assert.equal(c.taskQueue, 'aps-jobs');
    assert.deepEqual(c.alibaba.credentials, { kind: 'default-chain' });
    assert.equal(c.alibaba.protocol, 'https');
    assert.equal(c.alibaba.endpoint, undefined);
    assert.equal(c.alibaba.connectTimeoutMs, 30_000);
    assert.equal(c.alibaba.readTimeoutMs, 30_000);
    assert.deepEqual(c.observability, { metricsAddress: undefined, logFormat: 'text', logLevel: 'INFO' });
    assert.deepEqual(c.tuning, {
      maxCachedWorkflows: 100,
      maxConcurrentWorkflowTaskExecutions: 40,
      maxConcurrentActivityTaskExecutions: 100,
      workflowThreadPoolSize: 1,
    });
  });

  it('reads the cache and slot sizes, fitting the workflow-task slots to a smaller cache', () => {
    assert.deepEqual(
      workerTuningFrom({
        APS_MAX_CACHED_WORKFLOWS: '500',
        APS_MAX_CONCURRENT_WORKFLOW_TASKS: '80',
        APS_MAX_CONCURRENT_ACTIVITIES: '250',
        APS_WORKFLOW_THREADS: '2',
      }),
      {
        maxCachedWorkflows: 500,
        maxConcurrentWorkflowTaskExecutions: 80,
        maxConcurrentActivityTaskExecutions: 250,
        workflowThreadPoolSize: 2,
      },
    );
    // A cache below the default slot count lowers the default slots with it; no cache keeps them.
    assert.equal(
      workerTuningFrom({ APS_MAX_CACHED_WORKFLOWS: '10' }).maxConcurrentWorkflowTaskExecutions,
      10,
    );
    assert.equal(workerTuningFrom({ APS_MAX_CACHED_WORKFLOWS: '0' }).maxConcurrentWorkflowTaskExecutions, 40);
    assert.deepEqual(resolveWorkerTuning({}), DEFAULT_WORKER_TUNING);
    assert.equal(resolveWorkerTuning({ maxCachedWorkflows: 2 }).maxConcurrentWorkflowTaskExecutions, 2);
  });

  it('npm run worker starts the worker with the documented heap limit unless NODE_OPTIONS is set', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    assert.equal(
      pkg.scripts.worker,
      `NODE_OPTIONS="\${NODE_OPTIONS:-${WORKER_NODE_OPTIONS}}" tsx src/worker.ts`,
    );
  });

  it('refuses cache and slot sizes that are not whole numbers or do not fit together', () => {
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [
        { APS_MAX_CACHED_WORKFLOWS: 'lots' },
        /^APS_MAX_CACHED_WORKFLOWS: expected a whole number from 0 to .* \(default 100\), got "lots"/,
      ],
      [{ APS_MAX_CACHED_WORKFLOWS: '1' }, /^APS_MAX_CACHED_WORKFLOWS: expected 0 \(no cache\) or at least 2/],
      [{ APS_MAX_CACHED_WORKFLOWS: '-5' }, /^APS_MAX_CACHED_WORKFLOWS: expected a whole number/],
      [
        { APS_MAX_CONCURRENT_WORKFLOW_TASKS: '1' },
        /^APS_MAX_CONCURRENT_WORKFLOW_TASKS: expected a whole number from 2 /,
      ],
      [
        { APS_MAX_CONCURRENT_ACTIVITIES: '0' },
        /^APS_MAX_CONCURRENT_ACTIVITIES: expected a whole number from 1 /,
      ],
      [{ APS_MAX_CONCURRENT_ACTIVITIES: '2.5' }, /^APS_MAX_CONCURRENT_ACTIVITIES: expected a whole number/],
      [
        { APS_WORKFLOW_THREADS: '0' },
        /^APS_WORKFLOW_THREADS: expected a whole number from 1 to 16 \(default 1\), got "0"/,
      ],
      [{ APS_WORKFLOW_THREADS: '17' }, /^APS_WORKFLOW_THREADS: expected a whole number from 1 to 16 /],
      [
        { APS_MAX_CACHED_WORKFLOWS: '20', APS_MAX_CONCURRENT_WORKFLOW_TASKS: '30' },
        /^APS_MAX_CONCURRENT_WORKFLOW_TASKS \(30\) exceeds APS_MAX_CACHED_WORKFLOWS \(20\).*lower the first or raise the second/,
      ],
    ];
    for (const [env, re] of cases) {
      assert.throws(
        () => workerConfigFrom(env),
        (e: Error) => e instanceof ConfigError && re.test(e.message),
        JSON.stringify(env),
      );
    }
  });

  it('reads the API rate limits: none by default, whole or decimal calls per second', () => {
    assert.deepEqual(workerConfigFrom({}).rateLimits, {});
    assert.deepEqual(rateLimitsFrom({ APS_API_RATE_LIMIT: '400' }), { perSecond: 400 });
    assert.deepEqual(rateLimitsFrom({ APS_API_RATE_LIMIT: ' 20 ', APS_API_RATE_LIMIT_PER_WORKER: '7.5' }), {
      perSecond: 20,
      perWorkerPerSecond: 7.5,
    });
    assert.deepEqual(rateLimitsFrom({ APS_API_RATE_LIMIT_PER_WORKER: '50' }), { perWorkerPerSecond: 50 });
    assert.deepEqual(rateLimitsFrom({ APS_API_RATE_LIMIT: '' }), {});
  });

  it('refuses rate limits that are not positive numbers, or a worker limit above the total', () => {
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [
        { APS_API_RATE_LIMIT: '0' },
        /^APS_API_RATE_LIMIT: expected a positive number of API calls per second .*got "0"; unset it for no limit/,
      ],
      [{ APS_API_RATE_LIMIT: '-5' }, /^APS_API_RATE_LIMIT: expected a positive number/],
      [{ APS_API_RATE_LIMIT: '20/s' }, /^APS_API_RATE_LIMIT: expected a positive number.*got "20\/s"/],
      [{ APS_API_RATE_LIMIT: '1e3' }, /^APS_API_RATE_LIMIT: expected a positive number/],
      [{ APS_API_RATE_LIMIT: '2000000' }, /^APS_API_RATE_LIMIT: .*at most 1000000/],
      [
        { APS_API_RATE_LIMIT_PER_WORKER: 'fast' },
        /^APS_API_RATE_LIMIT_PER_WORKER: expected a positive number/,
      ],
      [
        { APS_API_RATE_LIMIT: '100', APS_API_RATE_LIMIT_PER_WORKER: '150' },
        /^APS_API_RATE_LIMIT_PER_WORKER \(150\) exceeds APS_API_RATE_LIMIT \(100\).*lower the first or raise the second/,
      ],
    ];
    for (const [env, re] of cases) {
      assert.throws(
        () => workerConfigFrom(env),
        (e: Error) => e instanceof ConfigError && re.test(e.message),
        JSON.stringify(env),
      );
    }
  });

  it('turns API rate limits into activity rates (÷ k) and turns waits held in process off', () => {
    const k = RATE_LIMITED_CALLS_PER_ATTEMPT;
    assert.deepEqual(rateLimitPlan({}), { inProcessWaits: true });
    assert.deepEqual(rateLimitPlan({}, false), { inProcessWaits: false });
    assert.deepEqual(rateLimitPlan({ perSecond: 450, perWorkerPerSecond: 150 }), {
      maxTaskQueueActivitiesPerSecond: 450 / k,
      maxActivitiesPerSecond: 150 / k,
      inProcessWaits: false,
      errMessagePages: RATE_LIMITED_ERR_MESSAGE_PAGES,
      actionLogCalls: RATE_LIMITED_ACTION_LOG_CALLS,
      callsPerAttempt: k,
    });
    const perWorker = rateLimitPlan({ perWorkerPerSecond: 30 });
    assert.equal(perWorker.maxTaskQueueActivitiesPerSecond, undefined);
    assert.equal(perWorker.maxActivitiesPerSecond, 30 / k);
    assert.equal(perWorker.inProcessWaits, false);
    assert.throws(
      () => rateLimitPlan({ perSecond: 20 }, true),
      (e: Error) =>
        e instanceof ConfigError && /cannot be enforced while waits are held in process/.test(e.message),
    );
  });

  it('parses endpoint overrides: the scheme chooses the protocol', () => {
    assert.deepEqual(parseEndpoint('adb.cn-hangzhou.aliyuncs.com'), {
      endpoint: 'adb.cn-hangzhou.aliyuncs.com',
      protocol: 'https',
    });
    assert.deepEqual(parseEndpoint('http://127.0.0.1:9000'), {
      endpoint: '127.0.0.1:9000',
      protocol: 'http',
    });
    assert.deepEqual(parseEndpoint('https://example.com:8443/'), {
      endpoint: 'example.com:8443',
      protocol: 'https',
    });
    for (const bad of ['ftp://x', 'http://', 'host:99999', 'a b', 'http://x/path']) {
      assert.throws(
        () => parseEndpoint(bad),
        (e: Error) => e instanceof ConfigError && /ADB_ENDPOINT/.test(e.message),
        bad,
      );
    }
  });

  it('uses an explicit key pair and STS token; refuses half a pair, naming the missing variable', () => {
    const c = alibabaConfigFrom({
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'id',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'secret',
      ALIBABA_CLOUD_SECURITY_TOKEN: 'tok',
    });
    assert.deepEqual(c.credentials, {
      kind: 'access-key',
      accessKeyId: 'id',
      accessKeySecret: 'secret',
      securityToken: 'tok',
    });
    assert.throws(
      () => alibabaConfigFrom({ ALIBABA_CLOUD_ACCESS_KEY_ID: 'id' }),
      (e: Error) => e instanceof ConfigError && /ALIBABA_CLOUD_ACCESS_KEY_SECRET is not set/.test(e.message),
    );
  });

  it('names the variable of a bad value, without echoing secrets', () => {
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ ADB_READ_TIMEOUT: 'soon' }, /^ADB_READ_TIMEOUT: expected a duration/],
      [{ ADB_CONNECT_TIMEOUT: '20m' }, /^ADB_CONNECT_TIMEOUT: .*at most 10m/],
      [{ ADB_ENDPOINT_TYPE: 'private' }, /^ADB_ENDPOINT_TYPE: expected one of 'public', 'vpc'/],
      [{ APS_METRICS_ADDRESS: 'everywhere' }, /^APS_METRICS_ADDRESS: expected host:port/],
      [{ APS_LOG_FORMAT: 'xml' }, /^APS_LOG_FORMAT/],
      [
        { APS_RETRY_RULES: '[{' },
        /^APS_RETRY_RULES: expected a JSON array of retry rules, but it is not valid JSON/,
      ],
      [{ APS_RETRY_RULES: '[]', APS_RETRY_RULES_FILE: '/x' }, /not both/],
      [
        { APS_RETRY_RULES_FILE: '/nonexistent/rules.json' },
        /^APS_RETRY_RULES_FILE \(\/nonexistent\/rules.json\): cannot read/,
      ],
    ];
    for (const [env, re] of cases) {
      const withKeys = {
        ...env,
        ALIBABA_CLOUD_ACCESS_KEY_ID: 'id',
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'S3CRET',
      };
      assert.throws(
        () => workerConfigFrom(withKeys),
        (e: Error) => {
          assert.ok(e instanceof ConfigError, `${JSON.stringify(env)}: ${String(e)}`);
          assert.match(e.message, re);
          assert.doesNotMatch(e.message, /S3CRET/);
          return true;
        },
      );
    }
  });

  it('refuses a connect timeout below the read timeout, naming both variables and the fix', () => {
    const cases: [NodeJS.ProcessEnv, string][] = [
      [
        { ADB_CONNECT_TIMEOUT: '10s', ADB_READ_TIMEOUT: '30s' },
        "ADB_CONNECT_TIMEOUT (10s) must be at least ADB_READ_TIMEOUT (30s): the client's connect timer also bounds the whole exchange; set ADB_CONNECT_TIMEOUT=30s or more",
      ],
      // Against the other's default.
      [
        { ADB_READ_TIMEOUT: '1m' },
        "ADB_CONNECT_TIMEOUT (30s, the default) must be at least ADB_READ_TIMEOUT (1m): the client's connect timer also bounds the whole exchange; set ADB_CONNECT_TIMEOUT=1m or more",
      ],
      [
        { ADB_CONNECT_TIMEOUT: '5s' },
        "ADB_CONNECT_TIMEOUT (5s) must be at least ADB_READ_TIMEOUT (30s, the default): the client's connect timer also bounds the whole exchange; set ADB_CONNECT_TIMEOUT=30s or more",
      ],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => workerConfigFrom(env),
        (e: Error) => e instanceof ConfigError && e.message === message,
        JSON.stringify(env),
      );
    }
    const equal = alibabaConfigFrom({ ADB_CONNECT_TIMEOUT: '3s', ADB_READ_TIMEOUT: '3000' });
    assert.deepEqual([equal.connectTimeoutMs, equal.readTimeoutMs], [3_000, 3_000]);
    const longer = alibabaConfigFrom({ ADB_CONNECT_TIMEOUT: '1m', ADB_READ_TIMEOUT: '10s' });
    assert.deepEqual([longer.connectTimeoutMs, longer.readTimeoutMs], [60_000, 10_000]);
  });

  it("docker-compose.yml's worker defaults make a valid configuration", () => {
    const compose = parse(readFileSync(join(__dirname, '..', 'docker-compose.yml'), 'utf8'), {
      merge: true,
    }) as { services: { worker: { environment: Record<string, string> } } };
    // Each value as compose resolves it with nothing set on the host: `${NAME:-default}` → default.
    const env = Object.fromEntries(
      Object.entries(compose.services.worker.environment).map(([name, value]) => [
        name,
        String(value).replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g, (_, d?: string) => d ?? ''),
      ]),
    );
    assert.ok('ADB_CONNECT_TIMEOUT' in env && 'ADB_READ_TIMEOUT' in env, 'the worker sets both timeouts');
    const config = workerConfigFrom(env);
    assert.ok(config.alibaba.connectTimeoutMs >= config.alibaba.readTimeoutMs);
  });

  it('validates worker-wide rules at start, naming the rule and the field', () => {
    const config = workerConfigFrom({
      APS_RETRY_RULES: '[{"errorEquals":["Throttling.*"],"maxAttempts":-1}]',
    });
    assert.throws(
      () => workerRulesFrom(config),
      (e: Error) => e instanceof ConfigError && /APS_RETRY_RULES\[0\]\.maxAttempts/.test(e.message),
    );
    const ok = workerConfigFrom({
      APS_RETRY_RULES: '[{"name":"slow","errorEquals":["Throttling.*"],"maxAttempts":5}]',
    });
    assert.equal(workerRulesFrom(ok)?.[0]?.name, 'slow');
  });

  it('takes the CLI region from the flag, else ADB_REGION_ID, and validates it', () => {
    assert.equal(regionFrom('cn-beijing', { ADB_REGION_ID: 'cn-hangzhou' }), 'cn-beijing');
    assert.equal(regionFrom(undefined, { ADB_REGION_ID: 'cn-hangzhou' }), 'cn-hangzhou');
    assert.throws(() => regionFrom(undefined, {}), /--region is required/);
    assert.throws(() => regionFrom(undefined, { ADB_REGION_ID: 'Hangzhou' }), /ADB_REGION_ID/);
    assert.throws(() => regionFrom('Hangzhou', {}), /--region/);
  });

  it('writes each log entry on one line, in text as in JSON, however long its metadata', () => {
    const meta = {
      sdkComponent: 'activity',
      workflowId: `run-${'x'.repeat(120)}`,
      activityType: 'startApsJob',
      code: 'ServiceUnavailable',
      httpStatus: 503,
      nested: { reason: 'the rule retries', attempt: 3 },
    };
    const entry = {
      level: 'WARN' as const,
      message: 'DescribeApsJobDetail failed',
      meta,
      timestampNanos: 1_700_000_000_000_000_000n,
    };
    const text = formatLogLine(entry, 'text');
    assert.equal(text.split('\n').length, 2, text);
    assert.match(
      text,
      /^2023-11-14T22:13:20\.000Z \[WARN\] DescribeApsJobDetail failed \{.*code: 'ServiceUnavailable'.*reason: 'the rule retries'/,
    );
    const json = formatLogLine(entry, 'json');
    assert.equal(json.split('\n').length, 2, json);
    assert.deepEqual(JSON.parse(json), {
      time: '2023-11-14T22:13:20.000Z',
      level: 'WARN',
      message: 'DescribeApsJobDetail failed',
      ...meta,
    });
    assert.equal(
      formatLogLine({ ...entry, meta: undefined }, 'text'),
      '2023-11-14T22:13:20.000Z [WARN] DescribeApsJobDetail failed\n',
    );
  });
});
