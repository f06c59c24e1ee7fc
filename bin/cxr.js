#!/usr/bin/env node
// Thin launcher so the `cxr` bin runs the TypeScript sources through tsx without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
