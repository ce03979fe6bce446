import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { generateKey, KEY_TYPE_COSIGNATURE, KEY_TYPE_ED25519 } from '../note/keys.js';
import { CliExit } from './exit.js';

/** `vpause keygen`: a note signing key (0x01) or a witness cosignature key (0x04). */
export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('generate an Ed25519 key pair: PATH.key (mode 0600) and PATH.vkey')
    .requiredOption('--name <name>', 'key name, e.g. lab-a.example/root or log.example/log')
    .requiredOption('--out <path>', 'path prefix for the .key and .vkey files')
    .option('--type <type>', 'note (checkpoints, statements) or cosignature (witnesses)', 'note')
    .option('--force', 'overwrite existing files', false)
    .action(async (o: { name: string; out: string; type: string; force: boolean }) => {
      const type =
        o.type === 'note' ? KEY_TYPE_ED25519 : o.type === 'cosignature' ? KEY_TYPE_COSIGNATURE : -1;
      if (type < 0) throw new CliExit(2, `--type must be note or cosignature, not ${o.type}`);
      const k = generateKey(o.name, type, (n) => new Uint8Array(randomBytes(n)));
      const flag = o.force ? 'w' : 'wx';
      try {
        await writeFile(`${o.out}.key`, `${k.privateKey}\n`, { mode: 0o600, flag });
        await writeFile(`${o.out}.vkey`, `${k.vkey}\n`, { mode: 0o644, flag });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new CliExit(1, `${o.out}.key or .vkey exists (use --force)`);
        throw new CliExit(1, `cannot write key files: ${(e as Error).message}`);
      }
      process.stdout.write(`${k.vkey}\n`);
    });
}
