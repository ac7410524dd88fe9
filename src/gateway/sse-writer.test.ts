import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSseComment, formatSseMessage } from './sse-writer.js';

describe('SSE writer', () => {
  it('frames data with a blank line', () => {
    assert.equal(formatSseMessage({ data: '{"a":1}' }), 'data: {"a":1}\n\n');
  });

  it('puts event, id and retry before the data', () => {
    assert.equal(
      formatSseMessage({ event: 'gap', id: '7', retry: 1500, data: 'x' }),
      'event: gap\nid: 7\nretry: 1500\ndata: x\n\n',
    );
  });

  it('splits multi-line data into several data lines, whatever the line break', () => {
    assert.equal(
      formatSseMessage({ data: 'one\ntwo\r\nthree\rfour' }),
      'data: one\ndata: two\ndata: three\ndata: four\n\n',
    );
    assert.equal(formatSseMessage({ data: 'end\n' }), 'data: end\ndata: \n\n');
  });

  it('rejects CR or LF in event and id', () => {
    assert.throws(() => formatSseMessage({ event: 'a\ndata: injected', data: 'x' }), TypeError);
    assert.throws(() => formatSseMessage({ event: 'a\r', data: 'x' }), TypeError);
    assert.throws(() => formatSseMessage({ id: '1\n', data: 'x' }), TypeError);
    assert.throws(() => formatSseMessage({ retry: -1, data: 'x' }), TypeError);
  });

  it('formats comments line by line', () => {
    assert.equal(formatSseComment('keep\nalive'), ': keep\n: alive\n\n');
  });
});
