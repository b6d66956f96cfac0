import { describe, expect, it } from 'vitest';
import { type ConnectionEvent, type MachineContext, transition } from './connectionMachine.js';

const always = (delay: number) => () => delay;
const never = () => null;

function run(events: ConnectionEvent[], nextDelay: (n: number) => number | null = always(100)) {
  let context: MachineContext = { state: 'idle', retryCount: 0 };
  const effects: string[][] = [];
  for (const event of events) {
    const result = transition(context, event, nextDelay);
    context = result.next;
    effects.push(result.effects.map((effect) => effect.type));
  }
  return { context, effects };
}

describe('connection state machine', () => {
  it('connects, then opens with a heartbeat', () => {
    const { context, effects } = run([{ type: 'connect' }, { type: 'established' }]);
    expect(context.state).toBe('open');
    expect(effects).toEqual([['openSocket'], ['startHeartbeat']]);
  });

  it('every exit from open stops the heartbeat and drops the socket', () => {
    const lost = run([{ type: 'connect' }, { type: 'established' }, { type: 'lost' }]);
    expect(lost.effects[2]).toEqual(['stopHeartbeat', 'closeSocket', 'scheduleRetry']);
    const closed = run([{ type: 'connect' }, { type: 'established' }, { type: 'close' }]);
    expect(closed.effects[2]).toEqual(['cancelRetry', 'stopHeartbeat', 'closeSocket']);
  });

  it('counts retries until the policy gives up, then fails', () => {
    const { context } = run(
      [{ type: 'connect' }, { type: 'established' }, { type: 'lost' }, { type: 'retryDue' }, { type: 'lost' }],
      (n) => (n < 1 ? 100 : null),
    );
    expect(context).toEqual({ state: 'failed', retryCount: 1 });
  });

  it('resets the retry budget after a successful reconnection', () => {
    const { context } = run([
      { type: 'connect' },
      { type: 'lost' },
      { type: 'retryDue' },
      { type: 'lost' },
      { type: 'retryDue' },
      { type: 'established' },
    ]);
    expect(context).toEqual({ state: 'open', retryCount: 0 });
  });

  it('a user retry from failed opens a socket with a fresh budget', () => {
    const { context, effects } = run([{ type: 'connect' }, { type: 'lost' }, { type: 'userRetry' }], never);
    expect(context).toEqual({ state: 'reconnecting', retryCount: 0 });
    expect(effects[2]).toEqual(['openSocket']);
  });

  it('a server shutdown schedules a reconnection after the announced delay', () => {
    let context: MachineContext = { state: 'open', retryCount: 0 };
    const result = transition(context, { type: 'serverShutdown', reconnectInMs: 1234 }, never);
    context = result.next;
    expect(context.state).toBe('reconnecting');
    expect(result.effects).toContainEqual({ type: 'scheduleRetry', delayMs: 1234 });
  });

  it('ignores events that make no sense in a state', () => {
    expect(run([{ type: 'established' }]).context.state).toBe('idle');
    expect(run([{ type: 'retryDue' }]).context.state).toBe('idle');
    expect(run([{ type: 'connect' }, { type: 'established' }, { type: 'connect' }]).effects[2]).toEqual([]);
  });
});
