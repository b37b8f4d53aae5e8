// The default destination batches lines (LOG_BATCH_BYTES, LOG_FLUSH_MS). A batch still in memory must not be
// lost when the process ends badly: an uncaught exception, or an exit before the next flush.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE } from '../../helpers/process.ts';

const logger = path.resolve('src/audit/logger.ts');

function run(after: string): { stdout: string; status: number | null } {
  const script = `import { createLogger } from ${JSON.stringify(logger)};
const log = createLogger('info');
for (let i = 0; i < 3; i++) log.info({ n: i }, 'line');
${after}`;
  const r = spawnSync(NODE, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { stdout: r.stdout, status: r.status };
}

describe('batched stdout', () => {
  it('writes the batch in memory when an uncaught exception ends the process', () => {
    const r = run("setTimeout(() => { throw new Error('boom'); }, 1);");
    expect(r.status).toBe(1);
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { n: number }).n)).toEqual([0, 1, 2]);
  });

  it('writes it on process.exit() and on a natural end', () => {
    for (const after of ['process.exit(3);', '']) {
      const r = run(after);
      expect(r.stdout.trim().split('\n')).toHaveLength(3);
    }
  });
});
