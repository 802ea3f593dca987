// The request console: plain browser JavaScript, no build step. Every value from a request is put
// on the page with textContent, never as HTML: payloads come from tenants.
'use strict';

const $ = (id) => document.getElementById(id);
const TERMINAL = ['succeeded', 'failed'];
let current = null;
let events = null;

function say(text, isError = false) {
  $('message').textContent = text;
  $('message').className = isError ? 'error' : '';
}

async function call(method, url, payload) {
  const headers = { accept: 'application/json', ...(payload && { 'content-type': 'application/json' }) };
  const res = await fetch(url, { method, headers, credentials: 'same-origin', ...(payload && { body: JSON.stringify(payload) }) });
  if (res.status === 401) {
    window.location.assign('/login');
    throw new Error('Logged out');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.detail || body.title || `HTTP ${res.status}`);
  return body;
}

const json = (value) => (value === null || value === undefined ? '—' : JSON.stringify(value, null, 2));

function render(request) {
  current = request;
  $('request').hidden = false;
  $('request-id').textContent = request.id;
  $('status').textContent = request.status;
  $('status').dataset.status = request.status;
  $('tenant').textContent = request.tenantId;
  $('key').textContent = request.idempotencyKey;
  $('operation').textContent = request.operation;
  $('attempts').textContent = String(request.attempts);
  $('version').textContent = String(request.version);
  $('created').textContent = request.createdAt;
  $('updated').textContent = request.updatedAt;
  $('expires').textContent = request.expiresAt ?? 'kept until finished';
  $('payload').textContent = json(request.payload);
  $('result').textContent = json(request.result);
  $('error').textContent = json(request.error);
  const rows = request.history.map((change) => {
    const tr = document.createElement('tr');
    const note = change.redriven ? 're-driven' : change.byOperator ? `failed by an operator: ${change.reason}` : '';
    for (const text of [change.status, change.at, note]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  $('history').replaceChildren(...rows);
  $('delete').disabled = !TERMINAL.includes(request.status);
  $('redrive').disabled = !(request.status === 'failed' && request.error && request.error.code === 'processing_failed');
  $('fail').disabled = TERMINAL.includes(request.status);
  $('fail-reason').disabled = $('fail').disabled;
}

function watch(id) {
  if (events) events.close();
  events = null;
  $('live').textContent = '';
  if (TERMINAL.includes(current.status)) return;
  events = new EventSource(`/api/requests/${encodeURIComponent(id)}/events`);
  $('live').textContent = '(live)';
  events.addEventListener('status', (event) => {
    const request = JSON.parse(event.data);
    if (!current || request.id !== current.id) return;
    render(request);
    if (TERMINAL.includes(request.status)) {
      events.close();
      events = null;
      $('live').textContent = '';
    }
  });
  // the stream also ends when the request is deleted; EventSource would reconnect for ever
  events.onerror = () => {
    if (events && events.readyState === EventSource.CLOSED) $('live').textContent = '(not live)';
  };
}

async function show(load) {
  try {
    say('Looking up…');
    const { request } = await load();
    render(request);
    say('');
    watch(request.id);
  } catch (err) {
    say(err.message, true);
  }
}

$('by-id').addEventListener('submit', (event) => {
  event.preventDefault();
  const id = $('lookup-id').value.trim();
  show(() => call('GET', `/api/requests/${encodeURIComponent(id)}`));
});

$('by-key').addEventListener('submit', (event) => {
  event.preventDefault();
  const query = new URLSearchParams({ tenant: $('lookup-tenant').value, key: $('lookup-key').value });
  show(() => call('GET', `/api/requests?${query}`));
});

$('redrive').addEventListener('click', async () => {
  if (!window.confirm(`Re-drive request ${current.id}? It runs again, with a fresh budget of attempts.`)) return;
  try {
    const { request, enqueued } = await call('POST', `/api/requests/${encodeURIComponent(current.id)}/redrive`);
    render(request);
    say(enqueued ? 'Re-driven: queued again.' : 'Re-driven: queued in Postgres; the reconciler will enqueue it.');
    watch(request.id);
  } catch (err) {
    say(err.message, true);
  }
});

$('delete').addEventListener('click', async () => {
  if (
    !window.confirm(`Delete request ${current.id}? Key ${current.idempotencyKey} of tenant ${current.tenantId} then starts a new request.`)
  )
    return;
  try {
    const { deleted } = await call('DELETE', `/api/requests/${encodeURIComponent(current.id)}`);
    if (events) events.close();
    events = null;
    $('request').hidden = true;
    current = null;
    say(`Deleted request ${deleted.id}: key ${deleted.idempotencyKey} of tenant ${deleted.tenantId} starts a new request.`);
  } catch (err) {
    say(err.message, true);
  }
});

$('fail').addEventListener('click', async () => {
  const reason = $('fail-reason').value.trim();
  if (!reason) return say('Say why the request is failed: its client will see the reason.', true);
  if (!window.confirm(`Fail request ${current.id} for good? Its client gets failed_by_operator: ${reason}`)) return;
  try {
    const { request } = await call('POST', `/api/requests/${encodeURIComponent(current.id)}/fail`, { reason });
    render(request);
    $('fail-reason').value = '';
    say('Failed by you: its client sees failed_by_operator, and its key is released after its retention.');
    watch(request.id);
  } catch (err) {
    say(err.message, true);
  }
});

// The list of recent requests: newest first, filtered, paged with the cursor the API gives.
// `pages` holds the cursor of each page seen so far (null for the first), so Newer goes back.
let pages = [null];
let filter = {};

function readFilter() {
  const picked = {};
  for (const [name, field] of [
    ['status', 'list-status'],
    ['operation', 'list-operation'],
    ['tenant', 'list-tenant'],
    ['errorCode', 'list-error'],
  ]) {
    const value = $(field).value.trim();
    if (value) picked[name] = value;
  }
  // datetime-local is the browser's local time: sent as an instant
  for (const [name, field] of [
    ['from', 'list-from'],
    ['to', 'list-to'],
  ]) {
    if ($(field).value) picked[name] = new Date($(field).value).toISOString();
  }
  return picked;
}

function cell(text, status) {
  const td = document.createElement('td');
  td.textContent = text;
  if (status) td.dataset.status = status;
  return td;
}

async function loadPage(index) {
  try {
    const query = new URLSearchParams({ ...filter, limit: '25', ...(pages[index] && { cursor: pages[index] }) });
    const { requests, nextCursor } = await call('GET', `/api/requests/recent?${query}`);
    const rows = requests.map((request) => {
      const tr = document.createElement('tr');
      tr.dataset.id = request.id;
      const open = document.createElement('button');
      open.type = 'button';
      open.textContent = request.id.slice(0, 8);
      open.title = request.id;
      open.addEventListener('click', () => show(() => call('GET', `/api/requests/${encodeURIComponent(request.id)}`)));
      const last = document.createElement('td');
      last.append(open);
      tr.append(
        cell(request.createdAt.replace('T', ' ').replace('Z', '')),
        cell(request.tenantId),
        cell(request.idempotencyKey),
        cell(request.operation),
        cell(request.status, request.status),
        cell(request.errorCode ?? ''),
        last,
      );
      return tr;
    });
    $('list-rows').replaceChildren(...rows);
    pages = pages.slice(0, index + 1);
    if (nextCursor) pages.push(nextCursor);
    $('list-page').textContent = requests.length ? `page ${index + 1}` : 'no request matches';
    $('list-page').dataset.page = String(index);
    $('list-newer').disabled = index === 0;
    $('list-older').disabled = !nextCursor;
  } catch (err) {
    say(err.message, true);
  }
}

$('filters').addEventListener('submit', (event) => {
  event.preventDefault();
  filter = readFilter();
  pages = [null];
  loadPage(0);
});
$('list-older').addEventListener('click', () => loadPage(Number($('list-page').dataset.page) + 1));
$('list-newer').addEventListener('click', () => loadPage(Math.max(0, Number($('list-page').dataset.page) - 1)));

const BULK_MAX = 100;

$('bulk-redrive').addEventListener('click', async () => {
  try {
    // the bulk re-drive narrows by tenant, operation and window; status and error code are its own
    const where = readFilter();
    delete where.status;
    delete where.errorCode;
    const query = new URLSearchParams({ ...where, status: 'failed', errorCode: 'processing_failed', limit: String(BULK_MAX) });
    const { requests, nextCursor } = await call('GET', `/api/requests/recent?${query}`);
    if (requests.length === 0) return say('No request failed with processing_failed in this tenant, operation and time window.');
    const described =
      Object.entries(where)
        .map(([name, value]) => `${name} ${value}`)
        .join(', ') || 'all tenants and operations';
    const count = nextCursor ? `the newest ${requests.length} (more are left)` : String(requests.length);
    if (!window.confirm(`Re-drive ${count} request(s) that failed with processing_failed (${described})? Each runs again.`)) return;
    const { redriven, skipped, more } = await call('POST', '/api/requests/redrive', { ...where, limit: requests.length });
    say(
      `Re-driven: ${redriven.length} request(s) queued again${skipped ? `, ${skipped} changed meanwhile and left` : ''}${more ? '; more are left for another click' : ''}.`,
    );
    loadPage(Number($('list-page').dataset.page ?? 0));
  } catch (err) {
    say(err.message, true);
  }
});

loadPage(0);
