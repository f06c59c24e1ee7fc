/**
 * The one mapping from file-system errors to short messages a user can act on. Node's own messages name the
 * path ("ENOENT: no such file or directory, open '/scans/DOE_JANE.dcm'"), and a path may carry a patient's name,
 * so the messages here never include it: callers add the path where it is safe to show.
 */

/** Messages for the error codes people meet when pointing a command at files. */
const FS_ERROR_MESSAGES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
};

/** The errno code of a Node file-system error (`ENOENT`, `EACCES`, ...), or undefined for any other error. */
export function fsErrorCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * A short, path-free message for a file-system error: the known codes' own words, `error CODE` for other
 * codes, and the first line of the message for anything that is not a file-system error.
 */
export function fsErrorMessage(err: unknown): string {
  const code = fsErrorCode(err);
  if (code) return FS_ERROR_MESSAGES[code] ?? `error ${code}`;
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
