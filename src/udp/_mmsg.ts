/**
 * Internal: `struct mmsghdr` / `iovec` / `cmsghdr` arrays for
 * `sendmmsg`/`recvmmsg`, laid out for LP64 Linux (x86_64 and aarch64 agree):
 *
 * ```text
 * struct mmsghdr (64 bytes)            struct iovec (16)   struct cmsghdr (16 + data)
 *   0 msg_name        void*              0 iov_base          0 cmsg_len   size_t
 *   8 msg_namelen     u32                8 iov_len           8 cmsg_level int
 *  16 msg_iov         struct iovec*                         12 cmsg_type  int
 *  24 msg_iovlen      size_t                                16 data (CMSG_ALIGN 8)
 *  32 msg_control     void*
 *  40 msg_controllen  size_t
 *  48 msg_flags       int
 *  56 msg_len         u32
 * ```
 *
 * Word views assume little-endian, as both targets are.
 *
 * @module
 */

import type { Libc } from "./_libc.ts";
import { SOCKADDR_SLOT } from "./_sockaddr.ts";

/** sizeof(struct mmsghdr). */
export const MMSGHDR_SIZE = 64;
/** sizeof(struct iovec). */
export const IOVEC_SIZE = 16;
/** Control bytes reserved per message (room for a few cmsgs). */
export const CONTROL_SLOT = 64;
/** CMSG_LEN(0). */
export const CMSG_HDR = 16;
/** CMSG_SPACE(sizeof(u16)) == CMSG_SPACE(sizeof(int)). */
export const CMSG_SPACE_SMALL = 24;

/**
 * One array of `n` mmsghdrs with one iovec, one sockaddr slot and one
 * control slot each, all in one buffer whose address is fixed. Word views
 * give cheap access to the fields the hot paths touch.
 */
export class MmsgArray {
  /** The mmsghdr array (what `sendmmsg`/`recvmmsg` take). */
  readonly vec: Uint8Array;
  /** iovecs. */
  readonly iov: Uint8Array;
  /** sockaddr slots (SOCKADDR_SLOT bytes each). */
  readonly names: Uint8Array;
  /** `names` as u32 words (8 per slot). */
  readonly nameWords: Uint32Array;
  /** Control slots (CONTROL_SLOT bytes each). */
  readonly control: Uint8Array;
  /** Number of entries. */
  readonly length: number;
  readonly #vecWords: Uint32Array;
  readonly #iovWords: Uint32Array;
  readonly #ctlView: DataView;
  readonly #nameBase: number;
  readonly #controlBase: number;

  constructor(libc: Libc, n: number) {
    this.length = n;
    const size = n * (MMSGHDR_SIZE + IOVEC_SIZE + SOCKADDR_SLOT + CONTROL_SLOT);
    const buf = new Uint8Array(size);
    let o = 0;
    this.vec = buf.subarray(o, o += n * MMSGHDR_SIZE);
    this.iov = buf.subarray(o, o += n * IOVEC_SIZE);
    this.names = buf.subarray(o, o += n * SOCKADDR_SLOT);
    this.control = buf.subarray(o, o += n * CONTROL_SLOT);
    this.nameWords = new Uint32Array(buf.buffer, this.names.byteOffset, n * SOCKADDR_SLOT / 4);
    this.#vecWords = new Uint32Array(buf.buffer, this.vec.byteOffset, this.vec.byteLength / 4);
    this.#iovWords = new Uint32Array(buf.buffer, this.iov.byteOffset, this.iov.byteLength / 4);
    this.#ctlView = new DataView(buf.buffer, this.control.byteOffset, this.control.byteLength);
    const base = Number(libc.addressOf(buf));
    const iovBase = base + this.iov.byteOffset;
    this.#nameBase = base + this.names.byteOffset;
    this.#controlBase = base + this.control.byteOffset;
    for (let i = 0; i < n; i++) {
      putPtr(this.#vecWords, i * 16 + 4, iovBase + i * IOVEC_SIZE); // msg_iov
      this.#vecWords[i * 16 + 6] = 1; // msg_iovlen
    }
  }

  /** Points entry `i`'s iovec at `len` bytes at address `addr`. */
  setData(i: number, addr: number, len: number): void {
    const w = this.#iovWords;
    putPtr(w, i * 4, addr);
    w[i * 4 + 2] = len;
    w[i * 4 + 3] = 0;
  }

  /** Sets entry `i`'s name to its own slot of `len` bytes, or to NULL when `len` is 0. */
  setName(i: number, len: number): void {
    const w = this.#vecWords;
    putPtr(w, i * 16, len === 0 ? 0 : this.#nameBase + i * SOCKADDR_SLOT);
    w[i * 16 + 2] = len;
  }

  /** Sets entry `i`'s control to its own slot of `len` bytes, or to NULL when `len` is 0. */
  setControl(i: number, len: number): void {
    const w = this.#vecWords;
    putPtr(w, i * 16 + 8, len === 0 ? 0 : this.#controlBase + i * CONTROL_SLOT);
    w[i * 16 + 10] = len;
    w[i * 16 + 11] = 0;
  }

  /** Writes a one-value cmsg (u16 when `bytes` is 2, int when 4) into entry `i`'s control slot. */
  setCmsg(i: number, level: number, type: number, value: number, bytes: 2 | 4): void {
    const c = i * CONTROL_SLOT;
    const v = this.#ctlView;
    v.setUint32(c, CMSG_HDR + bytes, true);
    v.setUint32(c + 4, 0, true);
    v.setInt32(c + 8, level, true);
    v.setInt32(c + 12, type, true);
    if (bytes === 2) v.setUint16(c + 16, value, true);
    else v.setInt32(c + 16, value, true);
    this.setControl(i, CMSG_SPACE_SMALL);
  }

  /** Received length of entry `i` (`msg_len`). */
  msgLen(i: number): number {
    return this.#vecWords[i * 16 + 14];
  }

  /** `msg_flags` of entry `i`. */
  msgFlags(i: number): number {
    return this.#vecWords[i * 16 + 12] | 0;
  }

  /** `msg_controllen` of entry `i` after a receive. */
  controlLen(i: number): number {
    return this.#vecWords[i * 16 + 10];
  }

  /**
   * The int value of the first cmsg (`level`, `type`) in entry `i`'s
   * received control data, or -1.
   */
  findCmsgInt(i: number, level: number, type: number): number {
    const end = this.controlLen(i);
    const base = i * CONTROL_SLOT;
    const v = this.#ctlView;
    for (let o = 0; o + CMSG_HDR <= end;) {
      const len = v.getUint32(base + o, true); // size_t; a control slot is far below 4 GiB
      if (len < CMSG_HDR) return -1;
      if (v.getInt32(base + o + 8, true) === level && v.getInt32(base + o + 12, true) === type) {
        return len >= CMSG_HDR + 4
          ? v.getInt32(base + o + 16, true)
          : v.getUint16(base + o + 16, true);
      }
      o += (len + 7) & ~7;
    }
    return -1;
  }
}

/** Writes a user-space pointer (below 2^53 on every LP64 Linux) as two little-endian words. */
function putPtr(w: Uint32Array, at: number, addr: number): void {
  w[at] = addr % 0x1_0000_0000;
  w[at + 1] = Math.floor(addr / 0x1_0000_0000);
}
