// The live preservation monitor: connects to the gateway's two SSE streams,
// keeps the latest state of SIPs, workflows, tasks, AIPs and locations, and
// renders it. Plain JavaScript served as is: nothing to build.
//
// Streams are read with fetch() rather than EventSource so the token travels
// in the Authorization header (never in a URL, where it would land in logs and
// history) and so reconnects follow our own backoff.

import { oidcSettings, startOidcSession } from './oidc-sign-in.js';

const TOKEN_KEY = 'tidings.token';
const MAX_SIPS = 150;
const MAX_AIPS = 100;
const MAX_ACTIVITY = 60;
const BACKOFF_START_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const STABLE_AFTER_MS = 10000;

const pingMeta = document.querySelector('meta[name="tidings-ping-interval-ms"]');
const pingIntervalMs = Number.parseInt(pingMeta?.getAttribute('content') ?? '', 10) || 10000;
// No bytes for three ping intervals: the connection is dead even if TCP has not noticed.
const watchdogMs = pingIntervalMs * 3 + 5000;

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- token

function takeToken() {
  const hash = new URLSearchParams(window.location.hash.slice(1));
  const fromHash = hash.get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    // Drop it from the address bar and history.
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

// ---------------------------------------------------------------- SSE reading

/** Incremental SSE parser (WHATWG rules): feed text, get {event, data} messages. */
class SseParser {
  constructor(onMessage) {
    this.onMessage = onMessage;
    this.buffer = '';
    this.event = '';
    this.data = [];
  }

  feed(text) {
    this.buffer += text;
    let start = 0;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer.slice(start));
      if (!match) break;
      // A lone CR at the very end may be the first half of CRLF: wait for more.
      if (match[0] === '\r' && start + match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(start, start + match.index);
      start += match.index + match[0].length;
      this.line(line);
    }
    this.buffer = this.buffer.slice(start);
  }

  line(line) {
    if (line === '') {
      if (this.data.length > 0) this.onMessage({ event: this.event || 'message', data: this.data.join('\n') });
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** One monitor stream, kept open: reconnects with exponential backoff and jitter. */
class MonitorStream {
  constructor(name, path, handlers) {
    this.name = name;
    this.path = path;
    this.handlers = handlers;
    this.stopper = new AbortController();
  }

  stop() {
    this.stopper.abort();
  }

  /** Ends the current connection and opens a new one at once (a renewed token is in hand). */
  reconnect() {
    this.renewed = true;
    this.connection?.abort();
  }

  /** @param tokenOf gives the token for each connection, so a reconnect uses the latest. */
  async run(tokenOf) {
    let attempt = 0;
    const stop = this.stopper.signal;
    while (!stop.aborted) {
      this.handlers.state(attempt === 0 ? 'connecting' : 'reconnecting', 'Connecting…');
      const started = Date.now();
      this.renewed = false;
      const outcome = await this.connect(tokenOf(), stop);
      if (stop.aborted) return;
      if (outcome === 'denied') return;
      if (this.renewed) {
        attempt = 0;
        continue;
      }
      attempt = Date.now() - started > STABLE_AFTER_MS ? 1 : attempt + 1;
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** (attempt - 1));
      const delay = Math.round(base / 2 + (Math.random() * base) / 2);
      this.handlers.state('reconnecting', `Reconnecting in ${Math.ceil(delay / 1000)} s`);
      await sleep(delay, stop);
    }
  }

  async connect(token, stop) {
    const abort = new AbortController();
    this.connection = abort;
    const onStop = () => abort.abort();
    stop.addEventListener('abort', onStop);
    let watchdog;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abort.abort(), watchdogMs);
    };
    try {
      arm();
      const response = await fetch(this.path, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
        cache: 'no-store',
        signal: abort.signal,
      });
      if (response.status === 401 || response.status === 403) {
        this.handlers.state('denied', response.status === 401 ? 'Token rejected' : 'Not allowed');
        this.handlers.denied(response.status);
        return 'denied';
      }
      if (!response.ok || !response.body) {
        this.handlers.state('error', `HTTP ${response.status}`);
        return 'error';
      }
      this.handlers.state('live', 'Live');
      const parser = new SseParser((message) => this.handlers.message(message));
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        arm();
        parser.feed(value);
      }
      return 'ended';
    } catch {
      return 'error';
    } finally {
      clearTimeout(watchdog);
      stop.removeEventListener('abort', onStop);
      abort.abort();
    }
  }
}

// ---------------------------------------------------------------- state

const state = {
  sips: new Map(),
  workflows: new Map(),
  tasks: new Map(),
  batches: new Map(),
  aips: new Map(),
  aipWorkflows: new Map(),
  locations: new Map(),
  /** SIP uuid → trace id of the last event about it that carried a trace context. */
  sipTraces: new Map(),
  activity: [],
  selected: null,
};

const short = (uuid) => (typeof uuid === 'string' ? uuid.slice(0, 8) : '');
const sipName = (uuid) => state.sips.get(uuid)?.name ?? `SIP ${short(uuid)}`;
const aipName = (uuid) => state.aips.get(uuid)?.name ?? `AIP ${short(uuid)}`;

function note(text, tone) {
  state.activity.unshift({ at: new Date(), text, tone });
  if (state.activity.length > MAX_ACTIVITY) state.activity.length = MAX_ACTIVITY;
}

function merge(map, uuid, patch) {
  const next = { ...(map.get(uuid) ?? { uuid }), ...patch };
  map.set(uuid, next);
  return next;
}

function trim(map, max) {
  if (map.size <= max) return;
  const excess = [...map.values()].sort((a, b) => stamp(a) - stamp(b)).slice(0, map.size - max);
  for (const item of excess) map.delete(item.uuid);
}

function stamp(item) {
  const value = Date.parse(item.created_at ?? item.started_at ?? '');
  return Number.isNaN(value) ? 0 : value;
}

const handlers = {
  ingest_ping_event() {},
  storage_ping_event() {},
  sip_created_event({ uuid, item }) {
    merge(state.sips, uuid, item);
    trim(state.sips, MAX_SIPS);
    note(`${sipName(uuid)} received`, 'blue');
  },
  sip_updated_event({ uuid, item }) {
    merge(state.sips, uuid, item);
  },
  sip_status_updated_event({ uuid, status }) {
    merge(state.sips, uuid, { status });
    note(`${sipName(uuid)} is ${status}`, toneOf(status));
  },
  sip_workflow_created_event({ item }) {
    state.workflows.set(item.uuid, item);
    note(`${sipName(item.sip_uuid)}: workflow "${item.type}" started`, 'blue');
  },
  sip_workflow_updated_event({ item }) {
    state.workflows.set(item.uuid, { ...state.workflows.get(item.uuid), ...item });
  },
  sip_task_created_event({ item }) {
    state.tasks.set(item.uuid, item);
  },
  sip_task_updated_event({ item }) {
    state.tasks.set(item.uuid, { ...state.tasks.get(item.uuid), ...item });
    if (item.status === 'error' || item.status === 'failed') note(`Task "${item.name}" ${item.status}`, 'red');
  },
  batch_created_event({ uuid, item }) {
    merge(state.batches, uuid, item);
    note(`Batch ${item.identifier} created (${item.sips_count} SIPs)`, 'blue');
  },
  batch_updated_event({ uuid, item }) {
    merge(state.batches, uuid, item);
  },
  location_created_event({ uuid, item }) {
    merge(state.locations, uuid, item);
    note(`Location "${item.name}" added`, 'teal');
  },
  location_updated_event({ uuid, item }) {
    merge(state.locations, uuid, item);
  },
  aip_created_event({ uuid, item }) {
    merge(state.aips, uuid, item);
    trim(state.aips, MAX_AIPS);
    note(`${item.name} created in storage`, 'blue');
  },
  aip_updated_event({ uuid, item }) {
    merge(state.aips, uuid, item);
  },
  aip_status_updated_event({ uuid, status }) {
    merge(state.aips, uuid, { status });
    note(`${aipName(uuid)} is ${status}`, toneOf(status));
  },
  aip_location_updated_event({ uuid, location_uuid }) {
    merge(state.aips, uuid, { location_uuid });
  },
  aip_workflow_created_event({ item }) {
    state.aipWorkflows.set(item.uuid, item);
  },
  aip_workflow_updated_event({ item }) {
    state.aipWorkflows.set(item.uuid, { ...state.aipWorkflows.get(item.uuid), ...item });
  },
  aip_task_created_event() {},
  aip_task_updated_event() {},
};

function parseDetail(data) {
  try {
    const detail = JSON.parse(data);
    return detail !== null && typeof detail === 'object' ? detail : {};
  } catch {
    return {};
  }
}

function onMessage(stream, message) {
  if (message.event === 'gap') {
    const detail = parseDetail(message.data);
    const why = detail.reason === 'reconnect' ? 'the event bus reconnected' : 'the browser fell behind';
    // One banner per stream: a notice about one never hides the other's.
    const banner = $(`gap-banner-${stream}`);
    banner.querySelector('.gap-text').textContent =
      `Some ${stream} updates were missed (${why}); the view may be incomplete.`;
    banner.hidden = false;
    return;
  }
  if (message.event === 'backend') {
    const detail = parseDetail(message.data);
    if (detail.state === 'lost') setBackend(stream, 'lost', detail.reason);
    else if (detail.state === 'restored') setBackend(stream, 'ok');
    return;
  }
  // Any other named event is news for a later dashboard: never mistaken for an event.
  if (message.event !== 'message') return;
  let wire;
  try {
    wire = JSON.parse(message.data);
  } catch {
    return;
  }
  const event = wire?.value;
  const handler = event && handlers[event.type];
  if (handler && event.value) {
    handler(event.value);
    noteTrace(event.value, wire.traceparent);
    scheduleRender();
  }
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Remembers which trace the last update of a SIP came in, so an operator can look it up. */
function noteTrace(value, traceparent) {
  const traceId = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
  if (traceId === undefined) return;
  const workflow = value.item?.workflow_uuid ? state.workflows.get(value.item.workflow_uuid) : undefined;
  const sipUuid = value.item?.sip_uuid ?? workflow?.sip_uuid ?? value.uuid;
  if (state.sips.has(sipUuid)) state.sipTraces.set(sipUuid, traceId);
}

// ---------------------------------------------------------------- rendering

const TONES = {
  ingested: 'green',
  done: 'green',
  stored: 'green',
  validated: 'teal',
  processing: 'blue',
  'in progress': 'blue',
  queued: 'gray',
  pending: 'amber',
  failed: 'red',
  error: 'red',
  canceled: 'gray',
  deleted: 'gray',
  unspecified: 'gray',
};
const toneOf = (status) => TONES[status] ?? 'gray';

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'className') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

const badge = (status) => el('span', { className: 'badge', 'data-tone': toneOf(status), text: status ?? 'unknown' });

function formatTime(value) {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

function workflowsOf(sipUuid) {
  return [...state.workflows.values()].filter((w) => w.sip_uuid === sipUuid).sort((a, b) => stamp(a) - stamp(b));
}

function tasksOf(workflowUuid) {
  return [...state.tasks.values()].filter((t) => t.workflow_uuid === workflowUuid).sort((a, b) => stamp(a) - stamp(b));
}

function progressCell(sip) {
  const workflow = workflowsOf(sip.uuid).at(-1);
  const tasks = workflow ? tasksOf(workflow.uuid) : [];
  const done = tasks.filter((t) => t.status === 'done').length;
  const current = tasks.find((t) => t.status === 'in progress');
  const failed = sip.status === 'failed' || sip.status === 'error';
  const finished = sip.status === 'ingested' || failed;
  let text = 'Waiting to start';
  if (workflow && current) text = current.name;
  else if (failed) text = tasks.find((t) => t.status === 'error' || t.status === 'failed')?.name ?? 'Failed';
  else if (sip.status === 'ingested') text = `${done} tasks completed`;
  else if (workflow) text = workflow.type;
  const ratio = finished ? 1 : tasks.length === 0 ? 0.04 : Math.min(0.95, done / (tasks.length + 1));
  const bar = el(
    'div',
    { className: 'bar', 'data-tone': failed ? 'red' : finished ? 'green' : 'blue' },
    el('span', { style: `width:${Math.round(ratio * 100)}%` }),
  );
  bar.firstChild.style.width = `${Math.round(ratio * 100)}%`;
  return el('div', { className: 'progress' }, bar, el('span', { className: 'progress-text', text, title: text }));
}

function detailsRow(sip) {
  const cell = el('td', { colSpan: 7 });
  const workflows = workflowsOf(sip.uuid);
  if (workflows.length === 0) cell.append(el('p', { className: 'hint', text: 'No workflow has started yet.' }));
  for (const workflow of workflows) {
    const box = el(
      'div',
      { className: 'workflow' },
      el(
        'div',
        { className: 'workflow-head' },
        el('strong', { text: `Workflow: ${workflow.type}` }),
        badge(workflow.status),
        el('span', { className: 'time', text: `started ${formatTime(workflow.started_at)}` }),
        el('span', { className: 'mono sub', text: workflow.temporal_id }),
      ),
    );
    const list = el('ul', { className: 'tasks' });
    for (const task of tasksOf(workflow.uuid)) {
      const item = el(
        'li',
        { 'data-task-status': task.status },
        el('span', { text: task.name }),
        badge(task.status),
        el('span', { className: 'time', text: formatTime(task.completed_at ?? task.started_at) }),
      );
      if (task.note) item.append(el('span', { className: 'note', text: task.note }));
      list.append(item);
    }
    box.append(list);
    cell.append(box);
  }
  if (sip.aip_uuid) cell.append(el('p', { className: 'sub', text: `AIP ${sip.aip_uuid}` }));
  const traceId = state.sipTraces.get(sip.uuid);
  if (traceId) cell.append(el('p', { className: 'sub mono trace', text: `Last update in trace ${traceId}` }));
  return el('tr', { className: 'details' }, cell);
}

/** SIP rows by uuid, kept across renders so rows under the pointer or focus stay put. */
const sipRows = new Map();

function sipCells(sip) {
  return [
    el(
      'td',
      { className: 'name-cell' },
      el('span', { className: 'name', text: sip.name ?? short(sip.uuid) }),
      el('span', { className: 'sub mono', text: short(sip.uuid) }),
    ),
    el('td', {}, badge(sip.status)),
    el('td', {}, progressCell(sip)),
    el(
      'td',
      {},
      el('span', { text: sip.uploader_name ?? '—' }),
      el('span', { className: 'sub', text: sip.uploader_email }),
    ),
    el('td', { className: 'num', text: sip.file_count === undefined ? '—' : String(sip.file_count) }),
    el('td', { className: 'time', text: formatTime(sip.started_at) }),
    el('td', { className: 'time', text: formatTime(sip.completed_at) }),
  ];
}

function sipSignature(sip) {
  const workflow = workflowsOf(sip.uuid).at(-1);
  const tasks = workflow ? tasksOf(workflow.uuid).map((t) => t.status) : [];
  return JSON.stringify([sip, workflow?.status, workflow?.type, tasks]);
}

function renderSips() {
  const body = $('sips-body');
  const sips = [...state.sips.values()].sort((a, b) => stamp(b) - stamp(a));
  const wanted = [];
  const seen = new Set();
  for (const sip of sips) {
    let entry = sipRows.get(sip.uuid);
    if (!entry) {
      entry = { row: el('tr', { className: 'sip-row', 'data-uuid': sip.uuid, tabIndex: 0 }), signature: '' };
      sipRows.set(sip.uuid, entry);
    }
    const { row } = entry;
    row.classList.toggle('selected', state.selected === sip.uuid);
    row.dataset.status = sip.status ?? '';
    const signature = sipSignature(sip);
    if (signature !== entry.signature) {
      entry.signature = signature;
      row.replaceChildren(...sipCells(sip));
    }
    seen.add(sip.uuid);
    wanted.push(row);
    if (state.selected === sip.uuid) wanted.push(detailsRow(sip));
  }
  for (const [uuid, entry] of sipRows) {
    if (seen.has(uuid)) continue;
    sipRows.delete(uuid);
    state.sipTraces.delete(uuid);
    entry.row.remove();
  }
  // Move only what is out of place: untouched rows are never detached.
  let cursor = body.firstChild;
  for (const node of wanted) {
    if (node === cursor) {
      cursor = cursor.nextSibling;
      continue;
    }
    body.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
  $('sips-empty').hidden = sips.length > 0;
}

function renderAips() {
  const aips = [...state.aips.values()].sort((a, b) => stamp(b) - stamp(a));
  $('aips-body').replaceChildren(
    ...aips.map((aip) =>
      el(
        'tr',
        { 'data-uuid': aip.uuid, 'data-status': aip.status },
        el('td', {}, el('span', { className: 'name', text: aip.name ?? short(aip.uuid) })),
        el('td', {}, badge(aip.status)),
        el('td', {
          text: state.locations.get(aip.location_uuid)?.name ?? (aip.location_uuid ? short(aip.location_uuid) : '—'),
        }),
      ),
    ),
  );
  $('aips-empty').hidden = aips.length > 0;
}

function renderLocations() {
  const locations = [...state.locations.values()];
  $('locations-list').replaceChildren(
    ...locations.map((location) =>
      el(
        'li',
        { 'data-uuid': location.uuid },
        el(
          'div',
          {},
          el('span', { className: 'name', text: location.name }),
          el('span', { className: 'sub', text: location.description }),
        ),
        el(
          'div',
          {},
          el('span', { className: 'badge source', 'data-tone': 'teal', text: location.source }),
          el('span', { className: 'sub', text: location.purpose === 'aip_store' ? 'AIP store' : location.purpose }),
        ),
      ),
    ),
  );
  $('locations-empty').hidden = locations.length > 0;
}

function renderStats() {
  const sips = [...state.sips.values()];
  const count = (...statuses) => sips.filter((s) => statuses.includes(s.status)).length;
  $('stat-sips').textContent = String(sips.length);
  $('stat-processing').textContent = String(count('queued', 'processing', 'pending', 'validated'));
  $('stat-ingested').textContent = String(count('ingested'));
  $('stat-failed').textContent = String(count('failed', 'error'));
  $('stat-aips').textContent = String([...state.aips.values()].filter((a) => a.status === 'stored').length);
  $('stat-locations').textContent = String(state.locations.size);
}

function renderActivity() {
  $('activity-list').replaceChildren(
    ...state.activity.map((entry) =>
      el(
        'li',
        {},
        el('span', { className: 'time', text: entry.at.toLocaleTimeString() }),
        el('span', { text: entry.text }),
      ),
    ),
  );
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderSips();
    renderAips();
    renderLocations();
    renderStats();
    renderActivity();
  });
}

// ---------------------------------------------------------------- wiring

function setConnection(name, kind, text) {
  const badgeEl = $(`conn-${name}`);
  badgeEl.dataset.state = kind;
  // A stream the gateway has just accepted has a working backend: it subscribed us.
  if (kind === 'live') badgeEl.dataset.backend = 'ok';
  badgeEl.querySelector('.conn-text').textContent = text;
  badgeEl.title = '';
}

/** The gateway is reachable and says whether its event bus for this stream works (news comes on a live stream). */
function setBackend(name, backend, reason) {
  const badgeEl = $(`conn-${name}`);
  badgeEl.dataset.backend = backend;
  badgeEl.querySelector('.conn-text').textContent = backend === 'lost' ? 'Event bus unreachable' : 'Live';
  badgeEl.title = backend === 'lost' && typeof reason === 'string' ? reason : '';
}

const streams = [];

function showSignIn(message) {
  for (const stream of streams.splice(0)) stream.stop();
  $('sign-in').hidden = false;
  $('main').hidden = true;
  $('sign-out').hidden = true;
  const error = $('sign-in-error');
  error.hidden = !message;
  error.textContent = message ?? '';
}

function connect(tokenOf) {
  $('sign-in').hidden = true;
  $('main').hidden = false;
  $('sign-out').hidden = false;
  for (const [name, path] of [
    ['ingest', '/ingest/monitor'],
    ['storage', '/storage/monitor'],
  ]) {
    const stream = new MonitorStream(name, path, {
      state: (kind, text) => setConnection(name, kind, text),
      message: (message) => onMessage(name, message),
      denied: (status) => {
        // A token scoped to the other stream gets 403 here: keep the other one running.
        if (status === 401) {
          sessionStorage.removeItem(TOKEN_KEY);
          if (session?.accessToken) {
            session.accessToken = undefined;
            void session.forget();
          }
          showSignIn('That token was not accepted.');
        }
      },
    });
    streams.push(stream);
    void stream.run(tokenOf);
  }
}

$('sips-body').addEventListener('click', (event) => {
  const row = event.target.closest('tr.sip-row');
  if (!row) return;
  state.selected = state.selected === row.dataset.uuid ? null : row.dataset.uuid;
  scheduleRender();
});
$('sips-body').addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' && event.key !== ' ') return;
  const row = event.target.closest('tr.sip-row');
  if (!row) return;
  event.preventDefault();
  state.selected = state.selected === row.dataset.uuid ? null : row.dataset.uuid;
  scheduleRender();
});
for (const button of document.querySelectorAll('.gap-dismiss')) {
  button.addEventListener('click', () => {
    button.closest('.banner').hidden = true;
  });
}
$('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  if (session?.accessToken) {
    // The provider ends its session too, then sends the browser back here.
    session.accessToken = undefined;
    void session.signOut();
    return;
  }
  showSignIn();
});
$('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('token-input').value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token-input').value = '';
  connect(() => token);
});
$('oidc-sign-in-button').addEventListener('click', () => {
  session?.signIn().catch((error) => showSignIn(`The sign-in service cannot be reached: ${error.message}`));
});

/** The OIDC session when the gateway names a provider; pasted tokens work either way. */
let session;
const settings = oidcSettings();
if (settings) {
  $('oidc-sign-in').hidden = false;
  $('oidc-provider').textContent = new URL(settings.authority).host;
  try {
    session = await startOidcSession(settings, {
      renewed: (accessToken) => {
        session.accessToken = accessToken;
        for (const stream of streams) stream.reconnect();
      },
      ended: (message) => {
        if (!session.accessToken) return;
        session.accessToken = undefined;
        showSignIn(message);
      },
    });
  } catch (error) {
    // The pasted-token form still works without the provider.
    $('oidc-sign-in').hidden = true;
    session = { error: `Sign-in through the provider is unavailable: ${error.message}` };
  }
}

const token = takeToken();
if (session?.accessToken) connect(() => session.accessToken);
else if (token) connect(() => token);
else showSignIn(session?.error);
