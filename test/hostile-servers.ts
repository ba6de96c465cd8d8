/**
 * Servers that answer as an attacker would, for the tests of everything that speaks HTTP to a
 * tenant: one that redirects elsewhere, one that records whatever reaches it (on another loopback
 * address, as another host), one whose answer never ends.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface HostileServer {
  /** `http://host:port`. */
  url: string;
  /** Requests it received, with their bodies. */
  requests: Received[];
  /** Bytes written into endless answers so far. */
  readonly sent: number;
  /** Resolves when an endless answer's connection has closed. */
  readonly hungUp: Promise<void>;
  close(): Promise<void>;
}

/** Answers one request; `count` adds bytes written to {@link HostileServer.sent}. */
export type Answer = (req: Received, res: ServerResponse, count: (bytes: number) => void) => void;

export async function startHostileServer(answer: Answer, host = '127.0.0.1'): Promise<HostileServer> {
  let sent = 0;
  let hungUp!: () => void;
  const hangUp = new Promise<void>((resolve) => (hungUp = resolve));
  const self: HostileServer = {
    url: '',
    requests: [],
    get sent() {
      return sent;
    },
    hungUp: hangUp,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      self.requests.push(received);
      answer(received, res, (n) => (sent += n));
    });
  });
  // Endless answers count what they managed to write and notice the client hanging up.
  server.on('connection', (socket) => socket.on('close', () => hungUp()));
  server.listen(0, host);
  await once(server, 'listening');
  self.url = `http://${host}:${(server.address() as AddressInfo).port}`;
  return self;
}

/** Answers every request with a redirect to `target` + the request's path. */
export function redirectTo(target: () => string, status = 307): Answer {
  return (req, res) => {
    res.writeHead(status, { location: `${target()}${req.url}` }).end();
  };
}

/** Answers `status` with a JSON body that never ends (until the client hangs up). */
export function endlessJson(status = 200): Answer {
  const chunk = Buffer.alloc(64 * 1024, 0x78);
  return (_req, res, count) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.write('{"access_token":"');
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) count(chunk.length);
      if (!res.destroyed) {
        count(chunk.length);
        res.once('drain', pump);
      }
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
  };
}

/** Answers 200 `{}` with a Content-Length it never keeps to: a claimed size alone must be refused. */
export function hugeContentLength(bytes: number): Answer {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes) });
    res.write('{');
  };
}

/** Answers 200 and then sends a byte now and then, never ending: only a time limit stops it. */
export function tricklingJson(everyMs = 50): Answer {
  return (_req, res, count) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"a":"');
    const timer = setInterval(() => {
      if (res.destroyed) return;
      res.write('x');
      count(1);
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  };
}
