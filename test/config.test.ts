import { strict as assert } from 'node:assert';
import { ConfigError, alibabaConfigFrom, parseEndpoint, regionFrom, workerConfigFrom } from '../src/config';
import { workerRulesFrom } from '../src/worker';

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
});
