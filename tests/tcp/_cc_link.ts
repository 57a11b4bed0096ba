/**
 * A synthetic bottleneck for congestion-controller tests: one backlogged
 * sender paced and windowed by the controller, a drop-tail queue draining at
 * a fixed rate, a fixed base RTT, optional random loss, and the delivery-rate
 * estimation of draft-cheng-iccrg-delivery-rate-estimation producing the
 * {@linkcode AckSample}s. Virtual time only; deterministic for a seed.
 *
 * @module
 */

import type {
  AckSample,
  CongestionController,
} from "../../src/tcp/congestion/congestion_controller.ts";

/** Link parameters. */
export interface LinkOptions {
  /** Bottleneck rate in bytes per ms (12_500 = 100 Mbit/s). */
  rate: number;
  /** Base round-trip time in ms. */
  rtt: number;
  /** Drop-tail queue limit in packets. */
  queue: number;
  /** Random loss probability per packet. */
  loss?: number;
  /** Packet size in bytes. */
  mss: number;
  /** PRNG seed. */
  seed?: number;
}

interface Packet {
  seq: number;
  sentAt: number;
  delivered: number;
  deliveredTime: number;
  firstSentTime: number;
  ackAt: number;
  lost: boolean;
}

/** What a run observed. */
export interface LinkRun {
  /** Bytes delivered. */
  delivered: number;
  /** Time simulated (ms). */
  elapsed: number;
  /** RTT samples' mean over the run (ms). */
  meanRtt: number;
  /** Packets lost (random + queue overflow). */
  lost: number;
}

/** Drives `cc` over the link from `start` for `ms` milliseconds; `onAck` sees every ACK. */
export class SyntheticLink {
  readonly #o: LinkOptions;
  readonly #cc: CongestionController;
  #now = 0;
  #nextSend = 0;
  #linkFreeAt = 0;
  #seq = 0;
  #flight: Packet[] = [];
  #head = 0;
  #inFlightBytes = 0;
  #cDelivered = 0;
  #cDeliveredTime = 0;
  #cFirstSentTime = 0;
  #rng: number;
  #srtt = 0;
  #minRtt = Infinity;
  #inRecovery = false;
  #recoveryPoint = 0;
  #pendingLost = 0;
  #rttSum = 0;
  #rttCount = 0;
  #lostCount = 0;

  constructor(cc: CongestionController, options: LinkOptions) {
    this.#cc = cc;
    this.#o = options;
    this.#rng = (options.seed ?? 1) >>> 0 || 1;
  }

  /** The current virtual time. */
  get now(): number {
    return this.#now;
  }

  #random(): number {
    let x = this.#rng;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.#rng = x;
    return x / 4294967296;
  }

  /** Runs for `ms` more milliseconds in steps of `dt`. */
  run(ms: number, onAck?: (now: number, s: AckSample) => void, dt = 0.1): LinkRun {
    const end = this.#now + ms;
    const d0 = this.#cDelivered;
    const t0 = this.#now;
    this.#rttSum = 0;
    this.#rttCount = 0;
    const lost0 = this.#lostCount;
    while (this.#now < end) {
      this.#deliverAcks(onAck);
      this.#send();
      this.#now += dt;
    }
    return {
      delivered: this.#cDelivered - d0,
      elapsed: this.#now - t0,
      meanRtt: this.#rttCount > 0 ? this.#rttSum / this.#rttCount : 0,
      lost: this.#lostCount - lost0,
    };
  }

  #send(): void {
    const { mss, rate, rtt, queue } = this.#o;
    const cc = this.#cc;
    while (this.#inFlightBytes + mss <= cc.cwnd && this.#nextSend <= this.#now) {
      const now = this.#now;
      if (this.#head === this.#flight.length) {
        this.#cFirstSentTime = now;
        this.#cDeliveredTime = now;
      }
      const p: Packet = {
        seq: this.#seq++,
        sentAt: now,
        delivered: this.#cDelivered,
        deliveredTime: this.#cDeliveredTime,
        firstSentTime: this.#cFirstSentTime,
        ackAt: 0,
        lost: false,
      };
      const start = Math.max(now, this.#linkFreeAt);
      const queued = (start - now) * rate / mss;
      if (queued > queue || this.#random() < (this.#o.loss ?? 0)) {
        p.lost = true;
        // found lost when the ACK of the packet after it arrives (FIFO order kept)
        p.ackAt = Math.max(now, this.#linkFreeAt) + mss / rate + rtt;
      } else {
        this.#linkFreeAt = start + mss / rate;
        p.ackAt = this.#linkFreeAt + rtt;
      }
      this.#flight.push(p);
      this.#inFlightBytes += mss;
      const pacing = cc.pacingRate(this.#srtt);
      const r = pacing > 0 ? pacing : 2 * cc.cwnd / (this.#srtt > 0 ? this.#srtt : 1);
      this.#nextSend = Math.max(this.#nextSend, now - 1) + mss / r; // ≤ 1 ms of catch-up burst
    }
  }

  #deliverAcks(onAck?: (now: number, s: AckSample) => void): void {
    const { mss } = this.#o;
    const now = this.#now;
    // FIFO path: packets are acked (or found lost) in the order they were sent
    const flight = this.#flight;
    while (this.#head < flight.length && flight[this.#head].ackAt <= now) {
      const p = flight[this.#head++];
      if (this.#head > 4096) {
        flight.splice(0, this.#head);
        this.#head = 0;
      }
      const prior = this.#inFlightBytes;
      this.#inFlightBytes -= mss;
      if (p.lost) {
        this.#lostCount++;
        this.#pendingLost += mss;
        if (!this.#inRecovery) {
          this.#inRecovery = true;
          this.#recoveryPoint = this.#seq;
          this.#cc.onCongestionEvent(now, { inFlight: this.#inFlightBytes, lostBytes: mss });
        }
        continue;
      }
      this.#cDelivered += mss;
      this.#cDeliveredTime = now;
      const sendElapsed = p.sentAt - p.firstSentTime;
      const ackElapsed = now - p.deliveredTime;
      this.#cFirstSentTime = p.sentAt;
      const interval = Math.max(sendElapsed, ackElapsed);
      const rttSample = now - p.sentAt;
      this.#minRtt = Math.min(this.#minRtt, rttSample);
      this.#srtt = this.#srtt === 0 ? rttSample : 0.875 * this.#srtt + 0.125 * rttSample;
      this.#rttSum += rttSample;
      this.#rttCount++;
      const rate = interval >= this.#minRtt && interval > 0
        ? (this.#cDelivered - p.delivered) / interval
        : -1;
      if (this.#inRecovery && p.seq >= this.#recoveryPoint) {
        this.#inRecovery = false;
        this.#cc.onRecoveryExit(now, this.#inFlightBytes);
      }
      const s: AckSample = {
        ackedBytes: mss,
        priorInFlight: prior,
        inFlight: this.#inFlightBytes,
        rtt: rttSample,
        minRtt: this.#minRtt,
        srtt: this.#srtt,
        deliveryRate: rate,
        delivered: this.#cDelivered,
        priorDelivered: p.delivered,
        isAppLimited: false,
        inRecovery: this.#inRecovery,
        lostBytes: this.#pendingLost,
      };
      this.#pendingLost = 0;
      this.#cc.onAck(now, s);
      onAck?.(now, s);
    }
  }
}
