// The I/O worker: owns the sockets of one session's component.
//
// WebAssembly calls are synchronous, and the component's `read` must block
// until bytes arrive; Node's sockets only ever answer through the event
// loop. So the component's thread (lib/component-worker.js) never touches a
// socket. Received bytes go into a shared ring (lib/ring.js) that it reads
// without asking; for everything else (connect, send, STARTTLS, why the
// stream ended) it posts a request here over a MessagePort, sleeps in
// `Atomics.wait` on a shared word, and takes the answer with
// `receiveMessageOnPort` once this worker, whose event loop runs freely,
// has posted it and bumped the word.
//
// This worker enforces what the WIT `transport` interface asks of every
// host, except the policy (checked on the component's thread, before any
// request comes here): TLS verified (Node's Mozilla roots, plus an extra CA),
// every wait bounded by the connection's timeout, and a STARTTLS upgrade
// refused when the server sent anything after the answer the component read.

import net from 'node:net';
import tls from 'node:tls';
import { workerData } from 'node:worker_threads';

import { ENDED, FAILED, RingWriter } from './ring.js';

/** The shared word the component's thread waits on. */
const signal = new Int32Array(workerData.signal);
/** Requests come in on this port; answers go out on it. */
const port = workerData.port;
/** Extra certificate authorities in PEM (from `cafile`), or null. */
const extraCa = workerData.extraCa;

/** Open connections by the component's handle number. */
const connections = new Map();

/**
 * Posts the answer to request `seq` and wakes the component's thread. The
 * number lets that thread tell a late answer (to a request it gave up
 * waiting for) from the one it waits for.
 */
function answer(seq, message) {
  port.postMessage({ ...message, seq });
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

/** An error answer in the shape of the WIT `transport-error`. */
function failure(tag, val) {
  return { ok: false, error: val === undefined ? { tag } : { tag, val } };
}

/** The TLS options for verifying `name`. */
function tlsOptions(name) {
  const options = {
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
    ALPNProtocols: ['imap'],
  };
  if (extraCa) options.ca = [...tls.rootCertificates, extraCa];
  if (net.isIP(name)) {
    // RFC 6066 allows no IP address in SNI: none is sent, and the
    // certificate is checked for the address itself.
    options.checkServerIdentity = (_host, cert) => tls.checkServerIdentity(name, cert);
  } else {
    options.servername = name;
  }
  return options;
}

/** The WIT error for a socket error `e` met while doing `what`. */
function classify(e, where, what) {
  const code = e && e.code ? String(e.code) : '';
  const words = `${where}: ${what}: ${e && e.message ? e.message : e}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return failure('dns', words);
  }
  if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'].includes(code)) {
    return failure('connect', words);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') return failure('closed');
  // TLS failing after its handshake (a bad record, an alert).
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) return failure('tls', words);
  return failure('io', words);
}

/** One connection: a socket (plain or TLS), and the ring its bytes go to. */
class Link {
  constructor(host, where, timeoutMs, ring) {
    /** The host as the component named it: the only name TLS is verified for. */
    this.host = host;
    this.where = where;
    this.timeoutMs = timeoutMs;
    /** Where received bytes go, for the component's thread to take. */
    this.ring = new RingWriter(ring);
    /** Why the socket failed, once it did. */
    this.error = null;
    this.socket = null;
  }

  /** Starts receiving from `socket` (after connect, and after STARTTLS). */
  attach(socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      // A full ring: no more socket reads until the reader makes room.
      if (!this.ring.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.ring.end(ENDED));
    socket.on('error', (e) => {
      this.error ??= e;
      this.ring.end(FAILED);
    });
    socket.on('close', () => this.ring.end(this.error ? FAILED : ENDED));
  }

  /** The reader made room in the ring. */
  space() {
    if (this.ring.drain() && this.socket?.isPaused()) this.socket.resume();
  }

  /** Why the stream is over (the ring says when): the end, or the error. */
  over() {
    if (this.error) return classify(this.error, this.where, 'read');
    return failure('closed');
  }

  flush(bytes, reply) {
    if (this.error) return reply(classify(this.error, this.where, 'write'));
    if (this.socket.destroyed) return reply(failure('closed'));
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reply(failure('timeout', `${this.where}: could not send within ${seconds(this.timeoutMs)}`));
    }, this.timeoutMs);
    this.socket.write(bytes, (e) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reply(e ? classify(e, this.where, 'write') : { ok: true });
    });
  }

  startTls(serverName, reply) {
    if (this.error) return reply(classify(this.error, this.where, 'start-tls'));
    if (this.socket instanceof tls.TLSSocket) {
      return reply(failure('io', `${this.where}: start-tls on a connection that is already TLS`));
    }
    // The certificate is verified for the host the policy let through, and
    // for no other name.
    if (asciiLower(serverName) !== asciiLower(this.host)) {
      return reply(failure('tls', `${this.where}: start-tls for ${serverName}, not the host connected to`));
    }
    // Let the event loop take in whatever is already waiting in the socket,
    // then refuse to upgrade if anything came: bytes sent before the
    // handshake would be taken as if they were protected (CVE-2011-0411).
    setImmediate(() => {
      const unread = this.ring.unread();
      if (unread > 0) {
        this.fail(new Error('bytes injected before the STARTTLS handshake'));
        return reply(
          failure(
            'tls',
            `${this.where}: the server sent ${unread} bytes before the STARTTLS handshake; refusing to upgrade`,
          ),
        );
      }
      const plain = this.socket;
      plain.removeAllListeners('data');
      plain.removeAllListeners('end');
      plain.removeAllListeners('close');
      plain.removeAllListeners('error');
      // A failed handshake leaves the connection unusable, as the WIT asks.
      this.handshake(tls.connect({ ...tlsOptions(serverName), socket: plain }), 'STARTTLS handshake', reply, () => {
        plain.destroy();
        this.fail(new Error('the STARTTLS handshake failed'));
      });
    });
  }

  /** Ends the connection for good: later calls fail with `e`. */
  fail(e) {
    this.error ??= e;
    this.ring.end(FAILED);
    this.close();
  }

  /**
   * Waits for `secure`'s handshake, bounded by the timeout; `failed` runs
   * when it does not complete.
   */
  handshake(secure, what, reply, failed) {
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!result.ok) {
        secure.destroy();
        failed();
      }
      reply(result);
    };
    const timer = setTimeout(() => {
      secure.destroy();
      finish(failure('timeout', `${this.where}: ${what} took longer than ${seconds(this.timeoutMs)}`));
    }, this.timeoutMs);
    secure.once('secureConnect', () => {
      secure.removeAllListeners('error');
      this.attach(secure);
      finish({ ok: true });
    });
    secure.once('error', (e) => {
      // Any failure of the handshake is TLS's, as the WIT says, but for a
      // timeout of our own.
      finish(failure('tls', `${this.where}: ${what}: ${e.message}`));
    });
  }

  close() {
    if (this.socket) this.socket.destroy();
  }
}

function seconds(ms) {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** Connects, as asked in `request`, and answers. */
function open(request, reply) {
  const { id, host, port: tcpPort, wrapping, timeoutMs, ring } = request;
  const where = `${host}:${tcpPort}`;
  const link = new Link(host, where, timeoutMs, ring);
  let done = false;
  const finish = (result) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (result.ok) connections.set(id, link);
    else link.close();
    reply(result);
  };
  const timer = setTimeout(
    () => finish(failure('timeout', `${where}: no connection within ${seconds(timeoutMs)}`)),
    timeoutMs,
  );
  const socket = net.connect({ host, port: tcpPort });
  link.socket = socket;
  socket.once('error', (e) => finish(classify(e, where, 'connect')));
  socket.once('connect', () => {
    socket.removeAllListeners('error');
    if (wrapping === 'plain') {
      link.attach(socket);
      return finish({ ok: true });
    }
    // Implicit TLS: the handshake answers once it is done.
    done = true;
    clearTimeout(timer);
    connections.set(id, link);
    link.handshake(tls.connect({ ...tlsOptions(host), socket }), 'TLS handshake', reply, () =>
      connections.delete(id),
    );
  });
}

/** Whether `address` is 127.0.0.0/8 or ::1 (or v4-mapped loopback). */
function isLoopback(address) {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** `s` in lower case, ASCII letters only (as host names compare). */
function asciiLower(s) {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

port.on('message', (request) => {
  const reply = (message) => answer(request.seq, message);
  if (request.op === 'open') return open(request, reply);
  const link = connections.get(request.id);
  // `space` is the one message no one waits for an answer to.
  if (request.op === 'space') return link?.space();
  if (!link) return reply(failure('io', `no connection ${request.id}`));
  switch (request.op) {
    case 'over':
      return reply(link.over());
    case 'flush':
      return link.flush(request.bytes, reply);
    case 'start-tls':
      return link.startTls(request.serverName, reply);
    case 'loopback':
      return reply({ ok: true, loopback: isLoopback(link.socket.remoteAddress) });
    case 'close':
      link.close();
      connections.delete(request.id);
      return reply({ ok: true });
    default:
      return reply(failure('io', `unknown request ${request.op}`));
  }
});
