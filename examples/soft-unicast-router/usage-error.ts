// UsageError: a bad command line. main.ts prints its message and exits with status 2. Used by
// cli.ts and slices-cli.ts (apart, so that neither imports the other).
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
