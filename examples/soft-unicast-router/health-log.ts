// The log lines of peer health: one when an owner goes down or comes back (and where its slices
// go), one for each other owner whose slices moved with it. Used by main.ts on every
// Router.onHealthChange event; test/unit/router-cli.test.ts checks the wording.
import type { HealthEvent } from '../../src/index.js';
import type { LogFields, LogLevel } from './log.js';

export interface HealthLine {
  level: LogLevel;
  msg: string;
  fields: LogFields;
}

/** "owner a2 down: 3 probes unanswered; its slices go to a3", "owner a2 up again: 2 probes answered; ...". */
export function healthLines(e: HealthEvent): HealthLine[] {
  const fields = { owner: e.owner, up: e.up, reason: e.reason, slicesTo: e.slicesTo };
  let msg: string;
  if (!e.up) {
    const where =
      e.slicesTo !== e.owner ? `its slices go to ${e.slicesTo}`
      : e.fallback === undefined ? 'it has no fallback: its packets are lost until it is back'
      : `its fallback ${e.fallback} is down too: its slices stay with it`;
    msg = `owner ${e.owner} down: ${e.reason}; ${where}`;
  } else {
    const back = e.moved.some((m) => m.owner === e.owner) ? '; its slices are its own again' : '';
    msg = `owner ${e.owner} up again: ${e.reason}${back}`;
  }
  const lines: HealthLine[] = [{ level: e.up ? 'info' : 'warn', msg, fields }];
  for (const m of e.moved) {
    if (m.owner === e.owner) continue;
    const text = m.to === m.owner ? `slices of ${m.owner} go back to ${m.owner}` : `slices of ${m.owner} go to ${m.to}`;
    lines.push({ level: 'info', msg: `${text} (${e.owner} ${e.up ? 'up' : 'down'})`, fields: { owner: m.owner, slicesTo: m.to } });
  }
  return lines;
}
