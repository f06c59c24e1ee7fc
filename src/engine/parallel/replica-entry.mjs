// Worker-thread entry of a data-parallel replica: the TypeScript sources run through tsx (as bin/cxr.js does),
// registered here because a worker does not inherit the loader that the `cxr` launcher registered in-process.
import { register } from 'tsx/esm/api';

register();
await import('./replica.ts');
