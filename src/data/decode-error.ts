/**
 * The error every decoder throws. Its own module so that decoders, the decode front end and the callers that
 * map it to exit codes or HTTP answers can all import it without importing each other.
 */

export type DecodeErrorCode = 'empty' | 'unsupported' | 'corrupt' | 'too-large' | 'unreadable';

/** A decoding failure with a machine-readable code and a message fit for a user. */
export class DecodeError extends Error {
  readonly code: DecodeErrorCode;
  constructor(code: DecodeErrorCode, message: string) {
    super(message);
    this.name = 'DecodeError';
    this.code = code;
  }
}
