// Tiny node:http helpers shared by the test servers in test/support.
import type { IncomingMessage, ServerResponse } from 'node:http';

export function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store' });
  res.end(html);
}

/** Rewrites the JSON body Koa writes with a single res.end(body). */
export function rewriteJsonResponse(res: ServerResponse, edit: (body: Record<string, unknown>) => unknown): void {
  const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
  (res as { end: (chunk?: unknown) => ServerResponse }).end = (chunk?: unknown) => {
    if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) {
      const text = String(edit(JSON.parse(chunk.toString()) as Record<string, unknown>));
      if (!res.headersSent) res.setHeader('content-length', Buffer.byteLength(text));
      return end(text);
    }
    return end(chunk);
  };
}
