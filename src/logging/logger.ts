/**
 * destkit's logger: pino, with every line passed through the SecretRedactor before it is
 * serialized. Formats:
 * - `json` (default): pino JSON lines on stderr;
 * - `pretty`: pino-pretty on stderr (the default when stderr is a TTY);
 * - `airbyte`: LOG messages on stdout through the OutputWriter (the only stdout owner).
 * Record data is never logged: log metadata (stream, counts, indexes), not payloads.
 */
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import type { SecretRedactor } from '../config/secret-redactor.js';
import type { LogLevel, OutputMessage } from '../protocol/messages.js';

export type LogFormat = 'json' | 'pretty' | 'airbyte';

export interface LoggerOptions {
  readonly format: LogFormat;
  readonly level?: Level;
  readonly redactor: SecretRedactor;
  /** Where `airbyte` logs go: the OutputWriter's `write`. Required for that format. */
  readonly emit?: (message: OutputMessage) => void;
  /** Where `json` and `pretty` logs go; default stderr (fd 2). */
  readonly destination?: DestinationStream;
  /** Colour for `pretty`; default: whether the destination is a TTY. */
  readonly colorize?: boolean;
}

const PINO_TO_AIRBYTE: Record<number, LogLevel> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** A pino destination that turns each JSON log line into an Airbyte LOG message. */
class AirbyteLogDestination implements DestinationStream {
  constructor(private readonly send: (message: OutputMessage) => void) {}

  write(line: string): void {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.send({ type: 'LOG', log: { level: 'INFO', message: line.trimEnd() } });
      return;
    }
    const { level, msg, time: _time, pid: _pid, hostname: _host, err, ...rest } = entry;
    const levelName = PINO_TO_AIRBYTE[typeof level === 'number' ? level : 30] ?? 'INFO';
    const context = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    const errorObject =
      typeof err === 'object' && err !== null ? (err as Record<string, unknown>) : undefined;
    const errorText = errorObject
      ? ` (${String(errorObject.type ?? 'Error')}: ${String(errorObject.message ?? '')})`
      : '';
    const log: { level: LogLevel; message: string; stack_trace?: string } = {
      level: levelName,
      message: `${typeof msg === 'string' ? msg : ''}${errorText}${context}`,
    };
    if (typeof errorObject?.stack === 'string') log.stack_trace = errorObject.stack;
    this.send({ type: 'LOG', log });
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const { redactor } = options;
  let destination: DestinationStream;
  if (options.format === 'airbyte') {
    if (options.emit === undefined) throw new Error('the airbyte log format needs an OutputWriter');
    destination = new AirbyteLogDestination(options.emit);
  } else if (options.format === 'pretty') {
    destination = pinoPretty({
      destination: options.destination ?? 2,
      colorize: options.colorize ?? process.stderr.isTTY === true,
      sync: true,
    });
  } else {
    destination = options.destination ?? pino.destination({ fd: 2, sync: true });
  }
  return pino(
    {
      level: options.level ?? 'info',
      base: null,
      // Redact the merged object before serialization: strings stay valid JSON whatever a
      // secret contains. Errors become plain objects here, so the default err serializer is off.
      formatters: { log: (object) => redactor.redactValue(object) },
      serializers: { err: (value: unknown) => value },
      hooks: {
        logMethod(args, method) {
          const redacted: unknown[] = args.map((a) =>
            typeof a === 'string' ? redactor.redactText(a) : a,
          );
          // pino copies an Error's message into `msg` when the Error is the first argument,
          // past this hook's string redaction: hand it over as `{err}` with a redacted message.
          const [first] = redacted;
          if (first instanceof Error) {
            redacted[0] = { err: first };
            if (typeof redacted[1] !== 'string')
              redacted.splice(1, 0, redactor.redactText(first.message));
          }
          return method.apply(this, redacted as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}
