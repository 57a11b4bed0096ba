/**
 * Internal: the Web Streams of a {@linkcode TouConn}, kept apart from the
 * connection's state handling. Both streams only call the connection's own
 * non-blocking primitives, so TCP flow control stays in charge: the
 * readable is pull-driven (highWaterMark 0, nothing is read ahead) and the
 * writable's `write` resolves once the send buffer took the whole chunk.
 *
 * They behave as a `Deno.TcpConn`'s streams do (recorded on Deno 2.9 by
 * tests/compat/probe_deno_tcp.ts): each stream owns the whole connection,
 * so the readable reaching its end, failing or being cancelled, and the
 * writable being closed, aborted or failing, all close the connection
 * (gracefully: queued bytes, then FIN; a RST only when received bytes were
 * never read, RFC 1122 §4.2.2.13). A reset from the peer ends the readable
 * (as EOF) and fails the writable with `BrokenPipe`.
 *
 * @module
 */

/** What the readable needs from its connection. */
export interface ByteSource {
  /**
   * One non-blocking read into `p`: bytes copied, 0 (nothing yet) or -1
   * (EOF, or the peer's reset). `waited` says whether this read already
   * waited, so that a close since then reports it as interrupted. Throws
   * the typed error.
   */
  tryRead(p: Uint8Array, waited: boolean): number;
  /** Bytes that a read would return now. */
  available(): number;
  /** Resolves at the next "readable", EOF, error or close. */
  waitReadable(): Promise<void>;
  /** Closes the whole connection (idempotent). */
  close(): void;
}

/** What the writable needs from its connection. */
export interface ByteSink {
  /**
   * Waits for room, then takes at least one byte of `p`; resolves to the
   * count. `inFlight` says whether part of the chunk was already taken, so
   * that a close since then reports it as interrupted. Rejects with the
   * stream's error (a reset becomes `BrokenPipe`).
   */
  write(p: Uint8Array, inFlight: boolean): Promise<number>;
  /** Closes the whole connection (idempotent). */
  close(): void;
}

/** Largest chunk the default (non-BYOB) reader gets at once. */
const MAX_CHUNK = 256 * 1024;

/**
 * The receive side as a byte stream. A default reader gets a fresh chunk of
 * exactly the bytes available (at most 256 KiB); a BYOB reader gets them
 * copied into its own buffer. Reads happen only inside `pull`, i.e. when a
 * reader waits, so an idle reader leaves the bytes in the TCP receive
 * buffer and the advertised window shrinks.
 */
export function makeReadable(src: ByteSource): ReadableStream<Uint8Array<ArrayBuffer>> {
  /** Scratch byte used to learn EOF/error without taking data. */
  const probe = new Uint8Array(1);
  return new ReadableStream({
    type: "bytes",
    pull: async (controller) => {
      let waited = false;
      for (;;) {
        const req = controller.byobRequest;
        let n: number;
        try {
          if (req !== null && req.view !== null) {
            const v = req.view;
            n = src.tryRead(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), waited);
            if (n > 0) {
              req.respond(n);
              return;
            }
          } else {
            const avail = src.available();
            const chunk = avail > 0 ? new Uint8Array(Math.min(avail, MAX_CHUNK)) : probe;
            n = src.tryRead(chunk, waited);
            if (n > 0) {
              controller.enqueue(
                chunk === probe
                  ? probe.slice(0, n)
                  : n === chunk.length
                  ? chunk
                  : chunk.subarray(0, n),
              );
              return;
            }
          }
        } catch (err) {
          controller.error(err);
          src.close();
          return;
        }
        if (n < 0) {
          controller.close();
          req?.respond(0);
          src.close();
          return;
        }
        await src.waitReadable();
        waited = true;
      }
    },
    cancel: () => src.close(),
  }, { highWaterMark: 0 });
}

/** The send side as a sink: `close` and `abort` close the connection gracefully. */
export function makeWritable(sink: ByteSink): WritableStream<Uint8Array<ArrayBufferLike>> {
  return new WritableStream<Uint8Array<ArrayBufferLike>>({
    write: async (chunk, controller) => {
      let off = 0;
      try {
        while (off < chunk.byteLength) {
          off += await sink.write(off === 0 ? chunk : chunk.subarray(off), off > 0);
        }
      } catch (err) {
        controller.error(err);
        sink.close();
        throw err;
      }
    },
    close: () => sink.close(),
    abort: () => sink.close(),
  });
}
