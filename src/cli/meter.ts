/** `vpause meter run`: the facility meter signer (nodes/meter) with signals and exit codes. */
import type { Command } from 'commander';
import { loadMeterConfig } from '../../nodes/meter/config.js';
import { startMeter } from '../../nodes/meter/meter.js';
import { configError, runDaemonUntilSignal } from './node.js';

export function registerMeter(program: Command): void {
  const meter = program.command('meter').description('the facility meter signer');
  meter
    .command('run')
    .description('read the facility meter, sign a meter statement per interval, submit it')
    .requiredOption('--config <meter.yaml>', 'the meter configuration (see examples/meter.yaml)')
    .action(async (o: { config: string }) => {
      const cfg = await loadMeterConfig(o.config).catch(configError);
      const running = await startMeter(cfg).catch(configError);
      const st = running.status();
      process.stdout.write(
        `meter ${cfg.identity.facility}/${cfg.identity.meter} running (next seq ${st.nextSeq})` +
          `${running.url !== undefined ? `; health on ${running.url}` : ''}\n`,
      );
      await runDaemonUntilSignal(running);
    });
}
