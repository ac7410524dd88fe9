// The live preservation monitor. Each stream starts from the gateway's state
// (GET /<stream>/state: the picture folded from the retained history, and the
// position it reflects), then resumes the stream right after that position
// and folds each event into the picture with the same reducer the gateway
// used (monitor-state.js, compiled from src/monitor/monitor-state.ts): a
// reload shows the same picture, nothing applied twice. This file is only the
// view. Plain JavaScript modules served as is.
//
// Streams are read with fetch() rather than EventSource so the token travels
// in the Authorization header (never in a URL, where it would land in logs and
// history), so Last-Event-ID can be set on the first connection, and so
// reconnects follow our own backoff.

import { emptyMonitorState, reduceMonitorState } from './monitor-state.js';
import { oidcSettings, startOidcSession } from './oidc-sign-in.js';

const TOKEN_KEY = 'tidings.token';
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
    this.id = undefined;
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
      if (this.data.length > 0) {
        this.onMessage({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
      }
      this.event = '';
      this.data = [];
      this.id = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
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

/**
 * One monitor stream, kept open: starts from the gateway's state, resumes
 * after the last event it applied on every reconnect, and reconnects with
 * exponential backoff and jitter.
 */
class MonitorStream {
  constructor(name, path, statePath, handlers) {
    this.name = name;
    this.path = path;
    this.statePath = statePath;
    this.handlers = handlers;
    this.stopper = new AbortController();
    /** The position of the last event applied: where a reconnect resumes. */
    this.lastEventId = undefined;
    /** True until the state is loaded, and again when the gateway cannot resume us. */
    this.needsState = true;
  }

  /** The picture is incomplete and the gateway cannot fill it in: load the state again, then resume from it. */
  reload() {
    this.needsState = true;
    this.reconnect();
  }

  /** @returns 'ok', 'denied' or 'error'. A gateway without state routes (404) is fine: the stream starts live. */
  async loadState(token, signal) {
    let response;
    try {
      response = await fetch(this.statePath, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        cache: 'no-store',
        signal,
      });
    } catch {
      return 'error';
    }
    if (response.status === 401 || response.status === 403) {
      this.handlers.state('denied', response.status === 401 ? 'Token rejected' : 'Not allowed');
      this.handlers.denied(response.status);
      return 'denied';
    }
    if (response.status === 404) {
      this.needsState = false;
      return 'ok';
    }
    if (!response.ok) return 'error';
    let snapshot;
    try {
      snapshot = await response.json();
    } catch {
      return 'error';
    }
    if (snapshot === null || typeof snapshot !== 'object' || typeof snapshot.state !== 'object') return 'error';
    // No position: nothing was retained when the state was read, so everything retained now came after it.
    this.lastEventId = typeof snapshot.position === 'string' ? snapshot.position : 'oldest';
    this.needsState = false;
    this.handlers.snapshot(snapshot);
    return 'ok';
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
      let outcome = this.needsState ? await this.loadState(tokenOf(), stop) : 'ok';
      if (outcome === 'ok') outcome = await this.connect(tokenOf(), stop);
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
      const headers = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' };
      if (this.lastEventId !== undefined) headers['Last-Event-ID'] = this.lastEventId;
      this.resumedFrom = this.lastEventId;
      const response = await fetch(this.path, {
        headers,
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
      const parser = new SseParser((message) => {
        this.handlers.message(message);
        // Applied: a reconnect resumes after it.
        if (message.id !== undefined && message.id !== '') this.lastEventId = message.id;
      });
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

// ---------------------------------------------------------------- model

/** Each stream's picture (see monitor-state.ts), and what only the view keeps. */
const view = {
  models: { ingest: emptyMonitorState(), storage: emptyMonitorState() },
  /** SIP uuid → trace id of the last event about it that carried a trace context. */
  sipTraces: new Map(),
  selected: null,
  /** Status filter of the SIP list: '' (all), 'active', 'ingested', 'failed'. */
  filter: '',
  search: '',
};

const short = (uuid) => (typeof uuid === 'string' ? uuid.slice(0, 8) : '');
const sipOf = (uuid) => view.models.ingest.sips.find((sip) => sip.uuid === uuid);
const aipOf = (uuid) => view.models.storage.aips.find((aip) => aip.uuid === uuid);
const locationOf = (uuid) => view.models.storage.locations.find((location) => location.uuid === uuid);
const batchOf = (uuid) => view.models.ingest.batches.find((batch) => batch.uuid === uuid);
const sipName = (uuid) => sipOf(uuid)?.name ?? `SIP ${short(uuid)}`;
const aipName = (uuid) => aipOf(uuid)?.name ?? `AIP ${short(uuid)}`;
const locationName = (uuid) => locationOf(uuid)?.name ?? `location ${short(uuid)}`;
const plural = (count, one, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

function parseDetail(data) {
  try {
    const detail = JSON.parse(data);
    return detail !== null && typeof detail === 'object' ? detail : {};
  } catch {
    return {};
  }
}

const GAP_CAUSES = {
  reconnect: 'the event bus reconnected',
  overflow: 'the browser fell behind',
  expired: 'they are older than the gateway keeps',
  'unknown-position': 'the gateway could not resume this page',
};

function onMessage(stream, message) {
  const name = stream.name;
  if (message.event === 'gap') {
    const detail = parseDetail(message.data);
    // Lost to the gateway too (bus reconnect, overflow): say so. Lost to this page only: load the picture again.
    // (Not when resuming from the oldest event failed: a state loaded again would ask the same.)
    const reload =
      (detail.reason === 'expired' || detail.reason === 'unknown-position') && stream.resumedFrom !== 'oldest';
    if (reload) stream.reload();
    // One banner per stream: a notice about one never hides the other's.
    const banner = $(`gap-banner-${name}`);
    banner.querySelector('.gap-text').textContent =
      `Some ${name} updates were missed (${GAP_CAUSES[detail.reason] ?? 'the connection was interrupted'}); ` +
      (reload ? 'the view was reloaded.' : 'the view may be incomplete.');
    banner.hidden = false;
    return;
  }
  if (message.event === 'backend') {
    const detail = parseDetail(message.data);
    if (detail.state === 'lost') setBackend(name, 'lost', detail.reason);
    else if (detail.state === 'restored') setBackend(name, 'ok');
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
  if (!event || typeof event.type !== 'string' || !event.value || event.type.endsWith('_ping_event')) return;
  const before = view.models[name];
  view.models[name] = reduceMonitorState(before, event);
  if (view.models[name] !== before) {
    noteTrace(event.value, wire.traceparent);
    scheduleRender();
  }
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Remembers which trace the last update of a SIP came in, so an operator can look it up. */
function noteTrace(value, traceparent) {
  const traceId = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
  if (traceId === undefined) return;
  const workflowUuid = value.item?.workflow_uuid;
  const owner = workflowUuid
    ? view.models.ingest.sips.find((sip) => sip.workflows.some((w) => w.uuid === workflowUuid))
    : undefined;
  const sipUuid = value.item?.sip_uuid ?? owner?.uuid ?? value.uuid;
  if (sipOf(sipUuid)) view.sipTraces.set(sipUuid, traceId);
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
const FAILED = new Set(['failed', 'error']);
const ACTIVE = new Set(['queued', 'processing', 'pending', 'validated']);

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

/** Short enough for a table cell: the time today, else the day and time ("30 Nov 14:05"), with the year when not this one. */
function formatTime(value) {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  const now = new Date();
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (date.toDateString() === now.toDateString()) {
    return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  const day = date.toLocaleDateString([], {
    day: 'numeric',
    month: 'short',
    ...(date.getFullYear() === now.getFullYear() ? {} : { year: 'numeric' }),
  });
  return `${day} ${time}`;
}

const fullTime = (value) => {
  const date = value ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date.toLocaleString() : undefined;
};

/** The workflow shown for a SIP: the newest (the reducer keeps them newest first). */
const currentWorkflow = (sip) => sip.workflows[0];

function progressCell(sip) {
  const workflow = currentWorkflow(sip);
  const tasks = workflow?.tasks ?? [];
  const done = tasks.filter((t) => t.status === 'done').length;
  const current = tasks.find((t) => t.status === 'in progress');
  const failedTask = tasks.find((t) => FAILED.has(t.status));
  const failed = FAILED.has(sip.status);
  const finished = sip.status === 'ingested' || failed;
  // Honest: tasks done of the tasks known so far; no guess at tasks not yet announced.
  let text = 'Waiting to start';
  if (failed) text = failedTask ? `Failed at "${failedTask.name}"` : 'Failed';
  else if (sip.status === 'ingested') text = `Ingested, ${plural(done, 'task')} done`;
  else if (workflow && tasks.length === 0) text = `Starting "${workflow.type}"`;
  else if (workflow) text = `${done} of ${plural(tasks.length, 'task')} done${current ? ` · ${current.name}` : ''}`;
  const ratio = sip.status === 'ingested' ? 1 : tasks.length === 0 ? 0 : done / tasks.length;
  const bar = el(
    'div',
    {
      className: 'bar',
      'data-tone': failed ? 'red' : finished ? 'green' : 'blue',
      role: 'progressbar',
      'aria-valuemin': '0',
      'aria-valuemax': String(tasks.length),
    },
    el('span'),
  );
  bar.setAttribute('aria-valuenow', String(done));
  bar.firstChild.style.width = `${Math.round(ratio * 100)}%`;
  return el('div', { className: 'progress' }, bar, el('span', { className: 'progress-text', text, title: text }));
}

function detailsRow(sip) {
  const cell = el('td', { colSpan: 7 });
  if (sip.workflows.length === 0) cell.append(el('p', { className: 'hint', text: 'No workflow has started yet.' }));
  for (const workflow of [...sip.workflows].reverse()) {
    const box = el(
      'div',
      { className: 'workflow' },
      el(
        'div',
        { className: 'workflow-head' },
        el('strong', { text: `Workflow: ${workflow.type ?? 'unknown'}` }),
        badge(workflow.status),
        el('span', { className: 'time', text: `started ${formatTime(workflow.started_at)}` }),
        el('span', { className: 'mono sub', text: workflow.temporal_id }),
      ),
    );
    const list = el('ul', { className: 'tasks' });
    for (const task of workflow.tasks) {
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
  if (sip.batch_uuid) {
    const batch = batchOf(sip.batch_uuid);
    cell.append(
      el('p', { className: 'sub', text: `Batch ${batch?.identifier ?? sip.batch_identifier ?? sip.batch_uuid}` }),
    );
  }
  if (sip.aip_uuid) {
    const aip = aipOf(sip.aip_uuid);
    const where = aip?.location_uuid ? ` in ${locationName(aip.location_uuid)}` : '';
    cell.append(el('p', { className: 'sub', text: `AIP ${aip?.name ?? sip.aip_uuid}${where}` }));
  }
  const traceId = view.sipTraces.get(sip.uuid);
  if (traceId) cell.append(el('p', { className: 'sub mono trace', text: `Last update in trace ${traceId}` }));
  return el('tr', { className: 'details' }, cell);
}

/** SIP rows by uuid, kept across renders so rows under the pointer or focus stay put. */
const sipRows = new Map();

function sipCells(sip) {
  return [
    el(
      'td',
      { className: 'name-cell', 'data-label': 'Name' },
      el('span', { className: 'name', text: sip.name ?? 'Unnamed SIP', title: sip.name }),
      el('span', { className: 'sub mono', text: short(sip.uuid), title: sip.uuid }),
    ),
    el('td', { className: 'status-cell', 'data-label': 'Status' }, badge(sip.status)),
    el('td', { className: 'progress-cell', 'data-label': 'Progress' }, progressCell(sip)),
    el(
      'td',
      { className: 'uploader-cell', 'data-label': 'Uploader', title: sip.uploader_email },
      el('span', { text: sip.uploader_name ?? '—' }),
      el('span', { className: 'sub', text: sip.uploader_email }),
    ),
    el('td', {
      className: 'num',
      'data-label': 'Files',
      text: sip.file_count === undefined ? '—' : String(sip.file_count),
    }),
    el('td', {
      className: 'time',
      'data-label': 'Started',
      text: formatTime(sip.started_at),
      title: fullTime(sip.started_at),
    }),
    el('td', {
      className: 'time',
      'data-label': 'Completed',
      text: formatTime(sip.completed_at),
      title: fullTime(sip.completed_at),
    }),
  ];
}

function sipSignature(sip) {
  const workflow = currentWorkflow(sip);
  return JSON.stringify([sip, workflow?.status, workflow?.type, workflow?.tasks.map((t) => t.status)]);
}

function shown(sip) {
  if (view.filter === 'active' && !ACTIVE.has(sip.status)) return false;
  if (view.filter === 'ingested' && sip.status !== 'ingested') return false;
  if (view.filter === 'failed' && !FAILED.has(sip.status)) return false;
  if (view.search === '') return true;
  return sip.uuid.toLowerCase().includes(view.search) || (sip.name ?? '').toLowerCase().includes(view.search);
}

function renderSips() {
  const body = $('sips-body');
  const all = view.models.ingest.sips;
  const sips = all.filter(shown);
  const wanted = [];
  const seen = new Set();
  for (const sip of sips) {
    let entry = sipRows.get(sip.uuid);
    if (!entry) {
      entry = { row: el('tr', { className: 'sip-row', 'data-uuid': sip.uuid, tabIndex: 0 }), signature: '' };
      sipRows.set(sip.uuid, entry);
    }
    const { row } = entry;
    row.classList.toggle('selected', view.selected === sip.uuid);
    row.dataset.status = sip.status ?? '';
    const signature = sipSignature(sip);
    if (signature !== entry.signature) {
      entry.signature = signature;
      row.replaceChildren(...sipCells(sip));
    }
    seen.add(sip.uuid);
    wanted.push(row);
    if (view.selected === sip.uuid) wanted.push(detailsRow(sip));
  }
  const kept = new Set(all.map((sip) => sip.uuid));
  for (const [uuid, entry] of sipRows) {
    if (seen.has(uuid)) continue;
    sipRows.delete(uuid);
    if (!kept.has(uuid)) view.sipTraces.delete(uuid);
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
  const empty = $('sips-empty');
  empty.hidden = sips.length > 0;
  empty.textContent = all.length === 0 ? 'Waiting for ingest activity…' : 'No SIP matches the filter.';
  $('sips-count').textContent =
    sips.length === all.length ? plural(all.length, 'SIP') : `${sips.length} of ${plural(all.length, 'SIP')}`;
}

function renderAips() {
  const aips = view.models.storage.aips;
  $('aips-body').replaceChildren(
    ...aips.map((aip) =>
      el(
        'tr',
        { 'data-uuid': aip.uuid, 'data-status': aip.status ?? '' },
        el('td', {}, el('span', { className: 'name', text: aip.name ?? `AIP ${short(aip.uuid)}`, title: aip.uuid })),
        el('td', {}, badge(aip.status)),
        el('td', { className: 'location-cell', text: aip.location_uuid ? locationName(aip.location_uuid) : '—' }),
      ),
    ),
  );
  $('aips-empty').hidden = aips.length > 0;
}

function renderLocations() {
  const locations = view.models.storage.locations;
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
  const sips = view.models.ingest.sips;
  const count = (statuses) => sips.filter((s) => statuses.has(s.status)).length;
  $('stat-sips').textContent = String(sips.length);
  $('stat-processing').textContent = String(count(ACTIVE));
  $('stat-ingested').textContent = String(count(new Set(['ingested'])));
  $('stat-failed').textContent = String(count(FAILED));
  $('stat-aips').textContent = String(view.models.storage.aips.filter((a) => a.status === 'stored').length);
  $('stat-locations').textContent = String(view.models.storage.locations.length);
}

const STATUS_WORDS = {
  queued: 'is queued',
  processing: 'is processing',
  pending: 'is waiting for a decision',
  validated: 'was validated',
  ingested: 'was ingested',
  failed: 'failed',
  error: 'failed with an error',
  canceled: 'was canceled',
  stored: 'was stored',
  deleted: 'was deleted',
  unspecified: 'has no status',
};
const statusWords = (status) => STATUS_WORDS[status] ?? `is ${status}`;

/** An activity entry as a sentence, with the names known now. */
function activityText(entry) {
  switch (entry.kind) {
    case 'sip-received':
      return `${sipName(entry.uuid)} received for ingest`;
    case 'sip-status':
      return `${sipName(entry.uuid)} ${statusWords(entry.status)}`;
    case 'workflow-started':
      return `${sipName(entry.uuid)}: an ingest ("${entry.label}") started`;
    case 'task-failed':
      return `${sipName(entry.uuid)}: task "${entry.label}" failed`;
    case 'batch-created': {
      const batch = batchOf(entry.uuid);
      const size = batch?.sips_count === undefined ? '' : ` (${plural(batch.sips_count, 'SIP')})`;
      return `Batch ${batch?.identifier ?? short(entry.uuid)} created${size}`;
    }
    case 'location-added':
      return `Location "${locationName(entry.uuid)}" added`;
    case 'aip-created':
      return `${aipName(entry.uuid)} created in storage`;
    case 'aip-status':
      return `${aipName(entry.uuid)} ${statusWords(entry.status)}`;
    default:
      return entry.kind;
  }
}

const ACTIVITY_TONES = { 'sip-received': 'blue', 'workflow-started': 'blue', 'task-failed': 'red' };
const activityTone = (entry) => ACTIVITY_TONES[entry.kind] ?? (entry.status ? toneOf(entry.status) : 'teal');

/** Both streams' feeds in one list: by the time the events give, else each stream's own order, ingest first. */
function mergedActivity() {
  const a = view.models.ingest.activity;
  const b = view.models.storage.activity;
  const merged = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    const takeB = x === undefined || (y !== undefined && x.at && y.at && Date.parse(y.at) > Date.parse(x.at));
    merged.push(takeB ? y : x);
    if (takeB) j++;
    else i++;
  }
  return merged.slice(0, 60);
}

function renderActivity() {
  $('activity-list').replaceChildren(
    ...mergedActivity().map((entry) =>
      el(
        'li',
        { 'data-tone': activityTone(entry) },
        el('span', { className: 'time', text: entry.at ? formatTime(entry.at) : '' }),
        el('span', { text: activityText(entry) }),
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
  for (const name of ['ingest', 'storage']) {
    const stream = new MonitorStream(name, `/${name}/monitor`, `/${name}/state`, {
      state: (kind, text) => setConnection(name, kind, text),
      snapshot: (snapshot) => {
        view.models[name] = snapshot.state;
        scheduleRender();
      },
      message: (message) => onMessage(stream, message),
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
  view.selected = view.selected === row.dataset.uuid ? null : row.dataset.uuid;
  scheduleRender();
});
$('sips-body').addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' && event.key !== ' ') return;
  const row = event.target.closest('tr.sip-row');
  if (!row) return;
  event.preventDefault();
  view.selected = view.selected === row.dataset.uuid ? null : row.dataset.uuid;
  scheduleRender();
});
$('sip-filter').addEventListener('change', (event) => {
  view.filter = event.target.value;
  scheduleRender();
});
$('sip-search').addEventListener('input', (event) => {
  view.search = event.target.value.trim().toLowerCase();
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
