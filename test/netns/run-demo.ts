// Runs a compiled demo (dist/examples/NAME/main.js) as its `npm run demo...` script does after
// bootstrapping, and collects its output: the demos' namespace tests (demo, lb-demo, ssa-demo,
// agility-demo) read their counts from it.
import { spawn } from 'node:child_process';

export interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node dist/examples/<example>/main.js ARGS`: resolves with its exit code and whole output. */
export function runDemo(example: string, args: readonly string[]): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`dist/examples/${example}/main.js`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
