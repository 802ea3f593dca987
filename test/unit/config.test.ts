import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

const SECRET = 'sk_live_do_not_print_me';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.message).toContain(e.problems.join('\n  - '));
    return e.problems;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  it('fills every default when nothing is set, and freezes the result', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.idempotencyTtlSeconds).toBe(86_400);
    expect(config.apiKeys.get('sk_demo_change_me')).toBe('demo');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads values, converting numbers, and maps each secret to its tenant', () => {
    const config = loadConfig({
      PORT: '0',
      IDEMPOTENCY_TTL_SECONDS: '1',
      API_KEYS: `acme:${SECRET},globex:sk_other_12345`,
      LOG_LEVEL: 'silent',
    });
    expect(config.port).toBe(0);
    expect(config.idempotencyTtlSeconds).toBe(1);
    expect([...config.apiKeys]).toEqual([
      [SECRET, 'acme'],
      ['sk_other_12345', 'globex'],
    ]);
  });

  it('caps connections per address at a tenth of the total unless set', () => {
    expect(loadConfig({}).http).toMatchObject({ maxConnections: 10_000, maxConnectionsPerAddress: 1_000 });
    expect(loadConfig({ HTTP_MAX_CONNECTIONS: '5' }).http.maxConnectionsPerAddress).toBe(1);
    expect(loadConfig({ HTTP_MAX_CONNECTIONS_PER_ADDRESS: '7' }).http.maxConnectionsPerAddress).toBe(7);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(3000);
  });

  it('lists every problem at once, naming each variable', () => {
    const problems = problemsOf({
      PORT: 'abc',
      LOG_LEVEL: 'loud',
      WORKER_CONCURRENCY: '0',
      DATABASE_URL: 'mysql://x/y',
      REDIS_URL: 'http://x',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'PORT', 'REDIS_URL', 'WORKER_CONCURRENCY']);
    expect(problems.find((p) => p.startsWith('PORT'))).toContain('"abc"');
  });

  it('refuses integers written as anything but digits instead of rounding or guessing', () => {
    const problems = problemsOf({
      IDEMPOTENCY_TTL_SECONDS: '1.5',
      MAX_ATTEMPTS: 'true',
      PORT: '0x10',
      PG_POOL_SIZE: '1e1',
      WORKER_CONCURRENCY: ' ',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'IDEMPOTENCY_TTL_SECONDS',
      'MAX_ATTEMPTS',
      'PG_POOL_SIZE',
      'PORT',
      'WORKER_CONCURRENCY',
    ]);
  });

  it('lists a duplicated API secret together with the other problems', () => {
    const problems = problemsOf({ API_KEYS: `acme:${SECRET},globex:${SECRET}`, PORT: '-5' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['API_KEYS', 'PORT']);
  });

  it('never echoes a secret, whatever is wrong with it', () => {
    const envs: Record<string, string>[] = [
      { API_KEYS: `acme:${SECRET},globex:${SECRET}` },
      { API_KEYS: `acme ${SECRET}` },
      { API_KEYS: `acme:${SECRET},` },
      { API_KEYS: `acme:${SECRET}`, PORT: 'x', DATABASE_URL: `mysql://u:${SECRET}@h/db`, REDIS_URL: `http://:${SECRET}@h` },
      { DATABASE_READ_URL: `mysql://u:${SECRET}@replica/db` },
    ];
    for (const env of envs) {
      const problems = problemsOf(env);
      expect(problems.length).toBeGreaterThan(0);
      for (const text of [...problems, new ConfigError(problems).message]) expect(text).not.toContain(SECRET);
    }
  });
  it('explains a malformed API_KEYS in words, counting entries, without a regular expression or the secret', () => {
    const problems = problemsOf({ API_KEYS: `acme:${SECRET},globex:short` });
    expect(problems).toEqual([
      'API_KEYS: each entry must be tenant:secret with a secret of at least 8 characters; got 2 entries, the 2nd has a 5-character secret',
    ]);
    const [missingColon] = problemsOf({ API_KEYS: `acme ${SECRET}` });
    expect(missingColon).toMatch(/^API_KEYS: each entry must be tenant:secret .*; got 1 entry, the 1st has no ":"/);
    const [emptyEntry] = problemsOf({ API_KEYS: `acme:${SECRET},` });
    expect(emptyEntry).toMatch(/got 2 entries, the 2nd is empty/);
    const [badTenant] = problemsOf({ API_KEYS: `acme:${SECRET},glo bex:${SECRET}x` });
    expect(badTenant).toMatch(/the 2nd has a tenant with characters other than/);
    for (const p of [missingColon, emptyEntry, badTenant]) {
      expect(p).not.toContain(SECRET);
      expect(p).not.toMatch(/pattern|\^|\$/);
    }
  });

  it('says what each pattern-checked variable must look like instead of quoting its regular expression', () => {
    const problems = problemsOf({ DATABASE_URL: 'mysql://x/y', REDIS_URL: 'http://x', QUEUE_PREFIX: 'a b', LOG_LEVEL: 'loud' });
    expect(problems).toHaveLength(4);
    for (const p of problems) expect(p).not.toMatch(/pattern|\^|\$"/);
    expect(problems.find((p) => p.startsWith('DATABASE_URL'))).toContain('postgres://');
    expect(problems.find((p) => p.startsWith('REDIS_URL'))).toContain('redis://');
    expect(problems.find((p) => p.startsWith('QUEUE_PREFIX'))).toMatch(/letters, digits/);
    expect(problems.find((p) => p.startsWith('LOG_LEVEL'))).toMatch(/one of fatal, error, warn, info, debug, trace, silent \(got "loud"\)/);
  });

  it('names each problem once in the error message', () => {
    try {
      loadConfig({ PORT: 'abc', API_KEYS: 'acme:short' });
      throw new Error('loadConfig accepted the environment');
    } catch (err) {
      const { message, problems } = err as ConfigError;
      expect(problems).toHaveLength(2);
      for (const p of problems) expect(message.split(p)).toHaveLength(2);
    }
  });

  it('reads DATABASE_READ_URL as a Postgres URL, none by default, with a read pool of its own', () => {
    expect(loadConfig({})).toMatchObject({ databaseReadUrl: '', pgReadPoolSize: 5 });
    expect(loadConfig({ DATABASE_READ_URL: 'postgresql://idemq@replica:5432/idemq', PG_READ_POOL_SIZE: '3' })).toMatchObject({
      databaseReadUrl: 'postgresql://idemq@replica:5432/idemq',
      pgReadPoolSize: 3,
    });
    expect(problemsOf({ DATABASE_READ_URL: 'replica:5432' })).toEqual([
      'DATABASE_READ_URL: must be a postgres:// (or postgresql://) URL, or empty for none',
    ]);
  });

  it('refreshes stored API keys every 2 s by default, and refuses a period that would break the 5 s revocation bound', () => {
    expect(loadConfig({}).apiKeysRefreshMs).toBe(2_000);
    expect(loadConfig({ API_KEYS_REFRESH_MS: '3000' }).apiKeysRefreshMs).toBe(3_000);
    expect(problemsOf({ API_KEYS_REFRESH_MS: '5000' })).toEqual([expect.stringMatching(/^API_KEYS_REFRESH_MS: .*3000/)]);
    expect(problemsOf({ API_KEYS_REFRESH_MS: '0' })).toEqual([expect.stringMatching(/^API_KEYS_REFRESH_MS: /)]);
  });

  it('drains an API for 5 s before it closes by default; 0 turns the drain off, a negative one is refused', () => {
    expect(loadConfig({}).shutdownDrainMs).toBe(5_000);
    expect(loadConfig({ SHUTDOWN_DRAIN_MS: '0' }).shutdownDrainMs).toBe(0);
    expect(problemsOf({ SHUTDOWN_DRAIN_MS: '-1' })).toEqual([expect.stringMatching(/^SHUTDOWN_DRAIN_MS: /)]);
  });

  it("meters WebSocket messages per socket (5,000 a second by default) and subscribes per tenant (the tenant's RATE_LIMIT_PER_MINUTE unless set)", () => {
    expect(loadConfig({})).toMatchObject({ wsMessagesPerSecond: 5_000, wsSubscribesPerMinute: 6_000 });
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '120000' }).wsSubscribesPerMinute).toBe(120_000);
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '120000', WS_SUBSCRIBES_PER_MINUTE: '30' }).wsSubscribesPerMinute).toBe(30);
    expect(
      problemsOf({ WS_SUBSCRIBES_PER_MINUTE: '0', WS_MESSAGES_PER_SECOND: '1.5' })
        .map((p) => p.split(':')[0])
        .sort(),
    ).toEqual(['WS_MESSAGES_PER_SECOND', 'WS_SUBSCRIBES_PER_MINUTE']);
  });

  it('reads TRUSTED_PROXIES as addresses and CIDR ranges, none by default', () => {
    expect(loadConfig({}).trustedProxies).toEqual([]);
    expect(loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.1,fd00::/8 ,::1' }).trustedProxies).toEqual([
      '10.0.0.0/8',
      '192.0.2.1',
      'fd00::/8',
      '::1',
    ]);
  });

  it('names each malformed TRUSTED_PROXIES entry', () => {
    const problems = problemsOf({ TRUSTED_PROXIES: '10.0.0.0/33,lb.internal,10.0.0.1,::1/129,1.2.3.4/8/8' });
    expect(problems).toHaveLength(4);
    expect(problems.every((p) => p.startsWith('TRUSTED_PROXIES: each entry must be an IP address or a CIDR range'))).toBe(true);
    for (const bad of ['10.0.0.0/33', 'lb.internal', '::1/129', '1.2.3.4/8/8'])
      expect(
        problems.some((p) => p.includes(`"${bad}"`)),
        bad,
      ).toBe(true);
  });

  it('reads REDIS_CLUSTER_NODES as host:port seeds (none: a standalone Redis) and QUEUE_SHARDS (1 by default, at most 16)', () => {
    expect(loadConfig({})).toMatchObject({ redisClusterNodes: [], queueShards: 1 });
    expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.5:7000, redis-b.internal:7001,[::1]:7002', QUEUE_SHARDS: '4' })).toMatchObject({
      redisClusterNodes: [
        { host: '10.0.0.5', port: 7000 },
        { host: 'redis-b.internal', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      queueShards: 4,
    });
    expect(problemsOf({ QUEUE_SHARDS: '17' })).toEqual(['QUEUE_SHARDS: must be <= 16 (got 17)']);
    expect(problemsOf({ QUEUE_SHARDS: '0' })).toEqual(['QUEUE_SHARDS: must be >= 1 (got 0)']);
  });

  it('names each malformed REDIS_CLUSTER_NODES entry', () => {
    const problems = problemsOf({ REDIS_CLUSTER_NODES: '10.0.0.5,10.0.0.6:7000,redis://a:7000,b:70000,:7000' });
    expect(problems).toHaveLength(4);
    expect(problems.every((p) => p.startsWith('REDIS_CLUSTER_NODES: each entry must be host:port'))).toBe(true);
    for (const bad of ['10.0.0.5', 'redis://a:7000', 'b:70000', ':7000'])
      expect(
        problems.some((p) => p.includes(`"${bad}"`)),
        bad,
      ).toBe(true);
  });

  describe('in production (NODE_ENV=production)', () => {
    const ADMIN_TOKEN = 'adm_test_0123456789abcdef0123456789';
    // long enough for production; SECRET itself is too short there
    const KEY = `${SECRET}_0123456789abcdef`;
    it('takes no key from the environment without explicit API_KEYS: the public demo key is no default there (keys come from the table)', () => {
      const config = loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN });
      expect([...config.apiKeys]).toEqual([]);
    });

    it('refuses the public demo secret, even among other keys, without echoing any secret', () => {
      const problems = problemsOf({ NODE_ENV: 'production', ADMIN_TOKEN, API_KEYS: `acme:${KEY},demo:sk_demo_change_me` });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^API_KEYS: .*demo/);
      expect(problems[0]).not.toContain(KEY);
    });

    it('starts with explicit keys', () => {
      expect([...loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN, API_KEYS: `acme:${KEY}` }).apiKeys]).toEqual([[KEY, 'acme']]);
    });

    it('refuses to start without an ADMIN_TOKEN of its own, never echoing one', () => {
      expect(problemsOf({ NODE_ENV: 'production', API_KEYS: `acme:${KEY}` })).toEqual([
        expect.stringMatching(/^ADMIN_TOKEN: required in production/),
      ]);
      const demo = problemsOf({ NODE_ENV: 'production', API_KEYS: `acme:${KEY}`, ADMIN_TOKEN: 'adm_demo_change_me' });
      expect(demo).toEqual([expect.stringMatching(/^ADMIN_TOKEN: the public demo token is refused/)]);
      const short = problemsOf({ NODE_ENV: 'production', API_KEYS: `acme:${KEY}`, ADMIN_TOKEN: 'short-secret' });
      expect(short).toHaveLength(1);
      expect(short[0]).toMatch(/^ADMIN_TOKEN: /);
      expect(short[0]).not.toContain('short-secret');
      expect(loadConfig({ NODE_ENV: 'production', API_KEYS: `acme:${KEY}`, ADMIN_TOKEN }).admin).toMatchObject({
        host: '127.0.0.1',
        port: 9090,
        token: ADMIN_TOKEN,
      });
    });

    it('lets processes that serve no API (workers, migrations) start without keys', () => {
      expect(loadConfig({ NODE_ENV: 'production' }, { servesApi: false }).port).toBe(3000);
    });

    it('asks a worker that serves its metrics for an ADMIN_TOKEN of its own, and binds them to loopback whatever HOST', () => {
      expect(() => loadConfig({ NODE_ENV: 'production', WORKER_METRICS_PORT: '9100' }, { servesApi: false })).toThrow(
        /ADMIN_TOKEN: required in production/,
      );
      expect(() =>
        loadConfig({ NODE_ENV: 'production', WORKER_METRICS_PORT: '9100', ADMIN_TOKEN: 'adm_demo_change_me' }, { servesApi: false }),
      ).toThrow(/public demo token is refused/);
      const worker = loadConfig(
        { NODE_ENV: 'production', WORKER_METRICS_PORT: '9100', ADMIN_TOKEN, HOST: '0.0.0.0' },
        { servesApi: false },
      );
      expect([worker.workerMetricsHost, worker.workerMetricsPort, worker.admin.token]).toEqual(['127.0.0.1', 9100, ADMIN_TOKEN]);
    });

    it('keeps the demo key outside production', () => {
      expect(loadConfig({ NODE_ENV: 'development' }).apiKeys.get('sk_demo_change_me')).toBe('demo');
    });
    it.each(['Production', 'prod', 'production ', ' PRODUCTION', 'Prod'])(
      'reads NODE_ENV=%j as production: no demo key by default, ADMIN_TOKEN required',
      (nodeEnv) => {
        expect(loadConfig({ NODE_ENV: nodeEnv, ADMIN_TOKEN }).production).toBe(true);
        expect([...loadConfig({ NODE_ENV: nodeEnv, ADMIN_TOKEN }).apiKeys]).toEqual([]);
        expect(problemsOf({ NODE_ENV: nodeEnv })).toEqual([expect.stringMatching(/^ADMIN_TOKEN: required in production/)]);
        expect(problemsOf({ NODE_ENV: nodeEnv, ADMIN_TOKEN, API_KEYS: 'demo:sk_demo_change_me' })).toEqual([
          expect.stringMatching(/^API_KEYS: the public demo secret/),
        ]);
      },
    );

    it('refuses weak hand-set secrets: an ADMIN_TOKEN of one repeated character or under 32 characters, API key secrets under 32', () => {
      const repeated = problemsOf({ NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(40) });
      expect(repeated).toEqual([expect.stringMatching(/^ADMIN_TOKEN: repeats one character/)]);
      expect(repeated[0]).not.toContain('x'.repeat(40));
      expect(problemsOf({ NODE_ENV: 'production', ADMIN_TOKEN: 'abababababababababababababababababab' })).toEqual([
        expect.stringMatching(/^ADMIN_TOKEN: repeats only 2 distinct characters/),
      ]);
      expect(problemsOf({ NODE_ENV: 'production', ADMIN_TOKEN: 'adm_test_0123456789abcdef' })).toEqual([
        expect.stringMatching(/^ADMIN_TOKEN: is 25 characters long; production needs at least 32/),
      ]);
      const weakKey = problemsOf({ NODE_ENV: 'production', ADMIN_TOKEN, API_KEYS: `acme:${KEY},globex:${SECRET}` });
      expect(weakKey).toEqual([
        expect.stringMatching(/^API_KEYS: the secret of tenant globex \(entry 2\) is 23 characters long; production needs at least 32/),
      ]);
      expect(weakKey[0]).not.toContain(SECRET);
    });
  });

  describe('listening beyond loopback, whatever NODE_ENV says', () => {
    const ADMIN_TOKEN = 'adm_test_0123456789abcdef';
    it.each<Record<string, string>>([{}, { NODE_ENV: 'development' }, { NODE_ENV: 'staging' }, { NODE_ENV: 'productoin' }])(
      'refuses the demo key and the demo admin token on HOST=0.0.0.0 (%j), saying what to set',
      (nodeEnv) => {
        const problems = problemsOf({ ...nodeEnv, HOST: '0.0.0.0' });
        expect(problems).toEqual([
          expect.stringMatching(
            /^API_KEYS: the public demo secret \(tenant demo, the default of API_KEYS outside production\) is refused while a server listens beyond loopback \(HOST=0\.0\.0\.0\): set API_KEYS .*npm run keys -- create --tenant/,
          ),
          expect.stringMatching(
            /^ADMIN_TOKEN: the public demo token \(the default of ADMIN_TOKEN\) is refused while a server listens beyond loopback \(HOST=0\.0\.0\.0\)/,
          ),
        ]);
      },
    );

    it('counts ADMIN_HOST too, and names every address that is not loopback', () => {
      const problems = problemsOf({ HOST: '::', ADMIN_HOST: '10.1.2.3', API_KEYS: 'demo:sk_demo_change_me', ADMIN_TOKEN });
      expect(problems).toEqual([expect.stringMatching(/^API_KEYS: .*\(HOST=::, ADMIN_HOST=10\.1\.2\.3\)/)]);
      expect(problemsOf({ ADMIN_HOST: 'admin.internal', API_KEYS: 'acme:sk_own_secret_123' })).toEqual([
        expect.stringMatching(/^ADMIN_TOKEN: .*\(ADMIN_HOST=admin\.internal\)/),
      ]);
    });

    it('keeps the demo credentials on every loopback form, and starts beyond loopback with credentials of its own', () => {
      for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '::1', '[::1]', 'LOCALHOST']) {
        expect(loadConfig({ HOST: host, ADMIN_HOST: host }).apiKeys.get('sk_demo_change_me'), host).toBe('demo');
      }
      expect(loadConfig({ HOST: '0.0.0.0', ADMIN_HOST: '0.0.0.0', API_KEYS: 'acme:sk_own_secret_123', ADMIN_TOKEN }).host).toBe('0.0.0.0');
    });

    it('lets a worker (no API, no credentials) listen anywhere', () => {
      expect(loadConfig({ HOST: '0.0.0.0', WORKER_METRICS_PORT: '9100' }, { servesApi: false }).workerMetricsPort).toBe(9100);
    });
  });

  it('refuses ADMIN_PORT equal to PORT on the same or a wildcard host, not on distinct addresses', () => {
    expect(problemsOf({ PORT: '8080', ADMIN_PORT: '8080' })).toEqual([
      'ADMIN_PORT: must differ from PORT (both 8080): the admin server and the API each need a port of their own; set ADMIN_PORT to another, e.g. 9090',
    ]);
    expect(
      problemsOf({
        PORT: '8080',
        ADMIN_PORT: '8080',
        HOST: '0.0.0.0',
        API_KEYS: 'acme:sk_own_secret_123',
        ADMIN_TOKEN: 'adm_test_0123456789abcdef',
      }),
    ).toHaveLength(1);
    expect(loadConfig({ PORT: '8080', ADMIN_PORT: '8080', HOST: '127.0.0.2' }).admin.port).toBe(8080);
    expect(loadConfig({ PORT: '0', ADMIN_PORT: '0' }).port).toBe(0);
  });
});

describe('loadConfig: tracing by the standard OTEL_* variables', () => {
  it('is off by default, even with an endpoint set', () => {
    expect(loadConfig({}).tracing.exporter).toBe('none');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing.exporter).toBe('none');
  });

  it('sends OTLP to the endpoint plus /v1/traces, or to the traces endpoint as it is', () => {
    const base = loadConfig({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_SERVICE_NAME: 'payments-api',
    }).tracing;
    expect(base).toMatchObject({ exporter: 'otlp', url: 'http://collector:4318/v1/traces', serviceName: 'payments-api' });
    const own = loadConfig({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://vendor.example/api/traces',
    }).tracing;
    expect(own.url).toBe('https://vendor.example/api/traces');
  });

  it('OTEL_SDK_DISABLED=true turns it off whatever the exporter', () => {
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }).tracing.exporter).toBe('none');
  });

  it('reads headers, decoded, and never echoes them in a problem', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: `x-api-key=${SECRET},x-team=a%20b` }).tracing.headers).toEqual({
      'x-api-key': SECRET,
      'x-team': 'a b',
    });
    const problems = problemsOf({
      OTEL_EXPORTER_OTLP_HEADERS: `${SECRET}`,
      OTEL_TRACES_EXPORTER: 'zipkin',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^OTEL_TRACES_EXPORTER: must be none, otlp/),
      expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT: must be an http/),
      'OTEL_EXPORTER_OTLP_HEADERS: must be comma-separated key=value pairs',
    ]);
    expect(problems.join('\n')).not.toContain(SECRET);
  });

  describe('one start lists every problem of API_KEYS', () => {
    it('every malformed API_KEYS entry, not only the first', () => {
      const problems = problemsOf({ API_KEYS: `acme:short,globex ${SECRET},initech:${SECRET}` });
      expect(problems).toEqual([
        'API_KEYS: each entry must be tenant:secret with a secret of at least 8 characters; got 3 entries, the 1st has a 5-character secret',
        'API_KEYS: each entry must be tenant:secret with a secret of at least 8 characters; got 3 entries, the 2nd has no ":"',
      ]);
    });
  });
});
