// Real kernel TCP for test/netns/lb-second-chance.test.ts, in one namespace, as JSON lines.
//   node tcp-agent.mjs serve ADDRESS PORT NAME   answers each line it receives with "NAME:line"
//   node tcp-agent.mjs client                      stdin: {"cmd":"open","conn","address","port"}
//                                                  or {"cmd":"send","conn","text"}; stdout: connect
//                                                  (with the local port), data, close, error events
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const [mode, address, port, name] = process.argv.slice(2);

function lines(socket, onLine) {
  createInterface({ input: socket }).on('line', onLine);
}

if (mode === 'serve') {
  createServer((socket) => {
    socket.on('error', () => undefined);
    lines(socket, (line) => socket.write(`${name}:${line}\n`));
  }).listen(Number(port), address, () => say({ event: 'ready' }));
} else {
  const conns = new Map();
  lines(process.stdin, (line) => {
    const cmd = JSON.parse(line);
    if (cmd.cmd === 'open') {
      const socket = connect({ host: cmd.address, port: cmd.port });
      conns.set(cmd.conn, socket);
      socket.on('connect', () => say({ event: 'connect', conn: cmd.conn, port: socket.localPort }));
      socket.on('error', (e) => say({ event: 'error', conn: cmd.conn, message: e.message }));
      socket.on('close', () => say({ event: 'close', conn: cmd.conn }));
      lines(socket, (data) => say({ event: 'data', conn: cmd.conn, data }));
    } else if (cmd.cmd === 'send') {
      conns.get(cmd.conn).write(`${cmd.text}\n`);
    }
  });
  say({ event: 'ready' });
}
