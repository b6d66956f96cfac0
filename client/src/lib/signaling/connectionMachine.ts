/**
 * The signaling connection as a pure transition table: `transition(state, event)` returns the
 * next state and the effects to run. No I/O here; SignalingClient runs the effects.
 */
export type ConnectionState =
  /** Not started. */
  | 'idle'
  /** First connection attempt in progress. */
  | 'connecting'
  /** Socket open and the session established. */
  | 'open'
  /** Socket lost; waiting to retry or retrying. */
  | 'reconnecting'
  /** Gave up after the retry policy said so; the user can retry. */
  | 'failed'
  /** Closed on purpose (page leaving). */
  | 'closed';

export type ConnectionEvent =
  | { type: 'connect' }
  /** The socket opened and `hello` succeeded. */
  | { type: 'established' }
  /** The socket closed, errored or stopped answering pings. */
  | { type: 'lost' }
  /** The retry timer fired. */
  | { type: 'retryDue' }
  /** The server announced a restart: reconnect after its delay. */
  | { type: 'serverShutdown'; reconnectInMs: number }
  /** The user pressed Retry after `failed`. */
  | { type: 'userRetry' }
  | { type: 'close' };

export type ConnectionEffect =
  | { type: 'openSocket' }
  | { type: 'closeSocket' }
  | { type: 'scheduleRetry'; delayMs: number }
  | { type: 'cancelRetry' }
  | { type: 'startHeartbeat' }
  | { type: 'stopHeartbeat' };

export type MachineContext = {
  state: ConnectionState;
  /** Retries since the last successful connection. */
  retryCount: number;
};

/** Retry delay for the given count, or null to give up (a RetryPolicy, see lib/reconnect). */
export type NextDelay = (retryCount: number) => number | null;

export type Transition = { next: MachineContext; effects: ConnectionEffect[] };

const stay = (context: MachineContext): Transition => ({ next: context, effects: [] });

export function transition(context: MachineContext, event: ConnectionEvent, nextDelay: NextDelay): Transition {
  const { state } = context;
  switch (event.type) {
    case 'connect':
      if (state !== 'idle' && state !== 'closed') return stay(context);
      return { next: { state: 'connecting', retryCount: 0 }, effects: [{ type: 'openSocket' }] };
    case 'established':
      if (state !== 'connecting' && state !== 'reconnecting') return stay(context);
      return { next: { state: 'open', retryCount: 0 }, effects: [{ type: 'startHeartbeat' }] };
    case 'lost': {
      if (state !== 'open' && state !== 'connecting' && state !== 'reconnecting') return stay(context);
      // Every exit from `open` stops the heartbeat and drops the socket.
      const exit: ConnectionEffect[] = [{ type: 'stopHeartbeat' }, { type: 'closeSocket' }];
      const delay = nextDelay(context.retryCount);
      if (delay === null) return { next: { state: 'failed', retryCount: context.retryCount }, effects: exit };
      return {
        next: { state: 'reconnecting', retryCount: context.retryCount },
        effects: [...exit, { type: 'scheduleRetry', delayMs: delay }],
      };
    }
    case 'retryDue':
      if (state !== 'reconnecting') return stay(context);
      return { next: { state: 'reconnecting', retryCount: context.retryCount + 1 }, effects: [{ type: 'openSocket' }] };
    case 'serverShutdown':
      if (state !== 'open') return stay(context);
      return {
        next: { state: 'reconnecting', retryCount: 0 },
        effects: [
          { type: 'stopHeartbeat' },
          { type: 'closeSocket' },
          { type: 'scheduleRetry', delayMs: event.reconnectInMs },
        ],
      };
    case 'userRetry':
      if (state !== 'failed') return stay(context);
      return { next: { state: 'reconnecting', retryCount: 0 }, effects: [{ type: 'openSocket' }] };
    case 'close':
      return {
        next: { state: 'closed', retryCount: 0 },
        effects: [{ type: 'cancelRetry' }, { type: 'stopHeartbeat' }, { type: 'closeSocket' }],
      };
    default:
      return assertUnreachable(event);
  }
}

function assertUnreachable(value: never): never {
  throw new Error(`unhandled event ${JSON.stringify(value)}`);
}
