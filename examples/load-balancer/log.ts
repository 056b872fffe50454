// The load balancer's log: one line per event on stderr with ISO time and level, as text
// ("2026-12-07T07:30:00.123Z info  web: b2 health up -> down ...") or JSON (--log-format json).
export type Level = 'info' | 'warn' | 'error';
export type Fields = Record<string, string | number | boolean>;

export type Log = (level: Level, msg: string, fields?: Fields) => void;

export function createLog(format: 'text' | 'json', write: (line: string) => void = (l) => process.stderr.write(l)): Log {
  return (level, msg, fields = {}) => {
    const time = new Date().toISOString();
    if (format === 'json') return write(`${JSON.stringify({ time, level, msg, ...fields })}\n`);
    const extra = Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === 'string' && /[\s"=]/.test(v) ? JSON.stringify(v) : String(v)}`).join('');
    write(`${time} ${level.padEnd(5)} ${msg.replace(/\n/g, '\n    ')}${extra}\n`);
  };
}
