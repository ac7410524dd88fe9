import type { IncomingHttpHeaders } from 'node:http';

/** Longest `Last-Event-ID` taken as a position; positions are at most 200 characters. */
const MAX_LENGTH = 200;
const CONTROL = /[\r\n\0]/;

/** Where a reconnecting client asks to resume. */
export type ResumeRequest =
  /** A fresh connection: no `Last-Event-ID`. */
  | { readonly kind: 'fresh' }
  /** Resume right after this position. */
  | { readonly kind: 'resume'; readonly from: string }
  /** An id that cannot be a position (too long, control characters): a gap, then live. */
  | { readonly kind: 'malformed' };

const FRESH: ResumeRequest = Object.freeze({ kind: 'fresh' });
const MALFORMED: ResumeRequest = Object.freeze({ kind: 'malformed' });

/**
 * The position a request asks to resume after: its `Last-Event-ID` header
 * (what `EventSource` sends on reconnect), else its `lastEventId` query
 * parameter, for clients that cannot set headers. The header wins. An empty
 * value counts as absent, as `EventSource` sends none then.
 */
export function lastEventIdOf(headers: IncomingHttpHeaders, url: string): ResumeRequest {
  const header = headers['last-event-id'];
  let id = typeof header === 'string' && header !== '' ? header : undefined;
  if (id === undefined) {
    const query = url.indexOf('?');
    if (query >= 0) id = new URLSearchParams(url.slice(query + 1)).get('lastEventId') ?? undefined;
  }
  if (id === undefined || id === '') return FRESH;
  // A header cannot carry CR or LF, a query parameter can: neither may reach a log line or an SSE field.
  if (id.length > MAX_LENGTH || CONTROL.test(id)) return MALFORMED;
  return { kind: 'resume', from: id };
}
