// Makes every command that package.json's "bin" names executable after tsc has written it (tsc
// writes 0644). npm sets the mode itself only when it installs the package elsewhere; in this
// checkout `npx soft-unicast-router` runs the file in place. Used by `npm run build:ts`.
import { chmodSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { bin = {} } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const file of Object.values(bin)) chmodSync(join(root, file), 0o755);
