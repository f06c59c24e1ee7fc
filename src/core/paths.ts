/**
 * Where the package's own files are, found from this module's location rather than the working directory, so
 * `cxr predict IMG` uses the shipped model whichever folder it runs from.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the folder holding package.json, models/ and src/). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The shipped model, used by predict, evaluate and serve when no --model is given. */
export const DEFAULT_MODEL_DIR = path.join(PACKAGE_ROOT, 'models', 'default');
