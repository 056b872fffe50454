// One run at a time, and requests that arrive during a run merged into one more run after it:
// how a source reads its store without piling up reads, and never hands over two tables at once.
// Used by file.ts and etcd/source.ts.

export class Serial<R> {
  readonly #run: (request: R) => Promise<void>;
  readonly #merge: (waiting: R, next: R) => R;
  #pending: R | undefined;
  #busy = false;
  #done: Promise<void> = Promise.resolve();
  #closed = false;

  /** `merge` makes one request of a waiting one and a newer one. */
  constructor(run: (request: R) => Promise<void>, merge: (waiting: R, next: R) => R) {
    this.#run = run;
    this.#merge = merge;
  }

  /** Asks for a run; resolves once no run is going or waiting. A run's failure is its own to report. */
  request(request: R): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#pending = this.#pending === undefined ? request : this.#merge(this.#pending, request);
    if (this.#busy) return this.#done;
    this.#busy = true;
    this.#done = (async () => {
      try {
        // No await between the last check of #pending and #busy = false: a request cannot slip
        // in between and be left waiting.
        while (this.#pending !== undefined && !this.#closed) {
          const next = this.#pending;
          this.#pending = undefined;
          await this.#run(next);
        }
      } finally {
        this.#busy = false;
      }
    })();
    return this.#done;
  }

  /** Refuses new requests; resolves when the running one has finished. */
  close(): Promise<void> {
    this.#closed = true;
    this.#pending = undefined;
    return this.#done;
  }
}
