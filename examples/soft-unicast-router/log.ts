// The router's log: one line per event on stderr, with ISO time and level, as text for people
// ("2026-12-07T07:30:00.123Z info  reloaded ...") or as one JSON object a line for machines
// (--log-format json: { time, level, msg, ...fields }). Used by every part of the binary.

export type LogFormat = 'text' | 'json';
export type LogLevel = 'info' | 'warn' | 'error';

/** Structured details of an event: shown as key=value in text, as fields in JSON. */
export type LogFields = Record<string, string | number | boolean | null | readonly unknown[] | Record<string, unknown>>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** key=value, values quoted when they hold a space or a quote, objects as JSON. */
function text(fields: LogFields): string {
  return Object.entries(fields)
    .map(([k, v]) => {
      const s = typeof v === 'string' ? v : JSON.stringify(v);
      return `${k}=${/[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s}`;
    })
    .join(' ');
}

/** A logger writing to `write` (stderr by default); `now` is for tests. */
export function createLogger(format: LogFormat, write: (line: string) => void = (l) => process.stderr.write(l), now: () => Date = () => new Date()): Logger {
  const line = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    const time = now().toISOString();
    if (format === 'json') {
      write(`${JSON.stringify({ time, level, msg, ...fields })}\n`);
      return;
    }
    const extra = Object.keys(fields).length > 0 ? ` ${text(fields)}` : '';
    // A message of several lines (all the problems of a file) stays one event: later lines indented.
    write(`${time} ${level.padEnd(5)} ${msg.replace(/\n/g, '\n    ')}${extra}\n`);
  };
  return {
    info: (msg, fields) => line('info', msg, fields),
    warn: (msg, fields) => line('warn', msg, fields),
    error: (msg, fields) => line('error', msg, fields),
  };
}
