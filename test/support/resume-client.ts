import { type ClientRequest, type IncomingMessage, request } from 'node:http';

/** One SSE message as EventSource dispatches it. */
export interface SseFrame {
  /** `message` unless the frame named another. */
  readonly event: string;
  readonly data: string;
  /** The `id:` field of this frame, if it had one. */
  readonly id: string | undefined;
  /** The `retry:` field of this frame, if it had one. */
  readonly retry: number | undefined;
}

/** What one connection of a {@link streamOnce} saw. */
export interface StreamOutcome {
  readonly status: number;
  /** Frames read before the stream ended or was cut. */
  readonly frames: readonly SseFrame[];
  /** The last event id, as EventSource keeps it across frames without one. */
  readonly lastId: string | undefined;
  /** True when `onFrame` asked to cut the connection (the rest of its chunk was not read). */
  readonly cut: boolean;
}

/**
 * Opens `url` once as an SSE client (Last-Event-ID sent when `lastId` is
 * given), parses frames as the EventSource spec does, and hands each to
 * `onFrame`. Returning `'cut'` destroys the connection at once: what else was
 * in the same chunk is never read, as when a network drops mid-stream.
 * Resolves when the connection is cut, ended by the server, or fails.
 */
export function streamOnce(
  url: string,
  options: {
    readonly headers?: Record<string, string>;
    readonly lastId?: string | undefined;
    readonly onFrame: (frame: SseFrame) => 'cut' | undefined;
  },
): Promise<StreamOutcome> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
    if (options.lastId !== undefined) headers['last-event-id'] = options.lastId;
    const req: ClientRequest = request(url, { headers });
    const frames: SseFrame[] = [];
    let lastId = options.lastId;
    let status = 0;
    let settled = false;
    let cut = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      resolve({ status, frames, lastId, cut });
    };
    req.once('error', (error) => {
      if (settled) return;
      if (status === 0) {
        settled = true;
        reject(error);
      } else finish();
    });
    req.once('response', (res: IncomingMessage) => {
      status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      let pending = '';
      let event = '';
      let data: string[] = [];
      let id: string | undefined;
      let retry: number | undefined;
      res.on('data', (chunk: string) => {
        if (cut) return;
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (line === '') {
            if (id !== undefined) lastId = id;
            if (data.length > 0) {
              const frame: SseFrame = { event: event || 'message', data: data.join('\n'), id, retry };
              frames.push(frame);
              if (options.onFrame(frame) === 'cut') {
                cut = true;
                req.destroy();
                res.destroy();
                finish();
                return;
              }
            }
            event = '';
            data = [];
            id = undefined;
            retry = undefined;
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(line[colon + 1] === ' ' ? colon + 2 : colon + 1);
          if (field === 'data') data.push(value);
          else if (field === 'event') event = value;
          else if (field === 'id') id = value;
          else if (field === 'retry') retry = Number(value);
        }
      });
      res.once('end', finish);
      res.once('close', finish);
      res.once('error', finish);
    });
    req.end();
  });
}
