/** Top-level error handling for the CLI: a clear one-line message and a non-zero exit, no stack trace. */

/** An error whose message is meant for the user as it is; `exitCode` defaults to 1. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`cxr: error: ${message}\n`);
    if (process.env.CXR_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
  }
}
