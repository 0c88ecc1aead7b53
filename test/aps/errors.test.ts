/**
 * Unit tests of the error normalization. Response errors are built with tea-typescript's
 * `newError`, the very function openapi-client 0.4.15 throws them with; socket and timeout errors
 * copy the shapes httpx and Node produce (test/aps/client.test.ts provokes the real ones).
 */
import { strict as assert } from 'node:assert';
import * as $tea from '@alicloud/tea-typescript';
import {
  classifyCode,
  errorFromBody,
  normalizeError,
  redact,
  redactText,
  NON_JSON_RESPONSE,
  SUCCESS_FALSE,
  UNKNOWN_ERROR,
  INPUT_VALIDATION,
  KNOWN_ERROR_CODES,
  knownErrorCode,
  MALFORMED_RESPONSE,
} from '../../src/aps/errors';
import { ApsApiError, type ApsError, type RetryClass } from '../../src/aps/types';
import { InputValidationError } from '../../src/validation';

/** An HTTP 4xx/5xx error exactly as openapi-client's doRequest builds it from a JSON body. */
function responseError(status: number, body: Record<string, unknown>): Error {
  const err: Record<string, unknown> = { ...body, statusCode: status };
  return $tea.newError({
    code: `${String(err.Code ?? err.code)}`,
    message: `code: ${status}, ${String(err.Message ?? err.message)} request id: ${String(err.RequestId)}`,
    data: err,
    description: `${String(err.Description ?? err.description)}`,
    accessDeniedDetail: err.AccessDeniedDetail,
  });
}

function systemError(code: string, message: string, syscall?: string): Error {
  return Object.assign(new Error(`${message}POST http://127.0.0.1:9/ failed.`), {
    code,
    ...(syscall ? { syscall, errno: -1 } : {}),
  });
}

function timeoutError(message: string): Error {
  const err = new Error(message);
  err.name = 'RequestTimeoutError';
  return err;
}

function pick(e: ApsError): Partial<ApsError> {
  return {
    code: e.code,
    httpStatus: e.httpStatus,
    requestId: e.requestId,
    retryClass: e.retryClass,
    ambiguous: e.ambiguous,
  };
}

describe('classifyCode', () => {
  const table: Array<[string, RetryClass]> = [
    ['Throttling', 'throttled'],
    ['Throttling.User', 'throttled'],
    ['Throttling.Api', 'throttled'],
    ['Throttling.Concurrency', 'throttled'],
    ['ServiceUnavailable', 'transient'],
    ['ADBConsoleAPIError', 'transient'],
    ['ADBConsoleAPITimeout', 'transient'],
    ['InternalError', 'transient'],
    ['InternalServerError', 'transient'],
    ['InternalFailure', 'transient'],
    ['AcsServerTimeOut', 'transient'],
    ['SignatureNonceUsed', 'transient'],
    ['IncorrectDBInstanceState', 'transient'],
    ['InvalidSecurityToken.Expired', 'transient'],
    ['InvalidSecurityToken.MismatchWithAccessKey', 'transient'],
    ['InvalidInput', 'permanent'],
    ['InvalidParameter', 'permanent'],
    ['InvalidParameter.ApsJobId', 'permanent'],
    ['InvalidParameterValue', 'permanent'],
    ['MissingParameter', 'permanent'],
    ['MissingParameter.RegionId', 'permanent'],
    ['InvalidAction', 'permanent'],
    ['ApiVersionForbidden', 'permanent'],
    ['InvalidDBClusterId.NotFound', 'permanent'],
    ['InvalidDBCluster.NotFound', 'permanent'],
    ['InvalidApi.NotFound', 'permanent'],
    ['InvalidAccessKeyId.NotFound', 'permanent'],
    ['InvalidAccessKeyId.Inactive', 'permanent'],
    ['SignatureDoesNotMatch', 'permanent'],
    ['IncompleteSignature', 'permanent'],
    ['Unauthorized', 'permanent'],
    ['Forbidden', 'permanent'],
    ['Forbidden.RAM', 'permanent'],
    ['Forbidden.AccessDenied', 'permanent'],
    ['InvalidTimeStamp.Expired', 'permanent'],
    ['InvalidTimeStamp.Format', 'permanent'],
    ['ADBClassNotSupport', 'permanent'],
    ['InvalidCredentials', 'permanent'],
    ['ReadTimeout', 'transient'],
    ['ConnectTimeout', 'transient'],
    ['NonJsonResponse', 'transient'],
    ['ECONNRESET', 'transient'],
    ['ECONNREFUSED', 'transient'],
    ['EAI_AGAIN', 'transient'],
    ['SomethingNew', 'unknown'],
    ['ThrottlingX', 'unknown'],
    ['ForbiddenX', 'unknown'],
  ];
  for (const [code, cls] of table) {
    it(`${code} → ${cls}`, () => assert.equal(classifyCode(code), cls));
  }

  it('ignores case, since documented spellings differ between pages', () => {
    assert.equal(classifyCode('throttling.user'), 'throttled');
    assert.equal(classifyCode('ACSSERVERTIMEOUT'), 'transient');
    assert.equal(classifyCode('forbidden.ram'), 'permanent');
  });

  it('uses the HTTP status only for codes the tables do not list', () => {
    assert.equal(classifyCode('SomethingNew', 503), 'transient');
    assert.equal(classifyCode('SomethingNew', 500), 'transient');
    assert.equal(classifyCode('SomethingNew', 408), 'transient');
    assert.equal(classifyCode('SomethingNew', 429), 'throttled');
    assert.equal(classifyCode('SomethingNew', 400), 'unknown');
    assert.equal(classifyCode('InvalidInput', 500), 'permanent');
    assert.equal(classifyCode('Throttling.User', 403), 'throttled');
  });
});

describe('knownErrorCode (the bounded code set of metric labels)', () => {
  it('knows every classified code of the table above, in its documented spelling', () => {
    const classified = [
      'Throttling',
      'Throttling.User',
      'ServiceUnavailable',
      'AcsServerTimeOut',
      'InvalidInput',
    ];
    for (const code of classified) {
      assert.ok(KNOWN_ERROR_CODES.includes(code), code);
      assert.equal(knownErrorCode(code.toUpperCase()), code);
    }
  });

  it('lists only codes the classifier recognizes by name, apart from the synthetic catch-alls', () => {
    const catchAll = new Set([UNKNOWN_ERROR, SUCCESS_FALSE, MALFORMED_RESPONSE]);
    for (const code of KNOWN_ERROR_CODES) {
      if (!catchAll.has(code)) assert.notEqual(classifyCode(code), 'unknown', code);
    }
    assert.equal(new Set(KNOWN_ERROR_CODES.map((c) => c.toLowerCase())).size, KNOWN_ERROR_CODES.length);
  });

  it('passes HttpStatus codes of real statuses; anything else is not known', () => {
    assert.equal(knownErrorCode('HttpStatus502'), 'HttpStatus502');
    for (const code of [
      'HttpStatus600',
      'HttpStatus5000',
      'Throttling.Concurrency',
      'ForbiddenX',
      'EWHATEVER',
    ]) {
      assert.equal(knownErrorCode(code), undefined, code);
    }
  });
});

describe('normalizeError: HTTP 4xx/5xx with a JSON body', () => {
  it('400 with Code/Message/RequestId → the body code, status, request ID and message', () => {
    const body = {
      Code: 'InvalidInput',
      Message: 'The ApsJobId is invalid.',
      RequestId: 'RID-400',
      HostId: 'adb.cn-hangzhou.aliyuncs.com',
      Recommend: 'https://api.aliyun.com/troubleshoot?q=InvalidInput',
    };
    const e = normalizeError(responseError(400, body));
    assert.deepEqual(pick(e), {
      code: 'InvalidInput',
      httpStatus: 400,
      requestId: 'RID-400',
      retryClass: 'permanent',
      ambiguous: false,
    });
    assert.equal(e.message, 'The ApsJobId is invalid.');
    assert.deepEqual(e.raw, { ...body, statusCode: 400 });
  });

  const rows: Array<[number, string, RetryClass, boolean]> = [
    [400, 'Throttling.User', 'throttled', false],
    [429, 'Throttling', 'throttled', false],
    [503, 'ServiceUnavailable', 'transient', true],
    [503, 'ADBConsoleAPITimeout', 'transient', true],
    [500, 'InternalError', 'transient', true],
    [408, 'AcsServerTimeOut', 'transient', true],
    [400, 'AcsServerTimeOut', 'transient', true],
    [400, 'SignatureNonceUsed', 'transient', false],
    [400, 'IncorrectDBInstanceState', 'transient', false],
    [403, 'InvalidSecurityToken.Expired', 'transient', false],
    [404, 'InvalidDBClusterId.NotFound', 'permanent', false],
    [403, 'Forbidden.RAM', 'permanent', false],
    [400, 'SignatureDoesNotMatch', 'permanent', false],
    [400, 'InvalidTimeStamp.Expired', 'permanent', false],
    [400, 'ADBClassNotSupport', 'permanent', false],
    [400, 'BrandNewCode', 'unknown', false],
    [502, 'BrandNewCode', 'transient', true],
  ];
  for (const [status, code, cls, ambiguous] of rows) {
    it(`${status} ${code} → ${cls}${ambiguous ? ', ambiguous' : ''}`, () => {
      const e = normalizeError(responseError(status, { Code: code, Message: 'm', RequestId: 'R' }));
      assert.deepEqual(pick(e), { code, httpStatus: status, requestId: 'R', retryClass: cls, ambiguous });
    });
  }

  it('5xx without a code → a synthetic HttpStatus<n> code, transient and ambiguous', () => {
    const err = responseError(503, { RequestId: 'RID-503' });
    assert.equal(
      (err as Error & { code: string }).code,
      'undefined',
      'the client writes the string "undefined"',
    );
    const e = normalizeError(err);
    assert.deepEqual(pick(e), {
      code: 'HttpStatus503',
      httpStatus: 503,
      requestId: 'RID-503',
      retryClass: 'transient',
      ambiguous: true,
    });
    assert.match(e.message, /HTTP 503 without an error code/);
  });

  it('4xx without a code → HttpStatus<n>, unknown', () => {
    const e = normalizeError(responseError(404, {}));
    assert.deepEqual(pick(e), {
      code: 'HttpStatus404',
      httpStatus: 404,
      requestId: undefined,
      retryClass: 'unknown',
      ambiguous: false,
    });
  });
});

describe('errorFromBody: HTTP 200 with Success: false', () => {
  it('uses ErrCode/ErrMessage and is always ambiguous', () => {
    const body = { Success: false, ErrCode: 'InvalidInput', ErrMessage: 'no such job', RequestId: 'R1' };
    const e = errorFromBody(body, 200);
    assert.deepEqual(pick(e), {
      code: 'InvalidInput',
      httpStatus: 200,
      requestId: 'R1',
      retryClass: 'permanent',
      ambiguous: true,
    });
    assert.equal(e.message, 'no such job');
    assert.deepEqual(e.raw, body);
  });

  it('accepts a numeric ErrCode', () => {
    const e = errorFromBody({ Success: false, ErrCode: 500, ErrMessage: 'boom' }, 200);
    assert.equal(e.code, '500');
    assert.equal(e.retryClass, 'unknown');
  });

  it('falls back to Code/Message', () => {
    const e = errorFromBody({ Success: false, Code: 'Throttling.User', Message: 'slow down' }, 200);
    assert.equal(e.code, 'Throttling.User');
    assert.equal(e.retryClass, 'throttled');
    assert.equal(e.message, 'slow down');
  });

  it('without any code → SuccessFalse, unknown', () => {
    const e = errorFromBody({ Success: 'false', ErrCode: '', RequestId: 'R2' }, 200);
    assert.deepEqual(pick(e), {
      code: SUCCESS_FALSE,
      httpStatus: 200,
      requestId: 'R2',
      retryClass: 'unknown',
      ambiguous: true,
    });
    assert.match(e.message, /Success: false/);
  });
});

describe('normalizeError: transport failures', () => {
  it('SyntaxError from a non-JSON body → NonJsonResponse, transient, ambiguous', () => {
    let syntax: unknown;
    try {
      JSON.parse('<html>502 Bad Gateway</html>');
    } catch (err) {
      syntax = err;
    }
    const e = normalizeError(syntax);
    assert.deepEqual(pick(e), {
      code: NON_JSON_RESPONSE,
      httpStatus: undefined,
      requestId: undefined,
      retryClass: 'transient',
      ambiguous: true,
    });
  });

  it("tea-util's 'The value is not a object' (JSON that is not an object) → NonJsonResponse", () => {
    assert.equal(normalizeError(new Error('The value is not a object')).code, NON_JSON_RESPONSE);
  });

  it('RequestTimeoutError ReadTimeout(ms) → ReadTimeout, transient, ambiguous', () => {
    const e = normalizeError(
      timeoutError('ReadTimeout(30000). POST http://adb.cn-hangzhou.aliyuncs.com/ failed.'),
    );
    assert.deepEqual(pick(e), {
      code: 'ReadTimeout',
      httpStatus: undefined,
      requestId: undefined,
      retryClass: 'transient',
      ambiguous: true,
    });
  });

  it('RequestTimeoutError "ReadTimeout: n." (while reading the body) → ReadTimeout', () => {
    assert.equal(normalizeError(timeoutError('ReadTimeout: 300. POST / failed.')).code, 'ReadTimeout');
  });

  it('RequestTimeoutError ConnectTimeout → ConnectTimeout, transient, and ambiguous (httpx uses it as an idle timeout)', () => {
    const e = normalizeError(timeoutError('ConnectTimeout: Connect http://127.0.0.1:9/ failed.'));
    assert.deepEqual(pick(e), {
      code: 'ConnectTimeout',
      httpStatus: undefined,
      requestId: undefined,
      retryClass: 'transient',
      ambiguous: true,
    });
  });

  const sockets: Array<[string, string, string | undefined, boolean]> = [
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9', 'connect', false],
    ['ECONNRESET', 'socket hang up', undefined, true],
    ['ECONNRESET', 'read ECONNRESET', 'read', true],
    ['EPIPE', 'write EPIPE', 'write', true],
    ['ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:443', 'connect', false],
    ['ETIMEDOUT', 'read ETIMEDOUT', 'read', true],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND adb.nowhere.aliyuncs.com', 'getaddrinfo', false],
    ['EAI_AGAIN', 'getaddrinfo EAI_AGAIN adb.cn-hangzhou.aliyuncs.com', 'getaddrinfo', false],
    ['EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.1:443', 'connect', false],
  ];
  for (const [code, message, syscall, ambiguous] of sockets) {
    it(`${code} (${syscall ?? 'no syscall'}) → transient${ambiguous ? ', ambiguous' : ', not ambiguous'}`, () => {
      const e = normalizeError(systemError(code, message, syscall));
      assert.deepEqual(pick(e), {
        code,
        httpStatus: undefined,
        requestId: undefined,
        retryClass: 'transient',
        ambiguous,
      });
      assert.match(e.message, /\. POST http:\/\/127\.0\.0\.1:9\/ failed\.$/, 'httpx suffix separated');
    });
  }
});

describe('normalizeError: everything else', () => {
  it("the client's InvalidCredentials (no credential configured) → permanent, not ambiguous", () => {
    const err = $tea.newError({
      code: 'InvalidCredentials',
      message: 'Please set up the credentials correctly.',
    });
    assert.deepEqual(pick(normalizeError(err)), {
      code: 'InvalidCredentials',
      httpStatus: undefined,
      requestId: undefined,
      retryClass: 'permanent',
      ambiguous: false,
    });
  });

  it('an ApsApiError passes through unchanged, without the action prefix', () => {
    const inner: ApsError = {
      code: 'Throttling',
      message: 'm',
      retryClass: 'throttled',
      ambiguous: false,
      raw: {},
    };
    assert.equal(normalizeError(new ApsApiError(inner), { action: 'StartApsJob' }), inner);
  });

  it('an InputValidationError → permanent, not ambiguous, naming the field', () => {
    const e = normalizeError(new InputValidationError('apsJobId', 'an APS job ID', 'an empty string'));
    assert.equal(e.code, INPUT_VALIDATION);
    assert.equal(e.retryClass, 'permanent');
    assert.equal(e.ambiguous, false);
    assert.match(e.message, /apsJobId/);
  });

  it('an Error without a code, or a thrown non-Error → UnknownError, unknown, ambiguous', () => {
    for (const thrown of [new TypeError('x is undefined'), 'a string', { weird: true }]) {
      const e = normalizeError(thrown);
      assert.equal(e.code, UNKNOWN_ERROR);
      assert.equal(e.retryClass, 'unknown');
      assert.equal(e.ambiguous, true);
    }
  });

  it('context.action names the operation in the message', () => {
    const e = normalizeError(systemError('ECONNRESET', 'socket hang up'), { action: 'StartApsJob' });
    assert.match(e.message, /^StartApsJob failed: socket hang up\./);
  });
});

describe('redaction', () => {
  const SECRET = 'S3cr3tValue42';
  const TOKEN = 'CAISstsTokenValue99';

  it('removes credential-named fields at any depth and masks credentials in strings', () => {
    const err = Object.assign(
      new Error(
        `failed: Authorization: ACS3-HMAC-SHA256 Credential=AKID,SignedHeaders=host;x-acs-date,Signature=${SECRET} url?SecurityToken=${TOKEN}&A=b`,
      ),
      {
        code: 'ECONNRESET',
        data: {
          lastRequest: { headers: { Authorization: `ACS3-HMAC-SHA256 Signature=${SECRET}` } },
          nested: [{ 'x-acs-security-token': TOKEN, AccessKeySecret: SECRET, password: SECRET }],
          note: `"access_key_secret": "${SECRET}", "sts_token":"${TOKEN}"`,
          ok: 'keep me',
        },
      },
    );
    const e = normalizeError(err);
    const text = JSON.stringify(e);
    assert.ok(!text.includes(SECRET), text);
    assert.ok(!text.includes(TOKEN), text);
    assert.ok(text.includes('keep me'));
  });

  it('redact walks plain objects only and survives cycles', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const out = redact({ cyclic, when: new Date(0), token: 'x' }) as Record<string, unknown>;
    assert.equal(out.token, '[REDACTED]');
    assert.equal(out.when, '[Date]');
    assert.deepEqual(out.cyclic, { a: 1, self: '[…]' });
  });

  it('redactText leaves ordinary error text alone', () => {
    const msg = 'InvalidSecurityToken.Expired: The security token you provided has expired.';
    assert.equal(redactText(msg), msg);
  });
});
