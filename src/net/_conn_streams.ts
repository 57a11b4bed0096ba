/**
 * Internal: the Web Streams of a {@linkcode TouConn}, kept apart from the
 * connection's state handling. Both streams only call the connection's own
 * non-blocking primitives, so TCP flow control stays in charge: the
 * readable is pull-driven (highWaterMark 0, nothing is read ahead) and the
 * writable's `write` resolves once the send buffer took the whole chunk.
 *
 * @module
 */

/** What the readable needs from its connection. */
export interface ByteSource {
  /** One non-blocking read into `p`: bytes copied, 0 (nothing yet) or -1 (EOF). Throws the typed error. */
  tryRead(p: Uint8Array): number;
  /** Bytes that a read would return now (0 once the read side is shut). */
  available(): number;
  /** Resolves at the next "readable", EOF or error. */
  waitReadable(): Promise<void>;
  /** The reader gave up: shut the read side (later input is discarded). */
  cancel(): void;
}

/** What the writable needs from its connection. */
export interface ByteSink {
  /** Waits for room, then takes at least one byte of `p`; resolves to the count. */
  write(p: Uint8Array): Promise<number>;
  /** Half-close (FIN). */
  closeWrite(): Promise<void>;
  /** Reset (RST). */
  abort(): void;
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
      for (;;) {
        const req = controller.byobRequest;
        let n: number;
        try {
          if (req !== null && req.view !== null) {
            const v = req.view;
            n = src.tryRead(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
            if (n > 0) {
              req.respond(n);
              return;
            }
          } else {
            const avail = src.available();
            const chunk = avail > 0 ? new Uint8Array(Math.min(avail, MAX_CHUNK)) : probe;
            n = src.tryRead(chunk);
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
          return;
        }
        if (n < 0) {
          controller.close();
          req?.respond(0);
          return;
        }
        await src.waitReadable();
      }
    },
    cancel: () => src.cancel(),
  }, { highWaterMark: 0 });
}

/** The send side as a sink: `close` half-closes, `abort` resets. */
export function makeWritable(sink: ByteSink): WritableStream<Uint8Array<ArrayBufferLike>> {
  return new WritableStream<Uint8Array<ArrayBufferLike>>({
    write: async (chunk) => {
      let off = 0;
      while (off < chunk.byteLength) {
        off += await sink.write(off === 0 ? chunk : chunk.subarray(off));
      }
    },
    close: () => sink.closeWrite(),
    abort: () => sink.abort(),
  });
}
