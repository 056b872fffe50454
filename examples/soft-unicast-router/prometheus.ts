// The router's Prometheus endpoint: the metrics registry (metrics.ts) as Prometheus text,
// served at /metrics on a loopback address only (it has no authentication).
import { createServer, type Server } from 'node:http';

import type { Registry } from 'prom-client';

import { listenText } from './check.js';
import { isLoopback, type Listen } from './cli.js';

/**
 * Serves `registry` at http://listen/metrics. Refuses a non-loopback address (the endpoint has
 * no authentication). Resolves once listening.
 */
export async function serveMetrics(listen: Listen, registry: Registry): Promise<Server> {
  if (!isLoopback(listen.address)) {
    throw new Error(`Expected a loopback address for the Prometheus endpoint but received ${listenText(listen.address, listen.port)}`);
  }
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: the metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('Only GET and HEAD\n');
      return;
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`Could not serve Prometheus text at ${listenText(listen.address, listen.port)}: ${error.message}`)));
    server.listen({ host: listen.address, port: listen.port, exclusive: true }, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  // A scraper's keep-alive connection must not hold the process open at exit.
  server.unref();
  return server;
}
