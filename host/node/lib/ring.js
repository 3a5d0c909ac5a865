// The bytes of one connection, from the I/O worker (the only writer) to the
// component's thread (the only reader), through a ring in a
// SharedArrayBuffer.
//
// A read must not cost a message round trip between the two threads: on a
// loaded machine each one took about a millisecond, and a read of a large
// folder makes hundreds of reads. So the I/O worker copies what its socket
// delivers straight into the ring, and the component's thread takes bytes
// out without asking, sleeping in `Atomics.wait` only when the ring is
// empty.
//
// Shared words: USED (bytes in the ring; the writer adds, the reader
// subtracts), STATE (open, or the stream's end: ended or failed),
// WANTS_SPACE (the writer has bytes the ring had no room for: the reader
// then tells it, by message, once it has taken some) and CHANGES (bumped
// after every change of USED or STATE by the writer: the one word the
// reader sleeps on, so no change between its looking and its sleeping is
// missed). Each side keeps its own position. The writer keeps what does not fit and stops reading the
// socket meanwhile, so a server that floods is held to the ring and one
// socket read; it sets STATE only once everything before the end is in the
// ring, so the reader sees every byte before it sees the end.

/** Bytes in the ring: enough for four reads of the component's size (256 KiB). */
export const RING_BYTES = 1024 * 1024;

const USED = 0;
const STATE = 1;
const WANTS_SPACE = 2;
const CHANGES = 3;
const HEADER_BYTES = 16;

/** STATE: bytes may still come. */
export const OPEN = 0;
/** STATE: the peer ended the stream (after the bytes in the ring). */
export const ENDED = 1;
/** STATE: the socket failed; the writer knows why. */
export const FAILED = 2;

/** A new ring's shared memory, holding `capacity` bytes. */
export function createRing(capacity = RING_BYTES) {
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

/** The writing end, in the I/O worker. */
export class RingWriter {
  constructor(shared) {
    this.words = new Int32Array(shared, 0, HEADER_BYTES / 4);
    this.bytes = new Uint8Array(shared, HEADER_BYTES);
    this.capacity = this.bytes.length;
    this.at = 0;
    /** What the ring had no room for yet, oldest first. */
    this.waiting = [];
    this.waitingBytes = 0;
    /** The end, held back until `waiting` is in the ring. */
    this.pendingEnd = OPEN;
  }

  /** Bytes not yet taken by the reader: in the ring and held back. */
  unread() {
    return Atomics.load(this.words, USED) + this.waitingBytes;
  }

  /**
   * Puts `chunk` in the ring, or holds it back when the ring is full.
   * Returns false when bytes are held back: stop reading the socket until
   * `drained` says true.
   */
  push(chunk) {
    this.waiting.push(chunk);
    this.waitingBytes += chunk.length;
    return this.drain();
  }

  /** Moves held-back bytes into the ring; true when none are left. */
  drain() {
    for (;;) {
      this.move();
      if (this.waiting.length === 0) {
        if (this.pendingEnd !== OPEN) this.setState(this.pendingEnd);
        return true;
      }
      // Ask the reader to say when it has made room, then look again: it
      // may have made room between the move and the request.
      Atomics.store(this.words, WANTS_SPACE, 1);
      if (Atomics.load(this.words, USED) === this.capacity) return false;
      Atomics.store(this.words, WANTS_SPACE, 0);
    }
  }

  /** As much of the held-back bytes as fits. */
  move() {
    let moved = 0;
    let room = this.capacity - Atomics.load(this.words, USED);
    while (room > 0 && this.waiting.length > 0) {
      const chunk = this.waiting[0];
      const n = Math.min(room, chunk.length);
      const first = Math.min(n, this.capacity - this.at);
      this.bytes.set(chunk.subarray(0, first), this.at);
      if (n > first) this.bytes.set(chunk.subarray(first, n), 0);
      this.at = (this.at + n) % this.capacity;
      if (n === chunk.length) this.waiting.shift();
      else this.waiting[0] = chunk.subarray(n);
      this.waitingBytes -= n;
      room -= n;
      moved += n;
    }
    if (moved > 0) {
      Atomics.add(this.words, USED, moved);
      this.changed();
    }
  }

  /** Wakes the reader after a change of USED or STATE. */
  changed() {
    Atomics.add(this.words, CHANGES, 1);
    Atomics.notify(this.words, CHANGES);
  }

  /** The stream ended (`ENDED`) or failed (`FAILED`), after what is held back. */
  end(state) {
    if (this.pendingEnd !== OPEN) return;
    this.pendingEnd = state;
    if (this.waiting.length === 0) this.setState(state);
  }

  setState(state) {
    if (Atomics.load(this.words, STATE) !== OPEN) return;
    Atomics.store(this.words, STATE, state);
    this.changed();
  }
}

/** The reading end, on the component's thread. */
export class RingReader {
  constructor(shared) {
    this.words = new Int32Array(shared, 0, HEADER_BYTES / 4);
    this.bytes = new Uint8Array(shared, HEADER_BYTES);
    this.capacity = this.bytes.length;
    this.at = 0;
  }

  /**
   * Up to `max` bytes (at least one) as soon as there are any, within
   * `timeoutMs`. Returns `{bytes}`, `{state}` once the stream is over and
   * every byte taken, or `{timedOut: true}`. `madeRoom` is called when the
   * writer waits for room.
   */
  read(max, timeoutMs, madeRoom) {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      // Taken before looking: any change after it makes the wait return.
      const changes = Atomics.load(this.words, CHANGES);
      const used = Atomics.load(this.words, USED);
      if (used > 0) return { bytes: this.take(Math.min(used, max), madeRoom) };
      // The writer sets STATE only after the last bytes are in the ring,
      // and USED was 0 after that: nothing is left to read.
      const state = Atomics.load(this.words, STATE);
      if (state !== OPEN && Atomics.load(this.words, USED) === 0) return { state };
      const left = deadline - performance.now();
      if (left <= 0) return { timedOut: true };
      Atomics.wait(this.words, CHANGES, changes, left);
    }
  }

  take(n, madeRoom) {
    const out = new Uint8Array(n);
    const first = Math.min(n, this.capacity - this.at);
    out.set(this.bytes.subarray(this.at, this.at + first));
    if (n > first) out.set(this.bytes.subarray(0, n - first), first);
    this.at = (this.at + n) % this.capacity;
    Atomics.sub(this.words, USED, n);
    if (Atomics.compareExchange(this.words, WANTS_SPACE, 1, 0) === 1) madeRoom();
    return out;
  }
}
