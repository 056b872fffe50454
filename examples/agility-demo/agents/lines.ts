// The agility demo's agents talk JSON lines (the kit's Agent): a command with an id on stdin, one
// answer repeating the id on stdout, errors as { name, code, message }. Used by every agent here.
import { createInterface } from 'node:readline';

export type Handler = (command: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>;

export const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);

export function errorOf(e: unknown): { name: string; code?: string; message: string } {
  const error = e as { name?: string; code?: string; message?: string };
  return { name: error.name ?? 'Error', ...(error.code === undefined ? {} : { code: error.code }), message: error.message ?? String(e) };
}

/** Answers commands from stdin with `handlers` by their `cmd`, then says it is ready with `ready`. */
export function serve(handlers: Record<string, Handler>, ready: Record<string, unknown> = {}): void {
  createInterface({ input: process.stdin }).on('line', (line) => {
    const c = JSON.parse(line) as { cmd: string; id: string };
    void (async () => {
      try {
        const handler = handlers[c.cmd];
        if (handler === undefined) throw new Error(`Expected one of ${Object.keys(handlers).join(', ')} for cmd but received ${JSON.stringify(c.cmd)}`);
        say({ event: c.cmd, id: c.id, ...(await handler(c)) });
      } catch (e) {
        say({ event: c.cmd, id: c.id, error: errorOf(e) });
      }
    })();
  });
  say({ event: 'ready', ...ready });
}

/** Reports a failure to start as the first line (the kit's Agent reads it) and exits. */
export function failStart(e: unknown): never {
  say({ event: 'error', error: errorOf(e) });
  process.exit(1);
}
