/** Envoy's server states, as `/ready`, `/server_info` and the `server.state` stat report them. */
export type ServerStateName = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';

const STATE_NUMBER: Record<ServerStateName, number> = { LIVE: 0, DRAINING: 1, PRE_INITIALIZING: 2, INITIALIZING: 3 };

export class ServerState {
  name: ServerStateName = 'PRE_INITIALIZING';
  /** Set by `POST /healthcheck/fail`: readiness fails while the server keeps serving. */
  failedHealthcheck = false;

  get number(): number {
    return STATE_NUMBER[this.name];
  }

  get live(): boolean {
    return this.name === 'LIVE';
  }

  get ready(): boolean {
    return this.live && !this.failedHealthcheck;
  }
}
