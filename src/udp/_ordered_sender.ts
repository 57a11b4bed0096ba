/**
 * Internal: the send path of {@linkcode DenoUdpSocket}. Hands datagrams to
 * `Deno.DatagramConn.send` without awaiting each one, keeps them in `send`
 * order, bounds what is outstanding, and reuses the copy buffers. Why each
 * rule exists is measured in docs/udp.md §3 "Send path".
 *
 * @module
 */

/** Send copies go into pooled buffers of at least this many bytes. */
const SEND_SLOT_SIZE = 2048;

interface SendJob {
  slot: Uint8Array;
  length: number;
  dest: Deno.NetAddr;
}

/** What the sender reports back to its socket. */
export interface OrderedSenderHooks {
  /** A send failed asynchronously. */
  onError(err: unknown, dest: Deno.NetAddr): void;
  /** A send completed (or failed); `queued`/`inFlight` may have dropped to zero. */
  onProgress(): void;
}

/**
 * Ordered, bounded, fire-and-forget sends over one `Deno.DatagramConn`.
 *
 * Deno sends in call order only while tokio knows the socket is writable:
 * not on a fresh socket, nor after a send had to wait. So until the first
 * completion, and again whenever a completion comes back out of order
 * (which shows the wire order broke), sends are issued one at a time from a
 * FIFO queue; otherwise up to `concurrency` are handed to Deno at once.
 */
export class OrderedSender {
  readonly #conn: Deno.DatagramConn;
  readonly #maxInFlight: number;
  readonly #concurrency: number;
  readonly #hooks: OrderedSenderHooks;
  readonly #freeSlots: Uint8Array[] = [];
  /** Whether Deno is known to send in call order (see the class doc). */
  #writable = false;
  /** Accepted sends not yet handed to Deno, FIFO from `#queueHead`. */
  #queue: SendJob[] = [];
  #queueHead = 0;
  #issued = 0;
  #completed = 0;
  #highestDone = -1;

  /** Datagrams whose send completed. */
  sent = 0;
  /** Sends that failed asynchronously. */
  sendErrors = 0;
  /** Sends dropped because `maxInFlight` sends were outstanding. */
  sendDropped = 0;
  /** Sends accepted and not yet completed. */
  inFlight = 0;

  constructor(
    conn: Deno.DatagramConn,
    maxInFlight: number,
    concurrency: number,
    hooks: OrderedSenderHooks,
  ) {
    this.#conn = conn;
    this.#maxInFlight = maxInFlight;
    this.#concurrency = concurrency;
    this.#hooks = hooks;
  }

  /** True while some accepted send still waits here (not yet handed to Deno). */
  get queued(): boolean {
    return this.#queueHead !== this.#queue.length;
  }

  /**
   * Copies `data` and sends it to `dest` in order with earlier sends.
   * Returns false (and counts it) when `maxInFlight` sends are outstanding:
   * the datagram is dropped, as a full interface queue drops one.
   */
  send(data: Uint8Array, dest: Deno.NetAddr): boolean {
    if (this.inFlight >= this.#maxInFlight) {
      this.sendDropped++;
      return false;
    }
    const n = data.byteLength;
    let slot = this.#freeSlots.pop();
    if (slot === undefined || slot.byteLength < n) {
      slot = new Uint8Array(Math.max(n, SEND_SLOT_SIZE));
    }
    slot.set(data);
    this.inFlight++;
    const handed = this.#issued - this.#completed;
    if (this.#writable && handed < this.#concurrency && !this.queued) {
      this.#issue(slot, n, dest);
    } else {
      this.#queue.push({ slot, length: n, dest });
      if (handed === 0) this.#issueNextQueued();
    }
    return true;
  }

  /** Hands one send to Deno without awaiting it; completion comes back in `#done`. */
  #issue(slot: Uint8Array, length: number, dest: Deno.NetAddr): void {
    const seq = this.#issued++;
    this.#conn.send(slot.subarray(0, length), dest).then(
      () => {
        this.sent++;
        this.#done(seq, slot);
      },
      (err: unknown) => {
        this.sendErrors++;
        this.#done(seq, slot);
        this.#hooks.onError(err, dest);
      },
    );
  }

  /** Hands the oldest queued send to Deno; false when the queue is empty. */
  #issueNextQueued(): boolean {
    const q = this.#queue;
    if (this.#queueHead === q.length) return false;
    const job = q[this.#queueHead++];
    if (this.#queueHead === q.length) {
      this.#queue = [];
      this.#queueHead = 0;
    }
    this.#issue(job.slot, job.length, job.dest);
    return true;
  }

  #done(seq: number, slot: Uint8Array): void {
    this.#completed++;
    this.inFlight--;
    if (this.#freeSlots.length < this.#maxInFlight) this.#freeSlots.push(slot);
    // Sends that were pending inside Deno complete (and hit the wire) in
    // arbitrary order; seeing that means the socket is backlogged, so issue
    // one at a time until the queue drains. See docs/udp.md "Send path".
    if (seq < this.#highestDone) this.#writable = false;
    else this.#highestDone = seq;
    if (!this.#writable) {
      if (this.#issued === this.#completed && !this.#issueNextQueued()) this.#writable = true;
    } else {
      // Completions arrive on a later event-loop turn, so this refills at
      // most `#concurrency` sends per turn.
      while (this.#issued - this.#completed < this.#concurrency && this.#issueNextQueued());
    }
    this.#hooks.onProgress();
  }
}
