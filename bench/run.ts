/**
 * `npm run bench [scenario…] [--quick]`: runs benchmark scenarios one after another and
 * prints their figures. Each scenario checks that what it compares agrees before timing.
 */
import { formatFigures } from './lib/figures.ts';

const scenarios: Record<string, (quick: boolean) => Promise<void>> = {
  async core(quick) {
    const { checkCoreAgreement, runCore } = await import('./core/core.ts');
    const agree = await checkCoreAgreement();
    console.log(`core — result check: 1 and 2 workers give ${agree ? 'identical' : 'DIFFERENT'} rows`);
    if (!agree) throw new Error('core: worker counts disagree; not timing');
    const events = quick ? 500_000 : 20_000_000;
    for (const workers of [1, 2]) console.log(formatFigures(await runCore({ events, workers })));
  },
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const chosen = args.filter((arg) => !arg.startsWith('--'));
const names = chosen.length > 0 ? chosen : Object.keys(scenarios);
for (const name of names) {
  const scenario = scenarios[name];
  if (!scenario) {
    console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
  await scenario(quick);
}
