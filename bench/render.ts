// Re-render a results table from its JSON (after a change to the table layout): `node bench/render.ts [latest]`.
import fs from 'node:fs';
import path from 'node:path';
import { markdown, type Report } from './lib/report.ts';

const base = path.resolve('bench/results', process.argv[2] ?? 'latest');
const report = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as Report;
fs.writeFileSync(`${base}.md`, markdown(report));
process.stdout.write(`wrote ${base}.md\n`);
