/** One HTTP/1.1 response as the load generator sees it. */
export interface ParsedResponse {
  status: number;
  /** present only when the parser was asked to keep bodies */
  body?: string;
  /** the server asked to close the connection after this response */
  close: boolean;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CHUNKED = /\r\ntransfer-encoding:[^\r]*chunked/i;
const CONNECTION_CLOSE = /\r\nconnection:[ \t]*close/i;

/**
 * A minimal incremental parser for responses on one keep-alive connection, one request at a time.
 * It relies on Content-Length (Fastify always sends it for JSON); a chunked answer is reported as an
 * error rather than parsed wrongly. Cheap on purpose: the generator shares the cores with the server.
 */
export function createResponseParser(keepBodies: boolean, onResponse: (r: ParsedResponse) => void) {
  let pending: Buffer | undefined;
  return {
    push(chunk: Buffer): void {
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = undefined;
      for (;;) {
        const end = buf.indexOf(HEADER_END);
        if (end < 0) break;
        const head = buf.toString('latin1', 0, end);
        if (CHUNKED.test(head)) throw new Error('chunked responses are not supported by the bench generator');
        const length = Number(CONTENT_LENGTH.exec(head)?.[1] ?? 0);
        const total = end + 4 + length;
        if (buf.length < total) break;
        onResponse({
          status: Number(head.slice(9, 12)),
          close: CONNECTION_CLOSE.test(head),
          ...(keepBodies ? { body: buf.toString('utf8', end + 4, total) } : {}),
        });
        buf = buf.subarray(total);
      }
      if (buf.length > 0) pending = Buffer.from(buf);
    },
    reset(): void {
      pending = undefined;
    },
  };
}
