// A scripted stand-in for the Anthropic Messages API (streaming server-sent events), run by the
// test image's claude wrapper inside the task container on 127.0.0.1, so the real Claude Code
// CLI can run a whole tool-use loop with -Network none and send nothing anywhere.
//   prompt "write <file> <text...>"  -> a Write tool call for <cwd>/<file>, then (after its result) a final answer
//   anything else                    -> a final answer that counts the messages it was sent
// STANDIN_STATUS=401|429|529 makes every request fail with that API error instead.
// STANDIN_DELAY_MS holds each answer that long (a task that stays running while it is watched).
// STANDIN_BIND=0.0.0.0 serves other containers (the egress tests run it in a container of its own);
// STANDIN_KEY, when set, is the only x-api-key accepted, and every key received is printed.
'use strict';
const http = require('http');
const fs = require('fs');

const port = Number(process.env.STANDIN_PORT || 18080);
const cwd = process.env.STANDIN_CWD || '/workspace';
const failWith = Number(process.env.STANDIN_STATUS || 0);
const delay = Number(process.env.STANDIN_DELAY_MS || 0);
const bind = process.env.STANDIN_BIND || '127.0.0.1';
const expectedKey = process.env.STANDIN_KEY || '';
const errors = {
  401: ['authentication_error', 'invalid x-api-key'],
  429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'],
  529: ['overloaded_error', 'Overloaded'],
};

// The prompt's write instruction, until the conversation holds a tool result (the write happened).
function writeRequest(messages) {
  const blocks = messages.filter((m) => m.role === 'user')
    .flatMap((m) => (typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content));
  if (blocks.some((b) => b.type === 'tool_result')) return null;
  const texts = blocks.filter((b) => b.type === 'text').map((b) => b.text);
  for (const text of texts.reverse()) {
    const match = /(?:^|\n)write (\S+) ([^\n<]*)/.exec(text);
    if (match) return match;
  }
  return null;
}

function reply(res, body) {
  const messages = body.messages || [];
  const send = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_standin' });
  const turn = messages.filter((m) => m.role === 'assistant').length;
  send('message_start', { type: 'message_start', message: {
    id: `msg_standin_${turn}`, type: 'message', role: 'assistant', model: body.model, content: [],
    stop_reason: null, stop_sequence: null,
    usage: { input_tokens: 1000 + 10 * messages.length, output_tokens: 1, cache_creation_input_tokens: 200, cache_read_input_tokens: 300 } } });
  const write = writeRequest(messages);
  let index = 0;
  const block = (start, delta) => {
    send('content_block_start', { type: 'content_block_start', index, content_block: start });
    send('content_block_delta', { type: 'content_block_delta', index, delta });
    send('content_block_stop', { type: 'content_block_stop', index });
    index++;
  };
  if (write && body.tools && body.tools.length) {
    block({ type: 'text', text: '' }, { type: 'text_delta', text: `I will write ${write[1]}.` });
    block({ type: 'tool_use', id: `toolu_standin_${turn}`, name: 'Write', input: {} },
      { type: 'input_json_delta', partial_json: JSON.stringify({ file_path: `${cwd}/${write[1]}`, content: `${write[2]}\n` }) });
    send('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 60 } });
  } else {
    block({ type: 'text', text: '' }, { type: 'text_delta', text: `Done: seen ${messages.length} messages.` });
    send('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 25 } });
  }
  send('message_stop', { type: 'message_stop' });
  res.end();
}

http.createServer((req, res) => {
  let raw = '';
  req.on('data', (chunk) => { raw += chunk; });
  req.on('end', () => {
    if (expectedKey) {
      const key = req.headers['x-api-key'] || '';
      console.log(`x-api-key received: ${key}`);
      if (key !== expectedKey) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }));
        return;
      }
    }
    if (req.method !== 'POST' || !req.url.startsWith('/v1/messages') || req.url.includes('count_tokens')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'not scripted' } }));
      return;
    }
    if (errors[failWith]) {
      res.writeHead(failWith, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: errors[failWith][0], message: errors[failWith][1] } }));
      return;
    }
    const body = JSON.parse(raw || '{}');
    setTimeout(() => reply(res, body), delay);
  });
}).listen(port, bind, () => fs.writeFileSync('/tmp/standin-api.ready', String(process.pid)));
