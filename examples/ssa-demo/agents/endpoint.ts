// An endpoint of the structured-addressing world (examples/ssa-demo, test/netns/ssa-demo.test.ts):
// one TCP listener on [::]:port that, with the service prefix routed `local` to lo, terminates
// every address of the prefix. Each connection first gets a line naming the endpoint and the
// address the client reached, then an echo of whatever the client sends.
// argv[2]: { name, port }; stdout: {"event":"ready"} once listening, then {"event":"error"} on failure.
import * as net from 'node:net';

interface EndpointConfig {
  name: string;
  port: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as EndpointConfig;
const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);

const server = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.write(`${config.name} ${socket.localAddress ?? '?'}\n`);
  socket.pipe(socket);
});
server.on('error', (e) => say({ event: 'error', error: { name: e.name, message: e.message } }));
// One socket for the whole prefix: the kernel delivers to [::] every address its routes call local.
server.listen({ host: '::', port: config.port, ipv6Only: true }, () => say({ event: 'ready', name: config.name }));
