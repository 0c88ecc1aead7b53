import { strict as assert } from 'node:assert';
import OpenApiUtil from '@alicloud/openapi-util';
import { Request as TeaRequest } from '@alicloud/tea-typescript';
import { startEmulator, generateAccessKey, type RunningEmulator } from '../../src/emulator';
import { NonceCache } from '../../src/emulator/replay';
import { canonicalQuery, rfc3986, sha256Hex, signAcs3 } from '../../src/emulator/signature';
import { expectError, expectOk, httpRequest, rawCall, signedRequest, type RawTarget } from './helpers';

describe('emulator: ACS3-HMAC-SHA256 canonicalization', () => {
  it('signs exactly as @alicloud/openapi-util does (query, several x-acs headers, content-type)', () => {
    const body = 'ApsJobId=aps-1&RegionId=cn-hangzhou';
    const headers = {
      host: '127.0.0.1:9000',
      'x-acs-action': 'StartApsJob',
      'x-acs-version': '2021-12-01',
      'x-acs-date': '2024-01-31T08:00:00Z',
      'x-acs-signature-nonce': 'abc123',
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'not-signed',
      accept: 'application/json',
    };
    const query: [string, string][] = [
      ['b', "it's (a) *test*!"],
      ['a', 'x y/z'],
    ];
    const ours = signAcs3({
      headers,
      body,
      query,
      accessKeyId: 'LTAItest',
      accessKeySecret: 'secret',
      nonce: 'abc123',
    });
    const req = new TeaRequest();
    req.method = 'POST';
    req.pathname = '/';
    req.query = Object.fromEntries(query);
    req.headers = { ...headers, 'x-acs-content-sha256': sha256Hex(body) };
    const theirs = OpenApiUtil.getAuthorization(
      req,
      'ACS3-HMAC-SHA256',
      sha256Hex(body),
      'LTAItest',
      'secret',
    );
    assert.equal(ours.authorization, theirs);
  });

  it('encodes query values per RFC 3986 and sorts keys', () => {
    assert.equal(rfc3986("!'()*~ é"), '%21%27%28%29%2A~%20%C3%A9');
    assert.equal(
      canonicalQuery([
        ['b', '1'],
        ['a', 'x y'],
        ['B', ''],
      ]),
      'B=&a=x%20y&b=1',
    );
  });
});

describe('emulator: the replay window', () => {
  it('rejects a nonce seen within the window, forgets it afterwards, and stays bounded', () => {
    const cache = new NonceCache(1000, 3);
    assert.equal(cache.checkAndRecord('k', 'n1', 0), true);
    assert.equal(cache.checkAndRecord('k', 'n1', 500), false);
    assert.equal(cache.checkAndRecord('other', 'n1', 500), true, 'nonces are per key');
    assert.equal(cache.checkAndRecord('k', 'n1', 1000), true, 'expired after the window');
    for (let i = 0; i < 10; i++) cache.checkAndRecord('k', `m${i}`, 1001);
    assert.equal(cache.size, 3);
  });
});

describe('emulator: authentication through the real openapi-client', () => {
  const key = generateAccessKey();
  const sts = generateAccessKey({ sts: true });
  const inactive = { ...generateAccessKey(), inactive: true };
  const expired = { ...generateAccessKey({ sts: true }), securityTokenExpired: true };
  const job = { RegionId: 'cn-hangzhou', ApsJobId: 'aps-auth1' };
  let emu: RunningEmulator;
  let target: RawTarget;
  before(async () => {
    emu = await startEmulator({
      accessKeys: [key, sts, inactive, expired],
      jobs: [{ apsJobId: 'aps-auth1', kind: 'streaming' }],
    });
    target = { endpoint: emu.endpoint, key };
  });
  after(async () => {
    await emu.close();
  });
  beforeEach(() => emu.reset());

  it('accepts the configured key and logs a valid signature', async () => {
    expectOk(await rawCall(target, 'DescribeApsJobDetail', job));
    const [entry] = emu.requests();
    assert.equal(entry?.signatureValid, true);
    assert.equal(entry?.accessKeyId, key.accessKeyId);
    assert.equal(entry?.code, 'OK');
  });

  it('a wrong secret is SignatureDoesNotMatch (400), and the start does not happen', async () => {
    const data = expectError(
      await rawCall({ ...target, key: { ...key, accessKeySecret: 'wrong' } }, 'StartApsJob', job),
      'SignatureDoesNotMatch',
      400,
    );
    assert.match(String(data.Message), /string to sign/);
    assert.equal(emu.effectiveStarts('aps-auth1'), 0);
    assert.equal(emu.requests()[0]?.signatureValid, false);
    assert.equal(emu.counters().signatureFailures, 1);
  });

  it('an unknown key is InvalidAccessKeyId.NotFound (404)', async () => {
    expectError(
      await rawCall({ ...target, key: generateAccessKey() }, 'StartApsJob', job),
      'InvalidAccessKeyId.NotFound',
      404,
    );
  });

  it('a disabled key is InvalidAccessKeyId.Inactive (400)', async () => {
    expectError(
      await rawCall({ ...target, key: inactive }, 'DescribeApsJobDetail', job),
      'InvalidAccessKeyId.Inactive',
      400,
    );
  });

  it('an STS key with its token is accepted', async () => {
    expectOk(await rawCall({ ...target, key: sts }, 'StartApsJob', job));
    assert.equal(emu.effectiveStarts('aps-auth1'), 1);
  });

  it('an STS key with a wrong token is InvalidSecurityToken.MismatchWithAccessKey (400)', async () => {
    expectError(
      await rawCall({ ...target, key: { ...sts, securityToken: 'CAISwrong' } }, 'StartApsJob', job),
      'InvalidSecurityToken.MismatchWithAccessKey',
      400,
    );
    assert.equal(emu.effectiveStarts('aps-auth1'), 0);
  });

  it('an STS key without its token is InvalidSecurityToken.Missing (400)', async () => {
    const { securityToken: _omit, ...noToken } = sts;
    expectError(
      await rawCall({ ...target, key: noToken }, 'StartApsJob', job),
      'InvalidSecurityToken.Missing',
      400,
    );
  });

  it('a token sent with a long-term key is rejected', async () => {
    expectError(
      await rawCall({ ...target, key: { ...key, securityToken: 'CAISx' } }, 'StartApsJob', job),
      'InvalidSecurityToken.MismatchWithAccessKey',
      400,
    );
  });

  it('an expired STS token is InvalidSecurityToken.Expired (400)', async () => {
    expectError(
      await rawCall({ ...target, key: expired }, 'StartApsJob', job),
      'InvalidSecurityToken.Expired',
      400,
    );
  });
});

describe('emulator: authentication of hand-signed requests', () => {
  const key = generateAccessKey();
  const params = { RegionId: 'cn-hangzhou', ApsJobId: 'aps-auth2' };
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ accessKeys: [key], jobs: [{ apsJobId: 'aps-auth2', kind: 'streaming' }] });
  });
  after(async () => {
    await emu.close();
  });
  beforeEach(() => emu.reset());

  const send = (action: string, sign: Parameters<typeof signedRequest>[3] = key) => {
    const { headers, body } = signedRequest(emu.port, action, params, sign);
    return httpRequest(emu.port, { headers, body });
  };

  it('a correctly hand-signed request is accepted', async () => {
    const res = await send('StartApsJob');
    assert.equal(res.status, 200, res.text);
    assert.equal(emu.effectiveStarts('aps-auth2'), 1);
  });

  it('a date 20 minutes off either way is InvalidTimeStamp.Expired (400); 10 minutes passes', async () => {
    for (const offset of [-20, 20]) {
      const res = await send('StartApsJob', { ...key, date: new Date(Date.now() + offset * 60_000) });
      assert.equal(res.status, 400);
      assert.equal(res.json?.Code, 'InvalidTimeStamp.Expired');
    }
    assert.equal(emu.effectiveStarts('aps-auth2'), 0);
    const ok = await send('DescribeApsJobDetail', { ...key, date: new Date(Date.now() - 10 * 60_000) });
    assert.equal(ok.status, 200, ok.text);
  });

  it('a malformed date is InvalidTimeStamp.Format (400)', async () => {
    const { headers, body } = signedRequest(emu.port, 'DescribeApsJobDetail', params, {
      ...key,
      extraHeaders: { 'x-acs-date': 'Wed, 31 Jan 2024 08:00:00 GMT' },
    });
    const res = await httpRequest(emu.port, { headers, body });
    assert.equal(res.status, 400);
    assert.equal(res.json?.Code, 'InvalidTimeStamp.Format');
  });

  it('a replayed request is SignatureNonceUsed (400) and has no second effect', async () => {
    const { headers, body } = signedRequest(emu.port, 'StartApsJob', params, key);
    assert.equal((await httpRequest(emu.port, { headers, body })).status, 200);
    emu.setJobStatus('aps-auth2', 'Suspended');
    const replay = await httpRequest(emu.port, { headers, body });
    assert.equal(replay.status, 400);
    assert.equal(replay.json?.Code, 'SignatureNonceUsed');
    assert.equal(emu.effectiveStarts('aps-auth2'), 1);
  });

  it('a body changed after signing is SignatureDoesNotMatch', async () => {
    const { headers } = signedRequest(emu.port, 'StartApsJob', params, key);
    const body = 'ApsJobId=aps-other&RegionId=cn-hangzhou';
    const res = await httpRequest(emu.port, {
      headers: { ...headers, 'content-length': String(body.length) },
      body,
    });
    assert.equal(res.status, 400);
    assert.equal(res.json?.Code, 'SignatureDoesNotMatch');
    assert.match(String(res.json?.Message), /x-acs-content-sha256/);
  });

  it('an x-acs header added after signing is SignatureDoesNotMatch (SignedHeaders must list it)', async () => {
    const { headers, body } = signedRequest(emu.port, 'StartApsJob', params, key);
    const res = await httpRequest(emu.port, { headers: { ...headers, 'x-acs-extra': '1' }, body });
    assert.equal(res.status, 400);
    assert.equal(res.json?.Code, 'SignatureDoesNotMatch');
    assert.match(String(res.json?.Message), /SignedHeaders/);
  });

  it('parameters in the signed query string are accepted; a changed query is SignatureDoesNotMatch', async () => {
    const query: [string, string][] = [
      ['RegionId', 'cn-hangzhou'],
      ['ApsJobId', 'aps-auth2'],
    ];
    const headers = signAcs3({
      headers: {
        host: `127.0.0.1:${emu.port}`,
        'x-acs-action': 'DescribeApsJobDetail',
        'x-acs-version': '2021-12-01',
      },
      query,
      body: '',
      accessKeyId: key.accessKeyId,
      accessKeySecret: key.accessKeySecret,
    });
    const ok = await httpRequest(emu.port, { path: '/?RegionId=cn-hangzhou&ApsJobId=aps-auth2', headers });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((ok.json?.APSJobDetail as Record<string, unknown>).Status, 'Suspended');
    const headers2 = signAcs3({
      headers: {
        host: `127.0.0.1:${emu.port}`,
        'x-acs-action': 'DescribeApsJobDetail',
        'x-acs-version': '2021-12-01',
      },
      query,
      body: '',
      accessKeyId: key.accessKeyId,
      accessKeySecret: key.accessKeySecret,
    });
    const tampered = await httpRequest(emu.port, {
      path: '/?RegionId=cn-beijing&ApsJobId=aps-auth2',
      headers: headers2,
    });
    assert.equal(tampered.json?.Code, 'SignatureDoesNotMatch');
  });

  it('Action and Version may come as parameters instead of headers', async () => {
    const query: [string, string][] = [
      ['Action', 'DescribeApsJobDetail'],
      ['Version', '2021-12-01'],
      ['ApsJobId', 'aps-auth2'],
    ];
    const headers = signAcs3({
      method: 'GET',
      headers: { host: `127.0.0.1:${emu.port}` },
      query,
      body: '',
      accessKeyId: key.accessKeyId,
      accessKeySecret: key.accessKeySecret,
    });
    const res = await httpRequest(emu.port, {
      method: 'GET',
      path: '/?Action=DescribeApsJobDetail&Version=2021-12-01&ApsJobId=aps-auth2',
      headers,
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(emu.requests().at(-1)?.action, 'DescribeApsJobDetail');
  });

  it('a missing Authorization header is IncompleteSignature (400), also for V2 query signatures', async () => {
    const { headers, body } = signedRequest(emu.port, 'StartApsJob', params, key);
    const { authorization: _drop, ...unsigned } = headers;
    const res = await httpRequest(emu.port, { headers: unsigned, body });
    assert.equal(res.status, 400);
    assert.equal(res.json?.Code, 'IncompleteSignature');
    assert.match(String(res.json?.Message), /Authorization header is missing/);
    const v2 = await httpRequest(emu.port, {
      path: '/?Signature=abc&SignatureMethod=HMAC-SHA1',
      headers: unsigned,
      body,
    });
    assert.equal(v2.json?.Code, 'IncompleteSignature');
    assert.match(String(v2.json?.Message), /V2/);
  });

  it('a malformed Authorization header or another algorithm is IncompleteSignature (400)', async () => {
    const { headers, body } = signedRequest(emu.port, 'StartApsJob', params, key);
    for (const authorization of [
      'garbage',
      'ACS3-HMAC-SHA256 Credential=x',
      headers.authorization?.replace('ACS3-HMAC-SHA256', 'ACS3-HMAC-SM3') ?? '',
    ]) {
      const res = await httpRequest(emu.port, { headers: { ...headers, authorization }, body });
      assert.equal(res.status, 400, authorization);
      assert.equal(res.json?.Code, 'IncompleteSignature', authorization);
    }
    assert.equal(emu.effectiveStarts('aps-auth2'), 0);
  });
});
