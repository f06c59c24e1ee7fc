/**
 * multipart/related bodies (RFC 2387) as DICOMweb uses them: WADO-RS answers with one part per instance, STOW-RS
 * takes one part per instance. Parts are binary (DICOM Part 10), so everything works on bytes, never on strings.
 */
import { randomBytes } from 'node:crypto';

export interface Part {
  contentType: string;
  body: Uint8Array;
}

/** The `boundary` parameter of a multipart content type, without quotes; null when there is none. */
export function boundaryOf(contentType: string): string | null {
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : null;
}

/** Splits a multipart body into its parts. Anything before the first boundary and after the last is ignored. */
export function parseMultipart(body: Uint8Array, boundary: string): Part[] {
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.length);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let start = buffer.indexOf(delimiter);
  while (start >= 0) {
    let cursor = start + delimiter.length;
    // "--" right after a delimiter closes the body.
    if (buffer[cursor] === 0x2d && buffer[cursor + 1] === 0x2d) break;
    if (buffer[cursor] === 0x0d && buffer[cursor + 1] === 0x0a) cursor += 2;
    const headerEnd = buffer.indexOf('\r\n\r\n', cursor);
    if (headerEnd < 0) break;
    const headers = buffer.subarray(cursor, headerEnd).toString('latin1');
    const next = buffer.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    const end = next < 0 ? buffer.length : next;
    const contentType = /^content-type:\s*(.+)$/im.exec(headers)?.[1]?.trim() ?? 'application/octet-stream';
    const part = buffer.subarray(headerEnd + 4, end);
    parts.push({ contentType, body: new Uint8Array(part.buffer, part.byteOffset, part.length) });
    start = next < 0 ? -1 : next + 2;
  }
  return parts;
}

/** A multipart/related body of `parts` and the content type that announces it (type = the first part's). */
export function buildMultipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `cxr-${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${part.contentType}\r\n\r\n`, 'latin1'));
    chunks.push(Buffer.from(part.body.buffer, part.body.byteOffset, part.body.length));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  const type = parts[0]?.contentType ?? 'application/dicom';
  return {
    body: Buffer.concat(chunks),
    contentType: `multipart/related; type="${type}"; boundary=${boundary}`,
  };
}
