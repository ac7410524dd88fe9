import { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http';
import { waitFor } from '../../src/conformance/harness.js';
import { ChangeWaits } from './change-waits.js';

/** One parsed SSE message. */
export interface ReceivedMessage {
  readonly event: string;
  readonly data: string;
  /** When the last byte of the frame arrived (performance.now()). */
  readonly at: number;
}

/** A test's SSE connection: raw text, parsed messages, and waits on conditions (no sleeps). */
export interface SseTestClient {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The response body when it is not a stream (errors). */
  readonly body: Promise<string>;
  readonly messages: ReceivedMessage[];
  /** Every byte received so far, as text. */
  readonly raw: () => string;
  /** Resolves when `predicate(messages)` holds; rejects after `timeoutMs`. */
  waitFor(predicate: (messages: readonly ReceivedMessage[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ended or dropped the connection. */
  readonly ended: Promise<void>;
  /** Disconnects. */
  close(): void;
}

/** Opens `url` as an SSE client with optional request headers. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseTestClient> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request(url, { headers: { accept: 'text/event-stream', ...headers } });
    req.once('error', reject);
    req.once('response', (res: IncomingMessage) => {
      res.setEncoding('utf8');
      const messages: ReceivedMessage[] = [];
      let raw = '';
      let pending = '';
      let event = '';
      let data: string[] = [];
      const changes = new ChangeWaits();
      let markEnded: () => void = () => {};
      const ended = new Promise<void>((done) => {
        markEnded = done;
      });
      const body = new Promise<string>((done) => {
        res.once('end', () => done(raw));
        res.once('close', () => done(raw));
      });
      res.on('data', (chunk: string) => {
        raw += chunk;
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (line === '') {
            if (data.length > 0)
              messages.push({ event: event || 'message', data: data.join('\n'), at: performance.now() });
            event = '';
            data = [];
          } else if (line.startsWith('data: ')) {
            data.push(line.slice(6));
          } else if (line.startsWith('event: ')) {
            event = line.slice(7);
          }
        }
        changes.changed();
      });
      res.once('close', () => {
        markEnded();
        changes.changed();
      });
      res.once('error', () => {});
      req.off('error', reject);
      req.on('error', () => {});
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body,
        messages,
        raw: () => raw,
        ended,
        close: () => {
          req.destroy();
          res.destroy();
        },
        waitFor(predicate, timeoutMs = 5000) {
          return changes
            .until(
              () => (predicate(messages) ? true : undefined),
              timeoutMs,
              () => `condition not met within ${timeoutMs} ms; got ${messages.length} messages`,
            )
            .then(() => {});
        },
      });
    });
    req.end();
  });
}

/**
 * Waits until `condition` holds (state the server changes, such as live
 * subscription counts); rejects after `timeoutMs`.
 */
export function until(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  return waitFor(what, condition, timeoutMs);
}
