import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';

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

    // a finished key can be deleted from the page
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
});
