import type { Http2Session } from 'node:http2';

/** HTTP/2 PING keepalive: a session whose peer stops answering within `timeoutMs` is destroyed. */
export function keepAlive(session: Http2Session, intervalMs: number, timeoutMs: number): void {
  let outstanding = false;
  const timer = setInterval(() => {
    if (session.destroyed || session.closed) return clearInterval(timer);
    if (outstanding) return;
    outstanding = true;
    const deadline = setTimeout(() => session.destroy(new Error(`HBONE peer did not answer PING within ${timeoutMs} ms`)), timeoutMs);
    deadline.unref();
    const sent = session.ping((err) => {
      outstanding = false;
      clearTimeout(deadline);
      if (err && !session.destroyed) session.destroy(err);
    });
    if (!sent) {
      outstanding = false;
      clearTimeout(deadline);
    }
  }, intervalMs);
  timer.unref();
  session.once('close', () => clearInterval(timer));
}
