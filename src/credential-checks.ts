import { isLoopbackHost } from './loopback-host.ts';
import { secretWeakness } from './secret-strength.ts';

/** published in the README for a local try; anyone can send them */
export const DEMO_SECRET = 'sk_demo_change_me';
export const DEMO_ADMIN_TOKEN = 'adm_demo_change_me';

/**
 * `NODE_ENV` as an operator means it: trimmed and lower-cased, and `prod` is production too. A
 * misspelling that is not caught here still cannot expose the demo credentials: see credentialProblems.
 */
export function isProduction(nodeEnv: string): boolean {
  const v = nodeEnv.trim().toLowerCase();
  return v === 'production' || v === 'prod';
}

export interface CredentialInput {
  production: boolean;
  /** tenant by secret, as parsed from API_KEYS (or the demo default) */
  apiKeys: ReadonlyMap<string, string>;
  /** false when API_KEYS was not set and the demo default applies */
  apiKeysSet: boolean;
  adminToken: string;
  adminTokenSet: boolean;
  host: string;
  adminHost: string;
  port: number;
  adminPort: number;
  /** the variables that set `host` and `adminHost`, as the problems name them */
  hostVariables?: readonly [string, string];
}

/**
 * The problems of an API process's credentials and listeners, worded like the rest of the
 * configuration's and never quoting a secret:
 * - the public demo credentials are refused in production, and refused whatever NODE_ENV says when
 *   HOST or ADMIN_HOST is not a loopback address (the network could send them);
 * - in production ADMIN_TOKEN is required and every hand-set secret must be long and random;
 * - ADMIN_PORT equal to PORT on overlapping hosts, which no start could satisfy.
 */
export function credentialProblems(c: CredentialInput): string[] {
  const problems: string[] = [];
  const [hostVariable, adminHostVariable] = c.hostVariables ?? ['HOST', 'ADMIN_HOST'];
  const exposed = [
    ...new Map([
      [hostVariable, c.host],
      [adminHostVariable, c.adminHost],
    ]),
  ]
    .filter(([, h]) => !isLoopbackHost(h!))
    .map(([name, h]) => `${name}=${h}`);
  const where = c.production ? 'in production (NODE_ENV)' : `while a server listens beyond loopback (${exposed.join(', ')})`;
  const refuseDemo = c.production || exposed.length > 0;
  const bindLoopback = c.production ? '' : ', or bind HOST and ADMIN_HOST to 127.0.0.1';

  const demoTenant = c.apiKeys.get(DEMO_SECRET);
  if (refuseDemo && demoTenant !== undefined) {
    const origin = c.apiKeysSet ? '' : ', the default of API_KEYS outside production';
    problems.push(
      `API_KEYS: the public demo secret (tenant ${demoTenant}${origin}) is refused ${where}: set API_KEYS to tenant:secret pairs of your own, or leave it unset with NODE_ENV=production and create keys with \`npm run keys -- create --tenant <tenant>\`${bindLoopback}`,
    );
  }
  if (c.production) {
    for (const [i, [secret, tenant]] of [...c.apiKeys].entries()) {
      const weakness = secret === DEMO_SECRET ? undefined : secretWeakness(secret);
      if (weakness)
        problems.push(
          `API_KEYS: the secret of tenant ${tenant} (entry ${i + 1}) ${weakness}; or, better, create stored keys with \`npm run keys -- create --tenant ${tenant}\``,
        );
    }
  }

  if (c.production && !c.adminTokenSet) {
    problems.push(
      'ADMIN_TOKEN: required in production (NODE_ENV): set a long random token of your own (e.g. `openssl rand -hex 24`); the default is public',
    );
  } else if (refuseDemo && c.adminToken === DEMO_ADMIN_TOKEN) {
    const origin = c.adminTokenSet ? '' : ' (the default of ADMIN_TOKEN)';
    problems.push(
      `ADMIN_TOKEN: the public demo token${origin} is refused ${where}: set a long random token of your own (e.g. \`openssl rand -hex 24\`)${bindLoopback}`,
    );
  } else if (c.production) {
    const weakness = secretWeakness(c.adminToken);
    if (weakness) problems.push(`ADMIN_TOKEN: ${weakness} (e.g. \`openssl rand -hex 24\`)`);
  }

  if (c.port !== 0 && c.port === c.adminPort && hostsOverlap(c.host, c.adminHost)) {
    problems.push(
      `ADMIN_PORT: must differ from PORT (both ${c.port}): the admin server and the API each need a port of their own; set ADMIN_PORT to another, e.g. 9090`,
    );
  }
  return problems;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

function hostsOverlap(a: string, b: string): boolean {
  return a === b || WILDCARDS.has(a) || WILDCARDS.has(b);
}
