/**
 * The bench's reference ("1.00×"): a bare single-threaded loop that reads stdin in Buffers,
 * splits on newlines (Buffer.indexOf), JSON.parses each line and counts — nothing else. No
 * validation, no batching, no output but one JSON line of counts at the end.
 */
const NEWLINE = 0x0a;

let carry: Buffer | undefined;
let lines = 0;
let records = 0;
let states = 0;

function count(line: string): void {
  const message = JSON.parse(line) as { type?: unknown };
  lines++;
  if (message.type === 'RECORD') records++;
  else if (message.type === 'STATE') states++;
}

process.stdin.on('data', (chunk: Buffer) => {
  const buffer = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
  let start = 0;
  for (let end = buffer.indexOf(NEWLINE, start); end !== -1; end = buffer.indexOf(NEWLINE, start)) {
    if (end > start) count(buffer.toString('utf8', start, end));
    start = end + 1;
  }
  carry = start < buffer.length ? buffer.subarray(start) : undefined;
});

process.stdin.on('end', () => {
  if (carry !== undefined && carry.length > 0) count(carry.toString('utf8'));
  process.stdout.write(`${JSON.stringify({ lines, records, states })}\n`);
});
