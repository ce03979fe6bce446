#!/usr/bin/env node
// Launcher for the vpause CLI: registers the tsx loader so the TypeScript sources run as they are.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));
