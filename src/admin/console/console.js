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
