/** Request builders and assertions shared by the HTTP API tests. */
import assert from 'node:assert/strict';
import { crc32, deflateSync } from 'node:zlib';

/** A multipart/form-data body built by hand, so tests control field names and file contents exactly. */
export function multipart(
  parts: { field: string; filename?: string; type?: string; data: Buffer | string }[],
) {
  const boundary = '----cxr-test-boundary';
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = part.filename
      ? `form-data; name="${part.field}"; filename="${part.filename}"`
      : `form-data; name="${part.field}"`;
    const type = part.filename ? `Content-Type: ${part.type ?? 'application/octet-stream'}\r\n` : '';
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`));
    chunks.push(Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

/**
 * A PNG claiming `side` x `side` pixels with only one row of pixel data: a few hundred bytes that would decode
 * to gigabytes, the calling card of a decompression bomb.
 */
export function pngClaiming(side: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const firstRow = chunk('IDAT', deflateSync(Buffer.alloc(side + 1)));
  return Buffer.concat([signature, chunk('IHDR', ihdr), firstRow, chunk('IEND', Buffer.alloc(0))]);
}

export function assertError(response: { statusCode: number; json(): unknown }, status: number, code: string) {
  assert.equal(response.statusCode, status, JSON.stringify(response.json()));
  const body = response.json() as { error: { code: string; message: string } };
  assert.equal(body.error.code, code);
  assert.ok(body.error.message.length > 0);
}
