import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, postgresCommands, type PrivatePostgres, serverOptions, startPrivatePostgres } from './private-services.ts';

/**
 * A private primary and its streaming standby, both on free loopback ports under one folder, for
 * tests of reads on a replica: the standby's replay can be paused to make it lag on purpose, and
 * either server stopped. The shared Postgres on 5432 is never touched.
 */

export interface PrivateStandby {
  port: number;
  /** connection string of `database` on the standby */
  urlOf(database: string): string;
  /** stops applying WAL (pg_wal_replay_pause): the standby answers, as of the moment it paused */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** resolves once the standby has replayed everything the primary had written when called */
  caughtUp(primaryUrl: string, timeoutMs?: number): Promise<void>;
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export interface PrivatePrimaryWithStandby {
  primary: PrivatePostgres;
  standby: PrivateStandby;
  /** both, standby first; best effort */
  destroy(): Promise<void>;
}

/**
 * initdb of a primary (`wal_level=replica`, WAL senders, replication trusted from 127.0.0.1), then
 * `pg_basebackup -R` of it into a hot standby that streams from it. `database` names the primary's
 * `url`; create it on the primary, and it appears on the standby as it replays.
 */
export async function startPrimaryWithStandby(dir: string, database: string): Promise<PrivatePrimaryWithStandby> {
  const { pgRun, own } = await postgresCommands();
  mkdirSync(dir, { recursive: true });
  own(dir);
  const primary = await startPrivatePostgres(join(dir, 'primary'), database, { wal_level: 'replica', max_wal_senders: '4' });
  try {
    // initdb's trust template already has this line; written here so that the harness does not depend on it
    appendFileSync(join(primary.dataDir, 'pg_hba.conf'), '\nhost replication postgres 127.0.0.1/32 trust\n');
    await pgRun('pg_ctl', ['-D', primary.dataDir, 'reload']);

    const standbyDir = join(dir, 'standby');
    mkdirSync(standbyDir, { recursive: true });
    own(standbyDir);
    const data = join(standbyDir, 'data');
    await pgRun('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-D',
      data,
      '-R',
      '-X',
      'stream',
      '--no-sync',
    ]);
    const port = await freePort();
    const options = serverOptions(port, standbyDir, { hot_standby: 'on' });
    const start = async () => {
      await pgRun('pg_ctl', ['-D', data, '-l', join(standbyDir, 'postgres.log'), '-w', '-t', '60', '-o', options, 'start']);
    };
    await start();
    const urlOf = (db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`;
    const onStandby = (text: string) => query(urlOf('postgres'), text);
    const standby: PrivateStandby = {
      port,
      urlOf,
      pauseReplay: () => onStandby('select pg_wal_replay_pause()').then(() => undefined),
      resumeReplay: () => onStandby('select pg_wal_replay_resume()').then(() => undefined),
      async caughtUp(primaryUrl, timeoutMs = 10_000) {
        const [{ lsn }] = (await query(primaryUrl, 'select pg_current_wal_lsn()::text as lsn')) as [{ lsn: string }];
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const [{ done }] = (await query(urlOf('postgres'), `select pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn as done`)) as [
            { done: boolean },
          ];
          if (done) return;
          if (Date.now() > deadline) throw new Error(`the standby on port ${port} has not replayed up to ${lsn} within ${timeoutMs} ms`);
          await new Promise((r) => setTimeout(r, 20));
        }
      },
      start,
      async stop(mode) {
        await pgRun('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      },
      async destroy() {
        await pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], 40_000).catch(() => undefined);
      },
    };
    return {
      primary,
      standby,
      async destroy() {
        await standby.destroy();
        await primary.destroy();
      },
    };
  } catch (err) {
    await primary.destroy();
    throw err;
  }
}

async function query(url: string, text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}
