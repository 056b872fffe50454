// The "Internet" host of the soft-unicast world (demo and test/netns/soft-unicast*.test.ts): an
// ordinary node HTTP server and a UDP echo on the addresses given, knowing nothing of soft-unicast.
// argv[2]: { addresses: [text], httpPort, udpPort, blobs: [sizes in bytes] }; JSON lines on stdout.
// GET /blob/<size> answers `size` deterministic bytes (one of `blobs`); the ready line gives each
// blob's SHA-256, which clients compare with what they received. POST /upload answers the
// length and SHA-256 of the body it received, as JSON.
import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as http from 'node:http';

interface InetServerConfig {
  addresses: string[];
  httpPort: number;
  udpPort: number;
  blobs: number[];
}

const config = JSON.parse(process.argv[2] ?? '{}') as InetServerConfig;
const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);

/** `size` bytes of SHA-256 in counter mode: deterministic, and no run of them repeats. */
function blob(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0, at = 0; at < size; i++, at += 32) {
    createHash('sha256').update(`softunicast blob ${i}`).digest().copy(out, at);
  }
  return out;
}

const blobs = new Map(config.blobs.map((size) => [size, blob(size)]));
const hashes = Object.fromEntries([...blobs].map(([size, b]) => [size, createHash('sha256').update(b).digest('hex')]));

/** Reads an upload whole and answers what arrived. */
function upload(req: http.IncomingMessage, res: http.ServerResponse): void {
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  req.on('end', () => {
    const answer = JSON.stringify({ bytes, sha256: hash.digest('hex') });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer);
  });
}

const serve: http.RequestListener = (req, res) => {
  if (req.method === 'POST' && req.url === '/upload') {
    upload(req, res);
    return;
  }
  const body = blobs.get(Number(/^\/blob\/(\d+)$/.exec(req.url ?? '')?.[1]));
  if (body === undefined) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
};
// The listening sockets keep the process up until it is stopped.
for (const host of config.addresses) {
  const server = http.createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.httpPort, host, resolve);
  });

  const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => udp.bind(config.udpPort, host, resolve));
}
say({ event: 'ready', hashes });
