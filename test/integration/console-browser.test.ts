import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';
import { sql } from 'kysely';

// Debian's chromium package; .ci/run installs it when it is missing
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** set SCREENSHOT=<path> to look at the console as the test leaves it */
const SCREENSHOT = process.env.SCREENSHOT;

let ctx: TestContext;
let api: FastifyInstance;
let base: string;
let profile: string;
let browser: BrowserContext;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  ctx = await createTestContext();
  api = await ctx.startApi();
  base = await (await ctx.startAdmin(api)).listen({ host: '127.0.0.1', port: 0 });
  profile = mkdtempSync(join(tmpdir(), 'idemq-console-'));
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await ctx?.close();
});

describe('the request console in a browser', () => {
  it('logs in, looks a request up by tenant and key, and shows its status change live, without a reload', async () => {
    const page = await browser.newPage();
    const failures: string[] = [];
    page.on('pageerror', (err) => failures.push(String(err)));
    let loggedIn = false;
    // the wrong login answers 401 on purpose; after login, nothing the page asks for may fail
    page.on(
      'response',
      (r) => void (loggedIn && r.status() >= 400 && !r.url().endsWith('/favicon.ico') && failures.push(`${r.status()} ${r.url()}`)),
    );

    await page.goto(`${base}/console/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('#token', 'not the token');
    await page.click('button[type=submit]');
    await page.waitForSelector('.error');
    await page.fill('#token', ADMIN_TOKEN);
    await Promise.all([page.waitForURL(`${base}/console/`), page.click('button[type=submit]')]);
    loggedIn = true;
    // the session cookie is out of the page's scripts' reach, and never the token
    const [session] = await browser.cookies(base);
    expect(session).toMatchObject({ name: 'idemq_admin', httpOnly: true, sameSite: 'Strict' });
    expect(session!.value).not.toContain(ADMIN_TOKEN);
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(page.url()).not.toContain(ADMIN_TOKEN);

    // a tenant's payload is hostile: it must show as text
    const name = '<img src=x id=injected onerror="window.injected=1">';
    const res = await submit(api, '/v1/items', { quantity: 5, name }, { tenant: 'globex', key: 'console-1' });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;

    await page.evaluate("window.marker = 'same page'");
    await page.fill('#lookup-tenant', 'globex');
    await page.fill('#lookup-key', 'console-1');
    await page.click('#by-key button[type=submit]');
    await page.waitForSelector('#status[data-status="queued"]');
    expect(await page.textContent('#request-id')).toBe(id);
    expect(JSON.parse((await page.textContent('#payload'))!).name).toBe(name);
    expect(await page.$('#injected')).toBeNull();
    expect(await page.isDisabled('#delete')).toBe(true);

    // the page shows queued: now a worker runs it, and the page hears it over SSE
    const worker = await ctx.startWorker();
    await page.waitForSelector('#status[data-status="succeeded"]', { timeout: 15_000 });
    expect(await page.evaluate('window.marker')).toBe('same page');
    expect(await page.textContent('#result')).toContain('itemId');
    expect(await page.$$eval('#history tr td:first-child', (cells) => cells.map((c) => c.textContent))).toEqual([
      'queued',
      'processing',
      'succeeded',
    ]);
    expect(await page.evaluate('window.injected')).toBeUndefined();
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // a finished key can be deleted from the page, once confirmed
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.click('#delete');
    await page.waitForTimeout(100);
    expect(await page.isHidden('#request')).toBe(false);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#delete');
    await page.waitForSelector('#request', { state: 'hidden' });
    expect(await page.textContent('#message')).toContain(`Deleted request ${id}`);
    expect(await ctx.db.selectFrom('idemq.requests').select('id').where('id', '=', id).executeTakeFirst()).toBeUndefined();

    // a request no worker takes can be failed from the page, with a reason and a confirmation
    await worker.close();
    const stranded = await submit(api, '/v1/items', { name: 'item', quantity: 6 }, { tenant: 'globex', key: 'console-2' });
    const strandedId = stranded.json().id as string;
    await page.fill('#lookup-tenant', 'globex');
    await page.fill('#lookup-key', 'console-2');
    await page.click('#by-key button[type=submit]');
    await page.waitForSelector('#status[data-status="queued"]');
    const dialogs: string[] = [];
    page.once('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    await page.fill('#fail-reason', 'its route was removed');
    await page.click('#fail');
    await page.waitForSelector('#status[data-status="failed"]');
    expect(dialogs).toEqual([expect.stringContaining(`Fail request ${strandedId}`)]);
    expect(await page.$$eval('#history tr td:last-child', (cells) => cells.map((c) => c.textContent))).toContain(
      'failed by an operator: its route was removed',
    );
    const row = await ctx.db
      .selectFrom('idemq.requests')
      .select(['status', 'error'])
      .where('id', '=', strandedId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'failed', error: { code: 'failed_by_operator', message: 'its route was removed' } });
    expect(failures).toEqual([]);
  }, 60_000);

  it('lists recent requests newest first, filters and pages them, and re-drives the failed ones in bulk after a confirmation', async () => {
    // 60 requests, one a second, of two tenants; every fourth of list-b failed with processing_failed
    await sql`
      insert into idemq.requests (tenant_id, idempotency_key, fingerprint, operation, payload, status, error, created_at, retention_seconds)
      select case when i % 2 = 0 then 'list-a' else 'list-b' end, 'list-' || i, 'f', 'items.create', '{}',
             case when i % 4 = 1 then 'failed' else 'succeeded' end,
             case when i % 4 = 1 then '{"code":"processing_failed","message":"m"}'::jsonb end,
             now() + make_interval(secs => i), 3600
        from generate_series(0, 59) i`.execute(ctx.db);
    const newest = (tenant?: string) =>
      ctx.db
        .selectFrom('idemq.requests')
        .select('id')
        .$if(tenant !== undefined, (q) => q.where('tenant_id', '=', tenant!))
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
    const page = await browser.newPage();
    const failures: string[] = [];
    page.on('pageerror', (err) => failures.push(String(err)));
    page.on('response', (r) => void (r.status() >= 400 && !r.url().endsWith('/favicon.ico') && failures.push(`${r.status()} ${r.url()}`)));
    const listed = () => page.$$eval('#list-rows tr', (rows) => rows.map((r) => r.getAttribute('data-id')));

    await page.goto(`${base}/console/`);
    await page.waitForSelector('#list-rows tr');
    expect(await listed()).toEqual((await newest()).slice(0, 25).map((r) => r.id));

    await page.fill('#list-tenant', 'list-b');
    await page.click('#filters button[type=submit]');
    const tenants = () => page.$$eval('#list-rows tr td:nth-child(2)', (cells) => cells.map((c) => c.textContent));
    await expect.poll(async () => new Set(await tenants())).toEqual(new Set(['list-b']));
    const first = await listed();
    await page.click('#list-older');
    await page.waitForSelector('#list-page[data-page="1"]');
    const second = await listed();
    expect(await page.isDisabled('#list-older')).toBe(true);
    expect([...first, ...second]).toEqual((await newest('list-b')).map((r) => r.id));
    await page.click('#list-newer');
    await page.waitForSelector('#list-page[data-page="0"]');
    expect(await listed()).toEqual(first);
    // a row opens the request
    await page.click(`#list-rows tr[data-id="${first[0]}"] button`);
    await page.locator('#request-id', { hasText: first[0]! }).waitFor();

    // a bulk re-drive asks first: dismissed, nothing changes; accepted, the 15 failed ones are queued again
    const failedIds = async () =>
      (await ctx.db.selectFrom('idemq.requests').select('id').where('tenant_id', '=', 'list-b').where('status', '=', 'failed').execute())
        .length;
    expect(await failedIds()).toBe(15);
    const dialogs: string[] = [];
    page.once('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.click('#bulk-redrive');
    await expect.poll(() => dialogs.length).toBe(1);
    expect(dialogs[0]).toContain('Re-drive 15 request(s) that failed with processing_failed (tenant list-b)');
    expect(await failedIds()).toBe(15);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#bulk-redrive');
    await page.locator('#message', { hasText: 'Re-driven: 15 request(s) queued again' }).waitFor();
    expect(await failedIds()).toBe(0);
    expect(
      await ctx.db.selectFrom('idemq.requests').select('id').where('tenant_id', '=', 'list-a').where('status', '<>', 'succeeded').execute(),
    ).toHaveLength(0);
    expect(failures).toEqual([]);
  }, 60_000);
});
