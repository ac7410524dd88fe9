import type { MonitorEvent, StorageMonitorEvent } from '../index.js';
import { terminalSafe } from './terminal-text.js';

/** An identifier as it is when it looks like one; quoted otherwise, so it cannot pose as other fields. */
const short = (id: string | undefined): string =>
  id === undefined ? '-' : /^[\w.:-]+$/.test(id) ? id : JSON.stringify(id);
const quoted = (text: string | undefined): string => (text === undefined ? '' : ` ${JSON.stringify(text)}`);

/**
 * One human-readable line for an event: its type, then the fields a person
 * scanning a terminal looks for (identifier, name, status, relations).
 * Whatever the event's strings hold, the result is one line of visible text:
 * controls, separators and bidi overrides are written as `\uXXXX` escapes.
 */
export function eventLine(event: MonitorEvent | StorageMonitorEvent): string {
  return terminalSafe(`${event.type.padEnd(28)} ${details(event)}`);
}

function details(event: MonitorEvent | StorageMonitorEvent): string {
  switch (event.type) {
    case 'ingest_ping_event':
    case 'storage_ping_event':
      return `message=${JSON.stringify(event.value.message ?? '')}`;
    case 'sip_created_event':
    case 'sip_updated_event': {
      const sip = event.value.item;
      return `sip ${short(event.value.uuid)}${quoted(sip.name)} status=${sip.status}`;
    }
    case 'sip_status_updated_event':
      return `sip ${short(event.value.uuid)} status=${event.value.status}`;
    case 'sip_workflow_created_event':
    case 'sip_workflow_updated_event': {
      const w = event.value.item;
      return `workflow ${short(event.value.uuid)} "${w.type}" status=${w.status} sip=${short(w.sip_uuid)}`;
    }
    case 'sip_task_created_event':
    case 'sip_task_updated_event':
    case 'aip_task_created_event':
    case 'aip_task_updated_event': {
      const t = event.value.item;
      return `task ${short(event.value.uuid)}${quoted(t.name)} status=${t.status} workflow=${short(t.workflow_uuid)}`;
    }
    case 'batch_created_event':
    case 'batch_updated_event': {
      const b = event.value.item;
      return `batch ${short(event.value.uuid)}${quoted(b.identifier)} status=${b.status} sips=${b.sips_count}`;
    }
    case 'location_created_event':
    case 'location_updated_event': {
      const l = event.value.item;
      return `location ${short(event.value.uuid)}${quoted(l.name)} source=${l.source} purpose=${l.purpose}`;
    }
    case 'aip_created_event':
    case 'aip_updated_event': {
      const a = event.value.item;
      return `aip ${short(event.value.uuid)}${quoted(a.name)} status=${a.status}`;
    }
    case 'aip_status_updated_event':
      return `aip ${short(event.value.uuid)} status=${event.value.status}`;
    case 'aip_location_updated_event':
      return `aip ${short(event.value.uuid)} location=${short(event.value.location_uuid)}`;
    case 'aip_workflow_created_event':
    case 'aip_workflow_updated_event': {
      const w = event.value.item;
      return `workflow ${short(event.value.uuid)} "${w.type}" status=${w.status} aip=${short(w.aip_uuid)}`;
    }
  }
}
