/**
 * The one place Tidings turns messages into Server-Sent Events text
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html). Every
 * frame ends with a blank line; multi-line data becomes several `data:` lines
 * (a bare newline inside one would end the field early and corrupt the frame);
 * `event` and `id` may not contain CR or LF, which would let a value smuggle
 * in fields of its own.
 */

/** One SSE message. */
export interface SseMessage {
  /** The payload; split on CRLF, CR or LF into one `data:` line per line. */
  readonly data: string;
  /** The event name (`event:` field); absent means the default `message`. */
  readonly event?: string;
  /** The last-event id (`id:` field). */
  readonly id?: string;
  /** Reconnection delay hint for the browser, in milliseconds (`retry:` field). */
  readonly retry?: number;
}

const LINE_BREAK = /\r\n|\r|\n/;
const HAS_LINE_BREAK = /[\r\n]/;

function checkField(name: 'event' | 'id', value: string): void {
  if (HAS_LINE_BREAK.test(value)) throw new TypeError(`SSE ${name} must not contain CR or LF`);
  if (name === 'id' && value.includes('\0')) throw new TypeError('SSE id must not contain NUL');
}

/**
 * Formats one message as SSE text, ending with the blank line that
 * dispatches it.
 * @throws {TypeError} when `event` or `id` contains CR or LF, or `retry` is not a non-negative integer.
 * @example
 * ```ts
 * formatSseMessage({ event: 'gap', data: '{"reason":"reconnect"}' });
 * // 'event: gap\ndata: {"reason":"reconnect"}\n\n'
 * ```
 */
export function formatSseMessage(message: SseMessage): string {
  let frame = '';
  if (message.event !== undefined) {
    checkField('event', message.event);
    frame += `event: ${message.event}\n`;
  }
  if (message.id !== undefined) {
    checkField('id', message.id);
    frame += `id: ${message.id}\n`;
  }
  if (message.retry !== undefined) {
    if (!Number.isSafeInteger(message.retry) || message.retry < 0) {
      throw new TypeError(`SSE retry must be a non-negative integer, got ${String(message.retry)}`);
    }
    frame += `retry: ${message.retry}\n`;
  }
  // Fast path: wire JSON never contains a raw line break.
  if (!HAS_LINE_BREAK.test(message.data)) return `${frame}data: ${message.data}\n\n`;
  for (const line of message.data.split(LINE_BREAK)) frame += `data: ${line}\n`;
  return `${frame}\n`;
}

/**
 * Formats an SSE comment (ignored by browsers; useful as a keep-alive).
 * Multi-line text becomes several comment lines.
 */
export function formatSseComment(text: string): string {
  let frame = '';
  for (const line of text.split(LINE_BREAK)) frame += `: ${line}\n`;
  return `${frame}\n`;
}
