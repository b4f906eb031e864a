// Bounded concurrency: browsers keep about six connections per host, so every kind of
// background work (uploads, long polls, thumbnails) gets its own small share of them.

/** Runs the tasks given to `run` with at most `limit` of them at once, in order. */
export class Pool {
  constructor(limit) {
    this.limit = limit;
    this.active = 0;
    this.waiting = [];
  }

  /** Resolves (or rejects) with what `task()` gives, once it has had its turn. */
  run(task) {
    return new Promise((resolve, reject) => {
      this.waiting.push({ task, resolve, reject });
      this.next();
    });
  }

  next() {
    while (this.active < this.limit && this.waiting.length > 0) {
      const { task, resolve, reject } = this.waiting.shift();
      this.active += 1;
      Promise.resolve()
        .then(task)
        .then(resolve, reject)
        .finally(() => {
          this.active -= 1;
          this.next();
        });
    }
  }
}
