/**
 * The opt-in status server: a small HTTP API over a {@link TaskRegistry}, bound to 127.0.0.1
 * only, built on `node:http` alone. Routes (docs/status-server.md has examples):
 *
 *   GET  /kinds                      kinds with limits, running and pending counts
 *   GET  /tasks?kind&stream&namespace&internal=true   registered tasks
 *   GET  /tasks/:id                  one task
 *   GET  /tasks/:id/recursive        the task and its descendants, breadth-first
 *   GET  /tasks/:id/children         its registered children
 *   GET  /tasks/:id/wait?timeout=ms  waits for the end (or the timeout)
 *   POST /tasks/:id/abort            404 unknown, 409 not abortable, 200 otherwise
 *   GET  /channels                   channel snapshots
 *   GET  /ttl, PUT /ttl              retention of finished roots ({ttlMs?, userTtlMs?})
 *   POST /drain                      removes every finished root now
 *   GET  /events                     server-sent events of the registry's task events
 *
 * Errors are JSON `{error: message}`: 400 bad input, 404 unknown task or route, 405 wrong
 * method, 409 not abortable, 413 body too large, 500 anything else.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChannelSnapshot } from './channel-snapshot.js';
import { NotAbortableError, TaskNotFoundError } from './runtime-errors.js';
import type { TaskListFilter, TaskRegistry, TtlSettings } from './task-registry.js';

export interface StatusServerOptions {
  readonly registry: TaskRegistry;
  /** Snapshots served by `GET /channels`. Default: no channels. */
  readonly listChannels?: () => ChannelSnapshot[];
  /** The port on 127.0.0.1; 0 picks a free one (see `port`). Default 0. */
  readonly port?: number;
}

/** The only interface the server ever binds to. */
export const STATUS_SERVER_HOST = '127.0.0.1';

const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export class StatusServer {
  private readonly streams = new Set<ServerResponse>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly registry: TaskRegistry,
    private readonly listChannels: () => ChannelSnapshot[],
  ) {}

  /** Starts listening on 127.0.0.1; resolves once the port is bound. */
  static async start(options: StatusServerOptions): Promise<StatusServer> {
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      throw new RangeError(`status server port must be an integer in 0..65535, got ${port}`);
    }
    const server = createServer();
    const status = new StatusServer(server, options.registry, options.listChannels ?? (() => []));
    server.on('request', (req, res) => status.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, STATUS_SERVER_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return status;
  }

  /** The bound port. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The bound address: always 127.0.0.1. */
  get host(): string {
    return (this.server.address() as AddressInfo).address;
  }

  /** Ends the event streams, closes every connection and stops the server. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const res of this.streams) res.end();
      this.streams.clear();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.end();
        return;
      }
      if (error instanceof HttpError)
        sendJson(res, error.status, { error: error.message }, error.headers);
      else if (error instanceof TaskNotFoundError) sendJson(res, 404, { error: error.message });
      else if (error instanceof NotAbortableError) sendJson(res, 409, { error: error.message });
      else if (error instanceof RangeError || error instanceof SyntaxError) {
        sendJson(res, 400, { error: error.message });
      } else {
        sendJson(res, 500, { error: error instanceof Error ? error.message : 'internal error' });
      }
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${STATUS_SERVER_HOST}`);
    const parts = url.pathname
      .split('/')
      .filter((p) => p.length > 0)
      .map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const registry = this.registry;
    const [head, id, action, ...rest] = parts;

    if (parts.length === 1 && head === 'kinds') {
      allow(method, 'GET');
      return sendJson(res, 200, registry.kinds());
    }
    if (parts.length === 1 && head === 'channels') {
      allow(method, 'GET');
      return sendJson(res, 200, this.listChannels());
    }
    if (parts.length === 1 && head === 'ttl') {
      allow(method, 'GET', 'PUT');
      if (method === 'GET') return sendJson(res, 200, registry.getTtl());
      return sendJson(res, 200, registry.setTtl(parseTtl(await readJson(req))));
    }
    if (parts.length === 1 && head === 'drain') {
      allow(method, 'POST');
      return sendJson(res, 200, { drained: registry.drain() });
    }
    if (parts.length === 1 && head === 'events') {
      allow(method, 'GET');
      return this.openEventStream(req, res);
    }
    if (head === 'tasks' && rest.length === 0) {
      if (id === undefined) {
        allow(method, 'GET');
        return sendJson(res, 200, registry.list(parseListFilter(url.searchParams)));
      }
      switch (action) {
        case undefined:
          allow(method, 'GET');
          return sendJson(res, 200, registry.get(id));
        case 'recursive':
          allow(method, 'GET');
          return sendJson(res, 200, registry.recursive(id));
        case 'children':
          allow(method, 'GET');
          return sendJson(res, 200, registry.children(id));
        case 'wait': {
          allow(method, 'GET');
          const timeout = parseTimeout(url.searchParams.get('timeout'));
          return sendJson(res, 200, await registry.wait(id, timeout));
        }
        case 'abort': {
          allow(method, 'POST');
          const body = await readJson(req);
          const reason = parseReason(body);
          const aborted = registry.abort(id, reason);
          return sendJson(res, 200, { aborted, status: registry.find(id) ?? null });
        }
      }
    }
    throw new HttpError(404, `no route for ${method} ${url.pathname}`);
  }

  private openEventStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write(': destkit task events\n\n');
    this.streams.add(res);
    const unsubscribe = this.registry.subscribe((event) => {
      res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    });
    const stop = (): void => {
      unsubscribe();
      this.streams.delete(res);
    };
    req.on('close', stop);
    res.on('close', stop);
  }
}

function allow(method: string, ...methods: string[]): void {
  if (!methods.includes(method)) {
    throw new HttpError(405, `method ${method} not allowed here (use ${methods.join(', ')})`, {
      allow: methods.join(', '),
    });
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Reads a JSON body; an empty body is `undefined`. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseTtl(body: unknown): Partial<TtlSettings> {
  if (!isObject(body)) throw new HttpError(400, 'expected a JSON object {ttlMs?, userTtlMs?}');
  const out: { ttlMs?: number; userTtlMs?: number } = {};
  for (const [key, value] of Object.entries(body)) {
    if (key !== 'ttlMs' && key !== 'userTtlMs') throw new HttpError(400, `unknown field ${key}`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new HttpError(400, `${key} must be a number of milliseconds ≥ 0`);
    }
    out[key] = value;
  }
  return out;
}

function parseReason(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  if (!isObject(body)) throw new HttpError(400, 'expected a JSON object {reason?}');
  const reason = body.reason;
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string') throw new HttpError(400, 'reason must be a string');
  return reason;
}

function parseTimeout(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new HttpError(400, `timeout must be a number of milliseconds ≥ 0, got "${raw}"`);
  }
  return value;
}

function parseListFilter(params: URLSearchParams): TaskListFilter {
  const internal = params.get('internal');
  if (internal !== null && internal !== 'true' && internal !== 'false') {
    throw new HttpError(400, `internal must be true or false, got "${internal}"`);
  }
  const kind = params.get('kind');
  const stream = params.get('stream');
  const namespace = params.get('namespace');
  if (namespace !== null && stream === null) {
    throw new HttpError(400, 'namespace filters need a stream name (?stream=…)');
  }
  return {
    internal: internal === 'true',
    ...(kind === null ? {} : { kind }),
    ...(stream === null
      ? {}
      : { stream: namespace === null ? { name: stream } : { name: stream, namespace } }),
  };
}
