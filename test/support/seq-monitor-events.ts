import type { MonitorEvent } from '../../src/monitor/schemas.js';
import type { SseFrame } from './resume-client.js';

const UUID = '00000001-4f5e-4c1b-9a51-1c2f7f3a9b10';

/** An ingest event carrying `seq` in its item's name, so a client can tell order, duplicates and holes. */
export function seqEvent(seq: number): MonitorEvent {
  return {
    type: 'sip_updated_event',
    value: {
      uuid: UUID,
      item: { uuid: UUID, name: String(seq), status: 'processing', created_at: '2024-05-13T09:21:44.118233Z' },
    },
  };
}

/** The ingest wire JSON's type and, for a {@link seqEvent}, its seq. */
export function readIngest(frame: SseFrame): { type: string; seq: number | undefined } {
  const wire = JSON.parse(frame.data) as { value: { type: string; value: { item?: { name?: string } } } };
  const name = wire.value.value.item?.name;
  return { type: wire.value.type, seq: name === undefined ? undefined : Number(name) };
}
