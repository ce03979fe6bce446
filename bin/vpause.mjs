#!/usr/bin/env node
// Launcher for the vpause CLI: registers the tsx loader so the TypeScript sources run as they are.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
